"""The book's architectures, each written once as a function of a namespace.

A model function takes the module that provides the layers, ``nn``, and the factory arguments
its parameterised layers pass on::

    import numpy as np, torch
    from companion import models, numpy_impl

    reference = models.lenet(numpy_impl, rng=np.random.default_rng(0))   # NumPy, float64
    twin = models.lenet(torch.nn, dtype=torch.float64)                    # torch

Both are ``Sequential`` models with the same children in the same order, so their
``state_dict()`` keys and shapes are identical and weights copy across unchanged
(``companion.torch_impl.numpy_to_torch``). The NumPy layers take ``dtype=`` and ``rng=``; torch's
take ``dtype=`` and ``device=``.

The three models come from the book's source material; every one takes ``(N, 1, 28, 28)`` images
and ends in logits (softmax lives in the loss):

* ``mlp``: the 784-128-10 perceptron with ReLU, flattening the image first;
* ``keras_cnn``: the Keras tutorial CNN the source trains on MNIST (93,322 parameters);
* ``lenet``: LeNet as the source writes it, ReLU and max-pooling, no padding (34,622 parameters).

The CNNs pool before the ReLU. ``relu(maxpool(x)) == maxpool(relu(x))`` for every input (ReLU is
increasing, so it keeps the order the maximum depends on), and so are the gradients; pooling
first applies the ReLU to a quarter of the values. The source's order, conv-ReLU-pool, computes
the same function.
"""

from __future__ import annotations

import numpy as np
import torch

from companion import numpy_impl
from companion.numpy_impl import init
from companion.numpy_impl.module import no_grad

__all__ = [
    "mlp",
    "keras_cnn",
    "lenet",
    "MODELS",
    "INPUT_SHAPE",
    "make_model",
    "keras_init_",
    "count_parameters",
    "summary",
]

#: The shape of one sample every model here takes: a 28x28 grey-scale image.
INPUT_SHAPE = (1, 28, 28)


def _layers(nn, model: str, *names: str):
    """The layer classes ``names`` from namespace ``nn``, or an error naming what is missing."""
    missing = [name for name in names if not hasattr(nn, name)]
    if missing:
        raise TypeError(
            f"{model}() builds from a namespace of layers such as companion.numpy_impl or "
            f"torch.nn; {getattr(nn, '__name__', type(nn).__name__)!s} has no {', '.join(missing)}"
        )
    return [getattr(nn, name) for name in names]


def mlp(nn, hidden: int = 128, num_classes: int = 10, **factory):
    """The multilayer perceptron 784-``hidden``-``num_classes`` with a ReLU hidden layer."""
    Sequential, Flatten, Linear, ReLU = _layers(nn, "mlp", "Sequential", "Flatten", "Linear", "ReLU")
    return Sequential(
        Flatten(),  # (N, 1, 28, 28) -> (N, 784)
        Linear(784, hidden, **factory),
        ReLU(),
        Linear(hidden, num_classes, **factory),
    )


def keras_cnn(nn, num_classes: int = 10, **factory):
    """The source's Keras CNN for 1x28x28 images (93,322 parameters)."""
    Sequential, Conv2d, MaxPool2d, ReLU, Flatten, Linear = _layers(
        nn, "keras_cnn", "Sequential", "Conv2d", "MaxPool2d", "ReLU", "Flatten", "Linear"
    )
    return Sequential(
        Conv2d(1, 32, 3, **factory),  # 32x26x26
        MaxPool2d(2),  # 32x13x13
        ReLU(),
        Conv2d(32, 64, 3, **factory),  # 64x11x11
        MaxPool2d(2),  # 64x5x5
        ReLU(),
        Conv2d(64, 64, 3, **factory),  # 64x3x3
        ReLU(),
        Flatten(),  # 576
        Linear(576, 64, **factory),
        ReLU(),
        Linear(64, num_classes, **factory),
    )


def lenet(nn, num_classes: int = 10, **factory):
    """LeNet as the source gives it, for 1x28x28 images (34,622 parameters)."""
    Sequential, Conv2d, MaxPool2d, ReLU, Flatten, Linear = _layers(
        nn, "lenet", "Sequential", "Conv2d", "MaxPool2d", "ReLU", "Flatten", "Linear"
    )
    return Sequential(
        Conv2d(1, 6, 5, **factory),  # 6x24x24
        MaxPool2d(2),  # 6x12x12
        ReLU(),
        Conv2d(6, 16, 5, **factory),  # 16x8x8
        MaxPool2d(2),  # 16x4x4
        ReLU(),
        Flatten(),  # 256
        Linear(256, 120, **factory),
        ReLU(),
        Linear(120, num_classes, **factory),
    )


#: The models by the names the command line and the book use.
MODELS = {"mlp": mlp, "cnn": keras_cnn, "lenet": lenet}


#: The initialisations ``make_model`` offers.
INITS = ("keras", "torch")


def keras_init_(model, rng: np.random.Generator):
    """Initialise a NumPy model as Keras does by default, in place: Glorot-uniform weights
    (``companion.numpy_impl.init.xavier_uniform_``) and zero biases.

    The source's models are Keras models, so this is the starting point its numbers came from.
    Layers are visited in order, each weight drawn from ``rng`` in turn.
    """
    for layer in model:  # a dozen layers at most; only Linear and Conv2d have weights
        if getattr(layer, "weight", None) is not None:
            init.xavier_uniform_(layer.weight, rng=rng)
            if layer.bias is not None:
                init.zeros_(layer.bias)
    return model


def make_model(name: str, impl: str = "numpy", *, dtype=np.float32, seed: int = 0, device=None,
               init_scheme: str = "keras"):
    """A fresh model ``name`` ("mlp", "cnn", "lenet") in ``impl`` ("numpy" or "torch").

    The NumPy model is built and initialised from ``seed``: with ``init_scheme="keras"`` (the
    default, the source's) Glorot-uniform weights and zero biases, with ``"torch"`` torch's default
    initialisation. The torch model gets a copy of those same weights, so both implementations
    start from the same point.
    """
    if init_scheme not in INITS:
        raise ValueError(f"init_scheme must be one of {INITS}, got {init_scheme!r}")
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    model = MODELS[name](numpy_impl, dtype=dtype, rng=np.random.default_rng(seed))
    if init_scheme == "keras":
        keras_init_(model, np.random.default_rng(seed))
    if impl == "numpy":
        return model
    if impl != "torch":
        raise ValueError(f"impl must be 'numpy' or 'torch', got {impl!r}")
    from companion.torch_impl import default_device, numpy_to_torch, torch_dtype

    twin = MODELS[name](torch.nn, dtype=torch_dtype(dtype), device=default_device(device))
    return numpy_to_torch(model, twin)


def count_parameters(model) -> int:
    """The number of trainable scalars of a NumPy or torch model."""
    return int(sum(np.prod(p.shape) for p in model.parameters()))


def summary(model, input_shape=INPUT_SHAPE) -> str:
    """A table of each layer of a ``Sequential`` model: its output shape and parameter count.

    The shapes come from a forward pass of one zero sample of ``input_shape`` (no batch axis),
    so they are what the model really produces, for either implementation.
    """
    is_torch = isinstance(model, torch.nn.Module)
    if is_torch:
        p = next(model.parameters())
        x = torch.zeros((1,) + tuple(input_shape), dtype=p.dtype, device=p.device)
    else:
        x = np.zeros((1,) + tuple(input_shape), dtype=model.parameters()[0].dtype)
    def shape(a):
        return "(N, " + ", ".join(str(d) for d in a.shape[1:]) + ")"

    rows = [("#", "layer", "output shape", "parameters"), ("", "input", shape(x), "")]
    with torch.no_grad() if is_torch else no_grad():
        for i, layer in enumerate(model):
            x = layer(x)
            rows.append((str(i), type(layer).__name__, shape(x), f"{count_parameters(layer):,}"))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    lines = ["  ".join(cell.rjust(w) if c in (0, 3) else cell.ljust(w)
                       for c, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]
    rule = "-" * max(len(line) for line in lines)
    total = f"total parameters: {count_parameters(model):,}"
    return "\n".join([lines[0], rule, *lines[1:], rule, total])

