"""Figures of the recurrent-networks chapter (chapter 5).

Each function draws one small figure from numbers the chapter measured and returns the
``matplotlib.figure.Figure``; in a notebook, end the cell with ``plt.show()``. Inputs are checked.

* ``plot_gradient_norms(lengths, norms, bounds=None)``: the norm of a gradient against the
  sequence length, one line per setting, on a log scale (vanishing and exploding gradients);
* ``plot_clipping(grad_norms, losses, max_norm)``: gradient norm and loss at every training step
  (log scales: a diverging step is drawn, not cut off), for runs with and without clipping;
* ``plot_step_losses(losses, accuracies=None)``: training loss per step of several runs, smoothed
  (``companion.numerics.moving_average``), with their test accuracy in the legend.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array
from companion.numerics import moving_average
from companion.plots import style

__all__ = ["plot_gradient_norms", "plot_clipping", "plot_step_losses"]




def _series(values, name: str, length: int | None = None) -> np.ndarray:
    """A 1-D float64 array (NaN and infinity allowed: a diverging run is worth drawing)."""
    arr = check_array(np.asarray(values, dtype=np.float64), name, ndim=1, finite=False)
    if length is not None and arr.size != length:
        raise ValueError(f"{name} must have {length} values (one per length), got {arr.size}")
    return arr



@style.book_figure
def plot_gradient_norms(lengths, norms: Mapping[str, np.ndarray], bounds=None, *,
                        ylabel: str = "gradient norm", title: str = ""):
    """Gradient norms against sequence length, log scale, one line per setting.

    Parameters
    ----------
    lengths : (L,) array of sequence lengths (the horizontal axis)
    norms : dict label -> (L,) array of measured norms
    bounds : dict label -> (L,) array, optional: a bound drawn dashed in the same colour (the
        vertical axis is then framed on the measured norms, and a bound may leave it)
    ylabel, title : str

    Returns the Figure.
    """
    x = _series(lengths, "lengths")
    if not norms:
        raise ValueError("norms must hold at least one line")
    fig, ax = style.subplots(height=3.6)
    lowest, highest = np.inf, 0.0
    for i, (label, values) in enumerate(norms.items()):
        values = _series(values, f"norms[{label!r}]", x.size)
        positive = values[values > 0]
        if positive.size:
            lowest, highest = min(lowest, positive.min()), max(highest, positive.max())
        ax.semilogy(x, values, "o-", ms=3, lw=1.6, color=style.color(i), label=label)
        if bounds and label in bounds:
            ax.semilogy(x, _series(bounds[label], f"bounds[{label!r}]", x.size), "--", lw=1,
                        color=style.color(i), alpha=0.7)
    if bounds and highest > 0:  # the bounds may run off by many decades: frame the measurements
        ax.set_ylim(lowest / 30, highest * 30)
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


@style.book_figure
def plot_clipping(grad_norms: Mapping[str, np.ndarray], losses: Mapping[str, np.ndarray],
                  max_norm: float | None = None):
    """Two panels per training step: the gradient norm before clipping and the loss (both log).

    Parameters
    ----------
    grad_norms, losses : dict run label -> (S,) array, one value per step (same labels)
    max_norm : float, optional: the clipping threshold, drawn as a horizontal line

    Returns the Figure.
    """
    if set(grad_norms) != set(losses) or not grad_norms:
        raise ValueError(
            f"grad_norms and losses must name the same runs, got {list(grad_norms)} and "
            f"{list(losses)}"
        )
    fig, (ax_g, ax_l) = style.subplots(1, 2, height=3.0)
    for i, label in enumerate(grad_norms):
        g = _series(grad_norms[label], f"grad_norms[{label!r}]")
        loss = _series(losses[label], f"losses[{label!r}]", g.size)
        steps = np.arange(1, g.size + 1)
        ax_g.semilogy(steps, g, lw=1, color=style.color(i), label=label)
        ax_l.semilogy(steps, loss, lw=1, color=style.color(i), label=label)
    if max_norm is not None:
        ax_g.axhline(max_norm, color="k", ls=":", lw=1, label=f"max_norm = {max_norm:g}")
    ax_g.set_ylabel("gradient norm (before clipping)")
    ax_l.set_ylabel("training loss of the batch (log scale)")
    for ax in (ax_g, ax_l):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


@style.book_figure
def plot_step_losses(losses: Mapping[str, np.ndarray],
                     accuracies: Mapping[str, float] | None = None, *, window: int = 20):
    """Training loss per step of several runs, as a moving average over ``window`` steps.

    Parameters
    ----------
    losses : dict run label -> (S,) array of per-step losses
    accuracies : dict run label -> test accuracy in [0, 1], optional, shown in the legend
    window : int, the moving-average window

    Returns the Figure.
    """
    if not losses:
        raise ValueError("losses must hold at least one run")
    fig, ax = style.subplots(height=3.4)
    for i, (label, values) in enumerate(losses.items()):
        smooth = moving_average(values, window)
        steps = np.arange(window, window + smooth.size)
        if accuracies and label in accuracies:
            label = f"{label} (test accuracy {accuracies[label]:.1%})"
        ax.plot(steps, smooth, lw=1.6, color=style.color(i), label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(f"training loss ({window}-step mean)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
