"""Download a file from a list of mirrors, verify its md5, and write it atomically.

The file is first written to a hidden temporary file in the destination folder, checked,
then renamed into place with :func:`os.replace` (atomic on one file system). So a download
that is interrupted, cut by the server or corrupt never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from .atomic import atomic_write
from .errors import ChecksumError, DownloadError

_CHUNK = 1 << 16


def md5sum(path) -> str:
    """Return the md5 hex digest of a file (read in chunks)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(urls, dest, md5: str, *, timeout: float = 30.0,
             progress: bool | None = None) -> Path:
    """Fetch a file from the first mirror that delivers it intact.

    Parameters
    ----------
    urls : sequence of str
        Full URLs of the same file, tried in order.
    dest : str or os.PathLike
        Where the verified file ends up. Its folder is created if needed.
    md5 : str
        The published md5 hex digest of the file.
    timeout : float
        Seconds to wait for a connection or for the next bytes.
    progress : bool or None
        Show a progress bar. ``None``: only when stderr is a terminal.

    Returns
    -------
    dest : pathlib.Path

    Raises
    ------
    ChecksumError
        Every mirror that answered served a file with the wrong md5 (the bad file is deleted).
    DownloadError
        No mirror could be reached or every transfer failed.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    bad_checksum = False
    for url in urls:
        try:
            _download_one(url, dest, md5, timeout, progress)
            return dest
        except ChecksumError as exc:
            bad_checksum = True
            failures.append(f"  {url}: {exc}")
        except (DownloadError, OSError, http.client.HTTPException) as exc:
            # URLError, HTTPError, timeouts and refused connections are all OSErrors
            failures.append(f"  {url}: {exc}")
    tried = "\n".join(failures) or "  (no mirrors given)"
    error = ChecksumError if bad_checksum else DownloadError
    raise error(f"could not download {dest.name}; every mirror failed:\n{tried}")


def _download_one(url: str, dest: Path, md5: str, timeout: float,
                  progress: bool | None) -> None:
    """Download ``url`` to a temporary file beside ``dest``, check it, rename it to ``dest``."""
    with atomic_write(dest) as out:
        _copy_response(url, out, timeout, progress)
        out.flush()
        actual = md5sum(out.name)
        if actual != md5:
            raise ChecksumError(
                f"md5 mismatch: got {actual}, the published value is {md5}; "
                "the file was deleted"
            )


def _copy_response(url: str, out, timeout: float, progress: bool | None) -> None:
    """Stream the body of ``url`` into the open file ``out``, with a progress bar."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        with tqdm(total=expected, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                  disable=None if progress is None else not progress) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if expected is not None and received != expected:
        # http.client returns a short body silently when the server closes early
        raise DownloadError(
            f"connection closed after {received:,} of {expected:,} bytes"
        )
