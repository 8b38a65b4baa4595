"""companion.plots.optimizers: test functions, optimizer trajectories, figures, bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion.numpy_impl.optim import SGD, Adam
from companion.plots import optimizers as opt


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


FUNCTIONS = {
    "quadratic": opt.quadratic(condition=10.0, angle=0.7),
    "rosenbrock": opt.rosenbrock(a=1.5, b=20.0),
    "beale": opt.beale(),
}
POINTS = np.array([[0.3, -0.4], [1.2, 0.7], [-0.8, 1.9]])


# --- test functions ----------------------------------------------------------------------------
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


def test_quadratic_hessian_has_eigenvalues_1_and_condition_along_the_rotated_axes():
    angle = 0.7
    fn = opt.quadratic(condition=10.0, angle=angle)
    hessian = np.stack([fn.grad(e) for e in np.eye(2)], axis=1)  # the gradient is H p
    u = np.array([np.cos(angle), np.sin(angle)])
    v = np.array([-np.sin(angle), np.cos(angle)])
    np.testing.assert_allclose(hessian @ u, u, rtol=1e-14, err_msg="H u (eigenvalue 1)")
    np.testing.assert_allclose(hessian @ v, 10.0 * v, rtol=1e-14,
                               err_msg="H v (eigenvalue condition)")


# --- trajectory --------------------------------------------------------------------------------
def test_trajectory_of_sgd_on_a_round_bowl_shrinks_geometrically():
    start = [2.0, -1.0]
    path = opt.trajectory(lambda params: SGD(params, lr=0.25), opt.quadratic(1.0), start, 5)
    assert path.shape == (6, 2) and path.dtype == np.float64, f"path {path.shape} {path.dtype}"
    expected = 0.75 ** np.arange(6)[:, None] * np.array(start)  # p_t = (1 - lr)^t p_0
    np.testing.assert_allclose(path, expected, rtol=1e-14, err_msg="SGD path on f = |p|^2 / 2")
    assert start == [2.0, -1.0], "trajectory must not change the caller's start"


def test_trajectory_gives_nan_rows_after_divergence():
    path = opt.trajectory(lambda params: SGD(params, lr=1e200), opt.quadratic(1.0),
                          [1.0, 1.0], 5)
    # step 1: p = (1 - 1e200) p is still finite; step 2 overflows
    assert np.all(np.isfinite(path[:2])), f"rows before the divergence {path[:2]}"
    assert np.all(np.isnan(path[2:])), f"rows from the divergence on must be NaN, got {path[2:]}"


def test_trajectory_adam_approaches_the_rosenbrock_minimum():
    fn = opt.rosenbrock()
    path = opt.trajectory(lambda params: Adam(params, lr=0.02), fn, (-1.5, 2.0), 2000)
    assert fn.gap(path[-1]) < 1e-3 < fn.gap(path[0]), (
        f"Adam: gap {fn.gap(path[0]):.3g} at the start, {fn.gap(path[-1]):.3g} at the end")


def test_trajectory_with_zero_steps_is_the_start():
    path = opt.trajectory(lambda params: SGD(params, lr=0.1), opt.beale(), (1.0, 1.0), 0)
    np.testing.assert_array_equal(path, [[1.0, 1.0]], err_msg="zero-step path")


# --- figures -----------------------------------------------------------------------------------
def test_plot_paths_draws_each_path_the_start_and_the_minimum():
    fn = opt.rosenbrock()
    good = np.array([[-1.5, 2.0], [-1.0, 1.0], [0.0, 0.2]])
    diverged = np.array([[-1.5, 2.0], [np.nan, np.nan]])
    fig = opt.plot_paths(fn, {"good": good, "diverged": diverged})
    ax = fig.get_axes()[0]
    lines = {line.get_label(): line for line in ax.lines}
    assert list(lines) == ["good", "diverged", "start", "minimum"], f"lines {list(lines)}"
    np.testing.assert_array_equal(lines["good"].get_xydata(), good, err_msg="path 'good'")
    np.testing.assert_array_equal(lines["diverged"].get_xydata(), diverged,
                                  err_msg="path 'diverged' (NaN rows kept, not drawn)")
    np.testing.assert_array_equal(lines["start"].get_xydata(), [[-1.5, 2.0]], err_msg="start")
    np.testing.assert_array_equal(lines["minimum"].get_xydata(), [fn.minimum], err_msg="minimum")
    assert ax.get_title() == "Rosenbrock", f"default title {ax.get_title()!r}"
    assert (ax.get_xlim(), ax.get_ylim()) == (fn.xlim, fn.ylim), "plot window"
    assert len(ax.collections) > 0, "no filled contours"


def test_plot_paths_and_curves_draw_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert opt.plot_paths(opt.beale(), {}, ax=left, title="B") is fig, "plot_paths figure"
    assert opt.plot_curves({"a": np.ones(3)}, ax=right) is fig, "plot_curves figure"
    assert left.get_title() == "B" and len(right.lines) == 1, "each drawing in its own axes"


def test_plot_curves_draws_finite_values_and_blanks_the_rest():
    curves = {"sgd": np.array([1.0, 0.5, np.inf, 0.1]), "adam": np.array([2.0, 1.0, 0.3, 0.2])}
    x = np.array([1.0, 10.0, 100.0, 1000.0])
    fig = opt.plot_curves(curves, x=x, logx=True, styles={"adam": "--"}, ylabel="loss")
    ax = fig.get_axes()[0]
    sgd, adam = ax.lines
    np.testing.assert_array_equal(sgd.get_ydata(), [1.0, 0.5, np.nan, 0.1],
                                  err_msg="inf must become a gap (NaN)")
    np.testing.assert_array_equal(adam.get_xdata(), x, err_msg="shared x")
    assert adam.get_linestyle() == "--" and sgd.get_linestyle() == "-", "line styles"
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log"), "axis scales"


# --- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: opt.quadratic(condition=0.5), ValueError, "condition must be >= 1"),
        (lambda: opt.quadratic(condition=float("nan")), ValueError, "condition must be >= 1"),
        (lambda: opt.rosenbrock().grad(np.zeros(3)), ValueError, "point must have shape"),
        (lambda: opt.beale().grad([1.0, 1.0]), TypeError, "point must be a numpy.ndarray"),
        (lambda: opt.trajectory(lambda p: SGD(p, lr=0.1), opt.beale(), (1.0, 1.0), -1),
         ValueError, "steps must be an int >= 0"),
        (lambda: opt.trajectory(lambda p: SGD(p, lr=0.1), opt.beale(), (1.0, 1.0), 2.0),
         ValueError, "steps must be an int >= 0"),
        (lambda: opt.trajectory(lambda p: SGD(p, lr=0.1), opt.beale(), (1.0, 1.0, 1.0), 2),
         ValueError, "point must have shape"),
        (lambda: opt.plot_paths(opt.beale(), {"a": np.zeros((3, 3))}),
         ValueError, "paths['a'] must have shape (*, 2)"),
        (lambda: opt.plot_curves({"a": np.ones((2, 2))}), ValueError, "curves['a'] must have 1"),
        (lambda: opt.plot_curves({"a": np.ones(3)}, x=np.arange(4.0)),
         ValueError, "curves['a'] has shape (3,) but x has (4,)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
