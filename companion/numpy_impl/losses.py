"""Loss functions: mean squared error, cross-entropy from logits, binary cross-entropy from logits.

Each loss comes twice:

* a pair of pure functions, ``loss(pred, target) -> (value, cache)`` and
  ``loss_backward(cache, dloss=1.0) -> dpred``, the gradient of the MEAN loss with respect to
  ``pred`` (times ``dloss``, the upstream gradient of whatever uses the loss);
* a small ``Module`` with torch's name (``MSELoss``, ``CrossEntropyLoss``, ``BCEWithLogitsLoss``):
  ``loss_fn(input, target) -> float`` and ``loss_fn.backward() -> dinput``.

All use torch's default ``reduction="mean"``. The classification losses take LOGITS (the raw
scores of the last ``Linear``), never probabilities: the softmax or sigmoid is folded into the loss
in a numerically stable form, so logits of any finite size (even +-1e4) give a finite loss and a
finite gradient.
"""

from __future__ import annotations

import numpy as np

from companion._checks import check_array, check_labels
from companion.numpy_impl.functional import log_softmax, sigmoid
from companion.numpy_impl.module import Module

__all__ = [
    "mse_loss",
    "mse_loss_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits_backward",
    "MSELoss",
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
]


def _check_pair(pred: np.ndarray, target: np.ndarray) -> None:
    """``pred`` a non-empty float array; ``target`` the same dtype and shape."""
    check_array(pred, "input")
    if pred.size == 0:
        raise ValueError(
            f"input is empty (shape {pred.shape}); a mean loss needs at least one value"
        )
    check_array(target, "target")
    if target.dtype != pred.dtype:
        raise TypeError(
            f"target has dtype {target.dtype} but input has dtype {pred.dtype}; "
            f"convert with target.astype(np.{pred.dtype.name})"
        )
    if target.shape != pred.shape:
        raise ValueError(f"target must have the input's shape {pred.shape}, got {target.shape}")


# ------------------------------------------------------------------------------------------------
# Mean squared error
# ------------------------------------------------------------------------------------------------


def mse_loss(pred: np.ndarray, target: np.ndarray):
    """``mean((pred - target)^2)`` over every element, as ``torch.nn.functional.mse_loss``.

    pred, target : arrays of one shape and float dtype. Returns ``(loss, cache)``, loss a float.
    """
    _check_pair(pred, target)
    diff = pred - target
    return float(np.mean(diff * diff)), diff


def mse_loss_backward(cache, dloss: float = 1.0) -> np.ndarray:
    """``d loss / d pred = 2 (pred - target) / size``; shape of ``pred``."""
    diff = cache
    return diff * (2.0 * dloss / diff.size)


# ------------------------------------------------------------------------------------------------
# Softmax cross-entropy
# ------------------------------------------------------------------------------------------------


def cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Softmax cross-entropy from logits, as ``torch.nn.functional.cross_entropy``.

    ``loss = mean_n( -log_softmax(logits)[n, labels[n]] )``, with the log-softmax by the
    log-sum-exp trick: ``log_softmax(z) = z - max(z) - log(sum(exp(z - max(z))))``.

    Parameters
    ----------
    logits : (N, C) float array, N >= 1
    labels : (N,) integer array with values in ``[0, C)``

    Returns
    -------
    loss : float
    cache : ``(log_probs, labels)`` for ``cross_entropy_backward``
    """
    check_array(logits, "logits", ndim=2)
    n, num_classes = logits.shape
    if n == 0:
        raise ValueError("logits is empty (shape (0, C)); a mean loss needs at least one row")
    check_labels(labels, "labels", num_classes, n)
    log_probs = log_softmax(logits, axis=1)
    loss = -np.mean(log_probs[np.arange(n), labels])
    return float(loss), (log_probs, labels)


def cross_entropy_backward(cache, dloss: float = 1.0) -> np.ndarray:
    """``d loss / d logits = (softmax(logits) - one_hot(labels)) / N``; shape (N, C)."""
    log_probs, labels = cache
    n = log_probs.shape[0]
    grad = np.exp(log_probs)
    grad[np.arange(n), labels] -= 1
    grad *= dloss / n
    return grad


# ------------------------------------------------------------------------------------------------
# Binary cross-entropy from logits
# ------------------------------------------------------------------------------------------------


def binary_cross_entropy_with_logits(logits: np.ndarray, targets: np.ndarray):
    """Sigmoid and binary cross-entropy in one stable step, as torch's function of that name.

    Per element ``l = -(y log s(x) + (1 - y) log(1 - s(x)))``, which simplifies to
    ``max(x, 0) - x*y + log1p(exp(-|x|))``: no ``exp`` of a positive number, no ``log(0)``.

    Parameters
    ----------
    logits : float array, any shape, not empty
    targets : float array of the same shape and dtype, values in ``[0, 1]``

    Returns
    -------
    loss : float, the mean of ``l`` over every element
    cache : ``(logits, targets)``
    """
    _check_pair(logits, targets)
    if targets.min() < 0 or targets.max() > 1:
        raise ValueError(
            f"targets must lie in [0, 1] (probabilities of class 1), "
            f"got values from {targets.min()} to {targets.max()}"
        )
    x, y = logits, targets
    elementwise = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return float(np.mean(elementwise)), (x, y)


def binary_cross_entropy_with_logits_backward(cache, dloss: float = 1.0) -> np.ndarray:
    """``d loss / d logits = (sigmoid(logits) - targets) / size``; shape of ``logits``."""
    x, y = cache
    return (sigmoid(x) - y) * (dloss / x.size)


# ------------------------------------------------------------------------------------------------
# torch-style classes
# ------------------------------------------------------------------------------------------------


class MSELoss(Module):
    """Mean squared error, as ``torch.nn.MSELoss()``. input, target : one shape, float."""

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        loss, cache = mse_loss(input, target)
        self._save(cache)
        return loss

    def backward(self, dloss: float = 1.0) -> np.ndarray:
        """The gradient of the mean loss with respect to ``input`` (times ``dloss``)."""
        return mse_loss_backward(self._saved(), dloss)


class CrossEntropyLoss(Module):
    """Softmax cross-entropy from logits, as ``torch.nn.CrossEntropyLoss()``.

    input : (N, C) logits; target : (N,) integer class labels.
    """

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        loss, cache = cross_entropy(input, target)
        self._save(cache)
        return loss

    def backward(self, dloss: float = 1.0) -> np.ndarray:
        """The gradient of the mean loss with respect to the logits (times ``dloss``)."""
        return cross_entropy_backward(self._saved(), dloss)


class BCEWithLogitsLoss(Module):
    """Binary cross-entropy from logits, as ``torch.nn.BCEWithLogitsLoss()``.

    input : logits, any shape; target : probabilities of class 1, same shape and dtype.
    """

    def forward(self, input: np.ndarray, target: np.ndarray) -> float:
        loss, cache = binary_cross_entropy_with_logits(input, target)
        self._save(cache)
        return loss

    def backward(self, dloss: float = 1.0) -> np.ndarray:
        """The gradient of the mean loss with respect to the logits (times ``dloss``)."""
        return binary_cross_entropy_with_logits_backward(self._saved(), dloss)
