"""Figures of the attention and Transformers chapter (chapter 9).

Each function draws one figure from numbers the chapter measured and returns the
``matplotlib.figure.Figure``; in a notebook, end the cell with ``plt.show()``.

* ``plot_score_scaling(widths, spread, peak)``: the spread of attention scores and the largest
  softmax weight against the key width, with and without the ``1/sqrt(d)`` scaling;
* ``plot_attention_maps(maps, titles)``: attention weights as heat maps, one panel per map
  (axes are positions: the book's fonts need not have the characters);
* ``plot_loss_curves(curves)``: training losses of several runs on one axis, later runs dashed, so
  that identical curves are seen to coincide.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from companion.plots import style

__all__ = ["plot_score_scaling", "plot_attention_maps", "plot_loss_curves"]


@style.book_figure
def plot_score_scaling(widths, spread: Mapping[str, np.ndarray], peak: Mapping[str, np.ndarray]):
    """Left: standard deviation of the scores; right: mean largest softmax weight; both against
    the key width ``d`` (log scale), one line per variant (e.g. "q.k" and "q.k / sqrt(d)")."""
    widths = np.asarray(widths, dtype=float)
    fig, (left, right) = style.subplots(1, 2, height=3.0)
    for i, label in enumerate(spread):
        left.plot(widths, spread[label], "o-", color=style.color(i), label=label)
        right.plot(widths, peak[label], "o-", color=style.color(i), label=label)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("key width d")
        ax.grid(alpha=0.3)
    left.set_yscale("log", base=2)
    left.set_ylabel("std of the scores")
    right.set_ylabel("mean largest weight")
    right.set_ylim(0, 1.05)
    right.legend()
    fig.tight_layout()
    return fig


@style.book_figure
def plot_attention_maps(maps: Sequence[np.ndarray], titles: Sequence[str]):
    """Heat maps of (L, S) attention weights, rows = queries, columns = keys, shared colours."""
    if len(maps) != len(titles) or not maps:
        raise ValueError(f"give as many titles as maps (at least one), got {len(maps)} maps and "
                         f"{len(titles)} titles")
    fig, axes = style.subplots(1, len(maps), height=2.6, squeeze=False, sharey=True)
    vmax = max(float(np.max(m)) for m in maps)
    for ax, weights, title in zip(axes[0], maps, titles):
        image = ax.imshow(weights, vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(title)
        ax.set_xlabel("key position")
    axes[0, 0].set_ylabel("query position")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="weight")
    return fig


@style.book_figure
def plot_loss_curves(curves: Mapping[str, np.ndarray], *, ylabel: str = "training loss"):
    """Per-step losses of several runs; the first solid, the others dashed on top of it."""
    fig, ax = style.subplots(height=3.2)
    for i, (label, values) in enumerate(curves.items()):
        ax.plot(np.arange(1, len(values) + 1), values, color=style.color(i), label=label,
                lw=1.6 if i == 0 else 1.2, ls="-" if i == 0 else "--")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
