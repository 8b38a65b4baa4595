"""The gradient checker itself: it must pass correct gradients AND catch wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from companion.numpy_impl import functional as F
from companion.numpy_impl.gradcheck import (
    GradcheckError,
    gradcheck,
    numerical_gradient,
    relative_error,
)
from companion.numpy_impl.layers import Linear


def test_numerical_gradient_of_a_known_function(rng):
    x = rng.standard_normal((3, 4))
    before = x.copy()
    grad = numerical_gradient(lambda v: np.sum(v**3) + np.sin(v).sum(), x)
    err = relative_error(grad, 3 * x**2 + np.cos(x))
    assert err < 1e-9, f"numerical gradient of sum(x^3 + sin x): relative error {err:.2e}"
    assert x.tobytes() == before.tobytes(), "numerical_gradient must restore x exactly"


def test_relative_error_definition():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0, "two zero gradients agree"
    assert relative_error(np.array([1.0]), np.array([-1.0])) == 1.0, "opposite signs give 1"
    # ||(3, 4) - (3, 0)|| / (||(3, 4)|| + ||(3, 0)||) = 4 / 8
    assert relative_error(np.array([3.0, 4.0]), np.array([3.0, 0.0])) == 0.5
    with pytest.raises(ValueError, match=r"analytic gradient has shape \(2,\), numeric \(3,\)"):
        relative_error(np.zeros(2), np.zeros(3))


def test_gradcheck_passes_a_correct_module_and_reports_every_tensor(rng):
    layer = Linear(4, 3, rng=rng)
    report = gradcheck(layer, rng.standard_normal((5, 4)))
    assert set(report.errors) == {"input", "weight", "bias"}, f"checked {sorted(report.errors)}"
    assert report.passed and bool(report), str(report)
    assert max(report.errors.values()) < 1e-7, str(report)
    assert "weight" in str(report) and "relative error" in str(report)


class WrongWeightGrad(Linear):
    """A Linear whose weight gradient is off by 1% in one entry."""

    def backward(self, dy):
        dx = super().backward(dy)
        self.weight.grad[0, 0] *= 1.01
        return dx


class WrongInputGrad(Linear):
    """A Linear that returns half the correct input gradient."""

    def backward(self, dy):
        return 0.5 * super().backward(dy)


def test_gradcheck_catches_a_wrong_parameter_gradient(rng):
    layer, x = WrongWeightGrad(4, 3, rng=rng), rng.standard_normal((5, 4))
    with pytest.raises(GradcheckError, match=r"gradient check failed for \['weight'\]"):
        gradcheck(layer, x)
    report = gradcheck(layer, x, raise_exception=False)
    assert not report.passed and not bool(report), "a wrong gradient must fail the report"
    assert report.failures() == ["weight"] and report.worst[0] == "weight", str(report)
    assert report.errors["input"] < 1e-7 and report.errors["bias"] < 1e-7, str(report)


def test_gradcheck_catches_a_wrong_input_gradient(rng):
    report = gradcheck(WrongInputGrad(4, 3, rng=rng), rng.standard_normal((5, 4)), raise_exception=False)
    assert report.failures() == ["input"], str(report)
    assert report.errors["input"] > 0.1, f"half the gradient must be far off: {report}"


def test_gradcheck_catches_a_wrong_function_gradient(rng):
    # relu's derivative evaluated at the wrong place (the upstream gradient instead of x)
    pair = (lambda x: (F.relu(x), x), lambda dout, x: dout * (dout > 0))
    x = rng.standard_normal((4, 4)) + 0.05
    with pytest.raises(GradcheckError, match=r"failed for \['input'\]"):
        gradcheck(pair, x)


def test_gradcheck_with_a_function_pair_and_names(rng):
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 4)), rng.standard_normal(2)
    report = gradcheck((F.linear_forward, F.linear_backward), (x, w, b), names=["x", "w", "b"])
    assert list(report.errors) == ["x", "w", "b"], f"report names {list(report.errors)}"
    assert report.passed, str(report)


def test_gradcheck_refuses_float32_and_bad_targets(rng):
    layer = Linear(4, 3, dtype=np.float32, rng=rng)
    with pytest.raises(TypeError, match="gradcheck needs float64 arrays .*input is dtype float32"):
        gradcheck(layer, rng.standard_normal((2, 4)).astype(np.float32))
    with pytest.raises(TypeError, match="gradcheck needs float64 arrays .*weight is dtype float32"):
        gradcheck(layer, rng.standard_normal((2, 4)))
    with pytest.raises(TypeError, match="must be a Module or a \\(forward, backward\\) pair.*got function"):
        gradcheck(F.relu, rng.standard_normal(3))
    with pytest.raises(TypeError, match="numerical_gradient needs a float64 numpy.ndarray, got dtype int64"):
        numerical_gradient(np.sum, np.arange(3))
