"""The NumPy reference implementation: the code the book's readers study.

Everything a chapter needs is importable from here::

    from companion.numpy_impl import build, CrossEntropyLoss, Adam, gradcheck

* ``module``: ``Parameter``, ``Module``, ``Sequential`` (torch-like containers);
* ``functional``: activations and the forward/backward maths of every layer, as pure functions;
* ``layers``: ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten`` and activations;
* ``losses``: MSE, cross-entropy and binary cross-entropy from logits;
* ``init``: Xavier/Glorot, He/Kaiming and torch's default initialisation;
* ``optim``: SGD, RMSprop, Adam, AdamW; ``regularization``: L1 and L2 penalties;
* ``gradcheck``: the finite-difference gradient checker;
* ``build(spec)``: a model from a ``companion.models.ModelSpec``.
"""

from companion.numpy_impl import functional, init
from companion.numpy_impl.build import SpecSequential, build, build_layer
from companion.numpy_impl.dropout import Dropout, dropout_backward, dropout_forward, dropout_mask
from companion.numpy_impl.gradcheck import (
    GradcheckError,
    GradcheckReport,
    gradcheck,
    numerical_gradient,
    relative_error,
)
from companion.numpy_impl.layers import (
    AvgPool2d,
    Conv2d,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    Tanh,
)
from companion.numpy_impl.losses import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    MSELoss,
    binary_cross_entropy_with_logits,
    cross_entropy,
    mse_loss,
)
from companion.numpy_impl.module import Module, Parameter, Sequential
from companion.numpy_impl.optim import SGD, Adam, AdamW, Optimizer, RMSprop
from companion.numpy_impl.regularization import l1_penalty, l2_penalty
from companion.numpy_impl.rnn import LSTM, RNN, lstm_backward, lstm_forward, rnn_backward, rnn_forward

__all__ = [
    "functional",
    "init",
    "Parameter",
    "Module",
    "Sequential",
    "SpecSequential",
    "build",
    "build_layer",
    "Linear",
    "Conv2d",
    "MaxPool2d",
    "AvgPool2d",
    "Flatten",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Dropout",
    "dropout_mask",
    "dropout_forward",
    "dropout_backward",
    "mse_loss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "MSELoss",
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adam",
    "AdamW",
    "l1_penalty",
    "l2_penalty",
    "gradcheck",
    "numerical_gradient",
    "relative_error",
    "GradcheckReport",
    "GradcheckError",
    "RNN",
    "LSTM",
    "rnn_forward",
    "rnn_backward",
    "lstm_forward",
    "lstm_backward",
]
