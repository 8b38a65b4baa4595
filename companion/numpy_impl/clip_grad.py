"""Gradient clipping by the global norm, as ``torch.nn.utils.clip_grad_norm_``.

All gradients are seen as one long vector ``g``; when its norm exceeds ``max_norm`` every
gradient is scaled by the same factor, so the update keeps its direction and only its length is
capped::

    total = ||(||g_1||, ||g_2||, ...)||        (the p-norm of the per-tensor p-norms = ||g||_p)
    coef  = min(max_norm / (total + 1e-6), 1)
    g_i  <- g_i * coef

The ``1e-6`` is torch's, so that a zero gradient gives no division by zero; torch multiplies
even when ``coef`` is 1, and so does this (the result is the same). Recurrent networks and
Transformers use it against the occasional huge gradient of an exploding step.
"""

from __future__ import annotations

import math

from numbers import Real

import numpy as np

from companion.numpy_impl.module import Module, Parameter

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> float:
    """Scale the gradients IN PLACE so that their global ``norm_type``-norm is at most
    ``max_norm``; return the norm before clipping.

    Parameters
    ----------
    parameters : a Module, a Parameter, or an iterable of Parameters (those whose ``grad`` is
        None are skipped, as in torch)
    max_norm : float > 0
    norm_type : float >= 1 or ``math.inf`` (the largest absolute entry)
    error_if_nonfinite : raise if the total norm is NaN or infinite instead of clipping

    Returns
    -------
    total_norm : float, the norm of all gradients taken together, before clipping
    """
    if isinstance(parameters, Module):
        parameters = parameters.parameters()
    elif isinstance(parameters, Parameter):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    for name, value in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not grads:
        return 0.0
    if norm_type == math.inf:
        total = max(float(np.abs(g).max(initial=0.0)) for g in grads)
    else:
        norms = np.array([np.linalg.norm(g.ravel(), ord=norm_type) for g in grads])
        total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is {total}; "
                           f"clip_grad_norm_ cannot clip it (error_if_nonfinite=True)")
    coef = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= g.dtype.type(coef)
    return total
