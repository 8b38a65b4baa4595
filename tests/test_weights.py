"""companion.weights: damaged and foreign files get one clear line (never advice to unpickle),
files get the permissions the umask gives, and the training-set size travels with the weights.
"""

import os
import stat

import numpy as np
import pytest

from companion.data import FILE_NAMES, write_idx
from companion.mnist import main
from companion.models import make_model
from companion.weights import (
    N_TRAIN_KEY, WeightsError, load_weights, read_weights, save_weights,
)


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory):
    """The bytes of a valid MLP weights file."""
    path = tmp_path_factory.mktemp("w") / "mlp.npz"
    save_weights(make_model("mlp", "numpy"), path, model_name="mlp", n_train=123)
    return path.read_bytes()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]


DAMAGES = {
    "zero bytes": lambda good: b"",
    "cut in half": lambda good: good[: len(good) // 2],
    "last bytes missing": lambda good: good[:-10],
    "a flipped byte in an array": lambda good: _flip(good, len(good) // 3),
    "random bytes": lambda good: np.random.default_rng(0).bytes(4000),
    "text": lambda good: b"weights: 0.1 0.2 0.3\n",
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_damaged_file_is_one_clear_line(tmp_path, good_bytes, damage):
    path = tmp_path / "w.npz"
    path.write_bytes(DAMAGES[damage](good_bytes))
    with pytest.raises(WeightsError) as info:
        load_weights(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message, message
    assert "pickle" not in message.lower(), f"never advise unpickling a file: {message}"
    assert "damaged" in message or "not a weights file" in message, message


def test_zero_byte_and_random_files_say_what_they_are(tmp_path):
    empty, random = tmp_path / "empty.npz", tmp_path / "random.npz"
    empty.write_bytes(b"")
    random.write_bytes(np.random.default_rng(1).bytes(3000))
    with pytest.raises(WeightsError, match="it is empty"):
        load_weights(empty)
    with pytest.raises(WeightsError, match="it is not an .npz archive"):
        load_weights(random)


def test_corrupted_archive_is_called_damaged(tmp_path, good_bytes):
    path = tmp_path / "w.npz"
    path.write_bytes(_flip(good_bytes, len(good_bytes) // 3))
    with pytest.raises(WeightsError, match=r"is damaged \(truncated or corrupted: .*CRC"):
        load_weights(path)


def test_an_archive_holding_objects_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, **{"0.weight": np.array([{"a": 1}], dtype=object)},
             __model__=np.array("mlp"))
    with pytest.raises(WeightsError, match="not plain arrays of numbers") as info:
        load_weights(path)
    assert "pickle" not in str(info.value).lower()


@pytest.mark.parametrize("damage", DAMAGES)
def test_load_of_a_damaged_file_exits_1_with_one_line(tmp_path, good_bytes, capsys, damage):
    path = tmp_path / "w.npz"
    path.write_bytes(DAMAGES[damage](good_bytes))
    status = main(["--load", str(path), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1, f"exit status {status}"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m companion.mnist: error:"), err
    assert str(path) in err and "Traceback" not in err and "pickle" not in err.lower(), err


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_file_gets_the_mode_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = save_weights(make_model("mlp", "numpy"), tmp_path / "w.npz", model_name="mlp")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.npz"]


def test_the_training_set_size_travels_with_the_weights(tmp_path):
    model = make_model("mlp", "numpy")
    with_size = save_weights(model, tmp_path / "a.npz", model_name="mlp", n_train=22_699)
    without = save_weights(model, tmp_path / "b.npz", model_name="mlp")
    saved = read_weights(with_size, None)
    assert (saved.model, saved.n_train) == ("mlp", 22_699)
    assert N_TRAIN_KEY not in saved.state and "__model__" not in saved.state
    assert read_weights(without, None).n_train is None
    bad = tmp_path / "c.npz"
    np.savez(bad, **model.state_dict(), __model__=np.array("mlp"),
             __n_train__=np.array([1.5, 2.5]))
    with pytest.raises(WeightsError, match="should be one integer"):
        read_weights(bad, None)


def _tiny_folder(folder, n_train):
    rng = np.random.default_rng(0)
    folder.mkdir()
    for role, n in (("train", n_train), ("test", 20)):
        write_idx(folder / FILE_NAMES[f"{role}_images"],
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(folder / FILE_NAMES[f"{role}_labels"], rng.integers(0, 10, n, dtype=np.uint8))
    return folder


def test_load_reports_the_size_the_weights_were_trained_on(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))
    folder = _tiny_folder(tmp_path / "d", n_train=60)
    model = make_model("mlp", "numpy")
    save_weights(model, tmp_path / "sized.npz", model_name="mlp", n_train=22_699)
    save_weights(model, tmp_path / "unsized.npz", model_name="mlp")
    assert main(["--load", str(tmp_path / "sized.npz"), "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    accuracy = [line for line in out.splitlines() if line.startswith("test accuracy")][0]
    assert "trained on 22,699 images" in accuracy, out  # the file's, not the folder's 60
    assert main(["--load", str(tmp_path / "unsized.npz"), "--data-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    accuracy = [line for line in out.splitlines() if line.startswith("test accuracy")][0]
    assert "trained on" not in accuracy, out  # not recorded: nothing said
