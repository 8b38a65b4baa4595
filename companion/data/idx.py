"""Read and write IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a small header followed by the raw array, big-endian, C order::

    byte 0-1   0x00 0x00            magic: always two zero bytes
    byte 2     dtype code           0x08 = uint8 (the only one MNIST uses), see ``IDX_DTYPES``
    byte 3     ndim                 1 for labels, 3 for images
    then       ndim x uint32        the size of each dimension, big-endian
    then       prod(dims) items     the data

Files may be gzip-compressed (the published ones are); the reader detects this from the
content, not the file name.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .atomic import atomic_write
from .errors import DataReadError, IDXFormatError

#: IDX type code -> big-endian NumPy dtype.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

#: What an array of this many dimensions holds in the MNIST family (for messages).
MNIST_KINDS = {1: "labels", 3: "images"}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20  # read 1 MiB at a time, so a progress bar can move


def _open_maybe_gzip(path: Path):
    """Open ``path`` for binary reading, decompressing on the fly if it is gzip data."""
    raw = open(path, "rb")
    is_gzip = raw.read(2) == _GZIP_MAGIC
    raw.seek(0)
    return gzip.GzipFile(fileobj=raw, mode="rb") if is_gzip else raw, raw


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise IDXFormatError(
            f"{path}: file ends inside the {what} ({len(data)} of {n} bytes). "
            "The file is truncated: delete it and get a fresh copy.", path=path,
        )
    return data


def _read_header(f, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    """Read and check the header of an open IDX stream; return ``(dtype, shape)``."""
    zero, code, ndim = struct.unpack(">HBB", _read_exact(f, 4, path, "4-byte header"))
    if zero != 0 or code not in IDX_DTYPES or ndim == 0:
        raise IDXFormatError(
            f"{path}: wrong magic number 0x{zero:04X}{code:02X}{ndim:02X}; an IDX file starts "
            f"with 0x0000, a type code in {{{', '.join(f'0x{c:02X}' for c in IDX_DTYPES)}}} "
            "and a dimension count >= 1 (MNIST images: 0x00000803, labels: 0x00000801). "
            "This is not an IDX file, or it is corrupt: check which file you passed.", path=path,
        )
    shape = struct.unpack(f">{ndim}I", _read_exact(f, 4 * ndim, path, "dimension sizes"))
    return IDX_DTYPES[code], shape


def read_idx(path, *, ndim: int | None = None, progress: bool | None = False) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a NumPy array.

    Parameters
    ----------
    path : str or os.PathLike
        The file. Gzip compression is detected from the content.
    ndim : int, optional
        The number of dimensions the array must have (MNIST: 3 for images, 1 for labels). A
        file whose header says otherwise is refused, before its data are read, as the wrong
        kind of file.
    progress : bool or None
        Show a progress bar while reading. ``None``: only when stderr is a terminal.

    Returns
    -------
    array : ndarray of the shape given in the header, native byte order
        E.g. ``(N, 28, 28) uint8`` for MNIST images, ``(N,) uint8`` for labels.

    Raises
    ------
    IDXFormatError
        Wrong magic number, wrong number of dimensions, truncated header or payload, trailing
        bytes, corrupt gzip data.
    DataReadError
        The file cannot be read (no permission, a disk error).
    """
    path = Path(path)
    try:
        stream, raw = _open_maybe_gzip(path)
        with raw, stream:
            dtype, shape = _read_header(stream, path)
            _check_ndim(shape, ndim, path)
            nbytes = math.prod(shape) * dtype.itemsize
            payload = _read_payload(stream, nbytes, path, progress)
            extra = stream.read(1)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # before OSError: BadGzipFile is one
        raise IDXFormatError(
            f"{path}: the gzip data is corrupt or cut short ({exc}). "
            "Delete the file and get a fresh copy.", path=path,
        ) from exc
    except OSError as exc:
        raise unreadable(path, exc) from exc
    if len(payload) != nbytes:
        raise IDXFormatError(
            f"{path}: truncated: the header says {shape} {dtype.name} = {nbytes:,} bytes of data "
            f"but the file holds only {len(payload):,}. Delete it and get a fresh copy.",
            path=path,
        )
    if extra:
        raise IDXFormatError(
            f"{path}: the file holds more data than its header says ({shape} {dtype.name} = "
            f"{nbytes:,} bytes): the header or the file is wrong. Get a fresh copy.", path=path,
        )
    array = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def unreadable(path: Path, exc: OSError) -> DataReadError:
    """The error for a data file or folder that exists but cannot be read."""
    if isinstance(exc, PermissionError):
        what = ("make it readable for your user (e.g. chmod a+r on files, a+rx on folders), or "
                "copy the data set into a folder of your own and pass that folder as {root}")
    else:
        what = "check the disk, or get a fresh copy of the file"
    return DataReadError(f"{path}: cannot be read ({exc.strerror or exc}): {what}.", path=path)


def _check_ndim(shape: tuple[int, ...], ndim: int | None, path: Path) -> None:
    if ndim is None or len(shape) == ndim:
        return
    found = MNIST_KINDS.get(len(shape), "neither images nor labels")
    wanted = f"a {ndim}-D array"
    if ndim in MNIST_KINDS:
        wanted = f"{MNIST_KINDS[ndim]}, {wanted}"
    raise IDXFormatError(
        f"{path}: wrong kind of file: its header describes a {len(shape)}-D array ({found}), "
        f"but this file should hold {wanted}. Are images and labels swapped, or is the file "
        "misnamed?", path=path,
    )


def _read_payload(stream, nbytes: int, path: Path, progress: bool | None) -> bytearray:
    """Read up to ``nbytes`` bytes in chunks; fewer if the file ends early.

    Chunked reading keeps memory bounded by the real file size even when a corrupt header
    claims an enormous array.
    """
    payload = bytearray()
    with tqdm(total=nbytes, unit="B", unit_scale=True, desc=f"reading {path.name}",
              disable=None if progress is None else not progress, leave=False) as bar:
        while len(payload) < nbytes:
            chunk = stream.read(min(_CHUNK, nbytes - len(payload)))
            if not chunk:
                break
            payload += chunk
            bar.update(len(chunk))
    return payload


def write_idx(path, array, *, compress: bool | None = None) -> Path:
    """Write an array as an IDX file, atomically (temporary file, then rename), with the
    permissions the umask gives new files.

    Parameters
    ----------
    path : str or os.PathLike
        Destination. Its folder must exist.
    array : array_like, at least 1-D, of dtype uint8, int8, int16, int32, float32 or float64
        E.g. ``(N, 28, 28) uint8`` images or ``(N,) uint8`` labels.
    compress : bool or None
        Gzip the file. ``None``: when the name ends in ``.gz``.

    Returns
    -------
    path : pathlib.Path
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_DTYPES.items()}
    if array.dtype.newbyteorder("=") not in codes:
        raise TypeError(
            f"IDX can store {sorted(str(d) for d in codes)}, not {array.dtype}; "
            "convert the array first (e.g. images to uint8)."
        )
    if not 1 <= array.ndim <= 255 or max(array.shape) >= 2**32:
        raise ValueError(f"IDX needs 1 to 255 dimensions each < 2**32, got shape {array.shape}")
    if compress is None:
        compress = path.suffix == ".gz"
    code = codes[array.dtype.newbyteorder("=")]
    header = struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    data = header + payload
    with atomic_write(path) as f:
        # mtime=0 makes the .gz bytes depend on the data only (reproducible checksums)
        f.write(gzip.compress(data, mtime=0) if compress else data)
    return path
