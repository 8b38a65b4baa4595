"""Embeddings and positional encodings: how a Transformer reads tokens and where they stand.

**Embedding**, as ``torch.nn.Embedding``: a table ``weight`` of shape ``(num_embeddings,
embedding_dim)`` and a look-up, ``out[..., :] = weight[indices[...], :]``. The look-up is a
matrix product with one-hot rows, so its gradient adds every upstream row into the row it was read
from (a row read twice gets both gradients)::

    dweight[j] = sum over positions p with indices[p] == j of dout[p]

``padding_idx`` names a row that stands for "no token": torch initialises it to zeros and never
gives it a gradient, so it stays whatever it is.

**Positions.** Attention is blind to order (permuting the tokens permutes the outputs, nothing
more), so a Transformer adds a vector that depends on the position. Two ways are common:

* learned: an ``Embedding(block_size, d_model)`` read at ``0, 1, ..., T - 1`` (GPT);
* fixed sinusoids (Vaswani et al., 2017), :func:`sinusoidal_positional_encoding`::

      PE[t, 2i]     = sin(t / 10000^(2i / d_model))
      PE[t, 2i + 1] = cos(t / 10000^(2i / d_model))

  each pair of columns a rotation at its own frequency, so that ``PE[t + k]`` is a fixed linear
  function of ``PE[t]`` for every ``t``.
"""

from __future__ import annotations

import numpy as np

from companion._checks import (
    check_array,
    check_dout,
    check_float_dtype,
    check_indices,
    check_positive_int,
    check_rng,
)
from companion.numpy_impl.module import Module, Parameter

__all__ = [
    "embedding_forward",
    "embedding_backward",
    "Embedding",
    "sinusoidal_positional_encoding",
]


def embedding_forward(indices: np.ndarray, weight: np.ndarray, padding_idx: int | None = None):
    """Look rows up in a table.

    Parameters
    ----------
    indices : integer array of any shape ``(*)``, values in ``[0, num_embeddings)``
    weight : (num_embeddings, embedding_dim) float array
    padding_idx : int in ``[0, num_embeddings)`` or None, the row that gets no gradient

    Returns
    -------
    out : (*, embedding_dim) array, ``weight[indices]``
    cache : ``(indices, weight.shape, weight.dtype, padding_idx)`` for ``embedding_backward``
    """
    check_array(weight, "weight", ndim=2)
    check_indices(indices, "input", weight.shape[0])
    return weight[indices], (indices, weight.shape, weight.dtype, padding_idx)


def embedding_backward(dout: np.ndarray, cache) -> np.ndarray:
    """Gradient of ``embedding_forward`` with respect to ``weight``.

    dout : (*, embedding_dim), the gradient with respect to ``out``.
    Returns dweight : (num_embeddings, embedding_dim), every row of ``dout`` added into the row
    it was read from; the ``padding_idx`` row is zero. (Indices get no gradient.)
    """
    indices, shape, dtype, padding_idx = cache
    check_dout(dout, indices.shape + shape[1:], dtype)
    dweight = np.zeros(shape, dtype=dtype)
    np.add.at(dweight, indices.reshape(-1), dout.reshape(-1, shape[1]))  # repeated rows add up
    if padding_idx is not None:
        dweight[padding_idx] = 0
    return dweight


class Embedding(Module):
    """A table of learned vectors read by index, as ``torch.nn.Embedding``.

    Parameters
    ----------
    num_embeddings : int, the number of rows (the vocabulary size)
    embedding_dim : int, the length of each vector
    padding_idx : int or None
        A row kept at zero at initialisation and never updated by its gradient; negative values
        count from the end, as in torch.
    dtype : float32 or float64; rng : numpy.random.Generator, optional (keyword only)

    Attributes
    ----------
    weight : Parameter (num_embeddings, embedding_dim), initialised from ``N(0, 1)`` as in torch

    Shapes: input an integer array ``(*)``, output ``(*, embedding_dim)``. ``backward`` returns
    ``None``: integer indices have no gradient.
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, *, dtype=np.float64,
                 rng=None):
        super().__init__()
        self.num_embeddings = check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_positive_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(
                    f"padding_idx must be in [-{self.num_embeddings}, {self.num_embeddings - 1}] "
                    f"for num_embeddings={self.num_embeddings}, got {padding_idx}"
                )
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype))
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None) -> None:
        """torch's: every entry from ``N(0, 1)``, then the padding row set to zero."""
        self.weight.data[...] = check_rng(rng).standard_normal(self.weight.shape)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, indices: np.ndarray) -> np.ndarray:
        out, cache = embedding_forward(indices, self.weight.data, self.padding_idx)
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        self.weight.accumulate_grad(embedding_backward(dout, self._saved()))
        return None

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s if self.padding_idx is None else s + f", padding_idx={self.padding_idx}"


def sinusoidal_positional_encoding(max_len: int, d_model: int, dtype=np.float64) -> np.ndarray:
    """The fixed positional encodings of "Attention Is All You Need" (see the module docstring).

    Parameters
    ----------
    max_len : int, the number of positions ``T``
    d_model : int, the model width (odd widths get one more sine column than cosine columns)
    dtype : float32 or float64

    Returns
    -------
    pe : (max_len, d_model) array, row ``t`` to be added to the embedding at position ``t``
    """
    max_len = check_positive_int(max_len, "max_len")
    d_model = check_positive_int(d_model, "d_model")
    dtype = check_float_dtype(dtype)
    position = np.arange(max_len)[:, None]
    inv_freq = 10000.0 ** (-np.arange(0, d_model, 2) / d_model)  # one frequency per column pair
    angle = position * inv_freq  # (max_len, ceil(d_model / 2))
    pe = np.empty((max_len, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe.astype(dtype)
