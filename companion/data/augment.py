"""Data augmentation for image batches: random shifts by a few pixels.

A handwritten digit moved by a pixel or two is still the same digit, so showing the network
shifted copies is free extra training data. ``random_shift`` does it for a whole batch at once,
with no loop over images: pad every image with zeros, take all the shifted windows of the padded
image as one strided view, and pick one window per image by fancy indexing.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["random_shift"]


def random_shift(x: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Shift each image by its own random offset, filling the uncovered border with zeros.

    Parameters
    ----------
    x : (N, C, H, W) array
        A batch of images (any dtype; zero is the background).
    rng : numpy.random.Generator
        Draws the offsets: for each image ``dy`` and ``dx`` uniform in
        ``{-max_shift, ..., max_shift}``, independently.
    max_shift : int >= 0
        The largest shift in pixels, in each direction.

    Returns
    -------
    (N, C, H, W) array of ``x``'s dtype, a new array: ``out[n, c, i, j] = x[n, c, i - dy, j - dx]``
    where that pixel exists, else 0. A positive ``dy`` moves the digit down, ``dx`` right.

    Raises
    ------
    TypeError
        ``x`` not an ndarray, or ``rng`` not a Generator.
    ValueError
        ``x`` not 4-D, or ``max_shift`` negative or not an int.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy.ndarray of images, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"x must have shape (N, C, H, W), got {x.shape}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        "use np.random.default_rng(seed)")
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
        raise ValueError(f"max_shift must be an int >= 0, got {max_shift!r}")
    n, _, h, w = x.shape
    s = int(max_shift)
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)))
    # windows[n, c, a, b] is the H x W window whose top-left corner is (a, b): a view, no copy.
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, C, 2s+1, 2s+1, H, W)
    # Window (a, b) = (s - dy, s - dx) shows the image moved by (dy, dx).
    a = rng.integers(0, 2 * s + 1, size=n)
    b = rng.integers(0, 2 * s + 1, size=n)
    return windows[np.arange(n), :, a, b]  # (N, C, H, W): one window per image
