"""Figures of chapter 7, *Regularization*: overfitting curves, weight histograms, weight maps,
and the comparison of the methods.

Every function draws one small figure with ``matplotlib.pyplot`` and returns it; a notebook cell
ends with ``plt.show()`` so that the figure appears once, as a PNG. Inputs are checked first.

* ``plot_overfitting``: training and validation loss and accuracy of one run, the gap between
  them shaded, and the early-stopping epoch marked;
* ``plot_weight_histograms``: the distribution of a layer's weights under several penalties;
* ``plot_input_weight_maps``: how much weight each input pixel receives, as an image;
* ``plot_regularization_comparison``: validation-loss curves of several runs beside a bar chart of
  their training and test accuracy.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from companion._checks import check_array
from companion.plots import style

__all__ = [
    "plot_overfitting",
    "plot_weight_histograms",
    "plot_input_weight_maps",
    "plot_regularization_comparison",
]




def _check_history(history, name: str, *, validation: bool = True):
    """A ``companion.train.History`` (or look-alike) with at least one epoch of each curve."""
    for attr in ("train_loss", "train_acc") + (("val_loss", "val_acc") if validation else ()):
        values = getattr(history, attr, None)
        if values is None or len(values) == 0:
            raise ValueError(f"{name} must be a History with at least one epoch of {attr}, "
                             f"got {type(history).__name__} without it")
    if validation and len(history.val_loss) != len(history.train_loss):
        raise ValueError(f"{name} must have a validation value for every epoch (fit with "
                         f"eval_every_epoch=True); got {len(history.val_loss)} validation values "
                         f"for {len(history.train_loss)} epochs")
    return history


def _check_mapping(value, name: str) -> Mapping:
    if not isinstance(value, Mapping) or not value:
        raise TypeError(f"{name} must be a non-empty dict, got {type(value).__name__}")
    return value


@style.book_figure
def plot_overfitting(history, *, stop_epoch: int | None = None, title: str = ""):
    """Loss (left, log scale) and accuracy (right) per epoch, training against validation.

    Parameters
    ----------
    history : companion.train.History
        With training and validation values for every epoch.
    stop_epoch : int, optional
        An epoch (1-based) to mark with a vertical line, e.g. the one early stopping keeps.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_history(history, "history")
    epochs = np.arange(1, len(history.train_loss) + 1)
    if stop_epoch is not None and not (isinstance(stop_epoch, (int, np.integer))
                                       and 1 <= stop_epoch <= len(epochs)):
        raise ValueError(f"stop_epoch must be an epoch number in [1, {len(epochs)}], "
                         f"got {stop_epoch!r}")
    fig, (ax_loss, ax_acc) = style.subplots(1, 2, height=3.2)
    train_acc, val_acc = 100 * np.asarray(history.train_acc), 100 * np.asarray(history.val_acc)
    ax_loss.plot(epochs, history.train_loss, "-", color=style.color(0), label="training")
    ax_loss.plot(epochs, history.val_loss, "-", color=style.color(1), label="validation")
    ax_acc.plot(epochs, train_acc, "-", color=style.color(0), label="training")
    ax_acc.plot(epochs, val_acc, "-", color=style.color(1), label="validation")
    ax_acc.fill_between(epochs, val_acc, train_acc, where=train_acc >= val_acc,
                        color=style.color(1), alpha=0.15, label="generalization gap")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        if stop_epoch is not None:
            ax.axvline(stop_epoch, color="k", ls=":", lw=1,
                       label=f"best validation loss (epoch {stop_epoch})")
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    style.shared_legend(fig, ax_acc, ncol=4)  # below the panels, where it hides no curve
    return fig


@style.book_figure
def plot_weight_histograms(weights, *, bins: int = 81, limit: float | None = None,
                           title: str = ""):
    """Histograms of weight values, one outline per run, on a log count axis.

    Parameters
    ----------
    weights : dict {label: float array of any shape}
        E.g. ``{"no penalty": w0, "L2": w2, "L1": w1}`` with the first layer's weights.
    bins : int >= 2
        Number of bins, shared by all histograms (an odd number puts one bin around 0).
    limit : float > 0, optional
        The histogram covers ``[-limit, limit]`` (default: the largest magnitude present).
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_mapping(weights, "weights")
    arrays = {label: check_array(w, f"weights[{label!r}]").ravel().astype(np.float64)
              for label, w in weights.items()}
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins must be an int >= 2, got {bins!r}")
    if limit is None:
        limit = max(float(np.max(np.abs(a), initial=0.0)) for a in arrays.values()) or 1.0
    elif not (isinstance(limit, (int, float)) and limit > 0):
        raise ValueError(f"limit must be a number > 0, got {limit!r}")
    edges = np.linspace(-limit, limit, int(bins) + 1)
    fig, ax = style.subplots(height=3.2)
    for label, a in arrays.items():
        near_zero = 100 * np.mean(np.abs(a) < 1e-3)
        ax.hist(np.clip(a, -limit, limit), bins=edges, histtype="step", lw=1.3,
                label=f"{label} ({near_zero:.0f}% with |w| < 1e-3)")
    ax.set(xlabel="weight value", ylabel="count", yscale="log", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


@style.book_figure
def plot_input_weight_maps(weights, *, image_shape=(28, 28), title: str = ""):
    """For each run, the mean magnitude of the first layer's weights leaving each input pixel.

    Parameters
    ----------
    weights : dict {label: (H, D) float array}
        First-layer weights in torch's layout ``(out_features, in_features)``, with
        ``D = image_shape[0] * image_shape[1]``.
    image_shape : (int, int)
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One panel per run; pixel ``(i, j)`` shows ``mean_h |W[h, i * width + j]|``, all panels on
        one colour scale.
    """
    _check_mapping(weights, "weights")
    rows, cols = image_shape
    maps = {}
    for label, w in weights.items():
        check_array(w, f"weights[{label!r}]", shape=(None, rows * cols))
        maps[label] = np.abs(w).mean(axis=0).reshape(rows, cols)
    top = max(float(m.max()) for m in maps.values()) or 1.0
    fig, axes = style.subplots(1, len(maps), width=min(2.4 * len(maps) + 0.8, style.WIDTH),
                               height=2.6, squeeze=False)
    for ax, (label, m) in zip(axes[0], maps.items()):
        image = ax.imshow(m, cmap="viridis", vmin=0, vmax=top)
        ax.set_title(label)
        ax.axis("off")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.85, label="mean |weight|")
    if title:
        fig.suptitle(title)
    return fig


@style.book_figure
def plot_regularization_comparison(histories, test_acc, *, title: str = ""):
    """Validation loss per epoch of several runs (left); training and test accuracy (right).

    Parameters
    ----------
    histories : dict {label: companion.train.History}
        Runs with validation values for every epoch.
    test_acc : dict {label: float in [0, 1]}
        The test accuracy of each run's final model, for the same labels.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_mapping(histories, "histories")
    _check_mapping(test_acc, "test_acc")
    if list(histories) != list(test_acc):
        raise ValueError(f"histories and test_acc must have the same labels in the same order, "
                         f"got {list(histories)} and {list(test_acc)}")
    for label, h in histories.items():
        _check_history(h, f"histories[{label!r}]")
        acc = test_acc[label]
        if isinstance(acc, bool) or not isinstance(acc, (int, float)) or not 0 <= acc <= 1:
            raise ValueError(f"test_acc[{label!r}] must be an accuracy in [0, 1], got {acc!r}")
    fig, (ax_curve, ax_bar) = style.subplots(1, 2, height=3.6,
                                             gridspec_kw={"width_ratios": [1.1, 1]})
    for i, (label, h) in enumerate(histories.items()):
        ax_curve.plot(np.arange(1, len(h.val_loss) + 1), h.val_loss, color=style.color(i),
                      lw=1.2, label=label)
    ax_curve.set(xlabel="epoch", ylabel="validation cross-entropy", yscale="log",
                 title="validation loss")
    ax_curve.grid(alpha=0.3)
    labels = list(histories)
    y = np.arange(len(labels))
    train = [100 * histories[k].train_acc[-1] for k in labels]
    test = [100 * test_acc[k] for k in labels]
    ax_bar.barh(y + 0.2, train, height=0.4, color="0.75", label="training (last epoch)")
    ax_bar.barh(y - 0.2, test, height=0.4, color=style.color(1), label="test")
    for yi, value in zip(y, test):
        ax_bar.text(value + 0.3, yi - 0.2, f"{value:.1f}", va="center",
                    size=style.FONT_SIZES["annotation"])
    low = 5 * np.floor(min(train + test) / 5) - 5
    ax_bar.set(yticks=y, yticklabels=labels, xlim=(low, 101), xlabel="accuracy (%)",
               title="accuracy after training")
    ax_bar.invert_yaxis()
    ax_bar.grid(alpha=0.3, axis="x")
    if title:
        fig.suptitle(title)
    style.shared_legend(fig, (ax_curve, ax_bar), ncol=4)  # the runs' colours, then the bars
    return fig
