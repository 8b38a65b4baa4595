"""companion.plots.training: what the MNIST chapter's figures draw, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion import numerics
from companion.plots import training
from companion.train import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _history(step_loss):
    return History(impl="numpy", train_loss=[1.0], train_acc=[0.5], step_loss=list(step_loss))


def test_class_count_bars_are_the_shares_and_the_legend_covers_none(rng):
    counts = {"train": rng.integers(900, 1100, 10), "test": rng.integers(90, 110, 10)}
    fig = training.plot_class_counts(counts, title="digit frequencies")
    ax = fig.axes[0]
    bars = ax.patches
    assert len(bars) == 20, f"{len(bars)} bars for 2 splits of 10 classes"
    heights = np.array([bar.get_height() for bar in bars]).reshape(2, 10)
    for row, (name, c) in zip(heights, counts.items()):
        np.testing.assert_allclose(row, 100 * c / c.sum(), rtol=1e-12, err_msg=f"{name} shares")
    assert ax.get_xlabel() == "class" and ax.get_ylabel() == "share of the split (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"train ({counts['train'].sum():,})", f"test ({counts['test'].sum():,})"]
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    covered = [i for i, bar in enumerate(bars) if legend.overlaps(bar.get_window_extent())]
    assert not covered, f"the legend {legend} covers bars {covered}"


def test_step_losses_draw_the_moving_average_at_the_steps_it_ends_on():
    losses = np.geomspace(2.0, 0.1, 60)
    fig = training.plot_step_losses({"run": _history(losses)}, smooth=10, floor=0.05,
                                    floor_label="floor")
    line = fig.axes[0].lines[0]
    np.testing.assert_allclose(line.get_ydata(), numerics.moving_average(losses, 10), rtol=1e-12,
                               err_msg="smoothed losses")
    np.testing.assert_array_equal(line.get_xdata(), np.arange(10, 61),
                                  err_msg="step of each window's last loss")
    floor = fig.axes[0].lines[1]
    np.testing.assert_array_equal(floor.get_ydata(), [0.05, 0.05], err_msg="floor line")
    assert fig.axes[0].get_yscale() == "log"


def test_step_losses_without_smoothing_draw_every_loss_from_step_1():
    losses = np.array([3.0, 2.0, 1.5])
    line = training.plot_step_losses({"run": _history(losses)}).axes[0].lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(line.get_ydata(), losses)


def test_confusion_matrix_writes_every_nonzero_count_in_its_cell():
    matrix = np.array([[5, 0, 1], [0, 7, 0], [2, 0, 9]])
    ax = training.plot_confusion_matrix(matrix).axes[0]
    written = {(int(round(t.get_position()[1])), int(round(t.get_position()[0]))): int(t.get_text())
               for t in ax.texts}
    expected = {(i, j): int(matrix[i, j]) for i, j in zip(*np.nonzero(matrix))}
    assert written == expected, f"counts written {written}"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")


def test_misclassified_shows_only_the_wrong_images_titled_true_arrow_predicted(rng):
    images = rng.uniform(size=(6, 1, 8, 8))
    y_true = np.array([0, 1, 2, 3, 4, 5])
    y_pred = np.array([0, 7, 2, 3, 1, 5])
    fig = training.plot_misclassified(images, y_true, y_pred)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["1 -> 7", "4 -> 1"], titles


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: training.plot_class_counts({}), TypeError, "non-empty dict"),
        (lambda: training.plot_class_counts({"a": np.ones(3), "b": np.ones(4)}), ValueError,
         "one count per class"),
        (lambda: training.plot_step_losses({"a": _history([1.0])}, smooth=0), ValueError,
         "smooth must be an int >= 1"),
        (lambda: training.plot_confusion_matrix(np.ones((2, 3), dtype=int)), ValueError,
         "must be square"),
        (lambda: training.plot_misclassified(np.zeros((2, 4, 4)), np.array([1, 2]),
                                             np.array([1, 2])), ValueError, "no mistakes"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=words):
        call()
