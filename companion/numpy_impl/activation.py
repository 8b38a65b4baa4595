"""GELU and the softmax modules of a Transformer, as ``torch.nn.GELU``, ``Softmax``, ``LogSoftmax``.

**GELU** weighs its input by the probability that a standard normal variable lies below it::

    gelu(x) = x * Phi(x),            Phi(x) = (1 + erf(x / sqrt(2))) / 2
    gelu'(x) = Phi(x) + x * phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

``approximate="tanh"`` is the older approximation that GPT-2 used, and torch's option of the same
name::

    gelu(x) ~ x * (1 + tanh(u)) / 2,  u = sqrt(2 / pi) * (x + 0.044715 x^3)
    d/dx    = (1 + tanh(u)) / 2 + x * (1 - tanh(u)^2) / 2 * sqrt(2 / pi) * (1 + 3 * 0.044715 x^2)

``Phi`` is ``scipy.special.ndtr``, the standard normal CDF itself (NumPy has no ``erf``); it is
accurate to the last bit or two of a float64, as torch's ``erf``. The forward keeps ``Phi(x)``
for the backward, which then needs only an ``exp``: special functions are the slow part here.

The softmax modules wrap ``functional.softmax`` / ``functional.log_softmax`` along ``dim``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from companion._checks import check_array, check_dout
from companion.numpy_impl import functional as F
from companion.numpy_impl.module import Module

__all__ = ["gelu_forward", "gelu_backward", "GELU", "Softmax", "LogSoftmax"]

_APPROXIMATIONS = ("none", "tanh")


def _check_approximate(approximate: str) -> str:
    if approximate not in _APPROXIMATIONS:
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate


def gelu_forward(x: np.ndarray, approximate: str = "none"):
    """GELU elementwise.

    Parameters
    ----------
    x : float array of any shape
    approximate : "none" (exact, with erf) or "tanh"

    Returns
    -------
    out : array of ``x``'s shape and dtype
    cache : ``(x, approximate, Phi(x) or tanh(u))`` for ``gelu_backward``
    """
    _check_approximate(approximate)
    check_array(x, "input")
    if approximate == "none":
        phi = ndtr(x)  # (1 + erf(x / sqrt(2))) / 2
        return x * phi, (x, approximate, phi)
    t = np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3))
    return 0.5 * x * (1.0 + t), (x, approximate, t)


def gelu_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Gradient of ``gelu_forward``: ``dout * gelu'(x)``, the derivative in the module docstring."""
    x, approximate, saved = cache
    check_dout(dout, x.shape, x.dtype)
    if approximate == "none":
        pdf = np.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        return dout * (saved + x * pdf)
    c, t = math.sqrt(2.0 / math.pi), saved
    return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * x * x))


class GELU(Module):
    """Gaussian error linear unit, as ``torch.nn.GELU(approximate="none")``; any input shape."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = _check_approximate(approximate)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, cache = gelu_forward(x, self.approximate)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return gelu_backward(dout, self._saved()) if input_grad else None

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


def _check_dim(dim) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"dim must be an int (torch's implicit dim=None is not supported), "
                        f"got {dim!r}")
    return int(dim)


class Softmax(Module):
    """``exp(x) / sum(exp(x))`` along ``dim``, as ``torch.nn.Softmax(dim)``; any input shape."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = _check_dim(dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.softmax(x, axis=self.dim)
        self._save(out)  # the gradient needs only the output
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.softmax_backward(dout, self._saved(), axis=self.dim) if input_grad else None

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """``x - log(sum(exp(x)))`` along ``dim``, as ``torch.nn.LogSoftmax(dim)``."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = _check_dim(dim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.log_softmax(x, axis=self.dim)
        self._save(out)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.log_softmax_backward(dout, self._saved(), axis=self.dim) if input_grad else None

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
