"""Optimizers, learning-rate schedules and gradient clipping, with PyTorch's names and semantics.

After ``loss.backward()`` has filled every parameter's ``grad``, an optimizer's ``step()`` moves
each ``p.data`` a little downhill, and ``zero_grad()`` resets the grads (they accumulate). The
update rules, with g the gradient:

- :class:`SGD`: p <- p - lr g. Gradient descent (GD), stochastic GD and mini-batch SGD are all
  this one rule; they differ only in how many examples went into g.
- :class:`SGD` with ``momentum``: v <- mu v + g; p <- p - lr v (a heavy ball that keeps rolling).
- :class:`RMSProp`: s <- alpha s + (1 - alpha) g^2; p <- p - lr g / (sqrt(s) + eps) (each
  parameter gets its own step size, small where gradients have been large).
- :class:`Adam`: momentum on g plus RMSProp's s, both bias-corrected.

Every optimizer keeps its per-parameter state in plain lists aligned with ``params``
(``opt.momentum_buffer[i]`` belongs to ``opt.params[i]``), so you can print and plot it, and
``state_dict()`` / ``load_state_dict()`` save and restore it as JSON-friendly dicts.

Schedules (:class:`StepLR`, :class:`ExponentialLR`, :class:`LinearLR`,
:class:`CosineAnnealingLR`) set ``optimizer.lr`` once per epoch. :func:`clip_grad_norm_` and
:func:`clip_grad_value_` tame exploding gradients between ``backward()`` and ``step()``.

>>> from microgradnn import Value
>>> w = Value(0.0)
>>> opt = SGD([w], lr=0.1)
>>> for _ in range(100):
...     opt.zero_grad()
...     loss = (w - 3) ** 2
...     loss.backward()
...     opt.step()
>>> round(w.data, 6)
3.0
"""

from __future__ import annotations

import functools
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from microgradnn.engine import Value, no_grad

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LinearLR",
    "Optimizer",
    "RMSProp",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_optimizer",
]


# -- argument checks --------------------------------------------------------------------------


def _real(name: str, value: object) -> float:
    """A finite real number as float; TypeError / ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}: {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name}: expected a finite number, got {x!r}")
    return x


def _at_least(name: str, value: object, low: float = 0.0) -> float:
    x = _real(name, value)
    if x < low:
        raise ValueError(f"{name}: expected a number >= {low:g}, got {x!r}")
    return x


def _in_range(name: str, value: object, low: float, high: float, *, high_open: bool) -> float:
    """A number in [low, high) (``high_open``) or [low, high]."""
    x = _real(name, value)
    if x < low or (x >= high if high_open else x > high):
        shown = f"[{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name}: expected a number in {shown}, got {x!r}")
    return x


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= 1, got {type(value).__name__}: {value!r}")
    if value < 1:
        raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
    return int(value)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {type(value).__name__}: {value!r}")
    return value


def _values(params: object, owner: str, *, clipping: bool) -> list[Value]:
    """The parameters as a list of distinct Values, or a clear error about what came in.

    Optimizers need at least one Value in an iterable; the clipping functions, as PyTorch's,
    also take a single Value or an empty list.
    """
    if type(params) is Value:
        if clipping:
            return [params]
        raise TypeError(
            f"{owner} expects an iterable of Values (e.g. model.parameters()), got a single "
            "Value; wrap it in a list: [w]"
        )
    if isinstance(params, (str, bytes, dict)) or not isinstance(params, Iterable):
        raise TypeError(
            f"{owner} expects an iterable of Values (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        )
    out = list(params)
    if not out and not clipping:
        raise ValueError(
            f"{owner} got an empty parameter list: expected at least 1 Value, got 0 "
            "(a generator that was already consumed?)"
        )
    first_seen: dict[int, int] = {}
    for i, p in enumerate(out):
        if type(p) is not Value:
            hint = " (pass model.parameters(), not named_parameters())" if type(p) is tuple else ""
            raise TypeError(
                f"{owner}: expected a Value at params[{i}], got {type(p).__name__}{hint}"
            )
        if not clipping and p._op is not None:
            raise ValueError(
                f"{owner}: params[{i}] was computed by op {p._op.name!r}, expected a leaf Value "
                "(a weight you created, such as model.parameters())"
            )
        j = first_seen.setdefault(id(p), i)
        if j != i:
            raise ValueError(
                f"{owner}: params[{i}] is the same Value as params[{j}]; list each parameter once"
            )
    return out


# -- optimizers ---------------------------------------------------------------------------------

Closure = Callable[[], "Value | float"]


class Optimizer(ABC):
    """Base class: the parameters, the learning rate ``lr`` and the ``step``/``zero_grad`` loop.

    A subclass implements its update rule in ``_update`` (``step()`` runs it under
    :func:`no_grad`; it changes each ``p.data`` in place), and, if it has more settings than
    ``lr``, overrides ``hyperparameters()`` and ``_configure()``; its per-parameter state lists
    are named in ``_state_names`` so that ``state_dict()`` saves them.

    Unlike PyTorch there are no ``param_groups``: one learning rate for all parameters.

    Args:
        params: The Values to optimize, e.g. ``model.parameters()``.
        lr: The learning rate, >= 0.

    Attributes:
        params: The Values being optimized, in the order given.
        step_count: How many times ``step()`` has run (Adam's t).

    Example:
        Your own optimizer, sign gradient descent (p <- p - lr sign(g)):

        >>> class SignGD(Optimizer):
        ...     def _update(self) -> None:
        ...         for p in self.params:
        ...             p.data -= self.lr * ((p.grad > 0) - (p.grad < 0))
        >>> w = Value(1.0)
        >>> opt = SignGD([w], lr=0.25)
        >>> w.grad = 7.0
        >>> opt.step()
        >>> w.data
        0.75
    """

    _state_names: ClassVar[tuple[str, ...]] = ()
    _optional_state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Value], lr: float = 1e-3) -> None:
        self.params: list[Value] = _values(params, type(self).__name__, clipping=False)
        self.step_count = 0
        self._lr = _at_least("lr", lr)

    @property
    def lr(self) -> float:
        """The learning rate; assign to it (or let a schedule do so) to change later steps."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _at_least("lr", value)

    def hyperparameters(self) -> dict[str, Any]:
        """The settings given at construction (including the current ``lr``), by name."""
        return {"lr": self.lr}

    def _configure(self, **hyperparameters: Any) -> None:
        """Check every hyper-parameter, then set them all (or none)."""
        h = dict(hyperparameters)
        lr = _at_least("lr", h.pop("lr"))
        _no_extra(h)
        self._lr = lr

    @abstractmethod
    def _update(self) -> None:
        """Apply one update to every ``p.data`` from ``p.grad``."""

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0.0 (PyTorch sets them to None by default)."""
        for p in self.params:
            p.grad = 0.0

    def step(self, closure: Closure | None = None) -> float | None:
        """Update every parameter once from its current ``grad``.

        Args:
            closure: Optional function that zeroes the grads, recomputes the loss, calls
                ``backward()`` and returns the loss (PyTorch's closure protocol).

        Returns:
            The closure's loss as a float, or None without a closure.
        """
        loss = None
        if closure is not None:
            out = closure()
            loss = out.data if type(out) is Value else _real("closure() result", out)
        self.step_count += 1
        with no_grad():
            self._update()
        return loss

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume training exactly, as JSON-friendly lists and numbers.

        The parameter values themselves are not included: save the model for those.
        """
        hyper = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.hyperparameters().items()
        }
        state: dict[str, list[float] | None] = {}
        for name in self._state_names:
            values: list[float] | None = getattr(self, name)
            state[name] = None if values is None else list(values)
        return {
            "optimizer": type(self).__name__,
            "num_params": len(self.params),
            "hyperparameters": hyper,
            "step_count": self.step_count,
            "state": state,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by :meth:`state_dict` (copies, no aliasing).

        Raises:
            ValueError: The dict comes from another optimizer type, another number of
                parameters, or misses or adds entries.
        """
        name = type(self).__name__
        expected_keys = {"optimizer", "num_params", "hyperparameters", "step_count", "state"}
        _same_keys("state_dict", state_dict, expected_keys)
        if state_dict["optimizer"] != name:
            raise ValueError(
                f"load_state_dict: expected a {name} state, got {state_dict['optimizer']!r}"
            )
        n = len(self.params)
        if state_dict["num_params"] != n:
            raise ValueError(
                f"load_state_dict: expected a state for {n} parameters, "
                f"got {state_dict['num_params']!r}"
            )
        hyper = state_dict["hyperparameters"]
        _same_keys("hyperparameters", hyper, set(self.hyperparameters()))
        steps = state_dict["step_count"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"step_count: expected an integer >= 0, got {steps!r}")
        saved = state_dict["state"]
        _same_keys("state", saved, set(self._state_names))
        restored: dict[str, list[float] | None] = {}
        for key in self._state_names:
            values = saved[key]
            if values is None and key in self._optional_state:
                restored[key] = None
                continue
            if not isinstance(values, list) or len(values) != n:
                got = f"{len(values)} values" if isinstance(values, list) else repr(values)
                raise ValueError(
                    f"state[{key!r}]: expected a list of {n} numbers (one per parameter), got {got}"
                )
            restored[key] = [_real(f"state[{key!r}][{i}]", v) for i, v in enumerate(values)]
        self._configure(**hyper)
        self.step_count = steps
        for key, restored_values in restored.items():
            setattr(self, key, restored_values)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}, params={len(self.params)})"


def _same_keys(what: str, d: object, expected: set[str]) -> None:
    if not isinstance(d, dict):
        raise TypeError(f"{what}: expected a dict, got {type(d).__name__}")
    missing, extra = expected - set(d), set(d) - expected
    if missing or extra:
        raise ValueError(f"{what}: missing keys {sorted(missing)}, unexpected keys {sorted(extra)}")


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    Per parameter, with g = p.grad + weight_decay p (L2 regularization folded into g):
    v <- momentum v + (1 - dampening) g (v <- g on the first step); p <- p - lr v, or with
    Nesterov p <- p - lr (g + momentum v). Without momentum: p <- p - lr g.
    Same arithmetic as ``torch.optim.SGD``.

    Args:
        params: The Values to optimize, e.g. ``model.parameters()``.
        lr: Learning rate (eta in the lectures), >= 0.
        momentum: mu, how much of the previous step carries over, >= 0 (0.9 is typical).
        dampening: Scales g in the momentum average, in [0, 1].
        nesterov: Look ahead: step along g + mu v. Needs momentum > 0 and dampening = 0.
        weight_decay: L2 penalty strength, >= 0 (adds weight_decay p to g).

    Attributes:
        momentum_buffer: v per parameter; None before the first step with momentum.

    Raises:
        ValueError: A hyper-parameter is out of range, or Nesterov without momentum.

    Example:
        >>> from microgradnn import Value
        >>> w = Value(1.0)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> w.grad = 2.0
        >>> opt.step(); w.data          # v = g = 2;         w = 1 - 0.1 * 2
        0.8
        >>> opt.step(); round(w.data, 12)  # v = 0.9 * 2 + 2;  w = 0.8 - 0.1 * 3.8
        0.42
        >>> opt
        SGD(lr=0.1, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, params=1)
    """

    _state_names = ("momentum_buffer",)
    _optional_state = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self._configure(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            nesterov=nesterov,
            weight_decay=weight_decay,
        )
        self.momentum_buffer: list[float] | None = None

    def _configure(self, **hyperparameters: Any) -> None:
        h = dict(hyperparameters)
        lr = _at_least("lr", h.pop("lr"))
        momentum = _at_least("momentum", h.pop("momentum"))
        dampening = _in_range("dampening", h.pop("dampening"), 0.0, 1.0, high_open=False)
        nesterov = _flag("nesterov", h.pop("nesterov"))
        weight_decay = _at_least("weight_decay", h.pop("weight_decay"))
        _no_extra(h)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )
        self._lr, self.momentum, self.dampening = lr, momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay

    def hyperparameters(self) -> dict[str, Any]:
        """lr, momentum, dampening, nesterov and weight_decay, by name."""
        return {
            "lr": self.lr,
            "momentum": self.momentum,
            "dampening": self.dampening,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def _update(self) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        first = self.momentum_buffer is None
        if mu != 0 and self.momentum_buffer is None:
            self.momentum_buffer = [0.0] * len(self.params)
        buf = self.momentum_buffer
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0:
                g = g + wd * p.data
            if mu != 0 and buf is not None:
                buf[i] = g if first else buf[i] * mu + (1 - self.dampening) * g
                g = g + mu * buf[i] if self.nesterov else buf[i]
            p.data = p.data + -lr * g


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of that parameter's gradients.

    Per parameter, with g = p.grad + weight_decay p: s <- alpha s + (1 - alpha) g^2;
    p <- p - lr g / (sqrt(s) + eps). Centered: also m <- alpha m + (1 - alpha) g and use
    sqrt(s - m^2) (an estimate of the variance). With momentum:
    b <- momentum b + g / (sqrt(s) + eps); p <- p - lr b. Same arithmetic as
    ``torch.optim.RMSprop``; :data:`RMSprop` is an alias with PyTorch's spelling.

    Args:
        params: The Values to optimize.
        lr: Learning rate, >= 0.
        alpha: Decay of the running average of g^2, >= 0.
        eps: Added to the denominator so that a zero gradient history cannot divide by 0.
        momentum: Momentum on the normalized step, >= 0.
        centered: Normalize by the gradient's running variance instead of its second moment.
        weight_decay: L2 penalty strength, >= 0.

    Attributes:
        square_avg: s per parameter.
        grad_avg: m per parameter (used when ``centered``).
        momentum_buffer: b per parameter (used when ``momentum > 0``).

    Example:
        >>> from microgradnn import Value
        >>> w = Value(1.0)
        >>> opt = RMSProp([w], lr=0.01, alpha=0.99)
        >>> w.grad = 5.0
        >>> opt.step()  # s = 0.01 * 25, so the step is 0.01 * 5 / sqrt(0.25) = 0.1
        >>> round(w.data, 6)
        0.9
    """

    _state_names = ("square_avg", "grad_avg", "momentum_buffer")

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params)
        self._configure(
            lr=lr,
            alpha=alpha,
            eps=eps,
            momentum=momentum,
            centered=centered,
            weight_decay=weight_decay,
        )
        n = len(self.params)
        self.square_avg = [0.0] * n
        self.grad_avg = [0.0] * n
        self.momentum_buffer = [0.0] * n

    def _configure(self, **hyperparameters: Any) -> None:
        h = dict(hyperparameters)
        lr = _at_least("lr", h.pop("lr"))
        alpha = _at_least("alpha", h.pop("alpha"))
        eps = _at_least("eps", h.pop("eps"))
        momentum = _at_least("momentum", h.pop("momentum"))
        centered = _flag("centered", h.pop("centered"))
        weight_decay = _at_least("weight_decay", h.pop("weight_decay"))
        _no_extra(h)
        self._lr, self.alpha, self.eps, self.momentum = lr, alpha, eps, momentum
        self.centered, self.weight_decay = centered, weight_decay

    def hyperparameters(self) -> dict[str, Any]:
        """lr, alpha, eps, momentum, centered and weight_decay, by name."""
        return {
            "lr": self.lr,
            "alpha": self.alpha,
            "eps": self.eps,
            "momentum": self.momentum,
            "centered": self.centered,
            "weight_decay": self.weight_decay,
        }

    def _update(self) -> None:
        lr, alpha, eps, mu, wd = self.lr, self.alpha, self.eps, self.momentum, self.weight_decay
        s, m, buf = self.square_avg, self.grad_avg, self.momentum_buffer
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0:
                g = g + wd * p.data
            s[i] = s[i] * alpha + (1 - alpha) * g * g
            if self.centered:
                m[i] = alpha * m[i] + (1 - alpha) * g
                # s >= m^2 in exact arithmetic; max() keeps rounding from making it negative
                # (where PyTorch would produce nan).
                avg = math.sqrt(max(s[i] - m[i] * m[i], 0.0)) + eps
            else:
                avg = math.sqrt(s[i]) + eps
            if mu > 0:
                buf[i] = buf[i] * mu + g / avg
                p.data = p.data + -lr * buf[i]
            else:
                p.data = p.data + -lr * (g / avg)


RMSprop = RMSProp


class Adam(Optimizer):
    """Adam: momentum (m) and RMSProp's squared-gradient average (v), both bias-corrected.

    Per parameter, with g = p.grad + weight_decay p and t = step_count:
    m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    The corrections undo the pull of m = v = 0 towards zero in the first steps. With
    ``amsgrad``, v in the denominator is the running maximum of v. Weight decay is the L2
    kind, added to g, as in ``torch.optim.Adam`` (see :class:`AdamW` for the decoupled kind).

    Args:
        params: The Values to optimize.
        lr: Learning rate, >= 0; roughly the size of the first steps.
        betas: (b1, b2), the decays of m and v, each in [0, 1).
        eps: Added to the denominator, >= 0.
        weight_decay: L2 penalty strength, >= 0.
        amsgrad: Use the running maximum of v (never lets the step size grow back).

    Attributes:
        exp_avg: m per parameter.
        exp_avg_sq: v per parameter.
        max_exp_avg_sq: The running maximum of v per parameter (used when ``amsgrad``).

    Example:
        >>> from microgradnn import Value
        >>> w = Value(1.0)
        >>> opt = Adam([w], lr=0.1)
        >>> w.grad = 123.0
        >>> opt.step()  # the first step is about lr, whatever the gradient's size
        >>> round(w.data, 6)
        0.9
    """

    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled: ClassVar[bool] = False

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params)
        self._configure(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        n = len(self.params)
        self.exp_avg = [0.0] * n
        self.exp_avg_sq = [0.0] * n
        self.max_exp_avg_sq = [0.0] * n

    def _configure(self, **hyperparameters: Any) -> None:
        h = dict(hyperparameters)
        lr = _at_least("lr", h.pop("lr"))
        betas = h.pop("betas")
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            shown = len(betas) if isinstance(betas, Sequence) else type(betas).__name__
            raise ValueError(f"betas: expected a pair (b1, b2), got {shown!r}")
        beta1 = _in_range("betas[0]", betas[0], 0.0, 1.0, high_open=True)
        beta2 = _in_range("betas[1]", betas[1], 0.0, 1.0, high_open=True)
        eps = _at_least("eps", h.pop("eps"))
        weight_decay = _at_least("weight_decay", h.pop("weight_decay"))
        amsgrad = _flag("amsgrad", h.pop("amsgrad"))
        _no_extra(h)
        self._lr, self.betas, self.eps = lr, (beta1, beta2), eps
        self.weight_decay, self.amsgrad = weight_decay, amsgrad

    def hyperparameters(self) -> dict[str, Any]:
        """lr, betas, eps, weight_decay and amsgrad, by name."""
        return {
            "lr": self.lr,
            "betas": self.betas,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
            "amsgrad": self.amsgrad,
        }

    def _update(self) -> None:
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        t = self.step_count
        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1 - beta2**t)
        m, v, v_max = self.exp_avg, self.exp_avg_sq, self.max_exp_avg_sq
        for i, p in enumerate(self.params):
            g = p.grad
            if wd != 0:
                if self._decoupled:
                    p.data = p.data * (1 - lr * wd)
                else:
                    g = g + wd * p.data
            m[i] = beta1 * m[i] + (1 - beta1) * g
            v[i] = v[i] * beta2 + (1 - beta2) * g * g
            if self.amsgrad:
                v_max[i] = max(v_max[i], v[i])
                denom = math.sqrt(v_max[i]) / bias_correction2_sqrt + eps
            else:
                denom = math.sqrt(v[i]) / bias_correction2_sqrt + eps
            p.data = p.data + -step_size * (m[i] / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as ``torch.optim.AdamW``.

    First p <- p (1 - lr weight_decay), then the :class:`Adam` step on the plain gradient. Unlike
    L2 in Adam, the decay is not divided by sqrt(v), so every weight shrinks at the same rate.
    Arguments as :class:`Adam`; ``weight_decay`` defaults to 0.01.

    Example:
        >>> from microgradnn import Value
        >>> w = Value(2.0)
        >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
        >>> opt.step()  # zero gradient: only the decay acts, w = 2 (1 - 0.1 * 0.5)
        >>> w.data
        1.9
    """

    _decoupled = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )


def _no_extra(h: dict[str, Any]) -> None:
    if h:
        raise TypeError(f"unexpected hyper-parameters: {sorted(h)}")


OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "gd": SGD,
    "sgd": SGD,
    "momentum": functools.partial(SGD, momentum=0.9),
    "rmsprop": RMSProp,
    "adam": Adam,
    "adamw": AdamW,
}
"""Optimizer factories by name, for :func:`get_optimizer`."""


def get_optimizer(name: str, params: Iterable[Value], **kwargs: Any) -> Optimizer:
    """Build an optimizer by name: "gd", "sgd", "momentum", "rmsprop", "adam" or "adamw".

    "gd" and "sgd" are both :class:`SGD`: full-batch gradient descent and (mini-batch)
    stochastic gradient descent differ in how many examples went into the gradient, not in the
    update. "momentum" is :class:`SGD` with ``momentum=0.9`` (override it in ``kwargs``).

    Args:
        name: One of the names above (case-insensitive).
        params: The Values to optimize.
        **kwargs: Hyper-parameters for the optimizer, e.g. ``lr=0.1``.

    Raises:
        ValueError: Unknown name; the message lists the known ones.

    Example:
        >>> from microgradnn import Value
        >>> get_optimizer("momentum", [Value(0.0)], lr=0.05)
        SGD(lr=0.05, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0, params=1)
    """
    if not isinstance(name, str):
        raise TypeError(f"get_optimizer: expected a name (str), got {type(name).__name__}")
    factory = OPTIMIZERS.get(name.lower())
    if factory is None:
        known = ", ".join(repr(k) for k in OPTIMIZERS)
        raise ValueError(f"unknown optimizer {name!r}: expected one of {known}")
    return factory(params, **kwargs)


# -- learning-rate schedules --------------------------------------------------------------------


class LRScheduler(ABC):
    """Base class: sets ``optimizer.lr = lr_at(epoch)``; call :meth:`step` once per epoch.

    As in PyTorch, building a schedule counts as epoch 0 and already sets ``optimizer.lr`` to
    ``lr_at(0)``; the optimizer's lr at that moment is ``base_lr``. The lr is computed in closed
    form from ``base_lr``, so it equals PyTorch's (which updates it multiplicatively) as long as
    nothing else changes ``optimizer.lr``.

    Attributes:
        optimizer: The optimizer whose ``lr`` is set.
        base_lr: The optimizer's lr when the schedule was built.
        last_epoch: How many times :meth:`step` has run since construction.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = -1
        self._last_lr = optimizer.lr
        self.step()

    @abstractmethod
    def lr_at(self, epoch: int) -> float:
        """The learning rate this schedule gives at ``epoch`` (0 = before any step)."""

    @abstractmethod
    def hyperparameters(self) -> dict[str, Any]:
        """The settings given at construction, by name."""

    def step(self) -> None:
        """Advance one epoch and set ``optimizer.lr`` to that epoch's learning rate."""
        self.last_epoch += 1
        self._last_lr = self.lr_at(self.last_epoch)
        self.optimizer.lr = self._last_lr

    def get_last_lr(self) -> float:
        """The learning rate set by the latest :meth:`step` (PyTorch returns a list per group)."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """``base_lr``, ``last_epoch`` and the hyper-parameters, JSON-friendly."""
        return {
            "scheduler": type(self).__name__,
            "base_lr": self.base_lr,
            "last_epoch": self.last_epoch,
            "hyperparameters": self.hyperparameters(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`, and set ``optimizer.lr`` to that epoch's rate.

        Setting the lr (which PyTorch leaves to the optimizer's own state) makes the order in
        which the optimizer and the schedule are restored irrelevant.

        Raises:
            ValueError: The dict belongs to another schedule type or has other settings.
        """
        name = type(self).__name__
        _same_keys(
            "state_dict", state_dict, {"scheduler", "base_lr", "last_epoch", "hyperparameters"}
        )
        if state_dict["scheduler"] != name:
            raise ValueError(
                f"load_state_dict: expected a {name} state, got {state_dict['scheduler']!r}"
            )
        if state_dict["hyperparameters"] != self.hyperparameters():
            raise ValueError(
                f"load_state_dict: expected settings {self.hyperparameters()}, "
                f"got {state_dict['hyperparameters']}"
            )
        last_epoch = state_dict["last_epoch"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < 0:
            raise ValueError(f"last_epoch: expected an integer >= 0, got {last_epoch!r}")
        self.base_lr = _at_least("base_lr", state_dict["base_lr"])
        self.last_epoch = last_epoch
        self._last_lr = self.lr_at(last_epoch)
        self.optimizer.lr = self._last_lr

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return (
            f"{type(self).__name__}({settings}, base_lr={self.base_lr!r}, "
            f"last_epoch={self.last_epoch}, lr={self._last_lr!r})"
        )


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    lr_k = base_lr * gamma^floor(k / step_size), as ``torch.optim.lr_scheduler.StepLR``.

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        step_size: Epochs between decays, an integer >= 1.
        gamma: The decay factor, > 0.

    Example:
        >>> from microgradnn import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = StepLR(opt, step_size=2, gamma=0.5)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(opt.lr)  # ... train one epoch ...
        ...     sched.step()
        >>> lrs
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _positive_int("step_size", step_size)
        self.gamma = _real("gamma", gamma)
        if self.gamma <= 0:
            raise ValueError(f"gamma: expected a number > 0, got {self.gamma!r}")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr * gamma^floor(epoch / step_size)."""
        return self.base_lr * self.gamma ** (epoch // self.step_size)

    def hyperparameters(self) -> dict[str, Any]:
        """step_size and gamma."""
        return {"step_size": self.step_size, "gamma": self.gamma}


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch: lr_k = base_lr * gamma^k.

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        gamma: The decay factor per epoch, > 0.

    Example:
        >>> from microgradnn import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = ExponentialLR(opt, gamma=0.5)
        >>> sched.step(); sched.step()
        >>> opt.lr
        0.25
    """

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = _real("gamma", gamma)
        if self.gamma <= 0:
            raise ValueError(f"gamma: expected a number > 0, got {self.gamma!r}")
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr * gamma^epoch."""
        return self.base_lr * self.gamma**epoch

    def hyperparameters(self) -> dict[str, Any]:
        """Gamma."""
        return {"gamma": self.gamma}


class LinearLR(LRScheduler):
    """Change the learning rate linearly from start_factor*base_lr to end_factor*base_lr.

    lr_k = base_lr (start_factor + (end_factor - start_factor) min(k, total_iters) / total_iters),
    as ``torch.optim.lr_scheduler.LinearLR``. The defaults are micrograd's demo schedule,
    lr = 1.0 - 0.9 k / 100 for base_lr = 1 (PyTorch's defaults are 1/3, 1.0 and 5).

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        start_factor: Factor at epoch 0, in (0, 1].
        end_factor: Factor from epoch ``total_iters`` on, in [0, 1].
        total_iters: Epochs the change takes, an integer >= 1.

    Example:
        micrograd's demo: 100 steps, lr = 1.0 - 0.9 k / 100 at step k.

        >>> from microgradnn import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
        >>> lrs = []
        >>> for k in range(100):
        ...     lrs.append(opt.lr)  # ... one training step with this lr ...
        ...     sched.step()
        >>> all(abs(lr - (1.0 - 0.9 * k / 100)) < 1e-15 for k, lr in enumerate(lrs))
        True
        >>> round(lrs[-1], 12), round(opt.lr, 12)
        (0.109, 0.1)
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0,
        end_factor: float = 0.1,
        total_iters: int = 100,
    ) -> None:
        start = _real("start_factor", start_factor)
        if not 0 < start <= 1:
            raise ValueError(f"start_factor: expected a number in (0, 1], got {start!r}")
        self.start_factor = start
        self.end_factor = _in_range("end_factor", end_factor, 0.0, 1.0, high_open=False)
        self.total_iters = _positive_int("total_iters", total_iters)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """base_lr (start + (end - start) min(epoch, total_iters) / total_iters)."""
        progress = min(self.total_iters, epoch) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)

    def hyperparameters(self) -> dict[str, Any]:
        """start_factor, end_factor and total_iters."""
        return {
            "start_factor": self.start_factor,
            "end_factor": self.end_factor,
            "total_iters": self.total_iters,
        }


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from base_lr down to eta_min over T_max epochs.

    lr_k = eta_min + (base_lr - eta_min) (1 + cos(pi k / T_max)) / 2, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` (after T_max it climbs back up, with period
    2 T_max: stop at T_max, or pick T_max = the number of epochs).

    Args:
        optimizer: The optimizer whose ``lr`` to set.
        T_max: Epochs from base_lr to eta_min, an integer >= 1.
        eta_min: The lowest learning rate, >= 0.

    Example:
        >>> from microgradnn import Value
        >>> opt = SGD([Value(0.0)], lr=1.0)
        >>> sched = CosineAnnealingLR(opt, T_max=4)
        >>> lrs = []
        >>> for epoch in range(5):
        ...     lrs.append(round(opt.lr, 6))
        ...     sched.step()
        >>> lrs
        [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803  (PyTorch's name)
        eta_min: float = 0.0,
    ) -> None:
        self.T_max = _positive_int("T_max", T_max)
        self.eta_min = _at_least("eta_min", eta_min)
        super().__init__(optimizer)

    def lr_at(self, epoch: int) -> float:
        """eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2."""
        cosine = 1 + math.cos(math.pi * epoch / self.T_max)
        return self.eta_min + (self.base_lr - self.eta_min) * cosine / 2

    def hyperparameters(self) -> dict[str, Any]:
        """T_max and eta_min."""
        return {"T_max": self.T_max, "eta_min": self.eta_min}


# -- gradient clipping --------------------------------------------------------------------------


def clip_grad_norm_(
    params: Iterable[Value] | Value,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (sum_i |g_i|^p)^(1/p) over all parameters (p = ``norm_type``; max |g_i| for
    p = inf); every g_i <- g_i min(1, max_norm / (total + 1e-6)). The direction of the gradient
    is kept, only its length is capped: a guard against exploding gradients. Same as
    ``torch.nn.utils.clip_grad_norm_``, including the 1e-6 and the in-place update (the trailing
    underscore).

    Args:
        params: The Values whose ``grad`` to clip (a single Value is fine, an empty list
            returns 0.0).
        max_norm: The largest allowed norm, >= 0.
        norm_type: p > 0, or ``math.inf`` for the largest |g_i|.
        error_if_nonfinite: Raise when the total norm is nan or inf (otherwise, as PyTorch,
            the gradients are scaled anyway and become nan).

    Returns:
        The total norm before clipping.

    Raises:
        RuntimeError: The total norm is not finite and ``error_if_nonfinite`` is True.

    Example:
        >>> from microgradnn import Value
        >>> a, b = Value(0.0), Value(0.0)
        >>> a.grad, b.grad = 3.0, 4.0
        >>> clip_grad_norm_([a, b], max_norm=1.0)
        5.0
        >>> round(a.grad, 6), round(b.grad, 6)
        (0.6, 0.8)
    """
    values = _values(params, "clip_grad_norm_", clipping=True)
    max_norm = _at_least("max_norm", max_norm)
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"norm_type: expected a number > 0 or math.inf, got {norm_type!r}")
    p = float(norm_type)
    if not p > 0:
        raise ValueError(f"norm_type: expected a number > 0 or math.inf, got {p!r}")
    _flag("error_if_nonfinite", error_if_nonfinite)
    if not values:
        return 0.0
    grads = [v.grad for v in values]
    if p == math.inf:
        total = max(abs(g) for g in grads)
        if any(math.isnan(g) for g in grads):
            total = math.nan
    elif p == 2.0:
        total = math.sqrt(math.fsum(g * g for g in grads))
    elif p == 1.0:
        total = math.fsum(abs(g) for g in grads)
    else:
        total = math.fsum(abs(g) ** p for g in grads) ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"the total norm of order {p!r} of the gradients is {total!r}, so it cannot be "
            "clipped; set error_if_nonfinite=False to scale the gradients anyway"
        )
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:
        for v in values:
            v.grad = v.grad * coef
    return total


def clip_grad_value_(params: Iterable[Value] | Value, clip_value: float) -> None:
    """Clamp every gradient into [-clip_value, clip_value], as ``torch.nn.utils.clip_grad_value_``.

    g <- min(max(g, -clip_value), clip_value). Unlike :func:`clip_grad_norm_`, this can change
    the gradient's direction.

    Args:
        params: The Values whose ``grad`` to clip (a single Value is fine).
        clip_value: The largest allowed |g|, >= 0.

    Example:
        >>> from microgradnn import Value
        >>> a, b = Value(0.0), Value(0.0)
        >>> a.grad, b.grad = 3.0, -0.5
        >>> clip_grad_value_([a, b], 1.0)
        >>> a.grad, b.grad
        (1.0, -0.5)
    """
    values = _values(params, "clip_grad_value_", clipping=True)
    c = _at_least("clip_value", clip_value)
    for v in values:
        g = v.grad
        if not math.isnan(g):
            v.grad = min(max(g, -c), c)
