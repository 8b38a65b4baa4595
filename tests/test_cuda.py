"""The parity tests on a CUDA GPU: NumPy on the CPU vs torch on the GPU, same weights.

Skipped on machines without CUDA. On the GPU:

* cuDNN is made deterministic and TF32 is switched off (``allow_tf32 = False``): TF32 rounds
  float32 matrix products and convolutions to a 10-bit mantissa, which no float32 parity
  tolerance survives.
* float64: 1e-10 relative, as on the CPU. cuDNN's float64 convolutions and cuBLAS sum in other
  orders than NumPy, so the differences are a few 1e-16 per operation, grown by Adam over 20
  steps as on the CPU (about 1e-13 there); 1e-10 leaves three orders of magnitude.
* float32: 1e-5 for one pass, as on the CPU; after Adam steps 2e-3 (see tests/test_parity.py for
  why float32 drifts under Adam), over 5 steps rather than 20: the GPU sums in yet another order,
  and the longer a float32 run, the likelier a ReLU or max-pool unit at its kink flips in one
  implementation and sends the two trajectories apart (a float32 effect, not a bug).
"""

import numpy as np
import pytest
import torch

from companion.parity import compare, train_both
from helpers_models import numpy_model, torch_model, twins
from companion.models import INPUT_SHAPE

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(
        not torch.cuda.is_available(),
        reason="CUDA not available: these parity tests run only on a machine with a GPU",
    ),
]

FLOAT64_RTOL = 1e-10
FLOAT32_RTOL_ONE_PASS = 1e-5
FLOAT32_RTOL_AFTER_ADAM = 2e-3
STEPS = 20
FLOAT32_ADAM_STEPS = 5
BATCHES = {"mlp": 16, "lenet": 8, "cnn": 4}


@pytest.fixture(autouse=True)
def _deterministic_cuda():
    saved = (
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    )
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    yield
    (
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cuda.matmul.allow_tf32,
    ) = saved


def batch(name, dtype=np.float64, seed=0):
    spec = name
    rng = np.random.default_rng(seed)
    n = BATCHES[name]
    return rng.standard_normal((n, *INPUT_SHAPE)).astype(dtype), rng.integers(0, 10, size=n)


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_float64_parity_on_the_gpu(name):
    x, y = batch(name)
    report = compare(name, x, y, steps=STEPS, device="cuda")
    assert "cuda" in report.title, report.title
    assert len(report.rows) > 3
    report.assert_close(FLOAT64_RTOL)


@pytest.mark.parametrize("name", sorted(BATCHES))
def test_float32_parity_on_the_gpu(name):
    x, y = batch(name, np.float32)
    compare(name, x, y, steps=0, dtype=np.float32, device="cuda").assert_close(FLOAT32_RTOL_ONE_PASS)
    trained = compare(name, x, y, steps=FLOAT32_ADAM_STEPS, dtype=np.float32, device="cuda")
    trained.assert_close(FLOAT32_RTOL_AFTER_ADAM)


def test_training_curves_agree_on_the_gpu():
    spec = "lenet"
    rng = np.random.default_rng(5)
    batches = [(rng.standard_normal((16, *INPUT_SHAPE)), rng.integers(0, 10, 16)) for _ in range(10)]
    result = train_both("lenet", batches, device="cuda")
    np.testing.assert_allclose(result.numpy_losses, result.torch_losses, rtol=FLOAT64_RTOL, atol=0,
                               err_msg="loss curves, NumPy (CPU) vs torch (GPU)")
    assert next(result.torch_model.parameters()).is_cuda, "the torch model is not on the GPU"
    result.report.assert_close(FLOAT64_RTOL)
