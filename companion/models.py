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

A spec is checked when it is made: unknown kinds, missing or invalid arguments, and a layer that
does not fit the shape the previous one produces all raise ``ValueError`` naming the layer.
``summary(spec)`` prints each layer's output shape and parameter count, computed from the spec
alone; ``count_parameters(spec)`` gives the total.
"""

from __future__ import annotations

import math
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

#: The arguments without a default (the others default as in torch: ``bias=True``,
#: ``stride=1`` for conv2d and ``stride=kernel_size`` for pooling, ``padding=0``,
#: ``negative_slope=0.01``).
REQUIRED_ARGS = {
    "linear": ("in_features", "out_features"),
    "conv2d": ("in_channels", "out_channels", "kernel_size"),
    "maxpool2d": ("kernel_size",),
    "avgpool2d": ("kernel_size",),
}

_POSITIVE_INT_ARGS = {"in_features", "out_features", "in_channels", "out_channels", "kernel_size"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_arg(kind: str, name: str, value) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``value`` is a valid ``name`` for ``kind``."""
    where = f"{kind} argument {name}"
    if name == "stride" and value is None and kind != "conv2d":
        return  # pooling: stride None means "equal to kernel_size", as in torch
    if name in _POSITIVE_INT_ARGS or name == "stride":
        if not _is_int(value) or value < 1:
            raise ValueError(f"{where} must be a positive int, got {value!r}")
    elif name == "padding":
        if not _is_int(value) or value < 0:
            raise ValueError(f"{where} must be an int >= 0, got {value!r}")
    elif name == "bias":
        if not isinstance(value, bool):
            raise TypeError(f"{where} must be True or False, got {value!r}")
    elif name == "negative_slope":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise TypeError(f"{where} must be a real number, got {value!r}")


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
        missing = [name for name in REQUIRED_ARGS.get(self.kind, ()) if name not in self.args]
        if missing:
            raise ValueError(f"{self.kind} needs {missing}, got only {sorted(self.args)}")
        for name, value in self.args.items():
            _check_arg(self.kind, name, value)


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

    def __post_init__(self):
        shape = tuple(self.input_shape)
        if not shape or not all(_is_int(d) and d >= 1 for d in shape):
            raise ValueError(
                f"input_shape must be a non-empty tuple of positive ints, got {self.input_shape!r}"
            )
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, LayerSpec):
                raise TypeError(f"layer {i} must be a LayerSpec, got {type(layer).__name__}")
        layer_shapes(self)  # raises if a layer does not fit the shape it receives


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


# --- shapes and parameter counts, from the spec's arithmetic alone -----------------------------


def _spatial_out(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output length of a convolution or pooling window: ``(size + 2p - k) // s + 1``."""
    return (size + 2 * padding - kernel) // stride + 1


def _output_shape(layer: LayerSpec, shape: tuple[int, ...], index: int) -> tuple[int, ...]:
    """The per-sample shape ``layer`` produces from a per-sample input of ``shape``.

    Raises ``ValueError`` naming the layer when the input does not fit it.
    """
    a, where = layer.args, f"layer {index} ({layer.kind})"
    if layer.kind == "linear":
        if shape != (a["in_features"],):
            raise ValueError(
                f"{where} expects input of shape ({a['in_features']},), "
                f"but the layer before produces {shape}"
            )
        return (a["out_features"],)
    if layer.kind == "flatten":
        return (math.prod(shape),)
    if layer.kind in ("conv2d", "maxpool2d", "avgpool2d"):
        if len(shape) != 3:
            raise ValueError(f"{where} expects (C, H, W) input, but the layer before produces {shape}")
        channels, height, width = shape
        k = a["kernel_size"]
        if layer.kind == "conv2d":
            if channels != a["in_channels"]:
                raise ValueError(
                    f"{where} expects {a['in_channels']} input channels, got {channels} (shape {shape})"
                )
            s, p, channels = a.get("stride", 1), a.get("padding", 0), a["out_channels"]
        else:
            s, p = a.get("stride") or k, 0
        out = (channels, _spatial_out(height, k, s, p), _spatial_out(width, k, s, p))
        if min(out[1:]) < 1:
            raise ValueError(f"{where}: a {k}x{k} window does not fit the input {shape}")
        return out
    return shape  # activations keep the shape


def _layer_parameters(layer: LayerSpec) -> int:
    """The number of trainable scalars of one layer (weight plus bias)."""
    a = layer.args
    bias = a.get("bias", True)
    if layer.kind == "linear":
        return a["out_features"] * (a["in_features"] + bias)
    if layer.kind == "conv2d":
        return a["out_channels"] * (a["in_channels"] * a["kernel_size"] ** 2 + bias)
    return 0


def layer_shapes(spec: ModelSpec) -> list[tuple[int, ...]]:
    """The per-sample output shape of every layer (no batch dimension), in order.

    Raises
    ------
    ValueError
        A layer that does not fit the shape it receives (named, with both shapes).
    """
    shapes, shape = [], tuple(spec.input_shape)
    for i, layer in enumerate(spec.layers):
        shape = _output_shape(layer, shape, i)
        shapes.append(shape)
    return shapes


def count_parameters(spec: ModelSpec) -> int:
    """The number of trainable scalars of the model ``spec`` describes."""
    return sum(_layer_parameters(layer) for layer in spec.layers)


@dataclass(frozen=True)
class SummaryRow:
    """One layer of a ``Summary``: its index, a description, per-sample output shape, parameters."""

    index: int
    layer: str
    output_shape: tuple[int, ...]
    parameters: int


def _describe(layer: LayerSpec) -> str:
    a = layer.args
    if layer.kind == "linear":
        return f"linear {a['in_features']}->{a['out_features']}"
    if layer.kind == "conv2d":
        k, s, p = a["kernel_size"], a.get("stride", 1), a.get("padding", 0)
        extra = (f", stride {s}" if s != 1 else "") + (f", pad {p}" if p else "")
        return f"conv2d {a['in_channels']}->{a['out_channels']}, {k}x{k}{extra}"
    if layer.kind in ("maxpool2d", "avgpool2d"):
        k, s = a["kernel_size"], a.get("stride") or a["kernel_size"]
        return f"{layer.kind} {k}x{k}" + (f", stride {s}" if s != k else "")
    return layer.kind


@dataclass(frozen=True)
class Summary:
    """A model's layers, output shapes and parameter counts; ``print`` it for a table.

    Attributes
    ----------
    name : str
    input_shape : tuple of int
        One sample's shape.
    rows : tuple of SummaryRow
    total : int
        All trainable parameters.
    """

    name: str
    input_shape: tuple[int, ...]
    rows: tuple[SummaryRow, ...]
    total: int

    def __str__(self) -> str:
        def fmt(shape):
            return "(N, " + ", ".join(str(d) for d in shape) + ")"

        table = [("#", "layer", "output shape", "parameters")]
        table.append(("", "input", fmt(self.input_shape), ""))
        table += [(str(r.index), r.layer, fmt(r.output_shape), f"{r.parameters:,}") for r in self.rows]
        widths = [max(len(row[c]) for row in table) for c in range(4)]
        rule = "-" * (sum(widths) + 6)

        def line(row):
            return "  ".join(
                cell.rjust(w) if c in (0, 3) else cell.ljust(w) for c, (cell, w) in enumerate(zip(row, widths))
            ).rstrip()

        body = [line(table[0]), rule] + [line(row) for row in table[1:]]
        return "\n".join([f"{self.name}"] + body + [rule, f"total parameters: {self.total:,}"])

    __repr__ = __str__


def summary(spec: ModelSpec) -> Summary:
    """Each layer of ``spec`` with its per-sample output shape and parameter count, and the total.

    The shapes come from the spec's arithmetic alone (conv and pooling:
    ``out = (H + 2p - k) // s + 1``), so no model is built; the tests check them against the
    shapes a torch model actually produces.
    """
    rows = tuple(
        SummaryRow(i, _describe(layer), shape, _layer_parameters(layer))
        for i, (layer, shape) in enumerate(zip(spec.layers, layer_shapes(spec)))
    )
    return Summary(spec.name, tuple(spec.input_shape), rows, sum(r.parameters for r in rows))
