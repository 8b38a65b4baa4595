"""Figures of the optimizers chapter: classic 2-D test functions, optimizer paths, curves.

The optimizers are the package's own (``companion.numpy_impl.optim``): a path is what
``SGD``, ``Adam``, ... actually do when fed the exact gradient of a test function, one
``Parameter`` of shape ``(2,)`` updated step by step.

* ``TestFunction``: a function of two variables with its gradient, its minimum and a plot window;
* ``quadratic(condition, angle)``: ``½ pᵀ H p`` with eigenvalues 1 and ``condition``;
* ``rosenbrock(a, b)``: the banana-shaped valley, minimum at ``(a, a²)``;
* ``beale()``: flat plateaus and steep walls, minimum at ``(3, 0.5)``;
* ``trajectory(make_optimizer, fn, start, steps)``: the points an optimizer visits;
* ``plot_paths(fn, paths)``: paths drawn over the function's filled contours;
* ``plot_curves(curves)``: several curves on one axis (losses per step, a learning-rate sweep).

Each plotting function returns the ``matplotlib.figure.Figure`` it drew on; in a notebook, end
the cell with ``plt.show()``. Both accept ``ax=`` to draw into one panel of a larger figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from companion._checks import check_array
from companion.numpy_impl.module import Parameter
from companion.numpy_impl.optim import Optimizer

__all__ = [
    "TestFunction",
    "quadratic",
    "rosenbrock",
    "beale",
    "trajectory",
    "plot_paths",
    "plot_curves",
]

#: Resolution of the book's figures: small PNGs keep the repository small.
DPI = 75


def _pyplot():
    import matplotlib.pyplot as plt  # imported late: ``import companion`` stays light

    return plt


# --- test functions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TestFunction:
    """A function of two variables, its gradient and where to look at it.

    Attributes
    ----------
    name : str
    value : callable, ``(..., 2)`` float array -> ``(...)`` array
        Vectorized over the leading axes, so a whole grid (or a path) is evaluated at once.
    grad : callable, ``(2,)`` float array -> ``(2,)`` array
    minimum : (2,) float array, the global minimizer
    xlim, ylim : (float, float), the plot window
    """

    __test__ = False  # not a pytest test class, whatever its name says

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    minimum: np.ndarray
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def gap(self, points: np.ndarray) -> np.ndarray:
        """``f(p) - f(minimum)`` at ``points`` of shape ``(..., 2)``: the distance to optimal."""
        check_array(points, "points", finite=False)
        return self.value(points) - self.value(self.minimum)


def _check_point(p: np.ndarray) -> np.ndarray:
    return check_array(p, "point", shape=(2,), finite=False)


def quadratic(condition: float = 10.0, angle: float = 0.0) -> TestFunction:
    """``f(p) = ½ pᵀ H p`` with ``H = R diag(1, condition) Rᵀ``, ``R`` a rotation by ``angle``.

    The Hessian ``H`` has eigenvalues 1 and ``condition``, so ``condition`` is its condition
    number κ. With ``angle = 0`` the axes are the eigenvectors (the case where a per-coordinate
    method such as Adam sees the two curvatures separately); a rotation mixes them.

    Parameters
    ----------
    condition : float >= 1
    angle : float, radians
    """
    if not condition >= 1.0:
        raise ValueError(f"condition must be >= 1, got {condition!r}")
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    hessian = rot @ np.diag([1.0, float(condition)]) @ rot.T

    def value(p):
        return 0.5 * np.einsum("...i,ij,...j->...", p, hessian, p)

    def grad(p):
        return hessian @ _check_point(p)

    return TestFunction(f"quadratic, condition number {condition:g}", value, grad,
                        np.zeros(2), (-3.0, 3.0), (-2.0, 2.0))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> TestFunction:
    """``f(x, y) = (a - x)² + b (y - x²)²``, minimum 0 at ``(a, a²)``.

    A long, curved, nearly flat valley: finding it is easy, following it to the minimum is not.
    """

    def value(p):
        x, y = p[..., 0], p[..., 1]
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(p):
        x, y = _check_point(p)
        return np.array([-2.0 * (a - x) - 4.0 * b * x * (y - x**2), 2.0 * b * (y - x**2)])

    return TestFunction("Rosenbrock", value, grad, np.array([a, a**2]), (-2.0, 2.0), (-1.0, 3.0))


#: The three constants of Beale's function, one per squared term.
_BEALE = np.array([1.5, 2.25, 2.625])


def beale() -> TestFunction:
    """``f(x, y) = Σₖ (cₖ - x + x yᵏ)²`` for k = 1, 2, 3 and c = (1.5, 2.25, 2.625).

    Minimum 0 at ``(3, 0.5)``; the gradient spans orders of magnitude between the flat middle
    and the steep corners.
    """
    powers = np.arange(1, 4)

    def residuals(x, y):
        # r_k = c_k - x + x y^k, stacked on a last axis of length 3 (one per term)
        return _BEALE - x[..., None] + x[..., None] * y[..., None] ** powers

    def value(p):
        return np.sum(residuals(p[..., 0], p[..., 1]) ** 2, axis=-1)

    def grad(p):
        x, y = _check_point(p)
        r = residuals(np.asarray(x), np.asarray(y))
        dr_dx = y**powers - 1.0
        dr_dy = x * powers * y ** (powers - 1)
        return np.array([2.0 * np.sum(r * dr_dx), 2.0 * np.sum(r * dr_dy)])

    return TestFunction("Beale", value, grad, np.array([3.0, 0.5]), (-0.5, 4.0), (-1.5, 2.5))


# --- running an optimizer on a test function --------------------------------------------------
def trajectory(
    make_optimizer: Callable[[list[Parameter]], Optimizer],
    fn: TestFunction,
    start: Sequence[float],
    steps: int,
) -> np.ndarray:
    """The points an optimizer visits on ``fn``, starting at ``start``.

    Parameters
    ----------
    make_optimizer : callable ``params -> Optimizer``
        E.g. ``lambda params: Adam(params, lr=0.1)``.
    fn : TestFunction
    start : two floats
    steps : int >= 0

    Returns
    -------
    (steps + 1, 2) float64 array
        Row 0 is ``start``; row ``t`` the point after step ``t``. If the run diverges (a value
        stops being finite), the rows from there on are NaN.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    p = Parameter(np.array(start, dtype=np.float64))
    _check_point(p.data)
    optimizer = make_optimizer([p])
    path = np.full((steps + 1, 2), np.nan)
    path[0] = p.data
    with np.errstate(over="ignore", invalid="ignore"):  # a divergent run is a result, not a bug
        for t in range(1, steps + 1):  # steps are sequential: each needs the previous point
            p.grad = fn.grad(p.data)
            optimizer.step()
            if not np.all(np.isfinite(p.data)):
                break
            path[t] = p.data
    return path


# --- figures ----------------------------------------------------------------------------------
def _axes(ax, figsize):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, dpi=DPI)
    return ax


def plot_paths(fn: TestFunction, paths: Mapping[str, np.ndarray], *, ax=None, title=None,
               markevery: int = 10):
    """Filled contours of ``fn`` (log-spaced, so the valley floor shows) with optimizer paths.

    Parameters
    ----------
    fn : TestFunction
    paths : dict label -> (T, 2) float array of points (NaN rows, a divergence, are skipped)
    ax : matplotlib Axes, optional; a new (6, 4.2) figure when None
    title : str, optional (default ``fn.name``)
    markevery : int, a marker every this many steps, to show the speed

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = _axes(ax, (6, 4.2))
    xs = np.linspace(*fn.xlim, 161)
    ys = np.linspace(*fn.ylim, 141)
    gap = fn.gap(np.stack(np.meshgrid(xs, ys), axis=-1))   # (141, 161)
    # log-spaced levels between the 1st and 99th percentile of the window's values, so that
    # both the valley floor and the walls get contours whatever the function's range
    low, high = np.quantile(gap, [0.01, 0.99])
    levels = np.geomspace(max(low, 1e-12), high, 12)
    # filled bands, white at the bottom to pale blue on the walls: flat areas keep the PNG
    # small, and the paths stand out
    bounds = np.concatenate([[gap.min()], levels, [gap.max()]])
    plt = _pyplot()
    ax.contourf(xs, ys, gap, levels=bounds,
                colors=plt.cm.Blues(np.linspace(0.0, 0.5, len(bounds) - 1)))
    for i, (label, path) in enumerate(paths.items()):
        path = check_array(np.asarray(path, dtype=np.float64), f"paths[{label!r}]",
                           shape=(None, 2), finite=False)
        ax.plot(path[:, 0], path[:, 1], "-", lw=1.4, color=f"C{i}", label=label,
                marker="o", ms=2.5, markevery=markevery)
    if paths:
        start = np.asarray(next(iter(paths.values())))[0]
        ax.plot(*start, "ks", ms=6, label="start")
    ax.plot(*fn.minimum, "*", ms=13, color="gold", markeredgecolor="k", label="minimum")
    ax.set(xlim=fn.xlim, ylim=fn.ylim, xlabel="x", ylabel="y", title=title or fn.name)
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7, loc="best", framealpha=0.9)
    ax.figure.tight_layout()
    return ax.figure


def plot_curves(curves: Mapping[str, np.ndarray], *, x=None, ax=None, xlabel: str = "step",
                ylabel: str = "", title: str = "", logx: bool = False, logy: bool = True,
                styles: Mapping[str, str] | None = None):
    """Several curves on one axis, e.g. the loss of each optimizer against the step.

    Parameters
    ----------
    curves : dict label -> (T,) float array (NaN and inf are simply not drawn)
    x : (T,) float array, optional, shared horizontal values (default 0, 1, ..., T-1)
    ax : matplotlib Axes, optional; a new (6, 3.6) figure when None
    xlabel, ylabel, title : str
    logx, logy : bool, logarithmic axes
    styles : dict label -> matplotlib line style ("--", ":"), optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    ax = _axes(ax, (6, 3.6))
    for i, (label, y) in enumerate(curves.items()):
        y = check_array(np.asarray(y, dtype=np.float64), f"curves[{label!r}]", ndim=1,
                        finite=False)
        xs = np.arange(len(y)) if x is None else np.asarray(x, dtype=np.float64)
        if xs.shape != y.shape:
            raise ValueError(f"curves[{label!r}] has shape {y.shape} but x has {xs.shape}")
        y = np.where(np.isfinite(y), y, np.nan)
        ax.plot(xs, y, (styles or {}).get(label, "-"), lw=1.5, color=f"C{i}", label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.title.set_fontsize(10)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.figure.tight_layout()
    return ax.figure
