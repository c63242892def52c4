"""The bug zoo: the lecture's Value, and one copy of it per classic backprop bug.

:class:`Value` is the micrograd lecture's class, written the lecture's way (``_prev`` a set, one
``_backward`` closure per op, a recursive topological sort). Each mutant below changes one
method, the way a learner's first try often does; :data:`MUTANTS` lists them by the name
:func:`microgradnn.check_value_class` gives the bug. Replay one side by side with microgradnn's
engine, ``microgradnn.viz.stepper.compare_backward(root)``, to see the first step where they part.

>>> from microgradnn.zoo import Value, AssignGrad
>>> a = Value(3.0); b = a + a; b.backward(); a.grad     # d(a + a)/da = 2
2.0
>>> a = AssignGrad(3.0); b = a + a; b.backward(); a.grad  # the second edge overwrote the first
1.0
"""

from __future__ import annotations

import inspect
import math
from typing import Any

__all__ = [
    "MUTANTS",
    "AssignGrad",
    "ExpUsesInput",
    "NoTopoOrder",
    "StaleInterior",
    "TanhUsesInput",
    "Value",
]


class Value:
    """One number and its gradient, as in the lecture (``_prev`` is a set)."""

    def __init__(
        self, data: float, _children: tuple[Any, ...] = (), _op: str = "", label: str = ""
    ):
        self.data = data
        self.grad = 0.0
        self._backward: Any = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data={self.data}, grad={self.grad})"

    def _wrap(self, other: Any) -> Any:
        return other if isinstance(other, Value) else type(self)(other)

    def __add__(self, other: Any) -> Any:
        other = self._wrap(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += 1.0 * out.grad
            other.grad += 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Any:
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other: float) -> Any:
        """Raise to a number k; its local derivative is k * x**(k-1)."""
        assert isinstance(other, (int, float)), "only int/float powers"
        out = type(self)(self.data**other, (self,), f"**{other}")

        def _backward() -> None:
            self.grad += other * self.data ** (other - 1) * out.grad

        out._backward = _backward
        return out

    def tanh(self) -> Any:
        """The hyperbolic tangent t; its local derivative is 1 - t²."""
        x = self.data
        t = math.tanh(x)
        out = type(self)(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Any:
        """The exponential; its local derivative is e**x, its own output."""
        x = self.data
        out = type(self)(math.exp(x), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def relu(self) -> Any:
        """Max(x, 0); its local derivative is 1 where the output is positive, else 0."""
        out = type(self)(0.0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward() -> None:
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Any:
        return self * -1

    def __radd__(self, other: Any) -> Any:
        return self + other

    def __sub__(self, other: Any) -> Any:
        return self + (-other)

    def __rsub__(self, other: Any) -> Any:
        return other + (-self)

    def __rmul__(self, other: Any) -> Any:
        return self * other

    def __truediv__(self, other: Any) -> Any:
        return self * other**-1

    def __rtruediv__(self, other: Any) -> Any:
        return other * self**-1

    def topological_order(self) -> list[Value]:
        """Every node this one depends on, each after its inputs (self last), as the lecture."""
        topo: list[Value] = []
        visited: set[Value] = set()

        def build_topo(v: Value) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        return topo

    def backward(self) -> None:
        """Fill every grad with d(self)/d(node), in reverse topological order."""
        self.grad = 1.0
        for node in reversed(self.topological_order()):
            node._backward()


class AssignGrad(Value):
    """``=`` instead of ``+=`` in the closures: a value used twice keeps only its last use."""

    def __add__(self, other: Any) -> Any:
        other = self._wrap(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad = 1.0 * out.grad
            other.grad = 1.0 * out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Any) -> Any:
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out


def _operands(v: Value) -> list[Value]:
    """``v``'s inputs in the order its closure names them (``self``, then ``other``)."""
    cells = getattr(inspect.unwrap(v._backward), "__closure__", None) or ()
    named = [c.cell_contents for c in cells if isinstance(c.cell_contents, Value)]
    ordered = [c for c in named if c is not v and c in v._prev]
    return list(dict.fromkeys(ordered)) + [c for c in v._prev if c not in ordered]


class NoTopoOrder(Value):
    """backward() walks the graph from the output without a topological order.

    Each node passes its gradient on as soon as it is reached, before every node that uses it
    has passed its own back: a value used on two paths sends on only part of its gradient.
    """

    def backward(self) -> None:
        """Pass each gradient on as soon as its node is reached (no order): the bug."""
        self.grad = 1.0
        visited: set[Value] = set()

        def visit(v: Value) -> None:
            if v not in visited:
                visited.add(v)
                v._backward()
                # the set's order follows memory addresses; the operands' order keeps the
                # walk (and so the message naming the node reached too early) the same each run
                for child in _operands(v):
                    visit(child)

        visit(self)


class ExpUsesInput(Value):
    """exp's backward multiplies by its input x instead of its output e**x."""

    def exp(self) -> Any:
        """The exponential; its local derivative is e**x, its own output."""
        x = self.data
        out = type(self)(math.exp(x), (self,), "exp")

        def _backward() -> None:
            self.grad += x * out.grad

        out._backward = _backward
        return out


class TanhUsesInput(Value):
    """tanh's backward uses 1 - x² (its input) instead of 1 - t² (its output)."""

    def tanh(self) -> Any:
        """The hyperbolic tangent t; its local derivative is 1 - t²."""
        x = self.data
        t = math.tanh(x)
        out = type(self)(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - x**2) * out.grad

        out._backward = _backward
        return out


class StaleInterior(Value):
    """backward() zeroes the leaves' grads first, but not the interior nodes'.

    Meant to make a second backward() safe, it double counts instead: each interior node
    still holds the first pass's gradient and passes it on again with the new one.
    """

    def backward(self) -> None:
        """Zero the leaves' grads, then back-propagate: the interior keeps its old grads."""
        topo = self.topological_order()
        for v in topo:
            if not v._prev:
                v.grad = 0.0
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


MUTANTS: dict[str, type[Value]] = {
    "overwrites_grad": AssignGrad,
    "not_topological": NoTopoOrder,
    "exp_uses_input": ExpUsesInput,
    "tanh_uses_input": TanhUsesInput,
    "interior_not_reset": StaleInterior,
}
"""Each mutant by the name check_value_class gives its bug."""
