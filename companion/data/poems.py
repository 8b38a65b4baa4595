"""Classical Chinese poems for the Transformer chapter: Debian's ``fortunes-zh`` package.

``fortunes-zh`` ships 唐诗三百首 (*Three Hundred Tang Poems*, 313 poems) and 宋词一百首 as
fortune(6) files: poems separated by lines holding ``%``, each a title line 《...》, an author line
作者：..., then the verses, with terminal colour codes around the first two lines. Install it with
``apt-get install fortunes-zh`` (Debian and Ubuntu); the files land in
``/usr/share/games/fortunes``. Elsewhere, pass the folder that holds a copy of the file.

Text becomes numbers one character at a time: a sorted vocabulary of every character of the
corpus, ``encode`` and ``decode``. Chinese needs no word segmentation at this level, and each
character is one token.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import DataNotFoundError

__all__ = ["Poem", "FORTUNES_DIR", "load_tang300", "CharVocab", "random_windows"]

#: Where Debian's ``fortunes-zh`` installs its files.
FORTUNES_DIR = Path("/usr/share/games/fortunes")

_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # the terminal colour codes around titles and authors


class Poem(NamedTuple):
    title: str
    author: str
    text: str  # the verses, one per line


def load_tang300(folder=None) -> list[Poem]:
    """The 313 poems of 唐诗三百首 from ``fortunes-zh``'s file ``tang300``.

    Parameters
    ----------
    folder : path or None, the folder holding ``tang300`` (default ``/usr/share/games/fortunes``)

    Raises
    ------
    DataNotFoundError
        The file is not there (the message says what to install).
    """
    path = Path(FORTUNES_DIR if folder is None else folder) / "tang300"
    if not path.is_file():
        raise DataNotFoundError(
            f"{path} not found: install Debian's fortunes-zh package (apt-get install "
            f"fortunes-zh), or pass the folder that holds a copy of its file tang300",
            path=path)
    raw = _COLOUR.sub("", path.read_text(encoding="utf-8"))
    poems = []
    for entry in raw.split("\n%\n"):
        lines = [line.strip() for line in entry.strip().split("\n")]
        if len(lines) >= 3 and lines[0].startswith("《") and lines[1].startswith("作者"):
            author = lines[1].split("：", 1)[-1]
            poems.append(Poem(lines[0].strip("《》"), author, "\n".join(lines[2:])))
    return poems


class CharVocab:
    """Characters <-> integer tokens: the sorted set of characters of ``text``.

    ``encode(s)`` gives an int64 array (an unknown character is an error naming it);
    ``decode(ids)`` the string back; ``len(vocab)`` the vocabulary size.
    """

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {''.join(unknown[:20])!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


def random_windows(tokens: np.ndarray, batch_size: int, length: int, rng: np.random.Generator):
    """A batch for next-token prediction: ``batch_size`` random windows of ``tokens``.

    Returns ``x`` (batch_size, length) and ``y`` (batch_size, length) with ``y[:, t] =
    x[:, t + 1]``, the token that follows each position.
    """
    if len(tokens) <= length:
        raise ValueError(f"need more than length={length} tokens, got {len(tokens)}")
    starts = rng.integers(0, len(tokens) - length, size=batch_size)
    windows = tokens[starts[:, None] + np.arange(length + 1)]
    return windows[:, :-1], windows[:, 1:]
