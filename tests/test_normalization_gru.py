"""LayerNorm, BatchNorm1d/2d, GRU and clip_grad_norm_ against finite differences and torch.

Gradient checks in float64 (relative error < 1e-7); float64 parity with torch < 1e-10 relative
(helpers_numeric.RTOL_64) for outputs, input and parameter gradients, BatchNorm's running
statistics after several training steps, and evaluation mode; bad input named clearly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.numpy_impl import (
    GRU,
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    Linear,
    clip_grad_norm_,
)
from companion.torch_impl import numpy_to_torch
from helpers_numeric import RTOL_64, assert_close
from transformer_helpers import GRAD_TOL, assert_grads_ok, grad_errors, t64

def module_grad_errors(layer, x, call=None, out_grad=None):
    """Finite-difference check of a single-input module: the input and every parameter."""
    call = call or (lambda: layer(x))
    arrays = {"input": x}
    arrays.update({name: p.data for name, p in layer.named_parameters()})

    def backward(g):
        layer.zero_grad()
        call()
        grads = {"input": layer.backward(g) if out_grad is None else out_grad(g)}
        grads.update({name: p.grad for name, p in layer.named_parameters()})
        return grads

    return grad_errors(call, backward, arrays)


def randomise(layer, rng):
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.5 + 1


# ================================================================================================
# LayerNorm
# ================================================================================================


@pytest.mark.parametrize("shape, normalized", [((3, 5, 6), (6,)), ((4, 4), (4,)),
                                               ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("affine, bias", [(True, True), (True, False), (False, False)])
def test_layer_norm_matches_torch(rng, shape, normalized, affine, bias):
    layer = LayerNorm(normalized, 1e-5, affine, bias)
    randomise(layer, rng)
    ref = numpy_to_torch(layer, torch.nn.LayerNorm(normalized, 1e-5, affine, bias,
                                                   dtype=torch.float64))
    x = rng.standard_normal(shape) * 3 + 2
    g = rng.standard_normal(shape)
    tx = t64(x, True)
    out = ref(tx)
    out.backward(t64(g))
    assert_close("layer norm out", layer(x), out, RTOL_64)
    assert_close("layer norm dx", layer.backward(g), tx.grad, RTOL_64)
    for name, p in ref.named_parameters():
        assert_close(f"layer norm {name}.grad", getattr(layer, name).grad, p.grad, RTOL_64)


def test_layer_norm_gradients_by_finite_differences(rng):
    layer = LayerNorm((3, 4))
    randomise(layer, rng)
    assert_grads_ok(module_grad_errors(layer, rng.standard_normal((2, 3, 4))))


def test_layer_norm_bad_input(rng):
    with pytest.raises(ValueError, match=r"end with normalized_shape \(4,\), got shape \(2, 3\)"):
        LayerNorm(4)(rng.standard_normal((2, 3)))


# ================================================================================================
# BatchNorm
# ================================================================================================


@pytest.mark.parametrize("cls, shape", [(BatchNorm1d, (8, 3)), (BatchNorm1d, (4, 3, 5)),
                                        (BatchNorm2d, (4, 3, 5, 5)), (BatchNorm2d, (2, 3, 4, 6))])
@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batch_norm_training_steps_and_eval_match_torch(rng, cls, shape, momentum):
    layer = cls(3, 1e-5, momentum)
    randomise(layer, rng)
    ref = getattr(torch.nn, cls.__name__)(3, 1e-5, momentum, dtype=torch.float64)
    # the whole state dict, parameters and buffers (running statistics), copies across
    numpy_to_torch(layer, ref)
    for step in range(4):  # several steps: the running statistics accumulate
        x = rng.standard_normal(shape) * (step + 1) + step
        g = rng.standard_normal(shape)
        tx = t64(x, True)
        out = ref(tx)
        out.backward(t64(g))
        layer.zero_grad()
        assert_close(f"step {step} out", layer(x), out, RTOL_64)
        assert_close(f"step {step} dx", layer.backward(g), tx.grad, RTOL_64)
        assert_close(f"step {step} weight.grad", layer.weight.grad, ref.weight.grad, RTOL_64)
        assert_close(f"step {step} bias.grad", layer.bias.grad, ref.bias.grad, RTOL_64)
        ref.zero_grad()
        assert_close(f"step {step} running_mean", layer.running_mean, ref.running_mean, RTOL_64)
        assert_close(f"step {step} running_var", layer.running_var, ref.running_var, RTOL_64)
    assert layer.num_batches_tracked == int(ref.num_batches_tracked) == 4
    layer.eval()
    ref.eval()
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape)
    tx = t64(x, True)
    out = ref(tx)
    out.backward(t64(g))
    assert_close("eval out", layer(x), out, RTOL_64)
    assert_close("eval dx", layer.backward(g), tx.grad, RTOL_64)


def test_batch_norm_without_running_stats_or_affine(rng):
    layer = BatchNorm2d(2, affine=False, track_running_stats=False).eval()
    ref = torch.nn.BatchNorm2d(2, affine=False, track_running_stats=False,
                               dtype=torch.float64).eval()
    x = rng.standard_normal((3, 2, 4, 4))
    assert_close("batch statistics in eval", layer(x), ref(t64(x)), RTOL_64)
    assert layer.running_mean is None and layer.parameters() == []


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradients_by_finite_differences(rng, training):
    layer = BatchNorm2d(2)
    randomise(layer, rng)
    layer.running_var[...] = [0.5, 2.0]
    layer.train(training)
    x = rng.standard_normal((3, 2, 2, 3))
    saved = (layer.running_mean.copy(), layer.running_var.copy())

    def call():  # every evaluation from the same running statistics
        layer.running_mean[...], layer.running_var[...] = saved
        return layer(x)

    assert_grads_ok(module_grad_errors(layer, x, call))


def test_batch_norm_bad_input(rng):
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) expects a 4-d input with 3 channels "
                                         r"on axis 1, got \(2, 4, 5, 5\)"):
        BatchNorm2d(3)(rng.standard_normal((2, 4, 5, 5)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(rng.standard_normal((1, 3)))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=1.5)


# ================================================================================================
# GRU
# ================================================================================================


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes", [(5, 3, 4, 6), (4, 4, 4, 4), (1, 2, 3, 5)])
def test_gru_matches_torch(rng, batch_first, bias, sizes):
    t, n, d, h = sizes
    layer = GRU(d, h, bias=bias, batch_first=batch_first, rng=rng)
    ref = numpy_to_torch(layer, torch.nn.GRU(d, h, bias=bias, batch_first=batch_first,
                                             dtype=torch.float64))
    assert list(layer.state_dict()) == list(ref.state_dict())
    x = rng.standard_normal((n, t, d) if batch_first else (t, n, d))
    h0 = rng.standard_normal((1, n, h))
    tx, th0 = t64(x, True), t64(h0, True)
    out, h_n = layer(x, h0)
    tout, th_n = ref(tx, th0)
    g, g_n = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    (tout * t64(g)).sum().add((th_n * t64(g_n)).sum()).backward()
    assert_close("gru output", out, tout, RTOL_64)
    assert_close("gru h_n", h_n, th_n, RTOL_64)
    dx, dh0 = layer.backward(g, g_n)
    assert_close("gru dx", dx, tx.grad, RTOL_64)
    assert_close("gru dh0", dh0, th0.grad, RTOL_64)
    for name, p in ref.named_parameters():
        assert_close(f"gru {name}.grad", getattr(layer, name).grad, p.grad, RTOL_64)


def test_gru_gradients_by_finite_differences(rng):
    """Through the outputs and the final state at once: the check's output is both, flattened."""
    layer = GRU(3, 4, rng=rng)
    x, h0 = rng.standard_normal((4, 2, 3)), rng.standard_normal((1, 2, 4))
    arrays = {"input": x, "h0": h0}
    arrays.update({name: p.data for name, p in layer.named_parameters()})

    def forward():
        out, h_n = layer(x, h0)
        return np.concatenate([out.ravel(), h_n.ravel()])

    def backward(g):
        layer.zero_grad()
        forward()
        dx, dh0 = layer.backward(g[:-8].reshape(4, 2, 4), g[-8:].reshape(1, 2, 4))
        grads = {"input": dx, "h0": dh0}
        grads.update({name: p.grad for name, p in layer.named_parameters()})
        return grads

    assert_grads_ok(grad_errors(forward, backward, arrays))


def test_gru_bad_input(rng):
    layer = GRU(3, 4, rng=rng)
    with pytest.raises(ValueError, match=r"input_size=3\), got \(5, 2, 4\)"):
        layer(rng.standard_normal((5, 2, 4)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(1, 2, 4\), got \(2, 4\)"):
        layer(rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4)))
    with pytest.raises(TypeError, match="float32"):
        layer(rng.standard_normal((5, 2, 3)).astype(np.float32))


# ================================================================================================
# clip_grad_norm_
# ================================================================================================


@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_torch(rng, max_norm, norm_type):
    layers = [Linear(4, 3, rng=rng), Linear(3, 2, rng=rng)]
    params = [p for layer in layers for p in layer.parameters()]
    tparams = []
    for p in params:
        p.grad = rng.standard_normal(p.shape)
        tp = torch.nn.Parameter(t64(p.data))
        tp.grad = t64(p.grad)
        tparams.append(tp)
    params[-1].grad = None  # skipped, as torch skips parameters without a gradient
    tparams[-1].grad = None
    total = clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert_close("total norm", np.array(total), ttotal, RTOL_64)
    for i, (p, tp) in enumerate(zip(params[:-1], tparams[:-1])):
        assert_close(f"clipped grad {i}", p.grad, tp.grad, RTOL_64)


def test_clip_grad_norm_edge_cases(rng):
    layer = Linear(2, 2, rng=rng)
    assert clip_grad_norm_(layer, 1.0) == 0.0  # no gradients yet
    layer.weight.grad = np.full((2, 2), np.inf)
    with pytest.raises(RuntimeError, match="error_if_nonfinite"):
        clip_grad_norm_(layer, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="max_norm must be a positive number, got -1"):
        clip_grad_norm_(layer, -1)


def test_batchnorm_running_statistics_are_buffers_that_copy_to_torch_and_back():
    """Buffers: in state_dict() (so a model with BatchNorm copies across whole), never trained."""
    from companion.numpy_impl import Sequential
    from companion.torch_impl import torch_to_numpy

    rng = np.random.default_rng(0)
    ours = Sequential(Linear(4, 3, rng=rng), BatchNorm1d(3))
    for _ in range(3):
        ours(rng.standard_normal((5, 4)))
    assert [name for name, _ in ours.named_parameters()] == ["0.weight", "0.bias", "1.weight",
                                                             "1.bias"]
    theirs = numpy_to_torch(ours, torch.nn.Sequential(torch.nn.Linear(4, 3),
                                                     torch.nn.BatchNorm1d(3)).double())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert int(theirs[1].num_batches_tracked) == 3
    assert_close("running_var", ours[1].running_var, theirs[1].running_var, RTOL_64)
    back = torch_to_numpy(theirs, Sequential(Linear(4, 3, rng=rng), BatchNorm1d(3)))
    np.testing.assert_array_equal(back[1].running_mean, ours[1].running_mean)
    assert int(back[1].num_batches_tracked) == 3


def test_a_tied_parameter_is_listed_once_but_saved_under_both_names():
    from companion.numpy_impl import Embedding, ModuleList

    shared = ModuleList([Embedding(5, 3, rng=np.random.default_rng(0)), Linear(3, 5)])
    shared[1].weight = shared[0].weight
    assert len(shared.parameters()) == 2  # the tied weight once, and the Linear's bias
    assert list(shared.state_dict()) == ["0.weight", "1.weight", "1.bias"]
