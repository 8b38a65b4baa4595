"""companion.plots.formulas: the curves it computes, what it draws, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.plots import formulas


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# Points away from 0, where ReLU and leaky ReLU have their kink.
X = np.concatenate([np.linspace(-4.0, -0.1, 20), np.linspace(0.1, 4.0, 20)])


# --- activation_curves ------------------------------------------------------------------------
def test_activation_values_match_their_formulas():
    curves = formulas.activation_curves(X, negative_slope=0.2)
    assert list(curves) == ["ReLU", "leaky ReLU", "sigmoid", "tanh"], f"names {list(curves)}"
    expected = {
        "ReLU": np.maximum(X, 0.0),
        "leaky ReLU": np.where(X > 0, X, 0.2 * X),
        "sigmoid": 1.0 / (1.0 + np.exp(-X)),
        "tanh": np.tanh(X),
    }
    for name, values in expected.items():
        np.testing.assert_allclose(curves[name][0], values, rtol=1e-14, atol=1e-15,
                                   err_msg=f"{name} values")


def test_activation_derivatives_match_finite_differences():
    h = 1e-6
    plus = formulas.activation_curves(X + h, negative_slope=0.2)
    minus = formulas.activation_curves(X - h, negative_slope=0.2)
    for name, (_, slopes) in formulas.activation_curves(X, negative_slope=0.2).items():
        numeric = (plus[name][0] - minus[name][0]) / (2 * h)
        # central differences with h = 1e-6 in float64: truncation ~h^2, rounding ~1e-16/h
        np.testing.assert_allclose(slopes, numeric, rtol=1e-8, atol=1e-9,
                                   err_msg=f"{name} derivative vs finite differences")


def test_activation_curves_keep_float32():
    curves = formulas.activation_curves(X.astype(np.float32))
    for name, (values, slopes) in curves.items():
        assert values.dtype == slopes.dtype == np.float32, (
            f"{name}: values {values.dtype}, derivatives {slopes.dtype}, expected float32")


def test_plot_activations_draws_each_curve_above_its_derivative():
    x = np.linspace(-3.0, 3.0, 31)
    fig = formulas.plot_activations(x, negative_slope=0.3)
    axes = np.array(fig.get_axes()).reshape(2, 4)
    curves = formulas.activation_curves(x, 0.3)
    for col, (name, (values, slopes)) in enumerate(curves.items()):
        for row, expected in ((0, values), (1, slopes)):
            line = axes[row, col].lines[0]  # the curve; the axis lines come after it
            np.testing.assert_array_equal(line.get_xdata(), x, err_msg=f"{name} row {row} x")
            np.testing.assert_array_equal(line.get_ydata(), expected,
                                          err_msg=f"{name} row {row} y")
    assert axes[0, 1].get_title() == "leaky ReLU (0.3)", f"title {axes[0, 1].get_title()!r}"
    assert axes[1, 1].get_title() == "leaky ReLU (0.3)'", f"title {axes[1, 1].get_title()!r}"


# --- log_sigmoid ------------------------------------------------------------------------------
def test_log_sigmoid_equals_the_direct_formula_and_never_overflows():
    z = np.linspace(-30.0, 30.0, 60).reshape(3, 20)  # any shape: a 2-D one here
    # -log1p(exp(-z)) is accurate on [-30, 30]; log_sigmoid goes through log-sum-exp, which
    # is accurate in absolute terms (~1e-16) but not relatively for values near 0 (z >> 0)
    np.testing.assert_allclose(formulas.log_sigmoid(z), -np.log1p(np.exp(-z)), rtol=1e-13,
                               atol=1e-15, err_msg="log_sigmoid on [-30, 30]")
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no log(0)
        extreme = formulas.log_sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(extreme, [-1000.0, 0.0], rtol=1e-15, atol=0,
                               err_msg="log_sigmoid at +-1000")


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
        (lambda: formulas.activation_curves(np.zeros((2, 2))), ValueError, "x must have 1"),
        (lambda: formulas.activation_curves([0.0, 1.0]), TypeError, "numpy.ndarray"),
        (lambda: formulas.activation_curves(np.array([np.nan])), ValueError, "NaN"),
        (lambda: formulas.log_sigmoid(np.arange(3)), TypeError, "z must be float32 or float64"),
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
