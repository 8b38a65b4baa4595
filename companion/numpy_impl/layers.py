"""The NumPy layers: ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``, activations.

Each is a ``Module`` with the torch name, arguments, parameter names (``weight``, ``bias``) and
layouts. The maths is in ``companion.numpy_impl.functional``; a layer only keeps the ``cache``
its ``forward`` returns and, in ``backward``, accumulates the parameter gradients into
``param.grad`` (as torch does: call ``zero_grad()`` between steps) and returns the gradient with
respect to its input.

A layer with parameters has one dtype (float64 unless ``dtype=np.float32``); an input of another
dtype is rejected, never cast. Parameters are initialised as torch initialises them (see
``companion.numpy_impl.init.default_init_``) from the ``rng`` given. With ``rng=None`` a fresh,
unseeded ``np.random.default_rng()`` is used: fine for a quick experiment, not repeatable. Pass a
generator, or build whole models with ``companion.numpy_impl.build(spec, seed=...)``, for
bit-for-bit repeatable weights.
"""

from __future__ import annotations

import numpy as np

from companion._checks import check_array
from companion.numpy_impl import functional as F
from companion.numpy_impl.init import default_init_
from companion.numpy_impl.module import Module, Parameter, resolve_dtype

__all__ = [
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
]


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _resolve_rng(rng) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}; "
            f"use np.random.default_rng(seed)"
        )
    return rng


class _Layer(Module):
    """Shared by every layer: the cache check that makes ``backward`` before ``forward`` clear."""

    def _take_cache(self):
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: run forward(x) first, "
                f"it keeps what backward needs"
            )
        return self._cache


class _WeightedLayer(_Layer):
    """Shared by the layers with a ``weight`` and an optional ``bias`` (Linear, Conv2d)."""

    def _init_parameters(self, weight_shape, bias: bool, dtype, rng) -> None:
        # Empty arrays of the layer's dtype, then filled in place as torch fills its layers.
        # One bias per output unit: weight_shape[0] is out_features / out_channels.
        dt = resolve_dtype(dtype)
        self.weight = Parameter(np.empty(weight_shape, dtype=dt))
        self.bias = Parameter(np.empty(weight_shape[0], dtype=dt)) if bias else None
        default_init_(self.weight, self.bias, rng=_resolve_rng(rng))

    @property
    def dtype(self) -> np.dtype:
        return self.weight.dtype

    def _bias_data(self) -> np.ndarray | None:
        return None if self.bias is None else self.bias.data

    def _accumulate_grads(self, dweight: np.ndarray, dbias: np.ndarray | None) -> None:
        self.weight.accumulate_grad(dweight)
        if self.bias is not None:
            self.bias.accumulate_grad(dbias)


class Linear(_WeightedLayer):
    """Fully connected layer ``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        With ``bias=False`` the attribute ``bias`` is ``None``.
    dtype : float32 or float64
    rng : numpy.random.Generator, optional (see the module docstring)

    Attributes
    ----------
    weight : Parameter (out_features, in_features)
    bias : Parameter (out_features,) or None

    Shapes: input ``(N, in_features)``, output ``(N, out_features)``.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float64, rng=None):
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self._init_parameters((self.out_features, self.in_features), bias, dtype, rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.linear_forward(x, self.weight.data, self._bias_data())
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.linear_backward(dy, self._take_cache())
        self._accumulate_grads(dweight, dbias)
        return dx

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Conv2d(_WeightedLayer):
    """2-D convolution (cross-correlation) with zero padding, as ``torch.nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
    bias : bool
    dtype : float32 or float64
    rng : numpy.random.Generator, optional

    Attributes
    ----------
    weight : Parameter (out_channels, in_channels, kH, kW)
    bias : Parameter (out_channels,) or None

    Shapes: input ``(N, in_channels, H, W)``, output ``(N, out_channels, Ho, Wo)`` with
    ``Ho = (H + 2*padding - kH) // stride + 1``.
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        bias=True,
        *,
        dtype=np.float64,
        rng=None,
    ):
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = F._pair(kernel_size, "kernel_size", 1)
        self.stride = F._pair(stride, "stride", 1)
        self.padding = F._pair(padding, "padding", 0)
        self._init_parameters((self.out_channels, self.in_channels) + self.kernel_size, bias,
                              dtype, rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = F.conv2d_forward(x, self.weight.data, self._bias_data(), self.stride,
                                            self.padding)
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx, dweight, dbias = F.conv2d_backward(dy, self._take_cache())
        self._accumulate_grads(dweight, dbias)
        return dx

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0, 0):
            s += f", padding={self.padding}"
        if self.bias is None:
            s += ", bias=False"
        return s


class _Pool2d(_Layer):
    """What max and average pooling share: the window arguments and the forward/backward calls.

    A subclass names its pure functions in ``_forward_fn`` and ``_backward_fn``.
    """

    _forward_fn = None
    _backward_fn = None

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        F._pair(self.kernel_size, "kernel_size", 1)
        F._pair(self.stride, "stride", 1)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, self._cache = type(self)._forward_fn(x, self.kernel_size, self.stride)
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return type(self)._backward_fn(dy, self._take_cache())


class MaxPool2d(_Pool2d):
    """Max pooling without padding, as ``torch.nn.MaxPool2d`` (``stride`` defaults to the kernel).

    Shapes: input ``(N, C, H, W)``, output ``(N, C, (H - kH) // sH + 1, (W - kW) // sW + 1)``.
    On ties the gradient goes to the first maximum of the window, as in torch.
    """

    _forward_fn = staticmethod(F.maxpool2d_forward)
    _backward_fn = staticmethod(F.maxpool2d_backward)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0, dilation=1, "
            f"ceil_mode=False"
        )


class AvgPool2d(_Pool2d):
    """Average pooling without padding, as ``torch.nn.AvgPool2d`` (``stride`` defaults to kernel).

    Shapes: input ``(N, C, H, W)``, output ``(N, C, (H - kH) // sH + 1, (W - kW) // sW + 1)``.
    """

    _forward_fn = staticmethod(F.avgpool2d_forward)
    _backward_fn = staticmethod(F.avgpool2d_backward)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0"


class Flatten(_Layer):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)`` in C order, as ``torch.nn.Flatten()``.

    The order is that of the ``(N, C, H, W)`` indices, so a following ``Linear`` sees the features
    in torch's order and weights copy across unchanged.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_array(x, "input")
        if x.ndim < 2:
            raise ValueError(
                f"Flatten input must have shape (N, ...) with 2 or more dimensions, got {x.shape}"
            )
        self._cache = (x.shape, x.dtype)
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        shape, dtype = self._take_cache()
        n = shape[0]
        check_array(dy, "dout", dtype=dtype, shape=(n, int(np.prod(shape[1:]))), finite=False)
        return dy.reshape(shape)

    def extra_repr(self) -> str:
        return "start_dim=1, end_dim=-1"


class ReLU(_Layer):
    """``max(x, 0)`` elementwise; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.relu(x)
        self._cache = x
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return F.relu_backward(dy, self._take_cache())


class LeakyReLU(_Layer):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise; any input shape."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.leaky_relu(x, self.negative_slope)
        self._cache = x
        return out

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return F.leaky_relu_backward(dy, self._take_cache(), self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(_Layer):
    """The logistic function, computed without overflow; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = F.sigmoid(x)
        return self._cache

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return F.sigmoid_backward(dy, self._take_cache())


class Tanh(_Layer):
    """Hyperbolic tangent; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._cache = F.tanh(x)
        return self._cache

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return F.tanh_backward(dy, self._take_cache())
