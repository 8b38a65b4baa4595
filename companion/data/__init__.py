"""Data for the book: IDX files, MNIST and Fashion-MNIST, mini-batches.

>>> from companion.data import load_mnist, iterate_minibatches      # doctest: +SKIP
>>> data = load_mnist(validation_size=5000, seed=0)                  # doctest: +SKIP
>>> print(data.summary())                                            # doctest: +SKIP

Where the files are looked for (a folder you name, ``$COMPANION_DATA_DIR``, system folders,
the per-user cache, a verified download) is explained in :mod:`companion.data.datasets`.
"""

from .augment import random_shift
from .batching import BatchLoader, iterate_minibatches, num_batches
from .datasets import (
    ENV_CACHE_DIR,
    ENV_DATA_DIR,
    FASHION_MNIST,
    FILE_NAMES,
    MNIST,
    Dataset,
    DatasetSpec,
    default_cache_dir,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    locate_files,
    split_validation,
)
from .download import download_file, md5sum
from .errors import (
    ChecksumError, DataError, DataNotFoundError, DataReadError, DownloadError, IDXFormatError,
)
from .idx import read_idx, write_idx

__all__ = [
    "random_shift",
    "BatchLoader", "iterate_minibatches", "num_batches",
    "ENV_CACHE_DIR", "ENV_DATA_DIR", "FASHION_MNIST", "FILE_NAMES", "MNIST",
    "Dataset", "DatasetSpec", "default_cache_dir", "load_dataset", "load_fashion_mnist",
    "load_mnist", "locate_files", "split_validation",
    "download_file", "md5sum",
    "ChecksumError", "DataError", "DataNotFoundError", "DataReadError", "DownloadError",
    "IDXFormatError",
    "read_idx", "write_idx",
]
