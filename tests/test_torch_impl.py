"""The torch twin: dtypes, device choice, and weight copies in both directions."""

import numpy as np
import pytest
import torch
from torch import nn

from companion.torch_impl import (
    DEVICE_ENV_VAR,
    default_device,
    numpy_to_torch,
    torch_state_to_numpy,
    torch_to_numpy,
)
from helpers_models import numpy_model, torch_model, twins

NAMES = ["mlp", "cnn", "lenet"]


@pytest.fixture(autouse=True)
def _no_device_override(monkeypatch):
    """Tests see the automatic choice unless they set the variable themselves."""
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_keys_and_shapes_equal_the_numpy_model(name):
    spec = name
    t_state = torch_model(spec, device="cpu").state_dict()
    np_state = numpy_model(spec, seed=0).state_dict()
    assert list(t_state) == list(np_state), f"{name}: state_dict keys differ"
    for key, value in np_state.items():
        assert tuple(t_state[key].shape) == value.shape, f"{name}: shape of {key}"


@pytest.mark.parametrize("dtype, expected", [
    (torch.float64, torch.float64), (torch.float32, torch.float32),
    (np.float32, torch.float32), ("float64", torch.float64),
])
def test_torch_dtype_accepts_torch_and_numpy_names(dtype, expected):
    model = torch_model("lenet", dtype=dtype)
    assert {p.dtype for p in model.parameters()} == {expected}


def test_torch_dtype_rejects_other_types():
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got torch.float16"):
        torch_model("mlp", dtype=torch.float16)


def test_default_device_is_cuda_when_present_else_cpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


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
    spec = name
    np_model = numpy_model(spec, dtype=dtype, seed=1)
    original = np_model.state_dict()
    t_model = numpy_to_torch(np_model, torch_model(spec, dtype=dtype, device="cpu", seed=0))
    _assert_same_weights(np_model, t_model, "NumPy -> torch")
    back = torch_to_numpy(t_model, numpy_model(spec, dtype=dtype, seed=2))
    for key, value in original.items():
        assert np.array_equal(back.state_dict()[key], value), f"NumPy -> torch -> NumPy: {key}"


def test_copy_casts_to_the_target_dtype():
    spec = "mlp"
    np32 = numpy_model(spec, dtype=np.float32, seed=1)
    t64 = numpy_to_torch(np32, torch_model(spec, dtype=torch.float64, device="cpu"))
    assert t64[1].weight.dtype == torch.float64
    assert np.array_equal(t64[1].weight.detach().numpy(), np32.state_dict()["1.weight"].astype(np.float64))


def test_copy_does_not_share_memory():
    spec = "mlp"
    np_model = numpy_model(spec, seed=1)
    t_model = numpy_to_torch(np_model, torch_model(spec, device="cpu"))
    np_model.parameters()[0].data[0, 0] += 1.0
    assert t_model[1].weight[0, 0].item() != np_model.parameters()[0].data[0, 0], "0.weight is shared"


def _torch_snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_numpy_to_torch_missing_key_raises_and_leaves_target_untouched():
    spec = "lenet"
    state = numpy_model(spec, seed=1).state_dict()
    del state["7.bias"]
    target = torch_model(spec, device="cpu")
    before = _torch_snapshot(target)
    with pytest.raises(KeyError, match=r"missing keys \['7.bias'\], unexpected keys \[\]"):
        numpy_to_torch(state, target)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} was written despite the error"


def test_numpy_to_torch_wrong_shape_raises_and_leaves_target_untouched():
    spec = "lenet"
    state = numpy_model(spec, seed=1).state_dict()
    state["9.weight"] = state["9.weight"].T.copy()  # last key: every other one would fit
    target = torch_model(spec, device="cpu")
    before = _torch_snapshot(target)
    with pytest.raises(ValueError, match=r"state_dict\['9.weight'\] has shape \(120, 10\), the torch model expects \(10, 120\)"):
        numpy_to_torch(state, target)
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} was written despite the error"


def test_numpy_to_torch_rejects_nan_and_non_arrays():
    spec = "mlp"
    state = numpy_model(spec, seed=1).state_dict()
    state["3.bias"] = state["3.bias"].copy()
    state["3.bias"][3] = np.nan
    with pytest.raises(ValueError, match=r"state_dict\['3.bias'\] contains NaN"):
        numpy_to_torch(state, torch_model(spec, device="cpu"))
    state["3.bias"] = [0.0] * 10
    with pytest.raises(TypeError, match=r"state_dict\['3.bias'\] must be a numpy array of numbers, got list"):
        numpy_to_torch(state, torch_model(spec, device="cpu"))
    with pytest.raises(TypeError, match="source must be a NumPy Module or a mapping of arrays"):
        numpy_to_torch(torch_model(spec, device="cpu"), torch_model(spec, device="cpu"))


def test_torch_to_numpy_mismatch_raises_and_leaves_target_untouched():
    np_target = numpy_model("mlp", seed=1)
    before = np_target.state_dict()
    wrong = nn.Sequential(nn.Flatten(), nn.Linear(784, 128)).double()  # the first layer only
    with pytest.raises(KeyError, match=r"missing keys \['3.weight', '3.bias'\]"):
        torch_to_numpy(wrong, np_target)
    other = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 11)).double()
    with pytest.raises(ValueError, match=r"state_dict\['3.weight'\] has shape \(11, 128\), the model expects \(10, 128\)"):
        torch_to_numpy(other, np_target)
    for key, value in np_target.state_dict().items():
        assert np.array_equal(value, before[key]), f"{key} was written despite the error"
    with pytest.raises(TypeError, match="target must be a NumPy Module, got Sequential"):
        torch_to_numpy(other, other)
