"""Figures of the formulas chapter: activations and their derivatives, losses, loss surfaces.

Every curve is computed by the package's own functions (``companion.numpy_impl.functional``,
through ``companion.numerics.activation_curves`` and ``log_sigmoid``), so a figure shows what the
code computes, not a second copy of the maths. Each function returns the
``matplotlib.figure.Figure`` it drew; in a notebook, end the cell with ``plt.show()``.

* ``plot_activations()``: ReLU, leaky ReLU, sigmoid and tanh (top row) and their derivatives
  (bottom row), a 2x4 grid;
* ``plot_losses()``: squared error and cross-entropy as functions of the prediction;
* ``plot_loss_surface(...)``: contours of a loss over two weights, with optimizer paths.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array
from companion.numerics import activation_curves, log_sigmoid
from companion.numpy_impl import functional as F
from companion.plots import style

__all__ = ["plot_activations", "plot_losses", "plot_loss_surface"]




@style.book_figure
def plot_activations(x: np.ndarray | None = None, negative_slope: float = 0.1):
    """A 2x4 grid: each activation (top) above its derivative (bottom).

    x : (M,) float array of points, default 401 points on [-5, 5]. Returns the Figure.
    """
    if x is None:
        x = np.linspace(-5.0, 5.0, 401)
    curves = activation_curves(x, negative_slope)
    fig, axes = style.subplots(2, 4, height=4.2, sharex=True)
    for col, (name, (values, slopes)) in enumerate(curves.items()):
        label = f"{name} ({negative_slope:g})" if name == "leaky ReLU" else name
        for row, (y, what) in enumerate(((values, label), (slopes, f"{label}'"))):
            ax = axes[row, col]
            ax.plot(x, y, color=style.color(0) if row == 0 else style.color(3), lw=2)
            ax.axhline(0, color="0.6", lw=0.8)
            ax.axvline(0, color="0.6", lw=0.8)
            ax.set_title(what)
            ax.grid(alpha=0.3)
        axes[1, col].set_xlabel("x")
    axes[0, 0].set_ylabel("f(x)")
    axes[1, 0].set_ylabel("f'(x)")
    fig.tight_layout()
    return fig



@style.book_figure
def plot_losses(target: float = 1.0):
    """Squared error and cross-entropy for one example whose true label is ``target`` (0 or 1).

    Left: as functions of the predicted probability ``p`` of class 1. Right: as functions of the
    logit ``z`` with ``p = sigmoid(z)``, where the squared error flattens out (the sigmoid
    saturates) while the cross-entropy keeps a slope of -1 on the wrong side. Returns the Figure.
    """
    if target not in (0.0, 1.0):
        raise ValueError(f"target must be 0 or 1, got {target!r}")
    p = np.linspace(1e-3, 1 - 1e-3, 400)
    z = np.linspace(-8.0, 8.0, 401)
    sign = 1.0 if target == 1.0 else -1.0  # -log p(correct class) = -log sigmoid(sign * z)

    fig, (ax_p, ax_z) = style.subplots(1, 2, height=3.2)
    p_true = p if target == 1.0 else 1 - p
    ax_p.plot(p, (p - target) ** 2, label="squared error $(p-y)^2$", lw=2)
    ax_p.plot(p, -np.log(p_true), label="cross-entropy $-\\log p_y$", lw=2)
    ax_p.set_xlabel("predicted probability of class 1, p")
    ax_p.set_ylim(0, 5)

    ax_z.plot(z, (F.sigmoid(z) - target) ** 2, label="squared error on sigmoid(z)", lw=2)
    ax_z.plot(z, -log_sigmoid(sign * z), label="cross-entropy from logit z", lw=2)
    ax_z.set_xlabel("logit z, p = sigmoid(z)")
    ax_z.set_ylim(0, 5)
    for ax in (ax_p, ax_z):
        ax.set_title(f"true label y = {target:g}")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(loc="center right")  # the curves run low on the right
    fig.tight_layout()
    return fig


@style.book_figure
def plot_loss_surface(
    w_values: np.ndarray,
    b_values: np.ndarray,
    losses: np.ndarray,
    paths: Mapping[str, np.ndarray] | None = None,
    labels: tuple[str, str] = ("w", "b"),
    title: str = "loss surface",
):
    """Contours of a loss over a grid of two parameters, with optional optimizer paths.

    Parameters
    ----------
    w_values : (W,) float array, the first parameter's grid (horizontal axis)
    b_values : (B,) float array, the second parameter's grid (vertical axis)
    losses : (B, W) float array, ``losses[i, j]`` the loss at ``(w_values[j], b_values[i])``
    paths : dict name -> (T, 2) array of ``(w, b)`` points, optional, drawn as lines with a
        marker every 10 points and a star at the end
    labels : the two axis labels
    title : the figure title

    Returns the Figure.
    """
    check_array(w_values, "w_values", ndim=1)
    check_array(b_values, "b_values", ndim=1)
    check_array(losses, "losses", shape=(b_values.size, w_values.size))
    fig, ax = style.subplots(height=4.2)
    if not losses.min() > 0 or not losses.max() > losses.min():
        raise ValueError(
            f"losses must be positive and not all equal for log-spaced contours, got values "
            f"from {losses.min():.3g} to {losses.max():.3g}"
        )
    levels = np.geomspace(losses.min(), losses.max(), 18)  # log spacing shows the valley floor
    contour = ax.contour(w_values, b_values, losses, levels=levels, cmap="viridis", linewidths=1)
    fig.colorbar(contour, ax=ax, label="loss", format="%.2g")
    styles = ("-", "--", "-.", ":")
    for i, (name, path) in enumerate((paths or {}).items()):
        path = check_array(np.asarray(path, dtype=np.float64), f"paths[{name!r}]", shape=(None, 2))
        color = style.color(i + 1)
        ax.plot(path[:, 0], path[:, 1], styles[i % len(styles)], lw=1.6, color=color, label=name,
                marker="o", ms=3, markevery=10)  # a marker every 10 steps shows the speed
        ax.plot(*path[-1], "*", ms=11, color=color, markeredgecolor="k", markeredgewidth=0.5)
    if paths:
        ax.plot(*np.asarray(next(iter(paths.values())))[0], "ks", ms=6, label="start")
        ax.legend(loc="lower left", framealpha=0.9)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title(title)
    fig.tight_layout()
    return fig
