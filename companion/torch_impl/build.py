"""Build a ``torch.nn.Sequential`` from a ``companion.models.ModelSpec``.

Layer ``i`` of the spec becomes child ``"i"`` of the Sequential, exactly as in the NumPy build,
so both state dicts have the keys ``"0.weight"``, ``"0.bias"``, ``"3.weight"``, ... with the same
shapes, and weights copy across unchanged (see ``companion.torch_impl.weights``).
"""

from __future__ import annotations

import torch
from torch import nn

from companion.models import LayerSpec, ModelSpec
from companion.torch_impl.device import default_device, torch_dtype


def _linear(a):
    return nn.Linear(a["in_features"], a["out_features"], bias=a.get("bias", True))


def _conv2d(a):
    return nn.Conv2d(
        a["in_channels"],
        a["out_channels"],
        a["kernel_size"],
        stride=a.get("stride", 1),
        padding=a.get("padding", 0),
        bias=a.get("bias", True),
    )


#: One constructor per layer kind of ``companion.models.LAYER_KINDS``.
_BUILDERS = {
    "linear": _linear,
    "conv2d": _conv2d,
    "maxpool2d": lambda a: nn.MaxPool2d(a["kernel_size"], stride=a.get("stride")),
    "avgpool2d": lambda a: nn.AvgPool2d(a["kernel_size"], stride=a.get("stride")),
    "flatten": lambda a: nn.Flatten(),
    "relu": lambda a: nn.ReLU(),
    "leaky_relu": lambda a: nn.LeakyReLU(a.get("negative_slope", 0.01)),
    "sigmoid": lambda a: nn.Sigmoid(),
    "tanh": lambda a: nn.Tanh(),
}


def build_layer(layer: LayerSpec) -> nn.Module:
    """The ``torch.nn`` module for one ``LayerSpec``."""
    return _BUILDERS[layer.kind](layer.args)


def build(
    spec: ModelSpec,
    *,
    dtype=torch.float64,
    device: str | torch.device | None = None,
    seed: int | None = None,
) -> nn.Sequential:
    """The torch twin of ``companion.numpy_impl.build(spec)``.

    Parameters
    ----------
    spec : ModelSpec
    dtype : torch.float64 (default) or torch.float32 (NumPy dtypes are accepted too)
    device : str or torch.device, optional
        Default: ``default_device()`` (CUDA when present, else CPU; ``$COMPANION_DEVICE``
        overrides).
    seed : int, optional
        Seed for torch's default initialisation, drawn inside ``torch.random.fork_rng`` so torch's
        global generator is left as it was. ``None`` draws from the global generator, as torch
        does. (The parity harness overwrites these weights with the NumPy model's anyway.)

    Returns
    -------
    torch.nn.Sequential
        In training mode, on ``device``, with parameters of ``dtype``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a companion.models.ModelSpec, got {type(spec).__name__}")
    tdt = torch_dtype(dtype)
    dev = default_device(device)
    if seed is None:
        model = nn.Sequential(*(build_layer(layer) for layer in spec.layers))
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = nn.Sequential(*(build_layer(layer) for layer in spec.layers))
    return model.to(device=dev, dtype=tdt)
