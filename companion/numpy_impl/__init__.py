"""The NumPy reference implementation: the code the book's readers study.

It is a subset of ``torch.nn``'s API (same class names, signatures, parameter names and layouts),
so the functions of ``companion.models`` build a model from this namespace or from ``torch.nn``::

    from companion import models, numpy_impl
    model = models.lenet(numpy_impl, rng=np.random.default_rng(0))

* ``module``: ``Parameter``, ``Module``, ``Sequential``, ``ModuleList``, ``no_grad``;
* ``functional``: activations and the forward/backward maths of every layer, as pure functions;
* ``layers``: ``Linear``, ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``, ``Flatten`` and activations;
* ``losses``: MSE, cross-entropy and binary cross-entropy from logits;
* ``init``: Xavier/Glorot, He/Kaiming and torch's default initialisation;
* ``optim``: SGD, RMSprop, Adam, AdamW; ``regularization``: L1 and L2 penalties;
* ``gradcheck``: the finite-difference gradient checker;
* ``rnn``, ``gru``: RNN, LSTM and GRU with backpropagation through time; ``clip_grad``;
* ``activation``, ``embedding``, ``normalization``, ``attention``, ``transformer``: GELU and the
  softmax modules, ``Embedding`` and positional encodings, ``LayerNorm`` and ``BatchNorm1d/2d``,
  scaled dot-product attention and ``MultiheadAttention``, ``TransformerEncoderLayer``.
"""

from companion.numpy_impl import functional, init
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
from companion.numpy_impl.module import (
    Module,
    ModuleList,
    Parameter,
    Sequential,
    is_grad_enabled,
    no_grad,
)
from companion.numpy_impl.optim import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, RMSprop
from companion.numpy_impl.regularization import l1_penalty, l2_penalty
from companion.numpy_impl.rnn import LSTM, RNN, lstm_backward, lstm_forward, rnn_backward, rnn_forward
from companion.numpy_impl.activation import GELU, LogSoftmax, Softmax, gelu_backward, gelu_forward
from companion.numpy_impl.attention import (
    MultiheadAttention,
    causal_mask,
    scaled_dot_product_attention_backward,
    scaled_dot_product_attention_forward,
)
from companion.numpy_impl.embedding import (
    Embedding,
    embedding_backward,
    embedding_forward,
    sinusoidal_positional_encoding,
)
from companion.numpy_impl.normalization import (
    BatchNorm1d,
    BatchNorm2d,
    LayerNorm,
    batch_norm_backward,
    batch_norm_forward,
    layer_norm_backward,
    layer_norm_forward,
)
from companion.numpy_impl.clip_grad import clip_grad_norm_
from companion.numpy_impl.gru import GRU, gru_backward, gru_forward
from companion.numpy_impl.transformer import TransformerEncoderLayer

__all__ = [
    "functional",
    "init",
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "no_grad",
    "is_grad_enabled",
    "OPTIMIZERS",
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

# attention, Transformers, normalization
__all__ += [
    "GELU",
    "Softmax",
    "LogSoftmax",
    "gelu_forward",
    "gelu_backward",
    "Embedding",
    "embedding_forward",
    "embedding_backward",
    "sinusoidal_positional_encoding",
    "LayerNorm",
    "BatchNorm1d",
    "BatchNorm2d",
    "layer_norm_forward",
    "layer_norm_backward",
    "batch_norm_forward",
    "batch_norm_backward",
    "MultiheadAttention",
    "causal_mask",
    "scaled_dot_product_attention_forward",
    "scaled_dot_product_attention_backward",
    "TransformerEncoderLayer",
    "GRU",
    "gru_forward",
    "gru_backward",
    "clip_grad_norm_",
]
