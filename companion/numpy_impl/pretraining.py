"""A self-supervised pretext task for images: hide patches, reconstruct them.

No label is used: the image is its own target. Hide part of it (``patch_mask`` picks a random
subset of square patches per image, as masked autoencoders do, He et al. 2021), optionally add
noise (the denoising autoencoder, Vincent et al. 2008), and train a network to put back what was
hidden. The loss is the mean squared error over the hidden pixels only: reconstructing the
visible ones would be copying.

    corrupted = mask_pixels(x, mask) (+ add_gaussian_noise(...))
    loss, cache = masked_mse_loss(model(corrupted), x, mask)
    dpred = masked_mse_loss_backward(cache)

``masked_mse_loss(pred, target, mask) = sum(mask * (pred - target)^2) / count(mask)`` with the
mask broadcast to the images' shape; its gradient is ``2 * mask * (pred - target) / count``.
With a mask that is True everywhere it is ``mse_loss``.
"""

from __future__ import annotations

import numpy as np

from companion._checks import (
    check_array,
    check_fraction,
    check_mask,
    check_positive_int,
    check_rng,
)

__all__ = [
    "patch_mask",
    "mask_pixels",
    "add_gaussian_noise",
    "masked_mse_loss",
    "masked_mse_loss_backward",
]


def patch_mask(shape, patch_size: int, mask_ratio: float, rng) -> np.ndarray:
    """A random mask hiding ``round(mask_ratio * L)`` of the ``L`` square patches of each image.

    Parameters
    ----------
    shape : (N, C, H, W), the images' shape; ``H`` and ``W`` multiples of ``patch_size``
    patch_size : int
    mask_ratio : float in (0, 1]; at least one patch is hidden per image
    rng : numpy.random.Generator

    Returns
    -------
    mask : (N, 1, H, W) bool, True where hidden (the same pixels in every channel)
    """
    if len(shape) != 4:
        raise ValueError(f"shape must be (N, C, H, W), got {tuple(shape)}")
    n, _, h, w = shape
    p = check_positive_int(patch_size, "patch_size")
    if h % p or w % p:
        raise ValueError(f"image size {h}x{w} is not a multiple of patch_size {p}")
    ratio, rng = check_fraction(mask_ratio, "mask_ratio"), check_rng(rng)
    gh, gw = h // p, w // p
    hidden = max(1, round(ratio * gh * gw))
    # Random ranks 0..L-1 per image (argsort of uniform noise); the lowest `hidden` are masked:
    # exactly `hidden` patches per image, drawn without replacement, no loop over images.
    ranks = np.argsort(np.argsort(rng.random((n, gh * gw)), axis=1), axis=1)
    grid = (ranks < hidden).reshape(n, 1, gh, gw)
    return grid.repeat(p, axis=2).repeat(p, axis=3)


def mask_pixels(x: np.ndarray, mask: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``x`` with the pixels under ``mask`` set to ``fill`` (a new array).

    x : (N, C, H, W) float; mask : bool, broadcastable to ``x`` (e.g. (N, 1, H, W)).
    """
    check_mask(mask, check_array(x, "input", ndim=4))
    return np.where(mask, np.asarray(fill, dtype=x.dtype), x)


def add_gaussian_noise(x: np.ndarray, std: float, rng) -> np.ndarray:
    """``x + std * z`` with ``z ~ N(0, 1)`` drawn from ``rng``, in ``x``'s dtype."""
    check_array(x, "input")
    if not (isinstance(std, (int, float)) and np.isfinite(std) and std >= 0):
        raise ValueError(f"std must be a finite number >= 0, got {std!r}")
    return x + (std * check_rng(rng).standard_normal(x.shape)).astype(x.dtype)


def masked_mse_loss(pred: np.ndarray, target: np.ndarray, mask: np.ndarray):
    """Mean squared error over the masked elements only.

    Parameters
    ----------
    pred, target : float arrays of one shape and dtype, e.g. (N, C, H, W)
    mask : bool, broadcastable to ``pred``; True where the error counts

    Returns
    -------
    loss : float, ``sum(mask * (pred - target)^2) / count``, count the number of True elements
        of the broadcast mask
    cache : for ``masked_mse_loss_backward``
    """
    check_array(pred, "input")
    check_array(target, "target", dtype=pred.dtype, shape=pred.shape)
    weight = np.broadcast_to(check_mask(mask, pred), pred.shape)
    count = int(np.count_nonzero(weight))
    diff = np.where(weight, pred - target, 0.0).astype(pred.dtype)
    return float(np.sum(diff * diff) / count), (diff, count)


def masked_mse_loss_backward(cache, dloss: float = 1.0) -> np.ndarray:
    """``d loss / d pred = 2 * mask * (pred - target) / count``, shape of ``pred``."""
    diff, count = cache
    return diff * (2.0 * dloss / count)
