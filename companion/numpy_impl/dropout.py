"""Dropout: zero each activation with probability ``p`` while training, as ``torch.nn.Dropout``.

Inverted dropout, the form torch uses: in training every element is kept with probability
``1 - p`` and the kept ones are scaled by ``1 / (1 - p)``, so that the expected output equals the
input and nothing needs rescaling at test time; in evaluation mode the layer is the identity::

    m ~ Bernoulli(1 - p), elementwise      (the mask: 1 = keep, 0 = drop)
    y = x * m / (1 - p)                    (training)
    y = x                                  (evaluation, or p = 0)
    dL/dx = dL/dy * m / (1 - p)            (the same mask: dropout is linear in x)

With ``p = 1`` every element is dropped and the output is zero (torch's behaviour), not the
``0 / 0`` the formula would give.

The maths is in two pure functions in the CS231n style, so that a fixed mask can be tested:
``dropout_forward(x, mask, p) -> (out, cache)`` and ``dropout_backward(dout, cache) -> dx``.
The module ``Dropout`` draws a fresh mask from its ``numpy.random.Generator`` on every training
``forward`` (torch draws from its own generator, so the two masks differ; given the same mask, the
outputs and gradients agree, see ``tests/test_dropout.py``).
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from companion._checks import check_array, check_dout, check_rng
from companion.numpy_impl.module import Module

__all__ = ["Dropout", "dropout_mask", "dropout_forward", "dropout_backward"]


def _check_p(p) -> float:
    """``p`` as a Python float in [0, 1]: ``ValueError`` outside, ``TypeError`` if not a number."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, Real):
        raise TypeError(f"dropout probability p must be a real number in [0, 1], "
                        f"got {type(p).__name__} {p!r}")
    if not 0.0 <= float(p) <= 1.0:  # also rejects NaN
        raise ValueError(f"dropout probability p must be in [0, 1], got p={p!r}")
    return float(p)


def dropout_mask(shape, p: float, rng: np.random.Generator) -> np.ndarray:
    """A boolean keep-mask: each element ``True`` (kept) with probability ``1 - p``.

    Parameters
    ----------
    shape : tuple of int
    p : float in [0, 1], the drop probability
    rng : numpy.random.Generator

    Returns
    -------
    (*shape) bool array
    """
    p = _check_p(p)
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "use np.random.default_rng(seed)")
    # uniform u in [0, 1): P(u < 1 - p) = 1 - p exactly, and p = 1 keeps nothing
    return rng.random(shape) < 1.0 - p


def dropout_forward(x: np.ndarray, mask: np.ndarray, p: float):
    """Inverted dropout with a given mask: ``y = x * mask / (1 - p)`` (zeros when ``p = 1``).

    Parameters
    ----------
    x : float32/float64 array of any shape
    mask : bool array of ``x``'s shape (True = keep), e.g. from :func:`dropout_mask`
    p : float in [0, 1], the drop probability the mask was drawn with

    Returns
    -------
    out : array of ``x``'s shape and dtype
    cache : the scaled mask ``mask / (1 - p)`` in ``x``'s dtype (what backward multiplies by)
    """
    check_array(x, "input")
    p = _check_p(p)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != x.shape:
        got = (f"{mask.dtype} array of shape {mask.shape}" if isinstance(mask, np.ndarray)
               else type(mask).__name__)
        raise ValueError(f"mask must be a bool array of the input's shape {x.shape}, got {got}")
    if p == 1.0:
        scale = np.zeros(x.shape, dtype=x.dtype)  # everything dropped (torch returns zeros)
    else:
        # torch builds the same factor: the 0/1 mask in x's dtype divided by (1 - p)
        scale = mask.astype(x.dtype) / x.dtype.type(1.0 - p)
    return x * scale, scale


def dropout_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Gradient of :func:`dropout_forward` with respect to ``x``: ``dout * mask / (1 - p)``.

    dout : array of the output's shape and dtype; cache : what ``dropout_forward`` returned.
    """
    scale = cache
    check_array(dout, "dout", dtype=scale.dtype, shape=scale.shape, finite=False)
    return dout * scale


class Dropout(Module):
    """Inverted dropout, as ``torch.nn.Dropout(p)``; no parameters, any input shape.

    Parameters
    ----------
    p : float in [0, 1], default 0.5
        Probability that an element is zeroed during training.
    rng : numpy.random.Generator, optional (keyword only)
        Draws the masks. With ``None`` a fresh, unseeded generator is used: fine for a quick
        experiment, not repeatable. Pass ``np.random.default_rng(seed)`` for repeatable runs.

    In training mode (``train()``, the default) each ``forward`` draws a new mask; ``backward``
    uses the mask of the last ``forward``. In evaluation mode (``eval()``), and for ``p = 0``,
    ``forward`` returns its input unchanged and ``backward`` its upstream gradient.

    Attributes
    ----------
    p : float
    mask : bool array or None
        The keep-mask of the last training ``forward`` (``None`` when that forward was the
        identity).
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | None = None):
        super().__init__()
        self.p = _check_p(p)
        self.rng = check_rng(rng)
        self.mask: np.ndarray | None = None

    def sample_mask(self, shape) -> np.ndarray:
        """A new keep-mask of ``shape`` from ``self.rng`` (see :func:`dropout_mask`)."""
        return dropout_mask(shape, self.p, self.rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : float array of any shape; returns an array of the same shape and dtype."""
        check_array(x, "input")
        if not self.training or self.p == 0.0:
            self.mask = None
            self._save(("identity", x.shape, x.dtype))
            return x
        self.mask = self.sample_mask(x.shape)
        out, scale = dropout_forward(x, self.mask, self.p)
        self._save(("dropout", scale))
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        """dout : gradient of the loss w.r.t. the last forward's output; returns it w.r.t. x."""
        kind, *cache = self._saved()
        if kind == "identity":
            shape, dtype = cache
            check_dout(dout, shape, dtype)
            return dout
        return dropout_backward(dout, cache[0])

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"
