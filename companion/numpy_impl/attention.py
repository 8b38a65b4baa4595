"""Attention: scaled dot-product attention as pure functions, and ``MultiheadAttention``.

**Scaled dot-product attention** is a soft dictionary look-up. Each of ``L`` queries (rows of
``Q``, width ``E``) is compared with ``S`` keys (rows of ``K``); the scores become weights by a
softmax over the keys, and the answer is the weighted mean of the values (rows of ``V``)::

    scores  = Q @ K^T * scale + mask      (L, S)    scale = 1 / sqrt(E) by default
    weights = softmax(scores, over S)     (L, S)    every row sums to 1
    out     = weights @ V                 (L, Ev)

Why ``1 / sqrt(E)``: for queries and keys of independent unit-variance entries a score is a sum
of ``E`` products, of variance ``E``; dividing by ``sqrt(E)`` brings it back to 1, so the softmax
neither saturates (one weight near 1, gradients near 0) nor flattens as the width grows.

Masks, torch's two conventions, both turned into an additive mask of 0 and ``-inf``:

* a float mask is added to the scores (``-inf`` removes a key, finite values bias it);
* a bool mask in :func:`scaled_dot_product_attention_forward` says which keys TAKE PART (True =
  attend), as ``torch.nn.functional.scaled_dot_product_attention``; in ``MultiheadAttention``
  (``attn_mask`` and ``key_padding_mask``) True means the opposite, NOT allowed, as
  ``torch.nn.MultiheadAttention``. The causal mask lets query ``i`` see keys ``j <= i``.

A row whose every key is masked has no softmax (torch returns NaN there); here it is an error.

**Backward**, with ``G = dL/dout``::

    dV = weights^T @ G
    dweights = G @ V^T
    dscores = weights * (dweights - rowsum(dweights * weights))     (the softmax Jacobian)
    dQ = dscores @ K * scale,   dK = dscores^T @ Q * scale

With attention dropout, ``weights`` in ``out`` and ``dV`` are the dropped-out ones, and ``dweights``
passes back through the same mask before the softmax Jacobian.

Everything works on any number of leading axes, so the heads of ``MultiheadAttention`` are
computed at once on ``(N, num_heads, L, head_dim)`` arrays: one batched matrix product each,
no loop over samples or heads.
"""

from __future__ import annotations

import math

from typing import NamedTuple

import numpy as np

from companion._checks import (
    check_array,
    check_attention,
    check_attention_mask,
    check_dout,
    check_float_dtype,
    check_positive_int,
    check_rng,
    check_same_dtype,
)
from companion.numpy_impl import functional as F
from companion.numpy_impl.dropout import dropout_backward, dropout_forward, dropout_mask
from companion.numpy_impl.init import xavier_uniform_, zeros_
from companion.numpy_impl.layers import Linear
from companion.numpy_impl.module import Module, Parameter

__all__ = [
    "AttentionCache",
    "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward",
    "causal_mask",
    "MultiheadAttention",
]


class AttentionCache(NamedTuple):
    """What the attention backward needs; ``weights`` is also the attention map to plot.

    query (*, L, E), key (*, S, E), value (*, S, Ev); weights (*, L, S), the softmax;
    dropped (*, L, S), the weights after dropout (``weights`` itself without dropout);
    dropout_scale : the dropout cache (mask / (1 - p)), or None; scale : float.
    """

    query: np.ndarray
    key: np.ndarray
    value: np.ndarray
    weights: np.ndarray
    dropped: np.ndarray
    dropout_scale: np.ndarray | None
    scale: float


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """(L, S) bool array, True where query ``i`` may see key ``j`` (``j <= i``), as
    ``torch.ones(L, S, dtype=torch.bool).tril()``."""
    source_length = length if source_length is None else source_length
    return np.tri(length, source_length, dtype=bool)


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False,
                                         scale=None, dropout_p=0.0, dropout_keep=None):
    """``softmax(query @ key^T * scale + mask) @ value``, as torch's
    ``scaled_dot_product_attention``.

    Parameters
    ----------
    query : (*, L, E) float array; key : (*, S, E); value : (*, S, Ev), one dtype, ``*`` equal
    attn_mask : None, a bool array (True = attend) or a float array added to the scores, of a
        shape that broadcasts to (*, L, S)
    is_causal : bool, query ``i`` sees keys ``0 .. i`` only (not together with ``attn_mask``)
    scale : float or None (``1 / sqrt(E)``)
    dropout_p : float, attention dropout; dropout_keep : its bool keep-mask of shape (*, L, S)
        (e.g. from ``dropout_mask``), required when ``dropout_p > 0``

    Returns
    -------
    out : (*, L, Ev) array
    cache : ``AttentionCache``; ``cache.weights`` (*, L, S) are the attention weights
    """
    check_attention(query, key, value, attn_mask, is_causal)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    scores = (query @ key.swapaxes(-1, -2)) * scale
    if is_causal:
        attn_mask = causal_mask(query.shape[-2], key.shape[-2])
    if attn_mask is not None:  # hidden scores become -inf; a float mask is added
        scores = (np.where(attn_mask, scores, -np.inf) if attn_mask.dtype == bool
                  else scores + attn_mask)
        if np.isneginf(scores).all(axis=-1).any():
            raise ValueError("the mask hides every key from some query; its softmax is undefined "
                             "(torch returns NaN): leave at least one key visible in every row")
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))  # the stable softmax
    weights /= weights.sum(axis=-1, keepdims=True)
    dropped, dropout_scale = weights, None
    if dropout_p > 0.0:
        if dropout_keep is None:
            raise ValueError(f"dropout_p={dropout_p} needs dropout_keep, a bool mask of shape "
                             f"{weights.shape}")
        dropped, dropout_scale = dropout_forward(weights, dropout_keep, dropout_p)
    out = dropped @ value
    return out, AttentionCache(query, key, value, weights, dropped, dropout_scale, scale)


def scaled_dot_product_attention_backward(dout, cache: AttentionCache):
    """Gradients of ``scaled_dot_product_attention_forward`` (formulas in the module docstring).

    dout : (*, L, Ev), the gradient with respect to ``out``.
    Returns ``(dquery, dkey, dvalue)`` of the inputs' shapes (masks get no gradient).
    """
    c = cache
    check_dout(dout, c.query.shape[:-1] + c.value.shape[-1:], c.query.dtype)
    dvalue = c.dropped.swapaxes(-1, -2) @ dout
    dweights = dout @ c.value.swapaxes(-1, -2)
    if c.dropout_scale is not None:
        dweights = dropout_backward(dweights, c.dropout_scale)
    dscores = c.weights * (dweights - (dweights * c.weights).sum(axis=-1, keepdims=True))
    dscores *= c.scale
    return dscores @ c.key, dscores.swapaxes(-1, -2) @ c.query, dvalue


def _additive(mask, dtype):
    """A bool mask in ``MultiheadAttention``'s convention (True = hide) as 0 / -inf floats."""
    return np.where(mask, -np.inf, 0.0).astype(dtype) if mask.dtype == bool else mask


class MultiheadAttention(Module):
    """Multi-head attention, as ``torch.nn.MultiheadAttention(embed_dim, num_heads, ...)``.

    Each of ``num_heads`` heads attends with its own ``head_dim = embed_dim / num_heads`` wide
    slice of the projected queries, keys and values; the heads' outputs are concatenated and
    mixed by ``out_proj``::

        Q = query @ W_q^T + b_q,  K = key @ W_k^T + b_k,  V = value @ W_v^T + b_v
        head_h = attention(Q[..., h], K[..., h], V[..., h])     (scaled dot-product, above)
        out = concat(head_1 .. head_H) @ out_proj.weight^T + out_proj.bias

    Parameters
    ----------
    embed_dim, num_heads : int, ``embed_dim`` divisible by ``num_heads``
    dropout : float, dropout on the attention weights in training
    bias : bool
    add_bias_kv, add_zero_attn, kdim, vdim : torch's options; only their defaults are supported
    batch_first : bool, inputs and output ``(N, L, E)`` instead of ``(L, N, E)``
    dtype : float32 or float64; rng : numpy.random.Generator, optional (keyword only)

    Attributes
    ----------
    in_proj_weight : Parameter (3 * embed_dim, embed_dim), ``W_q``, ``W_k``, ``W_v`` stacked
    in_proj_bias : Parameter (3 * embed_dim,), or None
    out_proj : Linear(embed_dim, embed_dim)
    dropout_keep : the attention dropout's keep-mask of the last training forward, or None

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (attn_output, attn_weights)``, torch's
    arguments and shapes: query (L, N, E), key and value (S, N, E) (batch first: N first);
    key_padding_mask (N, S); attn_mask (L, S) or (N * num_heads, L, S), bool masks True where
    attention is NOT allowed; ``is_causal`` is a hint that ``attn_mask`` is causal, and, as in
    torch, needs it. attn_weights: (N, L, S) averaged over the heads, or (N, num_heads, L, S),
    after dropout as in torch; None unless ``need_weights``.

    ``backward(dout) -> (dquery, dkey, dvalue)``: the gradient flows from ``attn_output`` only
    (not from the returned weights). For self-attention, add the three.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, *,
                 dtype=np.float64, rng=None):
        super().__init__()
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")
        self.num_heads = check_positive_int(num_heads, "num_heads")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim must be divisible by num_heads, got embed_dim="
                             f"{self.embed_dim} and num_heads={self.num_heads}")
        unsupported = {"add_bias_kv": add_bias_kv, "add_zero_attn": add_zero_attn,
                       "kdim": kdim not in (None, embed_dim), "vdim": vdim not in (None, embed_dim)}
        if any(unsupported.values()):
            raise NotImplementedError(f"MultiheadAttention here supports only the defaults of "
                                      f"{[k for k, v in unsupported.items() if v]}")
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"dropout must be in [0, 1], got {dropout!r}")
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = bool(batch_first)
        dtype = check_float_dtype(dtype)
        self.rng = check_rng(rng)
        self.in_proj_weight = Parameter(np.empty((3 * self.embed_dim, self.embed_dim), dtype))
        self.in_proj_bias = Parameter(np.empty(3 * self.embed_dim, dtype)) if bias else None
        self.out_proj = Linear(self.embed_dim, self.embed_dim, bias, dtype=dtype, rng=self.rng)
        self.dropout_keep = None
        self.reset_parameters()

    def reset_parameters(self, rng=None) -> None:
        """torch's: ``in_proj_weight`` Xavier-uniform, both biases zero; ``out_proj.weight``
        keeps ``Linear``'s default."""
        xavier_uniform_(self.in_proj_weight, rng=self.rng if rng is None else check_rng(rng))
        if self.in_proj_bias is not None:
            zeros_(self.in_proj_bias)
            zeros_(self.out_proj.bias)

    # --- helpers: layouts and masks ---------------------------------------------------------
    def _batch_major(self, x, name, length_name):
        """Check a (L, N, E) or (N, L, E) input; return it as (N, L, E)."""
        layout = f"(N, {length_name}, E)" if self.batch_first else f"({length_name}, N, E)"
        check_array(x, name, ndim=3)
        check_same_dtype(x, self.in_proj_weight.dtype, name)
        if x.shape[2] != self.embed_dim:
            raise ValueError(f"{name} must have shape {layout} with E={self.embed_dim}, got "
                             f"{x.shape}")
        return x if self.batch_first else x.transpose(1, 0, 2)

    def _heads(self, x2d, n):
        """(N * T, E) -> (N, num_heads, T, head_dim)."""
        return x2d.reshape(n, -1, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, x4d):
        """(N, num_heads, T, head_dim) -> (N * T, E), the inverse of ``_heads``."""
        return x4d.transpose(0, 2, 1, 3).reshape(-1, self.embed_dim)

    def _mask(self, attn_mask, key_padding_mask, n, length, source, is_causal):
        """Both masks as one additive float mask broadcasting to (N, num_heads, L, S), or None."""
        if is_causal and attn_mask is None:
            raise ValueError("is_causal=True is a hint that attn_mask is causal and needs it, as "
                             "in torch: pass attn_mask=causal mask of shape (L, S)")
        dtype = self.in_proj_weight.dtype
        total = None
        if attn_mask is not None:
            check_attention_mask(attn_mask, "attn_mask",
                                 [(length, source), (n * self.num_heads, length, source)], dtype)
            total = _additive(attn_mask, dtype).reshape(-1, self.num_heads if attn_mask.ndim == 3
                                                        else 1, length, source)
        if key_padding_mask is not None:
            check_attention_mask(key_padding_mask, "key_padding_mask", [(n, source)], dtype)
            padding = _additive(key_padding_mask, dtype)[:, None, None, :]
            total = padding if total is None else total + padding
        return total

    # --- computation ------------------------------------------------------------------------
    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        q_in = self._batch_major(query, "query", "L")
        k_in = self._batch_major(key, "key", "S")
        v_in = self._batch_major(value, "value", "S")
        n, length, _ = q_in.shape
        if k_in.shape != v_in.shape or k_in.shape[0] != n:
            raise ValueError(f"key and value must have the same shape, with query's batch size "
                             f"{n}; got key {key.shape}, value {value.shape}, query {query.shape}")
        mask = self._mask(attn_mask, key_padding_mask, n, length, k_in.shape[1], is_causal)
        e = self.embed_dim
        w, b = self.in_proj_weight.data, self.in_proj_bias
        projections = [
            F.linear_forward(x.reshape(-1, e), w[i * e:(i + 1) * e],
                             None if b is None else b.data[i * e:(i + 1) * e])
            for i, x in enumerate((q_in, k_in, v_in))
        ]
        q, k, v = (self._heads(out, n) for out, _ in projections)
        p = self.dropout if self.training else 0.0
        self.dropout_keep = dropout_mask(q.shape[:3] + k.shape[2:3], p, self.rng) if p else None
        heads, attention = scaled_dot_product_attention_forward(
            q, k, v, mask, dropout_p=p, dropout_keep=self.dropout_keep)
        out = self.out_proj(self._merge(heads)).reshape(n, length, e)
        self._save(([cache for _, cache in projections], attention, n))
        weights = None
        if need_weights:
            weights = attention.dropped.mean(axis=1) if average_attn_weights else attention.dropped
        return (out if self.batch_first else out.transpose(1, 0, 2)), weights

    def backward(self, dout, input_grad: bool = True):
        projections, attention, n = self._saved()
        length = attention.query.shape[2]
        want = (n, length, self.embed_dim) if self.batch_first else (length, n, self.embed_dim)
        check_dout(dout, want, attention.query.dtype)
        if not self.batch_first:
            dout = dout.transpose(1, 0, 2)
        dheads = self.out_proj.backward(np.ascontiguousarray(dout).reshape(-1, self.embed_dim))
        grads = scaled_dot_product_attention_backward(self._heads(dheads, n), attention)
        dinputs, dweights, dbiases = [], [], []
        for g, cache in zip(grads, projections):
            dx, dw, db = F.linear_backward(self._merge(g), cache, input_grad)
            dinputs.append(None if dx is None else dx.reshape(n, -1, self.embed_dim))
            dweights.append(dw)
            dbiases.append(db)
        self.in_proj_weight.accumulate_grad(np.concatenate(dweights))
        if self.in_proj_bias is not None:
            self.in_proj_bias.accumulate_grad(np.concatenate(dbiases))
        if not input_grad:
            return None, None, None
        return tuple(d if self.batch_first else d.transpose(1, 0, 2) for d in dinputs)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
