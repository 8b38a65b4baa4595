"""Figures of the outlook chapters (*Applications* and *Where the field goes next*).

A filter's gain is computed by ``companion.numerics.frequency_response``.

Every function draws one small figure with ``matplotlib.pyplot`` and returns it; a notebook cell
ends with ``plt.show()`` so that the figure appears once, as a PNG. Inputs are checked first,
and a wrong shape or dtype is reported in words before anything is drawn.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array
from companion.numerics import frequency_response
from companion.plots import style

__all__ = [
    "plot_filter",
    "plot_parameter_counts",
    "plot_saliency",
    "plot_accuracy_curves",
]





@style.book_figure
def plot_filter(noisy: np.ndarray, clean: np.ndarray, filtered: np.ndarray, kernel: np.ndarray,
                *, title: str = ""):
    """A signal before and after a learned filter (left) and the filter's gain (right).

    Parameters
    ----------
    noisy, clean, filtered : (L,) float arrays
        One signal: the input, the target and the filter's output.
    kernel : (K,) float array
        The filter taps.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(noisy, "noisy", ndim=1)
    length = len(noisy)
    check_array(clean, "clean", shape=(length,))
    check_array(filtered, "filtered", shape=(length,))
    freqs, gain = frequency_response(kernel, max(512, len(kernel)))
    fig, (ax_sig, ax_gain) = style.subplots(1, 2, height=3.0)
    t = np.arange(length)
    ax_sig.plot(t, noisy, color="0.75", lw=0.8, label="noisy input")
    ax_sig.plot(t, clean, color=style.color(0), lw=1.5, label="clean target")
    ax_sig.plot(t, filtered, color=style.color(3), lw=1.2, ls="--", label="filter output")
    ax_sig.set(xlabel="sample", ylabel="value", title="one test signal")
    ax_sig.legend(loc="upper right")
    ax_gain.plot(freqs, gain, color=style.color(3))
    ax_gain.set(xlabel="frequency (cycles per sample)", ylabel="gain |H(f)|",
                title="gain of the learned kernel")
    for ax in (ax_sig, ax_gain):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_parameter_counts(counts: Mapping[str, int], *, highlight=(), title: str = ""):
    """Horizontal bars of parameter counts on a log scale, smallest at the top.

    Parameters
    ----------
    counts : dict {model name: number of parameters}, every count a positive int
    highlight : collection of str
        Names drawn in a second colour (e.g. the book's own models).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(counts, Mapping) or not counts:
        raise TypeError("counts must be a non-empty dict {model name: parameter count}")
    for name, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"counts[{name!r}] must be a positive int, got {n!r}")
    unknown = set(highlight) - set(counts)
    if unknown:
        raise ValueError(f"highlight names {sorted(unknown)} that are not in counts")
    names = sorted(counts, key=counts.get)
    values = [int(counts[n]) for n in names]
    colours = [style.color(1) if n in highlight else style.color(0) for n in names]
    fig, ax = style.subplots(height=0.32 * len(names) + 1.2)
    ax.barh(range(len(names)), values, color=colours)
    ax.set(yticks=range(len(names)), yticklabels=names, xscale="log",
           xlabel="parameters (log scale)", title=title)
    ax.invert_yaxis()
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


@style.book_figure
def plot_saliency(images: np.ndarray, maps: np.ndarray, titles, *, title: str = ""):
    """Images (top row) and a saliency map of each (bottom row).

    Parameters
    ----------
    images : (N, H, W) float array
    maps : (N, H, W) float array
        E.g. the gradient of a class score with respect to each pixel. Each map gets its own
        symmetric colour scale (red: raising the pixel raises the score; blue: lowers it).
    titles : sequence of N str
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(images, "images", ndim=3)
    check_array(maps, "maps", shape=images.shape)
    titles = [str(t) for t in titles]
    n = len(images)
    if n == 0 or len(titles) != n:
        raise ValueError(f"need at least one image and one title per image, got {n} images "
                         f"and {len(titles)} titles")
    fig, axes = style.subplots(2, n, width=min(1.3 * n, style.WIDTH), height=3.0,
                               squeeze=False)
    for k in range(n):
        scale = float(np.abs(maps[k]).max()) or 1.0
        axes[0, k].imshow(images[k], cmap="gray_r")
        axes[0, k].set_title(titles[k])
        axes[1, k].imshow(maps[k], cmap="RdBu_r", vmin=-scale, vmax=scale)
    for ax in axes.ravel():
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_accuracy_curves(x: np.ndarray, curves: Mapping[str, np.ndarray], *, xlabel: str,
                         title: str = ""):
    """Accuracy (in %) against one varied quantity, one line per condition.

    Parameters
    ----------
    x : (M,) float array, the varied quantity (e.g. the perturbation size epsilon)
    curves : dict {label: (M,) float array of accuracies in [0, 1]}
    xlabel : str
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(x, "x", ndim=1)
    if not isinstance(curves, Mapping) or not curves:
        raise TypeError("curves must be a non-empty dict {label: accuracies}")
    for label, acc in curves.items():
        check_array(acc, f"curves[{label!r}]", shape=x.shape)
        if acc.min() < 0 or acc.max() > 1:
            raise ValueError(f"curves[{label!r}] must hold accuracies in [0, 1]")
    fig, ax = style.subplots(height=3.4)
    for label, acc in curves.items():
        ax.plot(x, 100 * acc, "-o", ms=4, label=label)
    ax.set(xlabel=xlabel, ylabel="test accuracy (%)", ylim=(-3, 103), title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
