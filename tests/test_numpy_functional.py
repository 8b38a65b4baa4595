"""The pure functions of ``companion.numpy_impl.functional``.

For every activation and every layer op: a finite-difference gradient check in float64
(relative error below 1e-7, see ``companion.numpy_impl.gradcheck``), parity with
``torch.nn.functional`` in float64 (``RTOL_64 = 1e-10``) and float32 (``RTOL_32 = 1e-5``; the
reasons are in ``helpers_numeric``), numerical stability at extreme inputs, and bad input.

Inputs to ReLU-like functions and max-pooling are built away from their kinks (no value within
0.1 of 0; pooling windows with distinct values), so the finite differences never straddle one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from companion.numpy_impl import functional as F
from companion.numpy_impl.gradcheck import gradcheck
from helpers_numeric import RTOL_64, assert_close, rtol_for

GRAD_TOL = 1e-7


def away_from_zero(rng, shape):
    """Standard normal values pushed at least 0.1 away from 0 (no ReLU kink in reach)."""
    z = rng.standard_normal(shape)
    return np.sign(z) * (0.1 + np.abs(z))


def torch_grads(fn, arrays, g):
    """Run the torch function ``fn`` on copies of ``arrays``; return (out, [grads]) for upstream ``g``."""
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(torch.tensor(g))
    return out, [t.grad for t in ts]


# ================================================================================================
# Activations
# ================================================================================================

# name -> (forward, backward from (dout, x, out), torch function)
ACTIVATIONS = {
    "relu": (F.relu, lambda d, x, y: F.relu_backward(d, x), TF.relu),
    "leaky_relu": (F.leaky_relu, lambda d, x, y: F.leaky_relu_backward(d, x), TF.leaky_relu),
    "leaky_relu_0.2": (
        lambda x: F.leaky_relu(x, 0.2),
        lambda d, x, y: F.leaky_relu_backward(d, x, 0.2),
        lambda t: TF.leaky_relu(t, 0.2),
    ),
    "sigmoid": (F.sigmoid, lambda d, x, y: F.sigmoid_backward(d, y), torch.sigmoid),
    "tanh": (F.tanh, lambda d, x, y: F.tanh_backward(d, y), torch.tanh),
    "softmax": (F.softmax, lambda d, x, y: F.softmax_backward(d, y), lambda t: TF.softmax(t, -1)),
    "softmax_axis0": (
        lambda x: F.softmax(x, axis=0),
        lambda d, x, y: F.softmax_backward(d, y, axis=0),
        lambda t: TF.softmax(t, 0),
    ),
    "log_softmax": (
        F.log_softmax,
        lambda d, x, y: F.log_softmax_backward(d, y),
        lambda t: TF.log_softmax(t, -1),
    ),
    "log_softmax_axis0": (
        lambda x: F.log_softmax(x, axis=0),
        lambda d, x, y: F.log_softmax_backward(d, y, axis=0),
        lambda t: TF.log_softmax(t, 0),
    ),
}


def activation_pair(name):
    """The activation as a gradcheck (forward, backward) pair."""
    fwd, bwd, _ = ACTIVATIONS[name]

    def forward(x):
        out = fwd(x)
        return out, (x, out)

    return forward, lambda dout, cache: bwd(dout, *cache)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name, rng):
    x = 2.0 * away_from_zero(rng, (4, 5))
    report = gradcheck(activation_pair(name), x)
    assert report.errors["input"] < GRAD_TOL, f"{name}: {report}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name, dtype, rng):
    fwd, bwd, torch_fn = ACTIVATIONS[name]
    x = (3.0 * away_from_zero(rng, (6, 7))).astype(dtype)
    g = rng.standard_normal(x.shape).astype(dtype)
    out = fwd(x)
    dx = bwd(g, x, out)
    assert out.dtype == dtype and dx.dtype == dtype, f"{name}: output dtype {out.dtype}, dx {dx.dtype}"
    t_out, (t_dx,) = torch_grads(torch_fn, [x], g)
    assert_close(f"{name} output", out, t_out, rtol_for(dtype))
    assert_close(f"{name} input grad", dx, t_dx, rtol_for(dtype))


@pytest.mark.filterwarnings("error")  # any overflow RuntimeWarning fails the test
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_is_stable_at_extreme_inputs(dtype):
    x = np.array([-1e30, -1e4, -1000.0, -100.0, 0.0, 100.0, 1000.0, 1e4, 1e30], dtype=dtype)
    s = F.sigmoid(x)
    assert np.all(np.isfinite(s)), f"sigmoid output not finite: {s}"
    assert s[0] == 0.0 and s[-1] == 1.0 and s[4] == 0.5, f"sigmoid limits wrong: {s}"
    assert np.all(np.diff(s) >= 0), f"sigmoid not monotone: {s}"
    ds = F.sigmoid_backward(np.ones_like(x), s)
    assert np.all(np.isfinite(ds)) and ds[4] == 0.25, f"sigmoid gradient wrong: {ds}"
    assert_close("sigmoid(extreme)", s, torch.sigmoid(torch.tensor(x)), RTOL_64)


@pytest.mark.filterwarnings("error")
def test_softmax_and_log_softmax_are_stable_at_large_inputs():
    x = np.array([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4 + 2.0, -1e4], [800.0, 0.0, -800.0]])
    p = F.softmax(x)
    logp = F.log_softmax(x)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp)), f"softmax {p}, log_softmax {logp}"
    assert_close("softmax rows sum", p.sum(axis=1), np.ones(3), 1e-15)
    assert_close("softmax(large)", p, TF.softmax(torch.tensor(x), -1), RTOL_64)
    assert_close("log_softmax(large)", logp, TF.log_softmax(torch.tensor(x), -1), RTOL_64)
    # shifting every logit by a constant changes nothing (the identity the trick relies on)
    assert_close("softmax shift invariance", F.softmax(x - 5000.0), p, 1e-15)


# ================================================================================================
# Linear
# ================================================================================================


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias, rng):
    x, w = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    inputs = (x, w, rng.standard_normal(4)) if bias else (x, w)
    names = ["x", "weight", "bias"][: len(inputs)]
    report = gradcheck((F.linear_forward, F.linear_backward), inputs, names=names)
    assert set(report.errors) == set(names), f"checked {set(report.errors)}"
    assert report.passed, str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_matches_torch(dtype, rng):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [(8, 20), (6, 20), (6,)])
    out, cache = F.linear_forward(x, w, b)
    g = rng.standard_normal(out.shape).astype(dtype)
    grads = F.linear_backward(g, cache)
    t_out, t_grads = torch_grads(TF.linear, [x, w, b], g)
    assert_close("linear output", out, t_out, rtol_for(dtype))
    for name, ours, theirs in zip(["dx", "dweight", "dbias"], grads, t_grads):
        assert ours.dtype == dtype, f"linear {name} dtype {ours.dtype}"
        assert_close(f"linear {name}", ours, theirs, rtol_for(dtype))


# ================================================================================================
# Convolution
# ================================================================================================

# (x shape, weight shape, stride, padding): strides 1 and 2, padding 0 and 1, non-square images
# and kernels, a stride that leaves a remainder.
CONV_CASES = [
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 0),
    ((2, 3, 6, 5), (4, 3, 3, 3), 1, 1),
    ((2, 2, 7, 6), (3, 2, 3, 3), 2, 0),
    ((2, 2, 7, 6), (3, 2, 3, 3), 2, 1),
    ((1, 2, 5, 7), (2, 2, 2, 3), (1, 2), (1, 0)),
    ((2, 1, 6, 6), (3, 1, 1, 1), 1, 0),
]


@pytest.mark.parametrize("xs, ws, stride, padding", CONV_CASES)
def test_conv2d_gradcheck(xs, ws, stride, padding, rng):
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    pair = (
        lambda x, w, b: F.conv2d_forward(x, w, b, stride, padding),
        F.conv2d_backward,
    )
    report = gradcheck(pair, (x, w, b), names=["x", "weight", "bias"])
    assert report.passed, str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("xs, ws, stride, padding", CONV_CASES)
def test_conv2d_matches_torch(xs, ws, stride, padding, dtype, rng):
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in [xs, ws, ws[:1]])
    out, cache = F.conv2d_forward(x, w, b, stride, padding)
    g = rng.standard_normal(out.shape).astype(dtype)
    grads = F.conv2d_backward(g, cache)
    t_out, t_grads = torch_grads(
        lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding), [x, w, b], g
    )
    assert out.shape == tuple(t_out.shape), f"conv output shape {out.shape} vs {tuple(t_out.shape)}"
    assert_close("conv2d output", out, t_out, rtol_for(dtype))
    for name, ours, theirs in zip(["dx", "dweight", "dbias"], grads, t_grads):
        assert ours.dtype == dtype, f"conv2d {name} dtype {ours.dtype}"
        assert_close(f"conv2d {name}", ours, theirs, rtol_for(dtype))


def test_conv2d_without_bias_matches_torch(rng):
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((2, 3, 3, 3))
    out, cache = F.conv2d_forward(x, w, None, 1, 1)
    g = rng.standard_normal(out.shape)
    dx, dw, db = F.conv2d_backward(g, cache)
    assert db is None, "conv2d without bias must return dbias None"
    t_out, (t_dx, t_dw) = torch_grads(lambda x, w: TF.conv2d(x, w, padding=1), [x, w], g)
    assert_close("conv2d (no bias) output", out, t_out, RTOL_64)
    assert_close("conv2d (no bias) dx", dx, t_dx, RTOL_64)
    assert_close("conv2d (no bias) dweight", dw, t_dw, RTOL_64)


# ================================================================================================
# Pooling
# ================================================================================================

# (x shape, kernel, stride): tiling windows, overlapping windows (3, stride 2), a remainder that
# the floor drops, rectangular kernels.
POOL_CASES = [
    ((2, 3, 6, 4), 2, 2),
    ((2, 2, 7, 7), 3, 2),
    ((1, 2, 5, 7), 2, 2),
    ((2, 2, 6, 5), 2, 1),
    ((1, 2, 7, 8), (2, 3), (3, 2)),
]


def distinct_values(rng, shape):
    """A shuffled grid of values 0.01 apart, centred on 0: no ties within reach of the
    finite-difference step (1e-6), so every window's maximum is unambiguous."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2).reshape(shape) * 0.01


POOLS = {
    "max": (F.maxpool2d_forward, F.maxpool2d_backward, TF.max_pool2d),
    "avg": (F.avgpool2d_forward, F.avgpool2d_backward, TF.avg_pool2d),
}


@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("xs, kernel, stride", POOL_CASES)
def test_pool_gradcheck(kind, xs, kernel, stride, rng):
    fwd, bwd, _ = POOLS[kind]
    report = gradcheck((lambda x: fwd(x, kernel, stride), bwd), distinct_values(rng, xs))
    assert report.passed, f"{kind} pool: {report}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(POOLS))
@pytest.mark.parametrize("xs, kernel, stride", POOL_CASES)
def test_pool_matches_torch(kind, xs, kernel, stride, dtype, rng):
    fwd, bwd, torch_fn = POOLS[kind]
    x = rng.standard_normal(xs).astype(dtype)
    out, cache = fwd(x, kernel, stride)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx = bwd(g, cache)
    t_out, (t_dx,) = torch_grads(lambda t: torch_fn(t, kernel, stride), [x], g)
    assert out.dtype == dtype and dx.dtype == dtype, f"{kind} pool dtypes {out.dtype}, {dx.dtype}"
    assert_close(f"{kind}pool output", out, t_out, rtol_for(dtype))
    assert_close(f"{kind}pool dx", dx, t_dx, rtol_for(dtype))


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (2, 1)])
def test_maxpool_ties_route_the_gradient_like_torch(kernel, stride, rng):
    # After a ReLU whole windows are 0: torch sends the gradient to the first maximum in
    # row-major order, and so must we, or the two implementations drift apart during training.
    x = np.maximum(rng.standard_normal((2, 3, 8, 8)), 0.0)
    x[0, 0] = 0.0  # an all-tied channel
    x[1, 1, :4, :4] = 1.5  # tied positive windows
    out, cache = F.maxpool2d_forward(x, kernel, stride)
    g = rng.standard_normal(out.shape)
    dx = F.maxpool2d_backward(g, cache)
    t_out, (t_dx,) = torch_grads(lambda t: TF.max_pool2d(t, kernel, stride), [x], g)
    assert_close("maxpool output (ties)", out, t_out, 0.0)
    assert_close("maxpool dx (ties)", dx, t_dx, RTOL_64)


# ================================================================================================
# Bad input
# ================================================================================================


def test_activations_reject_integer_and_non_finite_input():
    with pytest.raises(TypeError, match="input must be float32 or float64, got dtype int64"):
        F.relu(np.arange(4))
    with pytest.raises(ValueError, match="input contains 1 NaN or infinite"):
        F.sigmoid(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="input contains 2 NaN or infinite"):
        F.softmax(np.array([np.inf, -np.inf, 1.0]))
    with pytest.raises(TypeError, match="input must be a numpy.ndarray, got list"):
        F.tanh([1.0, 2.0])


def test_backward_rejects_wrong_dout(rng):
    x = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 4\), got \(4, 3\)"):
        F.relu_backward(np.ones((4, 3)), x)
    with pytest.raises(TypeError, match="dout must have dtype float64, got float32"):
        F.relu_backward(np.ones((3, 4), np.float32), x)
    out, cache = F.linear_forward(x, rng.standard_normal((2, 4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(3, 2\), got \(3, 4\)"):
        F.linear_backward(np.ones((3, 4)), cache)


def test_linear_forward_rejects_bad_input(rng):
    w = rng.standard_normal((3, 5))
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 5\), got \(2, 4\)"):
        F.linear_forward(rng.standard_normal((2, 4)), w)
    with pytest.raises(ValueError, match=r"input must have 2 dimensions, got 3"):
        F.linear_forward(rng.standard_normal((2, 5, 1)), w)
    with pytest.raises(TypeError, match="input has dtype float32 but this layer's parameters are float64"):
        F.linear_forward(rng.standard_normal((2, 5)).astype(np.float32), w)
    with pytest.raises(ValueError, match=r"bias must have shape \(3,\), got \(4,\)"):
        F.linear_forward(rng.standard_normal((2, 5)), w, np.zeros(4))


def test_conv2d_forward_rejects_bad_input(rng):
    w = rng.standard_normal((4, 3, 3, 3))
    with pytest.raises(ValueError, match=r"input must have shape \(\*, 3, \*, \*\), got \(2, 1, 8, 8\)"):
        F.conv2d_forward(rng.standard_normal((2, 1, 8, 8)), w)
    with pytest.raises(ValueError, match=r"input must have 4 dimensions, got 3"):
        F.conv2d_forward(rng.standard_normal((3, 8, 8)), w)
    with pytest.raises(ValueError, match=r"spatial size 2x5 .* smaller than the kernel 3x3"):
        F.conv2d_forward(rng.standard_normal((1, 3, 2, 5)), w)
    with pytest.raises(ValueError, match="stride must be >= 1, got 0"):
        F.conv2d_forward(rng.standard_normal((1, 3, 8, 8)), w, stride=0)
    with pytest.raises(TypeError, match=r"padding must be an int or a pair of ints, got 1.5"):
        F.conv2d_forward(rng.standard_normal((1, 3, 8, 8)), w, padding=1.5)
    with pytest.raises(TypeError, match="input has dtype float32 but this layer's parameters are float64"):
        F.conv2d_forward(rng.standard_normal((1, 3, 8, 8)).astype(np.float32), w)


def test_pool_forward_rejects_bad_input(rng):
    with pytest.raises(ValueError, match=r"spatial size 1x4 .* smaller than the kernel 2x2"):
        F.maxpool2d_forward(rng.standard_normal((1, 1, 1, 4)), 2)
    with pytest.raises(ValueError, match="input must have 4 dimensions, got 2"):
        F.avgpool2d_forward(rng.standard_normal((4, 4)), 2)
    with pytest.raises(ValueError, match="kernel_size must be >= 1, got 0"):
        F.maxpool2d_forward(rng.standard_normal((1, 1, 4, 4)), 0)
