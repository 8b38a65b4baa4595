"""The masked-reconstruction pretext task (``companion.numpy_impl.pretraining``).

The masked MSE's gradient is checked by finite differences (float64, < 1e-7) and against torch's
autograd on the same formula (1e-10 relative); the mask hides exactly the asked number of whole
patches per image, the same pixels in every channel, and is seeded.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from companion.numpy_impl.gradcheck import gradcheck
from companion.numpy_impl.losses import mse_loss
from companion.numpy_impl.pretraining import (
    add_gaussian_noise,
    mask_pixels,
    masked_mse_loss,
    masked_mse_loss_backward,
    patch_mask,
)
from helpers_numeric import RTOL_64, assert_close


def test_patch_mask_hides_whole_patches_exactly(rng):
    mask = patch_mask((5, 2, 28, 28), 7, 0.75, rng)
    assert mask.shape == (5, 1, 28, 28) and mask.dtype == np.bool_
    grid = mask[:, 0, ::7, ::7]  # one pixel per patch
    np.testing.assert_array_equal(mask, grid.repeat(7, 1).repeat(7, 2)[:, None])  # whole patches
    np.testing.assert_array_equal(grid.reshape(5, -1).sum(1), 12)  # 0.75 * 16 patches, each image
    assert not (grid == grid[0]).all(), "every image got the same mask"
    again = patch_mask((5, 2, 28, 28), 7, 0.75, np.random.default_rng(12345))  # the same seed
    np.testing.assert_array_equal(mask, again)


def test_patch_mask_hides_at_least_one_patch(rng):
    assert patch_mask((3, 1, 4, 4), 2, 0.01, rng).reshape(3, -1).sum(1).tolist() == [4, 4, 4]
    assert patch_mask((2, 1, 4, 4), 4, 1.0, rng).all()


@pytest.mark.parametrize(
    "args, error, match",
    [
        (((2, 1, 28, 28), 5, 0.5), ValueError, "not a multiple of patch_size 5"),
        (((2, 1, 28, 28), 7, 0.0), ValueError, r"mask_ratio must lie in \(0, 1\], got 0.0"),
        (((2, 1, 28, 28), 7, 1.5), ValueError, r"mask_ratio must lie in \(0, 1\]"),
        (((2, 1, 28, 28), 0, 0.5), ValueError, "patch_size must be a positive int"),
        (((28, 28), 7, 0.5), ValueError, r"shape must be \(N, C, H, W\)"),
    ],
)
def test_patch_mask_bad_arguments(args, error, match, rng):
    with pytest.raises(error, match=match):
        patch_mask(*args, rng)


def test_mask_pixels_and_noise(rng):
    x = rng.random((2, 3, 4, 4))
    mask = patch_mask(x.shape, 2, 0.5, rng)
    out = mask_pixels(x, mask, fill=-1.0)
    np.testing.assert_array_equal(out[np.broadcast_to(mask, x.shape)], -1.0)
    visible = ~np.broadcast_to(mask, x.shape)
    np.testing.assert_array_equal(out[visible], x[visible])
    assert out.dtype == x.dtype and x.min() >= 0  # the input is untouched
    noisy = add_gaussian_noise(x.astype(np.float32), 0.1, np.random.default_rng(0))
    assert noisy.dtype == np.float32 and abs(float((noisy - x).std()) - 0.1) < 0.03
    np.testing.assert_array_equal(add_gaussian_noise(x, 0.0, rng), x)


def test_masked_mse_gradcheck_and_torch_parity(rng):
    pred, target = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 2, 4, 4))
    mask = patch_mask(pred.shape, 2, 0.5, rng)
    report = gradcheck(
        (lambda p: masked_mse_loss(p, target, mask),
         lambda g, cache: masked_mse_loss_backward(cache, g)),
        pred, tol=1e-7,
    )
    assert report.passed, str(report)

    loss, cache = masked_mse_loss(pred, target, mask)
    p = torch.tensor(pred, requires_grad=True)
    m = torch.tensor(np.broadcast_to(mask, pred.shape).astype(np.float64))
    loss_t = ((p - torch.tensor(target)) ** 2 * m).sum() / m.sum()
    loss_t.backward()
    assert_close("masked mse", loss, loss_t, RTOL_64)
    assert_close("masked mse grad", masked_mse_loss_backward(cache), p.grad, RTOL_64)


def test_masked_mse_counts_only_masked_pixels(rng):
    pred, target = rng.standard_normal((2, 1, 4, 4)), rng.standard_normal((2, 1, 4, 4))
    full = np.ones((2, 1, 4, 4), bool)
    want = mse_loss(pred, target)[0]
    assert masked_mse_loss(pred, target, full)[0] == pytest.approx(want, rel=1e-14)
    mask = np.zeros_like(full)
    mask[0, 0, 0, 0] = True
    loss, cache = masked_mse_loss(pred, target, mask)
    assert loss == pytest.approx((pred[0, 0, 0, 0] - target[0, 0, 0, 0]) ** 2, rel=1e-14)
    grad = masked_mse_loss_backward(cache)
    assert np.count_nonzero(grad) == 1  # visible pixels get no gradient


@pytest.mark.parametrize(
    "mask, error, match",
    [
        (np.zeros((2, 1, 4, 4), bool), ValueError, "mask selects no element"),
        (np.ones((2, 1, 3, 4), bool), ValueError,
         r"does not broadcast to the input's shape \(2, 1, 4, 4\)"),
        (np.ones((2, 1, 4, 4)), TypeError, "mask must be a numpy.ndarray of bool, got float64"),
    ],
)
def test_masked_mse_bad_mask(mask, error, match, rng):
    x = rng.standard_normal((2, 1, 4, 4))
    with pytest.raises(error, match=match):
        masked_mse_loss(x, x, mask)


def test_masked_mse_shape_and_dtype_mismatch(rng):
    x, mask = rng.standard_normal((2, 1, 4, 4)), np.ones((2, 1, 4, 4), bool)
    with pytest.raises(ValueError, match=r"target must have shape"):
        masked_mse_loss(x, x[:1], mask)
    with pytest.raises(TypeError, match="target must have dtype float64, got float32"):
        masked_mse_loss(x, x.astype(np.float32), mask)
