"""Activations, their derivatives and the maths of every layer, as pure functions.

Two families live here.

* **Activations**: ``relu``, ``leaky_relu``, ``sigmoid``, ``tanh``, ``softmax``, ``log_softmax``,
  each with a ``*_backward(dout, ...)`` that turns the gradient of the loss with respect to the
  activation's output into the gradient with respect to its input.
* **Layer maths** in the CS231n style: ``*_forward(x, ...) -> (out, cache)`` and
  ``*_backward(dout, cache) -> gradients``. The modules of ``companion.numpy_impl.layers`` are thin
  wrappers around these.

Layouts are torch's: images are ``(N, C, H, W)``, a linear weight is ``(out_features,
in_features)``, a convolution weight is ``(out_channels, in_channels, kH, kW)``. Every function
accepts float32 or float64 and computes in the dtype it is given; inputs that are not NumPy
float arrays, that disagree in dtype, that have the wrong shape or that hold NaN or infinity are
rejected with an error naming what was expected and what came. Upstream gradients ``dout`` are
checked for shape and dtype, not for NaN (a NaN gradient is the caller's training diverging, and it
propagates as it would in torch).

A note on memory layout, for speed only: the convolution works with channels last in memory
(``NHWC``), because then the ``C`` values of one kernel tap are contiguous and both the im2col copy
and the matrix products run at memory speed. The arrays it returns are still indexed ``(N, C, H,
W)``; they are transposed views, which NumPy handles transparently. Nothing in the maths depends
on it.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from companion._checks import (
    check_array,
    check_conv2d,
    check_dout,
    check_linear,
    check_pool2d,
)

__all__ = [
    "relu",
    "relu_backward",
    "leaky_relu",
    "leaky_relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "tanh",
    "tanh_backward",
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "linear_forward",
    "linear_backward",
    "conv2d_forward",
    "conv2d_backward",
    "conv2d_output_size",
    "maxpool2d_forward",
    "maxpool2d_backward",
    "avgpool2d_forward",
    "avgpool2d_backward",
    "pool2d_output_size",
]


# ================================================================================================
# Small helpers
# ================================================================================================


def _check_dout(dout, like: np.ndarray) -> np.ndarray:
    """Check an upstream gradient: an array of exactly the shape and dtype of ``like``."""
    return check_dout(dout, like.shape, like.dtype)


# ================================================================================================
# Activations
# ================================================================================================


def relu(x: np.ndarray) -> np.ndarray:
    """``max(x, 0)`` elementwise. x : any shape, float32/float64; returns the same shape."""
    check_array(x, "input")
    return np.maximum(x, 0)


def relu_backward(dout: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Gradient of ``relu`` at ``x``: ``dout`` where ``x > 0``, else 0 (torch's choice at 0)."""
    check_array(x, "input", finite=False)
    _check_dout(dout, x)
    return dout * (x > 0)


def leaky_relu(x: np.ndarray, negative_slope: float = 0.01) -> np.ndarray:
    """``x`` where ``x > 0``, else ``negative_slope * x``. x : any shape; same shape out."""
    check_array(x, "input")
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(dout: np.ndarray, x: np.ndarray, negative_slope: float = 0.01):
    """Gradient of ``leaky_relu``: ``dout`` where ``x > 0``, else ``negative_slope * dout``."""
    check_array(x, "input", finite=False)
    _check_dout(dout, x)
    return np.where(x > 0, dout, dout * negative_slope)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-x))``, computed as ``(1 + tanh(x / 2)) / 2``.

    The two are equal (multiply the top and bottom of ``1 / (1 + exp(-x))`` by ``exp(x / 2)``).
    The naive formula overflows ``exp(-x)`` (with a RuntimeWarning) for ``x`` below about -710 in
    float64 and -89 in float32; ``tanh`` never overflows, and one ``tanh`` costs a fraction of the
    ``exp``, comparison and division of the other overflow-free form. The price: below about -37
    (float64) the result rounds to exactly 0 rather than a tiny positive number, so take
    log-probabilities from the losses' log-sum-exp forms, never as ``log(sigmoid(x))``.
    x : any shape, float32/float64; returns the same shape and dtype, values in ``[0, 1]``.
    """
    check_array(x, "input")
    return 0.5 * np.tanh(0.5 * x) + 0.5


def sigmoid_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of ``sigmoid`` from its OUTPUT ``out = sigmoid(x)``: ``dout * out * (1 - out)``."""
    check_array(out, "out", finite=False)
    _check_dout(dout, out)
    return dout * ((1 - out) * out)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (``numpy.tanh``, which is stable for any finite ``x``)."""
    check_array(x, "input")
    return np.tanh(x)


def tanh_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Gradient of ``tanh`` from its OUTPUT ``out = tanh(x)``: ``dout * (1 - out**2)``."""
    check_array(out, "out", finite=False)
    _check_dout(dout, out)
    return dout * (1 - out * out)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``exp(x) / sum(exp(x))`` along ``axis``, stable for any finite ``x``.

    Subtracting the maximum first changes nothing mathematically and keeps every ``exp`` in
    ``(0, 1]``, so nothing overflows, and at least one term of the sum is exactly 1.
    """
    check_array(x, "input")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(dout: np.ndarray, out: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gradient of ``softmax`` from its OUTPUT ``s``: ``s * (dout - sum(dout * s))`` along ``axis``.

    This is the Jacobian-vector product ``(diag(s) - s s^T) dout`` without forming the Jacobian.
    """
    check_array(out, "out", finite=False)
    _check_dout(dout, out)
    return out * (dout - (dout * out).sum(axis=axis, keepdims=True))


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x - log(sum(exp(x)))`` along ``axis`` by the log-sum-exp trick (no overflow, no log(0))."""
    check_array(x, "input")
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def log_softmax_backward(dout: np.ndarray, out: np.ndarray, axis: int = -1) -> np.ndarray:
    """Gradient of ``log_softmax`` from its OUTPUT: ``dout - exp(out) * sum(dout)`` on ``axis``."""
    check_array(out, "out", finite=False)
    _check_dout(dout, out)
    return dout - np.exp(out) * dout.sum(axis=axis, keepdims=True)


# ================================================================================================
# Linear (fully connected) layer
# ================================================================================================


def linear_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None = None):
    """``out = x @ weight.T + bias``.

    Parameters
    ----------
    x : (N, in_features) float array
    weight : (out_features, in_features) array of the same dtype
    bias : (out_features,) array of the same dtype, or None

    Returns
    -------
    out : (N, out_features) array
    cache : ``(x, weight, has_bias)`` for ``linear_backward``
    """
    check_linear(x, weight, bias)
    out = x @ weight.T
    if bias is not None:
        out += bias
    return out, (x, weight, bias is not None)


def linear_backward(dout: np.ndarray, cache, input_grad: bool = True):
    """Gradients of ``linear_forward``.

    Parameters
    ----------
    dout : (N, out_features) array, the gradient of the loss with respect to ``out``
    cache : from ``linear_forward``
    input_grad : bool
        ``False`` skips ``dx`` (returned as None) when the caller has no use for it.

    Returns
    -------
    dx : (N, in_features) ``= dout @ weight``
    dweight : (out_features, in_features) ``= dout.T @ x``
    dbias : (out_features,) ``= dout.sum(axis=0)``, or None without a bias
    """
    x, weight, has_bias = cache
    check_dout(dout, (x.shape[0], weight.shape[0]), x.dtype)
    dx = dout @ weight if input_grad else None
    dweight = dout.T @ x
    dbias = dout.sum(axis=0) if has_bias else None
    return dx, dweight, dbias


# ================================================================================================
# 2-D convolution (cross-correlation, as in torch)
# ================================================================================================


def conv2d_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length along one axis: ``(size + 2*padding - kernel) // stride + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def _tap(a: np.ndarray, p: int, q: int, stride, out_hw):
    """The strided view ``a[:, p + sH*i, q + sW*j]`` over output positions ``(i, j)``.

    For NHWC images ``a`` of shape ``(N, H, W, C)`` this is the pixel at kernel offset ``(p, q)``
    of every window, shape ``(N, Ho, Wo, C)``: a view, never a copy, so it can be read or added to.
    """
    (sh, sw), (ho, wo) = stride, out_hw
    return a[:, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw]


def _im2col(x_nhwc: np.ndarray, kernel, stride, out_hw) -> np.ndarray:
    """Gather every receptive field into one row: ``(N*Ho*Wo, kH*kW*C)``.

    ``sliding_window_view`` gives all windows as a view ``(N, H-kH+1, W-kW+1, C, kH, kW)``;
    slicing with the stride keeps the ones the convolution uses; the final reshape is the one
    copy. Columns are ordered ``(kH, kW, C)`` so that, channels being last in memory, each tap's
    ``C`` values are copied as one contiguous run.
    """
    n, c = x_nhwc.shape[0], x_nhwc.shape[3]
    windows = sliding_window_view(x_nhwc, kernel, axis=(1, 2))[:, :: stride[0], :: stride[1]]
    windows = windows[:, : out_hw[0], : out_hw[1]]
    rows, cols = n * out_hw[0] * out_hw[1], kernel[0] * kernel[1] * c
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(rows, cols)


def conv2d_forward(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
):
    """2-D cross-correlation, as ``torch.nn.functional.conv2d``, by im2col and one matrix product.

    ``out[n, o, i, j] = bias[o] + sum_{c, p, q} weight[o, c, p, q] * xpad[n, c, s*i + p, s*j + q]``

    Parameters
    ----------
    x : (N, C, H, W) float array
    weight : (O, C, kH, kW) array of the same dtype
    bias : (O,) array of the same dtype, or None
    stride, padding : int or (int, int); zero padding on both sides

    Returns
    -------
    out : (N, O, Ho, Wo) array with ``Ho = (H + 2*padH - kH) // strideH + 1`` (same for W)
    cache : for ``conv2d_backward`` (holds the im2col matrix, ``N*Ho*Wo*kH*kW*C`` values)
    """
    stride, padding, out_hw = check_conv2d(x, weight, bias, stride, padding)
    (n, c, h, w), (o, _, kh, kw) = x.shape, weight.shape
    x_nhwc = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # free if x is NHWC in memory
    if padding != (0, 0):
        pads = ((0, 0), (padding[0], padding[0]), (padding[1], padding[1]), (0, 0))
        x_nhwc = np.pad(x_nhwc, pads)
    cols = _im2col(x_nhwc, (kh, kw), stride, out_hw)  # (N*Ho*Wo, kH*kW*C)
    w_mat = weight.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)  # the same column order
    out = cols @ w_mat.T  # (N*Ho*Wo, O): the one big matrix product
    if bias is not None:
        out += bias
    out = out.reshape(n, out_hw[0], out_hw[1], o).transpose(0, 3, 1, 2)  # NCHW view
    cache = (x.shape, cols, weight, bias is not None, stride, padding, out_hw)
    return out, cache


def conv2d_backward(dout: np.ndarray, cache, input_grad: bool = True):
    """Gradients of ``conv2d_forward``.

    Parameters
    ----------
    dout : (N, O, Ho, Wo) array, the gradient of the loss with respect to ``out``
    cache : from ``conv2d_forward``
    input_grad : bool
        ``False`` skips ``dx`` (returned as None): a network's first layer needs no input
        gradient, and it is the most expensive of the three.

    Returns
    -------
    dx : (N, C, H, W)
        ``dx[n, c, s*i + p, s*j + q] += sum_o dout[n, o, i, j] * weight[o, c, p, q]``: for each
        kernel offset ``(p, q)`` one matrix product, added into the pixels that offset touched.
    dweight : (O, C, kH, kW)
        ``dout_mat.T @ cols``: one matrix product over all samples and positions.
    dbias : (O,) or None
        ``dout`` summed over samples and positions.
    """
    (n, c, h, w), cols, weight, has_bias, stride, padding, out_hw = cache
    o, _, kh, kw = weight.shape
    check_dout(dout, (n, o) + out_hw, weight.dtype)
    dout_nhwc = dout.transpose(0, 2, 3, 1)  # (N, Ho, Wo, O); free when dout is NHWC in memory
    dout_mat = dout_nhwc.reshape(n * out_hw[0] * out_hw[1], o)
    dweight = (dout_mat.T @ cols).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
    # The sum over rows as a product with a vector of ones: BLAS reads the matrix once, where
    # ``sum(axis=0)`` walks it column by column.
    dbias = np.ones(dout_mat.shape[0], dout.dtype) @ dout_mat if has_bias else None
    if not input_grad:
        return None, np.ascontiguousarray(dweight), dbias
    hp, wp = h + 2 * padding[0], w + 2 * padding[1]
    dx = np.zeros((n, hp, wp, c), dtype=dout.dtype)  # NHWC, padded
    for p in range(kh):  # a loop over the kH*kW kernel offsets, never over pixels
        for q in range(kw):
            # One (N*Ho*Wo, O) @ (O, C) product per offset, as a 2-D matrix so that BLAS sees
            # one big product rather than N*Ho small ones.
            contribution = dout_mat @ weight[:, :, p, q]
            _tap(dx, p, q, stride, out_hw)[...] += contribution.reshape(n, *out_hw, c)
    dx = dx[:, padding[0] : padding[0] + h, padding[1] : padding[1] + w]
    return dx.transpose(0, 3, 1, 2), np.ascontiguousarray(dweight), dbias


# ================================================================================================
# Pooling
# ================================================================================================


def pool2d_output_size(size: int, kernel: int, stride: int) -> int:
    """Output length along one axis of an unpadded pooling: ``(size - kernel) // stride + 1``."""
    return (size - kernel) // stride + 1


def _windows(x: np.ndarray, kernel, stride, out_hw) -> np.ndarray:
    """All pooling windows as a view ``(N, C, Ho, Wo, kH, kW)`` (no copy).

    ``sliding_window_view`` gives every window; slicing with the stride keeps the ones the
    pooling uses.
    """
    windows = sliding_window_view(x, kernel, axis=(2, 3))[:, :, :: stride[0], :: stride[1]]
    return windows[:, :, : out_hw[0], : out_hw[1]]


def _nchw_tap(a: np.ndarray, p: int, q: int, stride, out_hw):
    """``a[:, :, p + sH*i, q + sW*j]`` over output positions: the (p, q) element of each window."""
    (sh, sw), (ho, wo) = stride, out_hw
    return a[:, :, p : p + sh * (ho - 1) + 1 : sh, q : q + sw * (wo - 1) + 1 : sw]


def maxpool2d_forward(x: np.ndarray, kernel_size, stride=None):
    """Max pooling without padding, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : (N, C, H, W) float array
    kernel_size : int or (int, int)
    stride : int or (int, int), default ``kernel_size``

    Returns
    -------
    out : (N, C, Ho, Wo) with ``Ho = (H - kH) // sH + 1``
    cache : ``(x, argmax, kernel, stride)`` where ``argmax`` (N, C, Ho, Wo) is the flat
        index ``p*kW + q`` of the maximum in each window. Ties go to the FIRST maximum in
        row-major order, as in torch, so the gradient is routed to the same element.
    """
    kernel, stride, out_hw = check_pool2d(x, kernel_size, stride, "maxpool2d")
    windows = _windows(x, kernel, stride, out_hw)
    # Scan the kH*kW kernel offsets (4 for a 2x2 window), each a strided view over all windows.
    # A strict ">" keeps the first maximum on ties. Offsets come in increasing order, so the
    # argmax is the largest k that beat the running maximum: np.maximum records it branch-free.
    out = np.copy(windows[..., 0, 0], order="K")  # order K: keep x's memory layout
    argmax = np.zeros_like(out, dtype=np.min_scalar_type(kernel[0] * kernel[1]))
    for k in range(1, kernel[0] * kernel[1]):
        candidate = windows[..., k // kernel[1], k % kernel[1]]
        better = candidate > out
        np.maximum(out, candidate, out=out)
        np.maximum(argmax, better * argmax.dtype.type(k), out=argmax)
    return out, (x, argmax, kernel, stride)


def maxpool2d_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Gradient of ``maxpool2d_forward``: each ``dout`` goes to its window's (first) maximum.

    dout : (N, C, Ho, Wo); returns dx : (N, C, H, W). Elements that are no window's maximum get
    0; an element that is the maximum of several overlapping windows gets the sum.
    """
    x, argmax, kernel, stride = cache
    check_dout(dout, argmax.shape, x.dtype)
    dx = np.zeros_like(x)  # keeps x's memory layout, so the layer below gets the one it gave
    overlapping = stride[0] < kernel[0] or stride[1] < kernel[1]
    for k in range(kernel[0] * kernel[1]):  # a loop over kernel offsets, not pixels
        tap = _nchw_tap(dx, k // kernel[1], k % kernel[1], stride, argmax.shape[2:])
        if overlapping:  # a pixel collects the gradient of every window it tops
            tap += dout * (argmax == k)
        else:  # each pixel lies in one window at most: write straight into dx
            np.multiply(dout, argmax == k, out=tap)
    return dx


def avgpool2d_forward(x: np.ndarray, kernel_size, stride=None):
    """Average pooling without padding, as ``torch.nn.functional.avg_pool2d``.

    x : (N, C, H, W); returns out : (N, C, Ho, Wo) and a cache for ``avgpool2d_backward``.
    """
    kernel, stride, out_hw = check_pool2d(x, kernel_size, stride, "avgpool2d")
    windows = _windows(x, kernel, stride, out_hw)
    out = np.copy(windows[..., 0, 0], order="K")  # order K: keep x's memory layout
    for k in range(1, kernel[0] * kernel[1]):  # sum over the kernel offsets
        out += windows[..., k // kernel[1], k % kernel[1]]
    out /= kernel[0] * kernel[1]
    return out, (x.shape, x.dtype, kernel, stride, out_hw)


def avgpool2d_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Gradient of ``avgpool2d_forward``: each ``dout / (kH*kW)`` spread evenly over its window.

    dout : (N, C, Ho, Wo); returns dx : (N, C, H, W).
    """
    shape, dtype, kernel, stride, out_hw = cache
    check_dout(dout, shape[:2] + out_hw, dtype)
    share = dout / (kernel[0] * kernel[1])
    dx = np.zeros(shape, dtype=dtype)
    for k in range(kernel[0] * kernel[1]):  # a loop over kernel offsets, not pixels
        _nchw_tap(dx, k // kernel[1], k % kernel[1], stride, out_hw)[...] += share
    return dx
