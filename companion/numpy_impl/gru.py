"""The gated recurrent unit (GRU), as ``torch.nn.GRU`` with one layer, one direction.

Gates in torch's order ``r, z, n`` (``weight_ih_l0`` is ``(3H, D)``, ``weight_hh_l0`` is ``(3H,
H)``, biases ``(3H,)``), with ``a = x_t @ weight_ih_l0.T + bias_ih_l0`` and ``b = h_{t-1} @
weight_hh_l0.T + bias_hh_l0`` split into three blocks each::

    r = sigmoid(a_r + b_r)            reset gate: how much of the past the candidate reads
    z = sigmoid(a_z + b_z)            update gate: how much of the past is kept
    n = tanh(a_n + r * b_n)           candidate state (r multiplies b_n, bias included)
    h_t = (1 - z) * n + z * h_{t-1}

Compared with the LSTM: one state instead of two, three gate blocks instead of four. Because
``r`` multiplies ``b_n`` after its bias, ``bias_hh``'s ``n`` block cannot be merged with
``bias_ih``'s, unlike the LSTM's biases.

**BPTT**, walking the steps in reverse with ``dh = dL/dh_t`` (direct plus carried)::

    dn = dh * (1 - z);  dz = dh * (h_{t-1} - n)
    da_n = dn * (1 - n^2);  db_n = da_n * r;  dr = da_n * b_n
    da_r = db_r = dr * r * (1 - r);  da_z = db_z = dz * z * (1 - z)
    dL/dh_{t-1} = dh * z + [db_r, db_z, db_n] @ weight_hh_l0

The weight gradients are summed over all steps at the end, one matrix product each.

Layouts as ``rnn.py``: the pure functions are time-major ``(T, N, D)``; the module takes
``batch_first=True`` for ``(N, T, D)``; states are ``(1, N, H)`` as in torch. Initialisation is
torch's: every parameter from ``U(-1/sqrt(H), 1/sqrt(H))``.
"""

from __future__ import annotations

import math

import numpy as np

from companion._checks import (
    check_array,
    check_dout,
    check_float_dtype,
    check_gru,
    check_positive_int,
    check_rng,
)
from companion.numpy_impl import functional as F
from companion.numpy_impl.init import uniform_
from companion.numpy_impl.module import Module, Parameter

__all__ = ["gru_forward", "gru_backward", "GRU"]


def gru_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Run a GRU over a whole sequence (time-major), gates in torch's order ``r, z, n``.

    Parameters
    ----------
    x : (T, N, D) float array; h0 : (N, H) array of the same dtype
    weight_ih : (3H, D); weight_hh : (3H, H); bias_ih, bias_hh : (3H,) or both None

    Returns
    -------
    hs : (T, N, H), ``h_1 .. h_T`` (the last is ``h_n``)
    cache : for ``gru_backward``
    """
    check_gru(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)
    steps, n = x.shape[:2]
    hidden = h0.shape[1]
    a = x @ weight_ih.T  # the input's part of every step at once: (T, N, 3H)
    if bias_ih is not None:
        a += bias_ih
    gates = np.empty_like(a)  # r, z, n of every step
    b_n = np.empty((steps, n, hidden), dtype=x.dtype)  # h_{t-1} @ W_hn^T + b_hn, for backward
    hs = np.empty_like(b_n)
    h = h0
    for t in range(steps):  # the recurrence: step t needs h_{t-1}
        b = h @ weight_hh.T
        if bias_hh is not None:
            b += bias_hh
        rz = F.sigmoid(a[t, :, :2 * hidden] + b[:, :2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        cand = np.tanh(a[t, :, 2 * hidden:] + r * b[:, 2 * hidden:])
        h = cand + z * (h - cand)  # (1 - z) * n + z * h_{t-1}
        gates[t, :, :2 * hidden], gates[t, :, 2 * hidden:] = rz, cand
        b_n[t], hs[t] = b[:, 2 * hidden:], h
    return hs, (x, h0, hs, gates, b_n, weight_ih, weight_hh, bias_ih is not None)


def gru_backward(dhs, cache, dh_n=None):
    """Backpropagation through time for ``gru_forward`` (formulas in the module docstring).

    Parameters
    ----------
    dhs : (T, N, H) or None, ``dL/dh_t`` from losses reading the outputs
    cache : from ``gru_forward``
    dh_n : (N, H) or None, ``dL/dh_T`` from a loss reading the final state

    Returns
    -------
    dx : (T, N, D); dh0 : (N, H); dweight_ih : (3H, D); dweight_hh : (3H, H);
    dbias_ih, dbias_hh : (3H,) each, or None
    """
    x, h0, hs, gates, b_n, weight_ih, weight_hh, has_bias = cache
    dhs = np.zeros_like(hs) if dhs is None else check_dout(dhs, hs.shape, hs.dtype)
    dh_next = np.zeros_like(h0) if dh_n is None else check_dout(dh_n, h0.shape, h0.dtype)
    hidden = h0.shape[1]
    h_prev = np.concatenate([h0[None], hs[:-1]])
    da = np.empty_like(gates)  # d(input part), blocks r, z, n
    db = np.empty_like(gates)  # d(hidden part)
    for t in reversed(range(hs.shape[0])):  # BPTT: from step t to step t - 1
        r, z, cand = (gates[t, :, k * hidden:(k + 1) * hidden] for k in range(3))
        dh = dhs[t] + dh_next
        da_n = dh * (1 - z) * (1 - cand * cand)
        dr = da_n * b_n[t]
        da[t, :, :hidden] = db[t, :, :hidden] = dr * r * (1 - r)
        dz = dh * (h_prev[t] - cand)
        da[t, :, hidden:2 * hidden] = db[t, :, hidden:2 * hidden] = dz * z * (1 - z)
        da[t, :, 2 * hidden:] = da_n
        db[t, :, 2 * hidden:] = da_n * r
        dh_next = dh * z + db[t] @ weight_hh
    rows = 3 * hidden
    dweight_ih = da.reshape(-1, rows).T @ x.reshape(-1, x.shape[2])
    dweight_hh = db.reshape(-1, rows).T @ h_prev.reshape(-1, hidden)
    dbias_ih = da.reshape(-1, rows).sum(axis=0) if has_bias else None
    dbias_hh = db.reshape(-1, rows).sum(axis=0) if has_bias else None
    return da @ weight_ih, dh_next, dweight_ih, dweight_hh, dbias_ih, dbias_hh


class GRU(Module):
    """A one-layer GRU, as ``torch.nn.GRU(input_size, hidden_size, ...)``.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool; batch_first : bool (input and output ``(N, T, ...)``) (keyword only, as ``RNN``)
    dtype : float32 or float64; rng : numpy.random.Generator, optional (keyword only)

    Attributes
    ----------
    weight_ih_l0 : Parameter (3*hidden_size, input_size), the gates r, z, n stacked
    weight_hh_l0 : Parameter (3*hidden_size, hidden_size)
    bias_ih_l0, bias_hh_l0 : Parameter (3*hidden_size,) each, or None

    ``forward(x, h0=None) -> (output, h_n)``: x (T, N, input_size) or (N, T, input_size) with
    ``batch_first``; h0 and h_n (1, N, hidden_size). ``backward(d_output=None, d_h_n=None) ->
    (dx, dh0)``, as ``RNN``.
    """

    def __init__(self, input_size, hidden_size, *, bias=True, batch_first=False,
                 dtype=np.float64, rng=None):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.batch_first = bool(batch_first)
        dtype = check_float_dtype(dtype)
        rows = 3 * self.hidden_size
        self.weight_ih_l0 = Parameter(np.empty((rows, self.input_size), dtype))
        self.weight_hh_l0 = Parameter(np.empty((rows, self.hidden_size), dtype))
        self.bias_ih_l0 = Parameter(np.empty(rows, dtype)) if bias else None
        self.bias_hh_l0 = Parameter(np.empty(rows, dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """torch's: every parameter from ``U(-1/sqrt(H), 1/sqrt(H))``, in declaration order."""
        rng = check_rng(rng)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            uniform_(p, -bound, bound, rng=rng)

    def _swap(self, a):
        """(N, T, ...) <-> (T, N, ...) when ``batch_first``; the identity otherwise."""
        return a.transpose(1, 0, 2) if self.batch_first else a

    def forward(self, x, h0=None):
        check_array(x, "input", ndim=3)
        n = x.shape[0] if self.batch_first else x.shape[1]
        if h0 is None:
            h0 = np.zeros((1, n, self.hidden_size), dtype=self.weight_ih_l0.dtype)
        check_array(h0, "h0", shape=(1, n, self.hidden_size))
        params = [None if p is None else p.data for p in
                  (self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0)]
        hs, cache = gru_forward(self._swap(x), h0[0], *params)
        self._save(cache)
        return self._swap(hs), hs[-1][None]

    def backward(self, d_output=None, d_h_n=None):
        cache = self._saved()
        if d_output is None and d_h_n is None:
            raise ValueError("GRU.backward needs d_output, d_h_n or both; got neither")
        dhs = None if d_output is None else self._swap(d_output)
        dh_n = None if d_h_n is None else d_h_n[0]
        dx, dh0, *grads = gru_backward(dhs, cache, dh_n)
        for p, g in zip((self.weight_ih_l0, self.weight_hh_l0, self.bias_ih_l0, self.bias_hh_l0),
                        grads):
            if p is not None:
                p.accumulate_grad(g)
        return self._swap(dx), dh0[None]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih_l0 is None:
            s += ", bias=False"
        return s + (", batch_first=True" if self.batch_first else "")
