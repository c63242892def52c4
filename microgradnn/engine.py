"""The scalar reverse-mode autograd engine: :class:`Value`, its ops and ``backward()``.

A :class:`Value` is one number in a computation graph. Every op creates a new Value that
remembers its inputs (``_prev``, in argument order, duplicates kept), the op that made it
(``_op``, an entry of :mod:`microgradnn.ops`) and the op's parameter (``_arg``). ``backward()``
then walks the graph from the output back to the leaves and, at every node, applies the chain
rule: each input's gradient grows by (local derivative) x (the node's gradient).

Design notes, for readers who know micrograd:

- The backward step is one shared method, :meth:`Value._backward`, that reads the local
  derivatives from the op table. No per-node closure captures its own node, so a graph holds
  no reference cycles and is freed by reference counting the moment you drop it.
- Plain numbers are kept as they are in ``_prev`` (``x * 2`` has inputs ``(x, 2.0)``), not
  wrapped in Values: they need no gradient, and they cost no extra node.
- The topological sort is iterative: a chain of 200,000 ops back-propagates fine.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Union, final

from microgradnn.ops import OPS, Op

__all__ = ["Value", "is_grad_enabled", "no_grad"]

Number = Union[int, float]
Operand = Union["Value", int, float]

_grad_enabled = True

_ADD, _SUB, _MUL, _DIV = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"]
_NEG, _POW, _SUM = OPS["neg"], OPS["pow"], OPS["sum"]


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, ops record no graph (as ``torch.no_grad()``): results are leaves.

    Use it for evaluation and for parameter updates, where no gradient is wanted.

    >>> from microgradnn import Value, no_grad
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y._prev
    ()
    """
    global _grad_enabled
    previous = _grad_enabled
    _grad_enabled = False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph (False inside :func:`no_grad`)."""
    return _grad_enabled


def _as_float(x: object, what: str = "Value") -> float:
    """Convert a real number to float; anything else is a TypeError naming what came in."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    shown = repr(x)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    hint = " (use v.data to read a Value's number)" if isinstance(x, Value) else ""
    raise TypeError(
        f"{what} expects a real number (int or float), got {type(x).__name__}: {shown}{hint}"
    )


def _data(x: Operand) -> float:
    return x.data if type(x) is Value else x


@final
class Value:
    """One scalar in the computation graph: its value ``data`` and its gradient ``grad``.

    Args:
        data: The number (int or float; stored as float).
        label: An optional name, shown in graph pictures.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a.tanh()
    >>> c.backward()
    >>> round(a.grad, 6), b.grad
    (-2.929349, 2.0)
    """

    __slots__ = ("_arg", "_op", "_prev", "data", "grad", "label")
    __array_ufunc__ = None  # numpy scalars and arrays defer to Value's reflected operators

    data: float
    grad: float
    label: str
    _prev: tuple[Operand, ...]
    _op: Op | None
    _arg: Any

    def __init__(self, data: Number, label: str = "") -> None:
        self.data = _as_float(data)
        self.grad = 0.0
        self.label = label
        self._prev = ()
        self._op = None
        self._arg = None

    @classmethod
    def _make(cls, op: Op, prev: tuple[Operand, ...], arg: Any = None) -> Value:
        """Run ``op`` forward on the inputs' numbers and record the node (unless no_grad)."""
        out = cls.__new__(cls)
        out.data = op.forward(tuple([p.data if type(p) is Value else p for p in prev]), arg)
        out.grad = 0.0
        out.label = ""
        if _grad_enabled:
            out._prev = prev
            out._op = op
            out._arg = arg
        else:
            out._prev = ()
            out._op = None
            out._arg = None
        return out

    # -- binary arithmetic: each is its own op (one node in the picture) ----------------------

    def __add__(self, other: Operand) -> Value:
        if type(other) is not Value and not _is_number(other):
            return NotImplemented
        return Value._make(_ADD, (self, _num(other)))

    def __radd__(self, other: Operand) -> Value:
        if not _is_number(other):
            return NotImplemented
        return Value._make(_ADD, (_num(other), self))

    def __sub__(self, other: Operand) -> Value:
        if type(other) is not Value and not _is_number(other):
            return NotImplemented
        return Value._make(_SUB, (self, _num(other)))

    def __rsub__(self, other: Operand) -> Value:
        if not _is_number(other):
            return NotImplemented
        return Value._make(_SUB, (_num(other), self))

    def __mul__(self, other: Operand) -> Value:
        if type(other) is not Value and not _is_number(other):
            return NotImplemented
        return Value._make(_MUL, (self, _num(other)))

    def __rmul__(self, other: Operand) -> Value:
        if not _is_number(other):
            return NotImplemented
        return Value._make(_MUL, (_num(other), self))

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is not Value and not _is_number(other):
            return NotImplemented
        return Value._make(_DIV, (self, _num(other)))

    def __rtruediv__(self, other: Operand) -> Value:
        if not _is_number(other):
            return NotImplemented
        return Value._make(_DIV, (_num(other), self))

    def __pow__(self, other: Operand) -> Value:
        if type(other) is not Value and not _is_number(other):
            return NotImplemented
        return Value._make(_POW, (self, _num(other)))

    def __rpow__(self, other: Operand) -> Value:
        if not _is_number(other):
            return NotImplemented
        return Value._make(_POW, (_num(other), self))

    def __neg__(self) -> Value:
        return Value._make(_NEG, (self,))

    def __pos__(self) -> Value:
        return self

    # -- functions of one input -----------------------------------------------------------------

    def exp(self) -> Value:
        """e**x; d/dx = e**x. Overflows to inf, as in IEEE arithmetic."""
        return Value._make(_EXP, (self,))

    def log(self) -> Value:
        """Natural log; d/dx = 1/x. ``log(0) = -inf``, ``log(x < 0) = nan``."""
        return Value._make(_LOG, (self,))

    def tanh(self) -> Value:
        """Hyperbolic tangent; d/dx = 1 - out**2. Stable for any x."""
        return Value._make(_TANH, (self,))

    def sigmoid(self) -> Value:
        """The logistic function 1 / (1 + e**-x); d/dx = s(1 - s). Stable for any x."""
        return Value._make(_SIGMOID, (self,))

    def softplus(self) -> Value:
        """Softplus log(1 + e**x), computed stably; d/dx = sigmoid(x)."""
        return Value._make(_SOFTPLUS, (self,))

    def relu(self) -> Value:
        """ReLU max(0, x); d/dx = 1 for x > 0, else 0 (0 at x = 0, as in PyTorch)."""
        return Value._make(_RELU, (self,))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """Leaky ReLU: x for x > 0, else slope * x; d/dx = 1 or slope."""
        return Value._make(_LEAKY, (self,), _as_float(slope, "leaky_relu slope"))

    def prelu(self, alpha: Operand) -> Value:
        """Parametric ReLU: x for x > 0, else alpha * x; d/dalpha = x where x <= 0, else 0."""
        if type(alpha) is not Value:
            alpha = _as_float(alpha, "prelu alpha")
        return Value._make(_PRELU, (self, alpha))

    def abs(self) -> Value:
        """|x|; d/dx = sign(x), 0 at x = 0."""
        return Value._make(_ABS, (self,))

    def __abs__(self) -> Value:
        return self.abs()

    def step(self) -> Value:
        """Heaviside step: 1 for x > 0, 0.5 at 0, 0 below.

        Its derivative is 0 everywhere (undefined at 0), so no gradient flows through it: this is
        why the perceptron's step unit cannot be trained by gradient descent.
        """
        return Value._make(_STEP, (self,))

    def sign(self) -> Value:
        """-1, 0 or 1. Like :meth:`step`, its derivative is 0, so it passes no gradient."""
        return Value._make(_SIGN, (self,))

    def hard_sigmoid(self) -> Value:
        """The course's piecewise-linear unit: 0 below -1/2, x + 1/2 between, 1 above 1/2.

        d/dx = 1 strictly between -1/2 and 1/2, else 0.
        """
        return Value._make(_HARD_SIGMOID, (self,))

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """x_1 + ... + x_n as one node with n inputs; d/dx_i = 1.

        Cheaper than a chain of ``+`` (one node instead of n - 1) and drawn as one Σ node.

        >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
        6.0
        """
        prev = tuple(v if type(v) is Value else _as_float(v, "Value.sum") for v in values)
        if not prev:
            return Value(0.0)
        return Value._make(_SUM, prev)

    # -- conversions ----------------------------------------------------------------------------

    def __float__(self) -> float:
        return self.data

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # -- backpropagation --------------------------------------------------------------------------

    @property
    def is_leaf(self) -> bool:
        """True for Values the user created (and results computed under ``no_grad``)."""
        return self._op is None

    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(input) for each input in ``_prev``, from the op table; () for a leaf."""
        op = self._op
        if op is None:
            return ()
        return op.local(tuple([_data(p) for p in self._prev]), self.data, self._arg)

    def _backward(self) -> None:
        """One chain-rule step: every input's grad += d(self)/d(input) * self.grad."""
        op = self._op
        if op is None:
            return
        prev = self._prev
        g = self.grad
        xs = tuple([p.data if type(p) is Value else p for p in prev])
        for child, d in zip(prev, op.local(xs, self.data, self._arg), strict=True):
            if type(child) is Value:
                child.grad += d * g

    def topological_order(self) -> list[Value]:
        """Every Value this one depends on, each after all of its inputs (self is last).

        Iterative depth-first search, so arbitrarily deep graphs need no recursion.
        """
        order: list[Value] = []
        seen: set[Value] = set()
        stack: list[tuple[Value, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for child in reversed(node._prev):
                if type(child) is Value and child not in seen:
                    stack.append((child, False))
        return order

    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``grad`` of every Value this one depends on with d(self)/d(that Value).

        As in PyTorch, gradients *accumulate* in the leaves (the Values you created): calling
        ``backward()`` twice adds the gradient twice, so zero them between steps
        (``model.zero_grad()``). Interior nodes hold the gradient of the latest pass.

        Args:
            gradient: d(loss)/d(self), the seed of the chain rule (1.0 for a loss).
        """
        order = self.topological_order()
        for node in order:
            if node._op is not None:
                node.grad = 0.0
        self.grad += _as_float(gradient, "backward gradient")
        for node in reversed(order):
            node._backward()


def _is_number(x: object) -> bool:
    return type(x) is float or type(x) is int or isinstance(x, numbers.Real)


def _num(x: Operand) -> Operand:
    """A Value stays a Value; any other real number becomes a plain float constant."""
    if type(x) is Value or type(x) is float:
        return x
    return float(x)


_EXP, _LOG, _TANH, _SIGMOID = OPS["exp"], OPS["log"], OPS["tanh"], OPS["sigmoid"]
_SOFTPLUS, _RELU, _LEAKY, _PRELU = OPS["softplus"], OPS["relu"], OPS["leaky_relu"], OPS["prelu"]
_ABS, _STEP, _SIGN, _HARD_SIGMOID = OPS["abs"], OPS["step"], OPS["sign"], OPS["hard_sigmoid"]
