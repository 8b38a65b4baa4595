"""The skeleton every NumPy layer hangs on: ``Parameter``, ``Module`` and ``Sequential``.

They mirror ``torch.nn`` on purpose. A ``Parameter`` holds ``data`` and the ``grad`` that
``backward`` accumulates into it; a ``Module`` has ``forward``/``backward``, ``train()``/``eval()``,
``parameters()``, ``named_parameters()`` and ``state_dict()``; a ``Sequential`` names its children
``"0"``, ``"1"``, ... exactly as ``torch.nn.Sequential`` does, so the two state dicts have the same
keys and the same shapes and weights copy across unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Iterator, Mapping

import numpy as np

from companion._checks import check_float_dtype, check_state_dict


class Parameter:
    """A trainable array and its gradient.

    Attributes
    ----------
    data : ndarray
        The value, updated in place by optimizers.
    grad : ndarray or None
        The accumulated gradient of the loss with respect to ``data`` (same shape and dtype), or
        ``None`` before the first ``backward`` and after ``zero_grad``.
    """

    def __init__(self, data: np.ndarray):
        if not isinstance(data, np.ndarray):
            raise TypeError(f"Parameter data must be a numpy.ndarray, got {type(data).__name__}")
        self.data = data
        self.grad: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def accumulate_grad(self, g: np.ndarray) -> None:
        """Add ``g`` to ``grad`` (``grad = g`` when there is none yet), as torch accumulates."""
        if g.shape != self.data.shape:
            raise ValueError(f"gradient shape {g.shape} does not match parameter {self.data.shape}")
        if self.grad is None:
            self.grad = g.astype(self.data.dtype, copy=True)
        else:
            self.grad += g

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class of every NumPy layer.

    A subclass stores its ``Parameter`` objects as attributes (``self.weight = Parameter(...)``)
    and its sub-modules as attributes too; registration is automatic, in assignment order, as in
    torch. It implements ``forward(x)``, which may keep what ``backward`` needs in
    ``self._cache``, and ``backward(dy)``, which accumulates parameter gradients and returns the
    gradient with respect to ``x``.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", None)

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    # --- computation -----------------------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    # --- modes -----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Put this module and all sub-modules in training mode (``mode=False``: evaluation)."""
        object.__setattr__(self, "training", bool(mode))
        for child in self._modules.values():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode; the same as ``train(False)``."""
        return self.train(False)

    # --- parameters ------------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` pairs, with torch's dotted names (``"0.weight"``)."""
        for name, p in self._parameters.items():
            yield prefix + name, p
        for child_name, child in self._modules.items():
            yield from child.named_parameters(prefix + child_name + ".")

    def parameters(self) -> list[Parameter]:
        """All parameters, in the order torch would list them."""
        return [p for _, p in self.named_parameters()]

    def zero_grad(self) -> None:
        """Forget every accumulated gradient (``grad = None``, as torch does by default)."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return int(sum(p.data.size for p in self.parameters()))

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """A copy of every parameter, keyed by its dotted name."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters, all or nothing.

        Every key must be present, no key may be extra, and every array must have the
        parameter's shape. The arrays are cast to the parameter's dtype (loading float32 weights
        into a float64 model is a legitimate conversion). Everything is checked before anything
        is written, so a bad ``state`` leaves the module untouched.

        Raises
        ------
        KeyError
            Missing or unexpected keys (both listed).
        ValueError
            A shape mismatch, or a NaN or infinity in a weight.
        TypeError
            A value that is not an array of numbers.
        """
        params = dict(self.named_parameters())
        check_state_dict(state, {name: p.data.shape for name, p in params.items()})
        staged = {name: state[name].astype(p.data.dtype) for name, p in params.items()}
        for name, p in params.items():
            p.data[...] = staged[name]

    # --- display ---------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        lines.append(")")
        return "\n".join(lines)


class Sequential(Module):
    """Layers applied one after another; ``backward`` runs them in reverse.

    Children are named ``"0"``, ``"1"``, ... as in ``torch.nn.Sequential``.
    """

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential layer {i} must be a Module, got {type(layer).__name__}")
            setattr(self, str(i), layer)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply every layer in order. x : the first layer's input; returns the last's output."""
        for layer in self._modules.values():
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Back-propagate ``dy`` (gradient of the loss w.r.t. the output) through every layer."""
        for layer in reversed(self._modules.values()):
            dy = layer.backward(dy)
        return dy


def resolve_dtype(dtype) -> np.dtype:
    """The float dtype a layer is built with (float64 unless float32 is asked for)."""
    return check_float_dtype(dtype)
