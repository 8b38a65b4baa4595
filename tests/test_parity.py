"""NumPy vs torch, model by model: forward, loss, every gradient and 20 Adam steps.

Tolerances (relative: max|a - b| / max|b| over the tensor):

* float64: 1e-10 everywhere, including the weights after 20 Adam steps. Measured worst values
  are about 1e-15 for forward and gradients and up to about 2e-13 after 20 steps: Adam divides
  each gradient entry by its own running RMS, so an entry whose gradient is close to zero turns
  a 1e-16 rounding difference into a somewhat larger update difference.
* float32, one forward/backward pass: 1e-5 (float32 resolution 1.2e-7, times sums of up to a
  few thousand terms; measured worst about 1.5e-6).
* float32, after 20 Adam steps: 2e-3. Here Adam's per-entry normalisation amplifies float32
  rounding: a gradient entry near zero, or a ReLU or max-pool unit sitting at its kink that falls
  on the other side in one implementation, gives an update difference of order lr = 1e-3 on that
  entry. Measured worst on these batches: 3.3e-4. With a larger batch or more steps such a branch
  flip can happen earlier and the trajectories drift further apart (that is float32, not a bug:
  the same runs in float64 agree to 1e-13).
"""

import numpy as np
import pytest
import torch

from companion.parity import ParityReport, ParityRow, compare, compare_arrays, make_twins, train_both
from helpers_models import numpy_model, torch_model, twins
from companion import models
from companion.models import INPUT_SHAPE

FLOAT64_RTOL = 1e-10
FLOAT32_RTOL_ONE_PASS = 1e-5
FLOAT32_RTOL_AFTER_ADAM = 2e-3
STEPS = 20

#: Model name -> batch size: small batches keep the CNN runs to a few seconds.
BATCHES = {"mlp": 16, "lenet": 8, "cnn": 4}


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """One torch thread: on a small shared CPU, torch's and OpenBLAS's thread pools contend."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def batch(name, dtype=np.float64, seed=0):
    spec = name
    rng = np.random.default_rng(seed)
    n = BATCHES[name]
    return rng.standard_normal((n, *INPUT_SHAPE)).astype(dtype), rng.integers(0, 10, size=n)


def expected_names(name, steps):
    params = list(make_twins(name, device="cpu")[0].state_dict())
    names = ["output", "loss", "input.grad"] + [f"{p}.grad" for p in params]
    if steps:
        names += ["loss curve"] + [f"{p} after step {steps}" for p in params]
    return names


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_float64_forward_gradients_and_20_adam_steps_match_torch(name):
    x, y = batch(name)
    report = compare(name, x, y, optimizer=("adam", {"lr": 1e-3}), steps=STEPS, device="cpu")
    assert report.names() == expected_names(name, STEPS)
    report.assert_close(FLOAT64_RTOL)
    assert report["loss"].max_abs < 1e-14, "loss"  # a scalar around 2.3: checked absolutely too


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_float32_matches_torch_within_stated_tolerances(name):
    x, y = batch(name, np.float32)
    one_pass = compare(name, x, y, steps=0, dtype=np.float32, device="cpu")
    assert one_pass.names() == expected_names(name, 0)
    one_pass.assert_close(FLOAT32_RTOL_ONE_PASS)
    trained = compare(name, x, y, steps=STEPS, dtype=np.float32, device="cpu")
    trained.assert_close(FLOAT32_RTOL_AFTER_ADAM)


@pytest.mark.parametrize("optimizer", [("sgd", {"lr": 0.1, "momentum": 0.9}), ("rmsprop", {"lr": 1e-3}), ("adamw", {})])
def test_other_optimizers_match_torch_in_float64(optimizer):
    x, y = batch("lenet")
    compare("lenet", x, y, optimizer=optimizer, steps=5, device="cpu").assert_close(FLOAT64_RTOL)


@pytest.mark.parametrize("loss", ["mse", "bce_with_logits"])
def test_other_losses_match_torch_in_float64(loss):
    x, _ = batch("mlp")
    target = np.random.default_rng(1).uniform(size=(x.shape[0], 10))
    compare("mlp", x, target, loss=loss, steps=3, device="cpu").assert_close(FLOAT64_RTOL)


def test_a_planted_weight_difference_is_caught_and_named():
    x, y = batch("lenet")
    np_model, t_model = make_twins("lenet", device="cpu")
    compare((np_model, t_model), x, y, steps=1).assert_close(FLOAT64_RTOL)  # control: same weights
    with torch.no_grad():
        t_model[3].weight[0, 0, 0, 0] += 1e-6  # a relative change of about 1e-5
    report = compare((np_model, t_model), x, y, steps=1)
    assert report.worst().name == "3.weight after step 1"
    assert report["output"].max_rel > FLOAT64_RTOL, "the planted difference did not reach the output"
    with pytest.raises(AssertionError, match=r"worst is '3\.weight after step 1': max rel diff"):
        report.assert_close(FLOAT64_RTOL)
    assert t_model[3].weight[0, 0, 0, 0].item() != np_model.state_dict()["3.weight"][0, 0, 0, 0], (
        "compare changed the caller's models"
    )


def test_compare_leaves_the_callers_models_alone():
    x, y = batch("mlp")
    np_model, t_model = make_twins("mlp", device="cpu")
    before = np_model.state_dict()
    compare((np_model, t_model), x, y, steps=2)
    for key, value in np_model.state_dict().items():
        assert np.array_equal(value, before[key]), f"{key} was trained in the caller's model"
        assert np.array_equal(t_model.state_dict()[key].numpy(), before[key]), f"torch {key} changed"


def test_train_both_gives_two_equal_loss_curves():
    spec = "mlp"
    rng = np.random.default_rng(7)
    epoch = [(rng.standard_normal((8, *INPUT_SHAPE)), rng.integers(0, 10, 8)) for _ in range(3)]
    result = train_both("mlp", epoch * 2, optimizer=("adam", {"lr": 1e-3}), device="cpu")
    assert result.numpy_losses.shape == result.torch_losses.shape == (6,)
    np.testing.assert_allclose(result.numpy_losses, result.torch_losses, rtol=FLOAT64_RTOL, atol=0,
                               err_msg="loss curves")
    second_epoch, first_epoch = result.numpy_losses[3:], result.numpy_losses[:3]
    assert (second_epoch < first_epoch).all(), "a second pass over the same batches did not lower the loss"
    result.report.assert_close(FLOAT64_RTOL)
    assert result.report.names()[0] == "loss curve"
    with pytest.raises(ValueError, match="batches was empty"):
        train_both("mlp", [], device="cpu")


# --- the report itself ------------------------------------------------------------------------
def test_compare_arrays_relative_difference_definition():
    row = compare_arrays("w", np.array([1.0, 2.0, -4.0]), torch.tensor([1.0, 2.5, -4.0]))
    assert row == ParityRow("w", (3,), 0.5, 0.5 / 4.0)
    zero = compare_arrays("z", np.zeros(3), np.zeros(3))
    assert (zero.max_abs, zero.max_rel) == (0.0, 0.0)
    nan = compare_arrays("n", np.array([np.nan]), np.array([1.0]))
    assert nan.max_rel == float("inf"), "a NaN must count as a failure"
    with pytest.raises(ValueError, match=r"w: the NumPy value has shape \(2,\), torch's \(3,\)"):
        compare_arrays("w", np.zeros(2), np.zeros(3))


def test_report_worst_table_and_assert_close():
    rows = [ParityRow("output", (2, 3), 1e-16, 1e-16), ParityRow("0.weight.grad", (3, 4), 1e-9, 2e-9),
            ParityRow("loss", (), 0.0, 0.0)]
    report = ParityReport("demo", rows)
    assert report.worst().name == "0.weight.grad"
    text = str(report)
    assert text.splitlines()[0] == "demo"
    assert "0.weight.grad  (3, 4)" in text and text.splitlines()[-1].startswith("worst: 0.weight.grad")
    report.assert_close(1e-8)
    with pytest.raises(AssertionError, match=r"1 tensor\(s\) differ by more than rtol=1\.0e-10; worst is '0\.weight\.grad'"):
        report.assert_close(1e-10)
    with pytest.raises(KeyError, match="no tensor 'bias'"):
        report["bias"]


def test_compare_rejects_bad_arguments():
    x, y = batch("mlp")
    with pytest.raises(TypeError, match="x must have dtype float32, got float64"):
        compare("mlp", x, y, dtype=np.float32, device="cpu")
    with pytest.raises(TypeError, match="integer class labels"):
        compare("mlp", x, y.astype(np.float64), device="cpu")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        compare("mlp", x, y, loss="hinge", device="cpu")
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        compare("mlp", x, y, optimizer="lbfgs", device="cpu")
    with pytest.raises(ValueError, match="steps must be an int >= 0, got -1"):
        compare("mlp", x, y, steps=-1, device="cpu")
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        compare("vgg", x, y, device="cpu")


def test_exact_float32_switches_tf32_off_inside_and_restores_the_settings_after():
    """On a GPU, TF32 would measure its own rounding, not the implementation (issue 8)."""
    from companion.parity import exact_float32

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        with exact_float32():
            assert not torch.backends.cuda.matmul.allow_tf32
            assert not torch.backends.cudnn.allow_tf32
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def test_report_title_names_the_model_device_and_dtype():
    x = np.random.default_rng(0).standard_normal((4, *INPUT_SHAPE))
    report = compare(models.lenet, x, np.arange(4), steps=0, device="cpu")
    assert report.title.startswith("NumPy vs torch: lenet, float64, cpu, cross_entropy")
