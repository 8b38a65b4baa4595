"""The skeleton every NumPy layer hangs on: ``Parameter``, ``Module``, ``Sequential``,
``ModuleList`` and ``no_grad``.

They mirror ``torch.nn`` on purpose. A ``Parameter`` holds ``data`` and the ``grad`` that
``backward`` accumulates into it; a ``Module`` has ``forward``/``backward``, ``train()``/``eval()``,
``parameters()``, ``named_parameters()`` and ``state_dict()``; a ``Sequential`` names its children
``"0"``, ``"1"``, ... exactly as ``torch.nn.Sequential`` does, so the two state dicts have the same
keys and the same shapes and weights copy across unchanged.

What torch's autograd does for us, a NumPy layer does by hand, in two steps:

* ``forward(*inputs)`` computes the output and keeps what the gradient will need with
  ``self._save(...)``; inside ``with no_grad():`` nothing is kept (evaluation needs no backward,
  and the caches of a big batch cost more memory than the outputs);
* ``backward(dout, input_grad=True)`` reads it back with ``self._saved()``, adds the parameter
  gradients into ``param.grad`` (torch's accumulation: call ``zero_grad()`` between steps) and
  returns the gradient with respect to the input. With ``input_grad=False`` the caller says the
  input gradient will be thrown away (a model's first layer: images need no gradient), and the
  layer may skip computing it and return ``None``, as torch skips it for inputs that do not
  require grad.
"""

from __future__ import annotations

import contextlib

from collections import OrderedDict
from typing import Iterator, Mapping

import numpy as np

from companion._checks import check_state_dict


_GRAD_ENABLED = True


def is_grad_enabled() -> bool:
    """False inside ``with no_grad():``, where layers keep nothing for ``backward``."""
    return _GRAD_ENABLED


@contextlib.contextmanager
def no_grad():
    """Run forward passes that will not be back-propagated, as ``torch.no_grad()``.

    Layers keep no caches inside the block, so evaluating a large batch needs memory for the
    activations only. A ``backward`` after such a forward raises, saying why.
    """
    global _GRAD_ENABLED
    previous, _GRAD_ENABLED = _GRAD_ENABLED, False
    try:
        yield
    finally:
        _GRAD_ENABLED = previous


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
    torch. It implements ``forward(*inputs)``, which keeps what ``backward`` needs with
    ``self._save(...)``, and ``backward(dout, input_grad=True)``, which accumulates parameter
    gradients and returns the gradient with respect to the input (see the module docstring).
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_cache", None)

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self._buffers:
            self._buffers[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep ``array`` as state that is saved but not trained (BatchNorm's running
        statistics), as torch's buffers: in ``state_dict()``, not in ``parameters()``."""
        self._buffers[name] = array
        object.__setattr__(self, name, array)

    # --- computation -----------------------------------------------------------------------
    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, dout, input_grad: bool = True):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    def _save(self, cache) -> None:
        """Keep ``cache`` for ``backward``, unless inside ``no_grad()``."""
        object.__setattr__(self, "_cache", cache if _GRAD_ENABLED else None)

    def _saved(self):
        """What the last ``forward`` kept; a clear error when there is nothing."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward needs a forward pass first (one run outside "
                f"no_grad(), which keeps nothing for backward)"
            )
        return self._cache

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
    def named_parameters(
        self, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` pairs, with torch's dotted names (``"0.weight"``).

        A parameter shared by two modules (tied weights) comes once, under its first name,
        unless ``remove_duplicate=False``, as in torch.
        """
        seen = set()
        for name, p in self._named_state(prefix, buffers=False):
            if not (remove_duplicate and id(p) in seen):
                seen.add(id(p))
                yield name, p

    def _named_state(self, prefix: str, buffers: bool):
        """Parameters (and buffers) in torch's order: own parameters, own buffers, children."""
        yield from ((prefix + name, p) for name, p in self._parameters.items())
        if buffers:
            yield from ((prefix + n, b) for n, b in self._buffers.items() if b is not None)
        for child_name, child in self._modules.items():
            yield from child._named_state(prefix + child_name + ".", buffers)

    def parameters(self) -> list[Parameter]:
        """All parameters, each once, in the order torch would list them."""
        return [p for _, p in self.named_parameters()]

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        """Yield ``(name, child)`` for the direct sub-modules, in registration order."""
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        """The direct sub-modules, in registration order."""
        yield from self._modules.values()

    def zero_grad(self) -> None:
        """Forget every accumulated gradient (``grad = None``, as torch does by default)."""
        for p in self.parameters():
            p.grad = None

    def num_parameters(self) -> int:
        """The number of trainable scalars."""
        return int(sum(p.data.size for p in self.parameters()))

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """A copy of every parameter and buffer, keyed by its dotted name (a tied parameter
        under each of its names, as torch's ``state_dict``)."""
        return OrderedDict(
            (name, (value.data if isinstance(value, Parameter) else value).copy())
            for name, value in self._named_state("", buffers=True)
        )

    def load_state_dict(self, state: Mapping[str, np.ndarray]) -> None:
        """Copy ``state`` into the parameters and buffers, all or nothing.

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
        targets = {
            name: value.data if isinstance(value, Parameter) else value
            for name, value in self._named_state("", buffers=True)
        }
        check_state_dict(state, {name: array.shape for name, array in targets.items()})
        staged = {name: state[name].astype(array.dtype) for name, array in targets.items()}
        for name, array in targets.items():
            array[...] = staged[name]

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


class ModuleList(Module):
    """A list of modules whose parameters are registered, as ``torch.nn.ModuleList``.

    Children are named ``"0"``, ``"1"``, ...; it has no ``forward`` of its own: the module that
    owns it decides how its children are called.
    """

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        if not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__} entry {len(self)} must be a Module, got "
                f"{type(module).__name__}"
            )
        setattr(self, str(len(self._modules)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Layers applied one after another; ``backward`` runs them in reverse.

    Children are named ``"0"``, ``"1"``, ... as in ``torch.nn.Sequential``; indexing, ``len`` and
    iteration are those of a ``ModuleList``.
    """

    def __init__(self, *layers: Module):
        super().__init__(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply every layer in order. x : the first layer's input; returns the last's output."""
        for layer in self._modules.values():
            x = layer(x)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        """Back-propagate ``dout`` (gradient of the loss w.r.t. the output) through every layer.

        The first layer is told ``input_grad``: ``False`` skips the gradient with respect to the
        model's input, which training never uses.
        """
        layers = list(self._modules.values())
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        return layers[0].backward(dout, input_grad=input_grad) if layers else dout
