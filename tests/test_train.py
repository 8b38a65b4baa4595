"""The training loop: History content, seeded repeatability, NumPy/torch lock step, metrics.

Small synthetic problems only (a few hundred samples), so the whole file runs in seconds.
"""

import functools

import numpy as np
import pytest

from companion import models
from companion.data import random_shift

from companion.torch_impl import numpy_to_torch
from companion.train import History, accuracy, confusion_matrix, evaluate, fit, predict
from helpers_models import numpy_model, torch_model, twins


def _blobs(n=240, seed=0, dtype=np.float64):
    """Ten well-separated classes of 1x28x28 'images': class k lights up row block k."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = 0.1 * rng.random((n, 1, 28, 28))
    rows = np.arange(28)[None, :] // 3 == y[:, None]  # (n, 28): the rows of each sample's class
    x[:, 0] += 0.8 * rows[:, :, None]
    return x.astype(dtype), y.astype(np.int64)


def _twins(name="mlp", dtype=np.float64, seed=0):
    spec = name
    np_model = numpy_model(spec, dtype=dtype, seed=seed)
    t_model = numpy_to_torch(np_model, torch_model(spec, dtype=dtype, device="cpu"))
    return np_model, t_model


def test_history_has_one_entry_per_epoch_and_per_step():
    x, y = _blobs()
    x_val, y_val = _blobs(60, seed=1)
    model = numpy_model("mlp", seed=0)
    h = fit(model, (x, y, x_val, y_val), epochs=3, batch_size=50, progress=False)
    assert isinstance(h, History) and h.impl == "numpy"
    steps_per_epoch = -(-len(x) // 50)  # 240 samples in batches of 50: 5 steps, the last of 40
    assert len(h.step_loss) == 3 * steps_per_epoch, f"step_loss has {len(h.step_loss)} entries"
    for name in ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time", "lr"):
        assert len(getattr(h, name)) == 3, f"History.{name} has {len(getattr(h, name))} entries"
    # train_loss is the sample-weighted mean of the epoch's step losses
    first = np.array(h.step_loss[:steps_per_epoch])
    weights = np.array([50, 50, 50, 50, 40])
    assert np.isclose(h.train_loss[0], (first * weights).sum() / 240, rtol=1e-12), "train_loss"
    # the validation numbers are exactly what evaluate() says about the final model
    assert (h.val_loss[-1], h.val_acc[-1]) == evaluate(model, x_val, y_val), "val_loss/val_acc"
    assert h.val_acc[-1] > 0.9, f"the MLP did not learn the easy blobs: val acc {h.val_acc[-1]}"
    assert h.train_loss[-1] < h.train_loss[0], "training loss did not decrease"
    assert all(t >= 0 for t in h.epoch_time)
    assert "epoch 3:" in str(h) and "val loss" in h.epoch_line(0)


def test_without_validation_data_the_validation_lists_stay_empty():
    x, y = _blobs(100)
    h = fit(numpy_model("mlp", seed=0), (x, y), epochs=2, batch_size=25, progress=False)
    assert h.val_loss == [] and h.val_acc == [] and h.epochs == 2


def test_eval_every_epoch_false_evaluates_after_the_last_epoch_only():
    x, y = _blobs(100)
    h = fit(numpy_model("mlp", seed=0), (x, y, x[:20], y[:20]), epochs=3, batch_size=25,
            progress=False, eval_every_epoch=False)
    assert len(h.val_acc) == 1, f"expected one validation entry, got {h.val_acc}"


def test_lr_decay_and_the_callback():
    x, y = _blobs(100)
    seen = []
    h = fit(numpy_model("mlp", seed=0), (x, y), epochs=3, batch_size=50, lr=1e-2, lr_decay=0.5,
            progress=False, on_epoch_end=lambda epoch, history: seen.append(epoch))
    assert h.lr == [1e-2, 5e-3, 2.5e-3], f"learning rates {h.lr}"
    assert seen == [0, 1, 2], f"callback saw epochs {seen}"


def test_linear_schedule_falls_to_zero_step_by_step():
    x, y = _blobs(100)
    model = numpy_model("mlp", seed=0)
    h = fit(model, (x, y), epochs=2, batch_size=25, lr=1e-2, lr_schedule="linear", progress=False)
    assert h.lr == [1e-2, 5e-3], f"learning rates at the start of each epoch: {h.lr}"
    with pytest.raises(ValueError, match="applies to the exponential schedule only"):
        fit(model, (x, y), epochs=1, lr_decay=0.5, lr_schedule="linear", progress=False)
    with pytest.raises(ValueError, match="lr_schedule must be"):
        fit(model, (x, y), epochs=1, lr_schedule="cosine", progress=False)


def test_linear_schedule_keeps_both_implementations_in_lock_step():
    """The linear schedule gives both implementations the same learning rate at every step."""
    x, y = _blobs(120)
    np_model, t_model = _twins("mlp")
    kwargs = dict(epochs=2, batch_size=30, lr=5e-3, lr_schedule="linear", seed=1, progress=False)
    h_np, h_t = fit(np_model, (x, y), **kwargs), fit(t_model, (x, y), **kwargs)
    np.testing.assert_allclose(h_np.step_loss, h_t.step_loss, rtol=1e-10,
                               err_msg="step_loss with the linear schedule, NumPy vs torch")


@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_seeded_numpy_runs_repeat_bit_for_bit(name):
    x, y = _blobs(96)
    runs = []
    for _ in range(2):
        model = numpy_model(name, seed=1)
        h = fit(model, (x, y), epochs=2, batch_size=32, seed=7, progress=False,
                augment=functools.partial(random_shift, max_shift=2))
        runs.append((h.step_loss, model.state_dict()))
    assert runs[0][0] == runs[1][0], f"{name}: step losses differ between two seeded runs"
    for key, value in runs[0][1].items():
        assert np.array_equal(value, runs[1][1][key]), f"{name}: weight {key} differs between runs"
    other = fit(numpy_model(name, seed=1), (x, y), epochs=2, batch_size=32, seed=8,
                progress=False)
    assert other.step_loss != runs[0][0], "another seed gave the same batch order"


def test_numpy_and_torch_train_in_lock_step_in_float64():
    """Same init, same batches, same augmentation draws: the loss curves agree to rounding."""
    x, y = _blobs(200)
    np_model, t_model = _twins("mlp")
    kwargs = dict(epochs=2, batch_size=40, lr=3e-3, seed=5, progress=False,
                  augment=functools.partial(random_shift, max_shift=1))
    h_np = fit(np_model, (x, y, x[:50], y[:50]), **kwargs)
    h_t = fit(t_model, (x, y, x[:50], y[:50]), **kwargs)
    assert h_t.impl == "torch"
    np.testing.assert_allclose(h_np.step_loss, h_t.step_loss, rtol=1e-10,
                               err_msg="step_loss: NumPy vs torch, float64")
    np.testing.assert_allclose(h_np.val_loss, h_t.val_loss, rtol=1e-10, err_msg="val_loss")
    assert h_np.val_acc == h_t.val_acc and h_np.train_acc == h_t.train_acc, "accuracies differ"
    for name, tensor in t_model.state_dict().items():
        np.testing.assert_allclose(np_model.state_dict()[name], tensor.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=f"weight {name} after training")


def test_lock_step_holds_for_sgd_with_momentum_and_a_conv_net():
    x, y = _blobs(64)
    np_model, t_model = _twins("lenet")
    kwargs = dict(epochs=1, batch_size=16, optimizer="sgd", lr=0.05,
                  optimizer_options={"momentum": 0.9}, seed=2, progress=False)
    h_np, h_t = fit(np_model, (x, y), **kwargs), fit(t_model, (x, y), **kwargs)
    np.testing.assert_allclose(h_np.step_loss, h_t.step_loss, rtol=1e-10,
                               err_msg="step_loss: LeNet with SGD momentum, NumPy vs torch")


def test_predict_and_evaluate_agree_between_implementations():
    x, y = _blobs(50)
    np_model, t_model = _twins("lenet")
    np.testing.assert_allclose(predict(np_model, x, logits=True, batch_size=7),
                               predict(t_model, x, logits=True), rtol=1e-10, atol=1e-12,
                               err_msg="logits, NumPy (batches of 7) vs torch (one batch)")
    labels = predict(np_model, x)
    assert labels.dtype == np.int64 and labels.shape == (50,)
    loss_np, acc_np = evaluate(np_model, x, y)
    loss_t, acc_t = evaluate(t_model, x, y)
    assert np.isclose(loss_np, loss_t, rtol=1e-12) and acc_np == acc_t
    assert np_model.training and t_model.training, "predict must leave the models in train mode"


def test_a_custom_loss_is_used():
    """fit's loss= replaces cross-entropy: a zero gradient leaves the weights alone."""

    class NoGradient:
        def __call__(self, logits, y):
            self.shape = logits.shape
            return 0.0

        def backward(self):
            return np.zeros(self.shape)

    x, y = _blobs(40)
    model = numpy_model("mlp", seed=0)
    before = model.state_dict()
    h = fit(model, (x, y), epochs=1, batch_size=20, optimizer="sgd", loss=NoGradient(),
            progress=False)
    assert h.step_loss == [0.0, 0.0]
    for key, value in model.state_dict().items():
        assert np.array_equal(value, before[key]), f"{key} changed under a zero gradient"


def test_bad_arguments_are_refused_with_clear_errors():
    x, y = _blobs(20)
    model = numpy_model("mlp", seed=0)
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        fit(model, (x, y), epochs=0, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        fit(model, (x, y), epochs=1, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'"):
        fit(model, (x, y), epochs=1, optimizer="adagrad", progress=False)
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        fit(model, (x, y), epochs=1, lr=-1.0, progress=False)
    with pytest.raises(TypeError, match="x_train has dtype float32 but the model's parameters "
                                        "are float64"):
        fit(model, (x.astype(np.float32), y), epochs=1, progress=False)
    with pytest.raises(TypeError, match="must be a companion.numpy_impl Module or a torch"):
        fit(object(), (x, y), epochs=1, progress=False)
    with pytest.raises(TypeError, match="data must be a companion.data.Dataset"):
        fit(model, x, epochs=1, progress=False)
    with pytest.raises(ValueError, match="x_train has 20 samples but y_train 19"):
        fit(model, (x, y[:-1]), epochs=1, progress=False)
    with pytest.raises(TypeError, match="y_train must hold integer class indices"):
        fit(model, (x, y.astype(np.float64)), epochs=1, progress=False)


def test_accuracy_and_confusion_matrix():
    y_true = np.array([0, 1, 2, 2, 1, 0])
    y_pred = np.array([0, 2, 2, 2, 1, 1])
    assert accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    cm = confusion_matrix(y_true, y_pred, num_classes=3)
    expected = np.array([[1, 1, 0], [0, 1, 1], [0, 0, 2]])
    assert np.array_equal(cm, expected), f"confusion matrix\n{cm}\nexpected\n{expected}"
    assert cm.sum() == 6 and np.trace(cm) == 4
    with pytest.raises(ValueError, match="must lie in"):
        confusion_matrix(y_true, np.array([0, 1, 2, 3, 0, 0]), num_classes=3)
    with pytest.raises(ValueError, match="of one shape"):
        accuracy(y_true, y_pred[:3])


def test_random_shift_moves_each_image_by_its_own_offset():
    rng = np.random.default_rng(0)
    x = rng.random((50, 1, 28, 28)).astype(np.float32)
    out = random_shift(x, np.random.default_rng(3), max_shift=2)
    assert out.shape == x.shape and out.dtype == x.dtype
    def covered(dy, dx):  # the pixels of the output that a shift by (dy, dx) fills
        return slice(max(dy, 0), 28 + min(dy, 0)), slice(max(dx, 0), 28 + min(dx, 0))

    def source(dy, dx):  # the pixels of the input they come from
        return slice(max(-dy, 0), 28 - max(dy, 0)), slice(max(-dx, 0), 28 - max(dx, 0))

    found = set()
    for n in range(50):  # a test may loop: find each image's shift by brute force
        matches = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                   if np.array_equal(out[n, 0][covered(dy, dx)], x[n, 0][source(dy, dx)])]
        assert len(matches) == 1, f"image {n}: not a single shift of the input ({matches})"
        dy, dx = matches[0]
        border = np.ones((28, 28), bool)
        border[covered(dy, dx)] = False
        assert not out[n, 0][border].any(), f"image {n}: the uncovered border is not zero"
        found.add((dy, dx))
    assert len(found) > 10, f"only {len(found)} distinct shifts among 50 images"
    assert np.array_equal(random_shift(x, np.random.default_rng(3), max_shift=0), x)
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        random_shift(x[0], rng)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        random_shift(x, 3)
    with pytest.raises(ValueError, match="max_shift must be an int >= 0"):
        random_shift(x, rng, max_shift=-1)
