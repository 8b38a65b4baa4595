"""Helpers shared by the attention / Transformer / GRU / normalization tests.

* ``grad_errors``: finite-difference gradient check of a multi-input forward (every input and
  parameter), using the package's ``numerical_gradient`` and ``relative_error``;
* ``shared_dropout``: make torch use the NumPy layers' dropout masks, so that train-mode outputs
  can be compared exactly. It replaces ``torch.nn.functional.dropout`` (called by ``nn.Dropout``
  and by ``MultiheadAttention`` when it returns weights) and
  ``torch.nn.functional.scaled_dot_product_attention`` (called by ``MultiheadAttention`` when it
  does not) with versions that take the next mask from a queue. The attention replacement is
  torch's math written out in torch ops; it is itself compared with torch's fused kernel without
  dropout in ``test_sdpa_replacement_matches_torch``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from companion.numpy_impl import numerical_gradient, relative_error

#: Gradient checks in float64: central differences with a 1e-6 step leave about 1e-10 of
#: rounding and 1e-12 of truncation; an error in a formula shows as 1e-2 or more.
GRAD_TOL = 1e-7


def t64(a, grad=False):
    """A float64 torch tensor of ``a`` (optionally requiring grad)."""
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def assert_grads_ok(errors):
    """Fail naming every tensor whose gradient-check error is not below ``GRAD_TOL``."""
    bad = {k: f"{v:.2e}" for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"gradient check failed (tol {GRAD_TOL:.0e}): {bad}"


def grad_errors(forward, backward, arrays, seed=0):
    """Relative errors ``{name: err}`` between analytic and numerical gradients.

    forward() -> out (float64 array), reading the CURRENT contents of ``arrays``;
    backward(g) -> {name: analytic gradient} for the upstream gradient ``g``;
    arrays : {name: float64 array} perturbed in place one element at a time.
    """
    g = np.random.default_rng(seed).standard_normal(np.shape(forward()))
    analytic = backward(g)

    def projected(_):
        return float(np.sum(forward() * g))

    return {name: relative_error(analytic[name], numerical_gradient(projected, a))
            for name, a in arrays.items()}


@contextlib.contextmanager
def shared_dropout(monkeypatch, masks):
    """Within the block, torch's dropouts use ``masks`` (NumPy bool keep-masks) in order."""
    queue = list(masks)

    def take(like):
        mask = queue.pop(0)
        return torch.from_numpy(np.ascontiguousarray(mask).reshape(like.shape))

    def dropout(input, p=0.5, training=True, inplace=False):
        if not training or p == 0.0:
            return input
        return input * take(input).to(input.dtype) / (1.0 - p)

    def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
             enable_gqa=False):
        scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
        scores = query @ key.transpose(-2, -1) * scale
        if is_causal:
            keep = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
            scores = scores.masked_fill(~keep, -math.inf)
        if attn_mask is not None:
            scores = (scores.masked_fill(~attn_mask, -math.inf) if attn_mask.dtype == torch.bool
                      else scores + attn_mask)
        weights = torch.softmax(scores, dim=-1)
        if dropout_p > 0.0:
            weights = weights * take(weights).to(weights.dtype) / (1.0 - dropout_p)
        return weights @ value

    monkeypatch.setattr(torch.nn.functional, "dropout", dropout)
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", sdpa)
    try:
        yield sdpa
    finally:
        monkeypatch.undo()
    assert not queue, f"{len(queue)} dropout masks were not used: the call order differs"
