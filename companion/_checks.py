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


def _check_integer_array(a, name: str, what: str) -> None:
    """``a`` is a NumPy array of a signed or unsigned integer dtype."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of integers, got {type(a).__name__}")
    if a.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer {what}, got dtype {a.dtype}")


def _check_below(a, name: str, high: int, context: str, error: type) -> None:
    """Every entry of the integer array ``a`` lies in ``[0, high)``; else ``error``."""
    if a.size and (a.min() < 0 or a.max() >= high):
        raise error(
            f"{name} must lie in [0, {high - 1}] {context}, got values from {a.min()} to {a.max()}"
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
    _check_integer_array(y, name, "class indices")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (N,), got {y.shape}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the input has {n} rows")
    _check_below(y, name, num_classes, f"for {num_classes} classes", ValueError)
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


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, insisting on an integer ``>= 1`` (bools are not integers)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_rng(rng) -> np.random.Generator:
    """The generator a layer draws from: ``rng`` itself, or a fresh unseeded one for ``None``.

    A fresh generator is fine for a quick experiment but not repeatable; pass
    ``np.random.default_rng(seed)`` for bit-for-bit repeatable weights.
    """
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}; "
            f"use np.random.default_rng(seed)"
        )
    return rng


# --- the layer functions of companion.numpy_impl.functional, one check each ---------------------


def check_pair(value, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(3, 2) -> (3, 2)``. Each entry must be an int ``>= minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    is_int = [isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair]
    if len(pair) != 2 or not all(is_int):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def check_dout(dout, shape, dtype) -> np.ndarray:
    """An upstream gradient: an array of exactly ``shape`` and ``dtype`` (NaN allowed: a diverging
    run propagates it, as torch does)."""
    return check_array(dout, "dout", dtype=dtype, shape=tuple(shape), finite=False)


def _check_input_like(x, weight, ndim: int) -> None:
    """``x`` finite, of ``ndim`` dimensions and of the parameters' dtype."""
    check_array(weight, "weight", ndim=ndim)
    check_array(x, "input", ndim=ndim, finite=False)
    if x.dtype != weight.dtype:
        raise TypeError(
            f"input has dtype {x.dtype} but this layer's parameters are {weight.dtype}; "
            f"convert with x.astype(np.{weight.dtype.name}) or build the model with "
            f"dtype=np.{x.dtype.name}"
        )
    # the feature/channel count is dimension 1 of both arrays in torch's layouts
    check_array(x, "input", shape=(None,) + weight.shape[1:2] + (None,) * (ndim - 2))


def check_linear(x, weight, bias) -> None:
    """``x`` (N, in) and ``weight`` (out, in) of one float dtype, ``bias`` (out,) or None."""
    _check_input_like(x, weight, 2)
    if bias is not None:
        check_array(bias, "bias", dtype=weight.dtype, shape=(weight.shape[0],))


def _output_size(h, w, kernel, stride, padding, what: str) -> tuple[int, int]:
    """``(Ho, Wo)`` of a window sliding over an ``h x w`` image; an error if it does not fit."""
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        raise ValueError(
            f"{what}: input of spatial size {h}x{w} (padding {padding}) is smaller than the "
            f"kernel {kernel[0]}x{kernel[1]}; expected at least {kernel[0] - 2 * padding[0]}x"
            f"{kernel[1] - 2 * padding[1]}"
        )
    return (
        (h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (w + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )


def check_conv2d(x, weight, bias, stride, padding):
    """Check a convolution's arguments; return ``(stride, padding, (Ho, Wo))`` as int pairs.

    x (N, C, H, W) and weight (O, C, kH, kW) of one float dtype, bias (O,) or None.
    """
    _check_input_like(x, weight, 4)
    if bias is not None:
        check_array(bias, "bias", dtype=weight.dtype, shape=(weight.shape[0],))
    stride, padding = check_pair(stride, "stride", 1), check_pair(padding, "padding", 0)
    out_hw = _output_size(*x.shape[2:], weight.shape[2:], stride, padding, "conv2d")
    return stride, padding, out_hw


def check_pool2d(x, kernel_size, stride, what: str):
    """Check a pooling's arguments; return ``(kernel, stride, (Ho, Wo))`` as int pairs.

    x (N, C, H, W) float; ``stride=None`` means the kernel size, as in torch.
    """
    check_array(x, "input", ndim=4)
    kernel = check_pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else check_pair(stride, "stride", 1)
    return kernel, stride, _output_size(*x.shape[2:], kernel, stride, (0, 0), what)


# --- LoRA adapters and the masked-reconstruction pretext task -----------------------------------


def check_lora_rank(rank, in_features: int, out_features: int) -> int:
    """A LoRA rank: an int with ``1 <= rank <= min(in_features, out_features)``.

    A larger rank would not be low-rank any more: ``B @ A`` has rank at most
    ``min(in_features, out_features)`` whatever ``rank`` says, and the adapter would only cost more.
    """
    rank = check_positive_int(rank, "rank")
    if rank > min(in_features, out_features):
        raise ValueError(
            f"rank must be at most min(in_features, out_features) = "
            f"{min(in_features, out_features)} for a {in_features}->{out_features} layer, "
            f"got {rank}"
        )
    return rank


def check_positive_number(value, name: str) -> float:
    """A finite real number ``> 0`` (not a bool), returned as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_lora_linear(x, weight, bias, lora_A, lora_B) -> None:
    """``x`` (..., in), ``weight`` (out, in), ``bias`` (out,) or None, ``lora_A`` (r, in) and
    ``lora_B`` (out, r), all of one float dtype."""
    check_array(weight, "weight", ndim=2)
    out_features, in_features = weight.shape
    check_array(lora_A, "lora_A", dtype=weight.dtype, shape=(None, in_features))
    check_array(lora_B, "lora_B", dtype=weight.dtype, shape=(out_features, lora_A.shape[0]))
    if bias is not None:
        check_array(bias, "bias", dtype=weight.dtype, shape=(out_features,))
    check_array(x, "input", finite=False)
    if x.dtype != weight.dtype:
        raise TypeError(
            f"input has dtype {x.dtype} but this layer's parameters are {weight.dtype}; "
            f"convert with x.astype(np.{weight.dtype.name})"
        )
    if x.ndim < 2 or x.shape[-1] != in_features:
        raise ValueError(f"input must have shape (..., {in_features}), got {x.shape}")
    check_array(x, "input")  # and finite


def check_fraction(value, name: str) -> float:
    """A number in the half-open interval (0, 1], returned as a float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in (0, 1], got {value!r}")
    if not 0.0 < float(value) <= 1.0:
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return float(value)


def check_mask(mask, like: np.ndarray) -> np.ndarray:
    """A boolean mask that broadcasts to ``like``'s shape and selects at least one element."""
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_:
        got = mask.dtype if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"mask must be a numpy.ndarray of bool, got {got}")
    try:
        np.broadcast_shapes(mask.shape, like.shape)
    except ValueError:
        raise ValueError(
            f"mask of shape {mask.shape} does not broadcast to the input's shape {like.shape}"
        ) from None
    if np.broadcast_shapes(mask.shape, like.shape) != like.shape:
        raise ValueError(f"mask of shape {mask.shape} is larger than the input {like.shape}")
    if not mask.any():
        raise ValueError("mask selects no element; a masked mean needs at least one")
    return mask


# --- embeddings, attention, normalization and recurrent layers ---------------------------------


def check_indices(indices, name: str, num_embeddings: int) -> np.ndarray:
    """An integer array of row indices into a table of ``num_embeddings`` rows, all in range."""
    _check_integer_array(indices, name, "indices")
    _check_below(indices, name, num_embeddings, f"for num_embeddings={num_embeddings}", IndexError)
    return indices


def check_attention_mask(mask, name: str, shapes, dtype) -> np.ndarray:
    """An attention mask: bool, or float of ``dtype`` (``-inf`` allowed, NaN not), whose shape
    is one of ``shapes`` (a list of tuples, described in the error message)."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(mask).__name__}")
    if mask.dtype != np.bool_ and mask.dtype != np.dtype(dtype):
        raise TypeError(
            f"{name} must be bool or {np.dtype(dtype)} (the input's dtype), got {mask.dtype}"
        )
    if tuple(mask.shape) not in [tuple(s) for s in shapes]:
        want = " or ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{name} must have shape {want}, got {mask.shape}")
    if mask.dtype != np.bool_ and np.isnan(mask).any():
        raise ValueError(f"{name} contains NaN; a float mask holds 0, finite values or -inf")
    return mask


def check_layer_norm(x, normalized_shape, weight, bias) -> None:
    """``x`` of shape ``(*, *normalized_shape)``; ``weight`` and ``bias`` of ``normalized_shape``
    and ``x``'s dtype, or None."""
    check_array(x, "input")
    k = len(normalized_shape)
    if x.ndim < k or x.shape[x.ndim - k:] != tuple(normalized_shape):
        raise ValueError(
            f"input must end with normalized_shape {tuple(normalized_shape)}, got shape {x.shape}"
        )
    for name, a in (("weight", weight), ("bias", bias)):
        if a is not None:
            check_array(a, name, dtype=x.dtype, shape=tuple(normalized_shape))


def check_batch_norm(x, running_mean, running_var, weight, bias) -> None:
    """``x`` (N, C, *) with 2 to 5 dimensions; the four vectors (C,) of ``x``'s dtype or None."""
    check_array(x, "input", ndim=(2, 3, 4, 5))
    for name, a in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if a is not None:
            check_array(a, name, dtype=x.dtype, shape=(x.shape[1],))


def check_attention(query, key, value, attn_mask, is_causal: bool) -> None:
    """Scaled dot-product attention's inputs: ``query`` (*, L, E), ``key`` (*, S, E) and
    ``value`` (*, S, Ev) of one float dtype and equal leading axes; ``attn_mask`` None, bool or of
    that dtype, broadcastable to (*, L, S); not both ``attn_mask`` and ``is_causal``."""
    check_array(query, "query", ndim=(2, 3, 4))
    check_array(key, "key", dtype=query.dtype, ndim=query.ndim)
    check_array(value, "value", dtype=query.dtype, ndim=query.ndim)
    lead, (length, embed) = query.shape[:-2], query.shape[-2:]
    if key.shape[:-2] != lead or key.shape[-1] != embed:
        raise ValueError(f"key must have shape {lead + ('S', embed)} to match query "
                         f"{query.shape}, got {key.shape}")
    if value.shape[:-1] != key.shape[:-1]:
        raise ValueError(f"value must have shape {key.shape[:-1] + ('Ev',)} to match key "
                         f"{key.shape}, got {value.shape}")
    if attn_mask is None:
        return
    if is_causal:
        raise ValueError("give attn_mask or is_causal=True, not both (as torch)")
    scores = lead + (length, key.shape[-2])
    shapes = [scores[k:] for k in range(len(scores) - 1)]  # (*, L, S) or any trailing part
    if isinstance(attn_mask, np.ndarray) and attn_mask.ndim <= len(scores):
        try:
            if np.broadcast_shapes(attn_mask.shape, scores) == scores:
                shapes = [attn_mask.shape]
        except ValueError:
            pass
    check_attention_mask(attn_mask, "attn_mask", shapes, query.dtype)


def check_gru(x, h0, weight_ih, weight_hh, bias_ih, bias_hh) -> None:
    """A GRU's arguments: ``x`` (T >= 1, N, D), ``h0`` (N, H), ``weight_ih`` (3H, D),
    ``weight_hh`` (3H, H), biases (3H,) both or neither, all of one float dtype."""
    check_array(weight_ih, "weight_ih", ndim=2)
    rows, size = weight_ih.shape
    if rows % 3:
        raise ValueError(f"weight_ih must have 3*hidden_size rows, got shape {weight_ih.shape}")
    hidden, dtype = rows // 3, weight_ih.dtype
    check_array(weight_hh, "weight_hh", dtype=dtype, shape=(rows, hidden))
    if (bias_ih is None) != (bias_hh is None):
        raise ValueError("give both bias_ih and bias_hh, or neither")
    for name, bias in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if bias is not None:
            check_array(bias, name, dtype=dtype, shape=(rows,))
    check_array(x, "input", ndim=3)
    check_same_dtype(x, dtype, "input")
    if x.shape[0] == 0 or x.shape[2] != size:
        raise ValueError(f"input must have shape (T >= 1, N, input_size={size}), got {x.shape}")
    check_array(h0, "h0", dtype=dtype, shape=(x.shape[1], hidden))
