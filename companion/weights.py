"""Save a model's weights to a file and load them back, into either implementation.

A weights file is an ``.npz`` archive of the model's ``state_dict`` (keys ``"0.weight"``,
``"0.bias"``, ...; the same for the NumPy model and its torch twin) plus the model's name under
``"__model__"``. It is written atomically (a temporary file in the same folder, then a rename),
so a failed save leaves nothing half-written, and read without pickle.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from companion.models import make_model
from companion.numpy_impl.module import Module

__all__ = [
    "save_weights",
    "load_weights",
    "read_weights",
    "model_holding",
    "WeightsError",
    "MODEL_KEY",
]

#: The key of the ``.npz`` entry that names the model the weights belong to.
MODEL_KEY = "__model__"


class WeightsError(ValueError):
    """A weights file that cannot be read, or that does not fit the model."""


def _state_dict(model) -> dict[str, np.ndarray]:
    """The model's weights as NumPy arrays, whichever the implementation."""
    if isinstance(model, Module):
        return dict(model.state_dict())
    from companion.torch_impl import torch_state_to_numpy

    return dict(torch_state_to_numpy(model))


def save_weights(model, path, *, model_name: str) -> Path:
    """Write ``model``'s state dict to ``path`` (.npz), atomically; returns the path.

    The file holds one array per parameter (the state-dict keys) and ``"__model__"``, the
    model's name. Nothing half-written is left behind if writing fails.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"the weights file must end in .npz, got {path.name!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save weights to {path}: the folder {path.parent} "
                                "does not exist")
    arrays = _state_dict(model)
    arrays[MODEL_KEY] = np.array(model_name)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _read_weights(path) -> tuple[str | None, dict[str, np.ndarray]]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path} is not a readable .npz weights file ({err})") from err
    name = arrays.pop(MODEL_KEY, None)
    return (None if name is None else str(name)), arrays


def load_weights(path, *, model: str | None = None, impl: str = "numpy", dtype=np.float32,
                 device=None):
    """Load a weights file written by ``save_weights`` into a new model of either implementation.

    Parameters
    ----------
    path : str or os.PathLike
    model : "mlp", "cnn", "lenet" or None
        The architecture. None: the one recorded in the file.
    impl : "numpy" or "torch"
    dtype : float32 or float64
    device : torch device (torch only)

    Returns
    -------
    The model, in training mode, holding the file's weights.

    Raises
    ------
    WeightsError
        The file is missing or unreadable, was saved for another model, or its arrays do not
        fit the model (missing or unexpected keys, wrong shapes).
    """
    name, state = read_weights(path, model)
    return model_holding(state, name, path, impl=impl, dtype=dtype, device=device)


def read_weights(path, model: str | None) -> tuple[str, dict[str, np.ndarray]]:
    """Read a weights file once: the model it is for (``model``, else the one it records) and
    its state dict. Raises WeightsError if neither names a model or the two disagree."""
    saved_name, state = _read_weights(path)
    name = model or saved_name
    if name is None:
        raise WeightsError(f"{path} does not say which model it holds; pass model= "
                           "(--model on the command line)")
    if saved_name is not None and model is not None and saved_name != model:
        raise WeightsError(f"{path} holds weights of the model {saved_name!r}, not {model!r}")
    return name, state


def model_holding(state, name: str, path, *, impl: str, dtype, device):
    """A new ``name`` model of ``impl`` with ``state`` loaded; WeightsError if it does not fit."""
    net = make_model(name, impl, dtype=dtype, device=device)
    try:
        if impl == "numpy":
            net.load_state_dict(state)
        else:
            from companion.torch_impl import numpy_to_torch

            numpy_to_torch(state, net)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if err.args else str(err)
        raise WeightsError(f"{path} does not fit the model {name!r}: {message}") from None
    return net
