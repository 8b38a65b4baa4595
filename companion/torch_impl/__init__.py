"""The book's models in PyTorch: the twin of ``companion.numpy_impl``.

torch.nn itself builds the twin (``companion.models.lenet(torch.nn, dtype=...)``); what is left
here is what torch.nn does not give:

* ``default_device()``: CUDA when present, else CPU (``$COMPANION_DEVICE`` overrides);
* ``numpy_to_torch(np_model, torch_model)`` / ``torch_to_numpy(torch_model, np_model)``: copy
  weights across, all or nothing.
"""

from companion.torch_impl.device import DEVICE_ENV_VAR, default_device, numpy_dtype, torch_dtype
from companion.torch_impl.weights import (
    check_state_fits,
    load_numpy_state,
    numpy_state,
    numpy_to_torch,
    torch_state_to_numpy,
    torch_to_numpy,
)

__all__ = [
    "DEVICE_ENV_VAR",
    "check_state_fits",
    "default_device",
    "numpy_dtype",
    "load_numpy_state",
    "numpy_state",
    "numpy_to_torch",
    "torch_dtype",
    "torch_state_to_numpy",
    "torch_to_numpy",
]
