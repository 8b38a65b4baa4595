"""L1/L2 penalties against torch autograd, and what weight decay means for SGD, Adam and AdamW.

Convention under test: L1 = lam * sum|w| (gradient lam * sign(w), 0 at w = 0) and
L2 = lam/2 * sum w^2 (gradient lam * w). Tolerances: a penalty and its gradient are a handful
of float64 operations, so 1e-13 relative; two training runs that perform the same arithmetic in
a different place (weight decay inside the optimizer vs. the penalty's gradient added to grad)
must agree to 1e-14; comparisons with torch over a 50-step run use the optimizers' 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.numpy_impl import optim
from companion.numpy_impl.module import Parameter
from companion.numpy_impl.regularization import (
    add_l1_grad,
    add_l2_grad,
    l1_penalty,
    l1_penalty_grad,
    l2_penalty,
    l2_penalty_grad,
)

SHAPES = [(3, 4), (5,), (2, 2, 3)]
LAM = 0.3


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(b))), 1e-300)


def weights_with_zeros(seed=0, dtype=np.float64):
    """Random arrays of SHAPES with a few exact zeros (where L1's subgradient convention shows)."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    for a in arrays:
        a.reshape(-1)[::4] = 0.0
    return arrays


# --- values and gradients against torch autograd --------------------------------------------
@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_value_and_gradient_match_torch_autograd(kind):
    arrays = weights_with_zeros()
    params = [Parameter(a.copy()) for a in arrays]
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    if kind == "l1":
        ours = l1_penalty(params, LAM)
        add_l1_grad(params, LAM)
        theirs = LAM * sum(t.abs().sum() for t in tensors)
    else:
        ours = l2_penalty(params, LAM)
        add_l2_grad(params, LAM)
        theirs = LAM / 2 * sum((t * t).sum() for t in tensors)
    theirs.backward()
    d = rel_diff(ours, theirs.item())
    assert d < 1e-13, f"{kind} penalty {ours} vs torch {theirs.item()}: rel diff {d:.2e}"
    for i, (p, t) in enumerate(zip(params, tensors)):
        d = rel_diff(p.grad, t.grad.numpy())
        assert d < 1e-13, f"{kind} gradient of tensor {i} (shape {p.shape}) differs by {d:.2e}"


def test_l1_subgradient_is_zero_where_the_weight_is_zero():
    w = np.array([-2.0, 0.0, 3.0, -0.0])
    np.testing.assert_array_equal(l1_penalty_grad(w, 0.5), [-0.5, 0.0, 0.5, 0.0],
                                  err_msg="l1_penalty_grad(w)")


def test_penalties_accept_arrays_parameters_and_mixtures():
    a, b = weights_with_zeros()[:2]
    expected = LAM / 2 * (np.sum(a * a) + np.sum(b * b))
    for weights in ([a, b], [Parameter(a), b], (w for w in [a, b])):
        got = l2_penalty(weights, LAM)
        assert rel_diff(got, expected) < 1e-13, f"l2_penalty gave {got}, expected {expected}"
    single = l1_penalty(a, LAM)
    assert rel_diff(single, LAM * np.abs(a).sum()) < 1e-13, f"l1_penalty(one array) = {single}"


def test_add_grad_accumulates_onto_an_existing_gradient():
    rng = np.random.default_rng(3)
    w, g = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    p = Parameter(w.copy())
    p.grad = g.copy()
    add_l2_grad([p], LAM)
    np.testing.assert_allclose(p.grad, g + LAM * w, rtol=1e-15, err_msg="grad after add_l2_grad")
    add_l1_grad(p, LAM)
    np.testing.assert_allclose(p.grad, g + LAM * w + LAM * np.sign(w), rtol=1e-15,
                               err_msg="grad after add_l2_grad then add_l1_grad")


def test_float32_stays_float32():
    w = weights_with_zeros(dtype=np.float32)[0]
    for name, grad in [("l1_penalty_grad", l1_penalty_grad(w, LAM)),
                       ("l2_penalty_grad", l2_penalty_grad(w, LAM))]:
        assert grad.dtype == np.float32, f"{name} returned {grad.dtype} for float32 weights"
    p = Parameter(w.copy())
    add_l2_grad(p, np.float64(LAM))  # a NumPy float64 lam must not upcast either
    assert p.grad.dtype == np.float32, f"add_l2_grad made a {p.grad.dtype} grad"


# --- weight decay vs penalty, in a real (least-squares) training run -------------------------
class LeastSquares:
    """Data loss 1/(2N) ||X W^T + b - Y||^2 for a linear layer W (3, 4), b (3,)."""

    def __init__(self, seed=4):
        rng = np.random.default_rng(seed)
        self.x = rng.standard_normal((16, 4))
        self.y = rng.standard_normal((16, 3))
        self.w0 = rng.standard_normal((3, 4))
        self.b0 = rng.standard_normal(3)

    def params(self):
        return [Parameter(self.w0.copy()), Parameter(self.b0.copy())]

    def set_data_grads(self, params):
        """p.grad = gradient of the data loss at the current parameters."""
        w, b = params
        residual = (self.x @ w.data.T + b.data - self.y) / len(self.x)
        w.grad = residual.T @ self.x
        b.grad = residual.sum(axis=0)


def train(problem, params, opt, steps=50, l2=0.0, decay_first=0.0):
    """``steps`` optimizer steps on the data loss (+ the L2 penalty's gradient when ``l2``).

    ``decay_first`` multiplies the weights by ``1 - decay_first`` before each step.
    """
    for _ in range(steps):
        problem.set_data_grads(params)
        if l2:
            add_l2_grad(params, l2)
        for p in params:
            p.data *= 1 - decay_first
        opt.step()
    return [p.data.copy() for p in params]


def assert_runs_equal(label, a, b, rtol=1e-14):
    for i, (x, y) in enumerate(zip(a, b)):
        d = rel_diff(x, y)
        assert d < rtol, f"{label}: tensor {i} (shape {x.shape}) differs by {d:.2e} > {rtol:.0e}"


def test_sgd_weight_decay_equals_l2_penalty_and_torch_autograd():
    problem = LeastSquares()
    kw = dict(lr=0.1, momentum=0.9)
    p1 = problem.params()
    decayed = train(problem, p1, optim.SGD(p1, weight_decay=LAM, **kw))
    p2 = problem.params()
    penalised = train(problem, p2, optim.SGD(p2, **kw), l2=LAM)
    assert_runs_equal("SGD(weight_decay=lam) vs SGD on loss + lam/2 ||w||^2", decayed, penalised)

    # the same run in torch, the penalty differentiated by autograd
    x, y = torch.tensor(problem.x), torch.tensor(problem.y)
    w = torch.tensor(problem.w0, requires_grad=True)
    b = torch.tensor(problem.b0, requires_grad=True)
    topt = torch.optim.SGD([w, b], foreach=False, **kw)
    for _ in range(50):
        topt.zero_grad()
        data_loss = ((x @ w.T + b - y) ** 2).sum() / (2 * len(x))
        (data_loss + LAM / 2 * ((w * w).sum() + (b * b).sum())).backward()
        topt.step()
    assert_runs_equal("SGD(weight_decay=lam) vs torch SGD on loss + lam/2 ||w||^2",
                      decayed, [w.detach().numpy(), b.detach().numpy()], rtol=1e-12)


def test_adam_weight_decay_is_l2_but_adamw_is_not():
    problem = LeastSquares()
    lr = 0.05
    p1 = problem.params()
    adam_decay = train(problem, p1, optim.Adam(p1, lr=lr, weight_decay=LAM))
    p2 = problem.params()
    adam_l2 = train(problem, p2, optim.Adam(p2, lr=lr), l2=LAM)
    p3 = problem.params()
    adamw = train(problem, p3, optim.AdamW(p3, lr=lr, weight_decay=LAM))

    assert_runs_equal("Adam(weight_decay=lam) vs Adam on loss + lam/2 ||w||^2", adam_decay, adam_l2)
    gap = max(rel_diff(a, b) for a, b in zip(adamw, adam_l2))
    assert gap > 1e-2, (
        f"AdamW(weight_decay=lam) came within {gap:.2e} of Adam on loss + lam/2 ||w||^2; "
        "decoupled decay should give a clearly different trajectory"
    )


def test_adamw_is_weight_shrinking_then_plain_adam():
    problem = LeastSquares()
    lr = 0.05
    p1 = problem.params()
    adamw = train(problem, p1, optim.AdamW(p1, lr=lr, weight_decay=LAM))
    p2 = problem.params()
    shrink_then_adam = train(problem, p2, optim.Adam(p2, lr=lr), decay_first=lr * LAM)
    assert_runs_equal("AdamW vs (w *= 1 - lr*lam; plain Adam step)", adamw, shrink_then_adam)


# --- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize("func", [l1_penalty, l2_penalty, add_l1_grad, add_l2_grad])
@pytest.mark.parametrize("lam, error, message", [
    (-0.1, ValueError, r"lam must be >= 0, got lam=-0\.1"),
    (float("nan"), ValueError, "lam=nan"),
    ("0.1", TypeError, "lam must be a real number >= 0, got str"),
])
def test_bad_lam(func, lam, error, message):
    with pytest.raises(error, match=message):
        func([Parameter(np.ones(2))], lam)


@pytest.mark.parametrize("weights, error, message", [
    ([[1.0, 2.0]], TypeError, r"weights\[0\] must be a numpy.ndarray, got list"),
    ([np.ones(2, dtype=np.int64)], TypeError, r"weights\[0\] must be float32 or float64"),
    ([np.ones(2), np.array([1.0, np.nan])], ValueError, r"weights\[1\] contains 1 NaN"),
], ids=["list", "int", "nan"])
def test_bad_weights(weights, error, message):
    with pytest.raises(error, match=message):
        l2_penalty(weights, LAM)


def test_add_grad_needs_parameters():
    with pytest.raises(TypeError, match=r"params\[0\] must be a Parameter .* got ndarray"):
        add_l2_grad([np.ones(2)], LAM)
