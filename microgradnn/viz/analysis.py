r"""What a picture says about each node and edge of a graph, shared by the pictures and the stepper.

:func:`analyze` walks the graph behind a Value once: the topological order (the pictures' node
names ``v0``, ``v1``, ... follow it), each node's display name and kind (input, parameter,
computed value, output), each edge's local derivative from the op table and who consumes each
node. The text functions then say, for a :class:`State` of the gradients (the graph's own after
``backward()``, or one step of the stepper):

- on a node, its grad and how it is summed from its uses (``= 3 + 3``, ``…`` for a use whose
  step has not run yet);
- on an edge, the local derivative with its formula (``∂o/∂n = 1 - o² = 0.5``) and the
  chain-rule product grad(out) × local it adds into the input's grad (``1 × 0.5 = 0.5``),
  coloured by sign.

>>> from microgradnn import Value
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.label = "y"
>>> y.backward()
>>> a = analyze(y)
>>> a.names, a.kinds
(['x', 'y'], ['input', 'output'])
>>> edge_local_text(a, 1, 0, ".4g", formula=True)
'∂y/∂x (arg 1) = x = 3'
>>> edge_product_text(a, 1, 0, final_state(a), ".4g"), sum_text(a, 0, final_state(a), ".4g")
('1 × 3 = 3', '= 3 + 3')
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from microgradnn._checks import describe
from microgradnn.engine import Value
from microgradnn.viz.text import fmt_num, wrap_name

__all__ = [
    "COLORS",
    "HIGHLIGHT",
    "KIND_TEXT",
    "NEGATIVE",
    "POSITIVE",
    "ZERO",
    "Analysis",
    "Highlight",
    "State",
    "analyze",
    "check_root",
    "derivative_formula",
    "derivative_symbol",
    "edge_amount",
    "edge_color",
    "edge_local_text",
    "edge_product_text",
    "final_state",
    "grad_is_final",
    "grad_text",
    "has_sum_cell",
    "local_formula",
    "op_expression",
    "residual",
    "sign_color",
    "sum_text",
]

COLORS = {
    "input": "#cfe2ff",
    "param": "#ffe3a3",
    "output": "#c3ecd0",
    "value": "#eef0f3",
    "op": "#ffffff",
    "const": "#868e96",
    "group": "#e5dbff",
}
"""Fill colour per kind of node (and for op nodes, constants and neuron/layer boxes)."""

KIND_TEXT = {
    "input": "input (a leaf you created)",
    "param": "parameter (a leaf the optimizer updates)",
    "output": "output (where backward() starts)",
    "value": "computed value",
}
"""What each kind of node is, in words (tooltips)."""

POSITIVE, NEGATIVE, ZERO = "#1c5fb8", "#c0392b", "#6c757d"
"""Colours of a gradient contribution by sign."""

HIGHLIGHT = "#e8590c"
"""The colour of what a stepper frame emphasises."""

_PARAM_LABEL = re.compile(r"^(w|b|W|B|bias|weight|theta|θ)(\d+|_\w*|\[[^\]]*\])?$")


def check_root(root: object) -> Value:
    """``root`` if it is a :class:`~microgradnn.Value`; a TypeError naming what came instead."""
    if type(root) is not Value:
        hint = ""
        if isinstance(root, (list, tuple)):
            hint = " (for several outputs, draw their loss, or draw each Value separately)"
        raise TypeError(f"root: expected a Value, got {describe(root)}{hint}")
    return root


# -- formulas ------------------------------------------------------------------------------------


def op_expression(node: Value, names: Sequence[str]) -> str:
    """How a node was computed, in the learners' notation: ``x * w``, ``tanh(n)``, ``Σ(a, b)``.

    Args:
        node: A non-leaf Value.
        names: One display name per entry of ``node._prev`` (constants already formatted).
    """
    op = node._op
    if op is None:
        return ""
    if op.infix is not None or op.prefix is not None:
        return op.expression([wrap_name(n) for n in names])
    return op.expression(list(names))


_FORMULA_TOKEN = re.compile(r"(?<![A-Za-z_])(a|b|out)(?![A-Za-z_])")


def local_formula(node: Value, k: int, names: Sequence[str], out_name: str) -> str:
    """The op table's ``local_text`` for input ``k`` of ``node``, with the learner's names.

    ``a``/``b`` become the names of the first/second input, ``out`` the node's own name.
    """
    op = node._op
    if op is None or not op.local_text:
        return ""
    texts = op.local_text
    text = texts[k] if k < len(texts) else texts[0]

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "a":
            return wrap_name(names[0])
        if tok == "b":
            return wrap_name(names[1]) if len(names) > 1 else tok
        return wrap_name(out_name)

    return _FORMULA_TOKEN.sub(repl, text)


# -- the analysis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """A graph in topological order with what the pictures show about each node.

    Attributes:
        order: Every Value of the graph, each after its inputs; the root is last.
        index: ``id(value)`` -> position in ``order``.
        names: Per node, its label, or ``#i`` (its position) when unlabeled.
        kinds: Per node, ``"input"``, ``"param"``, ``"value"`` (computed) or ``"output"``.
        local_grads: Per node, the local derivative d(node)/d(input) for each entry of its
            ``_prev`` (empty for leaves), from the op table.
        consumers: Per node, ``(consumer index, argument position)`` in the order backward()
            adds them.
        param_names: ``id(parameter)`` -> the parameter's dotted name in the model (empty
            without a model).
    """

    order: list[Value]
    index: dict[int, int]
    names: list[str]
    kinds: list[str]
    local_grads: list[tuple[float, ...]]
    consumers: list[list[tuple[int, int]]]
    param_names: Mapping[int, str]

    @property
    def root(self) -> int:
        """Index of the output (last in topological order)."""
        return len(self.order) - 1

    def prev_names(self, j: int, fmt: str) -> list[str]:
        """Display names of node ``j``'s inputs (constants formatted as numbers)."""
        return [
            self.names[self.index[id(p)]] if type(p) is Value else fmt_num(p, fmt)
            for p in self.order[j]._prev
        ]

    def expression(self, j: int, fmt: str) -> str:
        """How node ``j`` was computed from its inputs' names: ``x1 * w1``, ``tanh(n)``."""
        return op_expression(self.order[j], self.prev_names(j, fmt))


def analyze(root: Value, param_names: Mapping[int, str] | None = None) -> Analysis:
    """Topological order, display names, kinds, local derivatives and consumers of a graph.

    Args:
        root: The graph's output.
        param_names: The model's parameters (``id`` -> dotted name). Given, exactly these leaves
            are parameters; without it, leaves labeled like ``w1``, ``b`` or ``theta`` are.
    """
    order = root.topological_order()
    index = {id(v): i for i, v in enumerate(order)}
    consumers: list[list[tuple[int, int]]] = [[] for _ in order]
    for j in range(len(order) - 1, -1, -1):
        for k, p in enumerate(order[j]._prev):
            if type(p) is Value:
                consumers[index[id(p)]].append((j, k))
    kinds = []
    for i, v in enumerate(order):
        if i == len(order) - 1:
            kinds.append("output")
        elif v._op is not None:
            kinds.append("value")
        elif param_names is not None:
            kinds.append("param" if id(v) in param_names else "input")
        else:
            kinds.append("param" if _PARAM_LABEL.match(v.label) else "input")
    return Analysis(
        order=order,
        index=index,
        names=[v.label or f"#{i}" for i, v in enumerate(order)],
        kinds=kinds,
        local_grads=[v.local_grads() for v in order],
        consumers=consumers,
        param_names=dict(param_names or {}),
    )


@dataclass(frozen=True)
class State:
    """Gradients to show: the graph's own (``draw_dot``) or a step of the stepper.

    Attributes:
        grads: Per node, its grad.
        processed: Per node, whether its ``_backward()`` has run (so its grad is final and its
            edges used).
        seeded: Whether the output's grad has been seeded.
        exact: True for a simulated pass from zero: grads are exactly the shown sums (no
            leftover from earlier passes).
    """

    grads: Sequence[float]
    processed: Sequence[bool]
    seeded: bool = True
    exact: bool = False


@dataclass(frozen=True)
class Highlight:
    """What a stepper frame emphasises: the node that ran, the edges it used, grads it changed."""

    nodes: frozenset[int] = field(default_factory=frozenset)
    edges: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    changed: frozenset[int] = field(default_factory=frozenset)


def final_state(a: Analysis) -> State:
    """The state of the graph as it is now (after a ``backward()``)."""
    return State(
        grads=[v.grad for v in a.order],
        processed=[v._op is not None for v in a.order],
    )


def grad_text(a: Analysis, i: int, state: State, fmt: str) -> str:
    """The grad cell of node ``i``: ``grad 0.5``."""
    return f"grad {fmt_num(state.grads[i], fmt)}"


def grad_is_final(a: Analysis, i: int, state: State) -> bool:
    """Whether every use of node ``i`` has passed its gradient back (the output always has)."""
    return i == a.root or all(state.processed[j] for j, _ in a.consumers[i])


def edge_amount(a: Analysis, j: int, k: int, state: State) -> float:
    """grad(out) × local: what input ``k`` of node ``j`` receives from it."""
    return a.local_grads[j][k] * state.grads[j]


def residual(a: Analysis, i: int, state: State) -> float:
    """Node ``i``'s grad minus what its uses added: a leaf's earlier passes, or other uses."""
    total = 0.0
    for j, k in a.consumers[i]:
        total += edge_amount(a, j, k, state)
    return state.grads[i] - total


def has_sum_cell(a: Analysis, i: int, state: State) -> bool:
    """Whether node ``i`` shows how its grad is summed (used twice, seed, or leftover)."""
    if i == a.root:
        return True
    cons = a.consumers[i]
    if len(cons) >= 2:
        return True
    if state.exact or not cons or not all(state.processed[j] for j, _ in cons):
        return False
    return residual(a, i, state) != 0.0


def _signed_terms(terms: list[str]) -> str:
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:]}" if t.startswith("-") else f" + {t}"
    return out


def sum_text(a: Analysis, i: int, state: State, fmt: str) -> str:
    """``= 3 + 3``: node ``i``'s grad as the sum of what each use added (``…`` = not yet)."""
    if i == a.root:
        return "= seed" if state.seeded else "seed: not yet"
    terms = [
        fmt_num(edge_amount(a, j, k, state), fmt) if state.processed[j] else "…"
        for j, k in a.consumers[i]
    ]
    if not state.exact and terms and "…" not in terms:
        r = residual(a, i, state)
        if r != 0.0:
            where = "earlier" if a.order[i]._op is None else "elsewhere"
            terms.insert(0, f"{fmt_num(r, fmt)} ({where})")
    return "= " + _signed_terms(terms) if terms else ""


def derivative_symbol(a: Analysis, j: int, k: int, fmt: str) -> str:
    """``∂o/∂n``: the local derivative of node ``j`` with respect to its input ``k``."""
    return f"∂{wrap_name(a.names[j])}/∂{wrap_name(a.prev_names(j, fmt)[k])}"


def derivative_formula(a: Analysis, j: int, k: int, fmt: str) -> str:
    """``1 - o²``: the op table's formula for that derivative in the graph's names ("" if none)."""
    return local_formula(a.order[j], k, a.prev_names(j, fmt), a.names[j])


def edge_local_text(a: Analysis, j: int, k: int, fmt: str, formula: bool) -> str:
    """``∂n/∂x = w = -3``: the local derivative of node ``j`` w.r.t. its input ``k``.

    An input used twice by the same op (``x * x``) says which argument the edge is.
    """
    node = a.order[j]
    p = node._prev[k]
    head = derivative_symbol(a, j, k, fmt)
    if type(p) is Value and sum(1 for q in node._prev if q is p) > 1:
        head += f" (arg {k + 1})"
    num = fmt_num(a.local_grads[j][k], fmt)
    if formula:
        text = derivative_formula(a, j, k, fmt)
        if text and text != num:
            return f"{head} = {text} = {num}"
    return f"{head} = {num}"


def edge_product_text(a: Analysis, j: int, k: int, state: State, fmt: str) -> str:
    """``0.5 × -3 = -1.5``: grad(out) × local, what this edge adds into the input's grad."""
    if not state.processed[j]:
        return "…"
    local = a.local_grads[j][k]
    g = state.grads[j]
    return f"{fmt_num(g, fmt)} × {fmt_num(local, fmt)} = {fmt_num(local * g, fmt)}"


def edge_color(a: Analysis, j: int, k: int, state: State) -> str:
    """The colour of an edge's product text: by the sign of its amount, grey until it is used."""
    return sign_color(edge_amount(a, j, k, state)) if state.processed[j] else ZERO


def sign_color(x: float) -> str:
    """The colour of a gradient contribution: blue if positive, red if negative, grey if 0."""
    if x > 0.0:
        return POSITIVE
    if x < 0.0:
        return NEGATIVE
    return ZERO
