"""companion.plots.algorithms: what each figure draws and computes, and bad input refused."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import PathCollection

from companion import numerics
from companion.plots import algorithms


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


HESSIAN = np.array([[2.0, 0.5], [0.5, 1.0]])


def _gd_path(lr, steps=6, start=(1.0, -1.0)):
    """Gradient descent on 1/2 w^T H w: w <- w - lr * H w, as a (steps + 1, 2) array."""
    path = [np.asarray(start)]
    for _ in range(steps):  # each iterate needs the previous one
        path.append(path[-1] - lr * HESSIAN @ path[-1])
    return np.array(path)


# --- plot_gd_paths --------------------------------------------------------------------------
def test_gd_paths_draws_one_panel_per_path_and_the_values_panel():
    paths = {"lr 0.1": _gd_path(0.1), "lr 0.5": _gd_path(0.5)}
    fig = algorithms.plot_gd_paths(HESSIAN, paths)
    axes = fig.get_axes()
    assert len(axes) == 3, f"expected 2 path panels + 1 value panel, got {len(axes)} axes"
    for ax, (label, path) in zip(axes, paths.items()):
        assert ax.get_title() == label, f"panel title {ax.get_title()!r}, expected {label!r}"
        np.testing.assert_array_equal(ax.lines[0].get_xydata(), path,
                                      err_msg=f"iterates drawn for {label}")
        assert len(ax.collections) > 0, f"panel {label} has no contour of the bowl"


def test_gd_paths_value_panel_plots_f_of_each_iterate_on_a_log_scale():
    paths = {"lr 0.1": _gd_path(0.1), "lr 0.5": _gd_path(0.5, steps=3)}
    ax = algorithms.plot_gd_paths(HESSIAN, paths).get_axes()[-1]
    assert ax.get_yscale() == "log", f"value panel y scale {ax.get_yscale()}"
    for line, path in zip(ax.lines, paths.values()):
        expected = 0.5 * np.sum((path @ HESSIAN) * path, axis=1)
        np.testing.assert_allclose(line.get_ydata(), expected, rtol=1e-12,
                                   err_msg="f(w_t) values")
        np.testing.assert_array_equal(line.get_xdata(), np.arange(len(path)),
                                      err_msg="steps t")


def test_gd_paths_default_radius_is_1_3_times_the_largest_start_entry():
    fig = algorithms.plot_gd_paths(HESSIAN, {"a": _gd_path(0.1, start=(2.0, -0.5))})
    xlim = fig.get_axes()[0].get_xlim()
    np.testing.assert_allclose(xlim, (-2.6, 2.6), rtol=1e-12, err_msg="path panel x limits")
    fig = algorithms.plot_gd_paths(HESSIAN, {"a": _gd_path(0.1)}, radius=5.0)
    np.testing.assert_allclose(fig.get_axes()[0].get_ylim(), (-5.0, 5.0),
                               err_msg="path panel y limits with radius=5")


# --- plot_decision_boundaries ----------------------------------------------------------------
def _boundary_inputs(rng, panels):
    x = rng.normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(np.int64)
    xx, yy, points = numerics.decision_grid(x, resolution=20)
    probabilities = [1 / (1 + np.exp(-s * points[:, 0])).reshape(xx.shape)
                     for s in range(1, panels + 1)]
    return xx, yy, probabilities, x, y


def test_decision_boundaries_one_titled_panel_per_snapshot_the_rest_hidden(rng):
    xx, yy, probabilities, x, y = _boundary_inputs(rng, 4)
    titles = [f"step {i}" for i in range(4)]
    fig = algorithms.plot_decision_boundaries(xx, yy, probabilities, x, y, titles=titles, ncols=3)
    axes = fig.get_axes()
    assert len(axes) == 6, f"a 2x3 grid has 6 axes, got {len(axes)}"
    assert [ax.get_title() for ax in axes[:4]] == titles, "panel titles"
    assert [ax.axison for ax in axes] == [True] * 4 + [False] * 2, "unused panels must be hidden"
    for i, ax in enumerate(axes[:4]):
        scatter = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert len(scatter) == 1, f"panel {i}: {len(scatter)} scatter plots"
        np.testing.assert_array_equal(scatter[0].get_offsets(), x, err_msg=f"panel {i} points")
        np.testing.assert_array_equal(scatter[0].get_array(), y, err_msg=f"panel {i} colours")


# --- plot_learning_curves --------------------------------------------------------------------
def test_learning_curves_draws_each_curve_with_its_label():
    curves = {"sgd": (np.arange(1.0, 6.0), np.array([1.0, 0.5, 0.3, 0.2, 0.1])),
              "adam": (np.array([1.0, 3.0]), np.array([0.9, 0.05]))}
    fig = algorithms.plot_learning_curves(curves, xlabel="epoch", logx=True)
    ax = fig.get_axes()[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log"), "axis scales"
    assert ax.get_xlabel() == "epoch", f"x label {ax.get_xlabel()!r}"
    for line, (label, (xs, values)) in zip(ax.lines, curves.items()):
        assert line.get_label() == label, f"line label {line.get_label()!r}"
        np.testing.assert_array_equal(line.get_xdata(), xs, err_msg=f"{label} xs")
        np.testing.assert_array_equal(line.get_ydata(), values, err_msg=f"{label} values")


def test_learning_curves_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    returned = algorithms.plot_learning_curves({"a": (np.arange(3.0), -np.arange(3.0))},
                                               xlabel="step", logy=False, ax=right)
    assert returned is fig, "the figure of the given axes must be returned"
    assert (len(left.lines), len(right.lines)) == (0, 1), "the curve must go into `ax` only"
    assert right.get_yscale() == "linear", "logy=False must keep a linear axis"


# --- bad input -------------------------------------------------------------------------------
PATH = np.zeros((3, 2)) + 1.0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: algorithms.plot_gd_paths(np.array([[1.0, 0.5], [0.0, 1.0]]), {"a": PATH}),
         ValueError, "symmetric"),
        (lambda: algorithms.plot_gd_paths(np.diag([1.0, -1.0]), {"a": PATH}),
         ValueError, "positive definite"),
        (lambda: algorithms.plot_gd_paths(np.eye(3), {"a": PATH}), ValueError, "hessian"),
        (lambda: algorithms.plot_gd_paths(np.eye(2), {}), ValueError, "non-empty dict"),
        (lambda: algorithms.plot_gd_paths(np.eye(2), {"a": np.ones((3, 3))}),
         ValueError, "paths['a'] must have shape (*, 2)"),
        (lambda: algorithms.plot_gd_paths(np.eye(2), {"a": PATH}, radius=-1.0),
         ValueError, "radius must be a positive number"),
        (lambda: algorithms.plot_decision_boundaries(
            np.zeros((3, 3)), np.zeros((3, 3)), [np.full((3, 3), 1.5)], np.zeros((2, 2)),
            np.zeros(2, np.int64), titles=["a"]), ValueError, "must lie in [0, 1]"),
        (lambda: algorithms.plot_decision_boundaries(
            np.zeros((3, 3)), np.zeros((3, 3)), [np.zeros((3, 3))], np.zeros((2, 2)),
            np.zeros(2, np.int64), titles=["a", "b"]), ValueError, "2 titles for 1 panels"),
        (lambda: algorithms.plot_decision_boundaries(
            np.zeros((3, 3)), np.zeros((3, 3)), [np.zeros((3, 3))], np.zeros((2, 2)),
            np.zeros(2), titles=["a"]), TypeError, "integer class labels"),
        (lambda: algorithms.plot_decision_boundaries(
            np.zeros((3, 3)), np.zeros((3, 3)), [np.zeros((3, 3))], np.zeros((2, 2)),
            np.array([0, 2]), titles=["a"]), ValueError, "classes 0 and 1"),
        (lambda: algorithms.plot_decision_boundaries(
            np.zeros((3, 3)), np.zeros((3, 3)), [], np.zeros((2, 2)),
            np.zeros(2, np.int64), titles=[]), ValueError, "probabilities is empty"),
        (lambda: algorithms.plot_learning_curves({"a": (np.arange(3.0), np.zeros(3))},
                                                 xlabel="x"), ValueError, "values <= 0"),
        (lambda: algorithms.plot_learning_curves({"a": (np.arange(3.0), np.ones(2))},
                                                 xlabel="x"), ValueError, "values must have shape"),
        (lambda: algorithms.plot_learning_curves({"a": np.ones(3)}, xlabel="x"),
         ValueError, "must be a pair"),
        (lambda: algorithms.plot_learning_curves({}, xlabel="x"), ValueError, "non-empty dict"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
