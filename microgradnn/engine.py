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
- The hot paths stay small: each op method hands ``_make`` its inputs' numbers (it has just
  checked their types), and ``_backward`` is unrolled for one and two inputs. Together they
  make a training step about twice as fast as generic loops (``benchmarks/README.md``).
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
Floats = tuple[float, ...]

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


def describe(x: object) -> str:
    """``type repr`` of a bad argument, shortened, for error messages ("str 'abc'")."""
    shown = repr(x)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(x).__name__} {shown}"


def _as_float(x: object, what: str = "Value") -> float:
    """Convert a real number to float; anything else is a TypeError naming what came in."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    hint = " (use v.data to read a Value's number)" if isinstance(x, Value) else ""
    raise TypeError(f"{what} expects a real number (int or float), got {describe(x)}{hint}")


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

    @staticmethod
    def _make(op: Op, prev: tuple[Operand, ...], xs: Floats, arg: Any = None) -> Value:
        """Record one node: ``op`` applied to ``prev``, whose numbers are ``xs`` (unless no_grad).

        The caller passes the inputs' numbers along with the inputs: it has just checked their
        types, so building that tuple there costs less than looping over ``prev`` here.
        """
        out = _new_value(Value)
        out.data = op.forward(xs, arg)
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
        if type(other) is Value:
            return Value._make(_ADD, (self, other), (self.data, other.data))
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_ADD, (self, c), (self.data, c))

    def __radd__(self, other: Operand) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_ADD, (c, self), (c, self.data))

    def __sub__(self, other: Operand) -> Value:
        if type(other) is Value:
            return Value._make(_SUB, (self, other), (self.data, other.data))
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_SUB, (self, c), (self.data, c))

    def __rsub__(self, other: Operand) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_SUB, (c, self), (c, self.data))

    def __mul__(self, other: Operand) -> Value:
        if type(other) is Value:
            return Value._make(_MUL, (self, other), (self.data, other.data))
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_MUL, (self, c), (self.data, c))

    def __rmul__(self, other: Operand) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_MUL, (c, self), (c, self.data))

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is Value:
            return Value._make(_DIV, (self, other), (self.data, other.data))
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_DIV, (self, c), (self.data, c))

    def __rtruediv__(self, other: Operand) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_DIV, (c, self), (c, self.data))

    def __pow__(self, other: Operand) -> Value:
        if type(other) is Value:
            return Value._make(_POW, (self, other), (self.data, other.data))
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_POW, (self, c), (self.data, c))

    def __rpow__(self, other: Operand) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented
        return Value._make(_POW, (c, self), (c, self.data))

    def __neg__(self) -> Value:
        return Value._make(_NEG, (self,), (self.data,))

    def __pos__(self) -> Value:
        return self

    # -- functions of one input -----------------------------------------------------------------

    def exp(self) -> Value:
        """e**x; d/dx = e**x. Overflows to inf, as in IEEE arithmetic."""
        return Value._make(_EXP, (self,), (self.data,))

    def log(self) -> Value:
        """Natural log; d/dx = 1/x. ``log(0) = -inf``, ``log(x < 0) = nan``."""
        return Value._make(_LOG, (self,), (self.data,))

    def tanh(self) -> Value:
        """Hyperbolic tangent; d/dx = 1 - out**2. Stable for any x."""
        return Value._make(_TANH, (self,), (self.data,))

    def sigmoid(self) -> Value:
        """The logistic function 1 / (1 + e**-x); d/dx = s(1 - s). Stable for any x."""
        return Value._make(_SIGMOID, (self,), (self.data,))

    def softplus(self) -> Value:
        """Softplus log(1 + e**x), computed stably; d/dx = sigmoid(x)."""
        return Value._make(_SOFTPLUS, (self,), (self.data,))

    def relu(self) -> Value:
        """ReLU max(0, x); d/dx = 1 for x > 0, else 0 (0 at x = 0, as in PyTorch)."""
        return Value._make(_RELU, (self,), (self.data,))

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """Leaky ReLU: x for x > 0, else slope * x; d/dx = 1 or slope."""
        return Value._make(_LEAKY, (self,), (self.data,), _as_float(slope, "leaky_relu slope"))

    def prelu(self, alpha: Operand) -> Value:
        """Parametric ReLU: x for x > 0, else alpha * x; d/dalpha = x where x <= 0, else 0."""
        if type(alpha) is Value:
            return Value._make(_PRELU, (self, alpha), (self.data, alpha.data))
        a = _as_float(alpha, "prelu alpha")
        return Value._make(_PRELU, (self, a), (self.data, a))

    def abs(self) -> Value:
        """|x|; d/dx = sign(x), 0 at x = 0."""
        return Value._make(_ABS, (self,), (self.data,))

    def __abs__(self) -> Value:
        return self.abs()

    def step(self) -> Value:
        """Heaviside step: 1 for x > 0, 0.5 at 0, 0 below.

        Its derivative is 0 everywhere (undefined at 0), so no gradient flows through it: this is
        why the perceptron's step unit cannot be trained by gradient descent.
        """
        return Value._make(_STEP, (self,), (self.data,))

    def sign(self) -> Value:
        """-1, 0 or 1. Like :meth:`step`, its derivative is 0, so it passes no gradient."""
        return Value._make(_SIGN, (self,), (self.data,))

    def hard_sigmoid(self) -> Value:
        """The course's piecewise-linear unit: 0 below -1/2, x + 1/2 between, 1 above 1/2.

        d/dx = 1 strictly between -1/2 and 1/2, else 0.
        """
        return Value._make(_HARD_SIGMOID, (self,), (self.data,))

    @staticmethod
    def sum(values: Iterable[Operand]) -> Value:
        """x_1 + ... + x_n as one node with n inputs; d/dx_i = 1.

        Cheaper than a chain of ``+`` (one node instead of n - 1) and drawn as one Σ node.

        >>> Value.sum([Value(1.0), 2, Value(3.0)]).data
        6.0
        """
        prev = tuple([v if type(v) is Value else _as_float(v, "Value.sum") for v in values])
        if not prev:
            return Value(0.0)
        return Value._make(_SUM, prev, tuple([v.data if type(v) is Value else v for v in prev]))

    @staticmethod
    def logsumexp(values: Iterable[Operand]) -> Value:
        """log(e**x_1 + ... + e**x_n) as one node, stable for any x; d/dx_i = softmax(x)_i.

        The building block of softmax and cross-entropy: computed as m + log(sum e**(x_i - m))
        with m = max x_i, so ``logsumexp([1000, 1000])`` is 1000 + log 2, not inf.

        >>> round(Value.logsumexp([Value(1000.0), Value(1000.0)]).data, 6)
        1000.693147
        """
        prev = tuple([v if type(v) is Value else _as_float(v, "Value.logsumexp") for v in values])
        if not prev:
            raise ValueError("Value.logsumexp expects at least one value, got none")
        return Value._make(
            _LOGSUMEXP, prev, tuple([v.data if type(v) is Value else v for v in prev])
        )

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
        # Unrolled for one and two inputs (almost every node): no loop, no zip.
        if len(prev) == 2:
            a, b = prev
            xa = a.data if type(a) is Value else a
            xb = b.data if type(b) is Value else b
            da, db = op.local((xa, xb), self.data, self._arg)
            if type(a) is Value:
                a.grad += da * g
            if type(b) is Value:
                b.grad += db * g
        elif len(prev) == 1:
            (a,) = prev
            if type(a) is Value:
                (da,) = op.local((a.data,), self.data, self._arg)
                a.grad += da * g
        else:
            xs = tuple([p.data if type(p) is Value else p for p in prev])
            for child, d in zip(prev, op.local(xs, self.data, self._arg), strict=True):
                if type(child) is Value:
                    child.grad += d * g

    def topological_order(self) -> list[Value]:
        """Every Value this one depends on, each after all of its inputs (self is last).

        Iterative depth-first search, so arbitrarily deep graphs need no recursion: the stack
        holds each open node with an iterator over its remaining inputs.
        """
        order: list[Value] = []
        seen = {self}
        stack = [(self, iter(self._prev))]
        while stack:
            node, inputs = stack[-1]
            for child in inputs:
                if type(child) is Value and child not in seen:
                    seen.add(child)
                    stack.append((child, iter(child._prev)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self, gradient: float = 1.0) -> None:
        """Fill ``grad`` of every Value this one depends on with d(self)/d(that Value).

        As in PyTorch, gradients *accumulate* in the leaves (the Values you created): calling
        ``backward()`` twice adds the gradient twice, so zero them between steps
        (``model.zero_grad()``). Interior nodes hold the gradient of the latest pass.

        Args:
            gradient: d(loss)/d(self), the seed of the chain rule (1.0 for a loss).
        """
        seed = _as_float(gradient, "backward gradient")
        order = self.topological_order()
        # A leaf sums this pass's contributions on their own, then adds that to what it held (as
        # PyTorch's AccumulateGrad): folding them into the old value one by one would round
        # differently, and a second backward() would not add exactly the same gradient again.
        held = []
        for node in order:
            if node._op is None and node.grad != 0.0:
                held.append((node, node.grad))
            node.grad = 0.0
        self.grad = seed
        for node in reversed(order):
            node._backward()
        for node, grad in held:
            node.grad = grad + node.grad


def _const(x: object) -> float | None:
    """A plain real number as the float constant stored in ``_prev``; None for anything else."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real):
        return float(x)
    return None


_new_value = object.__new__


_EXP, _LOG, _TANH, _SIGMOID = OPS["exp"], OPS["log"], OPS["tanh"], OPS["sigmoid"]
_LOGSUMEXP = OPS["logsumexp"]
_SOFTPLUS, _RELU, _LEAKY, _PRELU = OPS["softplus"], OPS["relu"], OPS["leaky_relu"], OPS["prelu"]
_ABS, _STEP, _SIGN, _HARD_SIGMOID = OPS["abs"], OPS["step"], OPS["sign"], OPS["hard_sigmoid"]
