"""``python -m companion.mnist``: train, save, reload into both implementations; clear errors.

Everything runs on a tiny generated MNIST folder (200 random training images, 50 test images in
tmp_path), so the tests take seconds and need neither the real data nor a network.
"""

import errno
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from companion.data import FILE_NAMES, write_idx
from companion.mnist import RECIPES, main
from companion.models import make_model
from companion.weights import WeightsError, load_weights, save_weights
from companion.train import predict

N_TRAIN, N_TEST = 200, 50


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No $COMPANION_DATA_DIR, an empty cache: only the folder a test names counts."""
    monkeypatch.delenv("COMPANION_DATA_DIR", raising=False)
    monkeypatch.setenv("COMPANION_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def tiny_mnist(tmp_path):
    """A folder with the four MNIST files holding random 28x28 images and labels."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    for role, array in arrays.items():
        write_idx(folder / FILE_NAMES[role], array)
    return folder, arrays


def _test_images(arrays, dtype=np.float32):
    return (arrays["test_images"][:, None] / np.float32(255)).astype(dtype)


@pytest.mark.parametrize("model", ["mlp", "lenet"])
def test_train_save_and_reload_into_both_implementations(tiny_mnist, tmp_path, capsys, model):
    folder, arrays = tiny_mnist
    weights = tmp_path / f"{model}.npz"
    status = main(["--model", model, "--impl", "numpy", "--epochs", "1", "--batch-size", "50",
                   "--data-dir", str(folder), "--save", str(weights), "--no-progress"])
    out = capsys.readouterr().out
    assert status == 0, f"main returned {status}; output:\n{out}"
    assert "200 training images" in out, f"the summary does not state the training-set size:\n{out}"
    assert "test accuracy:" in out and "epoch 1:" in out, f"missing report lines:\n{out}"
    assert weights.is_file(), f"no weights file written at {weights}"
    assert not list(tmp_path.glob(".*.part")), "a temporary file was left behind"

    x = _test_images(arrays)
    np_model = load_weights(weights, impl="numpy")
    t_model = load_weights(weights, impl="torch", device="cpu")
    logits_np = predict(np_model, x, logits=True)
    logits_t = predict(t_model, x, logits=True)
    # float32 on both sides, the same weights: the logits differ only by summation order.
    np.testing.assert_allclose(logits_np, logits_t, rtol=1e-4, atol=1e-5,
                               err_msg=f"{model}: NumPy and torch logits of the reloaded weights")
    assert np.array_equal(logits_np.argmax(1), logits_t.argmax(1)), \
        f"{model}: reloaded NumPy and torch models predict different labels"


def test_saved_weights_are_the_trained_weights_and_load_in_float64(tiny_mnist, tmp_path, capsys):
    folder, arrays = tiny_mnist
    weights = tmp_path / "mlp.npz"
    assert main(["--model", "mlp", "--impl", "torch", "--device", "cpu", "--epochs", "1",
                 "--data-dir", str(folder), "--save", str(weights), "--no-progress"]) == 0
    with np.load(weights) as f:
        keys = sorted(f.files)
        assert str(f["__model__"]) == "mlp", "the file does not record its model"
        assert int(f["__n_train__"]) == N_TRAIN, "the file does not record the training size"
    assert keys == ["1.bias", "1.weight", "3.bias", "3.weight", "__model__", "__n_train__"], \
        f"weights file keys {keys} are not the state-dict keys"
    m64 = load_weights(weights, impl="numpy", dtype=np.float64)
    assert m64.parameters()[0].dtype == np.float64, "float64 load gave another dtype"
    # --load evaluates the saved weights: the same accuracy line as after training
    trained = capsys.readouterr().out.splitlines()
    assert main(["--model", "mlp", "--impl", "numpy", "--load", str(weights),
                 "--data-dir", str(folder), "--no-progress"]) == 0
    reloaded = capsys.readouterr().out
    acc_trained = [line for line in trained if line.startswith("test accuracy:")][0].split()[2]
    acc_reloaded = [line for line in reloaded.splitlines()
                    if line.startswith("test accuracy:")][0].split()[2]
    assert acc_trained == acc_reloaded, \
        f"accuracy after training {acc_trained} differs from the reloaded weights' {acc_reloaded}"


def test_load_without_model_takes_the_model_the_file_records(tiny_mnist, tmp_path, capsys):
    folder, _ = tiny_mnist
    weights = tmp_path / "lenet.npz"
    assert main(["--model", "lenet", "--epochs", "1", "--batch-size", "50", "--data-dir",
                 str(folder), "--save", str(weights), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["--load", str(weights), "--data-dir", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "loaded lenet weights" in out, f"--load did not take the recorded model:\n{out}"
    assert "; lenet, numpy," in out, f"the accuracy line names another model:\n{out}"


@pytest.mark.parametrize("argv, expected", [
    (["--model", "resnet"], "invalid choice: 'resnet'"),
    (["--epochs", "-1"], "expected a positive integer, got -1"),
    (["--epochs", "0"], "expected a positive integer, got 0"),
    (["--batch-size", "0"], "expected a positive integer, got 0"),
    (["--lr", "-0.1"], "expected a finite number > 0"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--impl", "numpy", "--device", "cuda"], "--device applies to --impl torch only"),
    (["--save", "weights.txt"], "must name a .npz file"),
    (["--lr-decay", "0.5"], "--lr-decay applies to --lr-schedule exponential only"),
    (["--augment", "-2"], "expected an integer >= 0, got -2"),
    (["--save", "no-such-folder/cnn.npz"], "the folder no-such-folder does not exist"),
])
def test_bad_arguments_exit_2_with_a_message(argv, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2, f"{argv}: exit code {exc.value.code}, expected 2"
    assert expected in err, f"{argv}: message {err!r} lacks {expected!r}"


def test_unset_options_come_from_the_books_recipe(tiny_mnist, capsys):
    folder, _ = tiny_mnist
    assert main(["--model", "mlp", "--data-dir", str(folder), "--no-progress"]) == 0
    out = capsys.readouterr().out
    recipe = RECIPES["mlp"]
    expected = (f"for {recipe['epochs']} epoch(s), batch size {recipe['batch_size']}, "
                f"Adam lr {recipe['lr']:g} falling linearly to 0, random shifts up to "
                f"{recipe['shift']} px")
    assert expected in out, f"the recipe's settings are not used:\n{out}"
    assert f"epoch {recipe['epochs']}:" in out


def test_help_exits_0_and_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    for option in ("--model", "--impl", "--epochs", "--data-dir", "--save", "--load", "--dtype"):
        assert option in out, f"--help does not mention {option}"


def test_missing_data_folder_gives_a_clean_error(tmp_path, capsys):
    missing = tmp_path / "no-such-folder"
    status = main(["--data-dir", str(missing), "--epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1, f"exit status {status}, expected 1"
    assert str(missing) in err and "does not exist" in err, f"unclear message: {err!r}"
    assert "train-images-idx3-ubyte.gz" in err, f"the message does not say what goes there: {err!r}"
    assert "Traceback" not in err


def test_empty_data_folder_gives_a_clean_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    status = main(["--data-dir", str(empty), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and str(empty) in err and "none of the MNIST files" in err, err


def test_incomplete_data_folder_names_the_missing_files(tiny_mnist, capsys):
    folder, _ = tiny_mnist
    (folder / FILE_NAMES["test_labels"]).unlink()
    status = main(["--data-dir", str(folder), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and "t10k-labels-idx1-ubyte.gz" in err, err


def test_data_errors_speak_the_command_lines_language(tmp_path, capsys):
    missing = tmp_path / "mnsit"
    assert main(["--data-dir", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "(--data-dir)" in err and "root=" not in err and "download=" not in err, err


def test_unreadable_data_file_is_one_error_not_a_traceback(tiny_mnist, capsys, monkeypatch):
    """Simulated: open() raises PermissionError for one file, as for a file of mode 000 (tests
    may run as root, which reads such files anyway)."""
    folder, _ = tiny_mnist
    denied = folder / FILE_NAMES["train_images"]
    real_open = open

    def fake_open(file, *args, **kwargs):
        if str(file) == str(denied):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("companion.data.idx.open", fake_open, raising=False)
    assert main(["--data-dir", str(folder)]) == 1
    err = capsys.readouterr().err
    assert str(denied) in err and "Permission denied" in err and "Traceback" not in err, err
    assert "pass that folder as --data-dir" in err, err


# ------------------------------------------------------------------------------ threads

def test_threads_are_chosen_printed_and_given_back(tiny_mnist, capsys, monkeypatch):
    from threadpoolctl import threadpool_info

    import companion.mnist as cli

    folder, _ = tiny_mnist
    seen = {}
    real_fit = cli.fit

    def spying_fit(*args, **kwargs):
        seen["blas"] = {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
        seen["torch"] = torch.get_num_threads()
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(cli, "fit", spying_fit)
    torch_before = torch.get_num_threads()
    for argv, n in ((["--threads", "2"], 2), ([], 1)):
        assert main(["--model", "mlp", "--epochs", "1", "--data-dir", str(folder), *argv]) == 0
        out = capsys.readouterr().out
        assert f"threads: BLAS {n} (" in out and f"torch {n}" in out, out
        assert seen == {"blas": {n}, "torch": n}, f"{argv}: pools were {seen} while training"
    assert torch.get_num_threads() == torch_before, "main() left torch's thread count changed"


def test_threads_0_leaves_the_libraries_defaults(tiny_mnist, capsys):
    folder, _ = tiny_mnist
    assert main(["--threads", "0", "--model", "mlp", "--epochs", "1",
                 "--data-dir", str(folder)]) == 0
    assert "--threads 0: the libraries' defaults" in capsys.readouterr().out


# ------------------------------------------------------------------------------ --save

def test_save_into_a_folder_that_cannot_be_written_fails_before_training(
        tiny_mnist, tmp_path, capsys, monkeypatch):
    """Simulated: creating a file in the folder raises PermissionError (as root, a folder of
    mode 0o500 can still be written; the real case is tested below for other users)."""
    import companion.mnist as cli

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("training started"))
    folder, _ = tiny_mnist
    with pytest.raises(SystemExit) as exc:
        main(["--data-dir", str(folder), "--save", str(tmp_path / "w.npz")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "cannot write in the folder" in err, err
    assert "Permission denied" in err and "before training" in err, err


def _can_create_in(folder):
    try:
        (folder / "probe").touch()
    except PermissionError:
        return False
    (folder / "probe").unlink()
    return True


def test_save_into_a_read_only_folder_for_real(tiny_mnist, tmp_path, capsys):
    folder, _ = tiny_mnist
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        if _can_create_in(locked):
            pytest.skip("folder permissions do not apply to this process (root, or no POSIX "
                        "modes); the simulated test above covers it")
        with pytest.raises(SystemExit):
            main(["--data-dir", str(folder), "--save", str(locked / "w.npz")])
    finally:
        locked.chmod(0o700)
    assert "cannot write in the folder" in capsys.readouterr().err


# ------------------------------------------------------------------------------ Ctrl-C, progress

def test_ctrl_c_during_training_is_one_line_and_status_130(tiny_mnist, tmp_path, capsys,
                                                           monkeypatch):
    import companion.mnist as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "fit", interrupted)
    folder, _ = tiny_mnist
    torch_before = torch.get_num_threads()
    status = main(["--data-dir", str(folder), "--save", str(tmp_path / "w.npz")])
    err = capsys.readouterr().err
    assert status == 130, f"exit status {status}"
    assert err.strip().splitlines() == ["python -m companion.mnist: interrupted; nothing was "
                                        "saved"], err
    assert not list(tmp_path.glob("*.npz")) and not list(tmp_path.glob(".*.part"))
    assert torch.get_num_threads() == torch_before


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT, as Ctrl-C in a terminal does")
def test_ctrl_c_for_real(tiny_mnist, tmp_path):
    """The command in its own process, interrupted with SIGINT during its second epoch."""
    folder, _ = tiny_mnist
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion.mnist", "--model", "mlp", "--epochs", "1000",
         "--data-dir", str(folder), "--save", str(tmp_path / "w.npz")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:  # wait until training runs
            if line.startswith("epoch 1:"):
                break
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, f"exit status {proc.returncode}; stderr:\n{err}"
    assert err.strip().splitlines()[-1:] == ["python -m companion.mnist: interrupted; nothing "
                                             "was saved"], err
    assert "Traceback" not in err and not list(tmp_path.glob("*.npz"))


def test_no_progress_bar_when_stderr_is_not_a_terminal_unless_asked(tiny_mnist, capsys):
    folder, _ = tiny_mnist
    argv = ["--model", "mlp", "--epochs", "1", "--data-dir", str(folder)]
    assert main(argv) == 0  # under capsys, stderr is not a terminal
    assert "epoch 1/1" not in capsys.readouterr().err
    assert main([*argv, "--progress"]) == 0
    assert "epoch 1/1" in capsys.readouterr().err


def test_weights_of_another_model_are_refused(tiny_mnist, tmp_path, capsys):
    folder, _ = tiny_mnist
    weights = tmp_path / "mlp.npz"
    save_weights(_fresh_model("mlp"), weights, model_name="mlp")
    status = main(["--model", "lenet", "--load", str(weights), "--data-dir", str(folder),
                   "--no-progress"])
    err = capsys.readouterr().err
    assert status == 1 and "holds weights of the model 'mlp', not 'lenet'" in err, err
    with pytest.raises(WeightsError, match="not 'cnn'"):
        load_weights(weights, model="cnn", impl="torch", device="cpu")


def test_weights_that_do_not_fit_are_refused(tmp_path):
    state = _fresh_model("mlp").state_dict()
    state["1.weight"] = state["1.weight"][:, :100]  # wrong shape
    bad = tmp_path / "bad.npz"
    np.savez(bad, **state, __model__=np.array("mlp"))
    with pytest.raises(WeightsError, match=r"does not fit the model 'mlp'.*1\.weight"):
        load_weights(bad, impl="numpy")
    with pytest.raises(WeightsError, match=r"does not fit the model 'mlp'.*1\.weight"):
        load_weights(bad, impl="torch", device="cpu")
    nameless = tmp_path / "nameless.npz"
    np.savez(nameless, **{"0.weight": np.zeros(3)})
    with pytest.raises(WeightsError, match="pass model="):
        load_weights(nameless)
    with pytest.raises(WeightsError, match="missing keys"):
        load_weights(nameless, model="mlp")
    with pytest.raises(WeightsError, match="does not exist"):
        load_weights(tmp_path / "absent.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(WeightsError, match="is not a weights file: it is not an .npz archive"):
        load_weights(garbage)


def _fresh_model(name):
    """A freshly initialised NumPy model (float32), to save without training."""
    return make_model(name, "numpy")


def test_make_model_gives_both_implementations_the_same_initial_weights():
    np_model = make_model("lenet", "numpy", seed=3)
    t_model = make_model("lenet", "torch", seed=3, device="cpu")
    for name, tensor in t_model.state_dict().items():
        assert np.array_equal(tensor.numpy(), np_model.state_dict()[name]), \
            f"torch {name} differs from the NumPy initial weights"
    assert next(t_model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("argv", [["--epochs", "0"], ["--model", "resnet"], ["--lr", "fast"],
                                  ["--bogus"]])
def test_a_bad_argument_gets_one_line_and_status_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m companion.mnist: error: "), err
