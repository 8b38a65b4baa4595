"""The NumPy layers: ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten``, activations.

Each is a ``Module`` with torch's class name, constructor signature, parameter names (``weight``,
``bias``) and layouts, so ``lenet(numpy_impl)`` and ``lenet(torch.nn)`` build twins whose state
dicts copy across unchanged. The maths is in ``companion.numpy_impl.functional``; a layer keeps
the cache its ``forward`` returns (``self._save``) and, in ``backward``, adds the parameter
gradients into ``param.grad`` and returns the gradient with respect to its input.

A layer with parameters has one dtype (float64 unless ``dtype=np.float32``); an input of another
dtype is rejected, never cast. Its parameters are initialised as torch initialises them, drawn
from ``rng`` (a ``numpy.random.Generator``). With ``rng=None`` a fresh, unseeded generator is used:
fine for a quick experiment, not repeatable.
"""

from __future__ import annotations

import math

import numpy as np

from companion._checks import (
    check_array,
    check_dout,
    check_float_dtype,
    check_pair,
    check_positive_int,
    check_rng,
)
from companion.numpy_impl import functional as F
from companion.numpy_impl.init import default_init_
from companion.numpy_impl.module import Module, Parameter

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


class Linear(Module):
    """Fully connected layer ``y = x @ weight.T + bias``, as ``torch.nn.Linear``.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        With ``bias=False`` the attribute ``bias`` is ``None``.
    dtype : float32 or float64 (keyword only)
    rng : numpy.random.Generator, optional (keyword only)

    Attributes
    ----------
    weight : Parameter (out_features, in_features)
    bias : Parameter (out_features,) or None

    Shapes: input ``(N, in_features)``, output ``(N, out_features)``.
    """

    def __init__(self, in_features, out_features, bias=True, *, dtype=np.float64, rng=None):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """torch's default: weight and bias uniform in ``+-1/sqrt(in_features)``."""
        default_init_(self.weight, self.bias, rng=check_rng(rng))

    def forward(self, x: np.ndarray) -> np.ndarray:
        bias = None if self.bias is None else self.bias.data
        out, cache = F.linear_forward(x, self.weight.data, bias)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        dx, dweight, dbias = F.linear_backward(dout, self._saved(), input_grad)
        self.weight.accumulate_grad(dweight)
        if self.bias is not None:
            self.bias.accumulate_grad(dbias)
        return dx

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class Conv2d(Module):
    """2-D convolution (cross-correlation) with zero padding, as ``torch.nn.Conv2d``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : int or (int, int)
    stride : int or (int, int), default 1
    padding : int or (int, int), default 0
    bias : bool
    dtype : float32 or float64 (keyword only)
    rng : numpy.random.Generator, optional (keyword only)

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
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_pair(kernel_size, "kernel_size", 1)
        self.stride = check_pair(stride, "stride", 1)
        self.padding = check_pair(padding, "padding", 0)
        dtype = check_float_dtype(dtype)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(np.empty(shape, dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype)) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """torch's default: uniform in ``+-1/sqrt(in_channels * kH * kW)``."""
        default_init_(self.weight, self.bias, rng=check_rng(rng))

    def forward(self, x: np.ndarray) -> np.ndarray:
        bias = None if self.bias is None else self.bias.data
        out, cache = F.conv2d_forward(x, self.weight.data, bias, self.stride, self.padding)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        dx, dweight, dbias = F.conv2d_backward(dout, self._saved(), input_grad)
        self.weight.accumulate_grad(dweight)
        if self.bias is not None:
            self.bias.accumulate_grad(dbias)
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


def _window(kernel_size, stride):
    """A pooling window's ``(kernel_size, stride)``, checked; ``stride`` defaults to the kernel
    size, as in torch."""
    stride = kernel_size if stride is None else stride
    check_pair(kernel_size, "kernel_size", 1)
    check_pair(stride, "stride", 1)
    return kernel_size, stride


class MaxPool2d(Module):
    """Max pooling without padding, as ``torch.nn.MaxPool2d`` (``stride`` defaults to the kernel).

    Shapes: input ``(N, C, H, W)``, output ``(N, C, (H - kH) // sH + 1, (W - kW) // sW + 1)``.
    On ties the gradient goes to the first maximum of the window, as in torch.
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = _window(kernel_size, stride)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, cache = F.maxpool2d_forward(x, self.kernel_size, self.stride)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.maxpool2d_backward(dout, self._saved()) if input_grad else None

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0, dilation=1, "
            f"ceil_mode=False"
        )


class AvgPool2d(Module):
    """Average pooling without padding, as ``torch.nn.AvgPool2d`` (``stride`` defaults to kernel).

    Shapes: input ``(N, C, H, W)``, output ``(N, C, (H - kH) // sH + 1, (W - kW) // sW + 1)``.
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = _window(kernel_size, stride)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, cache = F.avgpool2d_forward(x, self.kernel_size, self.stride)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.avgpool2d_backward(dout, self._saved()) if input_grad else None

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding=0"


class Flatten(Module):
    """``(N, d1, d2, ...) -> (N, d1*d2*...)`` in C order, as ``torch.nn.Flatten()``.

    The order is that of the ``(N, C, H, W)`` indices, so a following ``Linear`` sees the features
    in torch's order and weights copy across unchanged.
    """

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_array(x, "input")
        if x.ndim < 2:
            raise ValueError(f"Flatten input must have shape (N, ...) with 2 or more dimensions, "
                             f"got {x.shape}")
        self._save((x.shape, x.dtype))
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # explicit sizes: N may be 0

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        shape, dtype = self._saved()
        check_dout(dout, (shape[0], math.prod(shape[1:])), dtype)
        return dout.reshape(shape) if input_grad else None

    def extra_repr(self) -> str:
        return "start_dim=1, end_dim=-1"


class ReLU(Module):
    """``max(x, 0)`` elementwise; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.relu(x)
        self._save(out)  # out > 0 exactly where x > 0, and out is what the next layer keeps too
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.relu_backward(dout, self._saved()) if input_grad else None


class LeakyReLU(Module):
    """``x`` for ``x > 0``, ``negative_slope * x`` otherwise; any input shape."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._save(x)
        return F.leaky_relu(x, self.negative_slope)

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        x = self._saved()
        return F.leaky_relu_backward(dout, x, self.negative_slope) if input_grad else None

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """The logistic function, computed without overflow; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.sigmoid(x)
        self._save(out)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.sigmoid_backward(dout, self._saved()) if input_grad else None


class Tanh(Module):
    """Hyperbolic tangent; any input shape."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out = F.tanh(x)
        self._save(out)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        return F.tanh_backward(dout, self._saved()) if input_grad else None
