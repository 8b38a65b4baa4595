"""Model specs: parameter counts, the summary's shapes against real torch outputs, validation."""

import pytest
import torch

from companion import models
from companion.models import LayerSpec, ModelSpec, count_parameters, get_spec, summary
from companion.numpy_impl import build as numpy_build
from companion.torch_impl import build as torch_build

#: The totals the book quotes (and Keras prints for the source's models).
EXPECTED_COUNTS = {"mlp": 101_770, "cnn": 93_322, "lenet": 34_622}


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_count_parameters_matches_torch_and_numpy(name):
    spec = get_spec(name)
    torch_count = sum(p.numel() for p in torch_build(spec, device="cpu").parameters())
    numpy_count = numpy_build(spec, seed=0).num_parameters()
    assert count_parameters(spec) == EXPECTED_COUNTS[name], f"{name}: count_parameters"
    assert torch_count == EXPECTED_COUNTS[name], f"{name}: torch model's parameter count"
    assert numpy_count == EXPECTED_COUNTS[name], f"{name}: NumPy model's parameter count"
    assert summary(spec).total == EXPECTED_COUNTS[name], f"{name}: summary total"


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_summary_rows_match_torch_layer_by_layer(name):
    spec = get_spec(name)
    model = torch_build(spec, device="cpu")
    rows = summary(spec).rows
    assert len(rows) == len(spec.layers)
    x = torch.zeros((3, *spec.input_shape), dtype=torch.float64)
    with torch.no_grad():
        for row, layer in zip(rows, model):
            x = layer(x)
            assert (3, *row.output_shape) == tuple(x.shape), f"{name} layer {row.index} output shape"
            params = sum(p.numel() for p in layer.parameters())
            assert row.parameters == params, f"{name} layer {row.index} parameter count"


def test_summary_shapes_with_stride_padding_and_odd_sizes():
    """Stride, padding, avg-pooling with an explicit stride and sizes that do not divide evenly."""
    spec = ModelSpec(
        "odd",
        (3, 17, 15),
        (
            LayerSpec("conv2d", dict(in_channels=3, out_channels=4, kernel_size=3, stride=2, padding=1)),  # 4x9x8
            LayerSpec("leaky_relu", dict(negative_slope=0.2)),
            LayerSpec("avgpool2d", dict(kernel_size=3, stride=2)),  # 4x4x3
            LayerSpec("conv2d", dict(in_channels=4, out_channels=5, kernel_size=2, bias=False)),  # 5x3x2
            LayerSpec("tanh"),
            LayerSpec("maxpool2d", dict(kernel_size=2, stride=1)),  # 5x2x1
            LayerSpec("flatten"),
            LayerSpec("linear", dict(in_features=10, out_features=2, bias=False)),  # 5 x 2 x 1
            LayerSpec("sigmoid"),
        ),
    )
    model = torch_build(spec, device="cpu")
    x = torch.zeros((2, 3, 17, 15), dtype=torch.float64)
    with torch.no_grad():
        for row, layer in zip(summary(spec).rows, model):
            x = layer(x)
            assert (2, *row.output_shape) == tuple(x.shape), f"layer {row.index} ({row.layer})"
    assert count_parameters(spec) == sum(p.numel() for p in model.parameters())


def test_summary_prints_a_table_with_the_total():
    text = str(summary(get_spec("cnn")))
    assert "keras-cnn" in text
    assert "(N, 32, 26, 26)" in text
    assert "conv2d 32->64, 3x3" in text
    assert text.splitlines()[-1] == "total parameters: 93,322"
    assert repr(summary(get_spec("cnn"))) == text


@pytest.mark.parametrize(
    "kind, args, message",
    [
        ("conv3d", {}, "unknown layer kind 'conv3d'"),
        ("linear", {"in_features": 3, "out_features": 2, "dropout": 0.5}, "unexpected ['dropout']"),
        ("linear", {"in_features": 3}, "linear needs ['out_features']"),
        ("linear", {"in_features": 0, "out_features": 2}, "in_features must be a positive int, got 0"),
        ("conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 2.5}, "kernel_size must be a positive int"),
        ("conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": -1}, "padding must be an int >= 0"),
        ("conv2d", {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "stride": None}, "stride must be a positive int"),
        ("maxpool2d", {"kernel_size": 2, "stride": 0}, "stride must be a positive int, got 0"),
        ("avgpool2d", {}, "avgpool2d needs ['kernel_size']"),
    ],
)
def test_bad_layer_spec_raises_value_error(kind, args, message):
    with pytest.raises(ValueError) as info:
        LayerSpec(kind, args)
    assert message in str(info.value)


def test_bad_layer_argument_type_raises_type_error():
    with pytest.raises(TypeError, match="linear argument bias must be True or False, got 1"):
        LayerSpec("linear", {"in_features": 2, "out_features": 2, "bias": 1})
    with pytest.raises(TypeError, match="negative_slope must be a real number, got '0.1'"):
        LayerSpec("leaky_relu", {"negative_slope": "0.1"})


def _conv(cin, cout, k):
    return LayerSpec("conv2d", dict(in_channels=cin, out_channels=cout, kernel_size=k))


@pytest.mark.parametrize(
    "input_shape, layers, message",
    [
        ((1, 28, 28), (_conv(3, 8, 3),), "layer 0 (conv2d) expects 3 input channels, got 1"),
        ((1, 4, 4), (_conv(1, 2, 5),), "layer 0 (conv2d): a 5x5 window does not fit the input (1, 4, 4)"),
        (
            (1, 4, 4),
            (LayerSpec("flatten"), LayerSpec("linear", dict(in_features=15, out_features=2))),
            "layer 1 (linear) expects input of shape (15,), but the layer before produces (16,)",
        ),
        ((784,), (_conv(1, 2, 3),), "layer 0 (conv2d) expects (C, H, W) input"),
        ((0, 3), (), "input_shape must be a non-empty tuple of positive ints"),
    ],
)
def test_model_spec_that_does_not_fit_its_input_is_rejected(input_shape, layers, message):
    with pytest.raises(ValueError) as info:
        ModelSpec("bad", input_shape, layers)
    assert message in str(info.value)


def test_model_spec_rejects_something_that_is_not_a_layer_spec():
    with pytest.raises(TypeError, match="layer 0 must be a LayerSpec, got dict"):
        ModelSpec("bad", (3,), ({"kind": "relu"},))


def test_get_spec_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown model 'resnet'; choose one of \['cnn', 'lenet', 'mlp'\]"):
        get_spec("resnet")
    assert set(models.MODELS) == set(EXPECTED_COUNTS)
