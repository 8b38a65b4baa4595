"""Finite-difference gradient checking: is the backward pass the derivative of the forward pass?

``numerical_gradient(f, x)`` estimates the gradient of a scalar function by central differences,

    df/dx_i  ~  (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

whose error is ``O(eps^2)`` from truncation plus about ``macheps * |f| / eps`` from rounding; with
``eps = 1e-6`` in float64 both are near 1e-10, far below the ``1e-7`` tolerance.

``gradcheck(target, inputs)`` compares that estimate with the analytic gradient for every input
and, for a ``Module``, every parameter. A layer's output is not a scalar, so the check uses the
projected loss ``L = sum(out * g)`` with a fixed random upstream gradient ``g``: then
``dL/dout = g``, the analytic gradients are ``backward(g)``, and a mistake in any entry of the
Jacobian shows up (with probability one) in the projection.

Relative error, per tensor, norm-based::

    rel_error(a, n) = ||a - n|| / max(||a|| + ||n||, tiny)

with ``||.||`` the Euclidean norm over all elements and ``tiny`` the smallest positive float64 (so
two zero gradients give 0). It is scale-free, and unlike the element-wise maximum it is not
dominated by rounding noise on elements whose true gradient is near zero. The check passes when
every tensor's ``rel_error`` is at most ``tol`` (default ``1e-7``); the report also gives the
largest absolute element-wise difference.

This is a test tool, so clarity beats speed: ``numerical_gradient`` perturbs one element at a
time (two evaluations of ``f`` per element). Use small arrays (a few hundred elements).
Gradient checks need float64: in float32 the rounding term ``6e-8 * |f| / eps`` swamps the
difference, so float32 inputs are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from companion.numpy_impl.module import Module

__all__ = ["numerical_gradient", "relative_error", "gradcheck", "GradcheckReport", "GradcheckError"]

TINY = np.finfo(np.float64).tiny


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with the finite-difference estimate."""


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """``||a - n|| / max(||a|| + ||n||, tiny)`` over all elements (see the module docstring)."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"analytic gradient has shape {a.shape}, numeric {n.shape}")
    return float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), TINY))


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central-difference estimate of the gradient of the scalar function ``f`` at ``x``.

    Parameters
    ----------
    f : callable ``f(x) -> float``
        It must read the CURRENT contents of ``x``: the estimate perturbs ``x`` in place, one
        element at a time (restoring it afterwards), so ``f`` may also ignore its argument and read
        an array it closes over, such as a layer's ``weight.data``.
    x : float64 array, any shape (modified during the call, restored before it returns)
    eps : float, the step

    Returns
    -------
    grad : array of ``x``'s shape, float64
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = type(x).__name__ if not isinstance(x, np.ndarray) else f"dtype {x.dtype}"
        raise TypeError(f"numerical_gradient needs a float64 numpy.ndarray, got {got}")
    grad = np.zeros(x.shape, dtype=np.float64)
    for idx in np.ndindex(x.shape):  # element by element: a test tool, see the module docstring
        original = x[idx]
        x[idx] = up = original + eps
        f_up = float(f(x))
        x[idx] = down = original - eps
        f_down = float(f(x))
        x[idx] = original
        grad[idx] = (f_up - f_down) / (up - down)  # the step actually taken, after rounding
    return grad


@dataclass
class GradcheckReport:
    """The outcome of ``gradcheck``: one entry per checked tensor.

    Attributes
    ----------
    errors : dict name -> relative error (norm-based, see the module docstring)
    max_abs : dict name -> largest ``|analytic - numeric|`` over the elements
    tol : the tolerance on the relative error
    """

    errors: dict[str, float] = field(default_factory=dict)
    max_abs: dict[str, float] = field(default_factory=dict)
    tol: float = 1e-7

    @property
    def passed(self) -> bool:
        return all(err <= self.tol for err in self.errors.values())

    @property
    def worst(self) -> tuple[str, float]:
        """``(name, relative error)`` of the worst tensor."""
        name = max(self.errors, key=self.errors.get)
        return name, self.errors[name]

    def failures(self) -> list[str]:
        return [name for name, err in self.errors.items() if err > self.tol]

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        width = max(len(name) for name in self.errors)
        lines = [f"{'tensor':<{width}}  relative error  max |a - n|  (tol {self.tol:.0e})"]
        for name, err in self.errors.items():
            flag = "" if err <= self.tol else "  FAIL"
            lines.append(f"{name:<{width}}  {err:14.3e}  {self.max_abs[name]:11.3e}{flag}")
        return "\n".join(lines)


def _require_float64(array, name: str) -> None:
    if not isinstance(array, np.ndarray) or array.dtype != np.float64:
        got = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        raise TypeError(
            f"gradcheck needs float64 arrays (float32 rounding swamps finite differences); "
            f"{name} is {got}"
        )


def _module_pairs(module: Module, x: np.ndarray, g_rng, eps):
    """(name, analytic, numeric) for the input and every parameter of ``module``."""
    _require_float64(x, "input")
    for name, p in module.named_parameters():
        _require_float64(p.data, name)
    out = module.forward(x)
    g = g_rng.standard_normal(out.shape)
    module.zero_grad()
    analytic = {"input": module.backward(g)}
    analytic.update({name: p.grad for name, p in module.named_parameters()})

    def projected(_):
        return np.sum(module.forward(x) * g)

    yield "input", analytic["input"], numerical_gradient(projected, x, eps)
    for name, p in module.named_parameters():
        yield name, analytic[name], numerical_gradient(projected, p.data, eps)


def _function_pairs(forward, backward, inputs, names, g_rng, eps):
    """(name, analytic, numeric) for every input of a ``(forward, backward)`` pair."""
    for name, a in zip(names, inputs):
        _require_float64(a, name)
    out, cache = forward(*inputs)
    g = g_rng.standard_normal(np.shape(out))
    grads = backward(g, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    if len(grads) < len(inputs):
        raise ValueError(f"backward returned {len(grads)} gradients for {len(inputs)} inputs")

    def projected(_):
        return np.sum(forward(*inputs)[0] * g)

    for name, a, grad in zip(names, inputs, grads):
        yield name, grad, numerical_gradient(projected, a, eps)


def gradcheck(
    target,
    inputs,
    *,
    names: Sequence[str] | None = None,
    eps: float = 1e-6,
    tol: float = 1e-7,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckReport:
    """Compare analytic and finite-difference gradients for every input and parameter.

    Parameters
    ----------
    target : Module, or a pair ``(forward, backward)``
        A ``Module``: ``inputs`` is its input ``x`` (float64); the checked tensors are ``"input"``
        and every parameter by its ``named_parameters`` name. The parameters' ``grad`` are left
        holding the analytic gradients.
        A pair in the CS231n style: ``forward(*inputs) -> (out, cache)`` and
        ``backward(dout, cache) -> grad`` or a tuple of grads, one per input (extra ones are
        ignored), e.g. ``(linear_forward, linear_backward)`` with ``inputs = (x, w, b)``.
        Bind non-array arguments with a lambda or ``functools.partial``.
    inputs : float64 array, or a sequence of them for a pair
    names : names of the inputs in the report (default ``"input"`` / ``"inputs[i]"``)
    eps : finite-difference step
    tol : largest accepted relative error per tensor
    seed : seeds the random upstream gradient ``g``
    raise_exception : raise ``GradcheckError`` naming the failing tensors (default), or just
        return the report (whose truth value is ``report.passed``)

    Returns
    -------
    GradcheckReport
    """
    g_rng = np.random.default_rng(seed)
    if isinstance(target, Module):
        x = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        pairs = _module_pairs(target, x, g_rng, eps)
    elif isinstance(target, tuple) and len(target) == 2 and all(map(callable, target)):
        inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
        if names is None:
            names = ["input"] if len(inputs) == 1 else [f"inputs[{i}]" for i in range(len(inputs))]
        pairs = _function_pairs(*target, inputs, list(names), g_rng, eps)
    else:
        raise TypeError(
            f"gradcheck target must be a Module or a (forward, backward) pair of callables, "
            f"got {type(target).__name__}"
        )
    report = GradcheckReport(tol=tol)
    for name, analytic, numeric in pairs:
        if analytic is None:
            raise ValueError(f"no analytic gradient for {name} (did backward skip it?)")
        report.errors[name] = relative_error(analytic, numeric)
        report.max_abs[name] = float(np.max(np.abs(analytic - numeric), initial=0.0))
    if raise_exception and not report.passed:
        raise GradcheckError(f"gradient check failed for {report.failures()}:\n{report}")
    return report
