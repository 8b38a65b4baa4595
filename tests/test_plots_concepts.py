"""companion.plots.concepts: each figure is drawn from valid input, and bad input is refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots import concepts


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_shift_equivariance_draws_four_panels_on_one_symmetric_scale():
    feature = np.linspace(-1.0, 3.0, 26 * 26).reshape(26, 26)
    fig = concepts.plot_shift_equivariance(np.zeros((28, 28)), np.zeros((28, 28)), feature,
                                           -feature, shift=(2, 3))
    axes = fig.get_axes()
    assert len(axes) == 4, f"expected 4 panels, got {len(axes)}"
    limits = [axes[i].images[0].get_clim() for i in (2, 3)]
    assert limits[0] == limits[1] == (-3.0, 3.0), f"feature map colour limits {limits}"


def test_attention_weights_writes_every_cell():
    weights = np.full((3, 4), 0.25)
    fig = concepts.plot_attention_weights(weights)
    texts = [t.get_text() for t in fig.get_axes()[0].texts]
    assert texts == ["0.25"] * 12, f"cell labels {texts}"


def test_loss_curve_plots_every_step_and_marks():
    losses = np.linspace(2.0, 0.1, 50)
    fig = concepts.plot_loss_curve(losses, marks={"feedback": 10})
    ax = fig.get_axes()[0]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), losses, err_msg="loss curve y data")
    assert ax.lines[1].get_xdata()[0] == 10, "mark line position"


def test_digits_colours_wrong_predictions_red():
    images = np.zeros((5, 1, 28, 28), np.float32)
    fig = concepts.plot_digits(images, np.arange(5), np.array([0, 1, 2, 0, 4]), ncols=3)
    titles = [ax.title for ax in fig.get_axes()[:5]]
    colours = [matplotlib.colors.to_hex(t.get_color()) for t in titles]
    assert colours == ["#000000"] * 3 + ["#ff0000", "#000000"], f"title colours {colours}"
    assert titles[3].get_text() == "0/3", f"title of image 3: {titles[3].get_text()!r}"


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: concepts.plot_shift_equivariance(np.zeros((28, 28)), np.zeros((27, 28)),
                                                  np.zeros((26, 26)), np.zeros((26, 26)),
                                                  shift=(1, 1)), ValueError, "image's shape"),
        (lambda: concepts.plot_attention_weights([[0.5, 0.5]]), TypeError, "numpy.ndarray"),
        (lambda: concepts.plot_attention_weights(np.array([[np.nan]])), ValueError, "NaN"),
        (lambda: concepts.plot_loss_curve(np.array([])), ValueError, "empty"),
        (lambda: concepts.plot_loss_curve(np.ones(5), marks={"late": 9}), ValueError, "step index"),
        (lambda: concepts.plot_digits(np.zeros((5, 3, 28, 28)), np.arange(5), np.arange(5)),
         ValueError, "(N, 1, H, W)"),
        (lambda: concepts.plot_digits(np.zeros((5, 28, 28)), np.arange(4), np.arange(5)),
         ValueError, "one label per image"),
        (lambda: concepts.plot_digits(np.zeros((5, 28, 28)), np.arange(5.0), np.arange(5)),
         TypeError, "integer labels"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error, match=None) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
