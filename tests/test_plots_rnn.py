"""companion.plots.rnn: moving_average, what each figure draws, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots import rnn


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _direct_moving_average(values, window):
    """The reference: the mean of every window, read from a (M - window + 1, window) view."""
    return np.lib.stride_tricks.sliding_window_view(values, window).mean(axis=1)


# --- plot_gradient_norms -----------------------------------------------------------------------
def test_gradient_norms_one_log_line_per_setting_with_dashed_bounds():
    lengths = np.array([5.0, 10.0, 20.0])
    norms = {"tanh": np.array([1e-1, 1e-3, 1e-7]), "relu": np.array([1.0, 2.0, 4.0])}
    bounds = {"tanh": np.array([1.0, 1e-5, 1e-20])}
    fig = rnn.plot_gradient_norms(lengths, norms, bounds, title="norms")
    ax = fig.get_axes()[0]
    assert ax.get_yscale() == "log", "norm axis must be logarithmic"
    tanh, bound, relu = ax.lines
    np.testing.assert_array_equal(tanh.get_xydata(), np.c_[lengths, norms["tanh"]],
                                  err_msg="tanh norms")
    np.testing.assert_array_equal(bound.get_ydata(), bounds["tanh"], err_msg="tanh bound")
    assert bound.get_linestyle() == "--" and bound.get_color() == tanh.get_color(), "bound style"
    np.testing.assert_array_equal(relu.get_ydata(), norms["relu"], err_msg="relu norms")
    # framed on the measured norms (1e-7 .. 4), not on the bound's 1e-20
    np.testing.assert_allclose(ax.get_ylim(), (1e-7 / 30, 4.0 * 30), rtol=1e-12,
                               err_msg="vertical frame")


# --- plot_clipping -----------------------------------------------------------------------------
def test_clipping_draws_norms_and_losses_per_step_and_the_threshold():
    grad_norms = {"clipped": np.array([3.0, 2.0, 1.0]), "raw": np.array([3.0, 50.0, np.inf])}
    losses = {"clipped": np.array([2.0, 1.5, 1.0]), "raw": np.array([2.0, 9.0, np.nan])}
    fig = rnn.plot_clipping(grad_norms, losses, max_norm=1.0)
    ax_g, ax_l = fig.get_axes()
    for ax, data, what in ((ax_g, grad_norms, "gradient norm"), (ax_l, losses, "loss")):
        assert ax.get_yscale() == "log", f"{what} axis must be logarithmic"
        for line, (label, values) in zip(ax.lines, data.items()):
            np.testing.assert_array_equal(line.get_xdata(), [1, 2, 3], err_msg="steps 1-based")
            np.testing.assert_array_equal(line.get_ydata(), values, err_msg=f"{what} of {label}")
    threshold = ax_g.lines[-1]
    np.testing.assert_array_equal(threshold.get_ydata(), [1.0, 1.0], err_msg="max_norm line")
    assert threshold.get_label() == "max_norm = 1", f"threshold label {threshold.get_label()!r}"


# --- plot_step_losses --------------------------------------------------------------------------
def test_step_losses_draws_the_moving_average_at_each_windows_last_step(rng):
    losses = {"a": rng.exponential(size=30), "b": rng.exponential(size=12)}
    fig = rnn.plot_step_losses(losses, {"b": 0.875}, window=5)
    ax = fig.get_axes()[0]
    for line, (label, values) in zip(ax.lines, losses.items()):
        np.testing.assert_allclose(line.get_ydata(), _direct_moving_average(values, 5),
                                   rtol=1e-12, err_msg=f"smoothed losses of {label}")
        np.testing.assert_array_equal(line.get_xdata(), np.arange(5, values.size + 1),
                                      err_msg=f"steps of {label}")
    assert [line.get_label() for line in ax.lines] == ["a", "b (test accuracy 87.5%)"], "labels"
    assert ax.get_ylabel() == "training loss (5-step mean)", f"y label {ax.get_ylabel()!r}"


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: rnn.plot_gradient_norms(np.arange(3.0), {}), ValueError, "at least one line"),
        (lambda: rnn.plot_gradient_norms(np.arange(3.0), {"a": np.ones(2)}),
         ValueError, "norms['a'] must have 3 values"),
        (lambda: rnn.plot_gradient_norms(np.arange(3.0), {"a": np.ones(3)}, {"a": np.ones(4)}),
         ValueError, "bounds['a'] must have 3 values"),
        (lambda: rnn.plot_clipping({"a": np.ones(3)}, {"b": np.ones(3)}),
         ValueError, "must name the same runs"),
        (lambda: rnn.plot_clipping({}, {}), ValueError, "must name the same runs"),
        (lambda: rnn.plot_clipping({"a": np.ones(3)}, {"a": np.ones(2)}),
         ValueError, "losses['a'] must have 3 values"),
        (lambda: rnn.plot_step_losses({}), ValueError, "at least one run"),
        (lambda: rnn.plot_step_losses({"a": np.ones(3)}, window=5),
         ValueError, "window must be an int in [1, 3]"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
