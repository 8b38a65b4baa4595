"""IDX files: byte layout, round trips, and every kind of damaged file."""

import builtins
import errno
import gzip
import os
import stat

import numpy as np
import pytest

import companion.data.idx as idx_module
from companion.data import DataError, DataReadError, IDXFormatError, read_idx, write_idx


def images_and_labels(n=7, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n, dtype=np.uint8))


def test_header_bytes_follow_the_idx_layout(tmp_path):
    path = write_idx(tmp_path / "a-idx2-ubyte", np.arange(6, dtype=np.uint8).reshape(2, 3))
    expected = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5])
    assert path.read_bytes() == expected


def test_multibyte_values_are_written_big_endian(tmp_path):
    path = write_idx(tmp_path / "b", np.array([1, 258], dtype=np.int32))
    assert path.read_bytes() == bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 1, 2])


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip_images_and_labels(tmp_path, name):
    images, labels = images_and_labels()
    write_idx(tmp_path / name, images)
    write_idx(tmp_path / ("labels-" + name), labels)
    back_images = read_idx(tmp_path / name)
    back_labels = read_idx(tmp_path / ("labels-" + name))
    assert back_images.dtype == np.uint8 and back_images.shape == (7, 28, 28)
    np.testing.assert_array_equal(back_images, images)
    np.testing.assert_array_equal(back_labels, labels)
    is_gzip = (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"
    assert is_gzip == name.endswith(".gz")


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32", "float64"])
def test_round_trip_other_idx_types(tmp_path, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 11).astype(dtype) * 3
    back = read_idx(write_idx(tmp_path / "x.gz", array))
    assert back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, array)


def test_gzip_is_detected_from_content_not_name(tmp_path):
    images, _ = images_and_labels()
    path = write_idx(tmp_path / "no-suffix", images, compress=True)
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(path), images)


def test_write_leaves_no_temporary_files(tmp_path):
    write_idx(tmp_path / "x.gz", images_and_labels()[0])
    assert [p.name for p in tmp_path.iterdir()] == ["x.gz"]


def test_write_rejects_types_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x", np.arange(3, dtype=np.int64))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.uint8(3))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("first_bytes", [b"\x12\x34\x08\x03", b"\x00\x00\x07\x03",
                                         b"\x00\x00\x08\x00"])
def test_wrong_magic_number(tmp_path, first_bytes):
    path = tmp_path / "bad"
    path.write_bytes(first_bytes + bytes(100))
    with pytest.raises(IDXFormatError, match="wrong magic number") as info:
        read_idx(path)
    assert "0x00000803" in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("size, where", [(0, "4-byte header"), (3, "4-byte header"),
                                         (9, "dimension sizes")])
def test_truncated_header(tmp_path, size, where):
    good = write_idx(tmp_path / "good", images_and_labels()[0]).read_bytes()
    path = tmp_path / "short"
    path.write_bytes(good[:size])
    with pytest.raises(IDXFormatError, match=where):
        read_idx(path)


@pytest.mark.parametrize("name", ["x", "x.gz"])
def test_truncated_payload_reports_sizes(tmp_path, name):
    images = images_and_labels()[0]
    raw = write_idx(tmp_path / "raw", images).read_bytes()[:-100]
    path = tmp_path / name
    path.write_bytes(gzip.compress(raw) if name.endswith("gz") else raw)
    with pytest.raises(IDXFormatError, match="truncated") as info:
        read_idx(path)
    assert f"{7 * 28 * 28:,}" in str(info.value)
    assert f"{7 * 28 * 28 - 100:,}" in str(info.value)


def test_extra_bytes_after_payload(tmp_path):
    path = write_idx(tmp_path / "x", np.arange(5, dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(IDXFormatError, match="more data than its header"):
        read_idx(path)


def test_header_claiming_a_huge_array_fails_cleanly(tmp_path):
    path = tmp_path / "huge"
    path.write_bytes(bytes([0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0x10, 0, 0, 0, 0x10, 0])
                     + bytes(1000))
    with pytest.raises(IDXFormatError, match="truncated"):
        read_idx(path)


def test_cut_gzip_stream(tmp_path):
    gz = write_idx(tmp_path / "x.gz", images_and_labels()[0]).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(IDXFormatError, match="gzip data is corrupt or cut short"):
        read_idx(path)


def test_corrupt_gzip_stream(tmp_path):
    gz = bytearray(write_idx(tmp_path / "x.gz", images_and_labels()[0]).read_bytes())
    gz[len(gz) // 2: len(gz) // 2 + 64] = bytes(64)
    path = tmp_path / "corrupt.gz"
    path.write_bytes(bytes(gz))
    with pytest.raises(IDXFormatError, match="Delete the file"):
        read_idx(path)


def test_progress_bar_is_shown_when_asked(tmp_path, capsys):
    path = write_idx(tmp_path / "images.gz", images_and_labels()[0])
    read_idx(path, progress=True)
    assert "reading images.gz" in capsys.readouterr().err
    read_idx(path, progress=False)
    assert capsys.readouterr().err == ""


# ------------------------------------------------------------------------------ kinds, modes

def test_labels_carrying_the_images_magic_are_the_wrong_kind_not_truncated(tmp_path):
    _, labels = images_and_labels(n=500)
    path = write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    data = bytearray(path.read_bytes())
    data[3] = 3  # the images' magic 0x00000803 on a labels file
    path.write_bytes(bytes(data))
    with pytest.raises(IDXFormatError, match="wrong kind of file") as info:
        read_idx(path, ndim=1)
    message = str(info.value)
    assert "3-D array (images)" in message and "labels, a 1-D array" in message, message
    assert "truncated" not in message and info.value.path == path


def test_images_where_labels_belong_are_the_wrong_kind(tmp_path):
    images, _ = images_and_labels()
    path = write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", images)
    with pytest.raises(IDXFormatError, match=r"3-D array \(images\).*should hold labels"):
        read_idx(path, ndim=1)
    assert read_idx(path).shape == (7, 28, 28)  # without ndim, any IDX array is read


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = write_idx(tmp_path / "labels.gz", np.arange(5, dtype=np.uint8))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0o600


def _deny_reading(monkeypatch, denied):
    """Make ``open`` in companion.data.idx raise PermissionError for ``denied``, as for a file
    of mode 000. (Tests may run as root, whom chmod 000 does not stop.)"""
    def fake_open(file, *args, **kwargs):
        if os.fspath(file) == os.fspath(denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(file))
        return builtins.open(file, *args, **kwargs)
    monkeypatch.setattr(idx_module, "open", fake_open, raising=False)


def test_unreadable_file_is_a_data_error_naming_it(tmp_path, monkeypatch):
    path = write_idx(tmp_path / "train-images-idx3-ubyte.gz", images_and_labels()[0])
    _deny_reading(monkeypatch, path)
    with pytest.raises(DataReadError) as info:
        read_idx(path)
    err = info.value
    assert isinstance(err, DataError) and isinstance(err, OSError) and err.path == path
    assert str(path) in str(err) and "Permission denied" in str(err)
    assert "chmod" in str(err) and "pass that folder as root=" in str(err)
    assert "pass that folder as --data-dir" in err.render(root="--data-dir")


def _can_open(path):
    try:
        path.open("rb").close()
    except PermissionError:
        return False
    return True


def test_unreadable_file_for_real(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    path.chmod(0)
    try:
        if _can_open(path):
            pytest.skip("file permissions do not apply to this process (root, or no POSIX "
                        "modes); the simulated test above covers it")
        with pytest.raises(DataReadError, match="Permission denied"):
            read_idx(path)
    finally:
        path.chmod(0o644)
