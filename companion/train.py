"""One training loop for both implementations: ``fit``, ``evaluate``, ``predict``.

``fit(model, data, epochs=...)`` trains a NumPy model (``companion.numpy_impl``) or its torch twin
(``companion.torch_impl``) with the same code path: the same seeded batch order (one
``companion.data.BatchLoader``), the same augmentation draws, the same optimizer arithmetic (the
NumPy optimizers follow ``torch.optim``), the same learning-rate schedule. Only the step itself
differs, and both steps are spelled out below: forward, loss, backward, optimizer step.

Started from the same weights, the two implementations therefore see identical batches; in
float64 their loss curves agree to rounding (see ``companion.parity``), in float32 they drift apart
slowly, as any two float32 programs that sum in different orders do.

``fit`` returns a :class:`History`: per epoch the training loss and accuracy (running means over
the epoch's batches, as Keras reports them), the validation loss and accuracy, the seconds spent
training and the learning rate; and the loss of every single step.

``import companion.train`` does not import torch; torch is imported when a torch model is given.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from tqdm import tqdm  # plain text bars: tqdm.auto would need ipywidgets in notebooks

from companion._checks import check_labels, check_positive_int
from companion.data import BatchLoader
from companion.numpy_impl import losses as np_losses
from companion.numpy_impl.module import Module, no_grad
from companion.numpy_impl.optim import OPTIMIZERS

__all__ = ["History", "fit", "evaluate", "predict", "accuracy", "confusion_matrix"]


# ================================================================================================
# History
# ================================================================================================


@dataclass
class History:
    """What one ``fit`` call measured.

    Attributes
    ----------
    impl : "numpy" or "torch"
    train_loss, train_acc : list of float, one per epoch
        Means over the epoch's training batches, each computed before that batch's update (so
        the model changes during the epoch, as in Keras's progress bar). Accuracy in [0, 1].
    val_loss, val_acc : list of float, one per epoch (empty without validation data)
        The model evaluated on the validation set at the end of each epoch.
    epoch_time : list of float
        Seconds spent training in each epoch (the validation pass is not included).
    lr : list of float
        The learning rate at the start of each epoch.
    step_loss : list of float
        The loss of every training batch, in order (``epochs * batches_per_epoch`` values).
    """

    impl: str
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    step_loss: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """The number of epochs trained."""
        return len(self.train_loss)

    def epoch_line(self, epoch: int) -> str:
        """One epoch (0-based) in words, e.g. for a log."""
        line = (f"epoch {epoch + 1}: train loss {self.train_loss[epoch]:.4f}, "
                f"acc {100 * self.train_acc[epoch]:.2f}%")
        if epoch < len(self.val_loss):
            line += f"; val loss {self.val_loss[epoch]:.4f}, acc {100 * self.val_acc[epoch]:.2f}%"
        return line + f"; {self.epoch_time[epoch]:.1f} s"

    def __str__(self) -> str:
        lines = [f"History({self.impl}, {self.epochs} epoch(s), {len(self.step_loss)} steps)"]
        return "\n".join(lines + ["  " + self.epoch_line(e) for e in range(self.epochs)])


# ================================================================================================
# Which implementation, which dtype, which input shape
# ================================================================================================


def _impl(model) -> str:
    """``"numpy"`` for a companion NumPy Module, ``"torch"`` for a torch.nn.Module."""
    if isinstance(model, Module):
        return "numpy"
    if type(model).__module__.startswith("torch"):
        import torch

        if isinstance(model, torch.nn.Module):
            return "torch"
    raise TypeError(
        "model must be a companion.numpy_impl Module or a torch.nn.Module, "
        f"got {type(model).__name__}"
    )


def _model_dtype(model, impl: str) -> np.dtype:
    if impl == "numpy":
        return model.parameters()[0].dtype
    from companion.torch_impl import numpy_dtype

    return numpy_dtype(next(model.parameters()).dtype)


def _check_inputs(model, impl: str, x: np.ndarray, name: str) -> np.ndarray:
    """Check that ``x`` is a NumPy array of the model's dtype; return it."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    dtype = _model_dtype(model, impl)
    if x.dtype != dtype:
        if x.dtype.kind == "f":
            fix = f"convert it with x.astype(np.{dtype.name}) or build the model in {x.dtype}"
        else:
            fix = f"convert the images to floats, e.g. x.astype(np.{dtype.name}) / 255"
        raise TypeError(
            f"{name} has dtype {x.dtype} but the model's parameters are {dtype}; {fix}, or load "
            f"the data with companion.data.load_mnist(dtype=np.{dtype.name})"
        )
    return x


def _split_data(data):
    """``(x_train, y_train, x_val, y_val)`` from a Dataset or a 2- or 4-tuple."""
    if hasattr(data, "x_train"):
        return data.x_train, data.y_train, data.x_val, data.y_val
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        x, y, *val = data
        return (x, y, *val) if val else (x, y, None, None)
    raise TypeError(
        "data must be a companion.data.Dataset or a tuple (x_train, y_train) or "
        f"(x_train, y_train, x_val, y_val), got {type(data).__name__}"
    )


# ================================================================================================
# The two training steps
# ================================================================================================


class _NumpyStep:
    """One NumPy training step: forward, loss, backward, optimizer step."""

    def __init__(self, model: Module, optimizer: str, lr: float, options: dict, loss):
        self.model = model
        self.loss = np_losses.CrossEntropyLoss() if loss is None else loss
        self.optimizer = OPTIMIZERS[optimizer](model.parameters(), lr=lr, **options)

    def set_lr(self, lr: float) -> None:
        self.optimizer.lr = lr

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
        """Train on one batch; return (its loss, how many of its samples were right)."""
        self.model.zero_grad()  # forget the previous batch's gradients
        logits = self.model(xb)  # (B, 10)
        loss = self.loss(logits, yb)  # mean cross-entropy of the batch
        # dloss/dlogits, back through every layer; the images themselves need no gradient
        self.model.backward(self.loss.backward(), input_grad=False)
        self.optimizer.step()  # update every parameter from its .grad
        return float(loss), int(np.count_nonzero(logits.argmax(axis=1) == yb))


class _TorchStep:
    """The same step in torch; the batch arrives as NumPy arrays and is moved to the device."""

    def __init__(self, model, optimizer: str, lr: float, options: dict, loss):
        import torch

        self.torch, self.model = torch, model
        self.device = next(model.parameters()).device
        self.loss = torch.nn.CrossEntropyLoss() if loss is None else loss
        torch_class = getattr(torch.optim, OPTIMIZERS[optimizer].__name__)
        self.optimizer = torch_class(model.parameters(), lr=lr, **options)

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def __call__(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, int]:
        x = self.torch.from_numpy(np.ascontiguousarray(xb)).to(self.device)
        y = self.torch.from_numpy(np.ascontiguousarray(yb, dtype=np.int64)).to(self.device)
        self.optimizer.zero_grad()
        logits = self.model(x)
        loss = self.loss(logits, y)
        loss.backward()
        self.optimizer.step()
        return loss.item(), int((logits.argmax(dim=1) == y).sum().item())


# ================================================================================================
# fit
# ================================================================================================


def _check_fit_arguments(epochs, batch_size, lr, lr_decay, lr_schedule, optimizer) -> None:
    check_positive_int(epochs, "epochs")
    check_positive_int(batch_size, "batch_size")
    for value, name in ((lr, "lr"), (lr_decay, "lr_decay")):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{name} must be a number > 0, got {value!r}")
    if lr_schedule not in ("exponential", "linear"):
        raise ValueError(f"lr_schedule must be 'exponential' or 'linear', got {lr_schedule!r}")
    if lr_schedule == "linear" and lr_decay != 1.0:
        raise ValueError(f"lr_decay={lr_decay!r} applies to the exponential schedule only; "
                         "the linear schedule decays to 0 by itself")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")


def _train_epoch(step, bar, history: History, augment, augment_rng, lr_at) -> None:
    """One pass over the batches ``bar`` yields; appends the epoch's time, loss and accuracy to ``history``."""
    total_loss, correct, seen, start = 0.0, 0, 0, time.perf_counter()
    for xb, yb in bar:
        if lr_at is not None:  # the linear schedule changes the rate every step
            step.set_lr(lr_at(len(history.step_loss)))
        if augment is not None:
            xb = augment(xb, augment_rng)
        batch_loss, batch_correct = step(xb, yb)
        history.step_loss.append(batch_loss)
        total_loss += batch_loss * len(yb)
        correct, seen = correct + batch_correct, seen + len(yb)
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.4f}",
                        refresh=False)
    history.epoch_time.append(time.perf_counter() - start)
    history.train_loss.append(total_loss / seen)
    history.train_acc.append(correct / seen)


def fit(
    model,
    data,
    *,
    epochs: int,
    batch_size: int = 128,
    optimizer: str = "adam",
    lr: float = 1e-3,
    lr_decay: float = 1.0,
    lr_schedule: str = "exponential",
    optimizer_options: dict[str, Any] | None = None,
    seed: int = 0,
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None,
    loss=None,
    progress: bool = True,
    eval_every_epoch: bool = True,
    eval_batch_size: int = 1000,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` on ``data`` and return its :class:`History`.

    Parameters
    ----------
    model : companion.numpy_impl Module or torch.nn.Module
        Trained in place. The implementation is recognised from the type.
    data : companion.data.Dataset, or (x_train, y_train) or (x_train, y_train, x_val, y_val)
        ``x`` : (N, ...) float array of the model's dtype, in the shape the model takes;
        ``y`` : (N,) integer labels. Validation data
        with N = 0 (or none) means no validation.
    epochs : int >= 1
    batch_size : int >= 1
        The last batch of an epoch may be smaller.
    optimizer : "adam" (default), "sgd", "rmsprop" or "adamw"
        The NumPy class of ``companion.numpy_impl.optim`` or torch's class of the same name.
    lr : float > 0
        The learning rate of the first epoch.
    lr_decay : float > 0
        With ``lr_schedule="exponential"``: multiply the learning rate by this after every epoch
        (torch's ``ExponentialLR``); epoch ``e`` (0-based) uses ``lr * lr_decay**e``. 1.0 (the
        default) keeps it constant.
    lr_schedule : "exponential" (default) or "linear"
        ``"linear"``: the learning rate falls linearly, step by step, from ``lr`` at the first
        step to 0 after the last (``lr_decay`` must then be 1.0).
    optimizer_options : dict, optional
        More keyword arguments for the optimizer (e.g. ``{"momentum": 0.9}``).
    seed : int
        Seeds the batch order (a new permutation every epoch, from one Generator) and, through an
        independent stream, the augmentation. The same seed gives both implementations the same
        batches.
    augment : callable ``(x_batch, rng) -> x_batch``, optional
        Applied to every training batch (e.g. ``companion.data.random_shift``), with a
        Generator of its own.
    loss : optional
        NumPy: a callable ``(logits, y) -> float`` with ``backward() -> dlogits``, such as the
        loss modules of ``companion.numpy_impl.losses`` (default ``CrossEntropyLoss()``); torch: a callable ``(logits, y) -> scalar tensor`` (default
        ``torch.nn.CrossEntropyLoss()``).
    progress : bool
        A tqdm progress bar per epoch (pass False in notebooks and tests).
    eval_every_epoch : bool
        Evaluate on the validation data after every epoch (else after the last one only).
    eval_batch_size : int
        Batch size of the validation passes (memory only; results do not depend on it).
    on_epoch_end : callable ``(epoch, history) -> None``, optional
        Called after every epoch (0-based ``epoch``), e.g. to print ``history.epoch_line(epoch)``.

    Returns
    -------
    History
    """
    impl = _impl(model)
    _check_fit_arguments(epochs, batch_size, lr, lr_decay, lr_schedule, optimizer)
    x_train, y_train, x_val, y_val = _split_data(data)
    check_labels(y_train, "y_train", 10 if y_train.size == 0 else int(y_train.max()) + 1)
    if len(x_train) != len(y_train):
        raise ValueError(f"x_train has {len(x_train)} samples but y_train {len(y_train)} labels")
    _check_inputs(model, impl, x_train[:1], "x_train")  # dtype check before any work
    validate = x_val is not None and len(x_val) > 0

    step_class = _NumpyStep if impl == "numpy" else _TorchStep
    step = step_class(model, optimizer, lr, dict(optimizer_options or {}), loss)
    batches = BatchLoader(x_train, y_train, batch_size, rng=np.random.default_rng(seed))
    augment_rng = np.random.default_rng([seed, 1])  # independent of the batch order
    history = History(impl)
    total_steps = epochs * len(batches)
    linear_lr = (lambda i: lr * (1 - i / total_steps)) if lr_schedule == "linear" else None

    for epoch in range(epochs):
        history.lr.append(lr * lr_decay**epoch if linear_lr is None else linear_lr(len(history.step_loss)))
        step.set_lr(history.lr[-1])
        model.train(True)
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch",
                   disable=not progress, leave=True)
        _train_epoch(step, bar, history, augment, augment_rng, linear_lr)
        if validate and (eval_every_epoch or epoch == epochs - 1):
            val_loss, val_acc = evaluate(model, x_val, y_val, batch_size=eval_batch_size)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}",
                            acc=f"{history.train_acc[-1]:.4f}",
                            val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.4f}")
        bar.close()
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
    return history


# ================================================================================================
# evaluate, predict, metrics
# ================================================================================================


def predict(model, x: np.ndarray, *, batch_size: int = 1000, logits: bool = False) -> np.ndarray:
    """The model's predictions for ``x``, computed in evaluation mode, batch by batch.

    Parameters
    ----------
    model : companion.numpy_impl Module or torch.nn.Module
    x : (N, 1, 28, 28) or (N, D) float array of the model's dtype
    batch_size : int >= 1
    logits : bool
        Return the raw scores instead of the labels.

    Returns
    -------
    (N,) int64 labels (the arg-max of the scores), or (N, C) logits as a NumPy array of the
    model's dtype. The model is left in training mode.
    """
    impl = _impl(model)
    batch_size = check_positive_int(batch_size, "batch_size")
    x = _check_inputs(model, impl, x, "x")
    scores = _logits(model, impl, x, batch_size)
    return scores if logits else scores.argmax(axis=1).astype(np.int64)


def _logits(model, impl: str, x: np.ndarray, batch_size: int) -> np.ndarray:
    model.train(False)
    try:
        if impl == "numpy":
            with no_grad():  # keep no caches: evaluation needs no backward
                parts = [model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
        else:
            import torch

            device = next(model.parameters()).device
            with torch.no_grad():
                parts = [model(torch.from_numpy(np.ascontiguousarray(x[i:i + batch_size]))
                               .to(device)).cpu().numpy()
                         for i in range(0, len(x), batch_size)]
    finally:
        model.train(True)
    if not parts:
        raise ValueError("x is empty (0 samples); there is nothing to predict")
    return np.concatenate(parts)


def evaluate(model, x: np.ndarray, y: np.ndarray, *, batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(x, y)``.

    x : (N, 1, 28, 28) or (N, D) float array of the model's dtype; y : (N,) integer labels.
    Returns ``(loss, accuracy)`` as floats, accuracy in [0, 1]. The loss is computed in float64
    from the logits (log-sum-exp), whatever the model's dtype.
    """
    scores = predict(model, x, batch_size=batch_size, logits=True)
    check_labels(y, "y", scores.shape[1], len(scores))
    loss, _ = np_losses.cross_entropy(scores.astype(np.float64), y)
    return loss, accuracy(y, scores.argmax(axis=1))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The fraction of ``y_pred`` equal to ``y_true``; both (N,) integer arrays, N >= 1."""
    if y_true.shape != y_pred.shape or y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty (N,) arrays of one shape, got {y_true.shape} "
            f"and {y_pred.shape}"
        )
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Counts ``C[i, j]`` = how many samples of class ``i`` were predicted as ``j``.

    y_true, y_pred : (N,) integer arrays in ``[0, num_classes)``. Returns (num_classes,
    num_classes) int64; rows are true classes, columns predictions, the diagonal is right.
    """
    check_labels(y_true, "y_true", num_classes)
    check_labels(y_pred, "y_pred", num_classes, len(y_true))
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)
