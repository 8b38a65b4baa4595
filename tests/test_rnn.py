"""Tests of the recurrent layers (companion.numpy_impl.rnn): RNN and LSTM.

* finite-difference gradient checks in float64 of the input, the initial state(s) and all four
  parameters, through both the outputs and the final state(s) (relative error < 1e-7, the
  checker's default: see companion.numpy_impl.gradcheck for why float64 differences reach ~1e-10);
* parity with torch.nn.RNN / torch.nn.LSTM from the same weights: float64 to 1e-10 relative
  (RTOL_64), float32 to RTOL_32_RECURRENT (stated below);
* torch's parameter names, shapes and initialisation bound; seeded repeatability;
* bad input, each rejected with an error that names what was expected.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from companion.numpy_impl import LSTM, RNN, gradcheck, numerical_gradient, relative_error
from companion.numpy_impl.rnn import rnn_backward, rnn_forward
from helpers_numeric import RTOL_64, assert_close

# float32: each step rounds at ~6e-8 relative, and the recurrence carries and mixes the rounding
# of every earlier step. Over the 12-step sequences used here, the worst difference from torch
# measured over 20 seeds was 4.5e-7 (LSTM weight_hh_l0.grad, a sum over all steps and samples);
# 5e-6 keeps a margin of ten.
RTOL_32_RECURRENT = 5e-6
GRAD_TOL = 1e-7

T, N, D, H = 5, 3, 4, 6  # small sizes: the finite-difference checks are element by element


def _inputs(rng, batch_first=False, dtype=np.float64):
    shape = (N, T, D) if batch_first else (T, N, D)
    return rng.standard_normal(shape).astype(dtype), rng.standard_normal((1, N, H)).astype(dtype)


def _torch_twin(layer, cls, dtype=torch.float64):
    """The torch layer of the same configuration, holding ``layer``'s weights."""
    kwargs = dict(batch_first=layer.batch_first, bias=layer.bias_ih_l0 is not None, dtype=dtype)
    if cls is torch.nn.RNN:
        kwargs["nonlinearity"] = layer.nonlinearity
    twin = cls(layer.input_size, layer.hidden_size, **kwargs)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    return twin


def _leaf(a):
    return torch.tensor(a, requires_grad=True)


# ------------------------------------------------------------------------------- gradient checks
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_functional_gradcheck(rng, nonlinearity):
    x = rng.standard_normal((T, N, D))
    h0 = rng.standard_normal((N, H))
    b = 1 / math.sqrt(H)
    params = [rng.uniform(-b, b, s) for s in ((H, D), (H, H), (H,), (H,))]

    def forward(*arrays):
        return rnn_forward(*arrays, nonlinearity=nonlinearity)

    names = ["x", "h0", "weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    report = gradcheck((forward, rnn_backward), (x, h0, *params), names=names, tol=GRAD_TOL)
    assert set(report.errors) == set(names)


def _module_gradcheck(layer, x, states, finals_used):
    """Check every gradient of ``layer`` through a loss reading the outputs and final states.

    L = sum(out * g) + sum_k sum(final_k * g_k), with fixed random g's; returns the report dict.
    """
    g_rng = np.random.default_rng(7)
    is_lstm = isinstance(layer, LSTM)

    def run():
        if is_lstm:
            out, finals = layer(x, tuple(states))
        else:
            out, h_n = layer(x, states[0])
            finals = (h_n,)
        return out, finals

    out, finals = run()
    g_out = g_rng.standard_normal(out.shape)
    g_finals = [g_rng.standard_normal(f.shape) if used else None
                for f, used in zip(finals, finals_used)]

    def loss(_):
        out_, finals_ = run()
        total = np.sum(out_ * g_out)
        for f, g in zip(finals_, g_finals):
            if g is not None:
                total += np.sum(f * g)
        return total

    layer.zero_grad()
    run()
    dx, dstates = layer.backward(g_out, *g_finals)
    dstates = dstates if is_lstm else (dstates,)
    errors = {"input": relative_error(dx, numerical_gradient(loss, x))}
    for k, (s, ds) in enumerate(zip(states, dstates)):
        errors[f"state {k}"] = relative_error(ds, numerical_gradient(loss, s))
    for name, p in layer.named_parameters():
        errors[name] = relative_error(p.grad, numerical_gradient(loss, p.data))
    return errors


@pytest.mark.parametrize("batch_first", [False, True])
def test_rnn_module_gradcheck_through_output_and_h_n(rng, batch_first):
    layer = RNN(D, H, batch_first=batch_first, rng=rng)
    x, h0 = _inputs(rng, batch_first)
    errors = _module_gradcheck(layer, x, [h0], finals_used=[True])
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"RNN gradients off (relative error > {GRAD_TOL:.0e}): {bad}"
    assert len(errors) == 6


def test_rnn_gradcheck_through_h_n_only(rng):
    # the usual classifier: only the last state is read; d_output is None
    layer = RNN(D, H, rng=rng)
    x, h0 = _inputs(rng)
    g = rng.standard_normal((1, N, H))

    def loss(_):
        return np.sum(layer(x, h0)[1] * g)

    layer(x, h0)
    dx, dh0 = layer.backward(None, g)
    assert relative_error(dx, numerical_gradient(loss, x)) < GRAD_TOL, "dx"
    assert relative_error(dh0, numerical_gradient(loss, h0)) < GRAD_TOL, "dh0"
    w = layer.weight_hh_l0
    assert relative_error(w.grad, numerical_gradient(loss, w.data)) < GRAD_TOL, "weight_hh_l0"


def test_lstm_module_gradcheck(rng):
    # time-major here; the batch_first layout is covered by the torch parity test
    layer = LSTM(D, H, rng=rng)
    x, h0 = _inputs(rng)
    c0 = rng.standard_normal((1, N, H))
    errors = _module_gradcheck(layer, x, [h0, c0], finals_used=[True, True])
    bad = {k: v for k, v in errors.items() if not v < GRAD_TOL}
    assert not bad, f"LSTM gradients off (relative error > {GRAD_TOL:.0e}): {bad}"
    assert len(errors) == 7


# ------------------------------------------------------------------------------------ torch parity
def _compare_rnn(layer, x, h0, rtol, torch_dtype):
    twin = _torch_twin(layer, torch.nn.RNN, torch_dtype)
    out, h_n = layer(x, h0)
    g_out = np.random.default_rng(3).standard_normal(out.shape).astype(x.dtype)
    g_h = np.random.default_rng(4).standard_normal(h_n.shape).astype(x.dtype)
    layer.zero_grad()
    dx, dh0 = layer.backward(g_out, g_h)

    xt, ht = _leaf(x), _leaf(h0)
    out_t, h_n_t = twin(xt, ht)
    ((out_t * torch.from_numpy(g_out)).sum() + (h_n_t * torch.from_numpy(g_h)).sum()).backward()
    assert_close("output", out, out_t, rtol)
    assert_close("h_n", h_n, h_n_t, rtol)
    assert_close("input.grad", dx, xt.grad, rtol)
    assert_close("h0.grad", dh0, ht.grad, rtol)
    torch_params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(f"{name}.grad", p.grad, torch_params[name].grad, rtol)
    return len(list(layer.named_parameters()))


@pytest.mark.parametrize(
    "nonlinearity, bias, batch_first",
    [("tanh", True, False), ("tanh", True, True), ("relu", True, False), ("tanh", False, True)],
)
def test_rnn_matches_torch_float64(rng, nonlinearity, bias, batch_first):
    layer = RNN(D, H, nonlinearity=nonlinearity, bias=bias, batch_first=batch_first, rng=rng)
    x, h0 = _inputs(rng, batch_first)
    assert _compare_rnn(layer, x, h0, RTOL_64, torch.float64) == (4 if bias else 2)


def test_rnn_matches_torch_float32(rng):
    layer = RNN(D, H, batch_first=True, dtype=np.float32, rng=rng)
    x = rng.standard_normal((N, 12, D)).astype(np.float32)
    h0 = rng.standard_normal((1, N, H)).astype(np.float32)
    out, _ = layer(x, h0)
    assert out.dtype == np.float32
    _compare_rnn(layer, x, h0, RTOL_32_RECURRENT, torch.float32)
    assert all(p.grad.dtype == np.float32 for p in layer.parameters())


@pytest.mark.parametrize("dtype, rtol", [(np.float64, RTOL_64), (np.float32, RTOL_32_RECURRENT)])
def test_lstm_matches_torch(rng, dtype, rtol):
    layer = LSTM(D, H, batch_first=True, dtype=dtype, rng=rng)
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    twin = _torch_twin(layer, torch.nn.LSTM, torch_dtype)
    x = rng.standard_normal((N, 12, D)).astype(dtype)
    h0, c0 = (rng.standard_normal((1, N, H)).astype(dtype) for _ in range(2))
    out, (h_n, c_n) = layer(x, (h0, c0))
    g = [rng.standard_normal(a.shape).astype(dtype) for a in (out, h_n, c_n)]
    dx, (dh0, dc0) = layer.backward(*g)

    xt, ht, ct = _leaf(x), _leaf(h0), _leaf(c0)
    out_t, (h_n_t, c_n_t) = twin(xt, (ht, ct))
    sum((a * torch.from_numpy(b)).sum() for a, b in zip((out_t, h_n_t, c_n_t), g)).backward()
    for name, ours, theirs in [
        ("output", out, out_t), ("h_n", h_n, h_n_t), ("c_n", c_n, c_n_t),
        ("input.grad", dx, xt.grad), ("h0.grad", dh0, ht.grad), ("c0.grad", dc0, ct.grad),
    ]:
        assert_close(name, ours, theirs, rtol)
    torch_params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(f"{name}.grad", p.grad, torch_params[name].grad, rtol)


def test_default_h0_is_zeros_as_in_torch(rng):
    layer = RNN(D, H, rng=rng)
    x, _ = _inputs(rng)
    out_default, h_default = layer(x)
    out_zeros, h_zeros = layer(x, np.zeros((1, N, H)))
    assert np.array_equal(out_default, out_zeros) and np.array_equal(h_default, h_zeros)
    out_t, _ = _torch_twin(layer, torch.nn.RNN)(torch.from_numpy(x))
    assert_close("output with default h0", out_default, out_t, RTOL_64)


def test_gradients_accumulate_like_torch(rng):
    layer = RNN(D, H, rng=rng)
    x, h0 = _inputs(rng)
    g = rng.standard_normal((T, N, H))
    layer(x, h0)
    layer.backward(g)
    once = layer.weight_hh_l0.grad.copy()
    layer(x, h0)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight_hh_l0.grad, 2 * once, rtol=1e-14,
                               err_msg="weight_hh_l0")


# ------------------------------------------------------------------- names, init, repeatability
@pytest.mark.parametrize("cls, tcls, gates", [(RNN, torch.nn.RNN, 1), (LSTM, torch.nn.LSTM, 4)])
def test_state_dict_names_and_shapes_match_torch(cls, tcls, gates):
    ours = cls(7, 5, rng=np.random.default_rng(0)).state_dict()
    theirs = tcls(7, 5).state_dict()
    assert list(ours) == list(theirs)
    for name in ours:
        assert ours[name].shape == tuple(theirs[name].shape), name
    assert ours["weight_ih_l0"].shape == (gates * 5, 7)


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_init_is_torchs_uniform_bound(cls):
    hidden = 64
    layer = cls(10, hidden, rng=np.random.default_rng(0))
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.data.ravel() for p in layer.parameters()])
    assert np.abs(values).max() <= bound, "a parameter exceeds 1/sqrt(hidden_size)"
    assert np.abs(values).max() > 0.99 * bound, "parameters do not fill U(-b, b)"
    # U(-b, b) has standard deviation b / sqrt(3); with >= 5,000 draws the estimate is within 3 %
    assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.03
    # torch draws its own weights from the same distribution
    theirs = torch.nn.RNN(10, hidden) if cls is RNN else torch.nn.LSTM(10, hidden)
    with torch.no_grad():
        torch_values = torch.cat([p.ravel() for p in theirs.parameters()]).numpy()
    assert np.abs(torch_values).max() <= bound
    assert abs(torch_values.std() / values.std() - 1) < 0.05


def test_init_draws_in_torchs_parameter_order():
    layer = RNN(D, H, rng=np.random.default_rng(9))
    b = 1 / math.sqrt(H)
    rng = np.random.default_rng(9)
    for name, shape in [("weight_ih_l0", (H, D)), ("weight_hh_l0", (H, H)),
                        ("bias_ih_l0", (H,)), ("bias_hh_l0", (H,))]:
        assert np.array_equal(getattr(layer, name).data, rng.uniform(-b, b, shape)), name


@pytest.mark.parametrize("cls", [RNN, LSTM])
def test_seeded_layers_repeat_bit_for_bit(cls):
    x = np.random.default_rng(1).standard_normal((T, N, D))
    a, b = cls(D, H, rng=np.random.default_rng(42)), cls(D, H, rng=np.random.default_rng(42))
    c = cls(D, H, rng=np.random.default_rng(43))
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert np.array_equal(pa.data, pb.data), name
    assert not np.array_equal(a.weight_hh_l0.data, c.weight_hh_l0.data)
    out_a, out_b = a(x)[0], b(x)[0]
    assert np.array_equal(out_a, out_b)
    g = np.ones_like(out_a)
    assert np.array_equal(a.backward(g)[0], b.backward(g)[0])


def test_float32_and_float64_layers_hold_the_same_weights():
    a = RNN(D, H, rng=np.random.default_rng(5))
    b = RNN(D, H, dtype=np.float32, rng=np.random.default_rng(5))
    assert b.weight_ih_l0.dtype == np.float32
    assert np.array_equal(a.weight_ih_l0.data.astype(np.float32), b.weight_ih_l0.data)


# --------------------------------------------------------------------------------------- bad input
@pytest.fixture
def layer():
    return RNN(D, H, rng=np.random.default_rng(0))


def test_wrong_feature_size(layer):
    with pytest.raises(ValueError, match=r"input_size=4 .* got input of shape \(5, 3, 7\)"):
        layer(np.zeros((T, N, 7)))


@pytest.mark.parametrize("shape", [(T, D), (T, N, D, 1)])
def test_wrong_ndim(layer, shape):
    with pytest.raises(ValueError, match=r"\(T, N, input_size\) .* got \d dimensions"):
        layer(np.zeros(shape))


@pytest.mark.parametrize("shape", [(N, H), (1, N + 1, H), (1, N, H + 1), (2, N, H)])
def test_wrong_h0_shape(layer, shape):
    with pytest.raises(ValueError, match=r"h0 must have shape .*\(1, 3, 6\).*got"):
        layer(np.zeros((T, N, D)), np.zeros(shape))


def test_wrong_c0_shape():
    lstm = LSTM(D, H, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="c0 must have shape"):
        lstm(np.zeros((T, N, D)), (np.zeros((1, N, H)), np.zeros((N, H))))
    with pytest.raises(TypeError, match=r"pair \(h0, c0\)"):
        lstm(np.zeros((T, N, D)), np.zeros((1, N, H)))


def test_nan_in_input_or_h0(layer):
    x = np.zeros((T, N, D))
    x[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="input contains 1 NaN"):
        layer(x)
    h0 = np.zeros((1, N, H))
    h0[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="h0 contains 1 NaN or infinite"):
        layer(np.zeros((T, N, D)), h0)


def test_wrong_dtype(layer):
    with pytest.raises(TypeError, match="dtype float32 but this layer's parameters are float64"):
        layer(np.zeros((T, N, D), dtype=np.float32))
    with pytest.raises(TypeError, match="must be float32 or float64"):
        layer(np.zeros((T, N, D), dtype=np.int64))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        layer(torch.zeros(T, N, D))


def test_empty_sequence(layer):
    with pytest.raises(ValueError, match="at least one time step"):
        layer(np.zeros((0, N, D)))


def test_backward_misuse(layer):
    with pytest.raises(RuntimeError, match="needs a forward pass first"):
        layer.backward(np.zeros((T, N, H)))
    layer(np.zeros((T, N, D)))
    with pytest.raises(ValueError, match="got neither"):
        layer.backward()
    with pytest.raises(ValueError, match=r"d_output must have shape \(5, 3, 6\)"):
        layer.backward(np.zeros((N, T, H)))
    with pytest.raises(ValueError, match=r"d_h_n must have shape \(1, 3, 6\)"):
        layer.backward(None, np.zeros((N, H)))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        RNN(3, 0)
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        RNN(3, 4, dtype=np.int32)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        RNN(3, 4, rng=0)


# ------------------------------------------------------------------------------ the chapter's plots
def test_moving_average_and_plots():
    import matplotlib.pyplot as plt

    from companion.plots import rnn as figs

    np.testing.assert_allclose(figs.moving_average(np.arange(5.0), 2), [0.5, 1.5, 2.5, 3.5])
    with pytest.raises(ValueError, match="window must be an int"):
        figs.moving_average(np.arange(5.0), 6)
    lengths = np.array([1.0, 10.0, 100.0])
    fig = figs.plot_gradient_norms(lengths, {"a": [1.0, 1e-3, 1e-9]}, bounds={"a": [1.0, 1.0, 1.0]})
    assert len(fig.axes[0].lines) == 2
    plt.close(fig)
    with pytest.raises(ValueError, match=r"norms\['a'\] must have 3 values"):
        figs.plot_gradient_norms(lengths, {"a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="must name the same runs"):
        figs.plot_clipping({"a": [1.0]}, {"b": [1.0]})
