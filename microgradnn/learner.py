r"""Bring your own Value: a learner's micrograd-style graph, mirrored into microgradnn Values.

A learner who follows the micrograd lecture writes a class of their own whose objects have
``data``, ``grad``, ``_prev`` (a set or a tuple of the inputs), ``_op`` (a string: ``'+'``,
``'*'``, ``'**2'``, ``'tanh'``, ``'exp'``, ``'ReLU'``, ``''`` for a leaf) and a ``_backward``
closure. :func:`mirror` copies such a graph, node for node, into microgradnn
:class:`~microgradnn.Value`\ s whose ops are rows of the op table, keeping the learner's own
``data`` and ``grad``: the pictures, the stepper and ``check_backward`` then show the learner's
numbers with the op table's derivative rules beside them.

Two things a set loses are put back. A set keeps ``x`` once in ``x * x``: the op's arity says
both inputs are ``x``, so the picture draws both edges. A set has no order: where the closure
names its inputs (micrograd's ``self`` and ``other``) that order is used, else the order whose
forward gives the node's ``data`` (``a - b`` is not ``b - a``).

>>> class V:  # the lecture's pattern, two ops
...     def __init__(self, data, _children=(), _op=""):
...         self.data, self.grad, self._prev, self._op = data, 0.0, set(_children), _op
...         self._backward = lambda: None
...     def __mul__(self, other):
...         out = V(self.data * other.data, (self, other), "*")
...         def _backward():
...             self.grad += other.data * out.grad
...             other.grad += self.data * out.grad
...         out._backward = _backward
...         return out
>>> x = V(3.0)
>>> m = mirror(x * x)
>>> m.root._op.name, len(m.root._prev), m.root._prev[0] is m.root._prev[1]
('mul', 2, True)
>>> m.reference  # microgradnn's gradients of the same graph: d(x*x)/dx = 6
(6.0, 1.0)
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from microgradnn._checks import describe
from microgradnn.engine import Value
from microgradnn.ops import OPS, Op, find

__all__ = [
    "SPELLINGS",
    "Mirror",
    "closure_locals",
    "is_learner_value",
    "mirror",
    "op_for",
    "record",
    "supported_spellings",
]

PROTOCOL = ("data", "grad", "_prev", "_op", "_backward")
"""What an object needs to be read as a learner's Value."""

SPELLINGS: dict[str, str] = {
    "+": "add",
    "*": "mul",
    "/": "div",
    "neg": "neg",
    "ReLU": "relu",
    "relu": "relu",
    "tanh": "tanh",
    "exp": "exp",
    "log": "log",
    "sigmoid": "sigmoid",
}
"""The op strings of the lecture (and a few more) and the op-table rows they name. ``'-'`` is
``sub`` with two inputs and ``neg`` with one; ``'**k'`` (``'**2'``, ``'**-1'``) is ``pow`` with
the constant exponent k; any other string is looked up in the op table by its name, symbol or
method (``'softplus'``, ``'abs'``)."""

_POW = re.compile(r"\*\*\s*\(?\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\)?")
_APPLY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


def supported_spellings() -> str:
    """The op strings :func:`mirror` reads, for error messages."""
    listed = ["'+'", "'-'", "'*'", "'/'", "'**k'"]
    listed += [repr(s) for s in SPELLINGS if s not in ("+", "*", "/")]
    return ", ".join(listed) + " and the op table's names"


def is_learner_value(x: object) -> bool:
    """Whether ``x`` looks like a learner's micrograd-style Value (and is not microgradnn's)."""
    if type(x) is Value or isinstance(x, type):
        return False
    return all(hasattr(x, name) for name in PROTOCOL)


def op_for(spelling: object, inputs: int) -> tuple[Op, tuple[float, ...]]:
    """The op-table row a learner's ``_op`` string names, and constants it carries.

    ``inputs`` is how many inputs the node has (after restoring a lost duplicate); it tells
    ``'-'`` (sub) from ``'-'`` (neg).

    >>> op_for("**2", 1)
    (Op('pow', symbol='**'), (2.0,))
    >>> op_for("-", 1)[0].name, op_for("-", 2)[0].name
    ('neg', 'sub')

    Raises:
        ValueError: A string that names no op, with the strings that are understood.
    """
    if not isinstance(spelling, str):
        raise TypeError(f"_op: expected a string such as '+' or 'tanh', got {describe(spelling)}")
    text = spelling.strip()
    m = _POW.fullmatch(text)
    if m is not None:
        return OPS["pow"], (float(m.group(1)),)
    if text == "-":
        return (OPS["neg"] if inputs == 1 else OPS["sub"]), ()
    name = SPELLINGS.get(text)
    if name is not None and name in OPS:
        return OPS[name], ()
    if text.lower() in OPS:
        return OPS[text.lower()], ()
    for where in ({"infix": text}, {"prefix": text}, {"method": text.lower()}):
        try:
            return find(**where), ()
        except KeyError:
            continue
    for op in OPS.values():
        if op.symbol.lower() == text.lower():
            return op, ()
    raise ValueError(
        f"_op {spelling!r}: not an op microgradnn knows; it reads {supported_spellings()} "
        f"({', '.join(OPS)}); define yours with microgradnn.define_op"
    )


def _arity(spelling: object) -> int:
    """How many inputs an op string takes as Values (``'**k'``: 1, its exponent is a number)."""
    if not isinstance(spelling, str):
        return 0
    if spelling.strip() == "-":
        return 0  # 1 or 2: decided from the data
    op, consts = op_for(spelling, 2)
    return op.arity - len(consts)


def _children(node: Any) -> list[Any]:
    prev = node._prev
    if isinstance(prev, (set, frozenset)):
        return sorted(prev, key=_sort_key)
    try:
        return list(prev)
    except TypeError:
        raise TypeError(
            f"_prev: expected a set or a tuple of the node's inputs, got {describe(prev)}"
        ) from None


def _sort_key(x: Any) -> tuple[str, float]:
    label = getattr(x, "label", "")
    data = _as_float(getattr(x, "data", 0.0))
    return (label if isinstance(label, str) else "", data)


def _as_float(x: object) -> float:
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _close(a: float, b: float) -> bool:
    if a == b or (math.isnan(a) and math.isnan(b)):
        return True
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _closure_operands(node: Any, kids: list[Any]) -> list[Any] | None:
    """The inputs as the closure names them: ``self`` then ``other`` (micrograd's names)."""
    fn = node._backward
    code = getattr(fn, "__code__", None)
    cells = getattr(fn, "__closure__", None)
    if code is None or not cells:
        return None
    free: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, cells, strict=False):
        try:
            free[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    if "self" not in free:
        return None
    found = [free["self"]]
    if "other" in free:
        found.append(free["other"])
    ids = {id(k) for k in kids}
    values = [x for x in found if is_learner_value(x)]
    if {id(x) for x in values} != ids:
        return None
    return found


def _forward(op: Op, operands: Sequence[Any]) -> float:
    xs = [_as_float(p.data) if is_learner_value(p) else _as_float(p) for p in operands]
    try:
        return float(op.forward(*xs))
    except (ArithmeticError, ValueError, TypeError):
        return math.nan


def _operands(node: Any) -> tuple[Op, list[Any]]:
    """A node's op row and its inputs in argument order (learner nodes, or numbers)."""
    kids = _children(node)
    spelling = node._op
    data = _as_float(node.data)
    named = _closure_operands(node, kids)
    if isinstance(spelling, str) and spelling.strip() == "-":
        candidates = []
        if named is not None:
            candidates.append(named)
        if len(kids) == 1:
            candidates += [[kids[0]], [kids[0], kids[0]]]
        else:
            candidates += [list(kids), list(reversed(kids))]
        for operands in candidates:
            op, _ = op_for("-", len(operands))
            if _close(_forward(op, operands), data):
                return op, operands
        op, _ = op_for("-", len(candidates[0]))
        return op, candidates[0]
    op, consts = op_for(spelling, len(kids))
    wanted = op.arity - len(consts)
    if named is not None:
        values = named[:wanted] + [c for c in named[wanted:] if not is_learner_value(c)]
        operands = named[:wanted] if len(values) >= wanted else values
        if len(operands) == wanted:
            return op, [*operands, *consts]
    if op.variadic:
        return op, kids
    if len(kids) == wanted:
        options = [kids, list(reversed(kids))] if wanted == 2 else [kids]
    elif len(kids) == 1 and wanted == 2:
        options = [[kids[0], kids[0]]]  # x * x, x + x: a set keeps x once
    else:
        raise ValueError(
            f"a node with _op {spelling!r} ({op.name}, {wanted} input"
            f"{'s' * (wanted != 1)}) has {len(kids)} in _prev"
        )
    for operands in options:
        if _close(_forward(op, [*operands, *consts]), data):
            return op, [*operands, *consts]
    return op, [*options[0], *consts]


def _apply(op: Op, operands: list[Value | float]) -> Value:
    """``op`` applied to microgradnn operands, as the engine's operators and methods do."""
    if op.infix is not None and op.infix in _APPLY and len(operands) == 2:
        out = _APPLY[op.infix](operands[0], operands[1])
    elif op.prefix == "-" and len(operands) == 1:
        out = -operands[0]
    else:
        method = getattr(Value, str(op.method))
        out = method(operands) if op.variadic else method(*operands)
    if type(out) is not Value:  # two constants: the engine folds them into a number
        raise ValueError(f"an {op.name} node of constants only cannot be mirrored")
    return out


@dataclass(frozen=True, eq=False)
class Mirror:
    """A learner's graph as microgradnn Values, node for node.

    Attributes:
        source: The learner's root.
        root: Its mirror, a :class:`~microgradnn.Value`.
        nodes: The learner's nodes, in the mirror's topological order (``root.topological_order()``,
            the order of the pictures' names).
        values: The mirror Values, in that order.
        operands: Per node, its inputs in argument order (learner nodes, or numbers).
        grads: The learner's grads when the graph was mirrored.
        reference: microgradnn's grads of the same graph from one fresh ``backward()``: what
            the learner's grads should be.
        computed: Whether the learner's backward() had reached the root (its grad is not 0).
    """

    source: Any
    root: Value
    nodes: tuple[Any, ...]
    values: tuple[Value, ...]
    operands: tuple[tuple[Any, ...], ...]
    grads: tuple[float, ...]
    reference: tuple[float, ...]
    computed: bool

    def position(self, node: object) -> int:
        """Where a learner node sits in :attr:`nodes`."""
        for i, n in enumerate(self.nodes):
            if n is node:
                return i
        raise ValueError(f"{describe(node)} is not a node of this graph")

    def refresh(self) -> None:
        """Copy the learner's current grads into the mirror Values (their ``grad``)."""
        for n, v in zip(self.nodes, self.values, strict=True):
            v.grad = _as_float(n.grad)

    def learner_grads(self) -> tuple[float, ...]:
        """The learner's grads now, in :attr:`nodes` order."""
        return tuple(_as_float(n.grad) for n in self.nodes)

    def consumers(self) -> list[list[int]]:
        """Per node, the positions of the nodes that take it as an input."""
        index = {id(n): i for i, n in enumerate(self.nodes)}
        out: list[list[int]] = [[] for _ in self.nodes]
        for j, ops in enumerate(self.operands):
            for p in {id(p): p for p in ops if is_learner_value(p)}.values():
                out[index[id(p)]].append(j)
        return out


MAX_NODES = 100_000


def _build(root: Any) -> tuple[Value, dict[int, Any], dict[int, tuple[Any, ...]]]:
    """The mirror graph, and (by id of each mirror Value) its learner node and operands."""
    made: dict[int, Value] = {}
    learner_of: dict[int, Any] = {}
    operands_of: dict[int, tuple[Any, ...]] = {}
    plan: dict[int, tuple[Op, list[Any]] | None] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, ready = stack.pop()
        key = id(node)
        if key in made:
            continue
        if not ready:
            if key in plan:
                continue
            if not is_learner_value(node):
                raise TypeError(
                    f"a node's input is {describe(node)}: expected an object with "
                    f"{', '.join(PROTOCOL)}"
                )
            kids = _children(node)
            if not kids:
                plan[key] = None
            else:
                plan[key] = _operands(node)
            if len(plan) > MAX_NODES:
                raise ValueError(f"the graph has more than {MAX_NODES} nodes")
            stack.append((node, True))
            entry = plan[key]
            if entry is not None:
                for p in reversed(entry[1]):
                    if is_learner_value(p) and id(p) not in made:
                        stack.append((p, False))
            continue
        entry = plan[key]
        data = _as_float(node.data)
        label = getattr(node, "label", "")
        label = label if isinstance(label, str) else ""
        if entry is None:
            v = Value(data, label=label)
            ops_tuple: tuple[Any, ...] = ()
        else:
            op, ops = entry
            args: list[Value | float] = [
                made[id(p)] if is_learner_value(p) else float(p) for p in ops
            ]
            v = _apply(op, args)
            v.data = data
            v.label = label
            ops_tuple = tuple(ops)
        made[key] = v
        learner_of[id(v)] = node
        operands_of[id(v)] = ops_tuple
    return made[id(root)], learner_of, operands_of


def mirror(root: object) -> Mirror:
    """Mirror a learner's graph into microgradnn Values, with the learner's data and grads.

    The mirror's ops are op-table rows read from each ``_op`` string (see :data:`SPELLINGS`),
    its inputs in argument order with a duplicate that a set lost put back, its ``data`` and
    ``grad`` the learner's. Its reference grads are microgradnn's for the same graph.

    Raises:
        TypeError: ``root`` (or a node's input) is not a micrograd-style Value.
        ValueError: An ``_op`` string that names no op (the message lists those understood).
    """
    if not is_learner_value(root):
        missing = [n for n in PROTOCOL if not hasattr(root, n)]
        raise TypeError(
            f"root: expected a Value (microgradnn's, or your own micrograd-style class with "
            f"{', '.join(PROTOCOL)}), got {describe(root)}"
            + (f", which has no {', '.join(missing)}" if missing else "")
        )
    ref_root, _, _ = _build(root)
    ref_root.backward()
    ref_order = ref_root.topological_order()
    reference = tuple(v.grad for v in ref_order)
    mroot, learner_of, operands_of = _build(root)
    computed = _as_float(root.grad) != 0.0  # type: ignore[attr-defined]
    if computed:
        mroot.backward()  # marks every grad as computed; the learner's numbers replace them
    order = mroot.topological_order()
    nodes = tuple(learner_of[id(v)] for v in order)
    for n, v in zip(nodes, order, strict=True):
        v.grad = _as_float(n.grad)
    return Mirror(
        source=root,
        root=mroot,
        nodes=nodes,
        values=tuple(order),
        operands=tuple(operands_of[id(v)] for v in order),
        grads=tuple(v.grad for v in order),
        reference=reference,
        computed=computed,
    )


def closure_locals(m: Mirror, j: int, start: float = 0.0) -> tuple[float | None, ...]:
    """What node ``j``'s own ``_backward`` passes to each input for an upstream grad of 1.

    Each input's grad is set to ``start`` and the node's to 1, the closure runs, and what each
    input then holds is returned: from 0, its local derivative as the learner's code computes
    it (from another start, a closure that adds leaves start + local, one that assigns only
    local). Every grad is put back afterwards. An input used twice (``x * x``) receives both
    edges' sum: that sum stands at each of its positions. Constants get None.
    """
    node = m.nodes[j]
    operands = m.operands[j]
    kids = {id(p): p for p in operands if is_learner_value(p)}
    saved = [(p, p.grad) for p in kids.values()] + [(node, node.grad)]
    try:
        for p in kids.values():
            p.grad = start
        node.grad = 1.0
        node._backward()
        got = {k: _as_float(p.grad) for k, p in kids.items()}
    finally:
        for p, g in saved:
            p.grad = g
    return tuple(got[id(p)] if is_learner_value(p) else None for p in operands)


@dataclass(frozen=True)
class Recording:
    """What a learner's backward() did, closure by closure.

    Attributes:
        calls: The position (in the mirror's order) of each node whose ``_backward`` ran, in
            the order they ran (leaves, whose closures do nothing, are not recorded).
        seed: Every grad when the first closure was about to run (after backward() seeded).
        after: Every grad after each call, one tuple per entry of ``calls``.
    """

    calls: tuple[int, ...]
    seed: tuple[float, ...]
    after: tuple[tuple[float, ...], ...]


def record(m: Mirror, run: Callable[[], Any]) -> Recording | None:
    """Run ``run()`` (the learner's ``root.backward``) with every closure of ``m`` logged.

    Each interior node's ``_backward`` is wrapped for the run and put back after it. None (and
    ``run()`` ran unlogged) where the class does not let a node's ``_backward`` be replaced.
    """
    calls: list[int] = []
    after: list[tuple[float, ...]] = []
    seed: list[tuple[float, ...]] = []
    originals: list[tuple[Any, Any]] = []
    try:
        for i, node in enumerate(m.nodes):
            if not m.operands[i]:
                continue
            fn = node._backward

            def wrapped(fn: Any = fn, i: int = i) -> Any:
                if not seed:
                    seed.append(m.learner_grads())
                calls.append(i)
                try:
                    return fn()
                finally:
                    after.append(m.learner_grads())

            wrapped.__wrapped__ = fn  # type: ignore[attr-defined]  # as functools.wraps does
            try:
                node._backward = wrapped
            except (AttributeError, TypeError):
                for n, f in originals:
                    n._backward = f
                originals.clear()
                run()
                return None
            originals.append((node, fn))
        run()
    finally:
        for n, f in originals:
            n._backward = f
    return Recording(tuple(calls), seed[0] if seed else m.learner_grads(), tuple(after))
