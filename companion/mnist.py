"""``python -m companion.mnist``: train the book's MNIST models from the command line.

Examples::

    python -m companion.mnist --model cnn --impl numpy --save cnn.npz     # the book's recipe
    python -m companion.mnist --model cnn --impl torch --load cnn.npz      # evaluate saved weights
    python -m companion.mnist --data-dir ../shared/data --model lenet --no-progress

The data come from ``companion.data.load_mnist``: the folder given with ``--data-dir`` (and
only that one), else ``$COMPANION_DATA_DIR``, else the per-user cache, else a verified download of
the official files. The command says how many training images it used (an offline folder may
hold only a subset).

NumPy's BLAS and torch each keep a pool of threads. The command gives each ``--threads`` threads
(default 1) and prints what is in force: the book's batches of 32 are too small for more threads
to pay, and threads that wait by spinning slow a run down many times over when the cores are
shared (see benchmarks/README.md).

Weights are saved and loaded by ``companion.weights`` (an ``.npz`` of the state dict, written
atomically); this module is the command line only.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from companion import models
from companion.data import DataError, load_mnist, random_shift
from companion.models import INITS, make_model
from companion.train import evaluate, fit
from companion.weights import WeightsError, model_holding, read_weights, save_weights

PROG = "python -m companion.mnist"

__all__ = ["main", "build_parser", "RECIPES"]

# ================================================================================================
# The book's recipes
# ================================================================================================


#: The book's training recipe for each model (chapter 8): Adam with the learning rate falling
#: linearly from ``lr`` to 0 over the run, batches of 32, random shifts of up to ``shift`` pixels.
#: Chosen on a validation split of the offline 22,699-image training prefix; with these the NumPy
#: models reach 97.5 % (MLP) and 98.8 % (CNN, LeNet) on the official test set.
RECIPES = {
    "mlp": {"epochs": 8, "lr": 2e-3, "batch_size": 32, "shift": 1},
    "cnn": {"epochs": 3, "lr": 2e-3, "batch_size": 32, "shift": 1},
    "lenet": {"epochs": 5, "lr": 3e-3, "batch_size": 32, "shift": 1},
}

# ================================================================================================
# The command line
# ================================================================================================


def _argument_type(convert, is_valid, expected: str):
    """An argparse ``type=``: ``convert`` the text, then require ``is_valid`` of the value.

    Both failures exit with "expected <expected>, got <what came>", naming the option.
    """

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not is_valid(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


_positive_int = _argument_type(int, lambda v: v >= 1, "a positive integer")
_non_negative_int = _argument_type(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _argument_type(float, lambda v: 0 < v < float("inf"), "a finite number > 0")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument gets one line (argparse prints the whole usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m companion.mnist``."""
    parser = _Parser(
        prog=PROG,
        description="Train one of the book's MNIST models (NumPy reference or torch twin), "
                    "report its test accuracy, and save its weights.",
        epilog="Data: --data-dir (only that folder), else $COMPANION_DATA_DIR, else the "
               "per-user cache, else a verified download of the official files. Ctrl-C stops "
               "a run (exit status 130); nothing half-written is left.",
    )
    parser.add_argument("--model", choices=sorted(models.MODELS), default=None,
                        help="the architecture (default: cnn, the source's Keras CNN; with "
                             "--load, the one the weights file records)")
    parser.add_argument("--impl", choices=["numpy", "torch"], default="numpy",
                        help="the NumPy reference or its torch twin (default: numpy)")
    parser.add_argument("--epochs", type=_positive_int,
                        help="default: the book's recipe for the model ("
                             + ", ".join(f"{m} {r['epochs']}" for m, r in RECIPES.items()) + ")")
    parser.add_argument("--batch-size", type=_positive_int, help="default: 32")
    parser.add_argument("--lr", type=_positive_float,
                        help="Adam's learning rate at the first step (default: the recipe's, "
                             + ", ".join(f"{m} {r['lr']:g}" for m, r in RECIPES.items()) + ")")
    parser.add_argument("--lr-schedule", choices=["linear", "exponential"], default="linear",
                        help="linear: fall to 0 over the run (default); exponential: multiply "
                             "by --lr-decay after each epoch")
    parser.add_argument("--lr-decay", type=_positive_float, default=1.0,
                        help="the exponential schedule's factor per epoch (default: 1, constant)")
    parser.add_argument("--augment", type=_non_negative_int, metavar="PIXELS",
                        help="shift training images randomly by up to this many pixels "
                             "(default: 1; 0 switches augmentation off)")
    parser.add_argument("--init", choices=INITS, default="keras",
                        help="initial weights as Keras draws them (Glorot uniform, zero biases; "
                             "the source's) or as torch does (default: keras)")
    parser.add_argument("--seed", type=_non_negative_int, default=0,
                        help="initial weights, batch order, validation split (default: 0)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="a folder holding the four MNIST IDX files (or mnist/ with them)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="default: float32")
    parser.add_argument("--validation", type=_non_negative_int, default=0, metavar="N",
                        help="hold out N training images for validation curves (default: 0)")
    parser.add_argument("--save", type=Path, metavar="PATH.npz", help="save the weights here")
    parser.add_argument("--load", type=Path, metavar="PATH.npz",
                        help="evaluate saved weights on the test set instead of training")
    parser.add_argument("--device", help="torch device, e.g. cpu or cuda (torch only; "
                                         "default: CUDA when present)")
    parser.add_argument("--threads", type=_non_negative_int, default=1, metavar="N",
                        help="threads for NumPy's BLAS and for torch, each (default: 1, fastest "
                             "for batches of 32 and on a busy machine; 0: the libraries' own "
                             "defaults)")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="progress bars on stderr (default: only when stderr is a "
                             "terminal, so a log file gets none)")
    return parser


def _apply_recipe(args) -> None:
    """Fill the training options left unset from the book's recipe for ``args.model``."""
    recipe = RECIPES[args.model]
    for option, key in (("epochs", "epochs"), ("lr", "lr"), ("batch_size", "batch_size"),
                        ("augment", "shift")):
        if getattr(args, option) is None:
            setattr(args, option, recipe[key])


def _check_arguments(parser, args) -> None:
    if args.device is not None and args.impl != "torch":
        parser.error("--device applies to --impl torch only")
    if args.save is not None and args.save.suffix != ".npz":
        parser.error(f"--save must name a .npz file, got {str(args.save)!r}")
    if args.save is not None and not args.save.parent.is_dir():
        parser.error(f"--save {args.save}: the folder {args.save.parent} does not exist "
                     "(checked before training, so no work is lost)")
    if args.save is not None and (why := _cannot_write_in(args.save.parent)):
        parser.error(f"--save {args.save}: cannot write in the folder {args.save.parent} "
                     f"({why}; checked before training, so no work is lost)")
    if args.lr_schedule == "linear" and args.lr_decay != 1.0:
        parser.error("--lr-decay applies to --lr-schedule exponential only")
    if args.load is not None and args.save is not None:
        parser.error("--load evaluates saved weights; it does not train, so --save has nothing "
                     "new to save")


def _cannot_write_in(folder: Path) -> str | None:
    """Why no file can be created in ``folder``, or None if one can. Tried for real: os.access
    answers yes to root even on a read-only file system."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return None
    except OSError as err:
        return err.strerror or str(err)


def _error(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 1


def main(argv=None) -> int:
    """Run the command; returns the exit status (0 success, 1 error, 130 interrupted by
    Ctrl-C; bad arguments exit 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    args.saved_to = None
    try:
        with _thread_pools(args.threads) as threads:
            print(threads)
            return _run(args)
    except KeyboardInterrupt:
        done = (f"the weights were saved to {args.saved_to}" if args.saved_to
                else "nothing was saved")
        newline = "\n" if sys.stderr.isatty() else ""  # end the line the terminal echoed ^C on
        print(f"{newline}{PROG}: interrupted; {done}", file=sys.stderr)
        return 130


@contextmanager
def _thread_pools(n: int):
    """Give NumPy's BLAS pool (through threadpoolctl) and torch's intra-op pool ``n`` threads
    each while the block runs (0: leave the libraries' defaults); yields a line saying what is
    in force. The two pools never work at once here (an implementation uses one of them)."""
    import torch
    from threadpoolctl import threadpool_info, threadpool_limits

    torch_before = torch.get_num_threads()
    with threadpool_limits(limits=n or None, user_api="blas"):
        if n:
            torch.set_num_threads(n)
        try:
            pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
            counts = "/".join(str(c) for c in sorted({pool["num_threads"] for pool in pools}))
            names = ", ".join(sorted({pool["internal_api"] for pool in pools}))
            blas = f"{counts} ({names})" if pools else "(no BLAS library found)"
            yield (f"threads: BLAS {blas}, torch {torch.get_num_threads()}"
                   + ("; --threads 0: the libraries' defaults" if not n else ""))
        finally:
            torch.set_num_threads(torch_before)


def _run(args) -> int:
    """Load (or train) a model, evaluate it, save it; the exit status."""
    dtype = np.dtype(args.dtype)
    saved = None
    if args.load is not None:  # read the weights before the data: a bad file fails at once
        try:
            saved = read_weights(args.load, args.model)
        except WeightsError as err:
            return _error(str(err))
        args.model = saved.model
    else:
        args.model = args.model or "cnn"
        _apply_recipe(args)

    try:
        data = load_mnist(args.data_dir, validation_size=args.validation, seed=args.seed,
                          dtype=dtype, progress=args.progress)
    except DataError as err:
        return _error(err.render(root="--data-dir"))
    print(data.summary())

    try:
        if saved is not None:
            model = model_holding(saved.state, args.model, args.load, impl=args.impl,
                                  dtype=dtype, device=args.device)
            print(f"loaded {args.model} weights from {args.load} into the {args.impl} model")
        else:
            model = _train(args, data, dtype)
    except (WeightsError, ValueError, RuntimeError) as err:
        return _error(str(err))

    test_loss, test_acc = evaluate(model, data.x_test, data.y_test)
    n_train = data.n_train if saved is None else saved.n_train  # None: the file does not say
    print(f"test accuracy: {100 * test_acc:.2f}% (loss {test_loss:.4f}) on "
          f"{data.n_test:,} test images; {args.model}, {args.impl}, {args.dtype}"
          + ("" if n_train is None else f", trained on {n_train:,} images"))
    if args.save is not None:
        try:
            save_weights(model, args.save, model_name=args.model, n_train=data.n_train)
        except OSError as err:
            return _error(f"cannot save the weights: {err}")
        args.saved_to = args.save
        print(f"saved weights to {args.save}")
    return 0


def _train(args, data, dtype):
    model = make_model(args.model, args.impl, dtype=dtype, seed=args.seed, device=args.device,
                       init_scheme=args.init)
    augment = functools.partial(random_shift, max_shift=args.augment) if args.augment else None
    schedule = ("falling linearly to 0" if args.lr_schedule == "linear"
                else f"times {args.lr_decay:g} per epoch")
    print(f"training {args.model} ({args.impl}, {args.dtype}) for {args.epochs} epoch(s), "
          f"batch size {args.batch_size}, Adam lr {args.lr:g} {schedule}"
          + (f", random shifts up to {args.augment} px" if augment else ""))
    start = time.perf_counter()
    fit(model, data, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        lr_decay=args.lr_decay, lr_schedule=args.lr_schedule, seed=args.seed, augment=augment,
        progress=sys.stderr.isatty() if args.progress is None else args.progress,
        on_epoch_end=lambda epoch, history: print(history.epoch_line(epoch), flush=True))
    print(f"trained in {time.perf_counter() - start:.1f} s")
    return model


if __name__ == "__main__":
    sys.exit(main())
