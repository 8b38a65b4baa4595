"""The Transformer encoder block, as ``torch.nn.TransformerEncoderLayer``.

A block is two sub-layers, each wrapped in a residual connection and a LayerNorm: multi-head
self-attention, which mixes information ACROSS positions, and a position-wise feed-forward
network, which transforms each position on its own::

    sa(x) = dropout1(self_attn(x, x, x, masks))
    ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))

    post-norm (norm_first=False, the 2017 paper, torch's default):
        h = norm1(x + sa(x));        out = norm2(h + ff(h))
    pre-norm (norm_first=True, GPT-2 and most models since):
        h = x + sa(norm1(x));        out = h + ff(norm2(h))

In the pre-norm block the "residual stream" ``x -> h -> out`` is a sum that nothing rescales,
so the gradient reaches early blocks through the identity path undiminished. With a causal
``src_mask`` a stack of these blocks is a decoder-only language model (GPT): each position sees
itself and the positions before it.

**Backward** is the chain rule block by block, in reverse. A residual ``y = x + f(x)`` passes the
gradient on twice, ``dx = dy + f'(x)^T dy``; self-attention reads ``x`` as query, key and value,
so its three input gradients add up.
"""

from __future__ import annotations

import numpy as np

from companion._checks import check_array, check_positive_int, check_rng
from companion.numpy_impl.activation import GELU
from companion.numpy_impl.attention import MultiheadAttention
from companion.numpy_impl.dropout import Dropout
from companion.numpy_impl.layers import Linear, ReLU
from companion.numpy_impl.module import Module
from companion.numpy_impl.normalization import LayerNorm

__all__ = ["TransformerEncoderLayer"]


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network with residuals and LayerNorms, as
    ``torch.nn.TransformerEncoderLayer``.

    Parameters
    ----------
    d_model : int, the width of the residual stream
    nhead : int, attention heads (``d_model`` divisible by it)
    dim_feedforward : int (2048), the hidden width of the feed-forward network
    dropout : float (0.1), used after attention's softmax, in the feed-forward network and on
        both sub-layers' outputs
    activation : "relu" (default) or "gelu" (exact), or a ``ReLU()`` / ``GELU(...)`` module
    layer_norm_eps : float (1e-5); batch_first : bool; norm_first : bool (pre-norm); bias : bool
    dtype : float32 or float64; rng : numpy.random.Generator, optional (keyword only); it
        initialises the weights and draws every dropout mask

    Attributes (torch's names, so ``state_dict`` keys match)
    ----------
    self_attn : MultiheadAttention; linear1 : Linear(d_model, dim_feedforward);
    linear2 : Linear(dim_feedforward, d_model); norm1, norm2 : LayerNorm(d_model);
    dropout, dropout1, dropout2 : Dropout; activation : ReLU or GELU

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``: src (T, N, E),
    or (N, T, E) with ``batch_first``; the masks as ``MultiheadAttention``'s ``attn_mask`` and
    ``key_padding_mask``. ``backward(dout) -> dsrc``.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True, *,
                 dtype=np.float64, rng=None):
        super().__init__()
        rng = check_rng(rng)
        d_model = check_positive_int(d_model, "d_model")
        dim_feedforward = check_positive_int(dim_feedforward, "dim_feedforward")
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=batch_first,
                                            dtype=dtype, rng=rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias, dtype=dtype, rng=rng)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias, dtype=dtype, rng=rng)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        if isinstance(activation, (ReLU, GELU)):
            self.activation = activation
        elif activation in ("relu", "gelu"):
            self.activation = ReLU() if activation == "relu" else GELU()
        else:
            raise ValueError(f"activation must be 'relu', 'gelu', ReLU() or GELU(), got "
                             f"{activation!r}")
        self.batch_first = bool(batch_first)
        self.d_model = d_model

    # --- the two sub-layers -----------------------------------------------------------------
    def _sa_block(self, x, src_mask, src_key_padding_mask, is_causal):
        out, _ = self.self_attn(x, x, x, attn_mask=src_mask,
                                key_padding_mask=src_key_padding_mask, need_weights=False,
                                is_causal=is_causal)
        return self.dropout1(out)

    def _sa_backward(self, dout):
        dquery, dkey, dvalue = self.self_attn.backward(self.dropout1.backward(dout))
        return dquery + dkey + dvalue

    def _ff_block(self, x):
        hidden = self.activation(self.linear1(x.reshape(-1, self.d_model)))
        return self.dropout2(self.linear2(self.dropout(hidden))).reshape(x.shape)

    def _ff_backward(self, dout):
        d = self.linear2.backward(self.dropout2.backward(dout.reshape(-1, self.d_model)))
        d = self.activation.backward(self.dropout.backward(d))
        return self.linear1.backward(d).reshape(dout.shape)

    # --- the block --------------------------------------------------------------------------
    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        check_array(src, "src", ndim=3)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def backward(self, dout, input_grad: bool = True):
        if self.norm_first:
            dh = dout + self.norm2.backward(self._ff_backward(dout))
            return dh + self.norm1.backward(self._sa_backward(dh))
        dh = self.norm2.backward(dout)
        dh = self.norm1.backward(dh + self._ff_backward(dh))
        return dh + self._sa_backward(dh)

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, batch_first={self.batch_first}"
