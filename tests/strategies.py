"""Hypothesis strategies shared by the engine tests: safe numbers per op, random expression DAGs.

A :class:`Dag` is a small program: some leaf numbers, then nodes that each apply one op of
:data:`microgradnn.OPS` to earlier values (or plain-number constants). The same program runs on
:class:`~microgradnn.Value` (:meth:`Dag.build`) and on any other backend (:meth:`Dag.run`, e.g.
PyTorch), so the two results can be compared without trusting the engine's own graph.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from microgradnn import Value

__all__ = [
    "DAG_OPS",
    "SMOOTH_INPUTS",
    "TORCH_INPUTS",
    "VALUE_OPS",
    "Dag",
    "Node",
    "Ref",
    "avoiding",
    "dags",
    "finite",
    "magnitude",
]

Point = tuple[float, ...]


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in ``[lo, hi]`` (no nan, no inf)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def magnitude(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats with ``lo <= |x| <= hi``, either sign: e.g. denominators kept away from 0."""
    return st.builds(lambda m, s: s * m, finite(lo, hi), st.sampled_from((1.0, -1.0)))


def avoiding(
    strategy: st.SearchStrategy[float], kinks: Sequence[float], margin: float
) -> st.SearchStrategy[float]:
    """``strategy`` without the numbers within ``margin`` of a kink (where f' jumps)."""
    return strategy.filter(lambda x: all(abs(x - k) > margin for k in kinks))


def _points(*coords: st.SearchStrategy[float]) -> st.SearchStrategy[Point]:
    return st.tuples(*coords)


_KINKS: dict[str, tuple[float, ...]] = {
    "relu": (0.0,),
    "leaky_relu": (0.0,),
    "prelu": (0.0,),
    "abs": (0.0,),
    "step": (0.0,),
    "sign": (0.0,),
    "hard_sigmoid": (-0.5, 0.5),
}

# Random inputs for comparing with PyTorch, per op (its all-Value form), as wide as each op
# stays accurate in float64. Kinks are allowed (both follow the same conventions), except that
# torch decides hardtanh's kink on x + 0.5, which rounds up to 1.0 at the float just below 1/2.
TORCH_INPUTS: dict[str, st.SearchStrategy[Point]] = {
    "add": _points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
    "sub": _points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
    "mul": _points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
    "div": _points(finite(-1e6, 1e6), magnitude(1e-3, 1e6)),
    "neg": _points(finite(-1e6, 1e6)),
    "pow": _points(finite(1e-3, 100.0), finite(-5.0, 5.0)),
    "sum": st.lists(finite(-1e6, 1e6), min_size=1, max_size=6).map(tuple),
    "logsumexp": st.lists(finite(-1e3, 1e3), min_size=1, max_size=6).map(tuple),
    "exp": _points(finite(-700.0, 700.0)),
    "log": _points(finite(1e-100, 1e100)),
    "tanh": _points(finite(-1e3, 1e3)),
    "sigmoid": _points(finite(-1e3, 1e3)),
    "softplus": _points(finite(-1e3, 1e3)),
    "relu": _points(finite(-1e3, 1e3)),
    "leaky_relu": _points(finite(-1e3, 1e3)),
    "prelu": _points(finite(-1e3, 1e3), finite(-2.0, 2.0)),
    "abs": _points(finite(-1e3, 1e3)),
    "step": _points(finite(-1e3, 1e3)),
    "sign": _points(finite(-1e3, 1e3)),
    "hard_sigmoid": _points(avoiding(finite(-1e3, 1e3), (0.5,), 1e-12)),
}

# Inputs for central differences: moderate ranges where (f(x+h) - f(x-h)) / 2h is accurate, and
# at least 1e-3 away from any kink, so that x +- h stays on one side of it.
SMOOTH_INPUTS: dict[str, st.SearchStrategy[Point]] = {
    "add": _points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
    "sub": _points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
    "mul": _points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
    "div": _points(finite(-10.0, 10.0), magnitude(0.5, 10.0)),
    "neg": _points(finite(-10.0, 10.0)),
    "pow": _points(finite(0.5, 5.0), finite(-3.0, 3.0)),
    "sum": st.lists(finite(-10.0, 10.0), min_size=1, max_size=5).map(tuple),
    "logsumexp": st.lists(finite(-10.0, 10.0), min_size=1, max_size=5).map(tuple),
    "exp": _points(finite(-5.0, 5.0)),
    "log": _points(finite(0.1, 10.0)),
    "tanh": _points(finite(-3.0, 3.0)),
    "sigmoid": _points(finite(-6.0, 6.0)),
    "softplus": _points(finite(-6.0, 6.0)),
    **{
        name: _points(avoiding(finite(-10.0, 10.0), kinks, 1e-3))
        for name, kinks in _KINKS.items()
        if name != "prelu"
    },
    "prelu": _points(avoiding(finite(-10.0, 10.0), (0.0,), 1e-3), finite(-2.0, 2.0)),
}


# -- random expression DAGs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """An input that is an earlier value of the program: leaf ``i``, or node ``i - n_leaves``."""

    index: int


@dataclass(frozen=True)
class Node:
    """One op applied to earlier values (:class:`Ref`) and plain-number constants."""

    op: str
    inputs: tuple[Ref | float, ...]
    arg: float | None = None


@dataclass(frozen=True)
class Dag:
    """A random expression: leaf numbers, then nodes in order; the last node is the output."""

    leaves: tuple[float, ...]
    nodes: tuple[Node, ...]

    def uses(self) -> Counter[int]:
        """How many times each value (by index) is an input of a later node."""
        return Counter(i.index for n in self.nodes for i in n.inputs if isinstance(i, Ref))

    def run(self, make_leaf: Callable[[float], Any], apply: Callable[..., Any]) -> list[Any]:
        """Evaluate on any backend: ``apply(op_name, inputs, arg)``; returns every value."""
        values = [make_leaf(x) for x in self.leaves]
        for node in self.nodes:
            xs = [values[i.index] if isinstance(i, Ref) else i for i in node.inputs]
            values.append(apply(node.op, xs, node.arg))
        return values

    def build(self) -> list[Value]:
        """Evaluate with microgradnn Values through the public API; leaves first, root last."""
        return self.run(Value, lambda op, xs, arg: VALUE_OPS[op](xs, arg))


VALUE_OPS: dict[str, Callable[[Sequence[Any], Any], Value]] = {
    "add": lambda xs, arg: xs[0] + xs[1],
    "sub": lambda xs, arg: xs[0] - xs[1],
    "mul": lambda xs, arg: xs[0] * xs[1],
    "div": lambda xs, arg: xs[0] / xs[1],
    "neg": lambda xs, arg: -xs[0],
    "pow": lambda xs, arg: xs[0] ** xs[1],
    "sum": lambda xs, arg: Value.sum(xs),
    "logsumexp": lambda xs, arg: Value.logsumexp(xs),
    "exp": lambda xs, arg: xs[0].exp(),
    "log": lambda xs, arg: xs[0].log(),
    "tanh": lambda xs, arg: xs[0].tanh(),
    "sigmoid": lambda xs, arg: xs[0].sigmoid(),
    "softplus": lambda xs, arg: xs[0].softplus(),
    "relu": lambda xs, arg: xs[0].relu(),
    "leaky_relu": lambda xs, arg: xs[0].leaky_relu(arg),
    "prelu": lambda xs, arg: xs[0].prelu(xs[1]),
    "abs": lambda xs, arg: abs(xs[0]),
    "step": lambda xs, arg: xs[0].step(),
    "sign": lambda xs, arg: xs[0].sign(),
    "hard_sigmoid": lambda xs, arg: xs[0].hard_sigmoid(),
}
"""Each op through the public API (operators and methods), on Values and plain numbers."""

DAG_OPS = tuple(VALUE_OPS)

_LIMIT = 1e4  # every value of a random DAG stays below this: no overflow, no cancellation blowup
_KINK_MARGIN = 1e-6  # two libms may round a value differently: keep off the kinks by more
_CONSTANTS = (2.0, 3.0, 0.5, -1.0, -0.5, 1.5, 2, -3)  # ints too: they must become floats
_SLOPES = (0.01, 0.2)


def _pow(a: float, b: float, exponent_is_value: bool) -> float | None:
    # d/db = a**b * ln(a) is nan for a <= 0: keep the base positive when the exponent is a Value.
    if (exponent_is_value or b != int(b)) and a <= 0.1:
        return None
    if abs(a) < 0.1 or abs(b) > 4 or abs(b * math.log(abs(a))) > math.log(_LIMIT):
        return None
    return float(a**b)


def _logsumexp(xs: Sequence[float]) -> float | None:
    # d/dx_i = e**(x_i - out): an ulp of out (which two libraries may round differently) is a
    # relative error of ulp(out) in every gradient, so keep the inputs where that ulp is small.
    m = max(xs)
    if max(abs(x) for x in xs) > 1e3:
        return None
    return m + math.log(math.fsum(math.exp(x - m) for x in xs))


def _float_eval(node: Node, values: Sequence[float]) -> float | None:
    """The node's value in plain floats, or None where the op is ill-conditioned for the test."""
    xs = [values[i.index] if isinstance(i, Ref) else float(i) for i in node.inputs]
    a = xs[0]
    if any(abs(a - k) <= _KINK_MARGIN for k in _KINKS.get(node.op, ())):
        return None
    table: dict[str, Callable[[], float | None]] = {
        "add": lambda: a + xs[1],
        "sub": lambda: a - xs[1],
        "mul": lambda: a * xs[1],
        "div": lambda: a / xs[1] if abs(xs[1]) > 0.1 else None,
        "neg": lambda: -a,
        "pow": lambda: _pow(a, xs[1], isinstance(node.inputs[1], Ref)),
        "sum": lambda: math.fsum(xs),
        "logsumexp": lambda: _logsumexp(xs),
        "exp": lambda: math.exp(a) if a < 8 else None,
        "log": lambda: math.log(a) if a > 0.1 else None,
        "tanh": lambda: math.tanh(a),
        "sigmoid": lambda: 0.5 * (1 + math.tanh(a / 2)),
        "softplus": lambda: max(a, 0.0) + math.log1p(math.exp(-abs(a))),
        "relu": lambda: max(a, 0.0),
        "leaky_relu": lambda: a if a > 0 else (node.arg or 0.0) * a,
        "prelu": lambda: (a if a > 0 else xs[1] * a) if abs(xs[1]) < 10 else None,
        "abs": lambda: abs(a),
        "step": lambda: float(a > 0),
        "sign": lambda: math.copysign(1.0, a),
        "hard_sigmoid": lambda: min(1.0, max(0.0, a + 0.5)),
    }
    out = table[node.op]()
    return out if out is not None and abs(out) < _LIMIT else None


def _options(op: str, i: Ref, j: Ref, c: float) -> list[Node]:
    """Every way the random DAG may apply ``op`` to values ``i``, ``j`` and constant ``c``."""
    if op in ("add", "sub", "mul", "div", "pow"):
        return [Node(op, (i, j)), Node(op, (i, c)), Node(op, (c, i))]
    if op in ("sum", "logsumexp"):
        return [Node(op, (i, j)), Node(op, (i, c, j))]
    if op == "prelu":
        return [Node(op, (i, j))]
    if op == "leaky_relu":
        return [Node(op, (i,), s) for s in _SLOPES]
    return [Node(op, (i,))]


@st.composite
def dags(
    draw: st.DrawFn, max_leaves: int = 4, max_nodes: int = 12, ops: Sequence[str] = DAG_OPS
) -> Dag:
    """Random well-conditioned expression DAGs in which some value is used more than once.

    Every value stays below 1e4 in magnitude and off every kink, denominators and log arguments
    stay above 0.1, so the engine and an oracle agree to ~1e-12 relative. Plain-number constants
    (some of them ints) appear on either side of binary ops. Every value that no node consumes
    is summed into the output, so every leaf has a gradient path.
    """
    leaves = tuple(draw(st.lists(finite(-2.0, 2.0), min_size=1, max_size=max_leaves)))
    values: list[float] = list(leaves)
    nodes: list[Node] = []
    for _ in range(draw(st.integers(1, max_nodes))):
        i = Ref(draw(st.integers(0, len(values) - 1)))
        j = Ref(draw(st.integers(0, len(values) - 1)))
        c = draw(st.sampled_from(_CONSTANTS))
        safe: dict[str, list[tuple[float, Node]]] = {}
        for op in ops:
            for node in _options(op, i, j, c):
                out = _float_eval(node, values)
                if out is not None:
                    safe.setdefault(op, []).append((out, node))
        if not safe:
            continue
        out, node = draw(st.sampled_from(safe[draw(st.sampled_from(sorted(safe)))]))
        values.append(out)
        nodes.append(node)
    last = Ref(len(values) - 1)
    if max(Dag(leaves, tuple(nodes)).uses().values(), default=0) < 2:
        nodes.append(Node("add", (last, last)))
        values.append(2 * values[last.index])
        last = Ref(len(values) - 1)
    uses = Dag(leaves, tuple(nodes)).uses()
    sinks = [Ref(k) for k in range(len(values) - 1) if uses[k] == 0]
    if sinks:
        nodes.append(Node("sum", (*sinks, last)))
    return Dag(leaves, tuple(nodes))
