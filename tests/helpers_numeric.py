"""Comparison helpers shared by the NumPy-vs-torch tests.

``rel_diff(a, b) = max|a - b| / max(max|b|, tiny)``: the largest element-wise difference, relative
to the largest magnitude of the reference ``b`` (torch's result). It is scale-free and, unlike an
element-wise relative error, is not blown up by entries that are near zero in both.

Tolerances used across the tests:

* ``RTOL_64 = 1e-10`` in float64. Both libraries compute the same sums in possibly different
  orders; each rounding is 1.1e-16 relative and a sum of ``n`` terms can accumulate about
  ``n * 1.1e-16``, so even a 10,000-term dot product stays near 1e-12, far inside the bar.
* ``RTOL_32 = 1e-5`` in float32: one rounding is 6e-8 relative, and the longest accumulations
  in these tests (a few hundred terms in a convolution or matrix product, pairwise or blocked
  differently by each library) leave a few 1e-7 to 1e-6; 1e-5 keeps a margin of ten.
"""

from __future__ import annotations

import numpy as np

RTOL_64 = 1e-10
RTOL_32 = 1e-5
TINY = np.finfo(np.float64).tiny


def to_numpy(value) -> np.ndarray:
    """A torch tensor (detached, on the CPU) or array-like, as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def rel_diff(a, b) -> float:
    """``max|a - b| / max(max|b|, tiny)``, computed in float64. Shapes must match."""
    a = to_numpy(a).astype(np.float64)
    b = to_numpy(b).astype(np.float64)
    if a.shape != b.shape:
        raise AssertionError(f"shape mismatch: {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), TINY))


def rtol_for(dtype) -> float:
    """The tolerance for a comparison in ``dtype`` (float64 or float32)."""
    return RTOL_64 if np.dtype(dtype) == np.float64 else RTOL_32


def assert_close(name: str, ours, theirs, rtol: float) -> None:
    """Fail with the tensor's ``name`` and the measured difference unless ``rel_diff <= rtol``."""
    d = rel_diff(ours, theirs)
    assert d <= rtol, f"{name}: relative difference {d:.3e} exceeds {rtol:.0e}"
