"""MNIST and Fashion-MNIST: find the files, download and verify them if needed, load them.

Where the files are looked for, in this order:

1. ``root=``, a folder the caller names. It may hold the four IDX files itself, or hold a
   per-data-set subfolder (``mnist/``, ``fashion-mnist/``) that does. A folder named this way
   is the only place searched: if it does not exist or lacks the files, that is an error, so
   a mistyped path never silently loads other data.
2. ``$COMPANION_DATA_DIR/<subfolder>``, e.g. ``COMPANION_DATA_DIR=../shared/data`` finds
   ``../shared/data/mnist/``.
3. System folders: Fashion-MNIST in ``/usr/share/datasets/fashion-mnist`` (Debian's package
   ``dataset-fashion-mnist``).
4. The per-user cache (``platformdirs.user_cache_dir("companion")/<subfolder>``, or
   ``cache_dir=``, or ``$COMPANION_CACHE_DIR``), where downloads go.
5. A download of the official files from the first mirror that works, verified against the
   published md5 checksums, written atomically into the cache.

Files in a folder of your own (1-3) are checked by their IDX headers and sizes, not by the
official checksums: such a folder may hold a subset (``../shared/data/mnist`` holds the first
22,699 training images). Files in the cache are always checked by md5. A folder holding only
some of the four files is an error (nothing is silently taken from elsewhere).
Each file may be gzipped (``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from .download import download_file, md5sum
from .errors import ChecksumError, DataError, DataNotFoundError, DownloadError, IDXFormatError
from .idx import read_idx, unreadable

ENV_DATA_DIR = "COMPANION_DATA_DIR"
ENV_CACHE_DIR = "COMPANION_CACHE_DIR"

#: The four published files, by role. The same names serve MNIST and Fashion-MNIST.
FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class DatasetSpec:
    """What defines a data set of the MNIST family: names, checksums, mirrors, sizes."""

    name: str                                  # for messages, e.g. "MNIST"
    folder: str                                # subfolder name under data and cache folders
    md5: dict[str, str]                        # role (a FILE_NAMES key) -> published md5
    mirrors: tuple[str, ...]                   # base URLs, tried in order
    classes: tuple[str, ...]                   # class names, index = label
    system_dirs: tuple[tuple[str, str], ...] = ()  # (folder, what installs it)
    n_train_published: int = 60_000
    image_shape: tuple[int, int] = (28, 28)


MNIST = DatasetSpec(
    name="MNIST",
    folder="mnist",
    md5={
        "train_images": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train_labels": "d53e105ee54ea40749a09fcbcd1e9432",
        "test_images": "9fb629c4189551a2d022fa330f9573f3",
        "test_labels": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    classes=tuple("0123456789"),
)

FASHION_MNIST = DatasetSpec(
    name="Fashion-MNIST",
    folder="fashion-mnist",
    md5={
        "train_images": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train_labels": "25c81989df183df01b3e8a0aad5dffbe",
        "test_images": "bef4ecab320f06d8554ea6380940ec79",
        "test_labels": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
             "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=(("/usr/share/datasets/fashion-mnist",
                  "Debian package dataset-fashion-mnist"),),
)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded data set: train, validation and test arrays, and where they came from.

    Attributes
    ----------
    x_train, x_val, x_test : (N, 1, 28, 28) float32/float64 in [0, 1], or uint8 in 0..255
        Images, NCHW. ``x_val`` has N = 0 when no validation split was asked for.
    y_train, y_val, y_test : (N,) int64
        Labels, 0..9.
    name : str
        "MNIST" or "Fashion-MNIST".
    source : str
        Where the files came from, in words (e.g. "local folder ($COMPANION_DATA_DIR)").
    classes : tuple of str
        Class names; ``classes[label]``.
    n_train_published : int
        Size of the official training set (60,000), to tell a subset from the whole.
    folder : pathlib.Path
        The folder the files were read from.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    classes: tuple[str, ...]
    n_train_published: int
    folder: Path | None = field(default=None, repr=False)

    @property
    def n_train(self) -> int:
        """Number of training images (after taking out the validation split)."""
        return len(self.x_train)

    @property
    def n_val(self) -> int:
        return len(self.x_val)

    @property
    def n_test(self) -> int:
        return len(self.x_test)

    @property
    def is_subset(self) -> bool:
        """True when the training files held fewer images than the official training set."""
        return self.n_train + self.n_val < self.n_train_published

    def summary(self) -> str:
        """One line saying what was loaded; states the number of training images used."""
        held = self.n_train + self.n_val
        if self.is_subset:
            origin = f"a {held:,}-image subset of the official {self.n_train_published:,}"
        else:
            origin = f"the official {self.n_train_published:,}"
        values = "0..255" if self.x_train.dtype == np.uint8 else "in [0, 1]"
        shape = "x".join(str(d) for d in self.x_train.shape[1:])
        return (
            f"{self.name}: {self.n_train:,} training images ({origin}), "
            f"{self.n_val:,} validation, {self.n_test:,} test; "
            f"images {shape} {self.x_train.dtype} {values}; from {self.source}"
        )

    __str__ = summary

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_val={self.n_val}, "
            f"n_test={self.n_test}, dtype={self.x_train.dtype}, source={self.source!r})"
        )


# ---------------------------------------------------------------------------- public loaders

def load_mnist(root=None, **options) -> Dataset:
    """Load MNIST digits. Same arguments as :func:`load_dataset`.

    Examples
    --------
    >>> data = load_mnist(validation_size=5000, seed=0)   # doctest: +SKIP
    >>> print(data.summary())                              # doctest: +SKIP
    """
    return load_dataset(MNIST, root, **options)


def load_fashion_mnist(root=None, **options) -> Dataset:
    """Load Fashion-MNIST (Zalando's clothing images). Same arguments as :func:`load_dataset`."""
    return load_dataset(FASHION_MNIST, root, **options)


def load_dataset(spec: DatasetSpec, root=None, *, validation_size=0, seed=0,
                 dtype=np.float32, as_uint8: bool = False, download: bool = True,
                 mirrors=None, cache_dir=None, timeout: float = 30.0,
                 progress: bool | None = None) -> Dataset:
    """Find (or download) a data set's four IDX files and load them.

    Parameters
    ----------
    spec : DatasetSpec
        ``MNIST`` or ``FASHION_MNIST``.
    root : str or os.PathLike, optional
        A folder holding the four files, or holding ``<spec.folder>/`` with them. When given,
        nothing else is searched and nothing is downloaded.
    validation_size : int or float
        Images taken out of the training set for validation: a count, or a fraction in [0, 1).
    seed : int or numpy.random.Generator
        Chooses the validation images (repeatable).
    dtype : float32 or float64
        Image dtype; values are scaled to [0, 1].
    as_uint8 : bool
        Return the raw uint8 pixels (0..255) instead; ``dtype`` is then ignored.
    download : bool
        Download the official files when they are nowhere else.
    mirrors : sequence of str, optional
        Base URLs to download from, in order; default ``spec.mirrors``.
    cache_dir : str or os.PathLike, optional
        The cache folder; default ``$COMPANION_CACHE_DIR``, else the per-user cache.
    timeout : float
        Seconds a download waits for the server.
    progress : bool or None
        Progress bars for downloads and reads. ``None``: only when stderr is a terminal.

    Returns
    -------
    Dataset
        ``x_*``: (N, 1, 28, 28) images, ``y_*``: (N,) int64 labels; see :class:`Dataset`.

    Raises
    ------
    DataNotFoundError
        The files are nowhere and cannot be downloaded, ``root`` does not hold them, or a
        folder holds only some of them.
    IDXFormatError
        A file is corrupt, truncated, or holds the wrong kind of array.
    DataReadError
        A file or folder cannot be read (permissions).
    ChecksumError
        A downloaded file does not match its published md5.
    DataError
        Images and labels of different counts.
    """
    if not as_uint8 and np.dtype(dtype) not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64 (or as_uint8=True), got {dtype}")
    if mirrors is not None:
        spec = replace(spec, mirrors=tuple(mirrors))
    paths, source = locate_files(spec, root, download=download, cache_dir=cache_dir,
                                 timeout=timeout, progress=progress)
    arrays = {role: read_idx(path, ndim=1 if role.endswith("labels") else 3, progress=progress)
              for role, path in paths.items()}
    _check_arrays(spec, arrays, paths)
    x_train, y_train, x_val, y_val = split_validation(
        arrays["train_images"], arrays["train_labels"], validation_size, seed)
    pixels = None if as_uint8 else dtype
    return Dataset(
        name=spec.name,
        x_train=_to_nchw(x_train, pixels), y_train=y_train.astype(np.int64),
        x_val=_to_nchw(x_val, pixels), y_val=y_val.astype(np.int64),
        x_test=_to_nchw(arrays["test_images"], pixels),
        y_test=arrays["test_labels"].astype(np.int64),
        source=source, classes=spec.classes, n_train_published=spec.n_train_published,
        folder=paths["train_images"].parent,
    )


def split_validation(x, y, validation_size, seed=0):
    """Split a training set into training and validation parts, at random but repeatably.

    Parameters
    ----------
    x : (N, ...) array
    y : (N,) array
    validation_size : int or float
        How many samples go to validation: a count in [0, N), or a fraction in [0, 1).
    seed : int or numpy.random.Generator

    Returns
    -------
    x_train, y_train, x_val, y_val : arrays
        Both parts keep the original order of the samples they hold.
    """
    n = len(x)
    if len(y) != n:
        raise ValueError(f"x and y must have the same length, got {n} and {len(y)}")
    if isinstance(validation_size, (bool, np.bool_)) or not isinstance(
            validation_size, (int, float, np.integer, np.floating)):
        raise TypeError(f"validation_size must be an int or a float, got {validation_size!r}")
    if isinstance(validation_size, (float, np.floating)):
        if not 0.0 <= validation_size < 1.0:
            raise ValueError(f"a fractional validation_size must be in [0, 1), "
                             f"got {validation_size}")
        n_val = round(validation_size * n)
    else:
        n_val = int(validation_size)
    if not 0 <= n_val < max(n, 1):
        raise ValueError(f"validation_size must be in [0, {n}) for {n} training samples, "
                         f"got {validation_size}")
    if n_val == 0:
        return x, y, x[:0], y[:0]
    order = np.random.default_rng(seed).permutation(n)
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


def _to_nchw(images: np.ndarray, dtype) -> np.ndarray:
    """(N, H, W) uint8 -> (N, 1, H, W), as uint8 (dtype None) or float scaled to [0, 1]."""
    images = images[:, np.newaxis]
    if dtype is None:
        return images
    out = images.astype(dtype)
    out /= 255
    return out


def _check_arrays(spec: DatasetSpec, arrays: dict, paths: dict) -> None:
    """Check the shapes, dtypes and counts of the four arrays read."""
    for role, array in arrays.items():
        expected = (None, *spec.image_shape) if role.endswith("images") else (None,)
        shape_ok = array.ndim == len(expected) and array.shape[1:] == expected[1:]
        if not shape_ok or array.dtype != np.uint8:
            wanted = "(N, " + ", ".join(map(str, spec.image_shape)) + ")" \
                if role.endswith("images") else "(N,)"
            raise IDXFormatError(
                f"{paths[role]}: expected {spec.name} {role.replace('_', ' ')} of shape {wanted} "
                f"uint8, the file holds {array.shape} {array.dtype}. Is it the right file "
                f"(it should be {FILE_NAMES[role]})?", path=paths[role],
            )
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{spec.name} {part} set: {paths[f'{part}_images'].name} holds "
                f"{len(images):,} images but {paths[f'{part}_labels'].name} holds "
                f"{len(labels):,} labels, in {paths[f'{part}_images'].parent}. They must come "
                "in pairs: replace both files with a matching pair.",
                path=paths[f"{part}_images"].parent,
            )
        if labels.size and labels.max() >= len(spec.classes):
            raise DataError(
                f"{paths[f'{part}_labels']}: label {labels.max()} found, but {spec.name} has "
                f"{len(spec.classes)} classes (0..{len(spec.classes) - 1}). "
                "Is it the right file?", path=paths[f"{part}_labels"],
            )


# ---------------------------------------------------------------------------- finding files

def default_cache_dir() -> Path:
    """The per-user cache folder: ``$COMPANION_CACHE_DIR``, else the platform's cache dir."""
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR]).expanduser()
    import platformdirs
    return Path(platformdirs.user_cache_dir("companion"))


def locate_files(spec: DatasetSpec, root=None, *, download: bool = True, cache_dir=None,
                 timeout: float = 30.0, progress: bool | None = None):
    """Find a data set's four files (downloading them if needed and allowed).

    A folder named with ``root`` is the only place searched; without it, the places listed
    in this module's docstring are searched in order.

    Returns
    -------
    paths : dict
        Role (``"train_images"``, ...) -> path of the file.
    source : str
        Where they were found, in words.
    """
    if root is not None:
        return _files_in_named_folder(spec, Path(root).expanduser()), NAMED_FOLDER
    searched = [] if os.environ.get(ENV_DATA_DIR) else [f"${ENV_DATA_DIR}: not set"]
    env_dir = Path(os.environ.get(ENV_DATA_DIR) or ".").expanduser()
    if os.environ.get(ENV_DATA_DIR) and not _is_dir(env_dir):  # a typo must not train on other data
        raise DataNotFoundError(
            f"${ENV_DATA_DIR} names the folder {env_dir}, which does not exist. Correct it (it "
            f"should hold {spec.folder}/ with the four {spec.name} files) or unset it.",
            path=env_dir)
    for folder, source in _local_folders(spec):
        paths = _files_in(folder)
        if len(paths) == len(FILE_NAMES):
            return paths, source
        if paths:
            raise DataNotFoundError(_incomplete_folder_message(spec, folder, source, paths),
                                    path=folder)
        state = "holds none of the files" if _is_dir(folder) else "does not exist"
        searched.append(f"{source}: {folder} ({state})")

    cache = Path(cache_dir or default_cache_dir()).expanduser() / spec.folder
    paths = _verified_cache_files(spec, cache)
    if len(paths) == len(FILE_NAMES):
        return paths, "per-user cache"
    searched.append(f"per-user cache: {cache} ({len(paths)} of {len(FILE_NAMES)} files)")

    if not download:
        raise DataNotFoundError(_not_found_message(spec, searched, download_failed=None))
    try:
        for role, name in FILE_NAMES.items():
            if role not in paths:
                urls = [base.rstrip("/") + "/" + name for base in spec.mirrors]
                paths[role] = download_file(urls, cache / name, spec.md5[role],
                                            timeout=timeout, progress=progress)
    except ChecksumError as exc:
        raise ChecksumError(
            f"{spec.name}: {exc}\nThe server sent a damaged or different file. Try again "
            "later; if it persists, download the files by hand, check their md5, put them in "
            "a folder and pass that folder as {root}.", path=cache,
        ) from exc
    except DownloadError as exc:
        raise DataNotFoundError(_not_found_message(spec, searched, download_failed=exc)) from exc
    return {role: paths[role] for role in FILE_NAMES}, "download"


#: ``Dataset.source`` of data read from the folder named with ``root=``.
NAMED_FOLDER = "local folder (named by the caller)"


def _files_in_named_folder(spec: DatasetSpec, root: Path) -> dict:
    """The four files in ``root`` or in ``root/<spec.folder>``; an error when they are not."""
    names = ", ".join(FILE_NAMES.values())
    what = (f"It should hold the four {spec.name} files ({names}; gzipped or not), or a "
            f"subfolder {spec.folder}/ holding them.")
    if not _is_dir(root):
        raise DataNotFoundError(
            f"{spec.name}: the data folder {root} ({{root}}) does not exist. Check the path. "
            + what, path=root)
    for folder in (root, root / spec.folder):
        paths = _files_in(folder)
        if len(paths) == len(FILE_NAMES):
            return paths
        if paths:
            raise DataNotFoundError(
                _incomplete_folder_message(spec, folder, "{root}", paths), path=folder)
    raise DataNotFoundError(
        f"{spec.name}: the data folder {root} ({{root}}) holds none of the {spec.name} files. "
        f"{what} A folder you name is the only place searched.", path=root)


def _local_folders(spec: DatasetSpec):
    """The folders of one's own to search when no folder is named, each with a description."""
    if os.environ.get(ENV_DATA_DIR):
        yield Path(os.environ[ENV_DATA_DIR]).expanduser() / spec.folder, \
            f"local folder (${ENV_DATA_DIR})"
    for folder, what in spec.system_dirs:
        yield Path(folder), f"system folder ({what})"


def _is_dir(folder: Path) -> bool:
    """``folder.is_dir()``, with a folder we may not look into reported as unreadable."""
    try:
        return folder.is_dir()
    except OSError as exc:
        raise unreadable(folder, exc) from exc


def _files_in(folder: Path) -> dict:
    """Role -> path for each of the four files present in ``folder`` (gzipped or not)."""
    found = {}
    for role, name in FILE_NAMES.items():
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            try:
                present = candidate.is_file()
            except OSError as exc:  # e.g. a folder without execute (search) permission
                raise unreadable(folder, exc) from exc
            if present:
                found[role] = candidate
                break
    return found


def _verified_cache_files(spec: DatasetSpec, cache: Path) -> dict:
    """Role -> path of each cached file whose md5 is right; wrong ones are deleted."""
    found = {}
    for role, name in FILE_NAMES.items():
        path = cache / name
        if not path.is_file():
            continue
        try:
            if md5sum(path) == spec.md5[role]:
                found[role] = path
                continue
            warnings.warn(f"{path} has the wrong md5 (damaged?); deleting it to download "
                          "it again", stacklevel=3)
            path.unlink()
        except OSError as exc:
            raise unreadable(path, exc) from exc
    return found


def _incomplete_folder_message(spec, folder, source, present) -> str:
    missing = [name for role, name in FILE_NAMES.items() if role not in present]
    have = [path.name for path in present.values()]
    where = f" The official files are at {spec.mirrors[0]}" if spec.mirrors else ""
    return (
        f"{spec.name}: the folder {folder} ({source}) holds {', '.join(have)} but not "
        f"{', '.join(missing)}. Put all four files there (gzipped or not), or point to "
        f"another folder.{where}"
    )


def _not_found_message(spec, searched, download_failed: Exception | None) -> str:
    """Where we looked and what to do; ``download_failed`` is None when downloads were off."""
    looked = "\n".join(f"  - {line}" for line in searched)
    names = ", ".join(FILE_NAMES.values())
    mirrors = "\n".join(f"      {url}" for url in spec.mirrors) or "      (none configured)"
    if download_failed is None:
        why = "Downloading was switched off (download=False)."
        hints = ["  - {download}: the files are downloaded once into the per-user cache;"]
    else:
        why = f"Downloading failed (no network?):\n{download_failed}"
        hints = ["  - connect to the internet and try again: the files are downloaded once "
                 "into the per-user cache;"]
    hints += [
        f"  - or download the four files ({names}) from one of\n{mirrors}\n"
        f"    into a folder, then pass that folder as {{root}} or set {ENV_DATA_DIR} to a folder "
        f"holding {spec.folder}/ with them;",
    ]
    hints += [f"  - or install {what} (it provides {folder});" for folder, what in spec.system_dirs]
    return (f"{spec.name} not found. {why}\nLooked in:\n{looked}\nTo get the data:\n"
            + "\n".join(hints).removesuffix(";") + ".")
