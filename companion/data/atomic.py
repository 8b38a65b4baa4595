"""Write a file atomically: into a hidden temporary file beside it, then rename.

A reader of the destination sees either the old file or the complete new one, never half of
it, and an error (or Ctrl-C) while writing leaves nothing behind. The rename is
:func:`os.replace`, atomic within one file system, hence the temporary file in the same folder.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path):
    """Open a temporary file beside ``path`` for binary writing; rename it to ``path`` when
    the ``with`` block ends normally, delete it when the block raises.

    The file gets the permissions an ordinary ``open(path, "wb")`` would give it (0o666 less
    the umask), not the 0o600 of :func:`tempfile.mkstemp`: it is data, not a secret.

    Parameters
    ----------
    path : str or os.PathLike
        The destination. Its folder must exist.

    Yields
    ------
    file : binary file object open for writing
        ``file.name`` is the temporary path (the block may read it back, e.g. to check it).

    Examples
    --------
    >>> with atomic_write("labels.bin") as f:      # doctest: +SKIP
    ...     f.write(b"...")
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    f = open(tmp, "xb")  # "x": create a new file, never reuse one
    try:
        with f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
