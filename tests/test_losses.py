"""Losses (``companion.numpy_impl.losses``) against torch, at extreme logits, and on bad input.

Values and gradients are compared with ``torch.nn.functional`` (mean reduction) within
``RTOL_64 = 1e-10`` in float64 and ``RTOL_32 = 1e-5`` in float32 (see ``helpers_numeric``); the
backward functions are also checked against central differences (relative error below 1e-7).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from companion.numpy_impl import losses as L
from companion.numpy_impl.gradcheck import numerical_gradient, relative_error
from helpers_numeric import RTOL_64, assert_close, rtol_for


def make_batch(kind, rng, dtype=np.float64, scale=3.0):
    """(prediction, target) for a loss kind; targets as each loss expects them."""
    pred = (scale * rng.standard_normal((8, 5))).astype(dtype)
    if kind == "cross_entropy":
        return pred, rng.integers(0, 5, size=8)
    if kind == "bce":
        return pred, rng.uniform(0, 1, size=pred.shape).astype(dtype)
    return pred, rng.standard_normal(pred.shape).astype(dtype)


# kind -> (forward, backward, torch function, class, torch target converter)
LOSSES = {
    "mse": (L.mse_loss, L.mse_loss_backward, TF.mse_loss, L.MSELoss),
    "cross_entropy": (L.cross_entropy, L.cross_entropy_backward, TF.cross_entropy, L.CrossEntropyLoss),
    "bce": (
        L.binary_cross_entropy_with_logits,
        L.binary_cross_entropy_with_logits_backward,
        TF.binary_cross_entropy_with_logits,
        L.BCEWithLogitsLoss,
    ),
}


def torch_loss_and_grad(kind, pred, target):
    fn = LOSSES[kind][2]
    p = torch.tensor(pred, requires_grad=True)
    loss = fn(p, torch.tensor(target))
    loss.backward()
    return loss.item(), p.grad


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_loss_and_gradient_match_torch(kind, dtype, rng):
    fwd, bwd, _, _ = LOSSES[kind]
    pred, target = make_batch(kind, rng, dtype)
    loss, cache = fwd(pred, target)
    grad = bwd(cache)
    t_loss, t_grad = torch_loss_and_grad(kind, pred, target)
    assert isinstance(loss, float), f"{kind}: loss is {type(loss).__name__}, expected float"
    assert grad.dtype == dtype, f"{kind}: gradient dtype {grad.dtype}"
    assert_close(f"{kind} loss", loss, t_loss, rtol_for(dtype))
    assert_close(f"{kind} gradient", grad, t_grad, rtol_for(dtype))


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_loss_gradient_matches_finite_differences(kind, rng):
    fwd, bwd, _, _ = LOSSES[kind]
    pred, target = make_batch(kind, rng)
    analytic = bwd(fwd(pred, target)[1])
    numeric = numerical_gradient(lambda p: fwd(p, target)[0], pred)
    err = relative_error(analytic, numeric)
    assert err < 1e-7, f"{kind}: gradient relative error {err:.2e}"


@pytest.mark.filterwarnings("error")  # an overflow warning would fail the test
@pytest.mark.parametrize("kind", ["cross_entropy", "bce"])
def test_extreme_logits_give_finite_loss_and_gradients_matching_torch(kind, rng):
    fwd, bwd, _, _ = LOSSES[kind]
    pred, target = make_batch(kind, rng)
    pred[:, 0], pred[:, 1], pred[0, 2] = 1e4, -1e4, 5e3
    if kind == "bce":
        target = np.round(target)  # hard 0/1 targets: the worst case for a naive log(sigmoid)
    loss, cache = fwd(pred, target)
    grad = bwd(cache)
    assert np.isfinite(loss), f"{kind} loss at +-1e4 logits is {loss}"
    assert np.all(np.isfinite(grad)), f"{kind} gradient at +-1e4 logits is not finite"
    t_loss, t_grad = torch_loss_and_grad(kind, pred, target)
    assert_close(f"{kind} loss (extreme logits)", loss, t_loss, RTOL_64)
    assert_close(f"{kind} gradient (extreme logits)", grad, t_grad, RTOL_64)


@pytest.mark.filterwarnings("error")
def test_extreme_logits_in_float32(rng):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]], dtype=np.float32)
    loss, cache = L.cross_entropy(logits, np.array([1, 2]))
    grad = L.cross_entropy_backward(cache)
    assert np.isfinite(loss) and np.all(np.isfinite(grad)), f"float32 loss {loss}, grad {grad}"
    # row 0 costs 1e4 - (-1e4) = 2e4, row 1 costs log(1 + 2 exp(-2e4)) = 0: the mean is 1e4
    assert_close("float32 CE at +-1e4", loss, 1e4, 1e-6)


@pytest.mark.parametrize("kind", sorted(LOSSES))
def test_loss_classes_mirror_the_functions(kind, rng):
    fwd, bwd, _, cls = LOSSES[kind]
    pred, target = make_batch(kind, rng)
    loss_fn = cls()
    value = loss_fn.forward(pred, target)
    assert value == fwd(pred, target)[0], f"{cls.__name__}.forward differs from the function"
    assert_close(f"{cls.__name__}.backward", loss_fn.backward(), bwd(fwd(pred, target)[1]), 0.0)
    assert_close(f"{cls.__name__}.backward(dloss=3)", loss_fn.backward(3.0), 3 * loss_fn.backward(), 1e-15)
    assert loss_fn(pred, target) == value, f"{cls.__name__}() call differs from forward"
    assert repr(loss_fn) == f"{cls.__name__}()", repr(loss_fn)


@pytest.mark.parametrize("cls", [L.MSELoss, L.CrossEntropyLoss, L.BCEWithLogitsLoss])
def test_loss_backward_before_forward_raises(cls):
    with pytest.raises(RuntimeError, match=f"{cls.__name__}.backward needs a forward pass first"):
        cls().backward()


# ================================================================================================
# Bad input
# ================================================================================================


def test_cross_entropy_rejects_bad_labels(rng):
    logits = rng.standard_normal((4, 10))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\] for 10 classes, got values from 0 to 10"):
        L.cross_entropy(logits, np.array([0, 3, 10, 2]))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\] for 10 classes, got values from -1 to 3"):
        L.cross_entropy(logits, np.array([0, 3, -1, 2]))
    with pytest.raises(ValueError, match="labels has 3 labels but the input has 4 rows"):
        L.cross_entropy(logits, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="labels must hold integer class indices, got dtype float64"):
        L.cross_entropy(logits, np.array([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"labels must have shape \(N,\), got \(4, 1\)"):
        L.cross_entropy(logits, np.zeros((4, 1), dtype=np.int64))


def test_cross_entropy_rejects_bad_logits(rng):
    with pytest.raises(ValueError, match="logits must have 2 dimensions, got 1"):
        L.cross_entropy(rng.standard_normal(10), np.array([1]))
    bad = rng.standard_normal((2, 3))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="logits contains 1 NaN or infinite"):
        L.cross_entropy(bad, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"logits is empty \(shape \(0, C\)\)"):
        L.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))


def test_regression_losses_reject_mismatched_targets(rng):
    pred = rng.standard_normal((4, 3))
    with pytest.raises(ValueError, match=r"target must have the input's shape \(4, 3\), got \(4,\)"):
        L.mse_loss(pred, rng.standard_normal(4))
    with pytest.raises(TypeError, match="target has dtype float32 but input has dtype float64"):
        L.mse_loss(pred, pred.astype(np.float32))
    with pytest.raises(TypeError, match="target must be float32 or float64, got dtype int64"):
        L.binary_cross_entropy_with_logits(pred, np.ones((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\].*got values from 0.0 to 2.0"):
        L.binary_cross_entropy_with_logits(pred, np.array([[0.0, 1.0, 2.0]] * 4))
    target = pred.copy()
    target[2, 1] = np.inf
    with pytest.raises(ValueError, match="target contains 1 NaN or infinite"):
        L.mse_loss(pred, target)
