"""Open weights: a model's state dict in the safetensors format, with its model card.

safetensors (Hugging Face) is the file format most open-weight models are published in. A file is

    8 bytes    N, the header's length (little-endian unsigned 64-bit)
    N bytes    a JSON header: for every tensor its dtype, shape and byte range in the data,
               plus "__metadata__", a free mapping of strings to strings
    the rest   the tensors' raw bytes, one after another

and nothing else: unlike a pickle, loading one runs no code. The model card (Mitchell et al.,
2019) travels inside the file as that metadata, one entry per field (``CARD_FIELDS``): the model,
the data it was trained on, how it was trained, what it is for, and its measured limits;
``save_open_weights`` can also write it beside the file as a README.md, where people look first.

* ``save_open_weights(model, path, card)``: a NumPy model, a torch model or a state dict;
* ``read_open_weights(path) -> (state, card)``: the arrays (NumPy) and the card;
* ``load_open_weights(model, path) -> card``: into a NumPy or torch model, all or nothing.

Every file is written to a temporary file in the same folder, then renamed over the target
(``os.replace``, atomic on one file system), with the permissions the umask gives a new file: a
failure leaves no half-written file. Reading checks the header before trusting it: an empty,
truncated or foreign file, and weights that do not fit the model, raise ``OpenWeightsError``
saying what was wrong.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy

from companion.data.atomic import atomic_write
from companion.torch_impl import load_numpy_state, numpy_state

__all__ = [
    "CARD_FIELDS",
    "OpenWeightsError",
    "save_open_weights",
    "read_open_weights",
    "load_open_weights",
    "model_card_markdown",
]

#: The model card's fields, in the order the README shows them.
CARD_FIELDS = ("model", "data", "training", "intended_use", "limits")

_HEADER_LIMIT = 100_000_000  # the safetensors specification's cap on the header's length


class OpenWeightsError(ValueError):
    """A weights file that cannot be read, or weights that do not fit the model."""


def _state_of(model) -> dict[str, np.ndarray]:
    """C-contiguous NumPy arrays of numbers from a NumPy model, a torch model or a state dict."""
    out = {}
    for name, value in numpy_state(model).items():
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
            got = type(value).__name__
            raise TypeError(f"state[{name!r}] must be an array of numbers, got {got}")
        out[name] = np.array(value, order="C")  # not ascontiguousarray: it makes 0-d arrays 1-d
    return out


def _checked_card(card) -> dict[str, str]:
    if not isinstance(card, Mapping):
        raise TypeError(f"card must be a mapping of field -> text, got {type(card).__name__}")
    missing = [f for f in CARD_FIELDS if not (isinstance(card.get(f), str) and card[f].strip())]
    if missing:
        raise ValueError(
            f"the model card needs non-empty text for {list(CARD_FIELDS)}; missing or empty: "
            f"{missing}"
        )
    bad = [k for k, v in card.items() if not (isinstance(k, str) and isinstance(v, str))]
    if bad:
        raise TypeError(f"model card keys and values must be strings; not so for {bad}")
    return dict(card)


def model_card_markdown(card: Mapping[str, str]) -> str:
    """The card as a short README.md: a title, then one section per field."""
    card = _checked_card(card)
    lines = [f"# {card['model']}", ""]
    for field in CARD_FIELDS[1:] + tuple(k for k in card if k not in CARD_FIELDS):
        lines += [f"## {field.replace('_', ' ').capitalize()}", "", card[field], ""]
    return "\n".join(lines)


def save_open_weights(model, path, card: Mapping[str, str], *, readme: bool = False) -> Path:
    """Write ``model``'s weights and model card to ``path`` (a ``.safetensors`` file).

    Parameters
    ----------
    model : a NumPy ``Module``, a ``torch.nn.Module`` or a mapping name -> array/tensor
        Its state dict is saved as it is (names, shapes, dtypes).
    path : str or os.PathLike, ending in ``.safetensors``; its folder must exist
    card : mapping with non-empty text for every field of ``CARD_FIELDS`` (more fields allowed)
    readme : also write the card as ``README.md`` in the same folder

    Returns
    -------
    The path written.
    """
    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"the weights file must end in .safetensors, got {path.name!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {path.parent} does not exist")
    card = _checked_card(card)
    data = safetensors.numpy.save(_state_of(model), metadata=card)
    with atomic_write(path) as f:
        f.write(data)
    if readme:
        with atomic_write(path.parent / "README.md") as f:
            f.write(model_card_markdown(card).encode())
    return path


def _header(raw: bytes, path: Path) -> dict:
    """The JSON header of safetensors bytes ``raw``, after checking that the file is whole."""
    if len(raw) == 0:
        raise OpenWeightsError(f"{path} is empty (0 bytes), not a safetensors file")
    if len(raw) < 8:
        raise OpenWeightsError(f"{path} is {len(raw)} bytes long: too short for a safetensors "
                               "file (truncated?)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _HEADER_LIMIT or n > len(raw) - 8:
        raise OpenWeightsError(
            f"{path} is not a safetensors file, or is truncated: its first 8 bytes announce a "
            f"{n}-byte header, the file holds {len(raw) - 8} bytes after them"
        )
    try:
        header = json.loads(raw[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        header = None
    if not isinstance(header, dict):
        raise OpenWeightsError(f"{path} is not a safetensors file: its header is no JSON mapping")
    try:
        ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    except (TypeError, KeyError, IndexError, ValueError):
        raise OpenWeightsError(
            f"{path} is not a safetensors file: its header lacks the tensors' data_offsets"
        ) from None
    expected, got = max(ends, default=0), len(raw) - 8 - n
    if got < expected:
        raise OpenWeightsError(
            f"{path} is truncated: its header describes {expected} bytes of tensor data, the "
            f"file holds {got}"
        )
    return header


def read_open_weights(path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read a file written by ``save_open_weights``: ``(state, card)``.

    ``state`` maps each key to a NumPy array (the saved dtype and shape), keys sorted (the file
    does not keep the model's order; loading goes by name); ``card`` is the model card.

    Raises ``OpenWeightsError`` for a missing, empty, truncated or non-safetensors file, and for
    one without a model card.
    """
    path = Path(path)
    if not path.is_file():
        raise OpenWeightsError(f"weights file {path} does not exist")
    raw = path.read_bytes()
    card = _header(raw, path).get("__metadata__") or {}
    try:
        state = safetensors.numpy.load(raw)
    except safetensors.SafetensorError as err:
        raise OpenWeightsError(f"{path} is not a valid safetensors file: {err}") from None
    missing = [f for f in CARD_FIELDS if not card.get(f)]
    if missing:
        raise OpenWeightsError(
            f"{path} holds weights but no complete model card (missing {missing}); open weights "
            "come with a card saying what they are: save them with save_open_weights"
        )
    return dict(sorted(state.items())), dict(card)


def load_open_weights(model, path) -> dict[str, str]:
    """Load the weights in ``path`` into ``model`` (NumPy or torch), all or nothing.

    Every key must be present, none extra, every shape equal; values are cast to the model's
    dtype. Otherwise ``OpenWeightsError`` names the keys or shapes that differ, and the model is
    untouched. Returns the model card.
    """
    state, card = read_open_weights(path)
    try:
        load_numpy_state(model, state)
    except (KeyError, ValueError, TypeError) as err:
        message = err.args[0] if err.args else str(err)
        raise OpenWeightsError(
            f"{path} does not fit this model (its card says: {card['model']!r}): {message}"
        ) from None
    return card
