"""Build the book's models by name for the tests: the NumPy reference and its torch twin."""

from __future__ import annotations

import numpy as np
import torch

from companion import models, numpy_impl
from companion.torch_impl import numpy_to_torch, torch_dtype


def numpy_model(name: str, dtype=np.float64, seed: int = 0, rng=None):
    """``models.MODELS[name]`` built from ``numpy_impl``, weights drawn from ``rng`` or ``seed``."""
    rng = np.random.default_rng(seed) if rng is None else rng
    return models.MODELS[name](numpy_impl, dtype=dtype, rng=rng)


def torch_model(name: str, dtype=torch.float64, device="cpu", seed=None):
    """``models.MODELS[name]`` built from ``torch.nn`` (torch's own random weights, from
    ``seed`` when given, without touching torch's global generator)."""
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        return models.MODELS[name](torch.nn, dtype=torch_dtype(dtype), device=device)


def twins(name: str, dtype=np.float64, seed: int = 0):
    """A NumPy model and a torch model on the CPU holding the same weights."""
    np_model = numpy_model(name, dtype, seed)
    return np_model, numpy_to_torch(np_model, torch_model(name, dtype))
