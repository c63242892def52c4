r"""What a picture says about each node and edge of a graph, shared by the pictures and the stepper.

:func:`analyze` walks the graph behind a Value once: the topological order (the pictures' node
names ``v0``, ``v1``, ... follow it), each node's display name and kind (input, parameter,
computed value, output), each edge's local derivative from the op table and who consumes each
node. A node is named for the learner (:attr:`Analysis.names`): a model's parameter by its place
in the model (``L0.N2.w1``), a labeled node by its label, any other by its expression over its
inputs' names (``x1*w1 + x2*w2``, ``tanh(n)``, ``2*x``), never by an internal number. The text
functions then say, for a :class:`State` of the gradients (the graph's own after
``backward()``, or one step of the stepper):

- on a node, its grad (``grad ?`` while no ``backward()`` has reached it: not computed yet, which
  is not a computed 0) and how it is summed from its uses (``= 3 + 3``, ``…`` for a use whose
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
from functools import cached_property
from typing import Union

from microgradnn import learner
from microgradnn._checks import describe
from microgradnn.engine import Value
from microgradnn.ops import Op
from microgradnn.viz.text import ELLIPSIS, fill_formula, fmt_num, is_simple_name, wrap_name

__all__ = [
    "COLORS",
    "EDGE_NAME_WIDTH",
    "HIGHLIGHT",
    "KIND_TEXT",
    "NAME_WIDTH",
    "NEGATIVE",
    "NOT_COMPUTED",
    "NOT_COMPUTED_TEXT",
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
    "expression_text",
    "final_state",
    "grad_detail",
    "grad_is_final",
    "grad_note",
    "grad_text",
    "has_sum_cell",
    "is_computed",
    "local_formula",
    "name_precedence",
    "residual",
    "short_name",
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
    """``root`` if it is a :class:`~microgradnn.Value`; a TypeError naming what came instead.

    A learner's own micrograd-style Value (``data``, ``grad``, ``_prev``, ``_op``,
    ``_backward``) comes back as its mirror in microgradnn Values, with the learner's data and
    grads (:func:`microgradnn.learner.mirror`).
    """
    if type(root) is Value:
        return root
    if learner.is_learner_value(root):
        return learner.mirror(root).root
    hint = ""
    if isinstance(root, (list, tuple)):
        hint = " (for several outputs, draw their loss, or draw each Value separately)"
    raise TypeError(
        f"root: expected a Value, got {describe(root)}{hint} (or your own micrograd-style "
        "Value: data, grad, _prev, _op and a _backward closure)"
    )


# -- names ---------------------------------------------------------------------------------------

NAME_WIDTH = 24
"""Longest name an unlabeled node is given (longer expressions are shortened with ``…``)."""

EDGE_NAME_WIDTH = 16
"""Longest name of an unlabeled node inside an edge's derivative text (``∂out/∂in = …``)."""

_CONTAINERS = {"layers": "L", "neurons": "N"}
_GREEK = {"alpha": "α"}


def short_name(path: str) -> str:
    """A parameter's (or module's) dotted name from ``named_parameters()`` in short form.

    ``layers.<i>`` becomes ``L<i>``, ``neurons.<j>`` ``N<j>``, any other ``name.<k>`` ``name<k>``;
    an activation's parameters drop the ``activation`` step and ``alpha`` is written ``α``.

    >>> short_name("layers.0.neurons.2.w.1"), short_name("layers.1.neurons.0.b")
    ('L0.N2.w1', 'L1.N0.b')
    >>> short_name("layers.0.neurons.2.activation.alpha"), short_name("w.0")
    ('L0.N2.α', 'w0')
    """
    parts = path.split(".")
    out: list[str] = []
    i = 0
    while i < len(parts):
        part = parts[i]
        nxt = parts[i + 1] if i + 1 < len(parts) else None
        if nxt is not None and nxt.isdigit() and not part.isdigit():
            out.append(_CONTAINERS.get(part, part) + nxt)
            i += 2
            continue
        if part != "activation" or nxt is None:
            out.append(_GREEK.get(part, part))
        i += 1
    return ".".join(out)


_INFIX_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2, "%": 2, "@": 2, "**": 4}
_TIGHT = {"*", "/", "**"}
_ATOM, _PREFIX = 5, 3

# One input of an op's expression: (node index, or a constant's (text, precedence)), the least
# precedence it shows without parentheses, and whether a leading minus needs them (a + (-b)).
_Slot = tuple[Union[int, tuple[str, int]], int, bool]
_Layout = list[Union[str, _Slot]]


def name_precedence(name: str) -> int:
    """How tightly a name binds in an expression: 5 for one token, 3 for ``-2``, 0 otherwise."""
    if is_simple_name(name):
        return _PREFIX if name.startswith("-") else _ATOM
    return 0


def _layout(op: Op, kids: Sequence[int | tuple[str, int]]) -> tuple[_Layout, int]:
    """An op's expression as texts and slots for its inputs, and the expression's precedence.

    ``*`` ``/`` bind tighter than ``+`` ``-`` and are written without spaces, ``**`` binds
    tighter still; a call form is the op row's own (``Σ(a, b)``).
    """
    if op.infix is not None and len(kids) == 2:
        p = _INFIX_PREC.get(op.infix, 0)
        sep = op.infix if op.infix in _TIGHT else f" {op.infix} "
        if op.infix == "**" or p == 0:
            return [(kids[0], _ATOM, False), sep, (kids[1], _ATOM, False)], p
        right = p + 1 if op.infix in ("-", "/") else p
        return [(kids[0], p, False), sep, (kids[1], right, True)], p
    if op.prefix is not None and len(kids) == 1:
        return [op.prefix, (kids[0], _ATOM, False)], _PREFIX
    head, _, tail = op.expression(["\0"]).partition("\0")
    parts: _Layout = [head]
    for k, kid in enumerate(kids):
        if k:
            parts.append(", ")
        parts.append((kid, 0, False))
    parts.append(tail)
    return parts, _ATOM


def _wrap(slot: _Slot, text: str, prec: int) -> str:
    if text != ELLIPSIS and (prec < slot[1] or (slot[2] and prec == _PREFIX)):
        return f"({text})"
    return text


def _slots(layout: _Layout) -> list[_Slot]:
    return [s for s in layout if not isinstance(s, str)]


def _fixed(layout: _Layout) -> int:
    return sum(len(s) for s in layout if isinstance(s, str))


def _fill(layout: _Layout, texts: Sequence[str]) -> str:
    it = iter(texts)
    return "".join(s if isinstance(s, str) else next(it) for s in layout)


def expression_text(op: Op, parts: Sequence[tuple[str, int]]) -> str:
    """How a formula writes ``op`` over its inputs' ``(name, precedence)``: ``x1*w1 + b``.

    Parentheses appear only where they change the meaning:

    >>> from microgradnn.ops import OPS
    >>> expression_text(OPS["mul"], [("a + b", 1), ("c", 5)])
    '(a + b)*c'
    >>> expression_text(OPS["add"], [("a*b", 2), ("c", 5)])
    'a*b + c'
    >>> expression_text(OPS["tanh"], [("n", 5)])
    'tanh(n)'
    """
    layout, _ = _layout(op, list(parts))
    return _fill(layout, [_wrap(s, *s[0]) for s in _slots(layout) if isinstance(s[0], tuple)])


class _Namer:
    """Names every node of a graph in topological order (see :attr:`Analysis.names`)."""

    def __init__(self, order: list[Value], index: dict[int, int], params: Mapping[int, str]):
        self.order = order
        self.index = index
        self.names: list[str] = []
        self.precs: list[int] = []
        self.memo: dict[tuple[int, int], tuple[str, int]] = {}
        self.params = {k: short_name(v) for k, v in params.items()}
        labels = [v.label for v in order if v.label and id(v) not in self.params]
        self.taken = set(labels) | set(self.params.values())
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        self.repeated = {label for label, c in counts.items() if c > 1}
        self.prefixes: list[str | None] = []
        self.inputs = 0

    def run(self) -> None:
        qualify = bool(self.params and self.repeated)
        for i, v in enumerate(self.order):
            if qualify:
                self.prefixes.append(self._prefix(v))
            name, prec = self._name(i, v, qualify)
            self.names.append(name)
            self.precs.append(prec)

    def briefly(self, budget: int) -> list[str]:
        """Every name within ``budget`` characters, where it is an expression."""
        return [
            name if len(name) <= budget else self.render(i, budget)[0]
            for i, name in enumerate(self.names)
        ]

    def _prefix(self, v: Value) -> str | None:
        """The neuron (``L0.N2``) a node belongs to, from the parameters it reads (or None)."""
        pid = self.params.get(id(v))
        if pid is not None:
            return pid.rpartition(".")[0]
        kids = [self.index[id(p)] for p in v._prev if type(p) is Value]
        direct = {
            self.params[id(self.order[c])].rpartition(".")[0]
            for c in kids
            if id(self.order[c]) in self.params
        }
        found = direct or {p for p in (self.prefixes[c] for c in kids) if p is not None}
        return found.pop() if len(found) == 1 else None

    def _name(self, i: int, v: Value, qualify: bool) -> tuple[str, int]:
        pname = self.params.get(id(v))
        if pname is not None:
            return pname, name_precedence(pname)
        if v.label:
            label = v.label
            prefix = self.prefixes[i] if qualify else None
            if prefix and label in self.repeated:
                label = f"{prefix}.{label}"
            return label, name_precedence(label)
        op = v._op
        if op is None:
            while f"x{self.inputs}" in self.taken:
                self.inputs += 1
            name = f"x{self.inputs}"
            self.inputs += 1
            return name, _ATOM
        layout, prec = _layout(op, self.kids(i))
        full = _fill(layout, [_wrap(s, *self.part(s[0])) for s in _slots(layout)])
        if len(full) <= NAME_WIDTH:
            return full, prec
        return self._render(i, NAME_WIDTH)

    def kids(self, i: int) -> list[int | tuple[str, int]]:
        out: list[int | tuple[str, int]] = []
        for p in self.order[i]._prev:
            if type(p) is Value:
                out.append(self.index[id(p)])
            else:
                text = fmt_num(float(p), ".4g")
                out.append((text, name_precedence(text)))
        return out

    def part(self, child: int | tuple[str, int]) -> tuple[str, int]:
        return child if isinstance(child, tuple) else (self.names[child], self.precs[child])

    def _shortens(self, i: int) -> bool:
        v = self.order[i]
        return v._op is not None and not v.label and id(v) not in self.params

    def render(self, i: int, budget: int) -> tuple[str, int]:
        """Node ``i``'s name, its expression shortened to ``budget`` characters if need be."""
        if len(self.names[i]) <= budget or not self._shortens(i):
            return self.names[i], self.precs[i]
        key = (i, budget)
        if key not in self.memo:
            self.memo[key] = self._render(i, budget)
        return self.memo[key]

    def _render(self, i: int, budget: int) -> tuple[str, int]:
        op = self.order[i]._op
        assert op is not None
        layout, prec = _layout(op, self.kids(i))
        for form, shorten in self._forms(op, layout):
            slots = _slots(form)
            if shorten:
                texts = self._allot(slots, budget - _fixed(form))
                if texts is None or all(t == ELLIPSIS for t in texts):
                    continue
            else:
                texts = [_wrap(s, *self.part(s[0])) for s in slots]
            text = _fill(form, texts)
            if len(text) <= budget:
                return text, prec
        head, tail = layout[0], layout[-1]
        if isinstance(head, str) and isinstance(tail, str) and len(head + tail) < budget:
            return f"{head}{ELLIPSIS}{tail}", _ATOM  # tanh(…)
        return ELLIPSIS, _ATOM

    def _forms(self, op: Op, layout: _Layout) -> list[tuple[_Layout, bool]]:
        """Shorter forms of an expression, best first, with inputs whole (False) or shortened.

        A chain of ``+`` and ``-`` (or ``*`` and ``/``) is read as one list of terms and a call
        of many inputs as its list of inputs; either keeps its first and last (``a + … + z``,
        ``Σ(a, …, z)``), else its first (a name reads from its start), else its last.
        """
        if op.infix is not None and op.infix != "**" and _INFIX_PREC.get(op.infix, 0) > 0:
            chain = self._chain(_INFIX_PREC[op.infix], layout)
            first, sep_first, sep_last, last = chain[0], chain[1], chain[-2], chain[-1]
            assert isinstance(sep_first, str)
            assert isinstance(sep_last, str)
            ends: _Layout = [first, f"{sep_first}{ELLIPSIS}{sep_last}", last]
            head: _Layout = [first, sep_first + ELLIPSIS]
            tail: _Layout = [ELLIPSIS + sep_last, last]
            if len(chain) > 3:
                return [
                    (ends, False),
                    (head, False),
                    (layout, True),
                    (head, True),
                    (ends, True),
                    (tail, False),
                ]
            return [(layout, True), (head, False), (head, True), (tail, False)]
        slots = _slots(layout)
        if op.infix is None and op.prefix is None and len(slots) > 2:
            start, end = layout[0], layout[-1]
            assert isinstance(start, str)
            assert isinstance(end, str)
            ends = [start, slots[0], f", {ELLIPSIS}, ", slots[-1], end]
            head = [start, slots[0], f", {ELLIPSIS}{end}"]
            return [
                (ends, False),
                (head, False),
                (head, True),
                (ends, True),
                ([f"{start}{ELLIPSIS}, ", slots[-1], end], False),
            ]
        return [(layout, True)]

    def _chain(self, level: int, layout: _Layout) -> _Layout:
        """The terms of a left-nested chain of ops of one precedence level, as one layout."""
        chain = layout
        for _ in range(64):  # a longer chain is cut here: its head is then shortened whole
            head = chain[0]
            assert not isinstance(head, str)
            c = head[0]
            if isinstance(c, tuple) or not self._shortens(c):
                break
            sub = self.order[c]._op
            assert sub is not None
            if sub.infix is None or _INFIX_PREC.get(sub.infix, 0) != level:
                break
            chain = _layout(sub, self.kids(c))[0] + chain[1:]
        return chain

    def _allot(self, slots: list[_Slot], room: int) -> list[str] | None:
        """Each input's name within a fair share of ``room`` (short names first).

        An expression may be shortened, down to ``…``; a label never is (None if one does not
        fit).
        """
        texts = [""] * len(slots)
        order = sorted(range(len(slots)), key=lambda k: len(self.part(slots[k][0])[0]))
        for n, k in enumerate(order):
            share = max(room // (len(slots) - n), 0)
            slot = slots[k]
            c = slot[0]
            text, prec = self.part(c)
            paren = len(_wrap(slot, text, prec)) - len(text)
            if len(text) + paren > share:
                if isinstance(c, tuple) or not self._shortens(c):
                    return None
                text, prec = self.render(c, share - paren)
                if len(text) + paren > share:
                    text, prec = ELLIPSIS, _ATOM
            texts[k] = _wrap(slot, text, prec)
            room -= len(texts[k])
        return texts


def local_formula(
    node: Value, k: int, names: Sequence[str], out_name: str, fmt: str = ".4g"
) -> str:
    """The op table's ``local_text`` for input ``k`` of ``node``, with the learner's names.

    ``a``/``b`` become the first/second input (its name, or a constant's number), ``out`` the
    node's own name; constants are then worked out (``x**2``: ``2·x``, not ``2·x^(2-1)``).
    """
    op = node._op
    if op is None or not op.local_text:
        return ""
    texts = op.local_text
    text = texts[k] if k < len(texts) else texts[0]
    named: dict[str, str] = {"out": out_name}
    constants: dict[str, float] = {}
    if not op.variadic:
        for token, p, name in zip(("a", "b"), node._prev, names, strict=False):
            if type(p) is Value:
                named[token] = name
            else:
                constants[token] = float(p)
    return fill_formula(text, named, constants, fmt)


# -- the analysis --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Analysis:
    """A graph in topological order with what the pictures show about each node.

    The names are worked out on first use, so a graph too big to draw is refused at once.

    Attributes:
        order: Every Value of the graph, each after its inputs; the root is last.
        index: ``id(value)`` -> position in ``order``.
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
    kinds: list[str]
    local_grads: list[tuple[float, ...]]
    consumers: list[list[tuple[int, int]]]
    param_names: Mapping[int, str]

    @cached_property
    def _namer(self) -> _Namer:
        namer = _Namer(self.order, self.index, self.param_names)
        namer.run()
        return namer

    @cached_property
    def names(self) -> list[str]:
        """Per node, what the pictures call it (deterministic: from labels and graph order).

        A parameter of the model is its short name there (``L0.N2.w1``, :func:`short_name`);
        a labeled node its label, qualified by its neuron (``L0.N2.z``) where the model's
        neurons repeat it; an unlabeled leaf ``x0``, ``x1``, ... in graph order; any other node
        its expression over its inputs' names (``x1*w1 + b``, ``tanh(n)``, ``2*x``), shortened
        with ``…`` beyond :data:`NAME_WIDTH` characters (``Σ(x1*w1, …, b)``).
        """
        return self._namer.names

    @cached_property
    def precedence(self) -> list[int]:
        """Per name, how tightly it binds inside a longer expression.

        5: one token, 4: ``**``, 3: unary minus, 2: ``*`` ``/``, 1: ``+`` ``-``, 0: unknown; so
        parentheses appear exactly where needed.
        """
        return self._namer.precs

    @cached_property
    def edge_names(self) -> list[str]:
        """Per node, its name as edge texts write it (at most :data:`EDGE_NAME_WIDTH` long).

        An expression is shortened there (``∂tanh(x1*w1 + …)/∂(x1*w1 + … + b)``), so that a
        derivative's formula stays readable on its edge.
        """
        return self._namer.briefly(EDGE_NAME_WIDTH)

    @property
    def root(self) -> int:
        """Index of the output (last in topological order)."""
        return len(self.order) - 1

    def prev_names(self, j: int, fmt: str, edge: bool = False) -> list[str]:
        """Display names of node ``j``'s inputs (constants formatted as numbers).

        ``edge``: as edge texts write them (:attr:`edge_names`).
        """
        names = self.edge_names if edge else self.names
        return [
            names[self.index[id(p)]] if type(p) is Value else fmt_num(p, fmt)
            for p in self.order[j]._prev
        ]

    def prev_parts(self, j: int, fmt: str) -> list[tuple[str, int]]:
        """Node ``j``'s inputs as ``(name, precedence)``, constants formatted as numbers."""
        out = []
        for p in self.order[j]._prev:
            if type(p) is Value:
                i = self.index[id(p)]
                out.append((self.names[i], self.precedence[i]))
            else:
                text = fmt_num(float(p), fmt)
                out.append((text, name_precedence(text)))
        return out

    def expression(self, j: int, fmt: str) -> str:
        """How node ``j`` was computed from its inputs' names: ``x1*w1``, ``tanh(n)``."""
        op = self.order[j]._op
        return "" if op is None else expression_text(op, self.prev_parts(j, fmt))

    def definition(self, j: int, fmt: str) -> str:
        """``n = x1*w1 + b``: node ``j``'s name and how it was computed (once, if the same)."""
        expr = self.expression(j, fmt)
        name = self.names[j]
        if not expr or expr == name:
            return expr or name
        return f"{name} = {expr}"


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
        computed: Per node, whether a ``backward()`` has reached it
            (:attr:`Value.grad_computed <microgradnn.Value.grad_computed>`); a grad no pass has
            reached is shown as not computed yet, never as 0. None: every grad is a result (the
            stepper's simulated pass, where backward() has set each to 0 before adding).
    """

    grads: Sequence[float]
    processed: Sequence[bool]
    seeded: bool = True
    exact: bool = False
    computed: Sequence[bool] | None = None


@dataclass(frozen=True)
class Highlight:
    """What a stepper frame emphasises: the node that ran, the edges it used, grads it changed."""

    nodes: frozenset[int] = field(default_factory=frozenset)
    edges: frozenset[tuple[int, int]] = field(default_factory=frozenset)
    changed: frozenset[int] = field(default_factory=frozenset)


def final_state(a: Analysis) -> State:
    """The state of the graph as it is now: what the last ``backward()`` reached, if any."""
    computed = [v.grad_computed for v in a.order]
    return State(
        grads=[v.grad for v in a.order],
        processed=[v._op is not None and c for v, c in zip(a.order, computed, strict=True)],
        seeded=computed[-1],
        computed=computed,
    )


NOT_COMPUTED = "?"
"""What a grad cell shows for a grad no ``backward()`` has reached (``grad ?``)."""

NOT_COMPUTED_TEXT = "not computed yet: call backward() on the output first"
"""What :data:`NOT_COMPUTED` means, for legends and tooltips."""


def is_computed(state: State, i: int) -> bool:
    """Whether node ``i``'s grad is a result of ``backward()`` (a computed 0 included)."""
    return state.computed is None or bool(state.computed[i])


def grad_text(a: Analysis, i: int, state: State, fmt: str) -> str:
    """The grad cell of node ``i``: ``grad 0.5``, or ``grad ?`` before any backward() reached it.

    A question mark, not a dash: "still to be found" is the lesson (a dash reads as "has no
    gradient", which a constant is).
    """
    if not is_computed(state, i):
        return f"grad {NOT_COMPUTED}"
    return f"grad {fmt_num(state.grads[i], fmt)}"


def grad_detail(a: Analysis, i: int, state: State) -> str:
    """The grad line of node ``i``'s tooltip: ``grad = 0.5`` or what ``grad ?`` means."""
    if not is_computed(state, i):
        return f"grad {NOT_COMPUTED_TEXT}"
    return f"grad = {state.grads[i]!r}"


def grad_note(a: Analysis, state: State) -> str:
    """A legend line explaining ``grad ?`` when some grad is not computed yet ("" otherwise)."""
    if state.computed is None or all(state.computed):
        return ""
    return f"grad {NOT_COMPUTED} means {NOT_COMPUTED_TEXT}"


def grad_is_final(a: Analysis, i: int, state: State) -> bool:
    """Whether every use of node ``i`` has passed its gradient back (the output always has)."""
    if not is_computed(state, i):
        return False
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


def signed_terms(terms: list[str]) -> str:
    """``a + b - c`` from the terms ``a``, ``b``, ``-c``."""
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
    return "= " + signed_terms(terms) if terms else ""


def derivative_symbol(a: Analysis, j: int, k: int, fmt: str) -> str:
    """``∂o/∂n``: the local derivative of node ``j`` with respect to its input ``k``."""
    return f"∂{wrap_name(a.edge_names[j])}/∂{wrap_name(a.prev_names(j, fmt, edge=True)[k])}"


def derivative_formula(a: Analysis, j: int, k: int, fmt: str) -> str:
    """``1 - o²``, ``2·x``: the op table's formula for that derivative in the graph's names.

    Constants are worked out (:func:`~microgradnn.viz.text.fill_formula`); "" if the op has
    no formula.
    """
    names = a.prev_names(j, fmt, edge=True)
    return local_formula(a.order[j], k, names, a.edge_names[j], fmt)


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
