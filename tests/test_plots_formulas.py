"""companion.plots.formulas: the curves it computes, what it draws, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion import numerics
from companion.plots import formulas


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_activations_draws_each_curve_above_its_derivative():
    x = np.linspace(-3.0, 3.0, 31)
    fig = formulas.plot_activations(x, negative_slope=0.3)
    axes = np.array(fig.get_axes()).reshape(2, 4)
    curves = numerics.activation_curves(x, 0.3)
    for col, (name, (values, slopes)) in enumerate(curves.items()):
        for row, expected in ((0, values), (1, slopes)):
            line = axes[row, col].lines[0]  # the curve; the axis lines come after it
            np.testing.assert_array_equal(line.get_xdata(), x, err_msg=f"{name} row {row} x")
            np.testing.assert_array_equal(line.get_ydata(), expected,
                                          err_msg=f"{name} row {row} y")
    assert axes[0, 1].get_title() == "leaky ReLU (0.3)", f"title {axes[0, 1].get_title()!r}"
    assert axes[1, 1].get_title() == "leaky ReLU (0.3)'", f"title {axes[1, 1].get_title()!r}"


# --- plot_losses -------------------------------------------------------------------------------
@pytest.mark.parametrize("target", [0.0, 1.0])
def test_losses_panels_show_squared_error_and_cross_entropy(target):
    fig = formulas.plot_losses(target)
    ax_p, ax_z = fig.get_axes()
    squared, cross = ax_p.lines[:2]
    p = squared.get_xdata()
    np.testing.assert_allclose(squared.get_ydata(), (p - target) ** 2, rtol=1e-14,
                               err_msg="squared error against p")
    p_true = p if target == 1.0 else 1.0 - p
    np.testing.assert_allclose(cross.get_ydata(), -np.log(p_true), rtol=1e-14,
                               err_msg="cross-entropy against p")
    squared_z, cross_z = ax_z.lines[:2]
    z = cross_z.get_xdata()
    sign = 1.0 if target == 1.0 else -1.0
    np.testing.assert_allclose(cross_z.get_ydata(), np.logaddexp(0.0, -sign * z), rtol=1e-12,
                               err_msg="cross-entropy against the logit")
    np.testing.assert_allclose(squared_z.get_ydata(), (1 / (1 + np.exp(-z)) - target) ** 2,
                               rtol=1e-12, atol=1e-15, err_msg="squared error against the logit")
    # on the wrong side the cross-entropy keeps slope -sign (it does not saturate)
    wrong = np.argmin(sign * z)
    step = np.gradient(cross_z.get_ydata(), z)[wrong]
    assert abs(step + sign) < 1e-3, f"cross-entropy slope on the wrong side {step}"


# --- plot_loss_surface -------------------------------------------------------------------------
def _surface():
    w = np.linspace(-2.0, 2.0, 21)
    b = np.linspace(-1.0, 1.0, 11)
    losses = 1.0 + (w[None, :] - 0.5) ** 2 + 3.0 * b[:, None] ** 2
    return w, b, losses


def test_loss_surface_draws_contours_paths_ends_and_start():
    w, b, losses = _surface()
    paths = {"sgd": np.array([[1.5, 0.8], [1.0, 0.3], [0.6, 0.0]]),
             "adam": [[1.5, 0.8], [0.5, 0.5]]}
    fig = formulas.plot_loss_surface(w, b, losses, paths=paths, labels=("w1", "w2"))
    axes = fig.get_axes()
    assert len(axes) == 2, f"expected the plot and its colour bar, got {len(axes)} axes"
    ax = axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("w1", "w2"), "axis labels"
    lines = {line.get_label(): line for line in ax.lines}
    for name, path in paths.items():
        np.testing.assert_array_equal(lines[name].get_xydata(), np.asarray(path),
                                      err_msg=f"path {name}")
    ends = [line.get_xydata()[0] for line in ax.lines if line.get_marker() == "*"]
    np.testing.assert_array_equal(ends, [[0.6, 0.0], [0.5, 0.5]], err_msg="end stars")
    np.testing.assert_array_equal(lines["start"].get_xydata(), [[1.5, 0.8]], err_msg="start")
    levels = ax.collections[0].levels
    np.testing.assert_allclose([levels[0], levels[-1]], [losses.min(), losses.max()],
                               rtol=1e-12, err_msg="contour levels span the losses")


def test_loss_surface_with_a_zero_minimum_is_drawn_or_refused_by_name():
    w, b, losses = _surface()
    try:
        formulas.plot_loss_surface(w, b, losses - losses.min())
    except ValueError as err:
        assert "losses" in str(err), f"message {str(err)!r} does not name losses"


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: formulas.plot_losses(0.5), ValueError, "target must be 0 or 1"),
        (lambda: formulas.plot_loss_surface(np.zeros(4), np.zeros(3), np.ones((4, 3))),
         ValueError, "losses must have shape (3, 4)"),
        (lambda: formulas.plot_loss_surface(*_surface(), paths={"a": np.zeros((3, 3))}),
         ValueError, "paths['a'] must have shape (*, 2)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
