"""A batch of zero samples: every NumPy layer answers as its torch twin does (an empty output of
the right shape; backward an empty gradient, parameter gradients unchanged).

Also the message a model gives for integer images. Known gaps are marked xfail (strict, so the
mark must go when they are fixed), with the reason.
"""

import numpy as np
import pytest
import torch

import companion.numpy_impl as ours
from companion.models import make_model
from companion.train import predict

# name -> (build from a namespace, input shape with N = 0)
LAYERS = {
    "Linear": (lambda nn: nn.Linear(4, 3), (0, 4)),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3, padding=1), (0, 2, 5, 5)),
    "MaxPool2d": (lambda nn: nn.MaxPool2d(2), (0, 2, 4, 4)),
    "AvgPool2d": (lambda nn: nn.AvgPool2d(2), (0, 2, 4, 4)),
    "Flatten": (lambda nn: nn.Flatten(), (0, 2, 3, 3)),
    "ReLU": (lambda nn: nn.ReLU(), (0, 3)),
    "LeakyReLU": (lambda nn: nn.LeakyReLU(), (0, 3)),
    "Sigmoid": (lambda nn: nn.Sigmoid(), (0, 3)),
    "Tanh": (lambda nn: nn.Tanh(), (0, 3)),
    "GELU": (lambda nn: nn.GELU(), (0, 3)),
    "Softmax": (lambda nn: nn.Softmax(dim=1), (0, 3)),
    "LogSoftmax": (lambda nn: nn.LogSoftmax(dim=1), (0, 3)),
    "Dropout": (lambda nn: nn.Dropout(0.5), (0, 3)),
    "LayerNorm": (lambda nn: nn.LayerNorm(3), (0, 3)),
    "RNN": (lambda nn: nn.RNN(3, 4, batch_first=True), (0, 5, 3)),
    "LSTM": (lambda nn: nn.LSTM(3, 4, batch_first=True), (0, 5, 3)),
    "GRU": (lambda nn: nn.GRU(3, 4, batch_first=True), (0, 5, 3)),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(3), (0, 3)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (0, 3, 2, 2)),
}
KNOWN_GAPS: dict[str, str] = {}


def _first(out):
    return out[0] if isinstance(out, tuple) else out  # recurrent layers return (out, state)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[name]))
    if name in KNOWN_GAPS else name
    for name in LAYERS
])
def test_empty_batch_like_torch(name):
    build, shape = LAYERS[name]
    expected = _first(build(torch.nn).double()(torch.zeros(shape, dtype=torch.float64)))
    layer = build(ours)  # float64, the NumPy layers' default
    out = _first(layer(np.zeros(shape)))
    assert out.shape == tuple(expected.shape), f"{name}: output {out.shape}, torch {expected.shape}"
    grads_before = [None if p.grad is None else p.grad.copy() for p in layer.parameters()]
    dx = _first(layer.backward(np.zeros(out.shape)))
    assert dx.shape == shape, f"{name}: input gradient {dx.shape}, expected {shape}"
    for p, before in zip(layer.parameters(), grads_before):
        assert p.grad is None or not np.any(p.grad - (0 if before is None else before)), \
            f"{name}: an empty batch changed a parameter gradient"


@pytest.mark.parametrize("impl", ["numpy", "torch"])
def test_integer_images_get_a_message_that_can_be_followed(impl):
    model = make_model("mlp", impl)
    with pytest.raises(TypeError) as info:
        predict(model, np.zeros((2, 1, 28, 28), np.uint8))
    message = str(info.value)
    assert "build the model in uint8" not in message, message
    assert "float32" in message, message
