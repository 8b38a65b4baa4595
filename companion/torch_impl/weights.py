"""Copy weights between a NumPy ``Sequential`` and its torch twin, in either direction.

Both are built from the same spec, so their state dicts have the same keys and shapes
(``Linear.weight`` is ``(out, in)`` and ``Conv2d.weight`` ``(out, in, kH, kW)`` on both sides):
a copy is a plain element-by-element transfer, exact when the dtypes agree. Every copy checks
all keys and shapes before it writes anything, so a mismatch leaves the target untouched.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Mapping

import numpy as np
import torch
from torch import nn

from companion._checks import check_state_dict
from companion.numpy_impl.module import Module


def torch_state_to_numpy(model_or_state) -> "OrderedDict[str, np.ndarray]":
    """A torch model's (or state dict's) tensors as NumPy arrays on the CPU, same keys.

    The arrays are copies: changing them does not change the model.
    """
    state = model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state
    return OrderedDict((k, v.detach().cpu().numpy().copy()) for k, v in state.items())


def numpy_state(model_or_state) -> "OrderedDict[str, np.ndarray]":
    """The weights of a NumPy model, a torch model or a state dict of either, as NumPy arrays
    (tensors copied to the CPU), keyed as in the state dict."""
    if isinstance(model_or_state, Module):
        return model_or_state.state_dict()
    if isinstance(model_or_state, nn.Module):
        return torch_state_to_numpy(model_or_state)
    if isinstance(model_or_state, Mapping):
        return OrderedDict(
            (k, v.detach().cpu().numpy().copy() if isinstance(v, torch.Tensor) else v)
            for k, v in model_or_state.items()
        )
    raise TypeError(
        "expected a NumPy or torch model or a state dict, got "
        f"{type(model_or_state).__name__}"
    )


def load_numpy_state(model, state: Mapping[str, np.ndarray]):
    """Load NumPy arrays into a NumPy model (``load_state_dict``) or a torch model
    (``numpy_to_torch``), all or nothing, with the errors of those two; returns the model."""
    if isinstance(model, Module):
        model.load_state_dict(state)
        return model
    return numpy_to_torch(state, model)


def _numpy_state(source) -> Mapping[str, np.ndarray]:
    if isinstance(source, Module):
        return source.state_dict()
    if isinstance(source, Mapping):
        return source
    raise TypeError(
        f"source must be a NumPy Module or a mapping of arrays, got {type(source).__name__}"
    )


def check_state_fits(state: Mapping[str, np.ndarray], target: nn.Module) -> None:
    """Raise unless the NumPy ``state`` fits torch model ``target`` key for key, shape for shape.

    Raises ``KeyError`` (missing or unexpected keys, all listed), ``ValueError`` (a shape
    mismatch, or a NaN or infinity) or ``TypeError`` (not a NumPy array of numbers).
    """
    expected = {name: tuple(t.shape) for name, t in target.state_dict().items()}
    check_state_dict(state, expected, "the torch model")


def numpy_to_torch(source, target: nn.Module) -> nn.Module:
    """Copy a NumPy model's weights into a torch model, all or nothing.

    Parameters
    ----------
    source : companion.numpy_impl Module, or a mapping ``name -> ndarray``
    target : torch.nn.Module
        Built from the same spec. Values are cast to each tensor's dtype and device.

    Returns
    -------
    target, for chaining.

    Raises
    ------
    KeyError
        Missing or unexpected keys (both listed).
    ValueError
        A shape mismatch (the key and both shapes named), or a NaN or infinity.
    TypeError
        A value that is not a NumPy array of numbers.
    """
    state = _numpy_state(source)
    check_state_fits(state, target)
    with torch.no_grad():
        for name, tensor in target.state_dict().items():
            # np.array, not np.ascontiguousarray: the latter turns a 0-d buffer (BatchNorm's
            # num_batches_tracked) into shape (1,).
            tensor.copy_(torch.from_numpy(np.array(state[name], order="C")))
    return target


def torch_to_numpy(source, target: Module) -> Module:
    """Copy a torch model's weights into a NumPy model, all or nothing.

    Parameters
    ----------
    source : torch.nn.Module, or a mapping ``name -> torch.Tensor``
    target : companion.numpy_impl Module
        Built from the same spec. The checks are the NumPy ``load_state_dict``'s: every key
        present, none extra, shapes equal, values finite; values are cast to the target's dtype.

    Returns
    -------
    target, for chaining.
    """
    if not isinstance(target, Module):
        raise TypeError(f"target must be a NumPy Module, got {type(target).__name__}")
    target.load_state_dict(torch_state_to_numpy(source))
    return target
