"""Random expression DAGs over the whole op table, for hypothesis.

A :class:`Dag` is a small program: some leaf numbers, then nodes that each apply one op of
:data:`microgradnn.OPS` to earlier values (or plain-number constants). The same program runs on
:class:`~microgradnn.Value` (:meth:`Dag.build`) and on any other backend (:meth:`Dag.run`, e.g.
PyTorch through :attr:`OpInfo.torch <tests.op_db.OpInfo>`), so the two results can be compared
without trusting the engine's own graph.

Everything the DAGs know about an op (how to apply it, where it is well conditioned, its float
reference and kinks) is read from its record in :mod:`tests.op_db`, which also holds the number
strategies (``finite``, ``magnitude``, ``avoiding``) the op domains are written with.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from microgradnn import Value
from tests.op_db import OP_DB, RECORDS, finite

__all__ = ["DAG_OPS", "Dag", "Node", "Ref", "dags"]


@dataclass(frozen=True)
class Ref:
    """An input that is an earlier value of the program: leaf ``i``, or node ``i - n_leaves``."""

    index: int


@dataclass(frozen=True)
class Node:
    """One op applied to earlier values (:class:`Ref`) and plain-number constants, in order."""

    op: str
    inputs: tuple[Ref | float, ...]


@dataclass(frozen=True)
class Dag:
    """A random expression: leaf numbers, then nodes in order; the last node is the output."""

    leaves: tuple[float, ...]
    nodes: tuple[Node, ...]

    def uses(self) -> Counter[int]:
        """How many times each value (by index) is an input of a later node."""
        return Counter(i.index for n in self.nodes for i in n.inputs if isinstance(i, Ref))

    def run(
        self, make_leaf: Callable[[float], Any], apply: Callable[[str, list[Any]], Any]
    ) -> list[Any]:
        """Evaluate on any backend: ``apply(op_name, inputs)``; returns every value."""
        values = [make_leaf(x) for x in self.leaves]
        for node in self.nodes:
            xs = [values[i.index] if isinstance(i, Ref) else i for i in node.inputs]
            values.append(apply(node.op, xs))
        return values

    def build(self, make_leaf: Callable[[float], Value] = Value) -> list[Value]:
        """Evaluate with microgradnn Values through the public API; leaves first, root last.

        Args:
            make_leaf: The Value for each leaf number (e.g. the traced inputs of a compiled
                graph, ignoring the number).
        """
        return self.run(make_leaf, lambda op, xs: OP_DB[op].apply(xs))


DAG_OPS = tuple(info.name for info in RECORDS if info.dag_inputs is not None)
"""The ops a random DAG may apply (every op whose record says how)."""

_LIMIT = 1e4  # every value of a random DAG stays below this: no overflow, no cancellation blowup
_KINK_MARGIN = 1e-6  # two libms may round a value differently: keep off the kinks by more
_CONSTANTS = (2.0, 3.0, 0.5, -1.0, -0.5, 1.5, 2, -3)  # ints too: they must become floats


def _float_eval(node: Node, values: Sequence[float]) -> float | None:
    """The node's value from its op's float reference, or None where the test is ill-conditioned."""
    info = OP_DB[node.op]
    if info.reference is None:
        return None
    xs = [values[i.index] if isinstance(i, Ref) else float(i) for i in node.inputs]
    if any(abs(xs[0] - k) <= _KINK_MARGIN for k in info.kinks):
        return None
    if not info.conditioned(xs, [isinstance(i, Ref) for i in node.inputs]):
        return None
    try:
        out = info.reference(xs)
    except (ArithmeticError, ValueError):  # outside the reference's domain
        return None
    return out if abs(out) < _LIMIT else None


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
            ways = OP_DB[op].dag_inputs
            for inputs in ways(i, j, c) if ways is not None else ():
                node = Node(op, inputs)
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
