"""Time one training step (forward, loss, backward, Adam step): NumPy reference vs torch, CPU.

Both run batch 128 in float32 on the CPU with the same number of threads, from the same weights.
Each timing is the median of ``--repeats`` steps after a few warm-up steps; the table gives
milliseconds per step and the ratio NumPy / torch.

    python benchmarks/bench_train_step.py --threads 2 --repeats 20 --models mlp cnn lenet

The thread count must be fixed before NumPy loads its BLAS library, so this script reads its
arguments first and sets OMP_NUM_THREADS / OPENBLAS_NUM_THREADS / MKL_NUM_THREADS before it
imports NumPy (threadpoolctl is used instead when it is installed).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time one training step (forward, loss, backward, Adam) of the book's models, "
        "NumPy vs torch on the CPU, batch 128, float32, same thread count."
    )
    parser.add_argument("--threads", type=int, default=1, help="threads for both NumPy's BLAS and torch (default 1)")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per model; the median is reported (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--batch", type=int, default=128, help="batch size (default 128)")
    parser.add_argument(
        "--models", nargs="+", default=["mlp", "cnn", "lenet"], choices=["mlp", "cnn", "lenet"],
        help="which models (default: all three)",
    )
    parser.add_argument(
        "--profile", action="store_true",
        help="also print the NumPy model's forward and backward time per layer",
    )
    args = parser.parse_args(argv)
    if args.threads < 1 or args.repeats < 1 or args.warmup < 0 or args.batch < 1:
        parser.error("--threads, --repeats and --batch must be >= 1, --warmup >= 0")
    return args


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for var in THREAD_VARIABLES:  # must happen before NumPy is imported
        os.environ[var] = str(ARGS.threads)

import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
from companion.models import get_spec  # noqa: E402
from companion.numpy_impl import Adam as NumpyAdam  # noqa: E402
from companion.numpy_impl import build as numpy_build  # noqa: E402
from companion.numpy_impl.losses import CrossEntropyLoss  # noqa: E402
from companion.torch_impl import build as torch_build  # noqa: E402
from companion.torch_impl import numpy_to_torch  # noqa: E402


def numpy_threads(requested: int) -> str:
    """How NumPy's BLAS threads were limited, for the printout."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        env = ", ".join(f"{v}={os.environ.get(v)}" for v in THREAD_VARIABLES)
        return f"{requested} (set by environment before import: {env})"
    pools = threadpool_info()
    return ", ".join(f"{p['internal_api']}={p['num_threads']}" for p in pools) or "no BLAS pool found"


def median_ms(step, warmup: int, repeats: int) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def make_steps(name: str, batch: int, seed: int = 0):
    """(numpy_step, torch_step, numpy_model, x, y): one training step on each side."""
    spec = get_spec(name)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *spec.input_shape)).astype(np.float32)
    y = rng.integers(0, 10, size=batch)
    np_model = numpy_build(spec, dtype=np.float32, seed=seed)
    t_model = numpy_to_torch(np_model, torch_build(spec, dtype=torch.float32, device="cpu"))
    np_loss, np_opt = CrossEntropyLoss(), NumpyAdam(np_model.parameters(), lr=1e-3)
    t_loss, t_opt = torch.nn.CrossEntropyLoss(), torch.optim.Adam(t_model.parameters(), lr=1e-3)
    x_t, y_t = torch.from_numpy(x), torch.from_numpy(y)

    def numpy_step():
        np_opt.zero_grad()
        np_loss.forward(np_model.forward(x), y)
        np_model.backward(np_loss.backward())
        np_opt.step()

    def torch_step():
        t_opt.zero_grad()
        t_loss(t_model(x_t), y_t).backward()
        t_opt.step()

    return numpy_step, torch_step, np_model, x, y


def profile_layers(np_model, x: np.ndarray, repeats: int) -> list[tuple[str, float, float]]:
    """Median forward and backward milliseconds of each NumPy layer on input ``x``."""
    inputs = []
    for layer in np_model:
        inputs.append(x)
        x = layer.forward(x)
    rows = []
    for i, (layer, x_in) in enumerate(zip(np_model, inputs)):
        y = layer.forward(x_in)
        dy = np.ones_like(y)
        fwd = median_ms(lambda: layer.forward(x_in), 1, repeats)

        def fwd_bwd():
            layer.forward(x_in)
            layer.backward(dy)

        both = median_ms(fwd_bwd, 1, repeats)
        rows.append((f"{i} {type(layer).__name__}", fwd, max(both - fwd, 0.0)))
    np_model.zero_grad()
    return rows


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    print(f"NumPy {np.__version__}, BLAS threads: {numpy_threads(args.threads)}")
    print(f"torch {torch.__version__}, threads: {torch.get_num_threads()}")
    print(f"batch {args.batch}, float32, CPU, median of {args.repeats} steps after {args.warmup} warm-up")
    print()
    header = f"{'model':<8}{'NumPy ms/step':>15}{'torch ms/step':>15}{'NumPy/torch':>13}"
    print(header)
    print("-" * len(header))
    profiles = {}
    for name in args.models:
        numpy_step, torch_step, np_model, x, _ = make_steps(name, args.batch)
        np_ms = median_ms(numpy_step, args.warmup, args.repeats)
        t_ms = median_ms(torch_step, args.warmup, args.repeats)
        print(f"{name:<8}{np_ms:>15.2f}{t_ms:>15.2f}{np_ms / t_ms:>12.2f}x", flush=True)
        if args.profile:
            profiles[name] = profile_layers(np_model, x, max(3, args.repeats // 2))
    for name, rows in profiles.items():
        print(f"\nNumPy {name}, per layer (ms): forward, backward")
        for layer, fwd, bwd in rows:
            print(f"  {layer:<16}{fwd:>9.2f}{bwd:>9.2f}")


if __name__ == "__main__":
    main(ARGS)
