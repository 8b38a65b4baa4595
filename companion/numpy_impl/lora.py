"""LoRA: low-rank adapters for a frozen ``Linear`` layer (Hu et al., 2021).

Fine-tuning changes a pretrained weight ``W`` (out, in) by some ``dW``. LoRA bets that the change
a new task needs has low rank, and trains it in factored form:

    y = x @ W.T + bias + (alpha / r) * (x @ A.T) @ B.T,     A : (r, in),  B : (out, r),

with ``W`` and ``bias`` frozen. ``B`` starts at zero, so the adapted layer starts out computing
exactly what the pretrained one did; ``A`` starts as torch initialises a ``Linear`` weight. Only
``r * (in + out)`` numbers are trained instead of ``in * out``, and after training the adapter
folds back into one weight, ``W + (alpha / r) * B @ A`` (``merge_lora``): no extra cost at
inference.

The gradients, written out (``s = alpha / r``, ``u = x @ A.T`` the input seen in the adapter's
``r``-dimensional subspace, ``g`` the upstream gradient):

    dB = s * g.T @ u          (out, r)
    dA = s * (g @ B).T @ x    (r, in)
    dx = g @ W + s * (g @ B) @ A

and no gradient at all for the frozen ``W`` and ``bias``.

Freezing. A NumPy ``Parameter`` has no ``requires_grad``: a frozen parameter is one that is not
handed to the optimizer, which is how torch users write it too
(``[p for p in model.parameters() if p.requires_grad]``). ``lora_parameters(model)`` lists the
adapters' parameters; add those of any layer trained in full (a new classification head).

The parameter names (``weight``, ``bias``, ``lora_A``, ``lora_B``) are those of the torch twin in
``companion.torch_impl.lora`` (and of Microsoft's ``loralib``), so state dicts copy across.
"""

from __future__ import annotations

import math

import numpy as np

from companion._checks import (
    check_dout,
    check_float_dtype,
    check_lora_linear,
    check_lora_rank,
    check_positive_int,
    check_positive_number,
    check_rng,
)
from companion.numpy_impl.init import default_init_
from companion.numpy_impl.layers import Linear
from companion.numpy_impl.module import Module, Parameter

__all__ = [
    "lora_linear_forward",
    "lora_linear_backward",
    "LoRALinear",
    "add_lora",
    "merge_lora",
    "lora_parameters",
    "count_parameters",
]


def lora_linear_forward(x, weight, bias, lora_A, lora_B, scaling: float):
    """``out = x @ weight.T + bias + scaling * (x @ lora_A.T) @ lora_B.T``.

    Parameters
    ----------
    x : (..., in_features) float array (any number of leading dimensions, as torch's Linear)
    weight : (out_features, in_features), frozen
    bias : (out_features,) or None, frozen
    lora_A : (r, in_features)
    lora_B : (out_features, r)
    scaling : float, ``alpha / r``

    Returns
    -------
    out : (..., out_features)
    cache : for ``lora_linear_backward``
    """
    check_lora_linear(x, weight, bias, lora_A, lora_B)
    u = x @ lora_A.T  # (..., r): the input in the adapter's subspace
    out = x @ weight.T + scaling * (u @ lora_B.T)
    if bias is not None:
        out += bias
    return out, (x, weight, lora_A, lora_B, scaling, u)


def lora_linear_backward(dout, cache, input_grad: bool = True):
    """Gradients of ``lora_linear_forward`` (none for the frozen ``weight`` and ``bias``).

    Parameters
    ----------
    dout : (..., out_features), the gradient of the loss with respect to ``out``
    cache : from ``lora_linear_forward``
    input_grad : False skips ``dx`` (returned as None)

    Returns
    -------
    dx : (..., in_features) ``= dout @ weight + scaling * (dout @ lora_B) @ lora_A``, or None
    dlora_A : (r, in_features) ``= scaling * (dout @ lora_B).T @ x``
    dlora_B : (out_features, r) ``= scaling * dout.T @ u``
    """
    x, weight, lora_A, lora_B, scaling, u = cache
    check_dout(dout, x.shape[:-1] + weight.shape[:1], x.dtype)
    # Flatten the leading dimensions: every row of every sequence is one sample of the sums.
    g = dout.reshape(-1, weight.shape[0])
    du = scaling * (g @ lora_B)  # (N, r)
    dlora_B = scaling * (g.T @ u.reshape(-1, lora_A.shape[0]))
    dlora_A = du.T @ x.reshape(-1, weight.shape[1])
    if not input_grad:
        return None, dlora_A, dlora_B
    dx = (g @ weight + du @ lora_A).reshape(x.shape)
    return dx, dlora_A, dlora_B


class LoRALinear(Module):
    """A ``Linear`` layer with a frozen weight and a trainable low-rank adapter.

    Parameters
    ----------
    in_features, out_features : int
    rank : int, ``1 <= rank <= min(in_features, out_features)`` (PEFT and loralib call it ``r``)
    alpha : float, the scale numerator (``lora_alpha``); the update is ``(alpha / rank) B @ A``
    bias : bool
    dtype : float32 or float64
    rng : numpy.random.Generator, optional

    Attributes
    ----------
    weight : Parameter (out_features, in_features), frozen (never given a gradient)
    bias : Parameter (out_features,) or None, frozen
    lora_A : Parameter (rank, in_features), initialised as torch initialises a Linear weight
    lora_B : Parameter (out_features, rank), initialised to zero
    scaling : float, ``alpha / rank``

    Shapes: input ``(..., in_features)``, output ``(..., out_features)``.
    ``LoRALinear.from_linear(linear, rank, alpha)`` adapts an existing (pretrained) layer.
    """

    def __init__(self, in_features, out_features, rank, alpha=1.0, bias=True, *,
                 dtype=np.float64, rng=None):
        super().__init__()
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.rank = check_lora_rank(rank, self.in_features, self.out_features)
        self.alpha = check_positive_number(alpha, "alpha")
        self.scaling = self.alpha / self.rank
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype)) if bias else None
        self.lora_A = Parameter(np.empty((self.rank, self.in_features), dtype))
        self.lora_B = Parameter(np.empty((self.out_features, self.rank), dtype))
        self.reset_parameters(rng)

    @classmethod
    def from_linear(cls, linear, rank, alpha=1.0, *, rng=None) -> "LoRALinear":
        """An adapter around ``linear``, sharing its ``weight`` and ``bias`` (not copies)."""
        if not isinstance(linear, Linear):
            raise TypeError(f"from_linear needs a numpy_impl.Linear, got {type(linear).__name__}")
        layer = cls(linear.in_features, linear.out_features, rank, alpha,
                    bias=linear.bias is not None, dtype=linear.weight.dtype, rng=rng)
        layer.weight = linear.weight
        if linear.bias is not None:
            layer.bias = linear.bias
        return layer

    def reset_parameters(self, rng=None) -> None:
        """The base as torch's Linear (weight, then bias), then the adapter, from one ``rng``."""
        rng = check_rng(rng)
        default_init_(self.weight, self.bias, rng=rng)
        self.reset_lora_parameters(rng)

    def reset_lora_parameters(self, rng=None) -> None:
        """``lora_A ~ U(-1/sqrt(in), 1/sqrt(in))`` (torch's Linear init), ``lora_B = 0``."""
        bound = 1.0 / math.sqrt(self.in_features)
        self.lora_A.data[...] = check_rng(rng).uniform(-bound, bound, self.lora_A.shape)
        self.lora_B.data[...] = 0.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, cache = lora_linear_forward(
            x, self.weight.data, None if self.bias is None else self.bias.data,
            self.lora_A.data, self.lora_B.data, self.scaling,
        )
        self._save(cache)
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        dx, dlora_A, dlora_B = lora_linear_backward(dout, self._saved(), input_grad=input_grad)
        self.lora_A.accumulate_grad(dlora_A)
        self.lora_B.accumulate_grad(dlora_B)
        return dx

    def merged_weight(self) -> np.ndarray:
        """``weight + scaling * lora_B @ lora_A``: one (out, in) weight doing the layer's work."""
        return self.weight.data + self.scaling * (self.lora_B.data @ self.lora_A.data)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"rank={self.rank}, alpha={self.alpha:g}, bias={self.bias is not None}"
        )


def add_lora(model: Module, rank, alpha=1.0, *, exclude=(), rng=None) -> Module:
    """Replace every ``Linear`` in ``model`` (at any depth) by a ``LoRALinear`` around it.

    Parameters
    ----------
    model : Module, changed in place
    rank, alpha : as ``LoRALinear``
    exclude : names of Linear layers to leave as they are, as dotted module names
        (``"7"`` for ``model[7]``), e.g. a new head to be trained in full
    rng : numpy.random.Generator for the adapters' ``lora_A``

    Returns
    -------
    model. The base weights are shared, not copied: ``model.state_dict()`` keeps every key it
    had and gains ``<name>.lora_A`` and ``<name>.lora_B``. Train
    ``lora_parameters(model)`` (plus the parameters of any excluded layer); the rest is frozen
    by not being handed to the optimizer.
    """
    rng, exclude = check_rng(rng), set(exclude)

    def visit(module, prefix):
        for name, child in list(module.named_children()):
            if isinstance(child, Linear) and prefix + name not in exclude:
                setattr(module, name, LoRALinear.from_linear(child, rank, alpha, rng=rng))
            else:
                visit(child, prefix + name + ".")

    visit(model, "")
    return model


def merge_lora(model: Module) -> Module:
    """Fold every adapter into its base: each ``LoRALinear`` becomes a plain ``Linear`` holding
    ``merged_weight()`` (a copy) and the same bias. Returns ``model`` (changed in place), whose
    state dict then has the keys of the model before ``add_lora``."""

    def visit(module):
        for name, child in list(module.named_children()):
            if isinstance(child, LoRALinear):
                linear = Linear(child.in_features, child.out_features, child.bias is not None,
                                dtype=child.weight.dtype, rng=np.random.default_rng(0))
                linear.weight.data[...] = child.merged_weight()
                if child.bias is not None:
                    linear.bias.data[...] = child.bias.data
                setattr(module, name, linear)
            else:
                visit(child)

    visit(model)
    return model


def lora_parameters(model: Module) -> list[Parameter]:
    """The adapters' parameters (every ``lora_A`` and ``lora_B``), in ``named_parameters`` order."""
    return [p for name, p in model.named_parameters()
            if name.rsplit(".", 1)[-1] in ("lora_A", "lora_B")]


def count_parameters(parameters) -> int:
    """The number of scalars in a list of ``Parameter`` (e.g. those handed to the optimizer)."""
    return int(sum(p.data.size for p in parameters))
