"""Attention and the Transformer block: companion.numpy_impl.{activation, embedding, attention,
transformer} against finite differences and against torch.

* gradient checks in float64, relative error < 1e-7 (see companion.numpy_impl.gradcheck for why
  central differences reach ~1e-10 there);
* float64 parity with torch < 1e-10 relative (helpers_numeric.RTOL_64), outputs and every
  gradient, over random and square shapes, with and without each mask, in eval mode and in train
  mode with the NumPy dropout masks handed to torch (transformer_helpers.shared_dropout);
* bad input: clear errors naming what was expected and what came.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.numpy_impl import (
    GELU,
    Embedding,
    LogSoftmax,
    MultiheadAttention,
    Softmax,
    TransformerEncoderLayer,
    causal_mask,
    scaled_dot_product_attention_backward,
    scaled_dot_product_attention_forward,
    sinusoidal_positional_encoding,
)
from companion.torch_impl import numpy_to_torch
from helpers_numeric import RTOL_64, assert_close
from transformer_helpers import GRAD_TOL, assert_grads_ok, grad_errors, shared_dropout, t64

def compare_params(np_module, torch_module):
    """Every parameter gradient of the NumPy module against torch's, by name."""
    torch_params = dict(torch_module.named_parameters())
    for name, p in np_module.named_parameters():
        assert_close(f"{name}.grad", p.grad, torch_params[name].grad, RTOL_64)


# ================================================================================================
# GELU, Softmax, LogSoftmax, Embedding, positional encodings
# ================================================================================================


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_and_finite_differences(rng, approximate):
    x = rng.standard_normal((4, 7)) * 3
    x[0, :3] = [0.0, -1e-9, 1e-9]  # the kink-free origin, both sides
    layer = GELU(approximate)
    out = layer(x)
    g = rng.standard_normal(x.shape)
    tx = t64(x, grad=True)
    ref = torch.nn.GELU(approximate)(tx)
    ref.backward(t64(g))
    assert_close("gelu out", out, ref, RTOL_64)
    assert_close("gelu dx", layer.backward(g), tx.grad, RTOL_64)
    assert_grads_ok(grad_errors(lambda: layer(x), lambda d: {"x": layer.backward(d)}, {"x": x}))


@pytest.mark.parametrize("cls", [Softmax, LogSoftmax])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_modules_match_torch(rng, cls, dim):
    x = rng.standard_normal((3, 4, 5)) * 4
    layer = cls(dim)
    tx = t64(x, grad=True)
    ref = getattr(torch.nn, cls.__name__)(dim)(tx)
    g = rng.standard_normal(x.shape)
    ref.backward(t64(g))
    assert_close(f"{cls.__name__} out", layer(x), ref, RTOL_64)
    assert_close(f"{cls.__name__} dx", layer.backward(g), tx.grad, RTOL_64)


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(rng, padding_idx):
    layer = Embedding(6, 4, padding_idx, rng=rng)
    ref = numpy_to_torch(layer, torch.nn.Embedding(6, 4, padding_idx, dtype=torch.float64))
    idx = np.array([[0, 2, 5, 2], [5, 5, 1, 3]])  # repeated rows: their gradients add up
    out = layer(idx)
    g = rng.standard_normal(out.shape)
    tout = ref(torch.from_numpy(idx))
    tout.backward(t64(g))
    assert_close("embedding out", out, tout, RTOL_64)
    layer.backward(g)
    assert_close("embedding weight.grad", layer.weight.grad, ref.weight.grad, RTOL_64)
    if padding_idx is not None:
        assert np.all(layer.weight.grad[padding_idx] == 0)


def test_embedding_init_is_standard_normal_with_zero_padding_row():
    layer = Embedding(4000, 8, padding_idx=3, rng=np.random.default_rng(0))
    assert np.all(layer.weight.data[3] == 0)
    w = np.delete(layer.weight.data, 3, axis=0)
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_embedding_rejects_bad_indices():
    layer = Embedding(5, 3, rng=np.random.default_rng(0))
    with pytest.raises(IndexError, match=r"\[0, 4\] for num_embeddings=5, got values from 0 to 5"):
        layer(np.array([0, 5]))
    with pytest.raises(IndexError, match="from -1 to 2"):
        layer(np.array([-1, 2]))
    with pytest.raises(TypeError, match="integer indices, got dtype float64"):
        layer(np.array([0.0, 1.0]))


def test_sinusoidal_encoding_values_and_relative_shift():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    t, i = 7, 3
    assert pe[t, 2 * i] == pytest.approx(np.sin(t / 10000 ** (2 * i / 16)), abs=1e-15)
    assert pe[t, 2 * i + 1] == pytest.approx(np.cos(t / 10000 ** (2 * i / 16)), abs=1e-15)
    # PE[t + k] is the same linear (rotation) map of PE[t] for every t
    k = 5
    m, *_ = np.linalg.lstsq(pe[:40], pe[k:40 + k], rcond=None)
    assert np.abs(pe[:40] @ m - pe[k:40 + k]).max() < 1e-10
    assert sinusoidal_positional_encoding(4, 5).shape == (4, 5)  # odd width


# ================================================================================================
# Scaled dot-product attention
# ================================================================================================


def _mask_cases(rng, lead, length, source):
    """(name, numpy mask, torch mask, is_causal) for every kind of mask."""
    keep = rng.random(lead + (length, source)) < 0.7
    keep[..., 0] = True  # every query keeps at least one key
    additive = rng.standard_normal((length, source))
    additive[rng.random((length, source)) < 0.3] = -np.inf
    additive[:, 0] = 0.5
    return [
        ("none", None, None, False),
        ("bool", keep, torch.from_numpy(keep), False),
        ("float", additive, t64(additive), False),
        ("causal", None, None, True),
    ]


@pytest.mark.parametrize("shape", [(2, 3, 5, 4, 4), (1, 2, 4, 4, 4), (3, 1, 6, 3, 2)])
def test_sdpa_matches_torch_with_every_mask(rng, shape):
    n, h, length, source, e = shape
    if source < length:
        source = length  # the causal case needs S >= L for every row to see a key
    q = rng.standard_normal((n, h, length, e))
    k = rng.standard_normal((n, h, source, e))
    v = rng.standard_normal((n, h, source, e + 1))
    g = rng.standard_normal((n, h, length, e + 1))
    for name, mask, tmask, causal in _mask_cases(rng, (n, h), length, source):
        out, cache = scaled_dot_product_attention_forward(q, k, v, mask, causal)
        tq, tk, tv = t64(q, True), t64(k, True), t64(v, True)
        ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, tmask, is_causal=causal)
        ref.backward(t64(g))
        assert_close(f"sdpa[{name}] out", out, ref, RTOL_64)
        for label, ours, theirs in zip("qkv", scaled_dot_product_attention_backward(g, cache),
                                       (tq, tk, tv)):
            assert_close(f"sdpa[{name}] d{label}", ours, theirs.grad, RTOL_64)


@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "causal"])
def test_sdpa_gradients_by_finite_differences(rng, mask_kind):
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    case = dict((c[0], c) for c in _mask_cases(rng, (2,), 4, 4))[mask_kind]
    mask, causal = case[1], case[3]
    keep = rng.random((2, 4, 4)) < 0.8  # attention dropout with a fixed mask
    cache = {}

    def forward():
        out, cache["c"] = scaled_dot_product_attention_forward(q, k, v, mask, causal,
                                                               dropout_p=0.25, dropout_keep=keep)
        return out

    def backward(g):
        forward()
        return dict(zip("qkv", scaled_dot_product_attention_backward(g, cache["c"])))

    assert_grads_ok(grad_errors(forward, backward, {"q": q, "k": k, "v": v}))


def test_sdpa_scale_is_one_over_sqrt_width(rng):
    q, k, v = (rng.standard_normal((3, 8)) for _ in range(3))
    _, cache = scaled_dot_product_attention_forward(q, k, v)
    assert cache.scale == pytest.approx(1 / np.sqrt(8))
    assert np.allclose(cache.weights.sum(-1), 1)
    assert np.all(np.triu(scaled_dot_product_attention_forward(q, k, v, is_causal=True)[1]
                          .weights, 1) == 0)
    assert causal_mask(3).tolist() == [[True, False, False], [True, True, False],
                                       [True, True, True]]


def test_sdpa_replacement_matches_torch(rng, monkeypatch):
    """The torch-op attention that shared_dropout installs equals torch's kernel (no dropout)."""
    q, k, v = (t64(rng.standard_normal((2, 3, 5, 4))) for _ in range(3))
    keep = torch.from_numpy(rng.random((5, 5)) < 0.7) | torch.eye(5, dtype=torch.bool)
    want = [torch.nn.functional.scaled_dot_product_attention(q, k, v, m, is_causal=c)
            for m, c in ((None, False), (keep, False), (None, True))]
    with shared_dropout(monkeypatch, []) as sdpa:
        for (m, c), w in zip(((None, False), (keep, False), (None, True)), want):
            assert_close("replacement sdpa", sdpa(q, k, v, m, is_causal=c), w, RTOL_64)


def test_float32_stays_float32(rng):
    q = rng.standard_normal((2, 4, 3)).astype(np.float32)
    out, cache = scaled_dot_product_attention_forward(q, q, q, is_causal=True)
    assert out.dtype == cache.weights.dtype == np.float32
    assert all(g.dtype == np.float32 for g in scaled_dot_product_attention_backward(out, cache))
    layer = TransformerEncoderLayer(4, 2, 8, 0.1, "gelu", dtype=np.float32, rng=rng)
    y = layer(rng.standard_normal((4, 2, 4)).astype(np.float32), ~causal_mask(4), None, True)
    assert y.dtype == layer.backward(y).dtype == np.float32


def test_sdpa_bad_input(rng):
    q, k, v = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 5, 3)), \
        rng.standard_normal((2, 5, 6))
    with pytest.raises(ValueError, match=r"attn_mask must have shape .*\(4, 5\).*got \(5, 4\)"):
        scaled_dot_product_attention_forward(q, k, v, np.ones((5, 4), bool))
    with pytest.raises(TypeError, match="attn_mask must be bool or float64.*got int64"):
        scaled_dot_product_attention_forward(q, k, v, np.ones((4, 5), np.int64))
    with pytest.raises(ValueError, match="key must have shape"):
        scaled_dot_product_attention_forward(q, k[..., :2], v)
    with pytest.raises(ValueError, match="not both"):
        scaled_dot_product_attention_forward(q, k, v, np.ones((4, 5), bool), is_causal=True)
    hide_row = np.ones((4, 5), bool)
    hide_row[2] = False
    with pytest.raises(ValueError, match="hides every key from some query"):
        scaled_dot_product_attention_forward(q, k, v, hide_row)


# ================================================================================================
# MultiheadAttention
# ================================================================================================


def _mha_pair(rng, e, h, batch_first, bias=True, dropout=0.0):
    layer = MultiheadAttention(e, h, dropout, bias, batch_first=batch_first, rng=rng)
    ref = torch.nn.MultiheadAttention(e, h, dropout, bias, batch_first=batch_first,
                                      dtype=torch.float64)
    assert list(layer.state_dict()) == list(ref.state_dict())
    return layer, numpy_to_torch(layer, ref)


def _mha_masks(rng, n, h, length, source, kind):
    """NumPy/torch (attn_mask, key_padding_mask) in MultiheadAttention's convention."""
    attn = kpm = None
    if kind in ("bool", "bool3d"):
        shape = (length, source) if kind == "bool" else (n * h, length, source)
        attn = rng.random(shape) < 0.3
        attn[..., 0] = False  # key 0 stays visible to every query
    elif kind == "float":
        attn = rng.standard_normal((length, source))
    elif kind == "causal":
        attn = ~causal_mask(length, source)
    if kind in ("padding", "both"):
        kpm = np.zeros((n, source), bool)
        kpm[:, -1] = True
        kpm[0, 1:] = True  # sample 0 sees only its first key
        if kind == "both":
            attn = rng.random((length, source)) < 0.3
            attn[:, 0] = False
    to_t = (lambda m: None if m is None else
            (torch.from_numpy(m) if m.dtype == bool else t64(m)))
    return attn, kpm, to_t(attn), to_t(kpm)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind", ["none", "bool", "bool3d", "float", "causal", "padding", "both"])
@pytest.mark.parametrize("sizes", [(2, 5, 5, 8, 2), (3, 4, 6, 6, 3), (1, 3, 3, 4, 4)])
def test_mha_matches_torch(rng, batch_first, kind, sizes):
    n, length, source, e, h = sizes
    layer, ref = _mha_pair(rng, e, h, batch_first)
    lay = (lambda t: (n, t, e)) if batch_first else (lambda t: (t, n, e))
    q, k, v = (rng.standard_normal(lay(t)) for t in (length, source, source))
    attn, kpm, tattn, tkpm = _mha_masks(rng, n, h, length, source, kind)
    out, w = layer(q, k, v, kpm, True, attn, is_causal=kind == "causal")
    tq, tk, tv = t64(q, True), t64(k, True), t64(v, True)
    tout, tw = ref(tq, tk, tv, tkpm, True, tattn, is_causal=kind == "causal")
    g = rng.standard_normal(out.shape)
    tout.backward(t64(g))
    assert_close("mha out", out, tout, RTOL_64)
    assert_close("mha weights", w, tw, RTOL_64)
    for name, ours, theirs in zip(("dquery", "dkey", "dvalue"), layer.backward(g), (tq, tk, tv)):
        assert_close(f"mha {name}", ours, theirs.grad, RTOL_64)
    compare_params(layer, ref)


def test_mha_per_head_weights_and_self_attention_without_weights(rng):
    layer, ref = _mha_pair(rng, 6, 3, True)
    x = rng.standard_normal((2, 4, 6))
    _, w = layer(x, x, x, average_attn_weights=False)
    _, tw = ref(t64(x), t64(x), t64(x), average_attn_weights=False)
    assert w.shape == (2, 3, 4, 4)
    assert_close("per-head weights", w, tw, RTOL_64)
    out, none = layer(x, x, x, need_weights=False)
    assert none is None
    assert_close("need_weights=False out", out, ref(t64(x), t64(x), t64(x),
                                                    need_weights=False)[0], RTOL_64)


@pytest.mark.parametrize("bias", [True, False])
def test_mha_gradients_by_finite_differences(rng, bias):
    layer = MultiheadAttention(4, 2, bias=bias, rng=rng)
    q, k, v = rng.standard_normal((3, 2, 4)), rng.standard_normal((4, 2, 4)), \
        rng.standard_normal((4, 2, 4))
    attn = rng.random((3, 4)) < 0.3
    attn[:, 0] = False
    kpm = np.array([[False, False, True, False], [False, True, False, False]])
    arrays = {"query": q, "key": k, "value": v}
    arrays.update({name: p.data for name, p in layer.named_parameters()})

    def forward():
        return layer(q, k, v, kpm, False, attn)[0]

    def backward(g):
        layer.zero_grad()
        forward()
        grads = dict(zip(("query", "key", "value"), layer.backward(g)))
        grads.update({name: p.grad for name, p in layer.named_parameters()})
        return grads

    assert_grads_ok(grad_errors(forward, backward, arrays))


def test_mha_train_mode_dropout_with_shared_mask(rng, monkeypatch):
    layer, ref = _mha_pair(rng, 8, 2, False, dropout=0.3)
    x = rng.standard_normal((5, 3, 8))
    out, w = layer(x, x, x)
    assert layer.dropout_keep is not None and not layer.dropout_keep.all()
    tx = t64(x, True)
    with shared_dropout(monkeypatch, [layer.dropout_keep]):
        tout, tw = ref(tx, tx, tx)
    g = rng.standard_normal(out.shape)
    tout.backward(t64(g))
    assert_close("mha train out", out, tout, RTOL_64)
    assert_close("mha train weights", w, tw, RTOL_64)
    assert_close("mha train dx", sum(layer.backward(g)), tx.grad, RTOL_64)
    compare_params(layer, ref)
    layer.eval()
    assert layer(x, x, x)[1].sum(-1) == pytest.approx(np.ones((3, 5)))  # no dropout in eval


def test_mha_bad_input(rng):
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got "
                                         "embed_dim=10 and num_heads=3"):
        MultiheadAttention(10, 3)
    layer = MultiheadAttention(4, 2, rng=rng)
    x = rng.standard_normal((3, 2, 4))
    with pytest.raises(ValueError, match=r"attn_mask must have shape \(3, 3\) or \(4, 3, 3\), "
                                         r"got \(3, 2\)"):
        layer(x, x, x, attn_mask=np.zeros((3, 2), bool))
    with pytest.raises(ValueError,
                       match=r"key_padding_mask must have shape \(2, 3\), got \(3, 2\)"):
        layer(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(TypeError, match="key_padding_mask must be bool or float64.*got int64"):
        layer(x, x, x, key_padding_mask=np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"query must have shape \(L, N, E\) with E=4, got "
                                         r"\(3, 2, 3\)"):
        layer(x[..., :3], x, x)
    with pytest.raises(TypeError, match="query has dtype float32 but this layer's parameters "
                                        "are float64"):
        layer(x.astype(np.float32), x, x)
    with pytest.raises(ValueError, match="needs it"):
        layer(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="forward pass first"):
        MultiheadAttention(4, 2, rng=rng).backward(x)


# ================================================================================================
# TransformerEncoderLayer
# ================================================================================================


def _encoder_pair(rng, e, h, ff, dropout, activation, norm_first, batch_first):
    """The NumPy and torch blocks from the same weights; activation "relu", "gelu" or
    "gelu-tanh" (a ``GELU("tanh")`` module on each side)."""
    ours, theirs = activation, activation
    if activation == "gelu-tanh":
        ours, theirs = GELU("tanh"), torch.nn.GELU("tanh")
    layer = TransformerEncoderLayer(e, h, ff, dropout, ours, batch_first=batch_first,
                                    norm_first=norm_first, rng=rng)
    ref = torch.nn.TransformerEncoderLayer(e, h, ff, dropout, theirs, batch_first=batch_first,
                                           norm_first=norm_first, dtype=torch.float64)
    assert list(layer.state_dict()) == list(ref.state_dict())
    for name, p in layer.named_parameters():  # LayerNorms start at 1 and 0: randomise them too
        if name.startswith("norm"):
            p.data[...] = rng.standard_normal(p.shape) * 0.5 + (name.endswith("weight"))
    return layer, numpy_to_torch(layer, ref)


def _run_encoder(layer, ref, x, g, masks, monkeypatch=None, dropout_masks=None):
    attn, kpm, tattn, tkpm = masks
    causal = attn is not None and attn.dtype == bool and np.array_equal(
        attn, ~causal_mask(attn.shape[0]))
    out = layer(x, attn, kpm, causal)
    tx = t64(x, True)
    if dropout_masks is None:
        tout = ref(tx, tattn, tkpm, causal)
    else:
        with shared_dropout(monkeypatch, dropout_masks(layer)):
            tout = ref(tx, tattn, tkpm, causal)
    tout.backward(t64(g))
    assert_close("encoder out", out, tout, RTOL_64)
    assert_close("encoder dsrc", layer.backward(g), tx.grad, RTOL_64)
    compare_params(layer, ref)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu-tanh"])
@pytest.mark.parametrize("kind", ["none", "causal", "padding", "float"])
def test_encoder_layer_eval_matches_torch(rng, norm_first, activation, kind):
    n, t, e, h = 3, 5, 8, 2
    layer, ref = _encoder_pair(rng, e, h, 12, 0.1, activation, norm_first, batch_first=True)
    layer.eval()
    ref.eval()
    x = rng.standard_normal((n, t, e))
    g = rng.standard_normal(x.shape)
    _run_encoder(layer, ref, x, g, _mha_masks(rng, n, h, t, t, kind))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_train_matches_torch_with_shared_dropout(rng, monkeypatch, norm_first,
                                                               batch_first):
    t, n, e, h = 6, 2, 8, 4
    layer, ref = _encoder_pair(rng, e, h, 16, 0.2, "gelu", norm_first, batch_first)
    x = rng.standard_normal((n, t, e) if batch_first else (t, n, e))
    g = rng.standard_normal(x.shape)

    def masks(layer):  # in the order torch draws them
        return [layer.self_attn.dropout_keep, layer.dropout1.mask, layer.dropout.mask,
                layer.dropout2.mask]

    _run_encoder(layer, ref, x, g, _mha_masks(rng, n, h, t, t, "causal"), monkeypatch, masks)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradients_by_finite_differences(rng, norm_first):
    layer = TransformerEncoderLayer(4, 2, 6, 0.0, "gelu", norm_first=norm_first, rng=rng)
    x = rng.standard_normal((3, 2, 4))
    mask = ~causal_mask(3)
    arrays = {"src": x}
    arrays.update({name: p.data for name, p in layer.named_parameters()})

    def forward():
        return layer(x, mask, None, True)

    def backward(g):
        layer.zero_grad()
        forward()
        grads = {"src": layer.backward(g)}
        grads.update({name: p.grad for name, p in layer.named_parameters()})
        return grads

    assert_grads_ok(grad_errors(forward, backward, arrays))


def test_encoder_layer_bad_input(rng):
    with pytest.raises(ValueError, match="divisible"):
        TransformerEncoderLayer(6, 4)
    with pytest.raises(ValueError, match="activation must be"):
        TransformerEncoderLayer(4, 2, activation="swish")
    layer = TransformerEncoderLayer(4, 2, 8, rng=rng)
    with pytest.raises(ValueError, match="src must have 3 dimensions"):
        layer(rng.standard_normal((3, 4)))
