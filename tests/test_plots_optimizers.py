"""companion.plots.optimizers: test functions, optimizer trajectories, figures, bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from companion import numerics
from companion.numpy_impl.optim import SGD, Adam
from companion.plots import optimizers as opt
from companion.plots import style


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- figures -----------------------------------------------------------------------------------
def test_plot_paths_draws_each_path_the_start_and_the_minimum():
    fn = numerics.rosenbrock()
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
    assert opt.plot_paths(numerics.beale(), {}, ax=left, title="B") is fig, "plot_paths figure"
    assert opt.plot_curves({"a": np.ones(3)}, ax=right) is fig, "plot_curves figure"
    assert left.get_title() == "B" and len(right.lines) == 1, "each drawing in its own axes"


def test_path_panels_draw_the_computed_paths_with_one_colour_per_optimizer_and_one_legend():
    rosen, beale = numerics.rosenbrock(), numerics.beale()
    makers = {"SGD": lambda p: SGD(p, lr=1e-3), "Adam": lambda p: Adam(p, lr=0.05)}
    panels = {name: (fn, {k: numerics.trajectory(m, fn, start, 50) for k, m in makers.items()})
              for name, fn, start in (("R", rosen, (-1.5, 2.5)), ("B", beale, (1.0, 1.5)))}
    fig = opt.plot_path_panels(panels, markevery={"R": 5, "B": 10})
    assert [ax.get_title() for ax in fig.axes] == ["R", "B"], "one titled panel per function"
    assert all(ax.get_legend() is None for ax in fig.axes), "no legend inside a panel"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["SGD", "Adam", "start",
                                                                 "minimum"]
    for ax, (name, (fn, paths)) in zip(fig.axes, panels.items()):
        lines = {line.get_label(): line for line in ax.lines}
        for i, (label, path) in enumerate(paths.items()):
            np.testing.assert_array_equal(lines[label].get_xydata(), path,
                                          err_msg=f"panel {name}, path {label}")
            assert lines[label].get_color() == style.color(i), f"{name} {label} colour"
        assert lines["SGD"].get_markevery() == (5 if name == "R" else 10), "markevery per panel"
    assert fig.axes[0].get_ylabel() == "y" and fig.axes[1].get_ylabel() == "", "one y label"


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
        (lambda: opt.plot_paths(numerics.beale(), {"a": np.zeros((3, 3))}),
         ValueError, "paths['a'] must have shape (*, 2)"),
        (lambda: opt.plot_curves({"a": np.ones((2, 2))}), ValueError, "curves['a'] must have 1"),
        (lambda: opt.plot_path_panels({}), ValueError, "panels must be a non-empty dict"),
        (lambda: opt.plot_path_panels({"a": (numerics.beale(), {"x": np.zeros((2, 2))}),
                                       "b": (numerics.beale(), {"y": np.zeros((2, 2))})}),
         ValueError, "the same path labels in the same order"),
        (lambda: opt.plot_curves({"a": np.ones(3)}, x=np.arange(4.0)),
         ValueError, "curves['a'] has shape (3,) but x has (4,)"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), f"message {str(info.value)!r} does not mention {words!r}"
