"""Save a model's weights to a file and load them back, into either implementation.

A weights file is an ``.npz`` archive of the model's ``state_dict`` (keys ``"0.weight"``,
``"0.bias"``, ...; the same for the NumPy model and its torch twin) plus the model's name under
``"__model__"`` and, when known, the number of images it was trained on under ``"__n_train__"``.
It is written atomically (a temporary file in the same folder, then a rename), so a failed save
leaves nothing half-written, with the permissions the umask gives new files, and read without
pickle: a damaged or foreign file is refused with a one-line :class:`WeightsError`.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from companion.data.atomic import atomic_write
from companion.models import make_model
from companion.torch_impl import load_numpy_state, numpy_state

__all__ = [
    "save_weights",
    "load_weights",
    "read_weights",
    "model_holding",
    "SavedWeights",
    "WeightsError",
    "MODEL_KEY",
    "N_TRAIN_KEY",
]

#: The key of the ``.npz`` entry that names the model the weights belong to.
MODEL_KEY = "__model__"
#: The key of the ``.npz`` entry holding the number of training images (optional).
N_TRAIN_KEY = "__n_train__"

# An .npz file is a zip archive: it starts with a local file header, or (no entries) with the
# end-of-archive record.
_ZIP_STARTS = (b"PK\x03\x04", b"PK\x05\x06")


class WeightsError(ValueError):
    """A weights file that cannot be read, or that does not fit the model."""


@dataclass(frozen=True)
class SavedWeights:
    """What a weights file holds."""

    model: str                      # the architecture, e.g. "cnn"
    state: dict[str, np.ndarray]    # the state dict
    n_train: int | None             # images the weights were trained on; None if not recorded


def save_weights(model, path, *, model_name: str, n_train: int | None = None) -> Path:
    """Write ``model``'s state dict to ``path`` (.npz), atomically; returns the path.

    The file holds one array per parameter (the state-dict keys), ``"__model__"``, the
    model's name, and ``"__n_train__"`` when ``n_train`` (the number of training images) is
    given. Nothing half-written is left behind if writing fails.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"the weights file must end in .npz, got {path.name!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save weights to {path}: the folder {path.parent} "
                                "does not exist")
    arrays = dict(numpy_state(model))
    arrays[MODEL_KEY] = np.array(model_name)
    if n_train is not None:
        arrays[N_TRAIN_KEY] = np.array(n_train, dtype=np.int64)
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return path


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a weights file; a one-line WeightsError for a file that is not one.

    NumPy's own errors are not passed on: for some files they suggest unpickling, which must
    never be done with a file one did not write.
    """
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    try:
        with open(path, "rb") as f:
            start = f.read(4)
    except OSError as err:
        raise WeightsError(f"cannot read the weights file {path}: {err.strerror or err}") from None
    if start not in _ZIP_STARTS:
        what = "it is empty" if not start else "it is not an .npz archive"
        raise WeightsError(f"{path} is not a weights file: {what}. Check the path; a damaged "
                           "weights file cannot be repaired, save the weights again.")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        raise WeightsError(f"{path} is damaged (truncated or corrupted: {reason}); a damaged "
                           "weights file cannot be repaired, save the weights again.") from None
    except ValueError:  # an entry that is not a plain array of numbers
        raise WeightsError(f"{path} is not a weights file: it holds entries that are not plain "
                           "arrays of numbers, as a weights file's are.") from None


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
    saved = read_weights(path, model)
    return model_holding(saved.state, saved.model, path, impl=impl, dtype=dtype, device=device)


def read_weights(path, model: str | None) -> SavedWeights:
    """Read a weights file once: the model it is for (``model``, else the one it records), its
    state dict and the training-set size it records. Raises WeightsError if the file is
    missing or damaged, if neither names a model, or if the two disagree."""
    state = _read_arrays(Path(path))
    saved_name, n_train = state.pop(MODEL_KEY, None), state.pop(N_TRAIN_KEY, None)
    if n_train is not None and (n_train.shape != () or n_train.dtype.kind not in "iu"):
        raise WeightsError(f"{path}: {N_TRAIN_KEY} should be one integer, got "
                           f"{n_train.shape} {n_train.dtype}")
    saved_name = None if saved_name is None else str(saved_name)
    name = model or saved_name
    if name is None:
        raise WeightsError(f"{path} does not say which model it holds; pass model= "
                           "(--model on the command line)")
    if saved_name is not None and model is not None and saved_name != model:
        raise WeightsError(f"{path} holds weights of the model {saved_name!r}, not {model!r}")
    return SavedWeights(model=name, state=state,
                        n_train=None if n_train is None else int(n_train))


def model_holding(state, name: str, path, *, impl: str, dtype, device):
    """A new ``name`` model of ``impl`` with ``state`` loaded; WeightsError if it does not fit."""
    net = make_model(name, impl, dtype=dtype, device=device)
    try:
        load_numpy_state(net, state)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if err.args else str(err)
        raise WeightsError(f"{path} does not fit the model {name!r}: {message}") from None
    return net
