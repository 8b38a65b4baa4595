"""The NumPy layers (``companion.numpy_impl.layers``) and ``build``: gradients, torch parity,
torch-compatible names and reprs, bad input, seeded repeatability.

Every layer gets a finite-difference check of the input gradient AND of every parameter's
gradient in float64 (relative error below 1e-7), and is compared with its ``torch.nn`` twin
holding the same weights: output, input gradient and parameter gradients within
``RTOL_64 = 1e-10`` in float64 and ``RTOL_32 = 1e-5`` in float32 (see ``helpers_numeric``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.numpy_impl import (
    AvgPool2d,
    Conv2d,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from companion.numpy_impl.module import no_grad
from companion.numpy_impl.gradcheck import gradcheck
from helpers_numeric import RTOL_64, assert_close, rtol_for
from helpers_models import numpy_model, torch_model, twins

GRAD_TOL = 1e-7


def away_from_zero(rng, shape):
    z = rng.standard_normal(shape)
    return np.sign(z) * (0.1 + np.abs(z))


def distinct_values(rng, shape):
    """A shuffled grid of values 0.01 apart, centred on 0 (no ties near the 1e-6 step)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2).reshape(shape) * 0.01


# name -> (factory(dtype, rng) -> (numpy layer, torch layer), input shape, input maker)
LAYERS = {
    "linear": (
        lambda dt, rng: (Linear(7, 4, dtype=dt, rng=rng), nn.Linear(7, 4)),
        (5, 7),
        np.random.Generator.standard_normal,
    ),
    # Square: a transposed weight gradient has the right shape, so only the values catch it.
    "linear_square": (
        lambda dt, rng: (Linear(6, 6, dtype=dt, rng=rng), nn.Linear(6, 6)),
        (6, 6),
        np.random.Generator.standard_normal,
    ),
    "linear_nobias": (
        lambda dt, rng: (Linear(7, 4, bias=False, dtype=dt, rng=rng), nn.Linear(7, 4, bias=False)),
        (5, 7),
        np.random.Generator.standard_normal,
    ),
    "conv_s1_p0": (
        lambda dt, rng: (Conv2d(3, 4, 3, dtype=dt, rng=rng), nn.Conv2d(3, 4, 3)),
        (2, 3, 6, 5),
        np.random.Generator.standard_normal,
    ),
    "conv_s2_p1": (
        lambda dt, rng: (
            Conv2d(2, 3, 3, stride=2, padding=1, dtype=dt, rng=rng),
            nn.Conv2d(2, 3, 3, stride=2, padding=1),
        ),
        (2, 2, 7, 6),
        np.random.Generator.standard_normal,
    ),
    "conv_rect_nobias": (
        lambda dt, rng: (
            Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0), bias=False, dtype=dt, rng=rng),
            nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0), bias=False),
        ),
        (2, 2, 5, 7),
        np.random.Generator.standard_normal,
    ),
    "maxpool_2": (lambda dt, rng: (MaxPool2d(2), nn.MaxPool2d(2)), (2, 3, 6, 4), distinct_values),
    "maxpool_3s2": (
        lambda dt, rng: (MaxPool2d(3, stride=2), nn.MaxPool2d(3, stride=2)),
        (2, 2, 7, 7),
        distinct_values,
    ),
    "avgpool_2": (lambda dt, rng: (AvgPool2d(2), nn.AvgPool2d(2)), (2, 3, 6, 4), distinct_values),
    "avgpool_3s2": (
        lambda dt, rng: (AvgPool2d(3, stride=2), nn.AvgPool2d(3, stride=2)),
        (2, 2, 7, 7),
        distinct_values,
    ),
    "flatten": (lambda dt, rng: (Flatten(), nn.Flatten()), (3, 2, 3, 4), np.random.Generator.standard_normal),
    "relu": (lambda dt, rng: (ReLU(), nn.ReLU()), (4, 6), away_from_zero),
    "leaky_relu": (lambda dt, rng: (LeakyReLU(0.1), nn.LeakyReLU(0.1)), (4, 6), away_from_zero),
    "sigmoid": (lambda dt, rng: (Sigmoid(), nn.Sigmoid()), (4, 6), away_from_zero),
    "tanh": (lambda dt, rng: (Tanh(), nn.Tanh()), (4, 6), away_from_zero),
}


def make(name, dtype, rng):
    """The NumPy layer, its torch twin holding the same weights, and an input."""
    factory, shape, maker = LAYERS[name]
    ours, theirs = factory(dtype, rng)
    theirs = theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for pname, p in ours.named_parameters():
            getattr(theirs, pname).copy_(torch.from_numpy(p.data))
    x = maker(rng, shape).astype(dtype)
    return ours, theirs, x


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradcheck_input_and_every_parameter(name, rng):
    layer, _, x = make(name, np.float64, rng)
    report = gradcheck(layer, x)
    expected = {"input"} | {n for n, _ in layer.named_parameters()}
    assert set(report.errors) == expected, f"{name}: checked {sorted(report.errors)}"
    for tensor, err in report.errors.items():
        assert err < GRAD_TOL, f"{name}: {tensor} relative error {err:.2e}\n{report}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name, dtype, rng):
    layer, t_layer, x = make(name, dtype, rng)
    out = layer.forward(x)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx = layer.backward(g)

    x_t = torch.tensor(x, requires_grad=True)
    out_t = t_layer(x_t)
    out_t.backward(torch.tensor(g))
    tol = rtol_for(dtype)
    assert out.dtype == dtype and dx.dtype == dtype, f"{name}: out {out.dtype}, dx {dx.dtype}"
    assert_close(f"{name} output", out, out_t, tol)
    assert_close(f"{name} input grad", dx, x_t.grad, tol)
    for pname, p in layer.named_parameters():
        assert p.grad.dtype == dtype, f"{name}.{pname}.grad dtype {p.grad.dtype}"
        assert_close(f"{name}.{pname}.grad", p.grad, getattr(t_layer, pname).grad, tol)


def test_cnn_model_matches_torch_end_to_end(rng):
    # The layers composed: channels-last memory inside the conv, Flatten's order, the pools.
    spec = "cnn"
    ours = numpy_model(spec, seed=3)
    theirs = torch_model(spec, dtype=torch.float64, device="cpu")
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((3, 1, 28, 28))
    out = ours.forward(x)
    g = rng.standard_normal(out.shape)
    dx = ours.backward(g)
    x_t = torch.tensor(x, requires_grad=True)
    out_t = theirs(x_t)
    out_t.backward(torch.tensor(g))
    assert_close("cnn output", out, out_t, RTOL_64)
    assert_close("cnn input grad", dx, x_t.grad, RTOL_64)
    t_params = dict(theirs.named_parameters())
    for pname, p in ours.named_parameters():
        assert_close(f"cnn {pname}.grad", p.grad, t_params[pname].grad, RTOL_64)


def test_backward_accumulates_gradients_like_torch(rng):
    layer = Linear(3, 2, rng=rng)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(x)
    layer.backward(g)
    first = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(g)
    assert_close("weight.grad after two backward passes", layer.weight.grad, 2 * first, 1e-15)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None, "zero_grad must reset grads to None"


# ================================================================================================
# torch-compatible structure
# ================================================================================================


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (Linear(784, 128, rng=np.random.default_rng(0)), nn.Linear(784, 128)),
        (Linear(4, 2, bias=False, rng=np.random.default_rng(0)), nn.Linear(4, 2, bias=False)),
        (Conv2d(1, 32, 3, rng=np.random.default_rng(0)), nn.Conv2d(1, 32, 3)),
        (
            Conv2d(2, 4, (3, 2), stride=2, padding=1, bias=False, rng=np.random.default_rng(0)),
            nn.Conv2d(2, 4, (3, 2), stride=2, padding=1, bias=False),
        ),
        (MaxPool2d(2), nn.MaxPool2d(2)),
        (MaxPool2d(3, stride=2), nn.MaxPool2d(3, stride=2)),
        (AvgPool2d(2), nn.AvgPool2d(2)),
        (Flatten(), nn.Flatten()),
        (ReLU(), nn.ReLU()),
        (LeakyReLU(), nn.LeakyReLU()),
        (LeakyReLU(0.2), nn.LeakyReLU(0.2)),
        (Sigmoid(), nn.Sigmoid()),
        (Tanh(), nn.Tanh()),
    ],
)
def test_repr_and_parameter_names_match_torch(ours, theirs):
    assert repr(ours) == repr(theirs), f"repr {ours!r} != torch's {theirs!r}"
    ours_shapes = {name: p.shape for name, p in ours.named_parameters()}
    torch_shapes = {name: tuple(p.shape) for name, p in theirs.named_parameters()}
    assert ours_shapes == torch_shapes, f"parameters {ours_shapes} vs torch {torch_shapes}"


def test_bias_false_sets_bias_to_none():
    layer = Conv2d(2, 3, 3, bias=False, rng=np.random.default_rng(0))
    assert layer.bias is None, "bias=False must leave bias = None, as torch does"
    assert [n for n, _ in layer.named_parameters()] == ["weight"], "only weight is a parameter"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_parameters_take_the_layer_dtype(dtype):
    for layer in (Linear(3, 2, dtype=dtype, rng=np.random.default_rng(0)),
                  Conv2d(1, 2, 3, dtype=dtype, rng=np.random.default_rng(0))):
        for name, p in layer.named_parameters():
            assert p.dtype == dtype, f"{type(layer).__name__}.{name} has dtype {p.dtype}"


def test_build_matches_torch_build_state_dict_keys_and_shapes():
    for name in ("mlp", "cnn", "lenet"):
        ours = numpy_model(name).state_dict()
        theirs = torch_model(name, device="cpu").state_dict()
        assert list(ours) == list(theirs), f"{name}: keys {list(ours)} vs torch {list(theirs)}"
        for key in ours:
            assert ours[key].shape == tuple(theirs[key].shape), f"{name}: {key} shape"


# ================================================================================================
# Seeded repeatability
# ================================================================================================


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_gives_identical_weights_and_passes_bit_for_bit(dtype, rng):
    spec = "lenet"
    a, b = numpy_model(spec, dtype=dtype, seed=7), numpy_model(spec, dtype=dtype, seed=7)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert pa.data.tobytes() == pb.data.tobytes(), f"{name}: weights differ between two builds"
    x = rng.standard_normal((4, 1, 28, 28)).astype(dtype)
    out_a, out_b = a.forward(x), b.forward(x)
    assert out_a.tobytes() == out_b.tobytes(), "forward outputs differ bit-wise"
    g = rng.standard_normal(out_a.shape).astype(dtype)
    dx_a, dx_b = a.backward(g), b.backward(g)
    assert dx_a.tobytes() == dx_b.tobytes(), "input gradients differ bit-wise"
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert pa.grad.tobytes() == pb.grad.tobytes(), f"{name}.grad differs bit-wise"


def test_seed_and_rng_choose_the_weights():
    spec = "mlp"
    w = lambda m: m.state_dict()["1.weight"]  # noqa: E731
    assert not np.array_equal(w(numpy_model(spec, seed=0)), w(numpy_model(spec, seed=1))), "seeds 0 and 1 agree"
    assert np.array_equal(
        w(numpy_model(spec, seed=5)), w(numpy_model(spec, rng=np.random.default_rng(5)))
    ), "seed=5 must equal rng=default_rng(5)"
    w64, w32 = w(numpy_model(spec, seed=2)), w(numpy_model(spec, dtype=np.float32, seed=2))
    assert w32.dtype == np.float32 and np.array_equal(w64.astype(np.float32), w32), (
        "a float32 build must hold the float64 build's weights rounded to float32"
    )


def test_layers_use_torch_default_init_bounds():
    layer = Conv2d(4, 8, 3, rng=np.random.default_rng(0))  # fan_in = 4 * 3 * 3 = 36
    bound = 1 / 6
    for name, p in layer.named_parameters():
        assert np.abs(p.data).max() <= bound, f"{name} exceeds U(-1/sqrt(fan_in), ..) bound {bound}"
    assert np.abs(layer.weight.data).max() > 0.9 * bound, "weights do not span the init range"


# ================================================================================================
# Bad input
# ================================================================================================


def test_linear_rejects_wrong_shape_dtype_and_values(rng):
    layer = Linear(784, 10, rng=rng)
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 784\), got \(2, 783\)"):
        layer.forward(rng.standard_normal((2, 783)))
    with pytest.raises(TypeError, match=r"input has dtype float32 but this layer's parameters are float64"):
        layer.forward(rng.standard_normal((2, 784)).astype(np.float32))
    with pytest.raises(TypeError, match="input must be float32 or float64, got dtype int64"):
        layer.forward(np.zeros((2, 784), dtype=np.int64))
    bad = rng.standard_normal((2, 784))
    bad[1, 5] = np.nan
    with pytest.raises(ValueError, match="input contains 1 NaN or infinite"):
        layer.forward(bad)


def test_float32_layer_rejects_float64_input(rng):
    layer = Conv2d(1, 2, 3, dtype=np.float32, rng=rng)
    with pytest.raises(TypeError, match=r"input has dtype float64 but this layer's parameters are float32"):
        layer.forward(rng.standard_normal((1, 1, 5, 5)))


def test_conv2d_rejects_wrong_channel_count(rng):
    layer = Conv2d(3, 4, 3, rng=rng)
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 3, \*, \*\), got \(2, 1, 8, 8\)"):
        layer.forward(rng.standard_normal((2, 1, 8, 8)))
    with pytest.raises(ValueError, match="input contains 48 NaN or infinite"):
        layer.forward(np.full((1, 3, 4, 4), np.inf))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_backward_before_forward_raises(name, rng):
    layer, _, _ = make(name, np.float64, rng)
    cls = type(layer).__name__
    with pytest.raises(RuntimeError, match=f"{cls}.backward needs a forward pass first"):
        layer.backward(np.ones((2, 2)))


def test_backward_rejects_wrong_gradient_shape(rng):
    layer = Conv2d(1, 2, 3, rng=rng)
    layer.forward(rng.standard_normal((2, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 2, 3, 3\), got \(2, 2, 5, 5\)"):
        layer.backward(np.ones((2, 2, 5, 5)))


def test_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match="in_features must be a positive int, got 0"):
        Linear(0, 3)
    with pytest.raises(TypeError, match="dtype must be float32 or float64, got int32"):
        Linear(2, 3, dtype=np.int32)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or None, got int"):
        Linear(2, 3, rng=0)
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        Conv2d(1, 2, 0)
    with pytest.raises(TypeError, match="stride must be an int or a pair of ints, got 'x'"):
        MaxPool2d(2, stride="x")


def test_a_model_given_the_wrong_input_names_the_first_layer_that_cannot_take_it(rng):
    model = numpy_model("cnn")
    with pytest.raises(ValueError, match=r"input must have 4 dimensions, got 2 \(shape \(4, 784\)\)"):
        model(rng.standard_normal((4, 784)))
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 1, \*, \*\), got \(4, 3, 28, 28\)"):
        model(rng.standard_normal((4, 3, 28, 28)))
    with pytest.raises(TypeError, match="input has dtype float32 but this layer's parameters are float64"):
        model(rng.standard_normal((4, 1, 28, 28)).astype(np.float32))


# ================================================================================================
# Kinks, ties and the shortcuts of the training step
# ================================================================================================


@pytest.mark.parametrize("np_layer, t_layer", [(ReLU(), nn.ReLU()), (LeakyReLU(0.1), nn.LeakyReLU(0.1))])
def test_activation_gradient_at_exactly_zero_is_torchs(np_layer, t_layer):
    """At the kink x = 0 the derivative is a convention: torch takes the left one (0, or the
    slope); ours must too."""
    x = np.array([[-1.0, -0.0, 0.0, 1e-300, 2.0]])
    g = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    np_layer(x)
    x_t = torch.tensor(x, requires_grad=True)
    t_layer(x_t).backward(torch.tensor(g))
    np.testing.assert_array_equal(np_layer.backward(g), x_t.grad.numpy())


def test_maxpool_ties_route_the_gradient_like_torch():
    x = np.zeros((1, 1, 4, 4))  # every window is a four-way tie
    x[0, 0, 2:, 2:] = 1.0
    g = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    pool = MaxPool2d(2)
    pool(x)
    x_t = torch.tensor(x, requires_grad=True)
    nn.MaxPool2d(2)(x_t).backward(torch.tensor(g))
    np.testing.assert_array_equal(pool.backward(g), x_t.grad.numpy())


def test_input_grad_false_skips_the_input_gradient_and_changes_no_parameter_gradient(rng):
    model = numpy_model("lenet")
    x = rng.standard_normal((3, 1, 28, 28))
    g = rng.standard_normal((3, 10))
    model(x)
    assert model.backward(g, input_grad=False) is None
    skipped = {name: p.grad.copy() for name, p in model.named_parameters()}
    model.zero_grad()
    model(x)
    model.backward(g)
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(p.grad, skipped[name], err_msg=name)


def test_no_grad_keeps_no_cache_and_backward_then_says_why(rng):
    layer = Conv2d(1, 2, 3, rng=rng)
    x = rng.standard_normal((2, 1, 5, 5))
    with no_grad():
        out = layer(x)
    np.testing.assert_array_equal(out, layer(x))
    with no_grad():
        layer(x)
    with pytest.raises(RuntimeError, match=r"Conv2d.backward needs a forward pass first .*no_grad"):
        layer.backward(np.ones_like(out))
