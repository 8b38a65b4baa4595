"""Normalization layers: LayerNorm (Transformers) and BatchNorm (convolutional networks).

Both standardise, then rescale with learned ``weight`` (gamma) and ``bias`` (beta)::

    x_hat = (x - mean) / sqrt(var + eps),    out = weight * x_hat + bias

with the biased variance (divide by the count ``m``). They differ in WHICH values share a mean:

* **LayerNorm** averages over the last ``len(normalized_shape)`` axes of each sample (every token
  on its own), the same in training and evaluation;
* **BatchNorm** averages over the batch (and, for images, the pixels) of each channel, axis 1.
  Training uses the batch's statistics and updates running estimates; evaluation uses those::

      running_mean = (1 - momentum) * running_mean + momentum * mean
      running_var  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)   (unbiased)

  With ``momentum=None`` the factor is ``1 / num_batches_tracked``: a plain average of all
  batches seen, torch's cumulative option.

**Backward.** With ``g = dL/dx_hat = dout * weight`` and the averages over the same ``m`` values
that shared a mean, the chain rule through the mean and the variance gives::

    dL/dx = (g - mean(g) - x_hat * mean(g * x_hat)) / sqrt(var + eps)
    dL/dweight = sum(dout * x_hat),  dL/dbias = sum(dout)    (over the other axes)

In evaluation mode BatchNorm's statistics are constants, and ``dL/dx = g / sqrt(running_var +
eps)``.

The running statistics (``running_mean``, ``running_var``, ``num_batches_tracked``) are buffers,
as in torch: part of ``state_dict()``, so they copy across with the weights, but not of
``parameters()``, so no optimizer touches them.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from companion._checks import (
    check_batch_norm,
    check_dout,
    check_float_dtype,
    check_layer_norm,
    check_positive_int,
)
from companion.numpy_impl.module import Module, Parameter

__all__ = [
    "layer_norm_forward",
    "layer_norm_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
]


# ================================================================================================
# LayerNorm
# ================================================================================================


def layer_norm_forward(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Standardise over the last ``len(normalized_shape)`` axes, then scale and shift.

    Parameters
    ----------
    x : (*, *normalized_shape) float array
    normalized_shape : tuple of int
    weight, bias : arrays of shape ``normalized_shape`` and ``x``'s dtype, or None
    eps : float, added to the variance

    Returns
    -------
    out : array of ``x``'s shape
    cache : for ``layer_norm_backward``
    """
    check_layer_norm(x, normalized_shape, weight, bias)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)
    x_hat = centred * rstd
    out = x_hat if weight is None else x_hat * weight
    if bias is not None:
        out = out + bias
    return out, (x_hat, rstd, weight, bias is not None, axes)


def layer_norm_backward(dout, cache, input_grad: bool = True):
    """Gradients of ``layer_norm_forward``.

    Returns
    -------
    dx : array of ``x``'s shape (None with ``input_grad=False``)
    dweight, dbias : arrays of shape ``normalized_shape``, or None without them
    """
    x_hat, rstd, weight, has_bias, axes = cache
    check_dout(dout, x_hat.shape, x_hat.dtype)
    batch_axes = tuple(range(x_hat.ndim - len(axes)))
    dweight = None if weight is None else (dout * x_hat).sum(axis=batch_axes)
    dbias = dout.sum(axis=batch_axes) if has_bias else None
    dx = None
    if input_grad:
        g = dout if weight is None else dout * weight
        dx = (g - g.mean(axis=axes, keepdims=True)
              - x_hat * (g * x_hat).mean(axis=axes, keepdims=True)) * rstd
    return dx, dweight, dbias


def _check_eps(eps) -> float:
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return float(eps)


class LayerNorm(Module):
    """Layer normalization, as ``torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine,
    bias)``.

    Parameters
    ----------
    normalized_shape : int or tuple of int, the trailing shape normalised together
    eps : float (default 1e-5); elementwise_affine : bool; bias : bool
    dtype : float32 or float64 (keyword only)
    rng : accepted and unused (the initialisation is fixed), so that a model function can hand
        every layer the same factory arguments

    Attributes
    ----------
    weight : Parameter ``normalized_shape``, ones (None without ``elementwise_affine``)
    bias : Parameter ``normalized_shape``, zeros (None without ``elementwise_affine`` or ``bias``)

    Shapes: input ``(*, *normalized_shape)``, output the same.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, *,
                 dtype=np.float64, rng=None):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(check_positive_int(n, "normalized_shape entries")
                                      for n in normalized_shape)
        self.eps = _check_eps(eps)
        self.elementwise_affine = bool(elementwise_affine)
        dtype = check_float_dtype(dtype)
        self.weight = (Parameter(np.ones(self.normalized_shape, dtype)) if elementwise_affine
                       else None)
        self.bias = (Parameter(np.zeros(self.normalized_shape, dtype))
                     if elementwise_affine and bias else None)
        self.dtype = dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        weight = None if self.weight is None else self.weight.data
        bias = None if self.bias is None else self.bias.data
        out, cache = layer_norm_forward(x, self.normalized_shape, weight, bias, self.eps)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        dx, dweight, dbias = layer_norm_backward(dout, self._saved(), input_grad)
        if self.weight is not None:
            self.weight.accumulate_grad(dweight)
        if self.bias is not None:
            self.bias.accumulate_grad(dbias)
        return dx

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


# ================================================================================================
# BatchNorm
# ================================================================================================


def batch_norm_forward(x, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum: float = 0.1, eps: float = 1e-5):
    """Batch normalization over every axis but the channel axis 1, as ``torch.nn.functional.
    batch_norm``.

    Parameters
    ----------
    x : (N, C) or (N, C, *) float array
    running_mean, running_var : (C,) arrays of ``x``'s dtype, or None (then always batch
        statistics). In training they are UPDATED IN PLACE with ``momentum`` (torch's way).
    weight, bias : (C,) arrays or None
    training : bool, use (and record) the batch's statistics rather than the running ones
    momentum : float in [0, 1]; eps : float

    Returns
    -------
    out : array of ``x``'s shape
    cache : for ``batch_norm_backward``
    """
    check_batch_norm(x, running_mean, running_var, weight, bias)
    channels = x.shape[1]
    axes = (0,) + tuple(range(2, x.ndim))
    count = x.size // channels
    use_batch = training or running_mean is None
    shape = (1, channels) + (1,) * (x.ndim - 2)  # broadcasts a (C,) vector along axis 1
    if count == 0:  # an empty batch: an empty output and no statistics learnt, as torch
        return x.copy(), (x.copy(), np.ones(shape, x.dtype), weight, bias is not None, axes, False)
    if use_batch and count < 2:
        raise ValueError(f"batch norm in training needs more than 1 value per channel, got input "
                         f"of shape {x.shape}")
    if use_batch:
        mean = x.mean(axis=axes)
        var = ((x - mean.reshape(shape)) ** 2).mean(axis=axes)
        if training and running_mean is not None:
            running_mean *= 1 - momentum
            running_mean += momentum * mean
            running_var *= 1 - momentum
            running_var += momentum * var * (count / (count - 1))  # the unbiased variance
    else:
        mean, var = running_mean, running_var
    rstd = (1.0 / np.sqrt(var + eps)).reshape(shape)
    x_hat = (x - mean.reshape(shape)) * rstd
    out = x_hat if weight is None else x_hat * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out, (x_hat, rstd, weight, bias is not None, axes, use_batch)


def batch_norm_backward(dout, cache, input_grad: bool = True):
    """Gradients of ``batch_norm_forward``.

    Returns dx (``x``'s shape, None with ``input_grad=False``), dweight and dbias ((C,), or None).
    With batch statistics, dx goes through the mean and variance (module docstring); with running
    statistics it is ``dout * weight / sqrt(running_var + eps)``.
    """
    x_hat, rstd, weight, has_bias, axes, use_batch = cache
    check_dout(dout, x_hat.shape, x_hat.dtype)
    dweight = None if weight is None else (dout * x_hat).sum(axis=axes)
    dbias = dout.sum(axis=axes) if has_bias else None
    dx = None
    if input_grad:
        g = dout if weight is None else dout * weight.reshape(rstd.shape)
        if use_batch:
            g = (g - g.mean(axis=axes, keepdims=True)
                 - x_hat * (g * x_hat).mean(axis=axes, keepdims=True))
        dx = g * rstd
    return dx, dweight, dbias


class BatchNorm1d(Module):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` inputs, as ``torch.nn.BatchNorm1d``.

    Parameters
    ----------
    num_features : int, ``C``
    eps : float (1e-5); momentum : float or None (0.1); affine : bool; track_running_stats : bool
    dtype : float32 or float64; rng : accepted and unused, as LayerNorm's (keyword only)

    Attributes
    ----------
    weight, bias : Parameter (C,), ones and zeros (None without ``affine``)
    running_mean, running_var : (C,) arrays, zeros and ones; num_batches_tracked : int
    """

    _ranks: tuple[int, ...] = (2, 3)  # the input ranks accepted

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, *, dtype=np.float64, rng=None):
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = _check_eps(eps)
        if momentum is not None and (isinstance(momentum, bool) or not isinstance(momentum, Real)
                                     or not 0.0 <= momentum <= 1.0):
            raise ValueError(f"momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.momentum = momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.ones(self.num_features, dtype)) if affine else None
        self.bias = Parameter(np.zeros(self.num_features, dtype)) if affine else None
        if self.track_running_stats:  # buffers: saved in state_dict(), never trained
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim not in self._ranks or (
                x.shape[1] != self.num_features):
            got = x.shape if isinstance(x, np.ndarray) else type(x).__name__
            want = " or ".join(f"{r}-d" for r in self._ranks)
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects a {want} input "
                             f"with {self.num_features} channels on axis 1, got {got}")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked += 1  # in place: the buffer stays the same array
            if self.momentum is None:  # cumulative average of every batch so far
                momentum = 1.0 / self.num_batches_tracked
        use_batch = self.training or not self.track_running_stats
        out, cache = batch_norm_forward(
            x, self.running_mean, self.running_var,
            None if self.weight is None else self.weight.data,
            None if self.bias is None else self.bias.data,
            use_batch, momentum, self.eps,
        )
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        dx, dweight, dbias = batch_norm_backward(dout, self._saved(), input_grad)
        if self.weight is not None:
            self.weight.accumulate_grad(dweight)
            self.bias.accumulate_grad(dbias)
        return dx

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm2d(BatchNorm1d):
    """Batch normalization of ``(N, C, H, W)`` images per channel, as ``torch.nn.BatchNorm2d``.

    Parameters and attributes as :class:`BatchNorm1d`; only the accepted input rank differs.
    """

    _ranks = (4,)
