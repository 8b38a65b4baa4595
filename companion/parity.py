"""Run the NumPy reference and its torch twin from the same weights and compare every tensor.

One call does it all, from a notebook or a test::

    report = compare(models.lenet, x, y, optimizer=("adam", {"lr": 1e-3}), steps=20)
    print(report)                  # a table: tensor, shape, max abs diff, max rel diff
    report.assert_close(1e-10)     # AssertionError naming the worst tensor if any is further

``compare`` builds the NumPy model from a seed with a model function of ``companion.models`` (or
a name of ``models.MODELS``), builds the torch twin with the same function, copies the weights
across, and runs
both on the same batch: forward (``output``), the loss (``loss``), backward (``input.grad`` and
every ``<parameter>.grad``), then ``steps`` optimizer steps on that batch (the loss at every step,
``loss curve``, and every ``<parameter> after step k``). ``train_both`` does the same over a
sequence of batches and returns both loss curves.

The relative difference of a tensor is ``max|a - b| / max(max|b|, tiny)``: the largest error
measured against the tensor's scale (``b`` is torch's value), so entries that happen to be near
zero do not blow it up.

On a GPU, torch may multiply float32 matrices in TF32 (10-bit mantissas), which would measure
that rounding rather than the implementation: every comparison here runs with TF32 switched off
(and restores the settings it found), and the report's title says so.
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from companion import models, numpy_impl
from companion._checks import check_array, check_float_dtype
from companion.numpy_impl import losses as np_losses
from companion.numpy_impl.module import Module
from companion.numpy_impl.optim import OPTIMIZERS
from companion.torch_impl import check_state_fits, default_device, numpy_to_torch, torch_dtype

#: The denominator floor of the relative difference (the smallest normal float64).
TINY = float(np.finfo(np.float64).tiny)

#: Loss names -> (NumPy loss class, torch loss class); both use mean reduction.
LOSSES = {
    "cross_entropy": (np_losses.CrossEntropyLoss, nn.CrossEntropyLoss),
    "mse": (np_losses.MSELoss, nn.MSELoss),
    "bce_with_logits": (np_losses.BCEWithLogitsLoss, nn.BCEWithLogitsLoss),
}

@dataclass(frozen=True)
class ParityRow:
    """The difference between the NumPy and torch values of one tensor.

    ``max_rel`` is ``max|a - b| / max(max|b|, tiny)``; both are ``inf`` when either side holds
    a NaN or infinity.
    """

    name: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def compare_arrays(name: str, a, b) -> ParityRow:
    """Compare one tensor: ``a`` from NumPy, ``b`` from torch (a tensor or an array).

    Raises
    ------
    ValueError
        The shapes differ (both named).
    """
    a, b = _as_numpy(a).astype(np.float64), _as_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"{name}: the NumPy value has shape {a.shape}, torch's {b.shape}")
    if a.size == 0:
        return ParityRow(name, a.shape, 0.0, 0.0)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return ParityRow(name, a.shape, float("inf"), float("inf"))
    max_abs = float(np.max(np.abs(a - b)))
    return ParityRow(name, a.shape, max_abs, max_abs / max(float(np.max(np.abs(b))), TINY))


# --- many tensors -----------------------------------------------------------------------------
class ParityReport:
    """The rows of one comparison, with a plain-text table as its ``str`` and ``repr``.

    Attributes
    ----------
    title : str
        What was compared (model, dtype, device, loss, optimizer, steps).
    rows : list of ParityRow
        In the order computed.
    """

    def __init__(self, title: str, rows: Sequence[ParityRow]):
        if not rows:
            raise ValueError("a ParityReport needs at least one row")
        self.title = title
        self.rows = list(rows)

    def __getitem__(self, name: str) -> ParityRow:
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no tensor {name!r} in this report; it has {self.names()}")

    def names(self) -> list[str]:
        """The tensor names, in order."""
        return [row.name for row in self.rows]

    def worst(self) -> ParityRow:
        """The row with the largest relative difference (the first one on a tie)."""
        return max(self.rows, key=lambda row: row.max_rel)

    def failures(self, rtol: float) -> list[ParityRow]:
        """The rows whose relative difference exceeds ``rtol`` (or is not finite)."""
        return [row for row in self.rows if not row.max_rel <= rtol]

    def assert_close(self, rtol: float) -> None:
        """Raise ``AssertionError`` naming the worst tensor unless every ``max_rel <= rtol``."""
        failed = self.failures(rtol)
        if failed:
            worst = max(failed, key=lambda row: row.max_rel)
            others = ", ".join(f"{row.name} ({row.max_rel:.2e})" for row in failed if row is not worst)
            raise AssertionError(
                f"{self.title}: {len(failed)} tensor(s) differ by more than rtol={rtol:.1e}; "
                f"worst is {worst.name!r}: max rel diff {worst.max_rel:.2e}, max abs diff "
                f"{worst.max_abs:.2e}" + (f"; also {others}" if others else "")
            )

    def __str__(self) -> str:
        table = [("tensor", "shape", "max abs diff", "max rel diff")]
        table += [(r.name, str(r.shape), f"{r.max_abs:.1e}", f"{r.max_rel:.1e}") for r in self.rows]
        widths = [max(len(row[c]) for row in table) for c in range(4)]

        def line(row):
            return "  ".join(
                cell.ljust(w) if c < 2 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths))
            )

        worst = self.worst()
        rule = "-" * (sum(widths) + 6)
        body = [line(table[0]), rule] + [line(row) for row in table[1:]]
        footer = f"worst: {worst.name} (max rel diff {worst.max_rel:.1e})"
        return "\n".join([self.title] + body + [rule, footer])

    __repr__ = __str__


# --- the two models side by side --------------------------------------------------------------
def _model_function(model):
    """A model function of ``companion.models`` from itself or its name in ``models.MODELS``."""
    if isinstance(model, str):
        try:
            return models.MODELS[model]
        except KeyError:
            raise ValueError(f"unknown model {model!r}; choose one of {sorted(models.MODELS)}") from None
    if callable(model):
        return model
    raise TypeError(
        "expected a model function such as companion.models.lenet, its name, or a "
        f"(numpy_model, torch_model) pair, got {type(model).__name__}"
    )


@contextlib.contextmanager
def exact_float32():
    """Switch off TF32 matrix products on CUDA for the block, then restore the settings."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def make_twins(spec_or_models, *, dtype=np.float64, seed: int = 0, device=None):
    """A NumPy model and a torch model holding the same weights.

    Parameters
    ----------
    spec_or_models : model function, str, or (NumPy Module, torch Module)
        A model function (``models.lenet``, or any ``f(nn, **factory)``) or its name (``"mlp"``,
        ``"cnn"``, ``"lenet"``): the NumPy model is built from ``numpy_impl`` with
        ``rng=np.random.default_rng(seed)``, the torch model from ``torch.nn`` on ``device``, and
        the NumPy weights are copied into it. A pair:
        deep copies of both are used as they are (the caller's models are not changed, and
        their weights are *not* synchronised, so a difference planted in either shows up).
    dtype : float32 or float64
    seed : int
    device : str or torch.device, optional (default: ``default_device()``)

    Returns
    -------
    (numpy_model, torch_model)
    """
    dt = check_float_dtype(dtype)
    if isinstance(spec_or_models, tuple) and len(spec_or_models) == 2:
        np_model, t_model = spec_or_models
        if not isinstance(np_model, Module) or not isinstance(t_model, nn.Module):
            raise TypeError(
                "a model pair must be (NumPy Module, torch.nn.Module), got "
                f"({type(np_model).__name__}, {type(t_model).__name__})"
            )
        check_state_fits(np_model.state_dict(), t_model)
        t_model = copy.deepcopy(t_model).to(device=default_device(device))
        return copy.deepcopy(np_model), t_model
    build = _model_function(spec_or_models)
    np_model = build(numpy_impl, dtype=dt, rng=np.random.default_rng(seed))
    t_model = build(torch.nn, dtype=torch_dtype(dt), device=default_device(device))
    return np_model, numpy_to_torch(np_model, t_model)


def _make_loss(loss: str):
    try:
        np_cls, torch_cls = LOSSES[loss]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}") from None
    return np_cls(), torch_cls()


def _make_optimizers(optimizer, np_model: Module, t_model: nn.Module):
    """``optimizer`` is ``"adam"``, ``("adam", {"lr": 1e-3})`` or None; returns (NumPy, torch)."""
    if optimizer is None:
        return None, None
    name, kwargs = (optimizer, {}) if isinstance(optimizer, str) else optimizer
    try:
        np_cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}"
        ) from None
    torch_cls = getattr(torch.optim, np_cls.__name__)  # the twin has the same class name
    return np_cls(np_model.parameters(), **kwargs), torch_cls(t_model.parameters(), **kwargs)


def _describe_optimizer(optimizer) -> str:
    if optimizer is None:
        return "no optimizer"
    name, kwargs = (optimizer, {}) if isinstance(optimizer, str) else optimizer
    return f"{name}(" + ", ".join(f"{k}={v}" for k, v in dict(kwargs).items()) + ")"


class _Twins:
    """Both models with their losses and optimizers, stepped together on the same batches."""

    def __init__(self, np_model, t_model, loss: str, optimizer):
        self.np_model, self.t_model = np_model.train(), t_model.train()
        self.np_loss, self.t_loss = _make_loss(loss)
        self.loss_name = loss
        self.np_opt, self.t_opt = _make_optimizers(optimizer, np_model, t_model)
        p = next(t_model.parameters())
        self.device, self.dtype = p.device, p.dtype

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(y)).to(self.device)
        return t.long() if self.loss_name == "cross_entropy" else t

    def forward_backward(self, x: np.ndarray, y: np.ndarray) -> dict[str, tuple]:
        """One forward and backward pass on both; returns ``name -> (numpy value, torch value)``.

        Gradients are cleared first, so ``.grad`` holds this batch's gradient only.
        """
        self.np_model.zero_grad()
        self.t_model.zero_grad()
        x_t = torch.from_numpy(np.ascontiguousarray(x)).to(self.device).requires_grad_(True)
        out_np = self.np_model.forward(x)
        out_t = self.t_model(x_t)
        loss_np = self.np_loss.forward(out_np, y)
        loss_t = self.t_loss(out_t, self._targets(y))
        dx_np = self.np_model.backward(self.np_loss.backward())
        loss_t.backward()
        pairs = {"output": (out_np, out_t), "loss": (loss_np, loss_t), "input.grad": (dx_np, x_t.grad)}
        t_params = dict(self.t_model.named_parameters())
        for name, p in self.np_model.named_parameters():
            pairs[f"{name}.grad"] = (p.grad, t_params[name].grad)
        return pairs

    def step(self) -> None:
        if self.np_opt is None:
            raise ValueError("no optimizer was given, so the models cannot take a step")
        self.np_opt.step()
        self.t_opt.step()

    def parameter_rows(self, suffix: str) -> list[ParityRow]:
        t_params = dict(self.t_model.named_parameters())
        return [
            compare_arrays(f"{name}{suffix}", p.data, t_params[name])
            for name, p in self.np_model.named_parameters()
        ]


def _check_batch(x, y, dtype: np.dtype, loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
    check_array(x, "x", dtype=dtype)
    if loss == "cross_entropy":
        if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu":
            raise TypeError(
                f"y must be a numpy array of integer class labels for cross_entropy, got "
                f"{type(y).__name__ if not isinstance(y, np.ndarray) else y.dtype}"
            )
    else:
        check_array(y, "y", dtype=dtype)


def _title(spec_or_models, dtype, device, loss, optimizer, steps) -> str:
    if isinstance(spec_or_models, tuple):
        what = "given models"
    else:
        what = _model_function(spec_or_models).__name__
    tf32 = ", TF32 off" if torch.device(device).type == "cuda" else ""
    return (
        f"NumPy vs torch: {what}, {np.dtype(dtype).name}, {device}{tf32}, {loss}, "
        f"{_describe_optimizer(optimizer)}, {steps} step(s)"
    )


def compare(
    spec_or_models,
    x: np.ndarray,
    y: np.ndarray,
    *,
    loss: str = "cross_entropy",
    optimizer=("adam", {"lr": 1e-3}),
    steps: int = 20,
    dtype=np.float64,
    seed: int = 0,
    device=None,
) -> ParityReport:
    """Run both implementations from the same weights on one batch and compare every tensor.

    Parameters
    ----------
    spec_or_models : model function, str, or (NumPy Module, torch Module)
        See ``make_twins``: a model function or its name builds both from the NumPy seed; a
        pair is used as given (copies; the caller's models are not changed).
    x : (N, *input_shape) float array of ``dtype``
    y : (N,) integer labels for ``"cross_entropy"``; for ``"mse"`` and ``"bce_with_logits"``
        a float array of ``dtype`` shaped like the output.
    loss : "cross_entropy", "mse" or "bce_with_logits" (mean over the batch)
    optimizer : str, (str, dict) or None
        ``"sgd"``, ``"rmsprop"``, ``"adam"`` or ``"adamw"`` and its keyword arguments; both
        sides get the same ones. ``None`` only with ``steps=0``.
    steps : int >= 0
        Optimizer steps taken on the batch after the first forward/backward pass.
    dtype : float32 or float64
    seed : int
        The NumPy model's initialisation seed.
    device : str or torch.device, optional
        Where the torch model runs (default: ``default_device()``).

    Returns
    -------
    ParityReport
        Rows ``output``, ``loss``, ``input.grad``, ``<parameter>.grad`` for every parameter, and
        when ``steps > 0`` also ``loss curve`` (the loss before each step) and
        ``<parameter> after step <steps>``.
    """
    dt = check_float_dtype(dtype)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    _check_batch(x, y, dt, loss)
    with exact_float32():
        return _compare(spec_or_models, x, y, loss, optimizer, steps, dt, seed, device)


def _compare(spec_or_models, x, y, loss, optimizer, steps, dt, seed, device) -> ParityReport:
    np_model, t_model = make_twins(spec_or_models, dtype=dt, seed=seed, device=device)
    if next(t_model.parameters()).dtype != torch_dtype(dt):
        raise TypeError(f"the torch model is not {dt.name}; build both models with dtype={dt.name}")
    twins = _Twins(np_model, t_model, loss, optimizer)
    title = _title(spec_or_models, dt, twins.device, loss, optimizer, steps)

    first = twins.forward_backward(x, y)
    rows = [compare_arrays(name, a, b) for name, (a, b) in first.items()]
    if steps == 0:
        return ParityReport(title, rows)
    losses_np, losses_t = [first["loss"][0]], [first["loss"][1].item()]
    twins.step()
    for _ in range(steps - 1):
        pairs = twins.forward_backward(x, y)
        losses_np.append(pairs["loss"][0])
        losses_t.append(pairs["loss"][1].item())
        twins.step()
    rows.append(compare_arrays("loss curve", losses_np, losses_t))
    rows += twins.parameter_rows(f" after step {steps}")
    return ParityReport(title, rows)


@dataclass
class TrainingParity:
    """What ``train_both`` returns.

    Attributes
    ----------
    numpy_losses, torch_losses : (steps,) float64 arrays
        The loss of each batch, computed before that batch's optimizer step.
    report : ParityReport
        ``loss curve`` and every ``<parameter> after step <steps>``.
    numpy_model, torch_model
        The trained models.
    """

    numpy_losses: np.ndarray
    torch_losses: np.ndarray
    report: ParityReport
    numpy_model: Module
    torch_model: nn.Module


def train_both(
    spec_or_models,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    *,
    loss: str = "cross_entropy",
    optimizer=("adam", {"lr": 1e-3}),
    dtype=np.float64,
    seed: int = 0,
    device=None,
) -> TrainingParity:
    """Train both implementations from the same weights on the same batches, in lock step.

    Parameters are those of ``compare``; ``batches`` yields ``(x, y)`` pairs (for example one
    epoch of a data loader). Returns both loss curves and the final-weight comparison.
    """
    dt = check_float_dtype(dtype)
    with exact_float32():
        return _train_both(spec_or_models, batches, loss, optimizer, dt, seed, device)


def _train_both(spec_or_models, batches, loss, optimizer, dt, seed, device) -> TrainingParity:
    np_model, t_model = make_twins(spec_or_models, dtype=dt, seed=seed, device=device)
    twins = _Twins(np_model, t_model, loss, optimizer)
    losses_np, losses_t = [], []
    for x, y in batches:
        _check_batch(x, y, dt, loss)
        pairs = twins.forward_backward(x, y)
        losses_np.append(pairs["loss"][0])
        losses_t.append(pairs["loss"][1].item())
        twins.step()
    if not losses_np:
        raise ValueError("batches was empty; train_both needs at least one (x, y) batch")
    steps = len(losses_np)
    title = _title(spec_or_models, dt, twins.device, loss, optimizer, steps)
    rows = [compare_arrays("loss curve", losses_np, losses_t)]
    rows += twins.parameter_rows(f" after step {steps}")
    return TrainingParity(
        np.asarray(losses_np, dtype=np.float64),
        np.asarray(losses_t, dtype=np.float64),
        ParityReport(title, rows),
        np_model,
        t_model,
    )
