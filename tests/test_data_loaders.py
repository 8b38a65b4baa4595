"""Loading MNIST / Fashion-MNIST from local folders: search order, shapes, splits, bad input.

The real-data tests read the project's offline MNIST folder through $COMPANION_DATA_DIR (CI
sets it to the shared data folder) and Fashion-MNIST from Debian's dataset-fashion-mnist.
"""

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import companion.data.datasets as datasets_module
from companion.data import (
    FILE_NAMES, MNIST, DataError, DataNotFoundError, DataReadError, IDXFormatError,
    load_dataset, load_fashion_mnist, load_mnist, split_validation, write_idx,
)
from companion.data.datasets import NAMED_FOLDER

SHARED_TRAIN_COUNTS = [2258, 2581, 2215, 2369, 2222, 2010, 2235, 2356, 2163, 2290]
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No $COMPANION_DATA_DIR, an empty cache under tmp_path: only what a test puts counts."""
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def write_fake_dataset(folder, n_train=50, n_test=20, *, gz=True, seed=0):
    """Four small IDX files with random 28x28 images; returns the arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for role, array in arrays.items():
        name = FILE_NAMES[role] if gz else FILE_NAMES[role].removesuffix(".gz")
        write_idx(folder / name, array)
    return arrays


# ------------------------------------------------------------------------------ real data

@pytest.fixture(scope="module")
def shared_mnist(tmp_path_factory):
    if not os.environ.get("COMPANION_DATA_DIR"):
        pytest.skip("COMPANION_DATA_DIR is not set; point it at the shared data folder "
                    "(the one holding mnist/) to test loading real MNIST")
    empty_cache = tmp_path_factory.mktemp("cache")
    return load_mnist(download=False, cache_dir=empty_cache, progress=False)


def test_shared_mnist_has_the_documented_sizes_and_classes(shared_mnist):
    data = shared_mnist
    assert data.x_train.shape == (22_699, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert data.x_val.shape == (0, 1, 28, 28) and data.y_val.shape == (0,)
    assert data.x_train.min() == 0.0 and data.x_train.max() == 1.0
    assert np.bincount(data.y_train, minlength=10).tolist() == SHARED_TRAIN_COUNTS
    assert np.bincount(data.y_test, minlength=10).sum() == 10_000
    # the first official labels, train and test
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert data.source == "local folder ($COMPANION_DATA_DIR)"


def test_shared_mnist_says_it_is_a_subset(shared_mnist):
    assert shared_mnist.n_train == 22_699 and shared_mnist.is_subset
    text = shared_mnist.summary()
    assert "22,699 training images" in text and "subset of the official 60,000" in text
    assert str(shared_mnist) == text


def test_shared_mnist_through_root_as_uint8(shared_mnist, isolated):
    root = shared_mnist.folder  # the mnist/ folder itself, found through the env var
    assert root.name == "mnist"
    raw = load_mnist(root, as_uint8=True, download=False, progress=False)
    assert raw.source == NAMED_FOLDER and raw.x_test.dtype == np.uint8
    np.testing.assert_array_equal(raw.x_test / np.float32(255), shared_mnist.x_test)


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed "
                           "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_debian(isolated):
    data = load_fashion_mnist(as_uint8=True, download=False, progress=False)
    assert data.x_train.shape == (60_000, 1, 28, 28) and data.x_test.shape == (10_000, 1, 28, 28)
    assert data.source == "system folder (Debian package dataset-fashion-mnist)"
    # Fashion-MNIST is balanced: 6,000 training and 1,000 test images per class
    assert np.bincount(data.y_train).tolist() == [6000] * 10
    assert np.bincount(data.y_test).tolist() == [1000] * 10
    assert not data.is_subset and "(the official 60,000)" in data.summary()
    assert data.classes[9] == "Ankle boot"


# ------------------------------------------------------------------------------ local folders

@pytest.mark.parametrize("gz", [True, False])
def test_root_folder_itself_gzipped_or_not(isolated, gz):
    arrays = write_fake_dataset(isolated / "mine", gz=gz)
    data = load_mnist(isolated / "mine", as_uint8=True, download=False)
    np.testing.assert_array_equal(data.x_train[:, 0], arrays["train_images"])
    np.testing.assert_array_equal(data.y_test, arrays["test_labels"])
    assert data.y_train.dtype == np.int64 and data.x_train.shape == (50, 1, 28, 28)


def test_root_may_be_a_parent_holding_the_dataset_folder(isolated):
    arrays = write_fake_dataset(isolated / "parent" / "mnist")
    data = load_mnist(isolated / "parent", as_uint8=True, download=False)
    np.testing.assert_array_equal(data.x_test[:, 0], arrays["test_images"])
    assert data.folder == isolated / "parent" / "mnist"


def test_images_are_scaled_to_unit_interval_in_the_dtype_asked(isolated):
    arrays = write_fake_dataset(isolated / "d")
    for dtype in (np.float32, np.float64):
        data = load_mnist(isolated / "d", dtype=dtype, download=False)
        assert data.x_train.dtype == dtype and data.x_val.dtype == dtype
        np.testing.assert_array_equal(data.x_train[:, 0],
                                      arrays["train_images"].astype(dtype) / 255)
    with pytest.raises(TypeError, match="float32 or float64"):
        load_mnist(isolated / "d", dtype=np.int32, download=False)


def test_search_order_root_then_env_then_cache(isolated, monkeypatch):
    write_fake_dataset(isolated / "root", n_train=11)
    write_fake_dataset(isolated / "env" / "mnist", n_train=12)
    write_fake_dataset(isolated / "env" / "fashion-mnist", n_train=13)
    monkeypatch.setenv("COMPANION_DATA_DIR", str(isolated / "env"))
    assert load_mnist(isolated / "root", download=False).n_train == 11
    from_env = load_mnist(download=False)
    assert from_env.n_train == 12 and from_env.source == "local folder ($COMPANION_DATA_DIR)"
    assert load_fashion_mnist(download=False).n_train == 13


@pytest.fixture
def no_download(monkeypatch):
    """Fail the test if the loader tries to download anything."""
    def refuse(*args, **kwargs):
        raise AssertionError("the loader tried to download")
    monkeypatch.setattr(datasets_module, "download_file", refuse)


@pytest.mark.parametrize("make, says", [(lambda folder: None, "does not exist"),
                                         (Path.mkdir, "holds none of the MNIST files")])
def test_a_named_folder_is_the_only_place_searched(isolated, monkeypatch, no_download,
                                                   make, says):
    write_fake_dataset(isolated / "env" / "mnist")  # data elsewhere must not be taken instead
    monkeypatch.setenv("COMPANION_DATA_DIR", str(isolated / "env"))
    typo = isolated / "mnsit"
    make(typo)
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(typo)  # download=True, the default: still nothing is downloaded
    err = info.value
    assert err.path == typo and str(typo) in str(err) and says in str(err), str(err)
    assert "(root=)" in str(err) and "train-images-idx3-ubyte.gz" in str(err)
    assert "(--data-dir)" in err.render(root="--data-dir")
    assert "root=" not in err.render(root="--data-dir")


def test_cache_is_per_user_not_relative(monkeypatch, tmp_path):
    from companion.data import default_cache_dir
    monkeypatch.delenv("COMPANION_CACHE_DIR", raising=False)
    default = default_cache_dir()
    assert default.is_absolute() and "companion" in default.parts
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path


# ------------------------------------------------------------------------------ validation split

def test_split_validation_is_a_seeded_partition():
    x, y = np.arange(100) * 10, np.arange(100)
    x_tr, y_tr, x_va, y_va = split_validation(x, y, 20, seed=3)
    assert len(x_tr) == 80 and len(x_va) == 20
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_va])), np.arange(100))
    np.testing.assert_array_equal(x_va, y_va * 10)  # pairs kept together
    assert np.all(np.diff(y_tr) > 0) and np.all(np.diff(y_va) > 0)  # original order kept
    again = split_validation(x, y, 20, seed=3)
    np.testing.assert_array_equal(again[3], y_va)
    other = split_validation(x, y, 20, seed=4)
    assert not np.array_equal(other[3], y_va)
    assert len(split_validation(x, y, 0.25, seed=0)[3]) == 25


@pytest.mark.parametrize("size, error", [(1.0, ValueError), (-1, ValueError), (100, ValueError),
                                         ("10", TypeError), (True, TypeError)])
def test_split_validation_rejects_bad_sizes(size, error):
    with pytest.raises(error, match="validation_size"):
        split_validation(np.arange(100), np.arange(100), size)


def test_loader_validation_split_is_reproducible(isolated):
    write_fake_dataset(isolated / "d", n_train=50)
    a = load_mnist(isolated / "d", validation_size=0.2, seed=7, download=False)
    b = load_mnist(isolated / "d", validation_size=0.2, seed=7, download=False)
    c = load_mnist(isolated / "d", validation_size=0.2, seed=8, download=False)
    assert (a.n_train, a.n_val) == (40, 10) and a.x_val.shape == (10, 1, 28, 28)
    np.testing.assert_array_equal(a.x_val, b.x_val)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.x_val, c.x_val)
    assert "40 training images (a 50-image subset of the official 60,000), 10 validation" \
        in a.summary()


# ------------------------------------------------------------------------------ bad input

def test_folder_with_a_file_missing(isolated):
    write_fake_dataset(isolated / "d")
    (isolated / "d" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(isolated / "d", download=False)
    message = str(info.value)
    assert "but not t10k-labels-idx1-ubyte.gz" in message and str(isolated / "d") in message
    assert "Put all four files there" in message


def test_env_folder_with_a_file_missing_is_not_skipped_silently(isolated, monkeypatch):
    write_fake_dataset(isolated / "env" / "mnist")
    (isolated / "env" / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    monkeypatch.setenv("COMPANION_DATA_DIR", str(isolated / "env"))
    with pytest.raises(DataNotFoundError, match=r"\$COMPANION_DATA_DIR.*but not "
                                                r"train-images-idx3-ubyte.gz"):
        load_mnist(download=False)


def test_images_and_labels_of_different_counts(isolated):
    write_fake_dataset(isolated / "d", n_train=50)
    write_idx(isolated / "d" / "train-labels-idx1-ubyte.gz", np.zeros(49, dtype=np.uint8))
    with pytest.raises(DataError, match="holds 50 images but train-labels-idx1-ubyte.gz "
                                        "holds 49 labels") as info:
        load_mnist(isolated / "d", download=False)
    assert "replace both files with a matching pair" in str(info.value)


def test_labels_file_where_images_belong(isolated):
    write_fake_dataset(isolated / "d")
    path = isolated / "d" / "t10k-images-idx3-ubyte.gz"
    write_idx(path, np.zeros(20, dtype=np.uint8))
    with pytest.raises(IDXFormatError, match=r"wrong kind of file.*1-D array \(labels\).*"
                                             r"should hold images") as info:
        load_mnist(isolated / "d", download=False)
    assert info.value.path == path


def test_labels_file_with_the_images_magic_is_the_wrong_kind(isolated):
    write_fake_dataset(isolated / "d", n_train=300, gz=False)
    path = isolated / "d" / "train-labels-idx1-ubyte"
    data = bytearray(path.read_bytes())
    data[3] = 3  # 0x00000803, the images' magic number
    path.write_bytes(bytes(data))
    with pytest.raises(IDXFormatError, match="wrong kind of file") as info:
        load_mnist(isolated / "d", download=False)
    assert str(path) in str(info.value) and "truncated" not in str(info.value)


def test_images_of_the_wrong_size(isolated):
    write_fake_dataset(isolated / "d")
    write_idx(isolated / "d" / "t10k-images-idx3-ubyte.gz", np.zeros((20, 32, 32), np.uint8))
    with pytest.raises(IDXFormatError, match=r"expected MNIST test images of shape "
                                             r"\(N, 28, 28\) uint8.*\(20, 32, 32\) uint8"):
        load_mnist(isolated / "d", download=False)


def test_unreadable_data_file_names_it(isolated, monkeypatch):
    """Simulated: open() raises PermissionError for one file, as for a file of mode 000 (tests
    may run as root, which reads such files anyway)."""
    write_fake_dataset(isolated / "d")
    denied = isolated / "d" / "train-labels-idx1-ubyte.gz"
    real_open = open

    def fake_open(file, *args, **kwargs):
        if Path(file) == denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("companion.data.idx.open", fake_open, raising=False)
    with pytest.raises(DataReadError) as info:
        load_mnist(isolated / "d", download=False)
    assert info.value.path == denied and str(denied) in str(info.value)
    assert "Permission denied" in str(info.value)


def test_folder_that_cannot_be_searched_names_it(isolated, monkeypatch):
    """Simulated: a folder without search (x) permission makes Path.is_file raise."""
    write_fake_dataset(isolated / "d")
    real_is_file = Path.is_file

    def fake_is_file(path):
        if path.parent == isolated / "d":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_is_file(path)

    monkeypatch.setattr(Path, "is_file", fake_is_file)
    with pytest.raises(DataReadError, match="cannot be read") as info:
        load_mnist(isolated / "d", download=False)
    assert info.value.path == isolated / "d"


def test_label_out_of_range(isolated):
    write_fake_dataset(isolated / "d")
    write_idx(isolated / "d" / "t10k-labels-idx1-ubyte.gz", np.full(20, 12, dtype=np.uint8))
    with pytest.raises(DataError, match="label 12 found, but MNIST has 10 classes"):
        load_mnist(isolated / "d", download=False)


def test_truncated_file_in_a_folder(isolated):
    write_fake_dataset(isolated / "d", gz=False)
    path = isolated / "d" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(IDXFormatError, match="truncated") as info:
        load_mnist(isolated / "d", download=False)
    assert str(path) in str(info.value)


def test_no_data_anywhere_and_download_switched_off(isolated):
    with pytest.raises(DataNotFoundError) as info:
        load_mnist(download=False)
    message = str(info.value)
    for expected in ("MNIST not found", "download=False", "call again with download=True",
                     "$COMPANION_DATA_DIR: not set", "COMPANION_DATA_DIR to a folder",
                     str(isolated / "cache" / "mnist"), "pass that folder as root=",
                     MNIST.mirrors[0], "train-images-idx3-ubyte.gz"):
        assert expected in message, f"{expected!r} missing from:\n{message}"
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ValueError)


def test_repr_is_short_and_has_no_arrays(isolated):
    write_fake_dataset(isolated / "d")
    text = repr(load_mnist(isolated / "d", download=False))
    assert text.startswith("Dataset(name='MNIST', n_train=50") and "array" not in text


def test_explicit_spec_loads_like_the_wrapper(isolated):
    write_fake_dataset(isolated / "d")
    a = load_dataset(MNIST, isolated / "d", download=False)
    b = load_mnist(isolated / "d", download=False)
    np.testing.assert_array_equal(a.x_train, b.x_train)


def test_a_data_dir_variable_naming_no_folder_is_an_error_not_a_fall_through(isolated, monkeypatch):
    """A typo in $COMPANION_DATA_DIR must not silently train on the cache or a download."""
    monkeypatch.setenv("COMPANION_DATA_DIR", str(isolated / "typo"))
    with pytest.raises(DataNotFoundError, match=r"\$COMPANION_DATA_DIR names the folder .*typo"):
        load_mnist(download=True, progress=False)
