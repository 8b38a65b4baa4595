"""Build a NumPy model from a ``companion.models.ModelSpec``.

Layer ``i`` of the spec becomes child ``"i"`` of a ``Sequential``, exactly as
``companion.torch_impl.build`` does for torch, so both state dicts have the same keys
(``"0.weight"``, ``"0.bias"``, ...) and shapes, and weights copy across unchanged.
"""

from __future__ import annotations

import numpy as np

from companion._checks import check_array
from companion.models import LayerSpec, ModelSpec
from companion.numpy_impl import layers as L
from companion.numpy_impl.module import Module, Sequential, resolve_dtype

__all__ = ["build", "build_layer", "SpecSequential"]


class SpecSequential(Sequential):
    """A ``Sequential`` built from a spec, which checks its input against ``spec.input_shape``.

    Attributes
    ----------
    input_shape : tuple of int, the shape of ONE sample (the input is ``(N, *input_shape)``)
    name : str, the spec's name
    """

    def __init__(self, *layers: Module, input_shape: tuple[int, ...], name: str = ""):
        super().__init__(*layers)
        self.input_shape = tuple(input_shape)
        self.name = name

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x : (N, *input_shape) float array of the model's dtype; returns the last output."""
        check_array(x, "input")
        if x.shape[1:] != self.input_shape or x.ndim != len(self.input_shape) + 1:
            want = ", ".join(str(d) for d in self.input_shape)
            raise ValueError(
                f"{self.name or 'model'} expects input of shape (N, {want}), got {x.shape}"
            )
        return super().forward(x)


def _conv2d(a, dtype, rng):
    return L.Conv2d(
        a["in_channels"],
        a["out_channels"],
        a["kernel_size"],
        stride=a.get("stride", 1),
        padding=a.get("padding", 0),
        bias=a.get("bias", True),
        dtype=dtype,
        rng=rng,
    )


#: One constructor per layer kind of ``companion.models.LAYER_KINDS``.
_BUILDERS = {
    "linear": lambda a, dt, rng: L.Linear(
        a["in_features"], a["out_features"], bias=a.get("bias", True), dtype=dt, rng=rng
    ),
    "conv2d": _conv2d,
    "maxpool2d": lambda a, dt, rng: L.MaxPool2d(a["kernel_size"], stride=a.get("stride")),
    "avgpool2d": lambda a, dt, rng: L.AvgPool2d(a["kernel_size"], stride=a.get("stride")),
    "flatten": lambda a, dt, rng: L.Flatten(),
    "relu": lambda a, dt, rng: L.ReLU(),
    "leaky_relu": lambda a, dt, rng: L.LeakyReLU(a.get("negative_slope", 0.01)),
    "sigmoid": lambda a, dt, rng: L.Sigmoid(),
    "tanh": lambda a, dt, rng: L.Tanh(),
}


def build_layer(layer: LayerSpec, *, dtype=np.float64, rng=None) -> Module:
    """The NumPy module for one ``LayerSpec`` (parameters drawn from ``rng``, see ``layers``)."""
    if not isinstance(layer, LayerSpec):
        raise TypeError(f"layer must be a companion.models.LayerSpec, got {type(layer).__name__}")
    return _BUILDERS[layer.kind](layer.args, resolve_dtype(dtype), rng)


def build(
    spec: ModelSpec,
    *,
    dtype=np.float64,
    rng: np.random.Generator | None = None,
    seed: int = 0,
) -> SpecSequential:
    """Build the NumPy model ``spec`` describes.

    Parameters
    ----------
    spec : ModelSpec
    dtype : np.float64 (default) or np.float32, the dtype of every parameter
    rng : numpy.random.Generator, optional
        Draws every layer's initial weights, layer by layer, weight before bias.
    seed : int
        Used only when ``rng`` is None: ``rng = np.random.default_rng(seed)``. The same seed gives
        the same weights bit for bit (for a given dtype).

    Returns
    -------
    SpecSequential
        In training mode; child ``"i"`` is layer ``i`` of the spec; ``forward`` checks that its
        input has shape ``(N, *spec.input_shape)``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"spec must be a companion.models.ModelSpec, got {type(spec).__name__}")
    dt = resolve_dtype(dtype)
    if rng is None:
        rng = np.random.default_rng(seed)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    layers = [build_layer(layer, dtype=dt, rng=rng) for layer in spec.layers]
    return SpecSequential(*layers, input_shape=spec.input_shape, name=spec.name)
