"""Numbers behind the book's figures: test functions, optimizer paths, smoothing, filters, grids.

These compute; ``companion.plots`` draws what they return. A chapter uses them directly too,
e.g. to measure how far an optimizer ends from a minimum before showing its path.

* ``TestFunction``: a function of two variables with its gradient, its minimum and a window;
* ``quadratic(condition, angle)``: ``½ pᵀ H p`` with eigenvalues 1 and ``condition``;
* ``rosenbrock(a, b)``: the banana-shaped valley, minimum 0 at ``(a, a²)``;
* ``beale()``: flat plateaus and steep walls, minimum 0 at ``(3, 0.5)``;
* ``trajectory(make_optimizer, fn, start, steps)``: the points an optimizer visits on ``fn``;
* ``moving_average(values, window)``: the mean of every ``window`` consecutive values;
* ``frequency_response(kernel)``: the gain of an FIR filter at each frequency;
* ``decision_grid(x)``: a regular grid over 2-D data, to evaluate a classifier on;
* ``activation_curves(x)``: each activation's values and derivative, from the package's own
  forward and backward functions;
* ``log_sigmoid(z)``: ``log(sigmoid(z))`` without overflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from companion._checks import check_array, check_positive_int
from companion.numpy_impl import functional as F
from companion.numpy_impl.module import Parameter
from companion.numpy_impl.optim import Optimizer

__all__ = [
    "TestFunction",
    "quadratic",
    "rosenbrock",
    "beale",
    "trajectory",
    "moving_average",
    "frequency_response",
    "decision_grid",
    "activation_curves",
    "log_sigmoid",
]


# --- test functions of two variables -----------------------------------------------------------
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

    The optimizer is the package's own (``companion.numpy_impl.optim``), fed the exact gradient
    of ``fn``: one ``Parameter`` of shape ``(2,)`` updated step by step.

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


# --- signals ------------------------------------------------------------------------------------
def moving_average(values, window: int) -> np.ndarray:
    """The mean of each run of ``window`` consecutive values: ``(M,) -> (M - window + 1,)``.

    Parameters
    ----------
    values : (M,) float array (or list), M >= window; NaN and infinity allowed
    window : int in [1, M]

    Returns
    -------
    (M - window + 1,) float64 array; entry ``i`` is ``mean(values[i : i + window])``
    """
    arr = check_array(np.asarray(values, dtype=np.float64), "values", ndim=1, finite=False)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= arr.size:
        raise ValueError(f"window must be an int in [1, {arr.size}], got {window!r}")
    # Each window averaged on its own (not as differences of a running sum), so one huge or
    # infinite value of a diverging run spoils only the windows that contain it.
    windows = np.lib.stride_tricks.sliding_window_view(arr, window)
    return windows.mean(axis=1)


def frequency_response(kernel: np.ndarray, n_fft: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """The gain of an FIR filter at each frequency: ``|H(f)| = |Σₖ kernel[k] e^{-2πi f k}|``.

    Parameters
    ----------
    kernel : (K,) float array
        The filter taps (e.g. a ``(1, K)`` convolution kernel, flattened).
    n_fft : int >= K
        Number of points of the zero-padded DFT; more points draw a smoother curve.

    Returns
    -------
    freqs : (n_fft // 2 + 1,) float64, in cycles per sample, from 0 to 0.5
    gain : (n_fft // 2 + 1,) float64, ``|DFT(kernel)|`` at those frequencies
    """
    check_array(kernel, "kernel", ndim=1)
    if isinstance(n_fft, bool) or not isinstance(n_fft, int) or n_fft < len(kernel):
        raise ValueError(f"n_fft must be an int >= len(kernel) = {len(kernel)}, got {n_fft!r}")
    gain = np.abs(np.fft.rfft(kernel.astype(np.float64), n_fft))
    return np.fft.rfftfreq(n_fft), gain


# --- classifiers in the plane -------------------------------------------------------------------
def decision_grid(x, *, resolution=150, margin=0.25):
    """A regular grid over the bounding box of ``x``, widened by ``margin``, to evaluate a model on.

    Parameters
    ----------
    x : (N, 2) float array
        The data points the grid must cover.
    resolution : int
        Points per side ``R``.
    margin : float >= 0
        Added on every side, as a fraction of the box's larger side.

    Returns
    -------
    xx, yy : (R, R) float arrays of ``x``'s dtype
        The grid's coordinates (``numpy.meshgrid`` layout).
    points : (R*R, 2) float array of ``x``'s dtype
        The same points as rows, in row-major order, so that ``model(points)[:, k].reshape(R, R)``
        lines up with ``xx`` and ``yy``.
    """
    check_array(x, "x", shape=(None, 2))
    if x.shape[0] == 0:
        raise ValueError("x is empty; the grid needs at least one point to cover")
    resolution = check_positive_int(resolution, "resolution")
    if not (isinstance(margin, (int, float)) and margin >= 0):
        raise ValueError(f"margin must be a number >= 0, got {margin!r}")
    low, high = x.min(axis=0), x.max(axis=0)
    pad = margin * max(float((high - low).max()), 1e-12)
    xs = np.linspace(low[0] - pad, high[0] + pad, resolution, dtype=x.dtype)
    ys = np.linspace(low[1] - pad, high[1] + pad, resolution, dtype=x.dtype)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.stack([xx.ravel(), yy.ravel()], axis=1)


# --- activations and losses ---------------------------------------------------------------------
def activation_curves(x: np.ndarray,
                      negative_slope: float = 0.1) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each activation's values and derivative at ``x``, from the package's forward/backward pair.

    The derivative is the backward pass with an upstream gradient of ones: for an elementwise
    function ``f``, ``backward(1) = f'(x) * 1``.

    Parameters
    ----------
    x : (M,) float array, the points
    negative_slope : float, the leaky ReLU's slope for ``x < 0`` (0.1 so that it is visible)

    Returns
    -------
    dict name -> (values, derivatives), each (M,), for "ReLU", "leaky ReLU", "sigmoid", "tanh"
    """
    check_array(x, "x", ndim=1)
    ones = np.ones_like(x)
    s, t = F.sigmoid(x), F.tanh(x)
    return {
        "ReLU": (F.relu(x), F.relu_backward(ones, x)),
        "leaky ReLU": (F.leaky_relu(x, negative_slope),
                       F.leaky_relu_backward(ones, x, negative_slope)),
        "sigmoid": (s, F.sigmoid_backward(ones, s)),
        "tanh": (t, F.tanh_backward(ones, t)),
    }


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """``log(sigmoid(z))`` without overflow or ``log(0)``, elementwise.

    A sigmoid is a two-class softmax, ``sigmoid(z) = softmax((0, z))[1]``, so its logarithm is the
    log-softmax of the logit pair ``(0, z)``, which the package computes stably.

    Parameters
    ----------
    z : float array, any shape

    Returns
    -------
    float array of ``z``'s shape
    """
    check_array(z, "z")
    pairs = np.stack([np.zeros_like(z), z], axis=-1)
    return F.log_softmax(pairs, axis=-1)[..., 1]
