"""Input validation shared by the whole package.

Every public function that takes an array checks it here first, so that a wrong shape, a wrong
dtype or a NaN is reported where it enters, in words that name what was expected and what came,
instead of surfacing later as a broadcasting error deep inside a matrix product.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_float_dtype(dtype) -> np.dtype:
    """Return ``dtype`` as a ``numpy.dtype``, insisting on float32 or float64.

    Raises
    ------
    TypeError
        If ``dtype`` is anything else.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from err
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dt}")
    return dt


def check_array(
    x,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    dtype=None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Check that ``x`` is a NumPy array fit to be used as ``name``, and return it.

    Parameters
    ----------
    x : array
        The value to check. It must already be a ``numpy.ndarray``: silently converting lists or
        torch tensors would hide the caller's mistake.
    name : str
        What the array is, for the error message (``"input"``, ``"target"``, ...).
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    dtype : dtype, optional
        The exact dtype required. ``None`` accepts float32 or float64.
    shape : sequence of int or None, optional
        Required size of each dimension; ``None`` entries accept any size.
    finite : bool
        Reject NaN and infinity (default ``True``).

    Raises
    ------
    TypeError
        Not an ndarray, or the wrong dtype.
    ValueError
        The wrong number of dimensions, the wrong size, or a NaN or infinity.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if dtype is None:
        if x.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")
    elif x.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {x.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(
                f"{name} must have {want} dimensions, got {x.ndim} (shape {x.shape})"
            )
    if shape is not None:
        if x.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(x.shape, shape)
        ):
            dims = ["*" if s is None else str(s) for s in shape]
            pretty = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
            raise ValueError(f"{name} must have shape {pretty}, got {x.shape}")
    if finite and x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = int(np.size(x) - np.count_nonzero(np.isfinite(x)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); inputs must be finite")
    return x


def check_same_dtype(x: np.ndarray, expected: np.dtype, name: str) -> None:
    """Raise ``TypeError`` unless ``x.dtype == expected`` (a layer never casts silently)."""
    if x.dtype != expected:
        raise TypeError(
            f"{name} has dtype {x.dtype} but this layer's parameters are {expected}; "
            f"convert with x.astype(np.{expected.name}) or build the model with dtype={x.dtype.name!r}"
        )


def check_labels(y, name: str, num_classes: int, n: int | None = None) -> np.ndarray:
    """Check an array of integer class labels in ``[0, num_classes)``.

    Parameters
    ----------
    y : (N,) integer array
    num_classes : int
    n : int, optional
        The batch size the labels must match.
    """
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of integers, got {type(y).__name__}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class indices, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the input has {n} rows")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes - 1}] for {num_classes} classes, "
            f"got values from {y.min()} to {y.max()}"
        )
    return y


def check_state_dict(state, expected_shapes, what: str = "the model") -> None:
    """Check a state dict against the names and shapes a model expects, before any copy.

    Parameters
    ----------
    state : mapping of str to ndarray
        The weights offered (NumPy arrays).
    expected_shapes : mapping of str to tuple of int
        Every parameter name the model has, with its shape.
    what : str
        The model, for the error message (``"the model"``, ``"the torch model"``).

    Raises
    ------
    KeyError
        Missing or unexpected keys (both listed).
    TypeError
        A value that is not a NumPy array of numbers.
    ValueError
        A shape mismatch, or a NaN or infinity in a weight.
    """
    missing = [k for k in expected_shapes if k not in state]
    unexpected = [k for k in state if k not in expected_shapes]
    if missing or unexpected:
        raise KeyError(
            f"state_dict does not match {what}: missing keys {missing}, "
            f"unexpected keys {unexpected}"
        )
    for name, shape in expected_shapes.items():
        value = state[name]
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise TypeError(f"state_dict[{name!r}] must be a numpy array of numbers, got {got}")
        if value.shape != tuple(shape):
            raise ValueError(
                f"state_dict[{name!r}] has shape {value.shape}, {what} expects {tuple(shape)}"
            )
        if not np.isfinite(value).all():
            raise ValueError(f"state_dict[{name!r}] contains NaN or infinite values")
