"""Figures of chapter 1, *Concepts*: weight sharing, attention, a training run, predictions.

Every function draws one small figure with ``matplotlib.pyplot`` and returns it; a notebook
cell ends with ``plt.show()`` so that the figure appears once, as a PNG. Inputs are checked
first, and a wrong shape or dtype is reported in words before anything is drawn.
"""

from __future__ import annotations

import numpy as np

from companion._checks import check_array
from companion.plots import style

__all__ = [
    "plot_shift_equivariance",
    "plot_attention_weights",
    "plot_loss_curve",
    "plot_digits",
]




def _images_2d(images: np.ndarray, name: str) -> np.ndarray:
    """``(N, H, W)`` or ``(N, 1, H, W)`` float images -> ``(N, H, W)``."""
    check_array(images, name, ndim=(3, 4))
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(
                f"{name} must have shape (N, H, W) or (N, 1, H, W), got {images.shape}"
            )
        images = images[:, 0]
    return images


def _int_labels(labels, name: str, n: int) -> np.ndarray:
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        got = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise TypeError(f"{name} must be a numpy array of integer labels, got {got}")
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per image, got {labels.shape}")
    return labels


@style.book_figure
def plot_shift_equivariance(image, shifted, feature, shifted_feature, *, shift):
    """An image, the image shifted, and one convolution feature map of each, side by side.

    Parameters
    ----------
    image, shifted : (H, W) float arrays
        The input and the input moved by ``shift`` pixels.
    feature, shifted_feature : (Ho, Wo) float arrays
        The same output channel of the same convolution applied to each.
    shift : (int, int)
        The shift ``(down, right)`` in pixels, for the titles.

    Returns
    -------
    matplotlib.figure.Figure
        Four panels; the two feature maps share one colour scale so that equal values look equal.
    """
    for array, name in ((image, "image"), (shifted, "shifted")):
        check_array(array, name, ndim=2)
    if shifted.shape != image.shape:
        raise ValueError(f"shifted must have the image's shape {image.shape}, got {shifted.shape}")
    for array, name in ((feature, "feature"), (shifted_feature, "shifted_feature")):
        check_array(array, name, ndim=2)
    if shifted_feature.shape != feature.shape:
        raise ValueError(
            f"shifted_feature must have feature's shape {feature.shape}, got "
            f"{shifted_feature.shape}"
        )
    down, right = (int(s) for s in shift)

    fig, axes = style.subplots(1, 4, height=2.3)
    # One scale, symmetric about 0 so that 0 is white, for both feature maps.
    limit = float(max(np.abs(feature).max(), np.abs(shifted_feature).max()))
    panels = (
        (image, "input", "gray_r", None),
        (shifted, f"input moved\n{down} down, {right} right", "gray_r", None),
        (feature, "conv output", "RdBu_r", (-limit, limit)),
        (shifted_feature, "conv output\nof moved input", "RdBu_r", (-limit, limit)),
    )
    for ax, (array, title, cmap, limits) in zip(axes, panels):
        vmin, vmax = limits if limits else (None, None)
        ax.imshow(array, cmap=cmap, vmin=vmin, vmax=vmax)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


@style.book_figure
def plot_attention_weights(weights, *, title="attention weights"):
    """A heat map of an attention matrix, each entry written in its cell.

    Parameters
    ----------
    weights : (T, S) float array
        Row ``t`` holds how much query ``t`` takes from each of the ``S`` keys (rows sum to 1).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(weights, "weights", ndim=2)
    n_queries, n_keys = weights.shape
    fig, ax = style.subplots(width=min(0.6 * n_keys + 1.8, style.WIDTH),
                             height=0.5 * n_queries + 1.2)
    ax.imshow(weights, cmap="Blues", vmin=0.0, vmax=1.0)
    rows, cols = np.indices(weights.shape)
    for r, c, w in zip(rows.ravel(), cols.ravel(), weights.ravel()):  # one label per cell
        ax.text(c, r, f"{w:.2f}", ha="center", va="center", size=style.FONT_SIZES["annotation"],
                color="white" if w > 0.6 else "black")
    ax.set_xticks(range(n_keys))
    ax.set_yticks(range(n_queries))
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.set_title(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_loss_curve(losses, *, marks=None, title="training loss"):
    """The loss of every training step, with optional vertical marks.

    Parameters
    ----------
    losses : (steps,) float array
        One loss per optimizer step (the value computed before that step).
    marks : dict of str to int, optional
        ``label -> step index``: a dashed vertical line at each, e.g. where retraining started.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(losses, "losses", ndim=1)
    if losses.size == 0:
        raise ValueError("losses is empty; there is no curve to draw")
    marks = dict(marks or {})
    for label, step in marks.items():
        is_int = isinstance(step, (int, np.integer)) and not isinstance(step, bool)
        if not is_int or not 0 <= step < losses.size:
            raise ValueError(
                f"mark {label!r} must be a step index in [0, {losses.size - 1}], got {step!r}"
            )
    fig, ax = style.subplots(height=3.0)
    ax.plot(np.arange(losses.size), losses, lw=1.2)
    for label, step in marks.items():
        ax.axvline(step, ls="--", color="gray", lw=1)
        ax.text(step, ax.get_ylim()[1], f" {label}", va="top", color="gray",
                size=style.FONT_SIZES["annotation"])
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_digits(images, labels, predictions, *, ncols=8):
    """A grid of images titled ``predicted/true``; wrong predictions in red.

    Parameters
    ----------
    images : (N, H, W) or (N, 1, H, W) float array
    labels, predictions : (N,) integer arrays
        The true classes and the model's.
    ncols : int
        Images per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    images = _images_2d(images, "images")
    n = images.shape[0]
    if n == 0:
        raise ValueError("images is empty; pass at least one image")
    _int_labels(labels, "labels", n)
    _int_labels(predictions, "predictions", n)
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive int, got {ncols!r}")
    ncols = min(int(ncols), n)
    nrows = -(-n // ncols)
    fig, axes = style.subplots(nrows, ncols, width=min(1.1 * ncols, style.WIDTH),
                               height=1.25 * nrows,
                             squeeze=False)
    for i, ax in enumerate(axes.ravel()):  # one panel per image: a grid of a few dozen at most
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        ax.imshow(images[i], cmap="gray_r")
        right = predictions[i] == labels[i]
        ax.set_title(f"{predictions[i]}/{labels[i]}",
                     color="black" if right else "red")
    fig.tight_layout()
    return fig
