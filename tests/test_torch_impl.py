"""The torch twin: building from a spec, device choice, and weight copies in both directions."""

import numpy as np
import pytest
import torch
from torch import nn

from companion.models import ModelSpec, get_spec
from companion.numpy_impl import build as numpy_build
from companion.torch_impl import (
    DEVICE_ENV_VAR,
    build,
    default_device,
    numpy_to_torch,
    torch_state_to_numpy,
    torch_to_numpy,
)

NAMES = ["mlp", "cnn", "lenet"]


@pytest.fixture(autouse=True)
def _no_device_override(monkeypatch):
    """Tests see the automatic choice unless they set the variable themselves."""
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_keys_and_shapes_equal_the_numpy_model(name):
    spec = get_spec(name)
    t_state = build(spec, device="cpu").state_dict()
    np_state = numpy_build(spec, seed=0).state_dict()
    assert list(t_state) == list(np_state), f"{name}: state_dict keys differ"
    for key, value in np_state.items():
        assert tuple(t_state[key].shape) == value.shape, f"{name}: shape of {key}"


def test_build_makes_the_layers_of_the_spec():
    model = build(get_spec("cnn"), device="cpu")
    assert isinstance(model, nn.Sequential)
    kinds = [type(m).__name__ for m in model]
    assert kinds == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
        "Conv2d", "ReLU", "Flatten", "Linear", "ReLU", "Linear",
    ]
    assert model.training


@pytest.mark.parametrize("dtype, expected", [
    (torch.float64, torch.float64), (torch.float32, torch.float32),
    (np.float32, torch.float32), ("float64", torch.float64),
])
def test_build_dtype(dtype, expected):
    model = build(get_spec("lenet"), dtype=dtype, device="cpu")
    assert {p.dtype for p in model.parameters()} == {expected}


def test_build_default_dtype_is_float64():
    assert {p.dtype for p in build(get_spec("mlp"), device="cpu").parameters()} == {torch.float64}


def test_build_rejects_bad_dtype_and_spec():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got torch.float16"):
        build(get_spec("mlp"), dtype=torch.float16)
    with pytest.raises(TypeError, match="spec must be a companion.models.ModelSpec, got str"):
        build("mlp")


def test_build_seed_repeats_and_leaves_torch_global_generator_alone():
    before = torch.random.get_rng_state()
    a = build(get_spec("lenet"), device="cpu", seed=3).state_dict()
    b = build(get_spec("lenet"), device="cpu", seed=3).state_dict()
    c = build(get_spec("lenet"), device="cpu", seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before), "torch's global RNG state changed"
    for key in a:
        assert torch.equal(a[key], b[key]), f"same seed, different {key}"
    assert not torch.equal(a["0.weight"], c["0.weight"]), "different seeds gave the same 0.weight"


def test_default_device_is_cuda_when_present_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected
    assert next(build(get_spec("mlp")).parameters()).device.type == expected


def test_default_device_argument_and_environment_override(monkeypatch):
    assert default_device("cpu") == torch.device("cpu")
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    assert default_device() == torch.device("cpu")


def test_default_device_bad_names(monkeypatch):
    with pytest.raises(ValueError, match="must name a torch device such as 'cpu' or 'cuda', got 'gpu0'"):
        default_device("gpu0")
    monkeypatch.setenv(DEVICE_ENV_VAR, "tpu?")
    with pytest.raises(ValueError, match=r"\$COMPANION_DEVICE must name a torch device"):
        default_device()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_a_gpu_says_so():
    with pytest.raises(RuntimeError, match="asks for 'cuda' but CUDA is not available"):
        default_device("cuda")


# --- weight copies ----------------------------------------------------------------------------
def _assert_same_weights(np_model, t_model, what):
    t_state = torch_state_to_numpy(t_model)
    for key, value in np_model.state_dict().items():
        assert value.dtype == t_state[key].dtype, f"{what}: dtype of {key}"
        assert np.array_equal(value, t_state[key]), f"{what}: {key} differs"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weight_copy_round_trip_is_exact(name, dtype):
    spec = get_spec(name)
    np_model = numpy_build(spec, dtype=dtype, seed=1)
    original = np_model.state_dict()
    t_model = numpy_to_torch(np_model, build(spec, dtype=dtype, device="cpu", seed=0))
    _assert_same_weights(np_model, t_model, "NumPy -> torch")
    back = torch_to_numpy(t_model, numpy_build(spec, dtype=dtype, seed=2))
    for key, value in original.items():
        assert np.array_equal(back.state_dict()[key], value), f"NumPy -> torch -> NumPy: {key}"


def test_copy_casts_to_the_target_dtype():
    spec = get_spec("mlp")
    np32 = numpy_build(spec, dtype=np.float32, seed=1)
    t64 = numpy_to_torch(np32, build(spec, dtype=torch.float64, device="cpu"))
    assert t64[0].weight.dtype == torch.float64
    assert np.array_equal(t64[0].weight.detach().numpy(), np32.state_dict()["0.weight"].astype(np.float64))


def test_copy_does_not_share_memory():
    spec = get_spec("mlp")
    np_model = numpy_build(spec, seed=1)
    t_model = numpy_to_torch(np_model, build(spec, device="cpu"))
    np_model.parameters()[0].data[0, 0] += 1.0
    assert t_model[0].weight[0, 0].item() != np_model.parameters()[0].data[0, 0], "0.weight is shared"


def _torch_snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_numpy_to_torch_missing_key_raises_and_leaves_target_untouched():
    spec = get_spec("lenet")
    state = numpy_build(spec, seed=1).state_dict()
    del state["7.bias"]
    target = build(spec, device="cpu")
    before = _torch_snapshot(target)
    with pytest.raises(KeyError, match=r"missing keys \['7.bias'\], unexpected keys \[\]"):
        numpy_to_torch(state, target)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} was written despite the error"


def test_numpy_to_torch_wrong_shape_raises_and_leaves_target_untouched():
    spec = get_spec("lenet")
    state = numpy_build(spec, seed=1).state_dict()
    state["9.weight"] = state["9.weight"].T.copy()  # last key: every other one would fit
    target = build(spec, device="cpu")
    before = _torch_snapshot(target)
    with pytest.raises(ValueError, match=r"state_dict\['9.weight'\] has shape \(120, 10\), the torch model expects \(10, 120\)"):
        numpy_to_torch(state, target)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} was written despite the error"


def test_numpy_to_torch_rejects_nan_and_non_arrays():
    spec = get_spec("mlp")
    state = numpy_build(spec, seed=1).state_dict()
    state["2.bias"] = state["2.bias"].copy()
    state["2.bias"][3] = np.nan
    with pytest.raises(ValueError, match=r"state_dict\['2.bias'\] contains NaN"):
        numpy_to_torch(state, build(spec, device="cpu"))
    state["2.bias"] = [0.0] * 10
    with pytest.raises(TypeError, match=r"state_dict\['2.bias'\] must be a numpy array of numbers, got list"):
        numpy_to_torch(state, build(spec, device="cpu"))
    with pytest.raises(TypeError, match="source must be a NumPy Module or a mapping of arrays"):
        numpy_to_torch(build(spec, device="cpu"), build(spec, device="cpu"))


def test_torch_to_numpy_mismatch_raises_and_leaves_target_untouched():
    np_target = numpy_build(get_spec("mlp"), seed=1)
    before = np_target.state_dict()
    first_layer_only = ModelSpec("mlp-first-layer", (784,), get_spec("mlp").layers[:1])
    wrong = build(first_layer_only, device="cpu")
    with pytest.raises(KeyError, match=r"missing keys \['2.weight', '2.bias'\]"):
        torch_to_numpy(wrong, np_target)
    other = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 11)).double()
    with pytest.raises(ValueError, match=r"state_dict\['2.weight'\] has shape \(11, 128\), the model expects \(10, 128\)"):
        torch_to_numpy(other, np_target)
    for key, value in np_target.state_dict().items():
        assert np.array_equal(value, before[key]), f"{key} was written despite the error"
    with pytest.raises(TypeError, match="target must be a NumPy Module, got Sequential"):
        torch_to_numpy(other, other)
