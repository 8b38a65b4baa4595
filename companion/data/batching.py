"""Mini-batches: shuffle once per epoch (one permutation), then take consecutive slices.

Works on anything with ``len()`` and NumPy-style indexing by an integer array: NumPy arrays
for the NumPy implementation, torch tensors for the torch one.
"""

from __future__ import annotations

import numpy as np


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many batches an epoch over ``n`` samples has."""
    return n // batch_size if drop_last else -(-n // batch_size)


def iterate_minibatches(x, y, batch_size: int, *, shuffle: bool = True, rng=None,
                        drop_last: bool = False):
    """Yield ``(x_batch, y_batch)`` pairs covering the data once (one epoch).

    Parameters
    ----------
    x : (N, ...) array
        Inputs, e.g. (N, 1, 28, 28) images.
    y : (N, ...) array
        Targets, e.g. (N,) int64 labels.
    batch_size : int >= 1
    shuffle : bool
        Visit the samples in a random order (one permutation per call).
    rng : numpy.random.Generator or int
        Needed when ``shuffle``. An int seed gives the same order at every call; a Generator
        gives a new order at every call (its state advances), repeatable from its seed.
    drop_last : bool
        Drop the last batch when it has fewer than ``batch_size`` samples. Otherwise it is
        yielded, smaller.

    Yields
    ------
    x_batch : (B, ...) array, B = batch_size except perhaps for the last batch
    y_batch : (B, ...) array
        Views when ``shuffle`` is False, copies otherwise.
    """
    n = _check_batch_arguments(x, y, batch_size)  # checked now, not at the first next()
    order = _epoch_order(n, shuffle, rng)
    return _batches(x, y, batch_size, order, n - n % batch_size if drop_last else n)


def _batches(x, y, batch_size, order, stop):
    for start in range(0, stop, batch_size):
        if order is None:
            index = slice(start, start + batch_size)
        else:
            index = order[start:start + batch_size]
        yield x[index], y[index]


class BatchLoader:
    """A re-iterable mini-batch source: each ``for`` loop over it is one epoch.

    With ``shuffle``, every epoch has a new order drawn from one Generator, so a run is
    repeatable from its seed. ``len(loader)`` is the number of batches per epoch.

    Parameters
    ----------
    x, y, batch_size, shuffle, drop_last
        As in :func:`iterate_minibatches`.
    rng : numpy.random.Generator or int
        Needed when ``shuffle``; an int is turned into ``numpy.random.default_rng(rng)``.
    """

    def __init__(self, x, y, batch_size: int, *, shuffle: bool = True, rng=None,
                 drop_last: bool = False):
        self.n = _check_batch_arguments(x, y, batch_size)
        _epoch_order(0, shuffle, rng)  # checks rng
        self.x, self.y = x, y
        self.batch_size, self.shuffle, self.drop_last = batch_size, shuffle, drop_last
        self.rng = np.random.default_rng(rng) if shuffle else None

    def __len__(self) -> int:
        return num_batches(self.n, self.batch_size, self.drop_last)

    def __iter__(self):
        return iterate_minibatches(self.x, self.y, self.batch_size, shuffle=self.shuffle,
                                   rng=self.rng, drop_last=self.drop_last)


def _check_batch_arguments(x, y, batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length (one target per input), "
                         f"got {len(x)} and {len(y)}")
    return len(x)


def _epoch_order(n: int, shuffle: bool, rng):
    """A permutation of range(n) when shuffling, else None (keep the order)."""
    if not shuffle:
        return None
    if rng is None:
        raise ValueError("shuffle=True needs rng=: a numpy.random.Generator or an int seed, "
                         "so that the order can be repeated (or pass shuffle=False)")
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer, np.random.Generator)):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed, "
                        f"got {type(rng).__name__}")
    return np.random.default_rng(rng).permutation(n)
