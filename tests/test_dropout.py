"""Dropout: gradients, modes, expected value, edge cases of p, and parity with torch.

torch draws its masks from its own generator, so no test can ask for the same random mask from
both libraries. Parity is tested the only way that means something: read torch's mask off its
output (the input has no zeros, so ``out != 0`` is exactly the keep-mask), give that mask to ours,
and compare outputs and gradients. Tolerances are the shared ones of ``helpers_numeric``
(1e-10 in float64, 1e-5 in float32); the arithmetic is one division and one product, so the
differences seen are zero or one rounding.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from companion.numpy_impl import (
    Dropout,
    Linear,
    ReLU,
    Sequential,
    dropout_backward,
    dropout_forward,
    dropout_mask,
    gradcheck,
)
from helpers_numeric import assert_close, rtol_for

DTYPES = [np.float64, np.float32]
TORCH_DTYPES = {np.float64: torch.float64, np.float32: torch.float32}


def nonzero_input(shape, dtype=np.float64, seed=0):
    """Standard normal values pushed away from zero (so that ``out != 0`` reveals the mask)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return (x + np.where(x >= 0, 0.1, -0.1)).astype(dtype)


# --- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_functional_pair_passes_gradcheck_with_a_fixed_mask(p):
    x = nonzero_input((4, 6))
    mask = dropout_mask(x.shape, p, np.random.default_rng(1))
    report = gradcheck((lambda a: dropout_forward(a, mask, p), dropout_backward), x)
    assert report.passed, f"dropout gradient (p={p}) failed:\n{report}"


def test_network_with_dropout_passes_gradcheck_with_a_frozen_mask():
    rng = np.random.default_rng(2)
    drop = Dropout(0.4, rng=rng)
    model = Sequential(Linear(6, 5, rng=rng), ReLU(), drop, Linear(5, 3, rng=rng))
    x = nonzero_input((4, 6), seed=3)
    frozen = drop.sample_mask((4, 5))
    assert 0 < frozen.sum() < frozen.size, "the frozen mask should keep some and drop some"
    drop.sample_mask = lambda shape: frozen  # every forward of the check sees the same mask
    report = gradcheck(model, x)
    assert report.passed, f"gradient through Linear-ReLU-Dropout-Linear failed:\n{report}"


def test_module_backward_uses_the_mask_of_the_last_forward():
    p = 0.3
    drop = Dropout(p, rng=np.random.default_rng(4))
    x = nonzero_input((5, 7))
    out = drop(x)
    g = np.random.default_rng(5).standard_normal(x.shape)
    dx = drop.backward(g)
    expected_out = np.where(drop.mask, x / (1 - p), 0.0)
    expected_dx = np.where(drop.mask, g / (1 - p), 0.0)
    assert_close("Dropout output", out, expected_out, 1e-15)
    assert_close("Dropout input gradient", dx, expected_dx, 1e-15)


# --- modes and edge cases of p --------------------------------------------------------------
def test_eval_mode_is_the_identity_and_draws_no_random_numbers():
    rng = np.random.default_rng(6)
    drop = Dropout(0.5, rng=rng).eval()
    state_before = rng.bit_generator.state
    x = nonzero_input((3, 4))
    out = drop(x)
    assert out is x, "eval-mode dropout must return its input unchanged"
    g = np.ones_like(x)
    assert drop.backward(g) is g, "eval-mode dropout must pass the gradient through"
    assert drop.mask is None
    assert rng.bit_generator.state == state_before, "eval mode must not consume random numbers"
    drop.train()
    assert np.count_nonzero(drop(x) == 0) > 0, "back in training mode, some inputs are dropped"


def test_sequential_eval_reaches_the_dropout_layer():
    drop = Dropout(0.5, rng=np.random.default_rng(7))
    model = Sequential(Linear(4, 4, rng=np.random.default_rng(8)), drop)
    model.eval()
    assert not drop.training, "Sequential.eval() must put its Dropout child in eval mode"
    x = nonzero_input((2, 4))
    assert np.array_equal(model(x), model[0](x)), "in eval mode the model output has no dropout"


def test_p_zero_is_the_identity_in_training():
    drop = Dropout(0.0, rng=np.random.default_rng(9))
    x = nonzero_input((3, 4))
    assert drop(x) is x, "p = 0 must return the input unchanged"
    assert TF.dropout(torch.from_numpy(x), 0.0, training=True).numpy().tolist() == x.tolist()


@pytest.mark.parametrize("dtype", DTYPES)
def test_p_one_gives_zeros_and_zero_gradients_like_torch(dtype):
    x = nonzero_input((3, 4), dtype)
    drop = Dropout(1.0, rng=np.random.default_rng(10))
    out = drop(x)
    dx = drop.backward(np.ones_like(x))
    assert out.dtype == dtype and not out.any(), f"p = 1 output should be all zeros, got {out}"
    assert not dx.any(), "p = 1 input gradient should be all zeros"
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.dropout(xt, 1.0, training=True)
    yt.sum().backward()
    assert not yt.detach().numpy().any() and not xt.grad.numpy().any(), "torch p=1 gives zeros"


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), float("inf")])
def test_p_outside_zero_one_raises_value_error(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        Dropout(p)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        dropout_mask((2,), p, np.random.default_rng(0))


@pytest.mark.parametrize("p", ["0.5", True, None])
def test_p_that_is_not_a_number_raises_type_error(p):
    with pytest.raises(TypeError, match="real number"):
        Dropout(p)


def test_bad_rng_mask_and_inputs_are_rejected():
    with pytest.raises(TypeError, match="Generator"):
        Dropout(0.5, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        dropout_mask((2,), 0.5, 0)
    x = nonzero_input((2, 3))
    with pytest.raises(ValueError, match="mask must be a bool array"):
        dropout_forward(x, np.ones((3, 2), dtype=bool), 0.5)
    with pytest.raises(ValueError, match="mask must be a bool array"):
        dropout_forward(x, np.ones((2, 3)), 0.5)
    drop = Dropout(0.5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="float32 or float64"):
        drop(np.ones((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        drop(np.array([[1.0, np.nan]]))
    with pytest.raises(RuntimeError, match="needs a forward pass first"):
        Dropout(0.5, rng=np.random.default_rng(0)).backward(x)
    drop(x)
    with pytest.raises(TypeError, match="dout must have dtype float64"):
        drop.backward(x.astype(np.float32))
    with pytest.raises(ValueError, match="dout must have shape"):
        drop.backward(x.T)


# --- statistics -----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_expected_value_is_preserved(p):
    """E[y] = x: averaged over T independent masks, each element's mean is x within 5 sigma.

    One draw of y_i is x_i * B / (1 - p) with B ~ Bernoulli(1 - p): mean x_i, standard deviation
    |x_i| sqrt(p / (1 - p)). The mean of T draws has standard deviation |x_i| sqrt(p / (1 - p) / T);
    5 sigma for each of 40 elements is exceeded by chance with probability below 3e-5 (and the
    seeded test is deterministic anyway).
    """
    t = 20_000
    x = nonzero_input((40,))
    drop = Dropout(p, rng=np.random.default_rng(11))
    y = drop(np.tile(x, (t, 1)))                     # (T, 40): T independent masks
    sigma = np.abs(x) * math.sqrt(p / (1 - p) / t)
    worst = float(np.max(np.abs(y.mean(axis=0) - x) / sigma))
    assert worst < 5, f"mean of dropout output deviates from x by {worst:.2f} sigma (p={p})"
    kept = drop.mask.mean()
    kept_sigma = math.sqrt(p * (1 - p) / drop.mask.size)
    assert abs(kept - (1 - p)) < 5 * kept_sigma, f"kept fraction {kept:.4f}, expected {1 - p}"


def test_seeded_masks_repeat_and_successive_masks_differ():
    x = nonzero_input((6, 8))
    a, b = Dropout(0.5, rng=np.random.default_rng(12)), Dropout(0.5, rng=np.random.default_rng(12))
    first_a, first_b = a(x), b(x)
    assert np.array_equal(first_a, first_b), "the same seed must give the same mask"
    assert not np.array_equal(a(x), first_a), "each training forward must draw a new mask"


def test_float32_stays_float32():
    x = nonzero_input((4, 5), np.float32)
    drop = Dropout(0.25, rng=np.random.default_rng(13))
    out = drop(x)
    dx = drop.backward(np.ones_like(x))
    assert out.dtype == np.float32, f"output dtype {out.dtype}"
    assert dx.dtype == np.float32, f"input gradient dtype {dx.dtype}"
    kept = out[drop.mask]
    factor = np.float32(1) / np.float32(0.75)      # 1/(1-p), formed in float32 as torch forms it
    assert np.array_equal(kept, x[drop.mask] * factor), "kept values must be scaled by 1/(1-p)"


# --- parity with torch ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [0.1, 0.5, 0.7])
def test_same_mask_as_torch_gives_the_same_output_and_gradient(dtype, p):
    torch.manual_seed(0)
    x = nonzero_input((8, 16), dtype)
    g = np.random.default_rng(14).standard_normal(x.shape).astype(dtype)
    xt = torch.tensor(x, requires_grad=True)
    yt = TF.dropout(xt, p, training=True)
    yt.backward(torch.tensor(g))
    torch_mask = yt.detach().numpy() != 0                 # x has no zeros: this is torch's mask
    assert 0 < torch_mask.sum() < torch_mask.size
    out, cache = dropout_forward(x, torch_mask, p)
    dx = dropout_backward(g, cache)
    assert out.dtype == dtype and dx.dtype == dtype
    assert_close(f"dropout output (p={p}, {np.dtype(dtype).name})", out, yt, rtol_for(dtype))
    assert_close(f"dropout input gradient (p={p}, {np.dtype(dtype).name})", dx, xt.grad,
                 rtol_for(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_our_mask_in_torch_formula_matches_our_module(dtype):
    """torch's training formula ``x * (mask / (1 - p))`` with OUR module's mask, via autograd."""
    p = 0.35
    x = nonzero_input((5, 9), dtype)
    g = np.random.default_rng(15).standard_normal(x.shape).astype(dtype)
    drop = Dropout(p, rng=np.random.default_rng(16))
    out = drop(x)
    dx = drop.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    noise = torch.from_numpy(drop.mask).to(TORCH_DTYPES[dtype]) / (1 - p)
    yt = xt * noise
    yt.backward(torch.tensor(g))
    assert_close("Dropout module output", out, yt, rtol_for(dtype))
    assert_close("Dropout module input gradient", dx, xt.grad, rtol_for(dtype))


def test_state_dict_keys_and_repr_match_torch():
    rng = np.random.default_rng(17)
    ours = Sequential(Linear(4, 3, rng=rng), Dropout(0.2, rng=rng), Linear(3, 2, rng=rng))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.2),
                                 torch.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(theirs.state_dict()), "state_dict keys differ"
    assert repr(ours[1]) == repr(theirs[1]), f"{ours[1]!r} vs {theirs[1]!r}"
    assert ours[1].parameters() == [], "Dropout has no parameters"
