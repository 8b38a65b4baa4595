"""Figures of the foundation-models chapter: adaptation with few labels, and a shared defect.

Every function draws one small figure and returns it; a notebook cell ends with ``plt.show()``.
Inputs are checked first, and a wrong shape is reported in words before anything is drawn.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array
from companion.plots import style

__all__ = ["plot_reconstructions", "plot_label_efficiency", "plot_shared_defect"]


@style.book_figure
def plot_reconstructions(rows: Mapping[str, np.ndarray], *, title: str = ""):
    """A grid of images: one row per entry of ``rows`` (e.g. original, masked, reconstructed).

    Parameters
    ----------
    rows : {row label: (K, 28, 28) or (K, 1, 28, 28) float array}, the same K for every row
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = {name: np.asarray(a, dtype=np.float64).reshape(len(a), *np.shape(a)[-2:])
              for name, a in rows.items()}
    k = len(next(iter(images.values())))
    for name, a in images.items():
        check_array(a, f"rows[{name!r}]", shape=(k, None, None), finite=False)
    fig, axes = style.subplots(len(images), k, height=0.9 * len(images) + 0.3, squeeze=False)
    for r, (name, a) in enumerate(images.items()):
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(a[c], cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_label_efficiency(n_labels, accuracy: Mapping[str, np.ndarray],
                          trained: Mapping[str, int], *, title: str = ""):
    """Test accuracy against the number of labels, one line per adaptation method.

    Parameters
    ----------
    n_labels : (K,) ints, the numbers of labelled examples (log axis)
    accuracy : {method: (S, K) float array}, the accuracy of S repeats (label draws) at each
        size; the line is their mean, the bar their range
    trained : {method: number of parameters trained}, shown in the legend
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    n_labels = np.asarray(n_labels)
    for method, acc in accuracy.items():
        check_array(np.asarray(acc, dtype=np.float64), f"accuracy[{method!r}]",
                    shape=(None, len(n_labels)))
    fig, ax = style.subplots(height=3.4)
    for i, (method, acc) in enumerate(accuracy.items()):
        acc = np.asarray(acc, dtype=np.float64)
        mean = acc.mean(axis=0)
        spread = np.stack([mean - acc.min(axis=0), acc.max(axis=0) - mean])
        ax.errorbar(n_labels * (1 + 0.04 * (i - 1.5)), mean, yerr=spread, marker="o", capsize=3,
                    color=style.color(i), label=f"{method} ({trained[method]:,} trained)")
    ax.set_xscale("log")
    ax.set_xticks(n_labels, [f"{n:,}" for n in n_labels])
    ax.set(xlabel="labelled training images", ylabel="test accuracy", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_shared_defect(tasks, methods, clean: np.ndarray, poisoned: np.ndarray, *,
                       ylabel: str, title: str = ""):
    """Grouped bars: a rate per (task, method), from a clean and from a poisoned backbone.

    Parameters
    ----------
    tasks : (T,) str, the downstream tasks (one panel each)
    methods : (M,) str, the adaptation methods (bars within a panel)
    clean, poisoned : (T, M) floats in [0, 1]
    ylabel : str
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    shape = (len(tasks), len(methods))
    clean = check_array(np.asarray(clean, dtype=np.float64), "clean", shape=shape)
    poisoned = check_array(np.asarray(poisoned, dtype=np.float64), "poisoned", shape=shape)
    fig, axes = style.subplots(1, len(tasks), height=2.8, sharey=True, squeeze=False)
    x = np.arange(len(methods))
    for t, ax in enumerate(axes[0]):
        ax.bar(x - 0.2, clean[t], 0.4, color=style.color(0), label="clean backbone")
        ax.bar(x + 0.2, poisoned[t], 0.4, color=style.color(3), label="poisoned backbone")
        ax.set_xticks(x, methods)
        ax.set(title=tasks[t], ylim=(0, 1))
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].set_ylabel(ylabel)
    if title:
        fig.suptitle(title)
    style.shared_legend(fig, axes[0], ncol=2)
    return fig
