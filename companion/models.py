"""The book's architectures, each defined once.

A model is a ``ModelSpec``: a name, the shape of one input sample, and a tuple of ``LayerSpec``
entries. Both implementations build from the same spec
(``companion.numpy_impl.build(spec)`` and ``companion.torch_impl.build(spec)``), layer ``i`` of
one matching layer ``i`` of the other, so their parameters have the same names, shapes and order.

The three models come from the book's source material:

* ``mlp()``: the 784-128-10 perceptron with ReLU;
* ``keras_cnn()``: the Keras tutorial CNN the source trains on MNIST,
  Conv(32,3x3)-ReLU-MaxPool(2)-Conv(64,3x3)-ReLU-MaxPool(2)-Conv(64,3x3)-ReLU-Flatten-Dense(64)-ReLU-Dense(10);
* ``lenet()``: LeNet as the source writes it (ReLU and max-pooling, no padding),
  Conv(6,5x5)-ReLU-MaxPool(2)-Conv(16,5x5)-ReLU-MaxPool(2)-Flatten-Dense(120)-ReLU-Dense(10).

Every model ends in logits: softmax lives in the loss (see ``companion.numpy_impl.losses``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The layer kinds a spec may use, with the keyword arguments each one takes.
LAYER_KINDS = {
    "linear": ("in_features", "out_features", "bias"),
    "conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"),
    "maxpool2d": ("kernel_size", "stride"),
    "avgpool2d": ("kernel_size", "stride"),
    "flatten": (),
    "relu": (),
    "leaky_relu": ("negative_slope",),
    "sigmoid": (),
    "tanh": (),
}


@dataclass(frozen=True)
class LayerSpec:
    """One layer: its kind (a key of ``LAYER_KINDS``) and its keyword arguments."""

    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"unknown layer kind {self.kind!r}; expected one of {sorted(LAYER_KINDS)}")
        extra = set(self.args) - set(LAYER_KINDS[self.kind])
        if extra:
            raise ValueError(
                f"{self.kind} takes {LAYER_KINDS[self.kind]}, got unexpected {sorted(extra)}"
            )


@dataclass(frozen=True)
class ModelSpec:
    """A whole architecture.

    Attributes
    ----------
    name : str
    input_shape : tuple of int
        The shape of ONE sample, without the batch dimension: ``(784,)`` for the MLP,
        ``(1, 28, 28)`` for the CNNs.
    layers : tuple of LayerSpec
    """

    name: str
    input_shape: tuple[int, ...]
    layers: tuple[LayerSpec, ...]


def _L(kind: str, **args) -> LayerSpec:
    return LayerSpec(kind, args)


def mlp(hidden: int = 128, in_features: int = 784, num_classes: int = 10) -> ModelSpec:
    """The multilayer perceptron 784-128-10 with a ReLU hidden layer."""
    return ModelSpec(
        name=f"mlp-{in_features}-{hidden}-{num_classes}",
        input_shape=(in_features,),
        layers=(
            _L("linear", in_features=in_features, out_features=hidden),
            _L("relu"),
            _L("linear", in_features=hidden, out_features=num_classes),
        ),
    )


def keras_cnn(num_classes: int = 10) -> ModelSpec:
    """The source's Keras CNN for 1x28x28 images (93,322 parameters)."""
    return ModelSpec(
        name="keras-cnn",
        input_shape=(1, 28, 28),
        layers=(
            _L("conv2d", in_channels=1, out_channels=32, kernel_size=3),  # 32x26x26
            _L("relu"),
            _L("maxpool2d", kernel_size=2),  # 32x13x13
            _L("conv2d", in_channels=32, out_channels=64, kernel_size=3),  # 64x11x11
            _L("relu"),
            _L("maxpool2d", kernel_size=2),  # 64x5x5
            _L("conv2d", in_channels=64, out_channels=64, kernel_size=3),  # 64x3x3
            _L("relu"),
            _L("flatten"),  # 576
            _L("linear", in_features=576, out_features=64),
            _L("relu"),
            _L("linear", in_features=64, out_features=num_classes),
        ),
    )


def lenet(num_classes: int = 10) -> ModelSpec:
    """LeNet as the source gives it, for 1x28x28 images (34,622 parameters)."""
    return ModelSpec(
        name="lenet",
        input_shape=(1, 28, 28),
        layers=(
            _L("conv2d", in_channels=1, out_channels=6, kernel_size=5),  # 6x24x24
            _L("relu"),
            _L("maxpool2d", kernel_size=2),  # 6x12x12
            _L("conv2d", in_channels=6, out_channels=16, kernel_size=5),  # 16x8x8
            _L("relu"),
            _L("maxpool2d", kernel_size=2),  # 16x4x4
            _L("flatten"),  # 256
            _L("linear", in_features=256, out_features=120),
            _L("relu"),
            _L("linear", in_features=120, out_features=num_classes),
        ),
    )


#: The models by the names the command line and the book use.
MODELS = {"mlp": mlp, "cnn": keras_cnn, "lenet": lenet}


def get_spec(name: str) -> ModelSpec:
    """The spec of a model by name (``"mlp"``, ``"cnn"`` or ``"lenet"``)."""
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}") from None
