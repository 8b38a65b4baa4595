"""Optimizers: SGD, RMSprop, Adam and AdamW, with torch.optim's names, defaults and arithmetic.

Each optimizer holds a list of :class:`~companion.numpy_impl.module.Parameter` objects (usually
``model.parameters()``) and, on ``step()``, updates every ``p.data`` in place from ``p.grad``.
The update rules are those of ``torch.optim`` 2.x, written in the same order of floating-point
operations, so that a NumPy run and a torch run fed the same gradients agree to about 1e-12 in
float64 (``tests/test_optim.py`` proves it step by step).

Conventions shared by every optimizer, all as in torch:

* a parameter whose ``grad`` is ``None`` is skipped entirely: its value, its state and its step
  count are left alone (a zero gradient is *not* the same: weight decay and momentum still act);
* the per-parameter state (moment estimates, step counts) is created on the parameter's first
  update, in the parameter's dtype, so float32 parameters stay float32;
* ``zero_grad()`` sets every ``grad`` to ``None`` (torch's ``set_to_none=True`` default);
* hyperparameters are plain attributes (``opt.lr = 1e-4`` changes the learning rate for the
  following steps, which is all a learning-rate schedule needs).

In the formulas below ``θ`` is a parameter, ``g`` its gradient, ``γ`` the learning rate, ``λ`` the
weight decay and ``t`` the step number (1 on a parameter's first update); operations on arrays are
element-wise.
"""

from __future__ import annotations

from numbers import Real
from typing import Any, Iterable

import numpy as np

from companion._checks import FLOAT_DTYPES
from companion.numpy_impl.module import Module, Parameter

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "OPTIMIZERS"]


# --- hyperparameter checks --------------------------------------------------------------------
def _real(value, name: str) -> float:
    """``value`` as a Python float (a NumPy float64 scalar would upcast float32 arrays)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def _at_least_zero(value, name: str) -> float:
    x = _real(value, name)
    if not x >= 0.0:  # also rejects NaN
        raise ValueError(f"Invalid {name}: {name}={value!r}; expected {name} >= 0")
    return x


def _in_unit_interval(value, name: str, *, include_one: bool) -> float:
    x = _real(value, name)
    ok = 0.0 <= x <= 1.0 if include_one else 0.0 <= x < 1.0
    if not ok:
        bound = "0 <= {0} <= 1" if include_one else "0 <= {0} < 1"
        raise ValueError(
            f"Invalid {name}: {name}={value!r}; expected {bound.format(name)}"
        )
    return x


def _betas(betas) -> tuple[float, float]:
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError) as err:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}") from err
    return (
        _in_unit_interval(beta1, "betas[0]", include_one=False),
        _in_unit_interval(beta2, "betas[1]", include_one=False),
    )


def _params_list(params) -> list[Parameter]:
    """Check the optimizer's ``params`` argument and return it as a list."""
    if isinstance(params, (Parameter, np.ndarray)):
        raise TypeError(
            "params must be an iterable of Parameter objects, got a single "
            f"{type(params).__name__}; pass a list such as model.parameters()"
        )
    if isinstance(params, Module):
        raise TypeError(
            f"params must be an iterable of Parameter objects, got the module "
            f"{type(params).__name__}; pass model.parameters()"
        )
    try:
        params = list(params)
    except TypeError as err:
        raise TypeError(
            f"params must be an iterable of Parameter objects, got {type(params).__name__}"
        ) from err
    if not params:
        raise ValueError("optimizer got an empty parameter list; pass model.parameters()")
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(
                f"params[{i}] must be a Parameter, got {type(p).__name__}; "
                "pass model.parameters()"
            )
        if p.data.dtype not in FLOAT_DTYPES:
            raise TypeError(f"params[{i}] must be float32 or float64, got dtype {p.data.dtype}")
    if len({id(p) for p in params}) != len(params):
        raise ValueError("some parameters appear more than once in params; each would be "
                         "updated twice per step")
    return params


def _buffer(state: dict[str, Any], name: str, theta: np.ndarray) -> np.ndarray:
    """``state[name]``, created as zeros shaped and typed like ``theta`` on first use."""
    if name not in state:
        state[name] = np.zeros_like(theta)
    return state[name]


# --- the base class ---------------------------------------------------------------------------
class Optimizer:
    """What every optimizer shares: the parameter list, per-parameter state, ``step`` and
    ``zero_grad``.

    A subclass lists its hyperparameter names in ``_hyperparameters``, checks them in
    ``_check_hyperparameters`` and implements ``_update(theta, grad, state)``, which changes
    ``theta`` in place.

    Parameters
    ----------
    params : iterable of Parameter
        The parameters to optimize, e.g. ``model.parameters()``; each float32 or float64.

    Attributes
    ----------
    params : list of Parameter
    state : list of dict
        ``state[i]`` holds parameter ``i``'s buffers (empty until its first update).
    """

    _hyperparameters: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Parameter]):
        self.params = _params_list(params)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    # --- to be provided by subclasses ------------------------------------------------------
    def _check_hyperparameters(self) -> None:
        raise NotImplementedError

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError

    # --- public API ------------------------------------------------------------------------
    def step(self) -> None:
        """Update every parameter that has a gradient, in place; skip those whose grad is None.

        Every gradient is checked (shape and dtype of its parameter) before any is used, so a
        bad one leaves all parameters and all state untouched.
        """
        active = [i for i, p in enumerate(self.params) if p.grad is not None]
        for i in active:
            self._check_grad(i, self.params[i])
        for i in active:
            p = self.params[i]
            self._update(p.data, p.grad, self.state[i])

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to ``None`` (torch's ``set_to_none=True`` default)."""
        for p in self.params:
            p.grad = None

    def hyperparameters(self) -> dict[str, Any]:
        """The current hyperparameters by name, e.g. ``{"lr": 0.001, ...}``."""
        return {name: getattr(self, name) for name in self._hyperparameters}

    # --- helpers ---------------------------------------------------------------------------
    def _check_grad(self, i: int, p: Parameter) -> None:
        g = p.grad
        if not isinstance(g, np.ndarray) or g.shape != p.data.shape or g.dtype != p.data.dtype:
            got = (f"{type(g).__name__} of shape {g.shape} and dtype {g.dtype}"
                   if isinstance(g, np.ndarray) else type(g).__name__)
            raise ValueError(
                f"params[{i}].grad must be an array of shape {p.data.shape} and dtype "
                f"{p.data.dtype} (the parameter's), got {got}"
            )

    def __repr__(self) -> str:
        hp = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hp})"


# --- SGD --------------------------------------------------------------------------------------
class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum, Nesterov momentum and weight
    decay; ``torch.optim.SGD``'s arguments, defaults and arithmetic.

    Update rule, per parameter, at step ``t``::

        g  ← −g                        if maximize
        g  ← g + λ θ                   if λ ≠ 0            (weight_decay; = L2 penalty λ/2 ‖θ‖²)
        if μ ≠ 0:                                          (momentum)
            b ← g                      at t = 1            (no dampening on the first step)
            b ← μ b + (1 − τ) g        at t > 1            (τ = dampening)
            g ← g + μ b                if nesterov
            g ← b                      otherwise
        θ  ← θ − γ g

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
        Learning rate γ >= 0.
    momentum : float, default 0
        Momentum factor μ >= 0.
    dampening : float, default 0
        Dampening τ of the momentum (torch does not restrict it).
    weight_decay : float, default 0
        λ >= 0; the same as adding the penalty ``λ/2 ‖θ‖²`` to the loss
        (see :mod:`companion.numpy_impl.regularization`).
    nesterov : bool, default False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.
    maximize : bool, default False (keyword only)
        Ascend the objective instead of descending it.

    Raises
    ------
    ValueError
        A negative lr, momentum or weight_decay, or Nesterov without momentum or with dampening.
    """

    _hyperparameters = ("lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize")

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        super().__init__(params)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov, self.maximize = weight_decay, nesterov, maximize
        self._check_hyperparameters()

    def _check_hyperparameters(self) -> None:
        self.lr = _at_least_zero(self.lr, "lr")
        self.momentum = _at_least_zero(self.momentum, "momentum")
        self.dampening = _real(self.dampening, "dampening")
        self.weight_decay = _at_least_zero(self.weight_decay, "weight_decay")
        self.nesterov, self.maximize = bool(self.nesterov), bool(self.maximize)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0, got "
                f"momentum={self.momentum!r}, dampening={self.dampening!r}"
            )

    def _update(self, theta, grad, state):
        g = -grad if self.maximize else grad
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # np.array, not g.copy(): for a 0-d parameter g is a NumPy scalar, not an array
                buf = state["momentum_buffer"] = np.array(g, dtype=theta.dtype)
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        theta -= self.lr * g


# --- RMSprop ----------------------------------------------------------------------------------
class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of recent gradients;
    ``torch.optim.RMSprop``'s arguments, defaults and arithmetic.

    Update rule, per parameter, at step ``t`` (all buffers start at 0)::

        g  ← −g                        if maximize
        g  ← g + λ θ                   if λ ≠ 0            (weight_decay, coupled like L2)
        v  ← α v + (1 − α) g²                              (running mean of g²)
        if centered:
            ḡ ← ḡ + (1 − α)(g − ḡ)                         (running mean of g)
            d ← √(v − ḡ²) + ε                              (running standard deviation)
        else:
            d ← √v + ε
        if μ > 0:
            b ← μ b + g / d
            θ ← θ − γ b
        else:
            θ ← θ − γ g / d

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-2
        Learning rate γ >= 0.
    alpha : float, default 0.99
        Smoothing constant α, 0 <= α <= 1 (torch only checks α >= 0; above 1 the average would
        give the new gradient a negative weight).
    eps : float, default 1e-8
        ε >= 0, added to the root mean square (outside the square root, as torch does).
    weight_decay : float, default 0
        λ >= 0.
    momentum : float, default 0
        μ >= 0.
    centered : bool, default False
        Normalise by the estimated variance of the gradient instead of its second moment.
    maximize : bool, default False (keyword only)
    """

    _hyperparameters = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        super().__init__(params)
        self.lr, self.alpha, self.eps = lr, alpha, eps
        self.weight_decay, self.momentum = weight_decay, momentum
        self.centered, self.maximize = centered, maximize
        self._check_hyperparameters()

    def _check_hyperparameters(self) -> None:
        self.lr = _at_least_zero(self.lr, "lr")
        self.alpha = _in_unit_interval(self.alpha, "alpha", include_one=True)
        self.eps = _at_least_zero(self.eps, "eps")
        self.weight_decay = _at_least_zero(self.weight_decay, "weight_decay")
        self.momentum = _at_least_zero(self.momentum, "momentum")
        self.centered, self.maximize = bool(self.centered), bool(self.maximize)

    def _update(self, theta, grad, state):
        state["step"] = state.get("step", 0) + 1
        v = _buffer(state, "square_avg", theta)
        g = -grad if self.maximize else grad
        if self.weight_decay != 0:
            g = g + self.weight_decay * theta

        v *= self.alpha
        v += (1 - self.alpha) * g * g
        if self.centered:
            g_avg = _buffer(state, "grad_avg", theta)
            g_avg += (1 - self.alpha) * (g - g_avg)  # torch's lerp_ towards g
            denom = np.sqrt(v - g_avg * g_avg)
        else:
            denom = np.sqrt(v)
        denom += self.eps

        if self.momentum > 0:
            buf = _buffer(state, "momentum_buffer", theta)
            buf *= self.momentum
            buf += g / denom
            theta -= self.lr * buf
        else:
            theta -= self.lr * (g / denom)


# --- Adam and AdamW ---------------------------------------------------------------------------
class Adam(Optimizer):
    r"""Adam: momentum on the gradient, divided by the root of a running mean of its square,
    both bias-corrected; ``torch.optim.Adam``'s arguments, defaults and arithmetic.

    Update rule, per parameter, at step ``t`` (``m``, ``v`` and ``vmax`` start at 0)::

        g  ← −g                        if maximize
        θ  ← θ (1 − γ λ)               if decoupled_weight_decay (this is AdamW)
        g  ← g + λ θ                   otherwise, if λ ≠ 0  (coupled, like an L2 penalty)
        m  ← m + (1 − β₁)(g − m)                           (= β₁ m + (1 − β₁) g)
        v  ← β₂ v + (1 − β₂) g²
        vmax ← max(vmax, v)            if amsgrad; then use vmax in place of v below
        θ  ← θ − (γ / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

    The last line is the textbook ``θ ← θ − γ m̂ / (√v̂ + ε)`` with ``m̂ = m / (1 − β₁ᵗ)`` and
    ``v̂ = v / (1 − β₂ᵗ)``, grouped as torch groups it (so ε is added after the correction).

    With ``weight_decay`` and the default ``decoupled_weight_decay=False``, Adam's weight decay
    is exactly an L2 penalty ``λ/2 ‖θ‖²`` added to the loss; because the penalty's gradient is
    then divided by √v̂ like any other gradient, weights with large gradients are decayed less.
    AdamW (Loshchilov & Hutter) decouples the decay from the adaptive step instead.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
        γ >= 0.
    betas : (float, float), default (0.9, 0.999)
        β₁, β₂, each in [0, 1).
    eps : float, default 1e-8
        ε >= 0.
    weight_decay : float, default 0
        λ >= 0.
    amsgrad : bool, default False
        Use the running maximum of ``v`` (AMSGrad).
    maximize : bool, default False (keyword only)
    decoupled_weight_decay : bool, default False (keyword only)
        ``True`` makes this AdamW (as in torch 2.x).
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize",
                        "decoupled_weight_decay")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        super().__init__(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.amsgrad, self.maximize = weight_decay, amsgrad, maximize
        self.decoupled_weight_decay = decoupled_weight_decay
        self._check_hyperparameters()

    def _check_hyperparameters(self) -> None:
        self.lr = _at_least_zero(self.lr, "lr")
        self.betas = _betas(self.betas)
        self.eps = _at_least_zero(self.eps, "eps")
        self.weight_decay = _at_least_zero(self.weight_decay, "weight_decay")
        self.amsgrad, self.maximize = bool(self.amsgrad), bool(self.maximize)
        self.decoupled_weight_decay = bool(self.decoupled_weight_decay)

    def _update(self, theta, grad, state):
        beta1, beta2 = self.betas
        t = state["step"] = state.get("step", 0) + 1
        g = -grad if self.maximize else grad
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                theta *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * theta

        m, v = _buffer(state, "exp_avg", theta), _buffer(state, "exp_avg_sq", theta)
        m += (1 - beta1) * (g - m)  # torch's lerp_ towards g
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            v_max = _buffer(state, "max_exp_avg_sq", theta)
            v = np.maximum(v_max, v, out=v_max)

        step_size = self.lr / (1 - beta1**t)
        denom = np.sqrt(v) / (1 - beta2**t) ** 0.5
        denom += self.eps
        theta -= step_size * (m / denom)


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay; ``torch.optim.AdamW``'s arguments, defaults
    (note ``weight_decay=1e-2``) and arithmetic.

    Update rule: first shrink the weights, then take a plain Adam step (see :class:`Adam`)::

        θ  ← θ (1 − γ λ)
        θ  ← Adam step on θ with gradient g and no weight decay

    Unlike Adam's coupled ``weight_decay``, the decay here never enters ``m`` or ``v`` and is
    not divided by ``√v̂``: every weight shrinks by the same factor ``1 − γλ`` per step. It is
    therefore *not* the same as adding an L2 penalty to the loss.

    Parameters
    ----------
    params : iterable of Parameter
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 1e-2
    amsgrad : bool, default False
    maximize : bool, default False (keyword only)
    """

    _hyperparameters = ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize")

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)


#: The optimizers by the names the command line, ``companion.train`` and ``companion.parity`` use.
#: Each class has the name of its torch twin in ``torch.optim``.
OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
