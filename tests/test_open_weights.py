"""Open weights in safetensors (``companion.open_weights``): round trips between the NumPy
reference and torch with the model card, and every kind of bad file giving a clear error and
leaving nothing half-written."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import torch
from torch import nn

import companion.numpy_impl as numpy_impl
from companion.numpy_impl.lora import add_lora
from companion.open_weights import (
    CARD_FIELDS,
    OpenWeightsError,
    load_open_weights,
    model_card_markdown,
    read_open_weights,
    save_open_weights,
)
from companion.torch_impl import lora as tlora
from helpers_numeric import RTOL_64, assert_close

CARD = {
    "model": "tiny-mlp-test",
    "data": "random numbers",
    "training": "none",
    "intended_use": "tests only",
    "limits": "computes nothing useful",
}


def mlp(nn_, **factory):
    return nn_.Sequential(nn_.Linear(5, 4, **factory), nn_.ReLU(), nn_.Linear(4, 3, **factory))


@pytest.fixture
def saved(tmp_path, rng):
    model = mlp(numpy_impl, rng=rng)
    return model, save_open_weights(model, tmp_path / "model.safetensors", CARD)


def test_numpy_to_torch_and_back_agree(saved, rng, tmp_path):
    model, path = saved
    x = rng.standard_normal((6, 5))
    theirs = mlp(nn, dtype=torch.float64)
    card = load_open_weights(theirs, path)
    assert card == CARD
    assert_close("torch output from the file", theirs(torch.tensor(x)), model(x), RTOL_64)

    again = save_open_weights(theirs, tmp_path / "from_torch.safetensors", CARD)
    back = mlp(numpy_impl, rng=np.random.default_rng(9))
    load_open_weights(back, again)
    np.testing.assert_array_equal(back(x), model(x))  # float64 both ways: bit for bit


def test_state_keeps_names_shapes_and_dtype(saved, tmp_path):
    model, path = saved
    state, card = read_open_weights(path)
    assert list(state) == sorted(model.state_dict())  # safetensors stores keys sorted
    for k, v in model.state_dict().items():
        assert state[k].dtype == v.dtype and state[k].shape == v.shape, k
        np.testing.assert_array_equal(state[k], v, err_msg=k)
    small = {k: v.astype(np.float32) for k, v in model.state_dict().items()}
    state32, _ = read_open_weights(save_open_weights(small, tmp_path / "f32.safetensors", CARD))
    assert all(v.dtype == np.float32 for v in state32.values())


def test_a_lora_model_round_trips(tmp_path, rng):
    ours = add_lora(mlp(numpy_impl, rng=rng), rank=2, rng=rng)
    for name, p in ours.named_parameters():
        p.data[...] = rng.standard_normal(p.shape)
    theirs = tlora.add_lora(mlp(nn, dtype=torch.float64), rank=2)
    load_open_weights(theirs, save_open_weights(ours, tmp_path / "lora.safetensors", CARD))
    x = rng.standard_normal((3, 5))
    assert_close("LoRA model output", theirs(torch.tensor(x)), ours(x), RTOL_64)


def test_readme_and_permissions_follow_the_umask(tmp_path, rng):
    old = os.umask(0o027)
    try:
        path = save_open_weights(mlp(numpy_impl, rng=rng), tmp_path / "m.safetensors", CARD,
                                 readme=True)
    finally:
        os.umask(old)
    for f in (path, tmp_path / "README.md"):
        assert stat.S_IMODE(f.stat().st_mode) == 0o640, f.name
    text = (tmp_path / "README.md").read_text()
    assert text.startswith("# tiny-mlp-test") and "## Intended use" in text and "## Limits" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "m.safetensors"]


def test_weights_of_another_model_are_refused_and_nothing_changes(saved, rng):
    _, path = saved
    other = numpy_impl.Sequential(numpy_impl.Linear(5, 4, rng=rng), numpy_impl.ReLU(),
                                  numpy_impl.Linear(4, 2, rng=rng))
    before = {k: v.copy() for k, v in other.state_dict().items()}
    message = r"does not fit this model.*tiny-mlp-test.*2\.weight"
    with pytest.raises(OpenWeightsError, match=message):
        load_open_weights(other, path)
    for k, v in other.state_dict().items():
        np.testing.assert_array_equal(v, before[k], err_msg=f"{k} was changed by a failed load")
    with pytest.raises(OpenWeightsError, match=r"missing keys \['0\.lora_A'"):
        load_open_weights(tlora.add_lora(mlp(nn, dtype=torch.float64), rank=2), path)
    with pytest.raises(OpenWeightsError, match="unexpected keys"):
        load_open_weights(numpy_impl.Sequential(numpy_impl.Linear(5, 4, rng=rng)), path)


@pytest.mark.parametrize(
    "damage, match",
    [
        (lambda raw: b"", r"is empty \(0 bytes\)"),
        (lambda raw: raw[:5], "5 bytes long: too short"),
        (lambda raw: raw[:-7],
         "is truncated: its header describes 312 bytes of tensor data, the file holds 305"),
        (lambda raw: raw[:40], "is not a safetensors file, or is truncated"),
        (lambda raw: b"PK\x03\x04 this is a zip, not safetensors at all", "not a safetensors file"),
        (lambda raw: (8).to_bytes(8, "little") + b"not json", "its header is no JSON mapping"),
    ],
    ids=["zero_bytes", "five_bytes", "truncated_data", "truncated_header", "zip", "bad_json"],
)
def test_bad_files_give_clear_errors(saved, tmp_path, damage, match):
    _, path = saved
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(damage(path.read_bytes()))
    with pytest.raises(OpenWeightsError, match=match):
        read_open_weights(bad)


def test_missing_file_and_missing_card(tmp_path, rng):
    with pytest.raises(OpenWeightsError, match="does not exist"):
        read_open_weights(tmp_path / "nothing.safetensors")
    import safetensors.numpy

    (tmp_path / "nocard.safetensors").write_bytes(safetensors.numpy.save({"w": np.zeros(2)}))
    with pytest.raises(OpenWeightsError, match="no complete model card"):
        read_open_weights(tmp_path / "nocard.safetensors")


def test_save_refuses_bad_arguments_and_leaves_nothing(tmp_path, rng):
    model = mlp(numpy_impl, rng=rng)
    incomplete = {k: v for k, v in CARD.items() if k != "limits"}
    with pytest.raises(ValueError, match=r"missing or empty: \['limits'\]"):
        save_open_weights(model, tmp_path / "m.safetensors", incomplete)
    with pytest.raises(ValueError, match="must end in .safetensors"):
        save_open_weights(model, tmp_path / "m.npz", CARD)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_open_weights(model, tmp_path / "no" / "m.safetensors", CARD)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_old_file(saved, monkeypatch):
    model, path = saved
    old = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)  # the last step of the write fails
    with pytest.raises(OSError, match="disk full"):
        save_open_weights(model, path, dict(CARD, model="new"))
    assert path.read_bytes() == old
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_card_markdown_lists_every_field():
    text = model_card_markdown(dict(CARD, licence="MIT"))
    for field in CARD_FIELDS[1:]:
        assert CARD[field] in text
    assert "## Licence" in text


def test_batchnorm_buffers_round_trip_with_their_shapes(tmp_path, rng):
    """A 0-d buffer (num_batches_tracked) must stay 0-d in the file, or torch refuses it."""
    model = numpy_impl.Sequential(numpy_impl.Linear(5, 4, rng=rng), numpy_impl.BatchNorm1d(4))
    for _ in range(2):
        model(rng.standard_normal((6, 5)))
    path = save_open_weights(model, tmp_path / "bn.safetensors", CARD)
    state, _ = read_open_weights(path)
    assert state["1.num_batches_tracked"].shape == ()
    twin = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4)).double()
    load_open_weights(twin, path)
    assert int(twin[1].num_batches_tracked) == 2
    assert_close("running_mean", model[1].running_mean, twin[1].running_mean, RTOL_64)
