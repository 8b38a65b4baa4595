"""The NumPy optimizers against torch.optim, step by step, plus their behaviour and bad input.

Parity: the same initial parameters (several tensors of different shapes, a 0-d one included)
and the same seeded sequence of gradients, generated up front, are fed to our optimizer and to
torch's; after every one of ``N_STEPS`` steps every tensor must agree. One tensor gets no
gradient (``grad = None``) on every fourth step, which both libraries must skip, state and step
count included.

Tolerances (relative to the tensor's largest entry):
* float64: ``RTOL_64 = 1e-12``, a hundred times tighter than the project's 1e-10 bar. The updates
  are written in torch's order of operations; the measured worst case over all cases is 3.5e-14
  (RMSprop centered), left by fused multiply-adds that torch's vectorized kernels may use.
* float32: ``RTOL_32 = 1e-4``: float32 rounding (6e-8 per operation) accumulated over 50 steps
  and amplified by the division by ``sqrt(v)`` in RMSprop/Adam; measured worst 1.4e-5 (RMSprop
  centered with momentum).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from companion.numpy_impl import optim
from companion.numpy_impl.module import Module, Parameter

SHAPES = [(4, 3), (4,), (2, 3, 3, 3), ()]
N_STEPS = 50
SKIPPED_TENSOR = 2  # this tensor's grad is None on every fourth step
RTOL_64 = 1e-12
RTOL_32 = 1e-4

TORCH = {
    "SGD": torch.optim.SGD,
    "RMSprop": torch.optim.RMSprop,
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
}

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict()),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.1, weight_decay=0.01, maximize=True)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=1e-3, momentum=0.9)),
    ("RMSprop", dict(centered=True)),
    ("RMSprop", dict(lr=3e-3, alpha=0.9, eps=1e-6, centered=True, momentum=0.8,
                     weight_decay=0.1)),
    ("RMSprop", dict(weight_decay=0.01, maximize=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.05, amsgrad=True,
                  maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2)),
    ("AdamW", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05, maximize=True)),
]


def case_id(case) -> str:
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def make_problem(seed: int, dtype):
    """Initial tensors and, for each step, one gradient per tensor (None where skipped)."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = []
    for step in range(N_STEPS):
        row = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
        if step % 4 == 3:
            row[SKIPPED_TENSOR] = None
        grads.append(row)
    return init, grads


def run_side_by_side(name, kwargs, dtype, seed=0):
    """Yield ``(step, ours, theirs)`` after every step: two lists of arrays, one per tensor."""
    init, grads = make_problem(seed, dtype)
    ours = [Parameter(a.copy()) for a in init]
    theirs = [torch.tensor(a.copy()) for a in init]
    opt = getattr(optim, name)(ours, **kwargs)
    # foreach=False pins torch's single-tensor algorithm, its default on the CPU.
    topt = TORCH[name](theirs, foreach=False, **kwargs)
    for step, row in enumerate(grads, start=1):
        for p, t, g in zip(ours, theirs, row):
            p.grad = None if g is None else g.copy()
            t.grad = None if g is None else torch.tensor(g.copy())
        opt.step()
        topt.step()
        yield step, [p.data for p in ours], [t.detach().numpy() for t in theirs]


def rel_diff(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to the largest entry of b."""
    scale = float(np.max(np.abs(b)))
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) / max(scale, 1e-300)


def assert_match(name, step, ours, theirs, rtol):
    for i, (a, b) in enumerate(zip(ours, theirs)):
        d = rel_diff(a, b)
        assert d < rtol, (
            f"{name}: after step {step}, tensor {i} (shape {SHAPES[i]}) differs from torch by "
            f"{d:.3e} relative (tolerance {rtol:.0e})"
        )


# --- parity with torch --------------------------------------------------------------------
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_torch_float64_every_step(case):
    name, kwargs = case
    for step, ours, theirs in run_side_by_side(name, kwargs, np.float64):
        assert_match(case_id(case), step, ours, theirs, RTOL_64)


FLOAT32_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.05, nesterov=True)),
    ("RMSprop", dict(lr=3e-3, centered=True, momentum=0.8, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.2)),
]


@pytest.mark.parametrize("case", FLOAT32_CASES, ids=case_id)
def test_float32_stays_float32_and_matches_torch(case):
    name, kwargs = case
    for step, ours, theirs in run_side_by_side(name, kwargs, np.float32):
        for i, a in enumerate(ours):
            assert a.dtype == np.float32, f"tensor {i} became {a.dtype} at step {step}"
        assert_match(case_id(case), step, ours, theirs, RTOL_32)


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_state_buffers_take_the_parameter_dtype(name):
    kwargs = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {"amsgrad": True}
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    opt = getattr(optim, name)([p], **kwargs)
    p.grad = np.full((2, 3), 0.5, dtype=np.float32)
    opt.step()
    buffers = {k: v for k, v in opt.state[0].items() if isinstance(v, np.ndarray)}
    assert buffers, f"{name} kept no state buffers"
    for k, v in buffers.items():
        assert v.dtype == np.float32, f"{name} state {k!r} is {v.dtype}, expected float32"


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_names_and_defaults_match_torch(name):
    ours = inspect.signature(getattr(optim, name)).parameters
    theirs = inspect.signature(TORCH[name]).parameters
    for arg, param in ours.items():
        assert arg in theirs, f"{name} argument {arg!r} does not exist in torch.optim.{name}"
        assert param.default == theirs[arg].default, (
            f"{name}({arg}=...) defaults to {param.default!r}, torch to {theirs[arg].default!r}"
        )


# --- behaviour ----------------------------------------------------------------------------
def test_step_updates_in_place():
    p = Parameter(np.ones((3, 2)))
    view = p.data[0]
    data_before = p.data
    opt = optim.Adam([p], lr=0.1)
    p.grad = np.ones((3, 2))
    opt.step()
    assert p.data is data_before, "step replaced p.data instead of updating it in place"
    assert np.all(view < 1.0), f"a view of p.data did not see the update: {view}"


def test_zero_grad_sets_every_grad_to_none():
    params = [Parameter(np.ones(3)), Parameter(np.ones((2, 2)))]
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.zero_grad()
    assert [p.grad for p in params] == [None, None]


@pytest.mark.parametrize("name", ["SGD", "RMSprop", "Adam", "AdamW"])
def test_parameter_without_grad_is_left_unchanged(name):
    # weight decay would move a parameter even with a zero gradient; grad None must not
    kwargs = {"lr": 0.1, "weight_decay": 0.5}
    if name == "SGD":
        kwargs["momentum"] = 0.9
    rng = np.random.default_rng(1)
    with_grad = Parameter(rng.standard_normal((3, 4)))
    without = Parameter(rng.standard_normal(5))
    before_with, before_without = with_grad.data.copy(), without.data.copy()
    opt = getattr(optim, name)([with_grad, without], **kwargs)
    for _ in range(3):
        with_grad.grad = rng.standard_normal((3, 4))
        opt.step()
    assert np.array_equal(without.data, before_without), f"{name} moved a parameter with grad None"
    assert opt.state[1] == {}, f"{name} created state for a parameter with grad None"
    assert not np.allclose(with_grad.data, before_with), f"{name} did not move the other parameter"


def test_step_after_zero_grad_changes_nothing():
    p = Parameter(np.ones(4))
    opt = optim.AdamW([p], lr=0.1, weight_decay=0.5)
    opt.zero_grad()
    opt.step()
    assert np.array_equal(p.data, np.ones(4)), f"step without gradients changed p: {p.data}"


def test_changing_lr_between_steps_takes_effect():
    p = Parameter(np.ones(2))
    opt = optim.SGD([p], lr=0.5)
    p.grad = np.ones(2)
    opt.step()
    opt.lr = 0.0
    opt.step()
    np.testing.assert_array_equal(p.data, [0.5, 0.5], err_msg="p after steps with lr 0.5 then 0")


# --- state_dict ---------------------------------------------------------------------------
def _grads(rng, shapes, n):
    return [[rng.standard_normal(s) for s in shapes] for _ in range(n)]


def _feed(opt, params, grads):
    for row in grads:
        for p, g in zip(params, row):
            p.grad = g.copy()
        opt.step()



# --- bad input ----------------------------------------------------------------------------
BAD_HYPERPARAMETERS = [
    (optim.SGD, dict(lr=-0.1), r"lr=-0\.1"),
    (optim.SGD, dict(lr=float("nan")), "lr=nan"),
    (optim.SGD, dict(momentum=-0.5), r"momentum=-0\.5"),
    (optim.SGD, dict(weight_decay=-1), "weight_decay=-1"),
    (optim.SGD, dict(nesterov=True), "momentum=0.0, dampening=0.0"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), r"dampening=0\.1"),
    (optim.RMSprop, dict(alpha=-0.1), r"alpha=-0\.1"),
    (optim.RMSprop, dict(alpha=1.5), r"alpha=1\.5"),
    (optim.RMSprop, dict(eps=-1e-8), "eps=-1e-08"),
    (optim.RMSprop, dict(momentum=-1), "momentum=-1"),
    (optim.Adam, dict(betas=(1.0, 0.999)), r"betas\[0\]=1\.0"),
    (optim.Adam, dict(betas=(0.9, -0.1)), r"betas\[1\]=-0\.1"),
    (optim.Adam, dict(eps=-1.0), r"eps=-1\.0"),
    (optim.Adam, dict(weight_decay=-0.01), r"weight_decay=-0\.01"),
    (optim.AdamW, dict(lr=-1e-3), "lr=-0.001"),
    (optim.AdamW, dict(betas=(0.9, 1.0)), r"betas\[1\]=1\.0"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD_HYPERPARAMETERS,
                         ids=[f"{c.__name__}-{k}" for c, k, _ in BAD_HYPERPARAMETERS])
def test_bad_hyperparameter_raises_value_error_naming_it(cls, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cls([Parameter(np.zeros(2))], **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr="0.1"), "lr must be a real number"),
    (dict(betas=0.9), "betas must be a pair"),
])
def test_hyperparameter_of_wrong_type_raises_type_error(kwargs, message):
    with pytest.raises(TypeError, match=message):
        optim.Adam([Parameter(np.zeros(2))], **kwargs)


class _Tiny(Module):
    def __init__(self):
        super().__init__()
        self.weight = Parameter(np.zeros(2))


@pytest.mark.parametrize("params, error, message", [
    ([], ValueError, "empty parameter list"),
    (_Tiny(), TypeError, r"pass model\.parameters\(\)"),
    (Parameter(np.zeros(2)), TypeError, "single Parameter"),
    ([np.zeros(2)], TypeError, r"params\[0\] must be a Parameter, got ndarray"),
    ([Parameter(np.zeros(2, dtype=np.int64))], TypeError, "float32 or float64, got dtype int64"),
    (7, TypeError, "iterable of Parameter objects, got int"),
], ids=["empty", "module", "single", "array", "int-dtype", "int"])
def test_bad_params_argument(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


def test_same_parameter_twice_is_rejected():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than once"):
        optim.SGD([p, p], lr=0.1)


@pytest.mark.parametrize("grad, message", [
    (np.ones(3), r"shape \(2, 2\) and dtype float64 .* got ndarray of shape \(3,\)"),
    (np.ones((2, 2), dtype=np.float32), "got ndarray of shape \\(2, 2\\) and dtype float32"),
    ([[1.0, 1.0], [1.0, 1.0]], "got list"),
], ids=["shape", "dtype", "list"])
def test_bad_grad_raises_before_anything_changes(grad, message):
    good, bad = Parameter(np.ones(3)), Parameter(np.ones((2, 2)))
    opt = optim.Adam([good, bad])
    good.grad, bad.grad = np.ones(3), grad
    with pytest.raises(ValueError, match=r"params\[1\]\.grad must be .*" + message):
        opt.step()
    np.testing.assert_array_equal(good.data, np.ones(3), err_msg="params[0] changed on a bad grad")
    assert opt.state[0] == {}, "a rejected step created state for params[0]"
