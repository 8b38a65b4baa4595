"""Where the torch models run, and in which float type.

``default_device()`` picks CUDA when a GPU is present and the CPU otherwise. A reader can force
either with an argument or, without touching code, with the environment variable
``COMPANION_DEVICE`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``).
"""

from __future__ import annotations

import os

import numpy as np
import torch

#: The environment variable that overrides the automatic device choice.
DEVICE_ENV_VAR = "COMPANION_DEVICE"

_TORCH_FLOATS = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}


def default_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on.

    Parameters
    ----------
    device : str or torch.device, optional
        An explicit choice, used as given. Without one, ``$COMPANION_DEVICE`` is used when set,
        else ``"cuda"`` when ``torch.cuda.is_available()``, else ``"cpu"``.

    Raises
    ------
    ValueError
        The name is not a device torch knows.
    RuntimeError
        CUDA was asked for but this torch build or machine has no GPU.
    """
    source = "argument device"
    if device is None and os.environ.get(DEVICE_ENV_VAR):
        device, source = os.environ[DEVICE_ENV_VAR], f"${DEVICE_ENV_VAR}"
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"{source} must name a torch device such as 'cpu' or 'cuda', got {device!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"{source} asks for {str(dev)!r} but CUDA is not available here "
            f"(torch {torch.__version__}); use 'cpu' or unset {DEVICE_ENV_VAR}"
        )
    return dev


def torch_dtype(dtype) -> torch.dtype:
    """``torch.float32``/``torch.float64`` from a torch or NumPy float dtype (or its name).

    Raises
    ------
    TypeError
        Anything other than float32 or float64.
    """
    if dtype in (torch.float32, torch.float64):
        return dtype
    try:
        return _TORCH_FLOATS[np.dtype(dtype)]
    except (TypeError, KeyError):
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None


def numpy_dtype(dtype) -> np.dtype:
    """The NumPy twin of a torch or NumPy float dtype (``torch.float32`` -> ``float32``)."""
    tdt = torch_dtype(dtype)
    return next(np_dt for np_dt, t in _TORCH_FLOATS.items() if t == tdt)
