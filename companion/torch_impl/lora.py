"""LoRA in torch: the twin of ``companion.numpy_impl.lora`` (same names, shapes and maths).

``LoRALinear`` holds a frozen ``weight`` (out, in) and ``bias`` (out,) (``requires_grad=False``)
and a trainable adapter ``lora_A`` (r, in), ``lora_B`` (out, r); the output is
``x @ weight.T + bias + (alpha / r) * (x @ lora_A.T) @ lora_B.T``. Autograd gives the gradients
the NumPy version writes out. ``add_lora`` wraps the Linear layers of a model and freezes every
other parameter, so ``[p for p in model.parameters() if p.requires_grad]`` is what to train.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from companion._checks import check_lora_rank, check_positive_int, check_positive_number

__all__ = ["LoRALinear", "add_lora", "merge_lora", "lora_parameters", "count_parameters"]


class LoRALinear(nn.Module):
    """A ``Linear`` layer with a frozen weight and a trainable low-rank adapter.

    Arguments as ``companion.numpy_impl.lora.LoRALinear`` (``in_features, out_features, rank,
    alpha=1.0, bias=True``), then torch's factory arguments ``device=None, dtype=None``.

    Attributes: ``weight`` (out, in) and ``bias`` (out,) frozen; ``lora_A`` (rank, in);
    ``lora_B`` (out, rank), zero at the start; ``scaling = alpha / rank``.
    """

    def __init__(self, in_features, out_features, rank, alpha=1.0, bias=True, *,
                 device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.rank = check_lora_rank(rank, self.in_features, self.out_features)
        self.alpha = check_positive_number(alpha, "alpha")
        self.scaling = self.alpha / self.rank
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **factory),
                                   requires_grad=False)
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory), requires_grad=False)
        else:
            self.register_parameter("bias", None)
        self.lora_A = nn.Parameter(torch.empty(self.rank, in_features, **factory))
        self.lora_B = nn.Parameter(torch.empty(out_features, self.rank, **factory))
        self.reset_parameters()

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank, alpha=1.0) -> "LoRALinear":
        """An adapter around ``linear``, sharing its weight and bias, which it freezes."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"from_linear needs a torch.nn.Linear, got {type(linear).__name__}")
        w = linear.weight
        layer = cls(linear.in_features, linear.out_features, rank, alpha,
                    bias=linear.bias is not None, device=w.device, dtype=w.dtype)
        layer.weight = linear.weight.requires_grad_(False)
        if linear.bias is not None:
            layer.bias = linear.bias.requires_grad_(False)
        return layer

    def reset_parameters(self) -> None:
        """The base as ``nn.Linear`` initialises it, then the adapter."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features)
            nn.init.uniform_(self.bias, -bound, bound)
        self.reset_lora_parameters()

    def reset_lora_parameters(self) -> None:
        """``lora_A`` as a Linear weight (``U(-1/sqrt(in), 1/sqrt(in))``), ``lora_B = 0``."""
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias) + self.scaling * F.linear(
            F.linear(x, self.lora_A), self.lora_B
        )

    def merged_weight(self) -> torch.Tensor:
        """``weight + scaling * lora_B @ lora_A`` (detached)."""
        return (self.weight + self.scaling * self.lora_B @ self.lora_A).detach()

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"rank={self.rank}, alpha={self.alpha:g}, bias={self.bias is not None}"
        )


def add_lora(model: nn.Module, rank, alpha=1.0, *, exclude=()) -> nn.Module:
    """Wrap every ``nn.Linear`` of ``model`` not named in ``exclude`` (dotted module names) in a
    ``LoRALinear``, then freeze every parameter except the adapters'. Changes ``model`` in place
    and returns it. Unfreeze a layer to train in full with ``model[i].requires_grad_(True)``."""
    exclude = set(exclude)

    def visit(module, prefix):
        for name, child in module.named_children():
            if isinstance(child, nn.Linear) and prefix + name not in exclude:
                setattr(module, name, LoRALinear.from_linear(child, rank, alpha))
            else:
                visit(child, prefix + name + ".")

    visit(model, "")
    for name, p in model.named_parameters():
        p.requires_grad_(name.rsplit(".", 1)[-1] in ("lora_A", "lora_B"))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace each ``LoRALinear`` by an ``nn.Linear`` holding its merged weight (trainable
    again, as a fresh layer is). Changes ``model`` in place and returns it."""

    def visit(module):
        for name, child in module.named_children():
            if isinstance(child, LoRALinear):
                w = child.weight
                linear = nn.Linear(child.in_features, child.out_features, child.bias is not None,
                                   device=w.device, dtype=w.dtype)
                with torch.no_grad():
                    linear.weight.copy_(child.merged_weight())
                    if child.bias is not None:
                        linear.bias.copy_(child.bias)
                setattr(module, name, linear)
            else:
                visit(child)

    visit(model)
    return model


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every ``lora_A`` and ``lora_B`` of ``model``, in ``named_parameters`` order."""
    return [p for name, p in model.named_parameters()
            if name.rsplit(".", 1)[-1] in ("lora_A", "lora_B")]


def count_parameters(parameters) -> int:
    """The number of scalars in an iterable of tensors."""
    return int(sum(p.numel() for p in parameters))
