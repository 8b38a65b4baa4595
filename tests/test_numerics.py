"""companion.numerics: test functions, optimizer paths, smoothing, filters, grids, activations.

Values at known points (each test function's minimum, a filter's gain at frequency 0), gradients
against finite differences, and bad input refused with a clear message.
"""

import numpy as np
import pytest

from companion import numerics
from companion.numpy_impl.optim import SGD, Adam

# --- test functions of two variables -------------------------------------------------------
FUNCTIONS = {
    "quadratic": numerics.quadratic(condition=10.0, angle=0.7),
    "rosenbrock": numerics.rosenbrock(a=1.5, b=20.0),
    "beale": numerics.beale(),
}
POINTS = np.array([[0.3, -0.4], [1.2, 0.7], [-0.8, 1.9]])


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_gradient_matches_finite_differences(name):
    fn, h = FUNCTIONS[name], 1e-6
    steps = h * np.eye(2)  # (2, 2): one row per coordinate
    for point in POINTS:  # three points, each checked in both coordinates at once
        numeric = (fn.value(point + steps) - fn.value(point - steps)) / (2 * h)
        # central differences, h = 1e-6: truncation ~h^2 * f''', rounding ~1e-16 * |f| / h
        np.testing.assert_allclose(fn.grad(point), numeric, rtol=1e-7, atol=1e-6,
                                   err_msg=f"{name} gradient at {point}")


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_minimum_has_zero_gradient_and_zero_value(name):
    fn = FUNCTIONS[name]
    np.testing.assert_allclose(fn.grad(fn.minimum), 0.0, atol=1e-12,
                               err_msg=f"{name} gradient at its minimum")
    np.testing.assert_allclose(fn.value(fn.minimum), 0.0, atol=1e-12,
                               err_msg=f"{name} value at its minimum")
    gap = fn.gap(POINTS)
    np.testing.assert_allclose(gap, fn.value(POINTS) - fn.value(fn.minimum), rtol=1e-15,
                               err_msg=f"{name} gap")
    assert np.all(gap > 0), f"{name}: points away from the minimum must lie above it, gap {gap}"


def test_minima_are_where_the_docstrings_say():
    np.testing.assert_array_equal(FUNCTIONS["rosenbrock"].minimum, [1.5, 2.25],
                                  err_msg="Rosenbrock minimum (a, a^2)")
    np.testing.assert_array_equal(FUNCTIONS["beale"].minimum, [3.0, 0.5], err_msg="Beale minimum")


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_value_is_vectorized_over_leading_axes(name, rng):
    fn = FUNCTIONS[name]
    grid = rng.uniform(-1.0, 1.0, size=(4, 5, 2))
    values = fn.value(grid)
    assert values.shape == (4, 5), f"{name} value of a (4, 5, 2) grid has shape {values.shape}"
    flat = np.array([fn.value(p) for p in grid.reshape(-1, 2)])  # reference: point by point
    np.testing.assert_allclose(values.ravel(), flat, rtol=1e-14, err_msg=f"{name} grid values")


def test_rosenbrock_is_zero_with_zero_gradient_at_1_1_and_matches_hand_values():
    fn = numerics.rosenbrock()
    np.testing.assert_array_equal(fn.minimum, [1.0, 1.0])
    assert fn.value(np.array([1.0, 1.0])) == 0.0
    np.testing.assert_array_equal(fn.grad(np.array([1.0, 1.0])), [0.0, 0.0])
    # f(0, 0) = (1 - 0)^2 + 100 (0 - 0)^2 = 1, grad (-2, 0); f(-1, 1) = 4, grad (-4, 0)
    assert fn.value(np.array([0.0, 0.0])) == 1.0 and fn.value(np.array([-1.0, 1.0])) == 4.0
    np.testing.assert_array_equal(fn.grad(np.array([0.0, 0.0])), [-2.0, 0.0])
    np.testing.assert_array_equal(fn.grad(np.array([-1.0, 1.0])), [-4.0, 0.0])
    # (x, y) = (0, 1): 1 + 100 = 101; d/dx = -2 - 400 * 0 * 1 = -2, d/dy = 200 * 1 = 200
    np.testing.assert_array_equal(fn.grad(np.array([0.0, 1.0])), [-2.0, 200.0])


def test_beale_matches_its_formula_at_the_origin():
    fn = numerics.beale()
    # at (0, 0) every residual is its constant: f = 1.5^2 + 2.25^2 + 2.625^2
    assert fn.value(np.array([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2, rel=1e-15)
    # d/dx = 2 sum_k c_k (y^k - 1) = -2 (1.5 + 2.25 + 2.625) at y = 0; d/dy = 0 at x = 0
    np.testing.assert_allclose(fn.grad(np.array([0.0, 0.0])), [-2 * 6.375, 0.0], rtol=1e-15)


def test_quadratic_value_is_half_p_h_p():
    fn = numerics.quadratic(condition=4.0)  # angle 0: H = diag(1, 4)
    assert fn.value(np.array([2.0, 1.0])) == 0.5 * (4.0 + 4.0)
    np.testing.assert_array_equal(fn.grad(np.array([2.0, 1.0])), [2.0, 4.0])


def test_quadratic_hessian_has_eigenvalues_1_and_condition_along_the_rotated_axes():
    angle = 0.7
    fn = numerics.quadratic(condition=10.0, angle=angle)
    hessian = np.stack([fn.grad(e) for e in np.eye(2)], axis=1)  # the gradient is H p
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-np.sin(angle), np.cos(angle)])
    np.testing.assert_allclose(hessian @ u, u, rtol=1e-14, err_msg="H u (eigenvalue 1)")
    np.testing.assert_allclose(hessian @ v, 10.0 * v, rtol=1e-14,
                               err_msg="H v (eigenvalue condition)")


# --- trajectory --------------------------------------------------------------------------------
def test_trajectory_of_sgd_on_a_round_bowl_shrinks_geometrically():
    start = [2.0, -1.0]
    path = numerics.trajectory(lambda params: SGD(params, lr=0.25), numerics.quadratic(1.0),
                               start, 5)
    assert path.shape == (6, 2) and path.dtype == np.float64, f"path {path.shape} {path.dtype}"
    expected = 0.75 ** np.arange(6)[:, None] * np.array(start)  # p_t = (1 - lr)^t p_0
    np.testing.assert_allclose(path, expected, rtol=1e-14, err_msg="SGD path on f = |p|^2 / 2")
    assert start == [2.0, -1.0], "trajectory must not change the caller's start"


def test_trajectory_gives_nan_rows_after_divergence():
    path = numerics.trajectory(lambda params: SGD(params, lr=1e200), numerics.quadratic(1.0),
                          [1.0, 1.0], 5)
    # step 1: p = (1 - 1e200) p is still finite; step 2 overflows
    assert np.all(np.isfinite(path[:2])), f"rows before the divergence {path[:2]}"
    assert np.all(np.isnan(path[2:])), f"rows from the divergence on must be NaN, got {path[2:]}"


def test_trajectory_adam_approaches_the_rosenbrock_minimum():
    fn = numerics.rosenbrock()
    path = numerics.trajectory(lambda params: Adam(params, lr=0.02), fn, (-1.5, 2.0), 2000)
    assert fn.gap(path[-1]) < 1e-3 < fn.gap(path[0]), (
        f"Adam: gap {fn.gap(path[0]):.3g} at the start, {fn.gap(path[-1]):.3g} at the end")


def test_trajectory_with_zero_steps_is_the_start():
    path = numerics.trajectory(lambda params: SGD(params, lr=0.1), numerics.beale(), (1.0, 1.0), 0)
    np.testing.assert_array_equal(path, [[1.0, 1.0]], err_msg="zero-step path")

# --- decision_grid --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_decision_grid_covers_the_data_with_the_margin_and_keeps_dtype(dtype, rng):
    x = rng.normal(size=(40, 2)).astype(dtype) * np.array([3.0, 1.0], dtype)
    xx, yy, points = numerics.decision_grid(x, resolution=7, margin=0.5)
    for name, array in (("xx", xx), ("yy", yy), ("points", points)):
        assert array.dtype == dtype, f"{name} dtype {array.dtype}, expected {np.dtype(dtype)}"
    assert xx.shape == yy.shape == (7, 7), f"grid shapes {xx.shape}, {yy.shape}"
    low, high = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
    pad = 0.5 * (high - low).max()
    tol = 1e-5 if dtype == np.float32 else 1e-12  # float32 rounding of the end points
    np.testing.assert_allclose([xx.min(), yy.min()], low - pad, rtol=tol, atol=tol,
                               err_msg="grid's lower corner")
    np.testing.assert_allclose([xx.max(), yy.max()], high + pad, rtol=tol, atol=tol,
                               err_msg="grid's upper corner")


def test_decision_grid_points_are_the_grid_in_row_major_order(rng):
    x = rng.normal(size=(10, 2))
    xx, yy, points = numerics.decision_grid(x, resolution=5, margin=0.0)
    assert points.shape == (25, 2), f"points shape {points.shape}"
    np.testing.assert_array_equal(points[:, 0].reshape(5, 5), xx, err_msg="points x vs xx")
    np.testing.assert_array_equal(points[:, 1].reshape(5, 5), yy, err_msg="points y vs yy")
    assert np.all(np.diff(xx, axis=1) > 0), "xx must increase along the columns (meshgrid)"
    assert np.all(np.diff(yy, axis=0) > 0), "yy must increase along the rows (meshgrid)"

# --- activation_curves ------------------------------------------------------------------------
# Points away from 0, where ReLU and leaky ReLU have their kink.
X = np.concatenate([np.linspace(-4.0, -0.1, 20), np.linspace(0.1, 4.0, 20)])


def test_activation_values_match_their_formulas():
    curves = numerics.activation_curves(X, negative_slope=0.2)
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
    plus = numerics.activation_curves(X + h, negative_slope=0.2)
    minus = numerics.activation_curves(X - h, negative_slope=0.2)
    for name, (_, slopes) in numerics.activation_curves(X, negative_slope=0.2).items():
        numeric = (plus[name][0] - minus[name][0]) / (2 * h)
        # central differences with h = 1e-6 in float64: truncation ~h^2, rounding ~1e-16/h
        np.testing.assert_allclose(slopes, numeric, rtol=1e-8, atol=1e-9,
                                   err_msg=f"{name} derivative vs finite differences")


def test_activation_curves_keep_float32():
    curves = numerics.activation_curves(X.astype(np.float32))
    for name, (values, slopes) in curves.items():
        assert values.dtype == slopes.dtype == np.float32, (
            f"{name}: values {values.dtype}, derivatives {slopes.dtype}, expected float32")

# --- log_sigmoid ------------------------------------------------------------------------------
def test_log_sigmoid_equals_the_direct_formula_and_never_overflows():
    z = np.linspace(-30.0, 30.0, 60).reshape(3, 20)  # any shape: a 2-D one here
    # -log1p(exp(-z)) is accurate on [-30, 30]; log_sigmoid goes through log-sum-exp, which
    # is accurate in absolute terms (~1e-16) but not relatively for values near 0 (z >> 0)
    np.testing.assert_allclose(numerics.log_sigmoid(z), -np.log1p(np.exp(-z)), rtol=1e-13,
                               atol=1e-15, err_msg="log_sigmoid on [-30, 30]")
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no log(0)
        extreme = numerics.log_sigmoid(np.array([-1000.0, 1000.0]))
    np.testing.assert_allclose(extreme, [-1000.0, 0.0], rtol=1e-15, atol=0,
                               err_msg="log_sigmoid at +-1000")

# --- moving_average ----------------------------------------------------------------------------
def _direct_moving_average(values, window):
    """The reference: the mean of every window, read from a (M - window + 1, window) view."""
    return np.lib.stride_tricks.sliding_window_view(values, window).mean(axis=1)


@pytest.mark.parametrize("window", [1, 3, 7, 50])
def test_moving_average_equals_the_mean_of_each_window(window, rng):
    values = rng.exponential(size=50)
    smooth = numerics.moving_average(values, window)
    assert smooth.shape == (51 - window,), f"shape {smooth.shape} for window {window}"
    np.testing.assert_allclose(smooth, _direct_moving_average(values, window), rtol=1e-12,
                               err_msg=f"moving average, window {window}")


def test_moving_average_accepts_a_list_and_returns_float64():
    smooth = numerics.moving_average([1, 2, 3, 4], 2)
    assert smooth.dtype == np.float64, f"dtype {smooth.dtype}"
    np.testing.assert_array_equal(smooth, [1.5, 2.5, 3.5], err_msg="moving average of a list")


def test_moving_average_windows_after_a_spike_are_unaffected():
    values = np.ones(40)
    values[10] = 1e20  # one exploding step of a run without clipping, which then recovers
    smooth = numerics.moving_average(values, 5)
    np.testing.assert_array_equal(smooth[11:], 1.0, err_msg="windows that exclude the spike")


# --- frequency_response ------------------------------------------------------------------------
def test_frequency_response_of_a_moving_average_kernel():
    freqs, gain = numerics.frequency_response(np.ones(4) / 4, n_fft=8)
    np.testing.assert_allclose(freqs, np.arange(5) / 8, rtol=0, atol=0, err_msg="frequencies")
    # |H(f)| = |sin(4 pi f) / (4 sin(pi f))|: 1 at f = 0, 0 at f = 1/4 and 1/2
    expected = np.abs(np.sin(4 * np.pi * freqs[1:]) / (4 * np.sin(np.pi * freqs[1:])))
    np.testing.assert_allclose(gain, np.concatenate([[1.0], expected]), rtol=1e-14, atol=1e-15,
                               err_msg="gain of the 4-tap average")


def test_frequency_response_of_a_difference_kernel_blocks_dc_and_passes_nyquist():
    freqs, gain = numerics.frequency_response(np.array([1.0, -1.0]), n_fft=64)
    assert freqs[0] == 0.0 and freqs[-1] == 0.5
    np.testing.assert_allclose(gain[[0, -1]], [0.0, 2.0], atol=1e-15, err_msg="gain at 0 and 0.5")
    np.testing.assert_allclose(gain, 2 * np.abs(np.sin(np.pi * freqs)), atol=1e-14,
                               err_msg="|1 - e^{-2 pi i f}| = 2 |sin(pi f)|")


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: numerics.quadratic(condition=0.5), ValueError, "condition must be >= 1"),
        (lambda: numerics.quadratic(condition=float("nan")), ValueError, "condition must be >= 1"),
        (lambda: numerics.rosenbrock().grad(np.zeros(3)), ValueError, "point must have shape"),
        (lambda: numerics.beale().grad([1.0, 1.0]), TypeError, "point must be a numpy.ndarray"),
        (lambda: numerics.trajectory(lambda p: SGD(p, lr=0.1), numerics.beale(), (1.0, 1.0), -1),
         ValueError, "steps must be an int >= 0"),
        (lambda: numerics.trajectory(lambda p: SGD(p, lr=0.1), numerics.beale(), (1.0, 1.0), 2.0),
         ValueError, "steps must be an int >= 0"),
        (lambda: numerics.trajectory(lambda p: SGD(p, lr=0.1), numerics.beale(), (1.0, 1.0, 1.0),
                                     2),
         ValueError, "point must have shape"),
        (lambda: numerics.frequency_response(np.ones(5), n_fft=4), ValueError,
         "n_fft must be an int >= len(kernel) = 5"),
        (lambda: numerics.frequency_response(np.ones((2, 2))), ValueError, "kernel must have 1"),
        (lambda: numerics.decision_grid(np.zeros((0, 2))), ValueError, "x is empty"),
        (lambda: numerics.decision_grid(np.zeros((4, 3))), ValueError, "x must have shape"),
        (lambda: numerics.decision_grid(np.zeros((4, 2), np.int64)), TypeError, "float32"),
        (lambda: numerics.decision_grid(np.zeros((4, 2)), resolution=0),
         ValueError, "resolution must be a positive int"),
        (lambda: numerics.decision_grid(np.zeros((4, 2)), margin=-0.1),
         ValueError, "margin must be a number >= 0"),
        (lambda: numerics.activation_curves(np.zeros((2, 2))), ValueError, "x must have 1"),
        (lambda: numerics.activation_curves([0.0, 1.0]), TypeError, "numpy.ndarray"),
        (lambda: numerics.activation_curves(np.array([np.nan])), ValueError, "NaN"),
        (lambda: numerics.log_sigmoid(np.arange(3)), TypeError, "z must be float32 or float64"),
        (lambda: numerics.moving_average(np.ones(4), 5), ValueError,
         "window must be an int in [1, 4]"),
        (lambda: numerics.moving_average(np.ones(4), 0), ValueError, "window must be an int"),
        (lambda: numerics.moving_average(np.ones(4), 2.0), ValueError, "window must be an int"),
        (lambda: numerics.moving_average(np.ones((2, 2)), 1), ValueError, "values must have 1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
