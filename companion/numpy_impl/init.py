"""Weight initialisation: Xavier/Glorot, He/Kaiming, and torch's default for Linear and Conv2d.

The functions follow ``torch.nn.init`` name for name and formula for formula, so a chapter can
quote either. Each fills an array IN PLACE (the trailing underscore, as in torch) and returns it.
They accept a ``numpy.ndarray`` or a ``Parameter`` (whose ``data`` is filled) and draw from the
``numpy.random.Generator`` given as ``rng``; there is no hidden global random state.

Fans, as torch's ``_calculate_fan_in_and_fan_out``: for a weight of shape ``(out, in, *kernel)``,
``fan_in = in * prod(kernel)`` and ``fan_out = out * prod(kernel)`` (a Linear weight
``(out, in)`` has ``fan_in = in``). The bounds and standard deviations:

=====================  ==========================================================
``xavier_uniform_``    ``U(-a, a)``, ``a = gain * sqrt(6 / (fan_in + fan_out))``
``xavier_normal_``     ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``
``kaiming_uniform_``   ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``
``kaiming_normal_``    ``N(0, std^2)``, ``std = gain / sqrt(fan)``
``default_init_``      weight ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (that is
                       ``kaiming_uniform_(a=sqrt(5))``), bias the same bound
=====================  ==========================================================

where ``fan`` is ``fan_in`` or ``fan_out`` (``mode``) and ``gain = calculate_gain(nonlinearity,
a)``. Values are drawn in float64 and stored in the array's dtype, so a float32 and a float64
model built from the same seed hold the same weights up to float32 rounding.
"""

from __future__ import annotations

import math

import numpy as np

from companion._checks import FLOAT_DTYPES
from companion.numpy_impl.module import Parameter

__all__ = [
    "calculate_gain",
    "calculate_fan_in_and_fan_out",
    "uniform_",
    "normal_",
    "zeros_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "default_init_",
]

_LINEAR_FNS = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ``linear``/``identity``/``conv*``/``sigmoid``: 1; ``tanh``: 5/3; ``relu``: sqrt(2);
    ``leaky_relu``: ``sqrt(2 / (1 + slope^2))`` with ``slope = param`` (default 0.01);
    ``selu``: 3/4.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"negative_slope must be a number, got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope**2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(
        f"unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{sorted(_LINEAR_FNS + ('sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'))}"
    )


def calculate_fan_in_and_fan_out(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``, as torch computes them."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(
            f"fan in and fan out need a weight with at least 2 dimensions (out, in, ...), "
            f"got shape {shape}"
        )
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


# ------------------------------------------------------------------------------------------------


def _target(array, rng) -> np.ndarray:
    """The float ndarray to fill (a Parameter's ``data``), after checking ``rng``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    data = array.data if isinstance(array, Parameter) else array
    if not isinstance(data, np.ndarray):
        raise TypeError(
            f"expected a numpy.ndarray or Parameter to fill, got {type(array).__name__}"
        )
    if data.dtype not in FLOAT_DTYPES:
        raise TypeError(f"the array to fill must be float32 or float64, got dtype {data.dtype}")
    return data


def _fan(shape, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(array, low: float, high: float, *, rng: np.random.Generator):
    """Fill ``array`` with draws from ``U(low, high)``; returns ``array``."""
    data = _target(array, rng)
    data[...] = rng.uniform(low, high, size=data.shape)
    return array


def normal_(array, mean: float, std: float, *, rng: np.random.Generator):
    """Fill ``array`` with draws from ``N(mean, std^2)``; returns ``array``."""
    data = _target(array, rng)
    data[...] = rng.normal(mean, std, size=data.shape)
    return array


def zeros_(array):
    """Fill ``array`` with zeros; returns ``array``."""
    data = array.data if isinstance(array, Parameter) else array
    data[...] = 0
    return array


def xavier_uniform_(array, gain: float = 1.0, *, rng: np.random.Generator):
    """Glorot & Bengio (2010): ``U(-a, a)`` with ``a = gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_target(array, rng).shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(array, -bound, bound, rng=rng)


def xavier_normal_(array, gain: float = 1.0, *, rng: np.random.Generator):
    """Glorot & Bengio (2010): ``N(0, std^2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(_target(array, rng).shape)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(array, 0.0, std, rng=rng)


def kaiming_uniform_(
    array,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator,
):
    """He et al. (2015): ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``.

    ``gain = calculate_gain(nonlinearity, a)``; ``fan`` is ``fan_in`` or ``fan_out`` (``mode``).

    ``a`` is the negative slope of the leaky ReLU that follows (0: plain ReLU, gain sqrt(2)).
    """
    fan = _fan(_target(array, rng).shape, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(array, -bound, bound, rng=rng)


def kaiming_normal_(
    array,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    rng: np.random.Generator,
):
    """He et al. (2015): ``N(0, std^2)`` with ``std = gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)``; ``fan`` is ``fan_in`` or ``fan_out`` (``mode``).
    """
    fan = _fan(_target(array, rng).shape, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(array, 0.0, std, rng=rng)


def default_init_(weight, bias=None, *, rng: np.random.Generator) -> None:
    """torch's ``reset_parameters`` of ``nn.Linear`` and ``nn.Conv2d``.

    ``weight``: ``kaiming_uniform_(a=sqrt(5))``, which works out to
    ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``; ``bias`` (if given): the same bound. The weight is
    drawn first, then the bias, from the one ``rng``.
    """
    kaiming_uniform_(weight, a=math.sqrt(5.0), rng=rng)
    if bias is not None:
        fan_in, _ = calculate_fan_in_and_fan_out(_target(weight, rng).shape)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, rng=rng)
