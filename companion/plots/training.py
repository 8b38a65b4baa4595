"""Figures of the MNIST project (chapter 8): training curves, confusion matrix, mistakes, filters.

Every function draws one small figure with ``matplotlib.pyplot`` and returns it; a notebook cell
ends with ``plt.show()`` so that the figure appears once, as a PNG. Inputs are checked first.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array, check_labels
from companion.numerics import moving_average
from companion.plots import style

__all__ = [
    "plot_digit_grid",
    "plot_class_counts",
    "plot_histories",
    "plot_step_losses",
    "plot_confusion_matrix",
    "plot_misclassified",
    "plot_filters",
]




@style.book_figure
def plot_digit_grid(images: np.ndarray, titles, *, columns: int = 8, title: str = ""):
    """Images in a grid, each with a short title (e.g. its label).

    Parameters
    ----------
    images : (N, 1, H, W) or (N, H, W) float array, N >= 1
    titles : sequence of N str
    columns : int >= 1
    title : str
        A title over the whole grid.

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(images, "images", ndim=(3, 4))
    if images.ndim == 4:
        if images.shape[1] != 1:
            raise ValueError(f"images must be (N, 1, H, W) or (N, H, W), got {images.shape}")
        images = images[:, 0]
    titles = [str(t) for t in titles]
    if len(titles) != len(images) or not titles:
        raise ValueError(f"need one title per image and at least one image, got {len(images)} "
                         f"images and {len(titles)} titles")
    if isinstance(columns, bool) or not isinstance(columns, int) or columns < 1:
        raise ValueError(f"columns must be an int >= 1, got {columns!r}")
    columns = min(columns, len(images))
    rows = -(-len(images) // columns)
    fig, axes = style.subplots(rows, columns, width=min(columns * 0.95, style.WIDTH),
                               height=rows * 1.1 + 0.3,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, text in zip(axes.ravel(), images, titles):
        ax.imshow(image, cmap="gray_r")
        ax.set_title(text)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_class_counts(counts, *, classes=None, title: str = ""):
    """Bars of how many samples each class has, one group of bars per data split.

    Parameters
    ----------
    counts : dict {split name: (C,) integer array}
        E.g. ``{"train": np.bincount(y_train, minlength=10), ...}``.
    classes : sequence of str, optional (default ``0 .. C-1``)
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(counts, Mapping) or not counts:
        raise TypeError("counts must be a non-empty dict {split: counts per class}")
    arrays = {name: np.asarray(c) for name, c in counts.items()}
    sizes = {a.shape for a in arrays.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ValueError(f"every split needs one count per class, got shapes {sorted(sizes)}")
    c = next(iter(sizes))[0]
    classes = [str(i) for i in range(c)] if classes is None else [str(k) for k in classes]
    fig, ax = style.subplots(height=3.0)
    width = 0.8 / len(arrays)
    for i, (name, a) in enumerate(arrays.items()):
        share = 100 * a / a.sum()
        ax.bar(np.arange(c) + (i - (len(arrays) - 1) / 2) * width, share, width,
               label=f"{name} ({a.sum():,})")
    ax.set(xticks=range(c), xticklabels=classes, xlabel="class", ylabel="share of the split (%)",
           title=title)
    # right of the axes: inside, the legend would cover the bars of the last classes
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def _check_histories(histories) -> Mapping:
    if not isinstance(histories, Mapping) or not histories:
        raise TypeError("histories must be a non-empty dict {label: History}, "
                        f"got {type(histories).__name__}")
    for label, h in histories.items():
        if not hasattr(h, "train_loss") or not h.train_loss:
            raise ValueError(f"histories[{label!r}] must be a History with at least one epoch")
    return histories


@style.book_figure
def plot_histories(histories, *, title: str = ""):
    """Loss (left) and accuracy (right) per epoch of several runs on one pair of axes.

    Parameters
    ----------
    histories : dict {label: companion.train.History}
        E.g. ``{"NumPy": h_np, "torch": h_torch}``. Training curves are solid, validation curves
        dashed, one colour per run.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_histories(histories)
    fig, (ax_loss, ax_acc) = style.subplots(1, 2, height=3.2)
    for i, (label, h) in enumerate(histories.items()):
        colour = style.color(i)
        epochs = np.arange(1, h.epochs + 1)
        ax_loss.plot(epochs, h.train_loss, "-o", color=colour, ms=3, label=f"{label} train")
        ax_acc.plot(epochs, 100 * np.asarray(h.train_acc), "-o", color=colour, ms=3,
                    label=f"{label} train")
        if h.val_loss:
            val_epochs = epochs[-len(h.val_loss):]
            ax_loss.plot(val_epochs, h.val_loss, "--s", color=colour, ms=3,
                         label=f"{label} validation")
            ax_acc.plot(val_epochs, 100 * np.asarray(h.val_acc), "--s", color=colour, ms=3,
                        label=f"{label} validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    style.shared_legend(fig, ax_acc, ncol=4)  # below the panels, where it hides no curve
    return fig


@style.book_figure
def plot_step_losses(histories, *, smooth: int = 1, floor: float | None = None,
                     floor_label: str = "", title: str = ""):
    """The loss of every training step of several runs (optionally a moving average).

    Parameters
    ----------
    histories : dict {label: History}
    smooth : int >= 1
        Width of the moving average drawn (1: the raw per-step losses).
    floor : float, optional
        Draw a dashed horizontal line at this loss (e.g. a loss's smallest possible value).
    floor_label : str
        Its legend entry.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_histories(histories)
    if isinstance(smooth, bool) or not isinstance(smooth, int) or smooth < 1:
        raise ValueError(f"smooth must be an int >= 1, got {smooth!r}")
    fig, ax = style.subplots(height=3.4)
    for label, h in histories.items():
        window = smooth if len(h.step_loss) >= smooth else 1  # too short to smooth: raw
        smoothed = moving_average(h.step_loss, window)
        # each mean is drawn at the (1-based) step of the last loss it averages
        ax.plot(np.arange(window, len(h.step_loss) + 1), smoothed, label=label, lw=1)
    if floor is not None:
        ax.axhline(floor, color="black", ls="--", lw=1, label=floor_label or f"{floor:g}")
    ax.set(xlabel="training step", ylabel="training loss", yscale="log", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@style.book_figure
def plot_confusion_matrix(matrix: np.ndarray, *, classes=None, title: str = ""):
    """A confusion matrix as a heat map with the counts written in.

    Parameters
    ----------
    matrix : (C, C) integer array
        ``matrix[i, j]``: samples of true class ``i`` predicted as ``j``
        (``companion.train.confusion_matrix``).
    classes : sequence of str, optional
        Class names (default ``0 .. C-1``).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(matrix, np.ndarray) or matrix.dtype.kind not in "iu":
        raise TypeError("matrix must be a numpy array of integer counts")
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (C, C), got {matrix.shape}")
    c = matrix.shape[0]
    classes = [str(i) for i in range(c)] if classes is None else [str(k) for k in classes]
    if len(classes) != c:
        raise ValueError(f"classes must name the {c} classes, got {len(classes)} names")
    fig, ax = style.subplots(height=4.4, width=5.0)
    # A log colour scale, so that the few errors off the diagonal are visible at all.
    ax.imshow(np.log1p(matrix), cmap="Blues")
    threshold = np.log1p(matrix).max() / 2
    for i in range(c):  # ten rows: writing the counts is not a hot loop
        for j in range(c):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center",
                        size=style.FONT_SIZES["annotation"],
                        color="white" if np.log1p(matrix[i, j]) > threshold else "black")
    ax.set(xticks=range(c), yticks=range(c), xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    return fig


@style.book_figure
def plot_misclassified(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, *,
                       max_images: int = 24, columns: int = 8, title: str = ""):
    """A grid of images the model got wrong, each titled ``true -> predicted``.

    Parameters
    ----------
    images : (N, 1, H, W) or (N, H, W) float array
        All the images (e.g. the test set); only the wrong ones are drawn.
    y_true, y_pred : (N,) integer arrays
    max_images : int
        Draw at most this many (the first ones, in data order).
    columns : int
    title : str

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        No image is wrong (there is nothing to draw).
    """
    check_array(images, "images", ndim=(3, 4))
    classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    check_labels(y_true, "y_true", classes, len(images))
    check_labels(y_pred, "y_pred", classes, len(images))
    wrong = np.flatnonzero(y_true != y_pred)[:max_images]
    if wrong.size == 0:
        raise ValueError("the model got every image right: there are no mistakes to draw")
    titles = [f"{y_true[i]} -> {y_pred[i]}" for i in wrong]
    return plot_digit_grid(images[wrong], titles, columns=columns, title=title)


@style.book_figure
def plot_filters(weight: np.ndarray, *, columns: int = 8, title: str = ""):
    """The filters of a first convolution layer, one small image each.

    Parameters
    ----------
    weight : (O, 1, kH, kW) float array
        E.g. ``model[0].weight.data``. Each filter gets its own symmetric colour scale (red
        positive, blue negative), since only its pattern matters.
    columns : int
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_array(weight, "weight", ndim=4)
    if weight.shape[1] != 1:
        raise ValueError(f"weight must have one input channel (O, 1, kH, kW), got {weight.shape}")
    o = weight.shape[0]
    columns = min(columns, o)
    rows = -(-o // columns)
    fig, axes = style.subplots(rows, columns, width=min(columns * 0.8, style.WIDTH),
                               height=rows * 0.8 + 0.4,
                             squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, ax in enumerate(axes.ravel()[:o]):
        scale = float(np.abs(weight[k, 0]).max()) or 1.0
        ax.imshow(weight[k, 0], cmap="RdBu_r", vmin=-scale, vmax=scale)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
