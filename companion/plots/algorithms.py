"""Figures of chapter 2, *Algorithms*: gradient-descent paths, decision boundaries, learning curves.

Every function draws one small figure with ``matplotlib.pyplot`` and returns it; a notebook cell
ends with ``plt.show()`` so that the figure appears once, as a PNG. Inputs are checked first, and
a wrong shape, dtype or value is reported in words before anything is drawn.

* ``plot_gd_paths``: gradient descent on the quadratic bowl ``f(w) = 1/2 w^T H w`` for several
  learning rates, one panel per path, plus ``f(w_t)`` against the step ``t``;
* ``plot_decision_boundaries``: a 2-D classifier's probability of class 1 over the plane, at
  several moments of its training (evaluate the model on ``companion.numerics.decision_grid``);
* ``plot_learning_curves``: several loss curves on one set of axes (runs to compare).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from companion._checks import check_array, check_positive_int

from companion.plots import style

__all__ = [
    "plot_gd_paths",
    "plot_decision_boundaries",
    "plot_learning_curves",
]




def _check_hessian(hessian) -> np.ndarray:
    """A symmetric positive-definite ``(2, 2)`` float array, or a clear error."""
    check_array(hessian, "hessian", shape=(2, 2))
    if not np.allclose(hessian, hessian.T):
        raise ValueError(f"hessian must be symmetric, got {np.array2string(hessian, precision=3)}")
    smallest = float(np.linalg.eigvalsh(hessian)[0])
    if smallest <= 0:
        raise ValueError(
            f"hessian must be positive definite (a bowl with one minimum), but its smallest "
            f"eigenvalue is {smallest:.3g}"
        )
    return hessian


def _check_paths(paths) -> dict[str, np.ndarray]:
    if not isinstance(paths, Mapping) or not paths:
        raise ValueError("paths must be a non-empty dict label -> (T+1, 2) array of iterates")
    for label, path in paths.items():
        check_array(path, f"paths[{label!r}]", shape=(None, 2))
        if path.shape[0] < 1:
            raise ValueError(f"paths[{label!r}] is empty; it needs at least the starting point")
    return dict(paths)


@style.book_figure
def plot_gd_paths(hessian, paths, *, radius=None, title="gradient descent on a quadratic bowl"):
    """Gradient-descent iterates on the contours of ``f(w) = 1/2 w^T H w``, and ``f`` per step.

    Parameters
    ----------
    hessian : (2, 2) float array
        ``H``, symmetric positive definite; the minimum is at ``w = 0``.
    paths : dict of str to (T+1, 2) float array
        ``label -> [w_0, w_1, ..., w_T]``, e.g. one path per learning rate. One panel each.
    radius : float, optional
        Half the width of the square shown (default: 1.3 times the largest ``|w_0|`` entry).
        Iterates outside it are clipped by the frame: a diverging path visibly leaves it.
    title : str
        The title over the whole figure. The last panel shows ``f(w_t)`` against ``t`` on a log
        scale, one line per path in the path's colour.

    Returns
    -------
    matplotlib.figure.Figure
    """
    hessian = _check_hessian(hessian)
    paths = _check_paths(paths)
    if radius is None:
        radius = 1.3 * max(float(np.abs(p[0]).max()) for p in paths.values())
    if not (isinstance(radius, (int, float)) and np.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be a positive number, got {radius!r}")

    side = np.linspace(-radius, radius, 201)
    w1, w2 = np.meshgrid(side, side)
    grid = np.stack([w1.ravel(), w2.ravel()], axis=1)  # (201*201, 2)
    bowl = 0.5 * np.einsum("ni,ij,nj->n", grid, hessian, grid).reshape(w1.shape)
    levels = np.geomspace(max(bowl.max(), 1e-12) * 1e-3, bowl.max(), 9)

    fig, axes = style.subplots(1, len(paths) + 1, height=2.7,
                               width=min(2.4 * (len(paths) + 1), style.WIDTH))
    for i, (ax, (label, path)) in enumerate(zip(axes, paths.items())):
        ax.contour(w1, w2, bowl, levels=levels, colors="lightgray", linewidths=0.8)
        ax.plot(path[:, 0], path[:, 1], "-o", ms=2.5, lw=1, color=style.color(i))
        ax.plot([0], [0], "k+", ms=8)
        ax.set_xlim(-radius, radius)
        ax.set_ylim(-radius, radius)
        ax.set_aspect("equal")
        ax.set_title(label)
    values_ax = axes[-1]
    for i, (label, path) in enumerate(paths.items()):
        values = 0.5 * np.einsum("ti,ij,tj->t", path, hessian, path)
        values_ax.semilogy(np.arange(len(values)), values, lw=1.2, color=style.color(i),
                           label=label)
    values_ax.set_xlabel("step t")
    values_ax.set_ylabel("f(w_t)")
    values_ax.set_title("f per step")
    if title:
        fig.suptitle(title)
    style.shared_legend(fig, values_ax, ncol=len(paths))
    return fig



@style.book_figure
def plot_decision_boundaries(xx, yy, probabilities, x, y, *, titles, ncols=3):
    """A binary classifier's ``P(class 1)`` over the plane at several moments, with the data.

    Parameters
    ----------
    xx, yy : (R, S) float arrays
        Grid coordinates, as from ``decision_grid``.
    probabilities : sequence of (R, S) float arrays, values in [0, 1]
        One panel each: the model's probability of class 1 at every grid point.
    x : (N, 2) float array
        The data points drawn on every panel.
    y : (N,) integer array of 0 and 1
        Their classes (the colours).
    titles : sequence of str
        One per panel, e.g. ``"step 100: loss 0.42"``.
    ncols : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        The 0.5 contour, the decision boundary, is drawn in black.
    """
    check_array(xx, "xx", ndim=2)
    check_array(yy, "yy", shape=xx.shape)
    probabilities = list(probabilities)
    if not probabilities:
        raise ValueError("probabilities is empty; pass at least one (R, S) array")
    for i, p in enumerate(probabilities):
        check_array(p, f"probabilities[{i}]", shape=xx.shape)
        if p.min() < 0 or p.max() > 1:
            raise ValueError(
                f"probabilities[{i}] must lie in [0, 1], got values from {p.min():.3g} to "
                f"{p.max():.3g}"
            )
    titles = list(titles)
    if len(titles) != len(probabilities):
        raise ValueError(f"got {len(titles)} titles for {len(probabilities)} panels")
    check_array(x, "x", shape=(None, 2))
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu":
        got = f"dtype {y.dtype}" if isinstance(y, np.ndarray) else type(y).__name__
        raise TypeError(f"y must be a numpy array of integer class labels, got {got}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"y must have shape ({x.shape[0]},), one label per point, got {y.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"y must hold the classes 0 and 1 only, got {np.unique(y)}")

    ncols = min(check_positive_int(ncols, "ncols"), len(probabilities))
    nrows = -(-len(probabilities) // ncols)
    fig, axes = style.subplots(nrows, ncols, height=2.4 * nrows,
                               width=min(2.4 * ncols, style.WIDTH),
                             squeeze=False)
    levels = np.linspace(0.0, 1.0, 6)
    for i, ax in enumerate(axes.ravel()):  # one panel per snapshot: a handful at most
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(probabilities):
            ax.set_axis_off()
            continue
        ax.contourf(xx, yy, probabilities[i], levels=levels, cmap="RdBu_r", alpha=0.55)
        ax.contour(xx, yy, probabilities[i], levels=[0.5], colors="black", linewidths=1.2)
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="bwr", s=5, edgecolors="none")
        ax.set_title(titles[i])
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig


@style.book_figure
def plot_learning_curves(curves, *, xlabel, ylabel="loss", logx=False, logy=True, title=None,
                         ax=None):
    """Several curves on one set of axes, e.g. the loss of runs to be compared.

    Parameters
    ----------
    curves : dict of str to (xs, values)
        ``label -> (xs, values)``, two 1-D float arrays of one length: the horizontal positions
        (steps, epochs, samples seen) and the values there.
    xlabel, ylabel : str
    logx, logy : bool
        Logarithmic axes (``logy`` by default: losses fall over orders of magnitude).
    title : str, optional
    ax : matplotlib Axes, optional
        Draw into it (e.g. one panel of a larger figure) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (``ax.figure`` when ``ax`` is given).
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict label -> (xs, values)")
    for label, pair in curves.items():
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"curves[{label!r}] must be a pair (xs, values)")
        xs, values = pair
        check_array(xs, f"curves[{label!r}] xs", ndim=1)
        check_array(values, f"curves[{label!r}] values", shape=xs.shape)
        if xs.size == 0:
            raise ValueError(f"curves[{label!r}] is empty; there is no curve to draw")
        if logy and values.min() <= 0:
            raise ValueError(f"curves[{label!r}] has values <= 0, which a log axis cannot show")
    if ax is None:
        fig, ax = style.subplots(height=3.0)
    else:
        fig = ax.figure
    for label, (xs, values) in curves.items():
        ax.plot(xs, values, lw=1.2, label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
