"""Figures of the optimizers chapter: optimizer paths over 2-D test functions, and curves.

The test functions and the paths are computed in ``companion.numerics`` (``rosenbrock``,
``beale``, ``quadratic``, ``trajectory``); this module draws them.

* ``plot_paths(fn, paths)``: paths drawn over the function's filled contours;
* ``plot_path_panels(panels)``: one panel of paths per function, side by side, one legend;
* ``plot_curves(curves)``: several curves on one axis (losses per step, a learning-rate sweep).

Each plotting function returns the ``matplotlib.figure.Figure`` it drew on; in a notebook, end
the cell with ``plt.show()``. ``plot_paths`` and ``plot_curves`` accept ``ax=`` to draw into one
panel of a larger figure (made with ``companion.plots.style.subplots``).
"""

from __future__ import annotations

import textwrap
from typing import Mapping

import numpy as np

from companion._checks import check_array

from companion.numerics import TestFunction
from companion.plots import style

__all__ = ["plot_paths", "plot_path_panels", "plot_curves"]


# --- figures ----------------------------------------------------------------------------------
def _draw_paths(ax, fn: TestFunction, paths: Mapping[str, np.ndarray], title: str,
                markevery: int) -> None:
    """Contours of ``fn`` and the ``paths`` on ``ax``, labelled for a legend."""
    xs = np.linspace(*fn.xlim, 161)
    ys = np.linspace(*fn.ylim, 141)
    gap = fn.gap(np.stack(np.meshgrid(xs, ys), axis=-1))   # (141, 161)
    # log-spaced levels between the 1st and 99th percentile of the window's values, so that
    # both the valley floor and the walls get contours whatever the function's range
    low, high = np.quantile(gap, [0.01, 0.99])
    levels = np.geomspace(max(low, 1e-12), high, 12)
    # filled bands, white at the bottom to pale blue on the walls: flat areas keep the PNG
    # small, and the paths stand out
    bounds = np.concatenate([[gap.min()], levels, [gap.max()]])
    ax.contourf(xs, ys, gap, levels=bounds,
                colors=style.pyplot().cm.Blues(np.linspace(0.0, 0.5, len(bounds) - 1)))
    for i, (label, path) in enumerate(paths.items()):
        path = check_array(np.asarray(path, dtype=np.float64), f"paths[{label!r}]",
                           shape=(None, 2), finite=False)
        ax.plot(path[:, 0], path[:, 1], "-", lw=1.4, color=style.color(i), label=label,
                marker="o", ms=2.5, markevery=markevery)
    if paths:
        start = np.asarray(next(iter(paths.values())))[0]
        ax.plot(*start, "ks", ms=6, label="start")
    ax.plot(*fn.minimum, "*", ms=13, color="gold", markeredgecolor="k", label="minimum")
    ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y", title=title)


@style.book_figure
def plot_paths(fn: TestFunction, paths: Mapping[str, np.ndarray], *, ax=None, title=None,
               markevery: int = 10, legend: bool = True):
    """Filled contours of ``fn`` (log-spaced, so the valley floor shows) with optimizer paths.

    Parameters
    ----------
    fn : TestFunction (``companion.numerics``)
    paths : dict label -> (T, 2) float array of points (NaN rows, a divergence, are skipped)
    ax : matplotlib Axes, optional; a new figure of the column's width when None
    title : str, optional (default ``fn.name``)
    markevery : int, a marker every this many steps, to show the speed
    legend : bool
        Draw a legend: right of the axes for a new figure, at the best place inside ``ax``
        otherwise. With several panels, prefer ``plot_path_panels`` (one legend for all).

    Returns
    -------
    matplotlib.figure.Figure
    """
    new_figure = ax is None
    if new_figure:
        _, ax = style.subplots(height=3.8)
    _draw_paths(ax, fn, paths, title or fn.name, markevery)
    if legend and new_figure:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    elif legend:
        ax.legend(loc="best")
    if new_figure:
        ax.figure.tight_layout()
    return ax.figure


@style.book_figure
def plot_path_panels(panels: Mapping[str, tuple[TestFunction, Mapping[str, np.ndarray]]], *,
                     markevery: int | Mapping[str, int] = 10, ncol: int = 4):
    """One panel of optimizer paths per test function, side by side, with one shared legend.

    Parameters
    ----------
    panels : dict title -> (fn, paths)
        ``paths`` as in ``plot_paths``: dict label -> (T, 2) array. Every panel must use the
        same labels in the same order, so that a colour means one optimizer everywhere.
    markevery : int, or dict title -> int (a marker every this many steps)
    ncol : int, legend entries per row

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(panels, Mapping) or not panels:
        raise ValueError("panels must be a non-empty dict title -> (fn, paths)")
    labels = [list(paths) for _, paths in panels.values()]
    if any(names != labels[0] for names in labels):
        raise ValueError(f"every panel must have the same path labels in the same order, got "
                         f"{labels}")
    fig, axes = style.subplots(1, len(panels), height=2.9, squeeze=False)
    for ax, (title, (fn, paths)) in zip(axes[0], panels.items()):
        every = markevery[title] if isinstance(markevery, Mapping) else markevery
        # a third of the column holds about 24 characters of title: wrap longer ones
        _draw_paths(ax, fn, paths, "\n".join(textwrap.wrap(title, 24)), every)
    for ax in axes[0, 1:]:
        ax.set_ylabel("")
    style.shared_legend(fig, axes[0, 0], ncol=ncol)
    return fig


@style.book_figure
def plot_curves(curves: Mapping[str, np.ndarray], *, x=None, ax=None, xlabel: str = "step",
                ylabel: str = "", title: str = "", logx: bool = False, logy: bool = True,
                styles: Mapping[str, str] | None = None, legend: bool = True):
    """Several curves on one axis, e.g. the loss of each optimizer against the step.

    Parameters
    ----------
    curves : dict label -> (T,) float array (NaN and inf are simply not drawn)
    x : (T,) float array, optional, shared horizontal values (default 0, 1, ..., T-1)
    ax : matplotlib Axes, optional; a new figure of the column's width when None
    xlabel, ylabel, title : str
    logx, logy : bool, logarithmic axes
    styles : dict label -> matplotlib line style ("--", ":"), optional
    legend : bool, draw a legend (with several panels, one ``style.shared_legend`` is tidier)

    Returns
    -------
    matplotlib.figure.Figure
    """
    new_figure = ax is None
    if new_figure:
        _, ax = style.subplots(height=3.4)
    for i, (label, y) in enumerate(curves.items()):
        y = check_array(np.asarray(y, dtype=np.float64), f"curves[{label!r}]", ndim=1,
                        finite=False)
        xs = np.arange(len(y)) if x is None else np.asarray(x, dtype=np.float64)
        if xs.shape != y.shape:
            raise ValueError(f"curves[{label!r}] has shape {y.shape} but x has {xs.shape}")
        y = np.where(np.isfinite(y), y, np.nan)
        ax.plot(xs, y, (styles or {}).get(label, "-"), lw=1.5, color=style.color(i), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    if legend:
        ax.legend()
    if new_figure:
        ax.figure.tight_layout()
    return ax.figure
