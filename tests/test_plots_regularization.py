"""companion.plots.regularization: what each figure draws and computes, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots import regularization as reg
from companion.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(train_acc=(0.6, 0.8, 0.95), val_acc=(0.55, 0.7, 0.72)):
    n = len(train_acc)
    return History(impl="numpy", train_loss=list(np.geomspace(1.0, 0.1, n)),
                   train_acc=list(train_acc), val_loss=list(np.linspace(1.1, 0.6, n)),
                   val_acc=list(val_acc))


# --- plot_overfitting --------------------------------------------------------------------------
def test_overfitting_plots_both_curves_per_epoch_and_the_stop_mark():
    history = _history()
    fig = reg.plot_overfitting(history, stop_epoch=2, title="run")
    ax_loss, ax_acc = fig.get_axes()
    train, val, stop = ax_loss.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3], err_msg="epochs (1-based)")
    np.testing.assert_array_equal(train.get_ydata(), history.train_loss, err_msg="training loss")
    np.testing.assert_array_equal(val.get_ydata(), history.val_loss, err_msg="validation loss")
    assert ax_loss.get_yscale() == "log", "loss axis must be logarithmic"
    np.testing.assert_array_equal(stop.get_xdata(), [2, 2], err_msg="early-stopping mark")
    np.testing.assert_allclose(ax_acc.lines[0].get_ydata(), [60.0, 80.0, 95.0], rtol=1e-14,
                               err_msg="training accuracy in percent")
    np.testing.assert_allclose(ax_acc.lines[1].get_ydata(), [55.0, 70.0, 72.0], rtol=1e-14,
                               err_msg="validation accuracy in percent")
    assert len(ax_acc.collections) == 1, "the generalization gap must be shaded"


# --- plot_weight_histograms --------------------------------------------------------------------
def test_weight_histograms_count_every_weight_in_shared_bins(rng):
    weights = {"none": rng.normal(size=(8, 10)), "L1": np.zeros(20)}
    weights["L1"][:5] = [0.3, -0.2, 5.0, -5.0, 0.1]  # +-5 lie outside limit=1: clipped
    fig = reg.plot_weight_histograms(weights, bins=5, limit=1.0)
    ax = fig.get_axes()[0]
    assert len(ax.patches) == 2, f"expected one outline per run, got {len(ax.patches)}"
    edges = np.linspace(-1.0, 1.0, 6)
    for patch, (label, w) in zip(ax.patches, weights.items()):
        counts, _ = np.histogram(np.clip(w, -1.0, 1.0), bins=edges)
        # a step outline visits (e0, c0), (e1, c0), (e1, c1), ...: counts at odd vertices
        np.testing.assert_array_equal(patch.get_xy()[1:10:2, 1], counts,
                                      err_msg=f"histogram counts of {label}")
        assert counts.sum() == w.size, f"{label}: every weight must be counted"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[1] == "L1 (75% with |w| < 1e-3)", f"legend {labels}"
    assert ax.get_yscale() == "log", "count axis must be logarithmic"


def test_weight_histograms_default_limit_is_the_largest_magnitude():
    fig = reg.plot_weight_histograms({"a": np.array([0.5, -2.0]), "b": np.array([1.0])}, bins=4)
    xy = fig.get_axes()[0].patches[0].get_xy()
    assert (xy[:, 0].min(), xy[:, 0].max()) == (-2.0, 2.0), f"bin range {xy[:, 0].min()}..."


# --- plot_input_weight_maps --------------------------------------------------------------------
def test_input_weight_maps_show_the_mean_magnitude_per_pixel_on_one_scale(rng):
    weights = {"L2": rng.normal(size=(5, 12)), "L1": 3.0 * rng.normal(size=(7, 12))}
    fig = reg.plot_input_weight_maps(weights, image_shape=(3, 4))
    axes = fig.get_axes()
    assert len(axes) == 3, f"expected 2 panels and a colour bar, got {len(axes)} axes"
    top = max(np.abs(w).mean(axis=0).max() for w in weights.values())
    for ax, (label, w) in zip(axes, weights.items()):
        image = ax.images[0]
        expected = np.abs(w).mean(axis=0).reshape(3, 4)  # pixel (i, j) is input i * 4 + j
        np.testing.assert_allclose(image.get_array(), expected, rtol=1e-14,
                                   err_msg=f"weight map of {label}")
        np.testing.assert_allclose(image.get_clim(), (0.0, top), rtol=1e-14,
                                   err_msg=f"colour limits of {label}")
        assert ax.get_title() == label, f"panel title {ax.get_title()!r}"


# --- plot_regularization_comparison ------------------------------------------------------------
def test_comparison_draws_validation_curves_and_accuracy_bars():
    histories = {"none": _history(), "dropout": _history(train_acc=(0.5, 0.7, 0.85))}
    test_acc = {"none": 0.71, "dropout": 0.8}
    fig = reg.plot_regularization_comparison(histories, test_acc)
    ax_curve, ax_bar = fig.get_axes()
    for line, (label, h) in zip(ax_curve.lines, histories.items()):
        assert line.get_label() == label, f"curve label {line.get_label()!r}"
        np.testing.assert_array_equal(line.get_ydata(), h.val_loss, err_msg=f"{label} val loss")
    widths = [bar.get_width() for bar in ax_bar.patches]
    np.testing.assert_allclose(widths, [95.0, 85.0, 71.0, 80.0], rtol=1e-14,
                               err_msg="bars: last training accuracy, then test accuracy (%)")
    assert [t.get_text() for t in ax_bar.get_yticklabels()] == ["none", "dropout"], "bar labels"
    assert [t.get_text() for t in ax_bar.texts] == ["71.0", "80.0"], "test accuracy labels"


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: reg.plot_overfitting(History(impl="numpy")), ValueError, "at least one epoch"),
        (lambda: reg.plot_overfitting(History(impl="numpy", train_loss=[1.0, 0.5],
                                              train_acc=[0.5, 0.6], val_loss=[1.0],
                                              val_acc=[0.5])),
         ValueError, "1 validation values for 2 epochs"),
        (lambda: reg.plot_overfitting(_history(), stop_epoch=4), ValueError, "[1, 3]"),
        (lambda: reg.plot_overfitting(_history(), stop_epoch=0), ValueError, "stop_epoch"),
        (lambda: reg.plot_weight_histograms([np.zeros(3)]), TypeError, "non-empty dict"),
        (lambda: reg.plot_weight_histograms({}), TypeError, "non-empty dict"),
        (lambda: reg.plot_weight_histograms({"a": np.zeros(3)}, bins=1),
         ValueError, "bins must be an int >= 2"),
        (lambda: reg.plot_weight_histograms({"a": np.zeros(3)}, limit=0.0),
         ValueError, "limit must be a number > 0"),
        (lambda: reg.plot_weight_histograms({"a": np.array([np.nan])}), ValueError, "NaN"),
        (lambda: reg.plot_input_weight_maps({"a": np.zeros((3, 10))}, image_shape=(3, 4)),
         ValueError, "weights['a'] must have shape (*, 12)"),
        (lambda: reg.plot_regularization_comparison({"a": _history()}, {"b": 0.5}),
         ValueError, "same labels"),
        (lambda: reg.plot_regularization_comparison({"a": _history()}, {"a": 1.5}),
         ValueError, "test_acc['a'] must be an accuracy in [0, 1]"),
        (lambda: reg.plot_regularization_comparison({"a": History(impl="numpy")}, {"a": 0.5}),
         ValueError, "histories['a'] must be a History"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
