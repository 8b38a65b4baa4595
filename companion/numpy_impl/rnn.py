"""Recurrent layers: the Elman RNN and the LSTM, with backpropagation through time (BPTT).

Both follow ``torch.nn.RNN`` / ``torch.nn.LSTM`` with one layer, one direction: the same
equations, the same argument names (``batch_first``, ``nonlinearity``, ``bias``), the same
parameter names and shapes, so ``state_dict()`` copies across in either direction unchanged.

**Elman RNN** (hidden size ``H``, input size ``D``), for ``t = 1 .. T``::

    h_t = phi(x_t @ weight_ih_l0.T + bias_ih_l0 + h_{t-1} @ weight_hh_l0.T + bias_hh_l0)

with ``phi = tanh`` (default) or ``relu``; ``weight_ih_l0`` is ``(H, D)``, ``weight_hh_l0`` is
``(H, H)``, both biases ``(H,)``. The output is every ``h_t``; ``h_n = h_T``.

**LSTM** (gate order ``i, f, g, o`` as torch stacks them; ``weight_ih_l0`` is ``(4H, D)``,
``weight_hh_l0`` is ``(4H, H)``, biases ``(4H,)``)::

    [i, f, g, o] = x_t @ weight_ih_l0.T + bias_ih_l0 + h_{t-1} @ weight_hh_l0.T + bias_hh_l0
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

**BPTT.** Unrolled over time, the layer is a feed-forward network of ``T`` steps that all share
one set of weights. The backward pass walks the steps in reverse, carrying ``dL/dh_t`` (and, for
the LSTM, ``dL/dc_t``) from step ``t`` to step ``t - 1``; each shared weight's gradient is the sum
of its gradients at every step, which is computed once at the end as a single matrix product over
all ``(t, n)`` pairs. Everything is vectorized over the batch; the loops over time are inherent,
since step ``t`` needs the result of step ``t - 1``.

Layouts. The pure functions (``rnn_forward`` ...) are time-major, ``x`` of shape ``(T, N, D)``,
torch's default, so that every step reads a contiguous ``(N, D)`` block. The modules accept
``batch_first=True`` for ``(N, T, D)``, as torch does. As in torch, the initial and final states
are ``(1, N, H)`` (one layer) whatever ``batch_first`` says. Unbatched ``(T, D)`` inputs, which
torch also accepts, are refused here: add a batch axis with ``x[:, None]``.

Initialisation is torch's: every parameter from ``U(-1/sqrt(H), 1/sqrt(H))``, drawn in the order
``weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0`` from the ``rng`` given.
"""

from __future__ import annotations

import math

import numpy as np

from companion._checks import (
    check_array,
    check_float_dtype,
    check_positive_int,
    check_rng,
    check_same_dtype,
)
from companion.numpy_impl import functional as F
from companion.numpy_impl.init import uniform_
from companion.numpy_impl.module import Module, Parameter

__all__ = ["rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "RNN", "LSTM"]

_NONLINEARITIES = ("tanh", "relu")


# ================================================================================================
# Checks shared by both layers
# ================================================================================================


def _check_weights(weight_ih, weight_hh, bias_ih, bias_hh, gates: int) -> tuple[int, int]:
    """Check the four parameters of a layer with ``gates`` stacked blocks; return ``(D, H)``."""
    check_array(weight_ih, "weight_ih", ndim=2)
    dtype = weight_ih.dtype
    rows = weight_ih.shape[0]
    if rows % gates:
        raise ValueError(
            f"weight_ih must have {gates}*hidden_size rows, got shape {weight_ih.shape}"
        )
    hidden = rows // gates
    check_array(weight_hh, "weight_hh", dtype=dtype, shape=(rows, hidden))
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            check_array(bias, name, dtype=dtype, shape=(rows,))
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("give both bias_ih and bias_hh, or neither")
    return weight_ih.shape[1], hidden


def _check_sequence(x, h0, dtype, size: int, hidden: int, state: str = "h0") -> None:
    """``x`` must be ``(T, N, size)`` and ``h0`` ``(N, hidden)``, both finite and of ``dtype``."""
    check_array(x, "input", ndim=3)
    check_same_dtype(x, dtype, "input")
    if x.shape[0] == 0:
        raise ValueError(f"input must hold at least one time step, got shape {x.shape}")
    check_array(x, "input", shape=(None, None, size))
    check_array(h0, state, ndim=2)
    check_same_dtype(h0, dtype, state)
    check_array(h0, state, shape=(x.shape[1], hidden))


def _input_projection(x, weight_ih, bias_ih, bias_hh) -> np.ndarray:
    """``x_t @ weight_ih.T + bias_ih + bias_hh`` for every step at once: ``(T, N, rows)``."""
    proj = x @ weight_ih.T
    if bias_ih is not None:
        proj += bias_ih + bias_hh
    return proj


def _weight_grads(dpre, x, h_prev, has_bias: bool):
    """Parameter gradients from the pre-activation gradients of every step, summed over time.

    dpre : (T, N, rows); x : (T, N, D); h_prev : (T, N, H), the state each step started from.
    Returns ``(dweight_ih, dweight_hh, dbias_ih, dbias_hh)``; the two biases enter the sum in the
    same place, so their gradients are equal (``None`` without biases).
    """
    rows = dpre.shape[-1]
    flat = dpre.reshape(-1, rows)
    dweight_ih = flat.T @ x.reshape(-1, x.shape[-1])
    dweight_hh = flat.T @ h_prev.reshape(-1, h_prev.shape[-1])
    if not has_bias:
        return dweight_ih, dweight_hh, None, None
    dbias = flat.sum(axis=0)
    return dweight_ih, dweight_hh, dbias, dbias.copy()


def _check_upstream(dout, like_shape, dtype, name: str):
    """An upstream gradient: ``None`` (read as zeros) or an array of the given shape and dtype."""
    if dout is None:
        return np.zeros(like_shape, dtype=dtype)
    return check_array(dout, name, dtype=dtype, shape=like_shape, finite=False)


# ================================================================================================
# Elman RNN: pure functions
# ================================================================================================


def rnn_forward(x, h0, weight_ih, weight_hh, bias_ih=None, bias_hh=None, nonlinearity="tanh"):
    """Run an Elman RNN over a whole sequence (time-major).

    Parameters
    ----------
    x : (T, N, D) float array, the inputs ``x_1 .. x_T`` of ``N`` sequences
    h0 : (N, H) array of the same dtype, the initial state
    weight_ih : (H, D); weight_hh : (H, H); bias_ih, bias_hh : (H,) or both None
    nonlinearity : "tanh" (default) or "relu"

    Returns
    -------
    hs : (T, N, H) array, ``h_1 .. h_T`` (the last step is ``h_n``)
    cache : tuple for ``rnn_backward``
    """
    if nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    size, hidden = _check_weights(weight_ih, weight_hh, bias_ih, bias_hh, gates=1)
    _check_sequence(x, h0, weight_ih.dtype, size, hidden)
    proj = _input_projection(x, weight_ih, bias_ih, bias_hh)
    hs = np.empty_like(proj)
    h = h0
    for t in range(x.shape[0]):  # the recurrence: step t needs h_{t-1}, so time is a loop
        pre = proj[t] + h @ weight_hh.T
        h = np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)
        hs[t] = h
    cache = (x, h0, hs, weight_ih, weight_hh, bias_ih is not None, nonlinearity)
    return hs, cache


def rnn_backward(dhs, cache, dh_n=None):
    """Backpropagation through time for ``rnn_forward``.

    Parameters
    ----------
    dhs : (T, N, H) array, ``dL/dh_t`` from the loss terms that read each output directly
        (``None``: no loss reads the outputs)
    cache : from ``rnn_forward``
    dh_n : (N, H) array or None, ``dL/dh_T`` from a loss term that reads the final state (it is
        the same tensor as ``hs[-1]``, so the two gradients add)

    Returns
    -------
    dx : (T, N, D); dh0 : (N, H);
    dweight_ih : (H, D); dweight_hh : (H, H); dbias_ih, dbias_hh : (H,) each, or None

    With ``a_t`` the pre-activation and ``g_t = dL/dh_t`` (total), the recursion is
    ``da_t = g_t * phi'(a_t)`` and ``g_{t-1} = (direct gradient at t-1) + da_t @ weight_hh``.
    """
    x, h0, hs, weight_ih, weight_hh, has_bias, nonlinearity = cache
    dhs = _check_upstream(dhs, hs.shape, hs.dtype, "dhs")
    dh_next = _check_upstream(dh_n, h0.shape, hs.dtype, "dh_n")
    dpre = np.empty_like(hs)
    for t in reversed(range(hs.shape[0])):  # BPTT: the gradient flows from step t to t-1
        dh = dhs[t] + dh_next
        dpre[t] = dh * (1 - hs[t] * hs[t]) if nonlinearity == "tanh" else dh * (hs[t] > 0)
        dh_next = dpre[t] @ weight_hh
    h_prev = np.concatenate([h0[None], hs[:-1]])
    dx = dpre @ weight_ih
    return (dx, dh_next) + _weight_grads(dpre, x, h_prev, has_bias)


# ================================================================================================
# LSTM: pure functions
# ================================================================================================


def lstm_forward(x, h0, c0, weight_ih, weight_hh, bias_ih=None, bias_hh=None):
    """Run an LSTM over a whole sequence (time-major), gates in torch's order ``i, f, g, o``.

    Parameters
    ----------
    x : (T, N, D) float array
    h0, c0 : (N, H) arrays of the same dtype, the initial hidden and cell states
    weight_ih : (4H, D); weight_hh : (4H, H); bias_ih, bias_hh : (4H,) or both None

    Returns
    -------
    (hs, c_n) : (T, N, H) hidden states ``h_1 .. h_T`` and the final cell state (N, H)
    cache : tuple for ``lstm_backward``
    """
    size, hidden = _check_weights(weight_ih, weight_hh, bias_ih, bias_hh, gates=4)
    _check_sequence(x, h0, weight_ih.dtype, size, hidden)
    _check_sequence(x, c0, weight_ih.dtype, size, hidden, state="c0")
    proj = _input_projection(x, weight_ih, bias_ih, bias_hh)
    steps, n = x.shape[:2]
    gates = np.empty_like(proj)  # activated gates i, f, g, o of every step: (T, N, 4H)
    cs = np.empty((steps, n, hidden), dtype=x.dtype)
    hs = np.empty_like(cs)
    h, c = h0, c0
    for t in range(steps):  # the recurrence: step t needs h_{t-1} and c_{t-1}
        pre = proj[t] + h @ weight_hh.T
        gates[t] = F.sigmoid(pre)  # i, f and o; the g block is replaced by its tanh next
        gates[t, :, 2 * hidden : 3 * hidden] = np.tanh(pre[:, 2 * hidden : 3 * hidden])
        i, f, g, o = (gates[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
        c = f * c + i * g
        h = o * np.tanh(c)
        cs[t], hs[t] = c, h
    cache = (x, h0, c0, hs, cs, gates, weight_ih, weight_hh, bias_ih is not None)
    return (hs, c), cache


def lstm_backward(dhs, cache, dh_n=None, dc_n=None):
    """Backpropagation through time for ``lstm_forward``.

    Parameters
    ----------
    dhs : (T, N, H) array or None, ``dL/dh_t`` from loss terms reading the outputs
    cache : from ``lstm_forward``
    dh_n, dc_n : (N, H) arrays or None, gradients from loss terms reading the final states

    Returns
    -------
    dx : (T, N, D); dh0, dc0 : (N, H);
    dweight_ih : (4H, D); dweight_hh : (4H, H); dbias_ih, dbias_hh : (4H,) each, or None
    """
    x, h0, c0, hs, cs, gates, weight_ih, weight_hh, has_bias = cache
    dhs = _check_upstream(dhs, hs.shape, hs.dtype, "dhs")
    dh_next = _check_upstream(dh_n, h0.shape, hs.dtype, "dh_n")
    dc_next = _check_upstream(dc_n, c0.shape, hs.dtype, "dc_n")
    c_prev_all = np.concatenate([c0[None], cs[:-1]])
    dpre = np.empty_like(gates)
    hidden = hs.shape[-1]
    for t in reversed(range(hs.shape[0])):  # BPTT: gradients flow from step t to t-1
        i, f, g, o = (gates[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
        di, df, dg, do = (dpre[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
        tanh_c = np.tanh(cs[t])
        dh = dhs[t] + dh_next
        dc = dc_next + dh * o * (1 - tanh_c * tanh_c)
        di[...] = dc * g * i * (1 - i)  # input gate, through its sigmoid
        df[...] = dc * c_prev_all[t] * f * (1 - f)  # forget gate
        dg[...] = dc * i * (1 - g * g)  # candidate, through its tanh
        do[...] = dh * tanh_c * o * (1 - o)  # output gate
        dc_next = dc * f
        dh_next = dpre[t] @ weight_hh
    h_prev = np.concatenate([h0[None], hs[:-1]])
    dx = dpre @ weight_ih
    return (dx, dh_next, dc_next) + _weight_grads(dpre, x, h_prev, has_bias)


# ================================================================================================
# Modules
# ================================================================================================


class _Recurrent(Module):
    """What ``RNN`` and ``LSTM`` share: parameters, torch's init, layouts and checks."""

    _gates = 1

    def __init__(self, input_size, hidden_size, bias, batch_first, dtype, rng):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.batch_first = bool(batch_first)
        dt = check_float_dtype(dtype)
        rows = self._gates * self.hidden_size
        self.weight_ih_l0 = Parameter(np.empty((rows, self.input_size), dtype=dt))
        self.weight_hh_l0 = Parameter(np.empty((rows, self.hidden_size), dtype=dt))
        if bias:
            self.bias_ih_l0 = Parameter(np.empty(rows, dtype=dt))
            self.bias_hh_l0 = Parameter(np.empty(rows, dtype=dt))
        else:
            self.bias_ih_l0 = self.bias_hh_l0 = None
        rng = check_rng(rng)
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():  # torch's order: weight_ih, weight_hh, bias_ih, bias_hh
            uniform_(p, -bound, bound, rng=rng)

    @property
    def dtype(self) -> np.dtype:
        return self.weight_ih_l0.dtype

    def _params(self):
        b_ih = None if self.bias_ih_l0 is None else self.bias_ih_l0.data
        b_hh = None if self.bias_hh_l0 is None else self.bias_hh_l0.data
        return self.weight_ih_l0.data, self.weight_hh_l0.data, b_ih, b_hh

    def _accumulate(self, grads) -> None:
        names = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
        for name, g in zip(names, grads):
            if g is not None:
                getattr(self, name).accumulate_grad(g)

    def _layout(self) -> str:
        return "(N, T, input_size) with batch_first=True" if self.batch_first else (
            "(T, N, input_size) with batch_first=False"
        )

    def _time_major(self, x) -> np.ndarray:
        """Check the input's rank, dtype and features; return it as ``(T, N, D)``."""
        name = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name} input must be a numpy.ndarray, got {type(x).__name__}")
        if x.ndim != 3:
            raise ValueError(
                f"{name} input must be {self._layout()}, got {x.ndim} dimensions (shape "
                f"{x.shape}); for one unbatched sequence add a batch axis"
            )
        check_array(x, "input")
        check_same_dtype(x, self.dtype, "input")
        if x.shape[2] != self.input_size:
            raise ValueError(
                f"{name} expects input_size={self.input_size} features in the last dimension, "
                f"got input of shape {x.shape}"
            )
        return x.transpose(1, 0, 2) if self.batch_first else x

    def _state(self, h0, n: int, name: str) -> np.ndarray:
        """``h0`` (or ``c0``) as ``(N, H)``: zeros when ``None``, else checked as ``(1, N, H)``."""
        if h0 is None:
            return np.zeros((n, self.hidden_size), dtype=self.dtype)
        want = (1, n, self.hidden_size)
        if not isinstance(h0, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray, got {type(h0).__name__}")
        if h0.shape != want:
            raise ValueError(
                f"{name} must have shape (num_layers=1, N, hidden_size) = {want} whatever "
                f"batch_first says, got {h0.shape}"
            )
        check_array(h0, name)
        check_same_dtype(h0, self.dtype, name)
        return h0[0]

    def _output_grad(self, d_output, shape):
        """``d_output`` in the caller's layout, checked and returned time-major (or None)."""
        if d_output is None:
            return None
        t, n, h = shape
        want = (n, t, h) if self.batch_first else (t, n, h)
        check_array(d_output, "d_output", dtype=self.dtype, shape=want, finite=False)
        return d_output.transpose(1, 0, 2) if self.batch_first else d_output

    def _final_grad(self, d_final, n: int, name: str):
        if d_final is None:
            return None
        check_array(d_final, name, dtype=self.dtype, shape=(1, n, self.hidden_size), finite=False)
        return d_final[0]

    def _out(self, hs: np.ndarray) -> np.ndarray:
        return hs.transpose(1, 0, 2) if self.batch_first else hs

    def _dx(self, dx: np.ndarray) -> np.ndarray:
        return dx.transpose(1, 0, 2) if self.batch_first else dx

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias_ih_l0 is None:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        return s


class RNN(_Recurrent):
    """A one-layer Elman RNN, as ``torch.nn.RNN(input_size, hidden_size, ...)``.

    Parameters
    ----------
    input_size, hidden_size : int
    nonlinearity : "tanh" (default) or "relu"
    bias : bool; batch_first : bool (input and output ``(N, T, ...)`` instead of ``(T, N, ...)``)
    dtype : float32 or float64; rng : numpy.random.Generator, optional (unseeded if None)

    Attributes
    ----------
    weight_ih_l0 : Parameter (hidden_size, input_size)
    weight_hh_l0 : Parameter (hidden_size, hidden_size)
    bias_ih_l0, bias_hh_l0 : Parameter (hidden_size,) each, or None with ``bias=False``

    ``forward(x, h0=None) -> (output, h_n)``; ``backward(d_output=None, d_h_n=None) -> (dx, dh0)``.
    """

    def __init__(self, input_size, hidden_size, *, nonlinearity="tanh", bias=True,
                 batch_first=False, dtype=np.float64, rng=None):
        if nonlinearity not in _NONLINEARITIES:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, batch_first, dtype, rng)
        self.nonlinearity = nonlinearity

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None):
        """Run the sequence.

        x : (T, N, input_size), or (N, T, input_size) with ``batch_first``
        h0 : (1, N, hidden_size) or None (zeros)

        Returns ``output`` (T, N, hidden_size) (or (N, T, hidden_size)), every ``h_t``, and
        ``h_n`` (1, N, hidden_size), the last state.
        """
        xt = self._time_major(x)
        h0_ = self._state(h0, xt.shape[1], "h0")
        hs, cache = rnn_forward(xt, h0_, *self._params(), nonlinearity=self.nonlinearity)
        self._save(cache)
        return self._out(hs), hs[-1][None]

    def backward(self, d_output: np.ndarray | None = None, d_h_n: np.ndarray | None = None):
        """BPTT: accumulate the parameter gradients; return ``(dx, dh0)``.

        d_output : gradient w.r.t. ``output`` (its shape), or None when no loss reads it
        d_h_n : (1, N, hidden_size) gradient w.r.t. ``h_n``, or None
        Returns dx in the input's layout and dh0 (1, N, hidden_size).
        """
        cache = self._saved()
        hs = cache[2]
        if d_output is None and d_h_n is None:
            raise ValueError("RNN.backward needs d_output, d_h_n or both; got neither")
        dhs = self._output_grad(d_output, hs.shape)
        dh_n = self._final_grad(d_h_n, hs.shape[1], "d_h_n")
        dx, dh0, *grads = rnn_backward(dhs, cache, dh_n)
        self._accumulate(grads)
        return self._dx(dx), dh0[None]

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + ", nonlinearity='relu'"


class LSTM(_Recurrent):
    """A one-layer LSTM, as ``torch.nn.LSTM(input_size, hidden_size, ...)``.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool; batch_first : bool
    dtype : float32 or float64; rng : numpy.random.Generator, optional

    Attributes
    ----------
    weight_ih_l0 : Parameter (4*hidden_size, input_size), the gates i, f, g, o stacked
    weight_hh_l0 : Parameter (4*hidden_size, hidden_size)
    bias_ih_l0, bias_hh_l0 : Parameter (4*hidden_size,) each, or None

    ``forward(x, state=None) -> (output, (h_n, c_n))`` with ``state = (h0, c0)``;
    ``backward(d_output=None, d_h_n=None, d_c_n=None) -> (dx, (dh0, dc0))``.
    """

    _gates = 4

    def __init__(self, input_size, hidden_size, *, bias=True, batch_first=False,
                 dtype=np.float64, rng=None):
        super().__init__(input_size, hidden_size, bias, batch_first, dtype, rng)

    def forward(self, x: np.ndarray, state=None):
        """Run the sequence.

        x : (T, N, input_size), or (N, T, input_size) with ``batch_first``
        state : ``(h0, c0)``, each (1, N, hidden_size), or None (zeros)

        Returns ``output`` (every ``h_t``, in the input's layout) and ``(h_n, c_n)``, each
        (1, N, hidden_size).
        """
        xt = self._time_major(x)
        n = xt.shape[1]
        if state is None:
            h0 = c0 = None
        elif isinstance(state, tuple) and len(state) == 2:
            h0, c0 = state
        else:
            raise TypeError(
                f"LSTM state must be a pair (h0, c0) or None, got {type(state).__name__}"
            )
        h0_, c0_ = self._state(h0, n, "h0"), self._state(c0, n, "c0")
        (hs, c_n), cache = lstm_forward(xt, h0_, c0_, *self._params())
        self._save(cache)
        return self._out(hs), (hs[-1][None], c_n[None])

    def backward(self, d_output=None, d_h_n=None, d_c_n=None):
        """BPTT: accumulate the parameter gradients; return ``(dx, (dh0, dc0))``.

        d_output : gradient w.r.t. ``output`` (its shape) or None
        d_h_n, d_c_n : (1, N, hidden_size) gradients w.r.t. ``h_n`` and ``c_n``, or None
        """
        cache = self._saved()
        hs = cache[3]
        if d_output is None and d_h_n is None and d_c_n is None:
            raise ValueError("LSTM.backward needs at least one of d_output, d_h_n, d_c_n")
        n = hs.shape[1]
        dhs = self._output_grad(d_output, hs.shape)
        dh_n, dc_n = self._final_grad(d_h_n, n, "d_h_n"), self._final_grad(d_c_n, n, "d_c_n")
        dx, dh0, dc0, *grads = lstm_backward(dhs, cache, dh_n, dc_n)
        self._accumulate(grads)
        return self._dx(dx), (dh0[None], dc0[None])
