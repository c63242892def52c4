"""Optimizers and gradient clipping, with PyTorch's names, argument order and semantics.

After ``loss.backward()`` has filled every parameter's ``grad``, an optimizer's ``step()`` moves
each ``p.data`` a little downhill, and ``zero_grad()`` resets the grads (they accumulate). The
update rules, with g the gradient:

- :class:`SGD`: p <- p - lr g. Gradient descent (GD), stochastic GD and mini-batch SGD are all
  this one rule; they differ only in how many examples went into g.
- :class:`SGD` with ``momentum``: v <- mu v + g; p <- p - lr v (a heavy ball that keeps rolling).
- :class:`RMSProp`: s <- alpha s + (1 - alpha) g^2; p <- p - lr g / (sqrt(s) + eps) (each
  parameter gets its own step size, small where gradients have been large).
- :class:`Adam`: momentum on g plus RMSProp's s, both bias-corrected.

Each optimizer declares its hyper-parameters once, in its ``hypers`` table of :class:`Hyper`
rows (name, default, check); checking the constructor's arguments, ``hyperparameters()``,
``state_dict()`` / ``load_state_dict()`` and the repr all read that table. The positional order
is PyTorch's: ``SGD(params, 0.1, 0.9)`` is lr=0.1, momentum=0.9, as in ``torch.optim.SGD``.

Every optimizer keeps its per-parameter state in plain lists aligned with ``params``
(``opt.momentum_buffer[i]`` belongs to ``opt.params[i]``), so you can print and plot it, and
``state_dict()`` / ``load_state_dict()`` save and restore it as JSON-friendly dicts.

:func:`clip_grad_norm_` and :func:`clip_grad_value_` tame exploding gradients between
``backward()`` and ``step()``.

The built-in optimizers also have a *vector rule*: the same update written once more for all
parameters at once, on one numpy vector of their numbers and one of their gradients
(:meth:`Optimizer.vectorized` returns a :class:`VectorStep`). ``fit(compiled=True)`` uses it, so
an update costs a few array operations instead of a Python loop over every parameter; the
arithmetic is the scalar rule's, operation for operation, so both give the same numbers to the
last bit (tests/test_optim.py checks each against the other and against ``torch.optim``).

The learning-rate schedules live in :mod:`microgradnn.lr_scheduler` and are re-exported here
(``from microgradnn.optim import StepLR`` works, as ``torch.optim.lr_scheduler.StepLR`` does
in PyTorch).

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
import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from microgradnn import _checks as check
from microgradnn.engine import Value, no_grad
from microgradnn.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    StepLR,
)

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "Hyper",
    "LRScheduler",
    "LinearLR",
    "Optimizer",
    "RMSProp",
    "RMSprop",
    "StepLR",
    "VectorStep",
    "clip_coefficient",
    "clip_grad_norm_",
    "clip_grad_value_",
    "get_optimizer",
]


# -- hyper-parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Hyper:
    """One hyper-parameter of an optimizer: its name, its default and its check.

    Attributes:
        name: The constructor argument's name, also the attribute that holds the value.
        default: The value when the argument is not given (PyTorch's, for the built-in
            optimizers).
        check: ``check(name, value)`` returns the value to store (e.g. an int as a float) or
            raises TypeError / ValueError in the package's one wording.

    Example:
        >>> SGD.hypers[1]
        Hyper(name='momentum', default=0.0)
        >>> SGD.hypers[1].check("momentum", -1)
        Traceback (most recent call last):
        ...
        ValueError: momentum: expected a number >= 0, got -1.0
    """

    name: str
    default: Any
    check: Callable[[str, Any], Any] = field(repr=False, compare=False)


def _nonnegative(name: str, value: object) -> float:
    return check.number(name, value, low=0.0)


def _unit_interval(name: str, value: object) -> float:
    return check.number(name, value, low=0.0, high=1.0)


def _betas(name: str, value: object) -> tuple[float, float]:
    """A pair (beta1, beta2), each in [0, 1); a list (as JSON gives back) is fine too."""
    expected = "a pair (beta1, beta2) of numbers in [0, 1)"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name}: expected {expected}, got {check.describe(value)}")
    if len(value) != 2:
        raise ValueError(f"{name}: expected {expected}, got {len(value)} values")
    beta1 = check.number(f"{name}[0]", value[0], low=0.0, high=1.0, high_open=True)
    beta2 = check.number(f"{name}[1]", value[1], low=0.0, high=1.0, high_open=True)
    return (beta1, beta2)


def _with_defaults(hypers: tuple[Hyper, ...], **defaults: Any) -> tuple[Hyper, ...]:
    """``hypers`` with some defaults replaced (AdamW is Adam with weight_decay=0.01)."""
    return tuple(replace(h, default=defaults[h.name]) if h.name in defaults else h for h in hypers)


# -- parameters ---------------------------------------------------------------------------------


def _values(params: object, owner: str, *, clipping: bool) -> list[Value]:
    """The parameters as a list of distinct Values, or a clear error about what came in.

    Optimizers need at least one leaf Value in an iterable; the clipping functions, as
    PyTorch's, also take a single Value or an empty list.
    """
    expected = "an iterable of Values (e.g. model.parameters())"
    if type(params) is Value:
        if clipping:
            return [params]
        raise TypeError(f"{owner}: expected {expected}, got a single Value; wrap it in a list: [w]")
    if isinstance(params, (str, bytes, dict)) or not isinstance(params, Iterable):
        raise TypeError(f"{owner}: expected {expected}, got {check.describe(params)}")
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
                f"{owner}: expected a Value at params[{i}], got {check.describe(p)}{hint}"
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
Vector = NDArray[np.float64]
VectorState = dict[str, "Vector | None"]


class Optimizer(ABC):
    """Base class: the parameters, the hyper-parameter table and the ``step``/``zero_grad`` loop.

    A subclass declares its hyper-parameters in ``hypers`` (one :class:`Hyper` row each, in
    PyTorch's positional order, ``lr`` first), names its per-parameter state lists in
    ``_state_names`` (each starts as ``[0.0] * len(params)``, or None if also listed in
    ``_optional_state``) and implements its update rule in ``_update`` (``step()`` runs it under
    :func:`no_grad`; it changes each ``p.data`` in place). An explicit typed ``__init__`` that
    forwards to this one is optional; in a class that declares its own ``hypers``, its named
    arguments after ``params`` must be the table's names and defaults in order (checked when
    the class is created), so the signature and the table cannot drift apart. A subclass that
    keeps its parent's table may give ``__init__`` any signature.

    Unlike PyTorch there are no ``param_groups``: one learning rate for all parameters.

    Args:
        params: The Values to optimize, e.g. ``model.parameters()``.
        *args: Values for the first rows of ``hypers``, in table order.
        **hyperparameters: Values for rows of ``hypers`` by name; the rest take their defaults.

    Attributes:
        params: The Values being optimized, in the order given.
        step_count: How many times ``step()`` has run (Adam's t).
        hypers: The hyper-parameter table (a class attribute); each row's value is an
            instance attribute of the same name.

    Raises:
        TypeError: A name that is not in ``hypers``, or a value of the wrong type.
        ValueError: A hyper-parameter out of its range.

    Example:
        Your own optimizer, sign gradient descent (p <- p - lr sign(g)), with the base table
        (just ``lr``):

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
        >>> opt
        SignGD(lr=0.25, params=1)
    """

    hypers: ClassVar[tuple[Hyper, ...]] = (Hyper("lr", 1e-3, _nonnegative),)
    _state_names: ClassVar[tuple[str, ...]] = ()
    _optional_state: ClassVar[tuple[str, ...]] = ()
    _lr: float

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = [(h.name, h.default) for h in cls.hypers]
        names = [name for name, _ in table]
        if "lr" not in names or len(set(names)) != len(names):
            raise TypeError(f"{cls.__name__}.hypers: expected distinct names including 'lr'")
        if "hypers" in cls.__dict__ and "__init__" in cls.__dict__:
            arguments = list(inspect.signature(cls.__init__).parameters.values())[2:]
            declared = [(a.name, a.default) for a in arguments]
            forwards_anything = any(a.kind in (a.VAR_POSITIONAL, a.VAR_KEYWORD) for a in arguments)
            if declared != table and not forwards_anything:
                raise TypeError(
                    f"{cls.__name__}.__init__: the arguments after params must be the hypers "
                    f"table's names and defaults in order, {table}, got {declared}"
                )

    def __init__(self, params: Iterable[Value], *args: Any, **hyperparameters: Any) -> None:
        owner = type(self).__name__
        names = [h.name for h in self.hypers]
        if len(args) > len(names):
            raise TypeError(
                f"{owner}: expected at most {len(names)} hyper-parameters after params "
                f"({', '.join(names)}), got {len(args)}"
            )
        by_position = dict(zip(names, args, strict=False))
        twice = sorted(set(by_position) & set(hyperparameters))
        unknown = sorted(set(hyperparameters) - set(names))
        if twice:
            raise TypeError(f"{owner}: hyper-parameters {twice} given by position and by name")
        if unknown:
            raise TypeError(f"{owner}: unexpected hyper-parameters {unknown}, expected {names}")
        self.params: list[Value] = _values(params, owner, clipping=False)
        self.step_count = 0
        given = {h.name: h.default for h in self.hypers} | by_position | hyperparameters
        self._assign(self._checked(given))
        n = len(self.params)
        for name in self._state_names:
            setattr(self, name, None if name in self._optional_state else [0.0] * n)

    @property
    def lr(self) -> float:
        """The learning rate; assign to it (or let a schedule do so) to change later steps."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        row = next(h for h in self.hypers if h.name == "lr")
        self._lr = row.check("lr", value)

    def hyperparameters(self) -> dict[str, Any]:
        """The current value of every row of ``hypers`` (including ``lr``), in table order."""
        return {h.name: getattr(self, h.name) for h in self.hypers}

    def _checked(self, given: Mapping[str, object]) -> dict[str, Any]:
        """Every row's check applied to ``given``, then the checks across rows."""
        values = {h.name: h.check(h.name, given[h.name]) for h in self.hypers}
        self._check_together(values)
        return values

    def _assign(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    @staticmethod
    def _check_together(values: Mapping[str, Any]) -> None:
        """Raise ValueError for a combination of individually valid values that cannot work."""
        return None

    @abstractmethod
    def _update(self) -> None:
        """Apply one update to every ``p.data`` from ``p.grad``."""

    def _update_vector(self, data: Vector, grad: Vector, state: VectorState) -> None:
        """The rule of :meth:`_update` on vectors: change ``data`` (and ``state``) in place.

        ``data[i]`` and ``grad[i]`` are ``params[i]``'s number and gradient; ``state`` holds
        one array per name of ``_state_names`` (None while an optional state is unset). A
        subclass that defines this promises the same arithmetic as its ``_update``.
        """
        raise NotImplementedError

    @classmethod
    def has_vector_rule(cls) -> bool:
        """Whether :meth:`vectorized` works: the class's ``_update`` has a vector twin.

        False for an optimizer of your own (no ``_update_vector``), and for a subclass that
        overrides ``_update`` or ``step`` but inherits a parent's vector rule, which would
        apply the parent's update instead of yours.
        """
        mro = cls.__mro__
        scalar_owner = next(c for c in mro if "_update" in c.__dict__)
        vector_owner = next(c for c in mro if "_update_vector" in c.__dict__)
        return (
            vector_owner is not Optimizer
            and issubclass(vector_owner, scalar_owner)
            and cls.step is Optimizer.step
        )

    def vectorized(self) -> VectorStep:
        """This optimizer's update over one vector of all parameters (see :class:`VectorStep`).

        Raises:
            TypeError: The optimizer has no vector rule (:meth:`has_vector_rule` is False).
        """
        if not self.has_vector_rule():
            raise TypeError(
                f"{type(self).__name__} has no vector rule (_update_vector) matching its "
                "_update and step; use step() on the parameters' Values instead"
            )
        return VectorStep(self)

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
            loss = out.data if type(out) is Value else check.number("closure() result", out)
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

        Everything is checked before anything is set: a bad dict leaves the optimizer as it was.

        Raises:
            TypeError: ``state_dict`` or one of its parts has the wrong type.
            ValueError: The dict comes from another optimizer type, another number of
                parameters, misses or adds entries, or holds a value out of range.
        """
        name = type(self).__name__
        expected_keys = ("optimizer", "num_params", "hyperparameters", "step_count", "state")
        sd = check.keys("state_dict", state_dict, expected_keys)
        if sd["optimizer"] != name:
            raise ValueError(f"load_state_dict: expected a {name} state, got {sd['optimizer']!r}")
        n = len(self.params)
        if sd["num_params"] != n:
            raise ValueError(
                f"load_state_dict: expected a state for {n} parameters, got {sd['num_params']!r}"
            )
        hyper = check.keys("hyperparameters", sd["hyperparameters"], self.hyperparameters())
        values = self._checked(hyper)
        steps = check.integer("step_count", sd["step_count"], low=0)
        saved = check.keys("state", sd["state"], self._state_names)
        restored: dict[str, list[float] | None] = {}
        for key in self._state_names:
            entry = saved[key]
            if entry is None and key in self._optional_state:
                restored[key] = None
                continue
            if not isinstance(entry, list) or len(entry) != n:
                got = f"{len(entry)} values" if isinstance(entry, list) else check.describe(entry)
                raise ValueError(
                    f"state[{key!r}]: expected a list of {n} numbers (one per parameter), got {got}"
                )
            restored[key] = [check.number(f"state[{key!r}][{i}]", v) for i, v in enumerate(entry)]
        self._assign(values)
        self.step_count = steps
        self._assign(restored)

    def __repr__(self) -> str:
        settings = "".join(f"{k}={v!r}, " for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}params={len(self.params)})"


class VectorStep:
    """An optimizer's update applied to one vector holding every parameter's number.

    ``fit(compiled=True)`` keeps the parameters in one float64 vector (``data[i]`` is
    ``optimizer.params[i].data``) and their gradients in another; :meth:`step` updates
    ``data`` in place with the optimizer's rule, its lr read at every step (so schedules and
    callbacks that set ``optimizer.lr`` work), and counts the step in
    ``optimizer.step_count``. The per-parameter state lives in arrays here while the vectors
    are in use: :meth:`sync` writes it back into the optimizer's lists (so ``state_dict()``
    and the scalar ``step()`` carry on from it), :meth:`load` reads the lists again. The
    parameters' Values are not touched: writing ``data`` back is the caller's job.

    Args:
        optimizer: An optimizer whose :meth:`~Optimizer.has_vector_rule` is True.

    Attributes:
        optimizer: The optimizer.
        state: One array per name of the optimizer's ``_state_names`` (None while unset).

    Example:
        >>> import numpy as np
        >>> from microgradnn import Value
        >>> w = [Value(1.0), Value(2.0)]
        >>> opt = SGD(w, lr=0.1, momentum=0.9)
        >>> vec = opt.vectorized()
        >>> data = np.array([1.0, 2.0])
        >>> vec.step(data, np.array([2.0, -1.0]))  # v = g; data - 0.1 v
        >>> data.tolist(), opt.step_count
        ([0.8, 2.1], 1)
        >>> vec.sync()
        >>> opt.momentum_buffer
        [2.0, -1.0]
    """

    def __init__(self, optimizer: Optimizer) -> None:
        if not optimizer.has_vector_rule():
            optimizer.vectorized()  # raises, saying why
        self.optimizer = optimizer
        self._n = len(optimizer.params)
        self.state: VectorState = {}
        self.load()

    def load(self) -> None:
        """Copy the optimizer's state lists into :attr:`state` (after something changed them)."""
        opt = self.optimizer
        self.state = {}
        for name in opt._state_names:
            values: list[float] | None = getattr(opt, name)
            self.state[name] = None if values is None else np.array(values, dtype=np.float64)

    def sync(self) -> None:
        """Write :attr:`state` back into the optimizer's lists (in place where they exist)."""
        opt = self.optimizer
        for name, array in self.state.items():
            if array is None:
                continue
            values: list[float] | None = getattr(opt, name)
            if values is not None and len(values) == self._n:
                values[:] = array.tolist()
            else:
                setattr(opt, name, array.tolist())

    def step(self, data: Vector, grad: Vector) -> None:
        """One update of ``data`` in place from ``grad``, as ``optimizer.step()`` would do.

        Raises:
            ValueError: ``data`` or ``grad`` is not a float64 vector of one number per
                parameter (``data`` must be writable).
        """
        n = self._n
        for name, a in (("data", data), ("grad", grad)):
            if not isinstance(a, np.ndarray) or a.shape != (n,) or a.dtype != np.float64:
                shown = (
                    f"shape {a.shape}, dtype {a.dtype}"
                    if isinstance(a, np.ndarray)
                    else check.describe(a)
                )
                raise ValueError(f"{name}: expected a float64 vector of {n} numbers, got {shown}")
        if not data.flags.writeable:
            raise ValueError("data: expected a writable vector (it is updated in place)")
        opt = self.optimizer
        opt.step_count += 1
        with np.errstate(all="ignore"):
            opt._update_vector(data, grad, self.state)


def _array(state: VectorState, name: str) -> Vector:
    array = state[name]
    if array is None:
        raise ValueError(f"state[{name!r}] is None; expected an array of one number per parameter")
    return array


def _nonzero_denominator(denom: Vector, owner: str) -> None:
    """The scalar rule divides by ``denom`` with Python floats, which raises on a zero."""
    if not denom.all():
        raise ZeroDivisionError(
            f"{owner}: float division by zero (eps=0 and a parameter whose gradients have all "
            "been 0)"
        )


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    Per parameter, with g = p.grad + weight_decay p (L2 regularization folded into g):
    v <- momentum v + (1 - dampening) g (v <- g on the first step); p <- p - lr v, or with
    Nesterov p <- p - lr (g + momentum v). Without momentum: p <- p - lr g.
    Same arguments, in the same order, and same arithmetic as ``torch.optim.SGD``.

    Args:
        params: The Values to optimize, e.g. ``model.parameters()``.
        lr: Learning rate (eta in the lectures), >= 0 (0 freezes the parameters, as in PyTorch).
        momentum: mu, how much of the previous step carries over, >= 0 (0.9 is typical).
        dampening: Scales g in the momentum average, in [0, 1].
        weight_decay: L2 penalty strength, >= 0 (adds weight_decay p to g).
        nesterov: Look ahead: step along g + mu v. Needs momentum > 0 and dampening = 0.

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
        SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, params=1)

        Positional arguments follow ``torch.optim.SGD``: lr, momentum, dampening, weight_decay,
        nesterov.

        >>> SGD([w], 0.1, 0.9, 0.0, 1e-4).weight_decay
        0.0001
    """

    hypers: ClassVar[tuple[Hyper, ...]] = (
        Hyper("lr", 1e-3, _nonnegative),
        Hyper("momentum", 0.0, _nonnegative),
        Hyper("dampening", 0.0, _unit_interval),
        Hyper("weight_decay", 0.0, _nonnegative),
        Hyper("nesterov", False, check.flag),
    )
    _state_names = ("momentum_buffer",)
    _optional_state = ("momentum_buffer",)

    momentum: float
    dampening: float
    weight_decay: float
    nesterov: bool
    momentum_buffer: list[float] | None

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )

    @staticmethod
    def _check_together(values: Mapping[str, Any]) -> None:
        momentum, dampening = values["momentum"], values["dampening"]
        if values["nesterov"] and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "Nesterov momentum requires momentum > 0 and dampening = 0, "
                f"got momentum={momentum!r}, dampening={dampening!r}"
            )

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

    def _update_vector(self, data: Vector, grad: Vector, state: VectorState) -> None:
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        g = grad + wd * data if wd != 0 else grad
        if mu != 0:
            buf = state["momentum_buffer"]
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= mu
                buf += (1 - self.dampening) * g
            g = g + mu * buf if self.nesterov else buf
        data += -lr * g


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of that parameter's gradients.

    Per parameter, with g = p.grad + weight_decay p: s <- alpha s + (1 - alpha) g^2;
    p <- p - lr g / (sqrt(s) + eps). Centered: also m <- alpha m + (1 - alpha) g and use
    sqrt(s - m^2) (an estimate of the variance). With momentum:
    b <- momentum b + g / (sqrt(s) + eps); p <- p - lr b. Same arguments, in the same order,
    and same arithmetic as ``torch.optim.RMSprop``; :data:`RMSprop` is an alias with PyTorch's
    spelling.

    Args:
        params: The Values to optimize.
        lr: Learning rate, >= 0.
        alpha: Decay of the running average of g^2, >= 0.
        eps: Added to the denominator so that a zero gradient history cannot divide by 0.
        weight_decay: L2 penalty strength, >= 0.
        momentum: Momentum on the normalized step, >= 0.
        centered: Normalize by the gradient's running variance instead of its second moment.

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

    hypers: ClassVar[tuple[Hyper, ...]] = (
        Hyper("lr", 1e-2, _nonnegative),
        Hyper("alpha", 0.99, _nonnegative),
        Hyper("eps", 1e-8, _nonnegative),
        Hyper("weight_decay", 0.0, _nonnegative),
        Hyper("momentum", 0.0, _nonnegative),
        Hyper("centered", False, check.flag),
    )
    _state_names = ("square_avg", "grad_avg", "momentum_buffer")

    alpha: float
    eps: float
    weight_decay: float
    momentum: float
    centered: bool
    square_avg: list[float]
    grad_avg: list[float]
    momentum_buffer: list[float]

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )

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

    def _update_vector(self, data: Vector, grad: Vector, state: VectorState) -> None:
        lr, alpha, eps, mu, wd = self.lr, self.alpha, self.eps, self.momentum, self.weight_decay
        s, m, buf = (_array(state, k) for k in ("square_avg", "grad_avg", "momentum_buffer"))
        g = grad + wd * data if wd != 0 else grad
        s *= alpha
        s += (1 - alpha) * g * g
        if self.centered:
            m *= alpha
            m += (1 - alpha) * g
            spread = s - m * m
            np.copyto(spread, 0.0, where=spread < 0.0)  # max(spread, 0.0), as the scalar rule
            avg = np.sqrt(spread)
        else:
            avg = np.sqrt(s)
        avg += eps
        if eps == 0:
            _nonzero_denominator(avg, "RMSProp")
        if mu > 0:
            buf *= mu
            buf += g / avg
            data += -lr * buf
        else:
            data += -lr * (g / avg)


RMSprop = RMSProp


class Adam(Optimizer):
    """Adam: momentum (m) and RMSProp's squared-gradient average (v), both bias-corrected.

    Per parameter, with g = p.grad + weight_decay p and t = step_count:
    m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    The corrections undo the pull of m = v = 0 towards zero in the first steps. With
    ``amsgrad``, v in the denominator is the running maximum of v. Weight decay is the L2
    kind, added to g, as in ``torch.optim.Adam`` (see :class:`AdamW` for the decoupled kind);
    same arguments, in the same order.

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

    hypers: ClassVar[tuple[Hyper, ...]] = (
        Hyper("lr", 1e-3, _nonnegative),
        Hyper("betas", (0.9, 0.999), _betas),
        Hyper("eps", 1e-8, _nonnegative),
        Hyper("weight_decay", 0.0, _nonnegative),
        Hyper("amsgrad", False, check.flag),
    )
    _state_names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled: ClassVar[bool] = False

    betas: tuple[float, float]
    eps: float
    weight_decay: float
    amsgrad: bool
    exp_avg: list[float]
    exp_avg_sq: list[float]
    max_exp_avg_sq: list[float]

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )

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

    def _update_vector(self, data: Vector, grad: Vector, state: VectorState) -> None:
        lr, eps, wd = self.lr, self.eps, self.weight_decay
        beta1, beta2 = self.betas
        t = self.step_count
        step_size = lr / (1 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1 - beta2**t)
        m, v, v_max = (_array(state, k) for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
        g = grad
        if wd != 0:
            if self._decoupled:
                data *= 1 - lr * wd
            else:
                g = grad + wd * data
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            np.copyto(v_max, v, where=v > v_max)  # max(v_max, v), as the scalar rule
            denom = np.sqrt(v_max)
        else:
            denom = np.sqrt(v)
        denom /= bias_correction2_sqrt
        denom += eps
        if eps == 0:
            _nonzero_denominator(denom, type(self).__name__)
        data += -step_size * (m / denom)


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

    hypers = _with_defaults(Adam.hypers, weight_decay=1e-2)
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
        TypeError: ``name`` is not a str.
        ValueError: Unknown name; the message lists the known ones.

    Example:
        >>> from microgradnn import Value
        >>> get_optimizer("momentum", [Value(0.0)], lr=0.05)
        SGD(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, params=1)
        >>> get_optimizer("adagrad", [Value(0.0)])
        Traceback (most recent call last):
        ...
        ValueError: optimizer: expected one of 'gd', 'sgd', ..., got 'adagrad'
    """
    if not isinstance(name, str):
        known = ", ".join(OPTIMIZERS)
        raise TypeError(f"optimizer: expected a name ({known}), got {check.describe(name)}")
    if name.lower() not in OPTIMIZERS:
        check.choice("optimizer", name, OPTIMIZERS)  # raises, listing the known names
    return OPTIMIZERS[name.lower()](params, **kwargs)


# -- gradient clipping --------------------------------------------------------------------------


def clip_grad_norm_(
    params: Iterable[Value] | Value | Vector,
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
            returns 0.0), or a 1-D float64 numpy array of gradients, scaled in place (what
            ``fit(compiled=True)`` clips; same arithmetic, so the same numbers).
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
    vector = params if isinstance(params, np.ndarray) else None
    values: list[Value] = []
    grads: list[float]
    if vector is not None:
        if vector.ndim != 1 or vector.dtype != np.float64 or not vector.flags.writeable:
            raise ValueError(
                "clip_grad_norm_: expected Values or a writable 1-D float64 array of gradients, "
                f"got an array of shape {vector.shape}, dtype {vector.dtype}"
            )
        grads = vector.tolist()
    else:
        values = _values(params, "clip_grad_norm_", clipping=True)
        grads = [v.grad for v in values]
    max_norm = check.number("max_norm", max_norm, low=0.0)
    p = check.number("norm_type", norm_type, low=0.0, low_open=True, finite=False)
    check.flag("error_if_nonfinite", error_if_nonfinite)
    if not grads:
        return 0.0
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
    coef = clip_coefficient(total, max_norm)
    if coef != 1.0:
        if vector is not None:
            vector *= coef
        else:
            for v in values:
                v.grad = v.grad * coef
    return total


def clip_coefficient(total: float, max_norm: float) -> float:
    """What :func:`clip_grad_norm_` multiplies every gradient by, given their total norm.

    ``max_norm / (total + 1e-6)`` (PyTorch's formula) when that is below 1, or nan for a nan
    norm; 1.0 when the gradient is short enough to keep.
    """
    coef = max_norm / (total + 1e-6)
    return 1.0 if coef >= 1.0 else coef


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
    c = check.number("clip_value", clip_value, low=0.0)
    for v in values:
        g = v.grad
        if not math.isnan(g):
            v.grad = min(max(g, -c), c)
