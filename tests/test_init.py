"""Weight initialisers (``companion.numpy_impl.init``) against torch's formulas.

The expected bound or standard deviation of every initialiser is written out below from
torch.nn.init's documented formulas (not taken from our code), and checked twice: against the
statistics of our samples, and against the statistics of torch's own samples (so the formulas
are the ones torch really uses).

Sampling error: with ``n`` samples (here over 100,000) the sample variance of ``U(-b, b)`` has a
relative standard error of ``sqrt(4/45) * 3 / sqrt(n)`` (about 0.27%) and that of a normal
``sqrt(2 / n)`` (about 0.42%); the tests allow 6 standard errors. The largest ``|w|`` of ``n``
uniform samples falls below ``b (1 - 1e-3)`` with probability ``(1 - 1e-3)^n < 1e-40``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.numpy_impl import init
from companion.numpy_impl.module import Parameter

LINEAR_SHAPE = (256, 480)  # fan_in 480, fan_out 256
CONV_SHAPE = (128, 96, 3, 3)  # fan_in 864, fan_out 1152

# (name, shape, our call, torch call, distribution, expected bound or std from torch's docs)
CASES = [
    (
        "xavier_uniform",
        LINEAR_SHAPE,
        lambda a, rng: init.xavier_uniform_(a, rng=rng),
        lambda t: torch.nn.init.xavier_uniform_(t),
        "uniform",
        math.sqrt(6 / (480 + 256)),
    ),
    (
        "xavier_uniform_tanh_gain",
        CONV_SHAPE,
        lambda a, rng: init.xavier_uniform_(a, gain=init.calculate_gain("tanh"), rng=rng),
        lambda t: torch.nn.init.xavier_uniform_(t, gain=torch.nn.init.calculate_gain("tanh")),
        "uniform",
        5 / 3 * math.sqrt(6 / (864 + 1152)),
    ),
    (
        "xavier_normal",
        CONV_SHAPE,
        lambda a, rng: init.xavier_normal_(a, rng=rng),
        lambda t: torch.nn.init.xavier_normal_(t),
        "normal",
        math.sqrt(2 / (864 + 1152)),
    ),
    (
        "kaiming_uniform_default",
        LINEAR_SHAPE,
        lambda a, rng: init.kaiming_uniform_(a, rng=rng),
        lambda t: torch.nn.init.kaiming_uniform_(t),
        "uniform",
        math.sqrt(2) * math.sqrt(3 / 480),
    ),
    (
        "kaiming_uniform_fan_out_relu",
        CONV_SHAPE,
        lambda a, rng: init.kaiming_uniform_(a, mode="fan_out", nonlinearity="relu", rng=rng),
        lambda t: torch.nn.init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"),
        "uniform",
        math.sqrt(2) * math.sqrt(3 / 1152),
    ),
    (
        "kaiming_normal_leaky_0.2",
        CONV_SHAPE,
        lambda a, rng: init.kaiming_normal_(a, a=0.2, rng=rng),
        lambda t: torch.nn.init.kaiming_normal_(t, a=0.2),
        "normal",
        math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(864),
    ),
    (
        "kaiming_normal_fan_out_relu",
        LINEAR_SHAPE,
        lambda a, rng: init.kaiming_normal_(a, mode="fan_out", nonlinearity="relu", rng=rng),
        lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
        "normal",
        math.sqrt(2) / math.sqrt(256),
    ),
    (
        "torch_default_linear",
        LINEAR_SHAPE,
        lambda a, rng: init.default_init_(a, rng=rng),
        lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
        "uniform",
        1 / math.sqrt(480),
    ),
    (
        "torch_default_conv",
        CONV_SHAPE,
        lambda a, rng: init.default_init_(a, rng=rng),
        lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
        "uniform",
        1 / math.sqrt(864),
    ),
]


def check_statistics(name, w, dist, param):
    """Assert that the samples ``w`` look like U(-param, param) or N(0, param^2)."""
    w = np.asarray(w, dtype=np.float64).ravel()
    n = w.size
    if dist == "uniform":
        bound, var, rel_se = param, param**2 / 3, math.sqrt(4 / 45) * 3 / math.sqrt(n)
        assert np.abs(w).max() <= bound * (1 + 1e-7), f"{name}: |w| max {np.abs(w).max()} > bound {bound}"
        assert np.abs(w).max() > bound * (1 - 1e-3), f"{name}: samples do not reach the bound {bound}"
    else:
        var, rel_se = param**2, math.sqrt(2 / n)
    assert abs(w.var() / var - 1) < 6 * rel_se, (
        f"{name}: variance {w.var():.4e}, expected {var:.4e} (+-{6 * rel_se:.1%})"
    )
    assert abs(w.mean()) < 6 * math.sqrt(var / n), f"{name}: mean {w.mean():.2e} is not 0"


@pytest.mark.parametrize("name, shape, ours, _, dist, param", CASES, ids=[c[0] for c in CASES])
def test_init_statistics_follow_torch_formula(name, shape, ours, _, dist, param):
    w = np.empty(shape)
    result = ours(w, np.random.default_rng(2024))
    assert result is None or result is w, f"{name} must fill in place and return the array"
    check_statistics(name, w, dist, param)


@pytest.mark.parametrize("name, shape, _, theirs, dist, param", CASES, ids=[c[0] for c in CASES])
def test_expected_formula_is_torchs(name, shape, _, theirs, dist, param):
    # The same expectation holds for torch's own samples: the formula above is torch's.
    t = torch.empty(shape, dtype=torch.float64)
    torch.manual_seed(0)
    theirs(t)
    check_statistics(f"torch {name}", t.numpy(), dist, param)


def test_default_init_bias_bound(rng):
    w, b = np.empty((300, 200)), np.empty(200_000)
    init.default_init_(w, b, rng=rng)  # fan_in 200: both bounded by 1/sqrt(200)
    check_statistics("default bias", b, "uniform", 1 / math.sqrt(200))


@pytest.mark.parametrize(
    "args",
    [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",), ("leaky_relu",),
     ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu",)],
)
def test_calculate_gain_matches_torch(args):
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args), rel=1e-15)


@pytest.mark.parametrize("shape", [(3, 4), (8, 3, 5, 5), (2, 3, 4, 5, 6), (7, 1, 1)])
def test_fans_match_torch(shape):
    ours = init.calculate_fan_in_and_fan_out(shape)
    theirs = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert ours == theirs, f"fans of {shape}: {ours} vs torch {theirs}"


def test_same_seed_same_bits_and_dtype_preserved():
    a, b = np.empty((20, 30), np.float32), np.empty((20, 30), np.float32)
    init.kaiming_normal_(a, rng=np.random.default_rng(9))
    init.kaiming_normal_(b, rng=np.random.default_rng(9))
    assert a.dtype == np.float32, f"dtype changed to {a.dtype}"
    assert a.tobytes() == b.tobytes(), "the same seed must give the same weights bit for bit"


def test_fills_a_parameter_in_place(rng):
    p = Parameter(np.zeros((5, 6)))
    assert init.xavier_uniform_(p, rng=rng) is p, "must return the Parameter it filled"
    assert np.count_nonzero(p.data) == 30, "the Parameter's data was not filled"


def test_bad_arguments():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator .*got NoneType"):
        init.xavier_uniform_(np.empty((2, 2)), rng=None)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator .*got RandomState"):
        init.xavier_uniform_(np.empty((2, 2)), rng=np.random.RandomState(0))
    with pytest.raises(ValueError, match=r"at least 2 dimensions .*got shape \(5,\)"):
        init.xavier_normal_(np.empty(5), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_uniform_(np.empty((2, 2)), mode="fan_avg", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'gelu'"):
        init.calculate_gain("gelu")
    with pytest.raises(TypeError, match="must be float32 or float64, got dtype int64"):
        init.normal_(np.zeros((2, 2), dtype=np.int64), 0.0, 1.0, rng=np.random.default_rng(0))
