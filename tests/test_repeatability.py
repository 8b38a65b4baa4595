"""Seeded NumPy runs repeat bit for bit, whatever NumPy's global random state is doing."""

import numpy as np
import pytest

from companion.numpy_impl import Adam, CrossEntropyLoss
from helpers_models import numpy_model, torch_model, twins
from companion.models import INPUT_SHAPE

NAMES = ["mlp", "cnn", "lenet"]


def assert_same_state(a, b, what):
    assert list(a) == list(b), f"{what}: different parameter names"
    for key in a:
        assert a[key].dtype == b[key].dtype, f"{what}: dtype of {key}"
        assert np.array_equal(a[key], b[key]), f"{what}: {key} differs"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_same_weights(name, dtype):
    spec = name
    first = numpy_model(spec, dtype=dtype, seed=42).state_dict()
    np.random.seed(0)
    np.random.random(1000)  # moving the global generator must not matter
    second = numpy_model(spec, dtype=dtype, seed=42).state_dict()
    third = numpy_model(spec, dtype=dtype, rng=np.random.default_rng(42)).state_dict()
    assert_same_state(first, second, f"{name} seed 42, built twice")
    assert_same_state(first, third, f"{name} seed 42 vs default_rng(42)")


@pytest.mark.parametrize("name", NAMES)
def test_different_seeds_different_weights(name):
    a = numpy_model(name, seed=1).state_dict()
    b = numpy_model(name, seed=2).state_dict()
    for key in a:
        assert not np.array_equal(a[key], b[key]), f"{name}: seeds 1 and 2 gave the same {key}"


def train_five_steps(name, seed, batches):
    model = numpy_model(name, seed=seed)
    loss, opt = CrossEntropyLoss(), Adam(model.parameters(), lr=1e-3)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        losses.append(loss.forward(model.forward(x), y))
        model.backward(loss.backward())
        opt.step()
    return model.state_dict(), losses


@pytest.mark.parametrize("name", ["mlp", "lenet"])
def test_five_training_steps_repeat_bit_for_bit(name):
    spec = name
    rng = np.random.default_rng(3)
    batches = [(rng.standard_normal((8, *INPUT_SHAPE)), rng.integers(0, 10, 8)) for _ in range(5)]
    state_a, losses_a = train_five_steps(name, 11, batches)
    np.random.seed(123)  # the global generator again: it must play no part
    state_b, losses_b = train_five_steps(name, 11, batches)
    assert losses_a == losses_b, "loss curves differ between identical runs"
    assert_same_state(state_a, state_b, f"{name} after 5 Adam steps")
    initial = numpy_model(spec, seed=11).state_dict()
    first = next(iter(initial))  # the first layer's weight
    assert not np.array_equal(state_a[first], initial[first]), "training changed nothing"
