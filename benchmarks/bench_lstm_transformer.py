"""Sequence models, one training step each: NumPy reference vs torch, CPU, float32.

Two steps (forward, cross-entropy, backward, Adam update), each model built by one function of
``companion.models`` for both implementations, from the same weights:

* ``lstm``: ``row_rnn(nn, "LSTM")``, batch 64, 28 steps of 28 inputs, hidden 128, Linear to 10;
* ``transformer``: ``char_gpt(nn, ...)``, batch 32, 64 tokens, width 128, 4 heads, 2 causal
  pre-norm layers (feed-forward 512, GELU), a vocabulary of 96 characters.

The two implementations are called in turn, NumPy then torch, ``--repeats`` times, so that a
busy machine slows both alike; the table gives the median milliseconds of each, the median of the
call-by-call ratios NumPy / torch and their 25-75 % spread, in wall time and in CPU time
(``time.process_time``, which other processes on the machine do not inflate).

    python benchmarks/bench_lstm_transformer.py --threads 1 --repeats 20
    python benchmarks/bench_lstm_transformer.py --threads 2 --models transformer
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from companion import models, numpy_impl  # noqa: E402
from companion.torch_impl import numpy_to_torch  # noqa: E402
from timing import alternate, ratio_header, ratio_row, set_threads  # noqa: E402

VOCAB = 96


def build(name: str, nn, **factory):
    if name == "lstm":
        return models.row_rnn(nn, "LSTM", hidden_size=128, **factory)
    return models.char_gpt(nn, VOCAB, block_size=64, d_model=128, nhead=4, num_layers=2,
                           **factory)


def batch(name: str, rng):
    """Inputs and targets of one step, and how the logits are flattened for the loss."""
    if name == "lstm":
        return rng.standard_normal((64, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, 64)
    tokens = rng.integers(0, VOCAB, (32, 65))
    return tokens[:, :-1], tokens[:, 1:].reshape(-1)


def make_steps(name: str, seed: int = 0):
    """``{"numpy": step, "torch": step}``: one training step on each side, same weights."""
    rng = np.random.default_rng(seed)
    x, y = batch(name, rng)
    np_model = build(name, numpy_impl, dtype=np.float32, rng=np.random.default_rng(seed))
    t_model = numpy_to_torch(np_model, build(name, torch.nn, dtype=torch.float32))
    np_loss, np_opt = numpy_impl.CrossEntropyLoss(), numpy_impl.Adam(np_model.parameters())
    t_loss, t_opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(t_model.parameters())
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

    def numpy_step():
        np_opt.zero_grad()
        logits = np_model(x)
        np_loss(logits.reshape(len(y), -1), y)
        np_model.backward(np_loss.backward().reshape(logits.shape), input_grad=False)
        np_opt.step()

    def torch_step():
        t_opt.zero_grad()
        t_loss(t_model(x_t).reshape(len(y), -1), y_t).backward()
        t_opt.step()

    return {"numpy": numpy_step, "torch": torch_step}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads per pool (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps each (default 20)")
    parser.add_argument("--models", nargs="+", default=["lstm", "transformer"],
                        choices=["lstm", "transformer"])
    args = parser.parse_args(argv)
    if min(args.threads, args.repeats) < 1:
        parser.error("--threads and --repeats must be >= 1")
    print(set_threads(args.threads))
    print(f"NumPy {np.__version__}, torch {torch.__version__}; float32, CPU; "
          f"{args.repeats} alternating steps each")
    print(ratio_header())
    for name in args.models:
        print(ratio_row(name, alternate(make_steps(name), args.repeats)), flush=True)


if __name__ == "__main__":
    main()
