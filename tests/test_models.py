"""The model functions: one definition builds both implementations, parameter counts, summary,
and the errors a wrong namespace or a torch-only argument gives."""

import types

import numpy as np
import pytest
import torch

from companion import models, numpy_impl
from companion.models import INPUT_SHAPE, count_parameters, summary
from helpers_models import numpy_model, torch_model

#: The totals the book quotes (and Keras prints for the source's models).
EXPECTED_COUNTS = {"mlp": 101_770, "cnn": 93_322, "lenet": 34_622}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_count_parameters_of_both_implementations(name):
    assert count_parameters(numpy_model(name)) == EXPECTED_COUNTS[name], f"{name}: NumPy"
    assert count_parameters(torch_model(name)) == EXPECTED_COUNTS[name], f"{name}: torch"


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_one_function_builds_twins_with_identical_state_dict_keys_and_shapes(name):
    ours, theirs = numpy_model(name).state_dict(), torch_model(name).state_dict()
    assert list(ours) == list(theirs), f"{name}: keys differ"
    for key in ours:
        assert ours[key].shape == tuple(theirs[key].shape), f"{name}: {key} shape"
    assert [type(m).__name__ for m in numpy_model(name)] == [
        type(m).__name__ for m in torch_model(name)
    ], f"{name}: the layers differ"


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_summary_shapes_are_torch_outputs_layer_by_layer(name):
    text = summary(numpy_model(name))
    assert text == summary(torch_model(name)), f"{name}: the two summaries differ"
    x = torch.zeros((2, *INPUT_SHAPE), dtype=torch.float64)
    rows = text.splitlines()[3:-2]  # header, rule, input row ... rule, total
    with torch.no_grad():
        for row, layer in zip(rows, torch_model(name)):
            x = layer(x)
            assert "(N, " + ", ".join(map(str, x.shape[1:])) + ")" in row, f"{name}: {row}"
    assert text.splitlines()[-1] == f"total parameters: {EXPECTED_COUNTS[name]:,}"


def test_summary_of_the_cnn_reads_as_a_table():
    lines = summary(numpy_model("cnn")).splitlines()
    assert lines[0].split() == ["#", "layer", "output", "shape", "parameters"]
    assert lines[3].split() == ["0", "Conv2d", "(N,", "32,", "26,", "26)", "320"]
    assert max(len(line) for line in lines) <= 80, "the summary must fit the book's column"


def test_pooling_before_relu_computes_the_source_order_exactly():
    """relu(maxpool(x)) == maxpool(relu(x)): the models pool first and lose nothing."""
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8))
    pool, relu = numpy_impl.MaxPool2d(2), numpy_impl.ReLU()
    np.testing.assert_array_equal(relu(pool(x)), pool(relu(x)))


def test_unknown_namespace_names_what_is_missing():
    with pytest.raises(TypeError, match=r"lenet\(\) builds from a namespace .* has no Conv2d"):
        models.lenet(types.SimpleNamespace(Sequential=list, Linear=None, ReLU=None,
                                           MaxPool2d=None, Flatten=None))
    with pytest.raises(TypeError, match="has no Sequential, Flatten, Linear, ReLU"):
        models.mlp(np)


def test_torch_only_argument_names_the_layer_and_the_argument():
    with pytest.raises(TypeError, match=r"Conv2d.*unexpected keyword argument 'device'"):
        models.lenet(numpy_impl, device="cpu")
    with pytest.raises(TypeError, match=r"Linear.*unexpected keyword argument 'rng'"):
        models.mlp(torch.nn, rng=np.random.default_rng(0))


def test_make_model_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'; choose one of \['cnn', 'lenet', 'mlp'\]"):
        models.make_model("resnet")
    assert set(models.MODELS) == set(EXPECTED_COUNTS)


def test_make_model_twins_hold_the_same_weights():
    np_model = models.make_model("lenet", "numpy", dtype=np.float64, seed=3)
    t_model = models.make_model("lenet", "torch", dtype=np.float64, seed=3, device="cpu")
    for (name, p), (_, t) in zip(np_model.named_parameters(), t_model.named_parameters()):
        np.testing.assert_array_equal(p.data, t.detach().numpy(), err_msg=name)
