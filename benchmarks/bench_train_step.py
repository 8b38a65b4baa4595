"""One training step (forward, loss, backward, Adam step): NumPy reference vs torch, CPU.

Both run the same model, built by the same function of ``companion.models``, from the same
weights, in float32 on the CPU with the same number of threads. The two steps are called in turn,
NumPy then torch, ``--repeats`` times, so that a busy machine slows both alike; the table gives
the median milliseconds of each, the median of the call-by-call ratios NumPy / torch and their
25-75 % spread, in wall time and in CPU time.

    python benchmarks/bench_train_step.py --threads 1 --repeats 30 --models mlp cnn lenet

``--memory`` instead measures the peak memory of a short training run with evaluation, each
implementation in a fresh process (``ru_maxrss``), so the two can be compared.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))
from companion import models, numpy_impl  # noqa: E402
from companion.torch_impl import numpy_to_torch  # noqa: E402
from timing import alternate, ratio_header, ratio_row, set_threads  # noqa: E402

MODELS = sorted(models.MODELS)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads per pool (default 1)")
    parser.add_argument("--repeats", type=int, default=30, help="timed steps each (default 30)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument("--models", nargs="+", default=MODELS, choices=MODELS)
    parser.add_argument("--memory", action="store_true",
                        help="compare peak memory of 20 training steps and an evaluation")
    parser.add_argument("--memory-run", nargs=2, metavar=("MODEL", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if min(args.threads, args.repeats, args.batch) < 1:
        parser.error("--threads, --repeats and --batch must be >= 1")
    return args


def make_steps(name: str, batch: int, seed: int = 0):
    """``{"numpy": step, "torch": step}``: one training step on each side, same weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *models.INPUT_SHAPE)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    build = models.MODELS[name]
    np_model = build(numpy_impl, dtype=np.float32, rng=np.random.default_rng(seed))
    t_model = numpy_to_torch(np_model, build(torch.nn, dtype=torch.float32))
    np_loss, np_opt = numpy_impl.CrossEntropyLoss(), numpy_impl.Adam(np_model.parameters())
    t_loss, t_opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(t_model.parameters())
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

    def numpy_step():
        np_opt.zero_grad()
        np_loss(np_model(x), y)
        np_model.backward(np_loss.backward(), input_grad=False)
        np_opt.step()

    def torch_step():
        t_opt.zero_grad()
        t_loss(t_model(x_t), y_t).backward()
        t_opt.step()

    return {"numpy": numpy_step, "torch": torch_step}


def memory_run(name: str, impl: str) -> None:
    """20 training steps of batch 128, then an evaluation of 1,000 images; print peak MiB."""
    from companion.train import evaluate, fit

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2560, *models.INPUT_SHAPE)).astype(np.float32)
    y = rng.integers(0, 10, size=2560)
    model = models.make_model(name, impl, dtype=np.float32, device="cpu")
    fit(model, (x, y, x[:1000], y[:1000]), epochs=1, batch_size=128, progress=False)
    evaluate(model, x[:1000], y[:1000])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def compare_memory(args) -> None:
    print(f"{'model':<8}{'numpy MiB':>11}{'torch MiB':>11}  (peak RSS: 20 steps + evaluation)")
    for name in args.models:
        peaks = [
            float(subprocess.run([sys.executable, __file__, "--memory-run", name, impl],
                                 capture_output=True, text=True, check=True).stdout.split()[-1])
            for impl in ("numpy", "torch")
        ]
        print(f"{name:<8}{peaks[0]:>11.0f}{peaks[1]:>11.0f}")


def main(args: argparse.Namespace) -> None:
    print(set_threads(args.threads))
    if args.memory_run:
        return memory_run(*args.memory_run)
    if args.memory:
        return compare_memory(args)
    print(f"NumPy {np.__version__}, torch {torch.__version__}; batch {args.batch}, float32, "
          f"CPU; {args.repeats} alternating steps each")
    print(ratio_header())
    for name in args.models:
        print(ratio_row(name, alternate(make_steps(name, args.batch), args.repeats)), flush=True)


if __name__ == "__main__":
    main(parse_args())
