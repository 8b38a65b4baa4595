"""The sequence models of companion.models, each one function for both implementations:
``char_gpt`` (a small GPT) and ``row_rnn`` (an LSTM/GRU reading MNIST rows).

* identical state_dict keys and shapes from the NumPy and the torch namespace, tied and untied;
* float64 parity of outputs and every parameter gradient (< 1e-10 relative, RTOL_64);
* the GPT trained 20 Adam steps by both implementations from the same weights: every loss and
  every weight equal (tolerance below);
* a sequence longer than the position table: a clear error.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion import models, numpy_impl
from companion.numpy_impl import Adam, CrossEntropyLoss
from companion.torch_impl import numpy_to_torch
from helpers_numeric import RTOL_64, assert_close

# After 20 Adam steps every weight agrees to RTOL_64 relative to max(its largest entry, 1): a
# purely relative bar would fail on one tensor for a reason that is not a bug. The key block of
# ``in_proj_bias`` has a true gradient of exactly zero (adding a constant to every score of a
# softmax row changes nothing, and q . b_k is such a constant), so both libraries feed Adam
# rounding noise of ~1e-17 there, and Adam turns noise into steps of ~lr * 1e-9; that bias stays
# near 1e-11, where a relative comparison measures noise. Measured worst on this bar (seed 7):
# 3e-12 untied, 2e-11 tied, both in that bias.


def assert_weights_close(name, ours, theirs, rtol=RTOL_64):
    theirs = theirs.detach().numpy()
    diff = np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1.0)
    assert diff <= rtol, f"{name}: difference {diff:.3e} exceeds {rtol:.0e}"


V, BLOCK, WIDTH, HEADS, LAYERS = 13, 8, 16, 2, 2


def gpt_pair(tie=False, dropout=0.0, seed=0):
    ours = models.char_gpt(numpy_impl, V, BLOCK, WIDTH, HEADS, LAYERS, dropout=dropout,
                           tie_weights=tie, rng=np.random.default_rng(seed))
    theirs = models.char_gpt(torch.nn, V, BLOCK, WIDTH, HEADS, LAYERS, dropout=dropout,
                             tie_weights=tie, dtype=torch.float64)
    return ours, numpy_to_torch(ours, theirs)


def batch(rng, n=3, length=BLOCK):
    tokens = rng.integers(0, V, (n, length + 1))
    return tokens[:, :-1], tokens[:, 1:]


def numpy_loss(model, idx, targets):
    loss_fn = CrossEntropyLoss()
    logits = model(idx)
    loss = loss_fn(logits.reshape(-1, V), targets.reshape(-1))
    model.backward(loss_fn.backward().reshape(logits.shape))
    return loss


def torch_loss(model, idx, targets):
    logits = model(torch.from_numpy(idx))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V),
                                             torch.from_numpy(targets).reshape(-1))
    loss.backward()
    return loss.item()


@pytest.mark.parametrize("tie", [False, True])
def test_gpt_state_dicts_match_and_tied_weights_are_one_parameter(tie):
    ours, theirs = gpt_pair(tie)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert len(ours.parameters()) == len(list(theirs.parameters()))
    assert (ours.head.weight is ours.token_embedding.weight) == tie


@pytest.mark.parametrize("tie", [False, True])
@pytest.mark.parametrize("length", [BLOCK, 5, 1])
def test_gpt_forward_and_gradients_match_torch(rng, tie, length):
    ours, theirs = gpt_pair(tie)
    idx, targets = batch(rng, 3, length)
    loss = numpy_loss(ours, idx, targets)
    tloss = torch_loss(theirs, idx, targets)
    assert abs(loss - tloss) <= RTOL_64 * abs(tloss), (loss, tloss)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        if name in tparams:  # a tied weight is listed once by torch, under its first name
            assert_close(f"{name}.grad", p.grad, tparams[name].grad, RTOL_64)


@pytest.mark.parametrize("tie", [False, True])
def test_gpt_twenty_adam_steps_match_torch(tie):
    rng = np.random.default_rng(7)
    ours, theirs = gpt_pair(tie)
    opt = Adam(ours.parameters(), lr=3e-3)
    topt = torch.optim.Adam(theirs.parameters(), lr=3e-3)
    losses, tlosses = [], []
    for _ in range(20):
        idx, targets = batch(rng, 4)
        ours.zero_grad()
        topt.zero_grad()
        losses.append(numpy_loss(ours, idx, targets))
        tlosses.append(torch_loss(theirs, idx, targets))
        opt.step()
        topt.step()
    assert_close("losses over 20 steps", np.array(losses), np.array(tlosses), RTOL_64)
    assert losses[-1] < losses[0] - 0.1, "the GPT should learn something in 20 steps"
    tstate = theirs.state_dict()
    for name, w in ours.state_dict().items():
        assert_weights_close(f"{name} after 20 steps", w, tstate[name])


def test_gpt_rejects_sequences_longer_than_the_position_table(rng):
    ours, theirs = gpt_pair()
    idx = rng.integers(0, V, (2, BLOCK + 3))
    with pytest.raises(ValueError, match=f"11 tokens is longer than the position table: "
                                         f"block_size={BLOCK}"):
        ours(idx)
    with pytest.raises(ValueError, match="block_size"):
        theirs(torch.from_numpy(idx))
    with pytest.raises(IndexError, match=r"\[0, 12\] for num_embeddings=13"):
        ours(np.full((1, 3), V))


@pytest.mark.parametrize("cell", ["LSTM", "GRU"])
def test_row_rnn_matches_torch(rng, cell):
    ours = models.row_rnn(numpy_impl, cell, 12, rng=rng)
    theirs = numpy_to_torch(ours, models.row_rnn(torch.nn, cell, 12, dtype=torch.float64))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "fc.weight", "fc.bias"]
    x = rng.standard_normal((5, 1, 28, 28))
    g = rng.standard_normal((5, 10))
    tx = torch.tensor(x, requires_grad=True)
    out = ours(x)
    tout = theirs(tx)
    tout.backward(torch.from_numpy(g))
    assert_close(f"{cell} logits", out, tout, RTOL_64)
    assert_close(f"{cell} dx", ours.backward(g), tx.grad, RTOL_64)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(f"{cell} {name}.grad", p.grad, tparams[name].grad, RTOL_64)


def test_row_rnn_rejects_unknown_cell():
    with pytest.raises(ValueError, match="cell must be 'LSTM' or 'GRU', got 'RNN'"):
        models.row_rnn(numpy_impl, "RNN")
