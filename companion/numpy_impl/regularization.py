"""L1 and L2 weight penalties: their values and their gradients.

Conventions (fixed here, used by the whole book)::

    L1(w) = λ Σ |w|            ∂L1/∂w = λ sign(w)      (subgradient 0 where w = 0)
    L2(w) = λ/2 Σ w²           ∂L2/∂w = λ w

The sum runs over every element of every array passed. L2 carries the factor 1/2 so that its
gradient is exactly ``λ w``; with it, ``SGD(weight_decay=λ)`` *is* gradient descent on
``loss + L2`` (torch's SGD adds ``λ θ`` to the gradient, which is this penalty's gradient), and so
is ``Adam(weight_decay=λ)`` with torch's default (coupled) weight decay. ``AdamW`` is different:
it shrinks the weights by ``1 − γλ`` outside the adaptive step, which no penalty on the loss can
reproduce (``tests/test_regularization.py`` checks all three statements).

Which tensors to penalise is the caller's choice; biases are usually left out::

    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    loss = data_loss + l2_penalty(weights, lam)
    model.backward(dloss)            # gradients of the data loss
    add_l2_grad(weights, lam)        # + gradient of the penalty
"""

from __future__ import annotations

from numbers import Real
from typing import Iterable, Union

import numpy as np

from companion._checks import check_array
from companion.numpy_impl.module import Parameter

__all__ = [
    "l1_penalty",
    "l2_penalty",
    "l1_penalty_grad",
    "l2_penalty_grad",
    "add_l1_grad",
    "add_l2_grad",
]

Weights = Union[Parameter, np.ndarray, Iterable[Union[Parameter, np.ndarray]]]


def _check_lam(lam) -> float:
    """``lam`` as a Python float >= 0 (a Python float keeps float32 arrays float32)."""
    if isinstance(lam, bool) or not isinstance(lam, Real):
        raise TypeError(f"lam must be a real number >= 0, got {type(lam).__name__} {lam!r}")
    if not float(lam) >= 0.0:  # also rejects NaN
        raise ValueError(f"lam must be >= 0, got lam={lam!r}")
    return float(lam)


def _arrays(weights: Weights) -> list[np.ndarray]:
    """The arrays behind ``weights`` (one array or Parameter, or an iterable of them)."""
    items = [weights] if isinstance(weights, (Parameter, np.ndarray)) else list(weights)
    arrays = []
    for i, w in enumerate(items):
        data = w.data if isinstance(w, Parameter) else w
        arrays.append(check_array(data, f"weights[{i}]"))
    return arrays


def _parameters(params) -> list[Parameter]:
    items = [params] if isinstance(params, Parameter) else list(params)
    for i, p in enumerate(items):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"params[{i}] must be a Parameter (its gradient is accumulated into .grad), "
                f"got {type(p).__name__}; use l1_penalty_grad/l2_penalty_grad for plain arrays"
            )
    return items


# --- values -----------------------------------------------------------------------------------
def l1_penalty(weights: Weights, lam: float) -> float:
    """``λ Σ |w|`` over every element of every array.

    Parameters
    ----------
    weights : Parameter or float array of any shape, or an iterable of them
    lam : float >= 0

    Returns
    -------
    float
    """
    lam = _check_lam(lam)
    return lam * sum(float(np.abs(w).sum()) for w in _arrays(weights))


def l2_penalty(weights: Weights, lam: float) -> float:
    """``λ/2 Σ w²`` over every element of every array (gradient ``λ w``).

    Parameters
    ----------
    weights : Parameter or float array of any shape, or an iterable of them
    lam : float >= 0

    Returns
    -------
    float
    """
    lam = _check_lam(lam)
    return 0.5 * lam * sum(float(np.vdot(w, w)) for w in _arrays(weights))


# --- gradients of one array -------------------------------------------------------------------
def l1_penalty_grad(w: np.ndarray, lam: float) -> np.ndarray:
    """Gradient of ``λ Σ |w|``: ``λ sign(w)``, with the subgradient 0 where ``w == 0``.

    w : float array of any shape; returns an array of the same shape and dtype.
    """
    lam = _check_lam(lam)
    w = check_array(w, "w")
    return lam * np.sign(w)


def l2_penalty_grad(w: np.ndarray, lam: float) -> np.ndarray:
    """Gradient of ``λ/2 Σ w²``: ``λ w``.

    w : float array of any shape; returns an array of the same shape and dtype.
    """
    lam = _check_lam(lam)
    w = check_array(w, "w")
    return lam * w


# --- accumulate into Parameter.grad -----------------------------------------------------------
def add_l1_grad(params, lam: float) -> None:
    """Add ``λ sign(p.data)`` to each ``p.grad`` (set it when ``p.grad`` is None).

    params : Parameter or iterable of Parameter. Call after the data loss's ``backward``.
    """
    lam = _check_lam(lam)
    for p in _parameters(params):
        p.accumulate_grad(l1_penalty_grad(p.data, lam))


def add_l2_grad(params, lam: float) -> None:
    """Add ``λ p.data`` to each ``p.grad`` (set it when ``p.grad`` is None).

    params : Parameter or iterable of Parameter. Call after the data loss's ``backward``.
    """
    lam = _check_lam(lam)
    for p in _parameters(params):
        p.accumulate_grad(l2_penalty_grad(p.data, lam))
