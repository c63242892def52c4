"""The scalar reverse-mode autograd engine: :class:`Value` and ``backward()``.

A :class:`Value` is one number in a computation graph. Every op creates a new Value that
remembers its inputs (``_prev``, in argument order, duplicates kept) and the op that made it
(``_op``, a row of the op table in :mod:`microgradnn.ops`). ``backward()`` then walks the graph
from the output back to the leaves and, at every node, applies the chain rule: each child's
gradient grows by its local derivative times the node's gradient,
``child.grad += local * out.grad``.

Design notes, for readers who know micrograd:

- The backward step is one shared function, :func:`_chain_rule`, that reads the local
  derivatives from the op table (``Value._backward`` is that step at one node). No per-node
  closure captures its own node, so a graph holds no reference cycles and is freed by
  reference counting the moment you drop it.
- Plain numbers are kept as they are in ``_prev`` (``x * 2`` has inputs ``(x, 2.0)``), not
  wrapped in Values: they need no gradient, and they cost no extra node.
- A node stores its one or two inputs in two slots and ``_prev`` builds the tuple when read:
  one object per node for Python's cycle collector to scan instead of two (the Value and its
  tuple), which made a learner's own training loop, collector on, a quarter faster.
- The Python operators (``+ - * / **``, unary ``-``) are made by one small factory; every other
  op (``x.tanh()``, ``x.relu()``, ``Value.sum(xs)``, ...) gets its method from its row of the op
  table, so a new row brings its method with it.
- The topological sort is iterative: a chain of 200,000 ops back-propagates fine.
"""

from __future__ import annotations

import gc
import numbers
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Protocol, Union, final

from microgradnn import ops
from microgradnn._checks import describe
from microgradnn.ops import OPS, Op

__all__ = [
    "CompileError",
    "Tracer",
    "Value",
    "all_values",
    "is_grad_enabled",
    "is_tracing",
    "no_grad",
    "peek",
    "tracing",
]

Number = Union[int, float]
Operand = Union["Value", int, float]


class CompileError(ValueError):
    """The graph cannot be replayed in batch: the compiled result would differ from eager.

    Raised by :mod:`microgradnn.compile` (and ``fit(compiled=True)``), naming the op or the read
    that made a faithful replay impossible; ``compiled=False`` always works.
    """


# -- grad mode and tracing, per thread and per asyncio task ----------------------------------
# Both live in ContextVars, so one thread's no_grad() never touches another's graph. Reading a
# ContextVar on every op would cost a few percent, so plain counters say how many contexts (in
# any thread) have switched a default off: while a counter is 0, the usual case, the hot paths
# read only the counter.

_GRAD_ENABLED: ContextVar[bool] = ContextVar("microgradnn_grad_enabled", default=True)
_TRACER: ContextVar[Tracer | None] = ContextVar("microgradnn_tracer", default=None)
_counts_lock = threading.Lock()
_no_grad_contexts = 0
_tracing_contexts = 0


@contextmanager
def no_grad() -> Iterator[None]:
    """Within this block, ops record no graph (as ``torch.no_grad()``): results are leaves.

    Use it for evaluation and for parameter updates, where no gradient is wanted. It applies to
    the current thread (and asyncio task) only, as PyTorch's does.

    >>> from microgradnn import Value, no_grad
    >>> with no_grad():
    ...     y = Value(2.0) * 3
    >>> y._prev
    ()
    """
    global _no_grad_contexts
    token = _GRAD_ENABLED.set(False)
    with _counts_lock:
        _no_grad_contexts += 1
    try:
        yield
    finally:
        with _counts_lock:
            _no_grad_contexts -= 1
        _GRAD_ENABLED.reset(token)


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph in this thread (False inside :func:`no_grad`)."""
    return _GRAD_ENABLED.get()


class Tracer(Protocol):
    """What :func:`tracing` consults when traced code reads a Value's number."""

    def read(self, value: Value) -> float:
        """``value``'s number, or a CompileError if reading it would make the replay unfaithful."""


@contextmanager
def tracing(tracer: Tracer) -> Iterator[None]:
    """Within this block (this thread only), reading a Value's number asks ``tracer`` first.

    ``.data``, ``bool()``, ``float()`` and comparisons all read the number; the compiled replay
    uses this to refuse code whose graph could depend on the example (an ``if`` on ``.data``).
    """
    global _tracing_contexts
    token = _TRACER.set(tracer)
    with _counts_lock:
        _tracing_contexts += 1
    try:
        yield
    finally:
        with _counts_lock:
            _tracing_contexts -= 1
        _TRACER.reset(token)


def is_tracing() -> bool:
    """Whether this thread is inside :func:`tracing` (a graph is being traced for compiling)."""
    return _tracing_contexts > 0 and _TRACER.get() is not None


def peek(value: Value) -> float:
    """A Value's number without asking the tracer: for checks that can only raise.

    The library's own argument checks (a BCE prediction outside [0, 1], say) read numbers this
    way while tracing: a check that passes changes nothing in the graph.
    """
    return value._data


def as_float(x: object, what: str = "Value") -> float:
    """A real number as float; anything else is a TypeError naming what came in."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(_too_large(what, x)) from None
    hint = " (use v.data to read a Value's number)" if isinstance(x, Value) else ""
    raise TypeError(f"{what}: expected a real number (int or float), got {describe(x)}{hint}")


def _too_large(what: str, x: object) -> str:
    digits = len(str(abs(int(x)))) if isinstance(x, numbers.Integral) else None
    shown = f"an integer of {digits} digits" if digits else describe(x)
    return f"{what}: {shown} does not fit a float (the largest is about 1.8e308)"


def _const(x: object) -> float | None:
    """A plain real number as the float constant stored in ``_prev``; None for anything else."""
    if type(x) is float:
        return x
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        try:
            return float(x)
        except OverflowError:
            raise ValueError(_too_large("Value operand", x)) from None
    return None


_new = object.__new__

# A node keeps its inputs in two slots, not in a tuple: the Value is then the only object the
# cycle collector tracks per node (a tuple of Values is tracked too), which halves its work in
# a learner's loop, and a node costs one allocation. _b is None for one input, Ellipsis when
# _a holds the tuple of them (variadic ops, three inputs or more, and leaves: ()); both
# singletons survive copy.deepcopy. The ``_prev`` property rebuilds the tuple for readers.


def _node(op: Op, a: Operand, b: Operand | None, data: float) -> Value:
    """A new Value holding ``data``, made by ``op`` from ``a`` and ``b`` (None: ``a`` alone).

    Under no_grad the result is a leaf.
    """
    out = _new(Value)
    out._data = data
    out.grad = 0.0
    out.label = ""
    if _no_grad_contexts == 0 or _GRAD_ENABLED.get():
        out._a = a
        out._b = b
        out._op = op
    else:
        out._a = ()
        out._b = ...
        out._op = None
    return out


def _node_n(op: Op, prev: tuple[Operand, ...], data: float) -> Value:
    """A new Value holding ``data``, made by ``op`` from the inputs ``prev`` (any number)."""
    out = _new(Value)
    out._data = data
    out.grad = 0.0
    out.label = ""
    out._b = ...
    if _no_grad_contexts == 0 or _GRAD_ENABLED.get():
        out._a = prev
        out._op = op
    else:
        out._a = ()
        out._op = None
    return out


def _binary(op: Op) -> tuple[Callable[[Value, Any], Value], Callable[[Value, Any], Value]]:
    """The two dunders of a binary operator: ``self op other`` and ``other op self``."""
    forward = op.forward
    # NotImplemented tells Python to try the other operand (and then raise TypeError); mypy
    # accepts it only in functions named like dunders, hence the ignores.

    def apply(self: Value, other: Any) -> Value:
        if type(other) is Value:
            return _node(op, self, other, forward(self._data, other._data))
        c = _const(other)
        if c is None:
            return NotImplemented  # type: ignore[no-any-return]
        return _node(op, self, c, forward(self._data, c))

    def reflected(self: Value, other: Any) -> Value:
        c = _const(other)
        if c is None:
            return NotImplemented  # type: ignore[no-any-return]
        return _node(op, c, self, forward(c, self._data))

    return apply, reflected


if TYPE_CHECKING:

    class _OpMethods(type):
        """For type checkers: ``Value.sum``, ``Value.tanh``, ... come from the op table."""

        def __getattr__(cls, name: str) -> Callable[..., Value]: ...

else:
    _OpMethods = type


@final
class Value(metaclass=_OpMethods):
    """One scalar in the computation graph: its value ``data`` and its gradient ``grad``.

    Args:
        data: The number (int or float; stored as float).
        label: An optional name, shown in graph pictures.

    Besides the Python operators, every op of the table is a method: ``exp``, ``log``,
    ``tanh``, ``sigmoid``, ``softplus``, ``relu``, ``leaky_relu(slope=0.01)``,
    ``prelu(alpha)``, ``abs``, ``step``, ``sign``, ``hard_sigmoid``, and the static
    ``Value.sum(values)`` and ``Value.logsumexp(values)``; ``help(Value.tanh)`` shows each one's
    derivative (see :mod:`microgradnn.ops`).

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a.tanh()
    >>> c.backward()
    >>> round(a.grad, 6), b.grad
    (-2.929349, 2.0)
    """

    __slots__ = ("_a", "_b", "_data", "_op", "_reached", "grad", "label")
    __array_ufunc__ = None  # numpy scalars and arrays defer to Value's reflected operators

    _data: float
    grad: float
    label: str
    _a: Any  # the first input, or the tuple of all of them (see _node)
    _b: Any  # the second input, None (one input) or ... (the tuple is in _a)
    _op: Op | None
    _reached: bool  # set by backward() only: unset means no backward() has reached this Value

    def __init__(self, data: Number, label: str = "", *micrograd: object) -> None:
        if micrograd or not isinstance(label, str):
            raise TypeError(_constructor_hint(label, micrograd))
        self._data = as_float(data)
        self.grad = 0.0
        self.label = label
        self._a = ()
        self._b = ...
        self._op = None

    @property
    def data(self) -> float:
        """The number this Value holds (a float)."""
        if _tracing_contexts:
            tracer = _TRACER.get()
            if tracer is not None:
                return tracer.read(self)
        return self._data

    @data.setter
    def data(self, value: float) -> None:
        self._data = as_float(value, "data")

    @property
    def _prev(self) -> tuple[Operand, ...]:
        """The inputs, in argument order, duplicates kept: ``(a, b)`` for ``a * b``; () for a leaf.

        Plain numbers stay numbers: ``x * 2`` has inputs ``(x, 2.0)``.
        """
        b = self._b
        if b is ...:
            return self._a  # type: ignore[no-any-return]
        if b is None:
            return (self._a,)
        return (self._a, b)

    if TYPE_CHECKING:  # the op-table methods (tanh, relu, sum, ...) are installed at import

        def __getattr__(self, name: str) -> Callable[..., Value]: ...

    # -- arithmetic: each operator is its own op (one node in the picture) ----------------------

    __add__, __radd__ = _binary(OPS["add"])  # self + other, other + self
    __sub__, __rsub__ = _binary(OPS["sub"])  # self - other, other - self
    __mul__, __rmul__ = _binary(OPS["mul"])  # self * other, other * self
    __truediv__, __rtruediv__ = _binary(OPS["div"])  # self / other, other / self
    __pow__, __rpow__ = _binary(OPS["pow"])  # self ** other, other ** self

    def __neg__(self) -> Value:  # -self
        return _node(_NEG, self, None, -self._data)

    def __pos__(self) -> Value:  # +self
        return self

    def __abs__(self) -> Value:  # abs(self)
        return self.abs()

    # -- conversions and comparisons: they read the number, and record no graph -----------------

    def __float__(self) -> float:
        return self.data

    def __bool__(self) -> bool:  # as bool(torch.tensor(x)): nonzero is True (nan too)
        return self.data != 0.0

    def __lt__(self, other: Operand) -> bool:
        return self.data < _number(other)

    def __le__(self, other: Operand) -> bool:
        return self.data <= _number(other)

    def __gt__(self, other: Operand) -> bool:
        return self.data > _number(other)

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _number(other)

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self._data!r}, grad={self.grad!r}{label})"

    # -- backpropagation ------------------------------------------------------------------------

    @property
    def grad_computed(self) -> bool:
        """Whether a ``backward()`` has reached this Value: its ``grad`` is a result, not just 0.

        Pictures show the grad of a Value no backward() has reached as "not computed yet", which
        is not the same as a computed 0.
        """
        return getattr(self, "_reached", False)

    @property
    def is_leaf(self) -> bool:
        """True for Values the user created (and results computed under ``no_grad``)."""
        return self._op is None

    def local_grads(self) -> tuple[float, ...]:
        """d(self)/d(child) for each child in ``_prev``, from the op table; () for a leaf."""
        op = self._op
        if op is None:
            return ()
        xs = tuple([p._data if type(p) is Value else p for p in self._prev])
        if op.variadic:
            return op.local(xs, self._data)
        return op.local(*xs, self._data)

    def _backward(self) -> None:
        """One chain-rule step at this node: ``child.grad += local * out.grad`` for each child."""
        _chain_rule((self,))

    def topological_order(self) -> list[Value]:
        """Every Value this one depends on, each after all of its inputs (self is last).

        Iterative depth-first search, so arbitrarily deep graphs need no recursion: the stack
        holds each open node with an iterator over its remaining inputs. A node whose inputs are
        all listed already (a leaf, or a product of a weight and a shared activation) is listed
        at once, without being opened.
        """
        order: list[Value] = []
        seen = {self}
        stack = [(self, iter(self._prev))]
        while stack:
            node, inputs = stack[-1]
            for child in inputs:
                if type(child) is Value and child not in seen:
                    seen.add(child)
                    # child._prev, read without the property's call: this runs once per node
                    b = child._b
                    if b is ...:
                        grandchildren = child._a
                    else:
                        grandchildren = (child._a,) if b is None else (child._a, b)
                    for g in grandchildren:
                        if type(g) is Value and g not in seen:
                            stack.append((child, iter(grandchildren)))
                            break
                    else:
                        # In a DAG a seen input is a finished one (an open one would be a cycle).
                        order.append(child)
                        continue
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
        seed = as_float(gradient, "backward gradient")
        # The pass makes no reference cycles and frees what it makes, so the cycle collector
        # has nothing to find; left running, it re-scans the whole graph whenever the search's
        # stack grows (a 200,000-op chain took twice as long).
        with collector_paused():
            _backpropagate(self, seed)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block, then restore its state.

    For work on graphs, which have no reference cycles (reference counting frees them): the
    collector would only re-scan the thousands of fresh nodes again and again.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_NEG = OPS["neg"]
_VALUE_ONLY = frozenset({Value})


def all_values(items: Iterable[Any]) -> bool:
    """Whether every item is a Value: one pass over their types at C speed (no Python loop)."""
    return _VALUE_ONLY.issuperset(map(type, items))


def _backpropagate(root: Value, seed: float) -> None:
    """backward(): the chain rule at every node of ``root``'s graph, from ``root`` down."""
    order = root.topological_order()
    # A leaf sums this pass's contributions on their own, then adds that to what it held (as
    # PyTorch's AccumulateGrad): folding them into the old value one by one would round
    # differently, and a second backward() would not add exactly the same gradient again.
    held = []
    for node in order:
        if node.grad != 0.0 and node._op is None:
            held.append((node, node.grad))
        node.grad = 0.0
        node._reached = True
    root.grad = seed
    _chain_rule(reversed(order))
    for node, grad in held:
        node.grad = grad + node.grad


def _chain_rule(nodes: Iterable[Value]) -> None:
    """The chain rule at each node in turn: ``child.grad += local * out.grad`` for each child.

    A few rows add a word to the rule so that an inf or nan gradient meeting a zero gives
    PyTorch's numbers (see ``masked`` and ``vjp`` in :class:`~microgradnn.ops.Op`): those
    nodes take :func:`_careful_backward`. One loop over all the nodes, not a call per node.
    """
    for out in nodes:
        op = out._op
        if op is None:
            continue
        if not op.plain:
            if op.masked is not True or op.arity != 1:
                _careful_backward(out, op)
                continue
            a = out._a  # relu, step, sign, hard sigmoid: a zero local passes nothing at all
            if type(a) is Value:
                (local_a,) = op.local(a._data, out._data)
                if local_a:
                    a.grad += local_a * out.grad
            continue
        b = out._b
        # Unrolled for two and one children (almost every node): no loop, no zip.
        if b is None:
            a = out._a
            if type(a) is Value:
                (local_a,) = op.local(a._data, out._data)
                a.grad += local_a * out.grad
        elif b is not ...:
            a = out._a
            local_a, local_b = op.local(
                a._data if type(a) is Value else a, b._data if type(b) is Value else b, out._data
            )
            if type(a) is Value:
                a.grad += local_a * out.grad
            if type(b) is Value:
                b.grad += local_b * out.grad
        else:
            prev = out._a
            g = out.grad
            if op.passes_grad:  # Σ: each local derivative is 1, so each input gets g itself
                for child in prev:
                    if type(child) is Value:
                        child.grad += g
                continue
            xs = tuple([p._data if type(p) is Value else p for p in prev])
            locals_ = op.local(xs, out._data) if op.variadic else op.local(*xs, out._data)
            for child, local in zip(prev, locals_, strict=True):
                if type(child) is Value:
                    child.grad += local * g


def _careful_backward(out: Value, op: Op) -> None:
    """The chain-rule step of a ``masked`` row or a row with a ``vjp``.

    A masked op (relu, step, ...) selects: an input it selected off receives exactly 0, even
    when ``out.grad`` is inf or nan (``0 * inf`` would be nan), as PyTorch's masked backward
    gives. A row with a ``vjp`` (log, division) says how to form each contribution from
    ``out.grad``; it equals ``local * out.grad`` wherever both are finite.
    """
    prev = out._prev
    xs = tuple([p._data if type(p) is Value else p for p in prev])
    g = out.grad
    if op.vjp is not None:
        parts = op.vjp(xs, out._data, g) if op.variadic else op.vjp(*xs, out._data, g)
    else:
        locals_ = op.local(xs, out._data) if op.variadic else op.local(*xs, out._data)
        off = op.masked(*xs, out._data) if callable(op.masked) else (True,) * len(prev)
        parts = tuple(
            0.0 if (local == 0.0 and selected_off) else local * g
            for local, selected_off in zip(locals_, off, strict=True)
        )
    for child, part in zip(prev, parts, strict=True):
        if type(child) is Value:
            child.grad += part


def _number(x: object) -> float:
    """The number a comparison compares with: a Value's (read as ``.data``) or a real's."""
    if type(x) is Value:
        return x.data
    return as_float(x, "comparison")


def _constructor_hint(label: object, extra: tuple[object, ...]) -> str:
    if isinstance(label, tuple | list | set) or extra:
        return (
            "Value(data, label): here a Value is made only from a number (and an optional "
            "label string); micrograd's Value(data, (a, b), '+') form is not how ops are made: "
            "write a + b, a * b, a.tanh(), ... and the graph is recorded for you"
        )
    return f"label: expected a string, got {describe(label)}"


# -- methods from the op table --------------------------------------------------------------------


def _operand(x: object, what: str) -> Operand:
    """A Value as is, a plain real number as float; a TypeError for anything else."""
    if type(x) is Value:
        return x
    return as_float(x, what)


def _method(op: Op) -> Any:
    """The Value method that applies ``op``: ``x.tanh()``, ``x.leaky_relu(0.1)``, ``Value.sum``."""
    forward = op.forward
    name = op.method
    builtin = op.name in ops.BUILTINS

    if op.variadic:

        def variadic(values: Iterable[Operand]) -> Value:
            if type(values) is not list and (  # a list (a neuron's terms) needs no ABC check
                isinstance(values, (Value, str, bytes)) or not isinstance(values, Iterable)
            ):
                raise TypeError(
                    f"Value.{name}: expected a list of Values or numbers, got {describe(values)}"
                )
            # Through a list: a tuple built from a generator is resized, and each one freed
            # would then fill another free list (a memory test sees thousands of blocks).
            prev = tuple(values if type(values) is list else list(values))
            if all_values(prev):  # every input a Value: none to convert
                xs = tuple([v._data for v in prev])
            else:
                prev = tuple([_operand(v, f"Value.{name}") for v in prev])
                xs = tuple([v._data if type(v) is Value else v for v in prev])
            if not prev:
                try:
                    return Value(forward(xs))
                except ValueError:
                    raise ValueError(
                        f"Value.{name}: expected at least one value, got none"
                    ) from None
            return _node_n(op, prev, _checked(forward(xs), builtin, op))

        _describe(variadic, op)
        return staticmethod(variadic)

    if op.arity == 1:
        if builtin:  # the table's own rows return floats: nothing to check

            def unary(self: Value) -> Value:
                return _node(op, self, None, forward(self._data))

        else:

            def unary(self: Value) -> Value:
                return _node(op, self, None, _checked(forward(self._data), builtin, op))

        _describe(unary, op)
        return unary

    n_more = op.arity - 1
    defaults = op.defaults

    def nary(self: Value, *others: Any) -> Value:
        if len(others) < n_more - len(defaults) or len(others) > n_more:
            raise TypeError(
                f"Value.{name}() takes {n_more} more input{'s' if n_more > 1 else ''} "
                f"({op.doc}), got {len(others)}"
            )
        rest = [_operand(x, f"Value.{name}") for x in others]
        rest += defaults[len(defaults) - (n_more - len(rest)) :] if len(rest) < n_more else ()
        prev = (self, *rest)
        xs = [v._data if type(v) is Value else v for v in prev]
        data = _checked(forward(*xs), builtin, op)
        return _node(op, *prev, data) if len(prev) == 2 else _node_n(op, prev, data)

    _describe(nary, op)
    return nary


def _checked(data: Any, builtin: bool, op: Op) -> float:
    """The op's output as a float: built-in rows return floats; a custom row may not."""
    if builtin or type(data) is float:
        return data  # type: ignore[no-any-return]
    return as_float(data, f"op {op.name!r}: forward's result")


def _describe(fn: Callable[..., Any], op: Op) -> None:
    """Name the method and give it the row's doc line, so ``help(Value.tanh)`` explains it."""
    fn.__name__ = str(op.method)
    fn.__qualname__ = f"Value.{op.method}"
    fn.__doc__ = f"{op.doc}." if op.doc else f"The op {op.name!r}."


_installed: dict[str, Op] = {}
"""The Value methods made from op rows, by name (so Value's own attributes are never replaced)."""


def _install(op: Op, added: bool) -> None:
    name = op.method
    if name is None:
        return
    if added:
        owner = _installed.get(name)
        if (owner is None and hasattr(Value, name)) or (owner is not None and owner is not op):
            what = f"op {owner.name!r}" if owner is not None else "Value itself"
            raise ValueError(f"method name {name!r} is taken by {what}")
        setattr(Value, name, _method(op))
        _installed[name] = op
    elif _installed.get(name) is op:
        delattr(Value, name)
        del _installed[name]


ops.on_register(_install)
