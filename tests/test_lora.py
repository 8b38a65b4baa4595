"""LoRA (``companion.numpy_impl.lora`` and its torch twin ``companion.torch_impl.lora``).

* the written-out gradients against finite differences (float64, relative error < 1e-7), for a
  square layer, a rectangular one, rank 1 and full rank, 2-D and 3-D inputs;
* the NumPy layer against the torch twin holding the same weights (copied by state dict):
  output, input gradient and the gradients of ``lora_A`` and ``lora_B`` within 1e-10 relative in
  float64 (``helpers_numeric``), and no gradient for the frozen weight and bias on either side;
* merging the adapter into the weight changes no output; ``add_lora`` on whole models (keys,
  freezing, parameter counts, parity); bad input (a rank larger than the layer).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from companion.numpy_impl import SGD, Linear, ReLU, Sequential
from companion.numpy_impl.gradcheck import gradcheck
from companion.numpy_impl.lora import (
    LoRALinear,
    add_lora,
    count_parameters,
    lora_linear_backward,
    lora_linear_forward,
    lora_parameters,
    merge_lora,
)
from companion.torch_impl import numpy_to_torch
from companion.torch_impl import lora as tlora
from helpers_numeric import RTOL_64, assert_close

GRAD_TOL = 1e-7

# (in_features, out_features, rank, input shape)
CASES = {
    "square": (6, 6, 2, (5, 6)),
    "wide_rank1": (7, 4, 1, (5, 7)),
    "full_rank": (3, 5, 3, (4, 3)),
    "sequence_3d": (6, 4, 2, (2, 3, 6)),
}


def numpy_layer(in_f, out_f, rank, rng, alpha=3.0, bias=True):
    """A LoRALinear whose lora_B is random, not zero: with B = 0 the gradient of A is zero
    and a check of it would prove nothing."""
    layer = LoRALinear(in_f, out_f, rank, alpha, bias=bias, rng=rng)
    layer.lora_B.data[...] = rng.standard_normal(layer.lora_B.shape)
    return layer


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_functional_gradcheck(case, bias, rng):
    in_f, out_f, rank, shape = CASES[case]
    w = rng.standard_normal((out_f, in_f))
    b = rng.standard_normal(out_f) if bias else None
    x = rng.standard_normal(shape)
    a, bb = rng.standard_normal((rank, in_f)), rng.standard_normal((out_f, rank))
    report = gradcheck(
        (lambda x, a, bb: lora_linear_forward(x, w, b, a, bb, 0.7), lora_linear_backward),
        (x, a, bb), names=["input", "lora_A", "lora_B"], tol=GRAD_TOL,
    )
    assert report.passed, str(report)


@pytest.mark.parametrize("case", CASES)
def test_module_matches_torch_float64(case, rng):
    in_f, out_f, rank, shape = CASES[case]
    ours = numpy_layer(in_f, out_f, rank, rng)
    theirs = tlora.LoRALinear(in_f, out_f, rank, 3.0, dtype=torch.float64)
    numpy_to_torch(ours, theirs)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(shape[:-1] + (out_f,))

    out = ours(x)
    dx = ours.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    out_t = theirs(xt)
    out_t.backward(torch.tensor(g))

    assert_close("output", out, out_t, RTOL_64)
    assert_close("input grad", dx, xt.grad, RTOL_64)
    assert_close("lora_A grad", ours.lora_A.grad, theirs.lora_A.grad, RTOL_64)
    assert_close("lora_B grad", ours.lora_B.grad, theirs.lora_B.grad, RTOL_64)
    assert ours.weight.grad is None and ours.bias.grad is None, "frozen base got a NumPy gradient"
    assert theirs.weight.grad is None and theirs.bias.grad is None, "torch gave the base a gradient"


def test_module_backward_is_the_functional_one(rng):
    layer = numpy_layer(5, 5, 2, rng)
    x, g = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    layer(x)
    dx = layer.backward(g)
    _, cache = lora_linear_forward(x, layer.weight.data, layer.bias.data, layer.lora_A.data,
                                   layer.lora_B.data, layer.scaling)
    want = lora_linear_backward(g, cache)
    grads = [dx, layer.lora_A.grad, layer.lora_B.grad]
    for name, got, ref in zip(["dx", "lora_A", "lora_B"], grads, want):
        np.testing.assert_array_equal(got, ref, err_msg=name)
    assert layer.backward(g, input_grad=False) is None
    np.testing.assert_array_equal(layer.lora_A.grad, 2 * want[1])  # accumulated, as torch


def test_starts_as_the_base_layer_and_scaling(rng):
    base = Linear(6, 4, rng=rng)
    x = rng.standard_normal((3, 6))
    layer = LoRALinear.from_linear(base, 2, alpha=8.0, rng=rng)
    assert layer.weight is base.weight and layer.bias is base.bias  # shared, not copied
    assert layer.scaling == 4.0
    np.testing.assert_array_equal(layer.lora_B.data, 0.0)
    np.testing.assert_array_equal(layer(x), base(x))
    bound = 1 / np.sqrt(6)
    assert np.abs(layer.lora_A.data).max() <= bound and layer.lora_A.data.std() > 0


def test_merge_gives_the_same_outputs(rng):
    ours = numpy_layer(6, 4, 2, rng)
    x = rng.standard_normal((5, 6))
    before = ours(x)
    model = merge_lora(Sequential(ours))
    assert isinstance(model[0], Linear) and list(model.state_dict()) == ["0.weight", "0.bias"]
    assert_close("merged output (NumPy)", model(x), before, RTOL_64)

    theirs = tlora.LoRALinear(6, 4, 2, 3.0, dtype=torch.float64)
    numpy_to_torch(ours.state_dict(), theirs)
    tmodel = tlora.merge_lora(nn.Sequential(theirs))
    assert isinstance(tmodel[0], nn.Linear)
    assert_close("merged output (torch)", tmodel(torch.tensor(x)), before, RTOL_64)


def mlp(nn_, **factory):
    return nn_.Sequential(nn_.Linear(8, 6, **factory), nn_.ReLU(), nn_.Linear(6, 6, **factory),
                          nn_.ReLU(), nn_.Linear(6, 3, **factory))


def test_add_lora_on_a_model_numpy_and_torch(rng):
    import companion.numpy_impl as numpy_impl

    ours = mlp(numpy_impl, rng=rng)
    x = rng.standard_normal((4, 8))
    before = ours(x)
    add_lora(ours, rank=2, alpha=4.0, exclude={"4"}, rng=rng)
    np.testing.assert_array_equal(ours(x), before)  # B = 0: nothing changed yet
    assert list(ours.state_dict()) == [
        "0.weight", "0.bias", "0.lora_A", "0.lora_B",
        "2.weight", "2.bias", "2.lora_A", "2.lora_B",
        "4.weight", "4.bias",
    ]
    trainable = lora_parameters(ours) + ours[4].parameters()
    assert count_parameters(lora_parameters(ours)) == 2 * (8 + 6) + 2 * (6 + 6)
    assert count_parameters(trainable) == 52 + 6 * 3 + 3

    theirs = tlora.add_lora(mlp(nn, dtype=torch.float64), rank=2, alpha=4.0, exclude={"4"})
    theirs[4].requires_grad_(True)
    assert [k for k, p in theirs.named_parameters() if p.requires_grad] == [
        "0.lora_A", "0.lora_B", "2.lora_A", "2.lora_B", "4.weight", "4.bias"]
    assert tlora.count_parameters(p for p in theirs.parameters() if p.requires_grad) == 73

    for p in lora_parameters(ours):  # make the adapters do something
        p.data[...] = rng.standard_normal(p.shape)
    numpy_to_torch(ours, theirs)
    g = rng.standard_normal((4, 3))
    out = ours(x)
    ours.backward(g)
    out_t = theirs(torch.tensor(x))
    out_t.backward(torch.tensor(g))
    assert_close("model output", out, out_t, RTOL_64)
    for (name, p), (_, pt) in zip(ours.named_parameters(), theirs.named_parameters()):
        if pt.requires_grad:
            assert_close(f"{name} grad", p.grad, pt.grad, RTOL_64)
        else:
            assert pt.grad is None, f"torch {name} is frozen but got a gradient"
    for name in ["0.weight", "0.bias", "2.weight", "2.bias"]:
        assert dict(ours.named_parameters())[name].grad is None, f"NumPy {name} got a gradient"


def test_training_the_adapters_leaves_the_base_alone(rng):
    import companion.numpy_impl as numpy_impl

    model = add_lora(mlp(numpy_impl, rng=rng), rank=2, rng=rng)
    frozen = {k: v.copy() for k, v in model.state_dict().items() if "lora" not in k}
    opt = SGD(lora_parameters(model), lr=0.1)
    x, g = rng.standard_normal((4, 8)), rng.standard_normal((4, 3))
    for _ in range(3):
        opt.zero_grad()
        model(x)
        model.backward(g)
        opt.step()
    state = model.state_dict()
    for k, v in frozen.items():
        np.testing.assert_array_equal(state[k], v, err_msg=f"frozen {k} changed")
    assert np.abs(state["4.lora_B"]).max() > 0, "the adapters did not train"


@pytest.mark.parametrize("rank", [5, 100])
def test_rank_larger_than_the_layer_is_refused(rank, rng):
    message = r"rank must be at most min\(in_features, out_features\) = 4.*got " + str(rank)
    with pytest.raises(ValueError, match=message):
        LoRALinear(7, 4, rank, rng=rng)
    with pytest.raises(ValueError, match="rank must be at most"):
        tlora.LoRALinear(7, 4, rank)
    with pytest.raises(ValueError, match="rank must be at most"):
        add_lora(Sequential(Linear(3, 9, rng=rng)), rank=rank)


@pytest.mark.parametrize("rank", [0, -1, 2.0, True])
def test_rank_must_be_a_positive_int(rank):
    with pytest.raises(ValueError, match="rank must be a positive int"):
        LoRALinear(7, 4, rank)


@pytest.mark.parametrize("alpha", [0, -1.0, float("nan"), float("inf")])
def test_alpha_must_be_positive(alpha):
    with pytest.raises(ValueError, match="alpha must be a positive finite number"):
        LoRALinear(7, 4, 2, alpha)
    with pytest.raises(ValueError, match="alpha must be a positive finite number"):
        tlora.LoRALinear(7, 4, 2, alpha)


@pytest.mark.parametrize("alpha", ["8", None, True])
def test_alpha_must_be_a_number(alpha):
    with pytest.raises(TypeError, match="alpha must be a positive number"):
        LoRALinear(7, 4, 2, alpha)


def test_bad_input_is_named(rng):
    layer = LoRALinear(5, 3, 2, rng=rng)
    with pytest.raises(ValueError, match=r"input must have shape \(\.\.\., 5\), got \(4, 6\)"):
        layer(rng.standard_normal((4, 6)))
    with pytest.raises(TypeError, match="input has dtype float32 but .* parameters are float64"):
        layer(rng.standard_normal((4, 5)).astype(np.float32))
    with pytest.raises(RuntimeError, match="needs a forward pass first"):
        LoRALinear(5, 3, 2, rng=rng).backward(np.zeros((4, 3)))
    with pytest.raises(TypeError, match="from_linear needs a numpy_impl.Linear"):
        LoRALinear.from_linear(ReLU(), 2)


def test_seeded_adapters_repeat():
    a = LoRALinear(6, 4, 2, rng=np.random.default_rng(3)).state_dict()
    b = LoRALinear(6, 4, 2, rng=np.random.default_rng(3)).state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
