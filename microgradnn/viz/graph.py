r"""Pictures of computation graphs: the forward view and the backward (chain rule) view.

:func:`draw_dot` turns the graph behind a :class:`~microgradnn.Value` into a graphviz
``Digraph`` that shows inline in Jupyter and renders to SVG, PNG or PDF.

- **Forward view** (``view="forward"``): every Value is a box ``label | data | grad``; every op
  is an oval between its inputs and its result; each edge carries the *local derivative*
  d(out)/d(in) from the op table. Inputs (blue), parameters (amber), the output (green, bold)
  and constants (small dashed boxes) look different; a legend says which is which. ``x * x``
  draws two edges from ``x``.
- **Backward view** (``view="backward"``): the same layout with the arrows reversed, because
  the gradient flows from the output back to the inputs. Each edge shows the local derivative
  and the chain-rule product ``grad(out) × local`` it adds into the input's grad; a Value used
  twice shows how its two contributions sum to its grad (``= 3 + 3``).

Node names (and SVG ``id`` attributes) follow the graph's topological order (``v0``, ``v1``,
... with ops ``v3op`` and constants ``v3c1``), never ``id()``, so re-running a notebook gives
the same picture source. Unlabeled Values are named ``#i`` by that order.

Big graphs: one example through a 2-16-16-1 MLP is ~1000 Values. Pass ``model=`` and
``cluster="neuron"`` or ``"layer"`` to draw the network as a network: the inputs, then each
layer as a column with its neurons in index order (neuron 0 first), then the loss. Each neuron
(its products, Σ and activation) or each layer is one box, ``L0.N2 tanh`` with its output and
its grad; an edge into a neuron carries its weight (forward) or ``z.grad × w``, what it passes
back (backward); several connections drawn as one edge say how many (``16 weights``). A loss
over several examples calls each neuron once per example: every box then shows one example
and says so (``example 0 of 4``). ``collapse=False`` keeps every node and draws frames
(graphviz clusters) around each neuron or layer instead. Beyond ``max_nodes`` a drawing
raises a ``ValueError`` that suggests these options.

Every picture carries a legend: a title naming the view, then only the kinds of node, edge
and colour that this picture shows, each explained.

Rendering needs graphviz's ``dot`` program (``apt install graphviz`` / ``brew install
graphviz``); without it :func:`render` and the returned graph's ``pipe``/``render`` raise
:class:`GraphvizNotFoundError` with install instructions, while ``.source`` still works.

>>> from microgradnn import Value
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.label = "y"
>>> y.backward()
>>> g = draw_dot(y, view="backward")
>>> g.source.count("-> v1op")  # two edges from x into the same * node
2
>>> "= 3 + 3" in g.source  # x.grad = 6 is the sum of its two uses
True
"""

from __future__ import annotations

import itertools
import math
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import graphviz

from microgradnn import value_check
from microgradnn._checks import choice, describe, flag, integer, number
from microgradnn.compile import CompiledGraph
from microgradnn.engine import Value
from microgradnn.gradcheck import BackwardCheck, EdgeCheck, set_picture_maker
from microgradnn.value_check import ValueClassCheck
from microgradnn.viz.analysis import (
    COLORS,
    HIGHLIGHT,
    KIND_TEXT,
    NEGATIVE,
    POSITIVE,
    ZERO,
    Analysis,
    Highlight,
    State,
    analyze,
    check_root,
    edge_amount,
    edge_color,
    edge_local_text,
    edge_product_text,
    final_state,
    grad_detail,
    grad_is_final,
    grad_note,
    grad_text,
    has_sum_cell,
    signed_terms,
    sum_text,
)
from microgradnn.viz.clusters import ModelInfo, NeuronInfo, NodeGroups, assign_groups, model_info
from microgradnn.viz.display import GraphPicture, GraphvizNotFoundError, PictureFacts, render
from microgradnn.viz.text import esc, fmt_num, number_format, wrap_name

__all__ = [
    "BuiltPicture",
    "DrawOptions",
    "GraphPicture",
    "GraphvizNotFoundError",
    "Slot",
    "build_picture",
    "draw_dot",
    "render",
    "slot_final",
    "slot_text",
]

VIEWS = ("forward", "backward")
RANKDIRS = ("LR", "TB", "RL", "BT")
CLUSTERS = (None, "neuron", "layer")
FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "dot", "json")
DEFAULT_MAX_NODES = 500
MAX_WEIGHT_ROWS = 8
"""A neuron box lists its weights, one row per input, up to this many inputs."""
MAX_SUM_TERMS = 6
"""A neuron box shows how its grad adds up from its uses, up to this many uses."""
FONT = "Helvetica"
BASE_FONTSIZE = 10.0
"""The default size (pt) of the smallest texts, the edge labels; the others scale with it."""
NARROW_WRAP = 72
"""A narrow picture's legend lines break after about this many characters."""
PENDING = "#868e96"
"""The colour of a grad that is not final yet (a stepper frame before all its uses ran)."""
BLAME = "#e03131"
"""The colour of a wrong local derivative and of the grads it makes wrong (``blame=``)."""
BLAME_FILL = "#ffe3e3"
"""The fill of a grad cell that a wrong edge feeds."""
ARRAY_OP_COLORS = (
    "#8dd3c7",
    "#fdb462",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#b3de69",
    "#fccde5",
    "#ffffb3",
    "#bc80bd",
    "#ccebc5",
    "#ffed6f",
    "#d9d9d9",
)
"""Fills of op nodes by the compiled array operation that computes them (``compiled=``)."""

# ---------------------------------------------------------------------------------------------
# DOT building.


@dataclass(frozen=True)
class Slot:
    """One text in the SVG that the stepper rewrites frame by frame.

    Attributes:
        element: The DOT name of the node or edge holding the text.
        position: Index among the element's ``<text>`` elements.
        name: The slot's name: ``v3grad``, ``v3sum`` (node 3's grad and sum cells),
            ``e5_1prod`` (the product text on the edge into input 1 of node 5), ``L1range``
            (the spread of a layer's output grads) or ``L1wmean`` (its mean |w.grad|).
        kind: What it shows: ``"grad"``, ``"sum"``, ``"prod"`` (grad(out) × local = amount),
            ``"amount"`` (that amount alone), ``"uses"`` (a node's grad as the sum of its drawn
            uses: ``ref`` is the node, then node and input position of each use), ``"range"``
            or ``"wmean"``.
        ref: The nodes it reads (for ``"prod"``: the node and the input position).
        prefix: Written before the text (``out.`` in ``out.grad 0.5``).
    """

    element: str
    position: int
    name: str
    kind: str = "grad"
    ref: tuple[int, ...] = ()
    prefix: str = ""


_ID_PREFIX = re.compile(r"[A-Za-z0-9_]*")


@dataclass(frozen=True)
class DrawOptions:
    """The drawing options of :func:`draw_dot`, each checked when the options are made.

    See :func:`draw_dot` for what each one does.

    Raises:
        TypeError: An option of the wrong type (a flag that is not True or False).
        ValueError: An option outside its choices.
    """

    view: str = "forward"
    rankdir: str = "LR"
    fmt: str = ".4g"
    hide_constants: bool = False
    show_grad: bool = True
    local_text: bool = True
    edge_labels: bool = True
    legend: bool = True
    cluster: str | None = None
    collapse: bool = True
    max_nodes: int | None = DEFAULT_MAX_NODES
    id_prefix: str = ""
    format: str = "svg"
    fontsize: float = BASE_FONTSIZE
    narrow: bool | None = None

    def __post_init__(self) -> None:
        choice("view", self.view, VIEWS)
        choice("rankdir", self.rankdir, RANKDIRS)
        number_format("fmt", self.fmt)
        for name in ("hide_constants", "show_grad", "local_text", "edge_labels", "legend"):
            flag(name, getattr(self, name))
        choice("cluster", self.cluster, CLUSTERS)
        flag("collapse", self.collapse)
        if self.max_nodes is not None:
            integer("max_nodes", self.max_nodes, low=1)
        expected = "id_prefix: expected letters, digits or _ only"
        if not isinstance(self.id_prefix, str):
            raise TypeError(f"{expected}, got {describe(self.id_prefix)}")
        if not _ID_PREFIX.fullmatch(self.id_prefix):
            raise ValueError(f"{expected}, got {self.id_prefix!r}")
        choice("format", self.format, FORMATS)
        number("fontsize", self.fontsize, low=4.0, high=72.0)
        if self.narrow is not None:
            flag("narrow", self.narrow)

    @property
    def is_narrow(self) -> bool:
        """Whether the picture is laid out for a narrow column (``narrow``, else by rankdir)."""
        return self.narrow if self.narrow is not None else self.rankdir in ("TB", "BT")


@dataclass
class BuiltPicture:
    """A drawn picture plus what the stepper needs to animate it.

    Attributes:
        graph: The picture.
        analysis: The graph it shows.
        slots: The texts that change from one stepper frame to the next.
        texts: Per DOT element name, the texts it shows, in the order graphviz writes them.
        elements: Per node (position in the graph order), the DOT elements that show it: its
            box and op oval, or the neuron or layer box it is folded into (absent: not drawn).
        edge_elements: Per use ``(node, input position)``, the DOT edge that shows it.
    """

    graph: GraphPicture
    analysis: Analysis
    slots: list[Slot] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    elements: dict[int, list[str]] = field(default_factory=dict)
    edge_elements: dict[tuple[int, int], str] = field(default_factory=dict)


def _fold_constants(node: Value, fmt: str) -> str:
    """An op label with its constant inputs written in: ``* 2``, ``2 -``, ``Σ + 1``."""
    op = node._op
    assert op is not None
    symbol = op.symbol
    consts = [(k, p) for k, p in enumerate(node._prev) if type(p) is not Value]
    if not consts:
        return symbol
    if op.variadic:
        return f"{symbol} + " + " + ".join(fmt_num(float(c), fmt) for _, c in consts)
    if len(node._prev) == 2 and len(consts) == 1:
        k, c = consts[0]
        num = wrap_name(fmt_num(float(c), fmt))
        return f"{num} {symbol}" if k == 0 else f"{symbol} {num}"
    return f"{symbol}({', '.join(fmt_num(float(c), fmt) for _, c in consts)})"


# ---------------------------------------------------------------------------------------------
# Texts that change from one stepper frame to the next: one function says what each shows.


def _spread(values: list[float], fmt: str) -> str:
    """``0.5`` for one value (or equal values), ``∈ [-0.2, 0.5]`` for several."""
    lo, hi = min(values), max(values)
    if lo == hi:
        return fmt_num(lo, fmt)
    return f"∈ [{fmt_num(lo, fmt)}, {fmt_num(hi, fmt)}]"


def slot_text(a: Analysis, slot: Slot, state: State, fmt: str) -> tuple[str, str]:
    """The text a slot shows for a state of the gradients, and its colour ("" = unchanged).

    The picture and every stepper frame read this one function, so a frame's text and the
    drawn text never disagree.
    """
    if slot.kind == "grad":
        return slot.prefix + grad_text(a, slot.ref[0], state, fmt), ""
    if slot.kind == "sum":
        return sum_text(a, slot.ref[0], state, fmt) or "…", ""
    if slot.kind in ("prod", "amount"):
        j, k = slot.ref
        if slot.kind == "prod" or not state.processed[j]:
            text = edge_product_text(a, j, k, state, fmt)
            return (slot.prefix if slot.kind == "amount" else "") + text, edge_color(a, j, k, state)
        amount = fmt_num(edge_amount(a, j, k, state), fmt)
        return slot.prefix + amount, edge_color(a, j, k, state)
    if slot.kind == "uses":
        uses = list(zip(slot.ref[1::2], slot.ref[2::2], strict=True))
        terms = [
            fmt_num(edge_amount(a, j, k, state), fmt) if state.processed[j] else "…"
            for j, k in uses
        ]
        return "= " + signed_terms(terms), ""
    grads = [state.grads[i] for i in slot.ref]
    if slot.kind == "range":
        return f"{slot.prefix}grad {_spread(grads, fmt)}", ""
    mean = math.fsum(abs(g) for g in grads) / len(grads)
    return f"{slot.prefix}{fmt_num(mean, fmt)}", ""


def slot_final(a: Analysis, slot: Slot, state: State) -> bool:
    """Whether the grads a slot shows are final in ``state`` (every use has passed back)."""
    if slot.kind in ("prod", "amount"):
        return True
    if slot.kind == "uses":
        return all(state.processed[j] for j in slot.ref[1::2])
    return all(grad_is_final(a, i, state) for i in slot.ref)


# ---------------------------------------------------------------------------------------------
# The legend: a prominent title, then only what this picture shows.

_SWATCHES = {
    "input": "input",
    "param": "parameter",
    "value": "computed",
    "output": "output",
}


def _swatch(kind: str, text: str, pt: str) -> str:
    if kind.startswith("#"):  # an op fill of compiled=: the colour itself
        return f'<TD BGCOLOR="{kind}"><FONT POINT-SIZE="{pt}">{esc(text)}</FONT></TD>'
    if kind in _SWATCHES or kind == "group":
        border = ' BORDER="2"' if kind == "output" else ""
        color = ' COLOR="#7048e8"' if kind == "group" else ""
        return (
            f'<TD BGCOLOR="{COLORS[kind]}"{border}{color}>'
            f'<FONT POINT-SIZE="{pt}">{esc(text)}</FONT></TD>'
        )
    if kind == "op":
        return f'<TD BORDER="0"><FONT POINT-SIZE="{pt}">( op ) {esc(text)}</FONT></TD>'
    return (
        f'<TD BORDER="0"><FONT POINT-SIZE="{pt}" COLOR="{COLORS["const"]}">'
        f"[ const ] {esc(text)}</FONT></TD>"
    )


Part = tuple[str, str]
"""One part of a legend line: its text and its colour ("" for the usual one)."""


def _left(cells: str, cellborder: str = "0", spacing: str = "0", padding: str = "0") -> str:
    """One row of cells, left-aligned, for a legend row.

    graphviz stretches a nested table to fill its cell, spreading the extra width evenly over
    the columns: empty columns beside the cells take almost all of it.
    """
    return (
        '<TD ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
        f'<TR><TD><TABLE BORDER="0" CELLBORDER="{cellborder}" CELLSPACING="{spacing}" '
        f'CELLPADDING="{padding}"><TR>{cells}</TR></TABLE></TD>{"<TD></TD>" * 24}</TR></TABLE></TD>'
    )


def _rows(items: list[tuple[str, int]], wrap: int | None) -> list[list[str]]:
    """Items (HTML, length in characters) in rows of at most ``wrap`` characters (None: one)."""
    rows: list[list[str]] = [[]]
    used = 0
    for item, n in items:
        if wrap is not None and rows[-1] and used + n > wrap:
            rows.append([])
            used = 0
        rows[-1].append(item)
        used += n + 1
    return rows if rows[-1] else []


def _legend(
    title: str,
    subtitle: str,
    swatches: list[tuple[str, str]],
    lines: list[list[Part]],
    size: Callable[[float], str],
    wrap: int | None = None,
) -> str:
    """A graph label: the view's title, colour swatches, one line per explanation.

    Each line is a list of parts, each with its own colour; a line of several parts draws each
    in a cell of its own (graphviz misjudges the gaps between runs of text in one cell). With
    ``wrap``, lines break after about that many characters (a one-part line between words,
    a line of several parts between parts), and so do the title and the row of swatches,
    counted in characters of their larger fonts.

    Args:
        title: The view's name, in bold.
        subtitle: A line under it ("" for none).
        swatches: (kind, text) per colour swatch.
        lines: The explanations.
        size: A font size in the picture's scale (``size(11)``: 11 pt at the default size).
        wrap: Break lines after about this many characters (None: never).
    """

    def font(text: str, pt: float, color: str = "", bold: bool = False) -> str:
        inner = f"<B>{esc(text)}</B>" if bold else esc(text)
        colour = f' COLOR="{color}"' if color else ""
        return f'<FONT POINT-SIZE="{size(pt)}"{colour}>{inner}</FONT>'

    def chars(pt: float) -> int | None:
        return None if wrap is None else max(12, round(wrap * 11 / pt))

    out: list[str] = []
    for part in textwrap.wrap(title, chars(15) or len(title) + 1) or [title]:
        out.append(f'<TD ALIGN="LEFT">{font(part, 15, bold=True)}</TD>')
    if subtitle:
        for part in textwrap.wrap(subtitle, chars(11) or len(subtitle) + 1):
            out.append(f'<TD ALIGN="LEFT">{font(part, 11)}</TD>')
    cells = [
        (_swatch(k, t, size(12)), len(t) + (7 if k in ("op", "const") else 2)) for k, t in swatches
    ]
    for row in _rows(cells, chars(12)):
        out.append(_left("".join(row), cellborder="1", spacing="3", padding="2"))
    for line in lines:
        if len(line) == 1:
            text, color = line[0]
            for part in textwrap.wrap(text, chars(11) or len(text) + 1) or [text]:
                out.append(f'<TD ALIGN="LEFT">{font(part, 11, color)}</TD>')
            continue
        parts = [(f'<TD ALIGN="LEFT">{font(t, 11, c)}</TD>', len(t)) for t, c in line]
        for row in _rows(parts, chars(11)):
            out.append(_left("".join(row), padding="1"))
    body = "".join(f"<TR>{row}</TR>" for row in out)
    return f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{body}</TABLE>>'


def _colored(text: str, color: str) -> str:
    return f'<FONT COLOR="{color}">{esc(text)}</FONT>'


# ---------------------------------------------------------------------------------------------
# The builder.

_PORTS = {"LR": ("e", "w"), "TB": ("s", "n"), "RL": ("w", "e"), "BT": ("n", "s")}
# (vertical, collapsed): edges fanning out between neuron columns need room to part.
_RANKSEP = {(False, False): "0.45", (True, False): "0.4", (False, True): "0.7", (True, True): "0.6"}


class _Builder:
    """Builds one picture; see :func:`draw_dot` for the options."""

    def __init__(
        self,
        root: Value,
        opts: DrawOptions,
        info: ModelInfo | None,
        state: State | None = None,
        highlight: Highlight | None = None,
        analysis: Analysis | None = None,
        explain: Iterable[str] = (),
        blame: BackwardCheck | None = None,
        verdict: ValueClassCheck | None = None,
        compiled: CompiledGraph | None = None,
    ) -> None:
        self.o = opts
        self.verdict = verdict
        if verdict is not None:
            blame = verdict.edge
        self.blame = blame
        self.blamed: EdgeCheck | None = blame.first if blame is not None else None
        self.also_wrong = {(e.node, e.input) for e in blame.wrong[1:]} if blame else set()
        self.affected = blame.affected if blame is not None else frozenset()
        self.marked: int | None = None
        if verdict is not None:
            self.affected = verdict.differing
            self.marked = verdict.node
        self.info = info
        if analysis is None:
            analysis = analyze(root, info.param_names if info is not None else None)
        self.a = analysis
        self.state = state if state is not None else final_state(self.a)
        self.hl = highlight or Highlight()
        self.p = opts.id_prefix
        self.backward = opts.view == "backward"
        self.scale = opts.fontsize / BASE_FONTSIZE
        self.slots: list[Slot] = []
        self.texts: dict[str, list[str]] = {}
        self.present: set[str] = set(explain)
        n = len(self.a.order)
        self.groups: list[int | None] = [None] * n
        self.nodes: NodeGroups | None = None
        if opts.cluster is not None and info is not None:
            self.nodes = assign_groups(self.a.order, info)
            self.groups = list(self.nodes.groups)
            self.groups[self.a.root] = None  # the output stays visible, outside every box
        self.collapsed = self.nodes is not None and opts.collapse
        self.examples = self.nodes.examples if self.nodes is not None else 0
        self.example = 0
        self.element: list[str | None] = [None] * n
        self.edge_elements: dict[tuple[int, int], str] = {}
        self.pseudo: dict[tuple[int, int], str] = {}
        self.row_use: dict[tuple[str, int], tuple[int, int]] = {}
        self.compiled = compiled
        self.array_op: dict[int, int] = {}  # node -> the compiled array op that computes it
        if compiled is not None:
            where = compiled.locate(root)
            self.array_op = {i: where[id(v)] for i, v in enumerate(self.a.order) if id(v) in where}
        self._plan()

    # -- which element shows each node -------------------------------------------------------

    def _box(self, i: int) -> tuple[str, bool] | None:
        """(the box that shows node ``i``, whether it is the main box), or None if visible.

        The main box of a neuron (or layer) shows the chosen example; a call on another example
        gets a small box of its own, drawn only where its output feeds the rest of the graph.
        """
        g = self.groups[i] if self.collapsed else None
        if g is None:
            return None
        assert self.info is not None
        assert self.nodes is not None
        key = f"L{self.info.neurons[g].layer}" if self.o.cluster == "layer" else f"n{g}"
        call = self.nodes.calls[i]
        if call is None or call == self.example:
            return key, True
        return f"{key}x{call}", False

    def _plan(self) -> None:
        """Walk back from the root: what each node is drawn as (none: not drawn)."""
        a = self.a
        if not self.collapsed:
            self.element = [f"v{i}" for i in range(len(a.order))]
            return
        stack = [a.root]
        while stack:
            i = stack.pop()
            if self.element[i] is not None:
                continue
            box = self._box(i)
            self.element[i] = f"v{i}" if box is None else box[0]
            if box is not None and not box[1]:
                continue  # another example's call: its inside is not drawn
            stack.extend(a.index[id(p)] for p in a.order[i]._prev if type(p) is Value)

    def _hidden(self, i: int) -> bool:
        return self.collapsed and self.groups[i] is not None

    def pt(self, size: float) -> str:
        """A font size given for the default scale, in this picture's scale (``fontsize``).

        Whole points: graphviz reads an HTML label's ``POINT-SIZE`` as a whole number.
        """
        return str(max(1, round(size * self.scale)))

    def _attrs(self, name: str, cls: str, **extra: str) -> dict[str, str]:
        attrs = {"id": self.p + name, "class": cls}
        attrs.update(extra)
        return attrs

    def _weight_input(self, j: int, k: int) -> Value | None:
        """The weight that input ``k`` of node ``j`` meets, when ``j`` is a neuron's product."""
        g = self.groups[j]
        v = self.a.order[j]
        if g is None or len(v._prev) != 2 or self.info is None:
            return None
        other = v._prev[1 - k]
        neuron = self.info.neurons[g]
        if any(w is other for w in neuron.w) and v._prev[k] is not other:
            assert type(other) is Value
            return other
        return None

    # -- counting -----------------------------------------------------------------------------

    def count_nodes(self) -> tuple[int, int, int, int]:
        """(total, values, ops, constants) the picture would draw."""
        values = ops = consts = 0
        boxes: set[str] = set()
        for i, v in enumerate(self.a.order):
            el = self.element[i]
            if el is None:
                continue
            if self._hidden(i):
                boxes.add(el)
                continue
            values += 1
            if v._op is not None:
                ops += 1
                if not self.o.hide_constants:
                    consts += sum(1 for p in v._prev if type(p) is not Value)
        return values + ops + consts + len(boxes), values, ops, consts

    # -- labels -------------------------------------------------------------------------------

    def _slot(
        self,
        element: str,
        texts: list[str],
        name: str,
        kind: str,
        ref: tuple[int, ...],
        prefix: str = "",
    ) -> str:
        """Register ``element``'s next text as one that changes from frame to frame."""
        slot = Slot(element, len(texts), name, kind, ref, prefix)
        text, _ = slot_text(self.a, slot, self.state, self.o.fmt)
        self.slots.append(slot)
        texts.append(text)
        return text

    def _grad_font(self, text: str, nodes: list[int]) -> str:
        """A grad text: orange where this frame changed it, grey while it is not final yet."""
        if any(i in self.hl.changed for i in nodes):
            self.present.add("changed")
            return _colored(text, HIGHLIGHT)
        if self.backward and not all(grad_is_final(self.a, i, self.state) for i in nodes):
            self.present.add("pending")
            return _colored(text, PENDING)
        return esc(text)

    def value_label(self, i: int) -> tuple[str, list[str]]:
        a, o, st = self.a, self.o, self.state
        v = a.order[i]
        kind = a.kinds[i]
        name = a.names[i]
        el = f"v{i}"
        texts = [name, f"data {fmt_num(v.data, o.fmt)}"]
        name_cell = (
            f"<B>{esc(name)}</B>" if v.label else f'<FONT COLOR="#868e96">{esc(name)}</FONT>'
        )
        cells = [
            f'<TD BGCOLOR="{COLORS[kind]}">{name_cell}</TD>',
            f"<TD>{esc(texts[1])}</TD>",
        ]
        if o.show_grad or self.backward:
            gt = self._slot(el, texts, f"v{i}grad", "grad", (i,))
            expected = self.verdict.expected if self.verdict is not None else None
            if i == self.marked and expected is not None:
                self.present.add("marked")
                texts.append(f"expected {fmt_num(expected, o.fmt)}")
                cells.append(f'<TD BGCOLOR="{BLAME_FILL}"><B>{esc(gt)}</B></TD>')
                cells.append(
                    f'<TD BGCOLOR="{BLAME_FILL}"><FONT COLOR="{BLAME}"><B>'
                    f"{esc(texts[-1])}</B></FONT></TD>"
                )
            elif i in self.affected:
                self.present.add("affected")
                cells.append(f'<TD BGCOLOR="{BLAME_FILL}"><B>{esc(gt)}</B></TD>')
            else:
                cells.append(f"<TD>{self._grad_font(gt, [i])}</TD>")
            if self.backward and has_sum_cell(a, i, st):
                s = self._slot(el, texts, f"v{i}sum", "sum", (i,))
                self.present.add("seed" if i == a.root else "sum")
                cells.append(f'<TD><FONT POINT-SIZE="{self.pt(11)}">{esc(s)}</FONT></TD>')
        border = "2" if kind == "output" else "1"
        color = ' COLOR="' + HIGHLIGHT + '"' if i in self.hl.nodes else ""
        if i == self.marked:
            border, color = "3", f' COLOR="{BLAME}"'
        if i in self.hl.nodes:
            border = "3"
            self.present.add("highlight")
        if o.is_narrow:
            # Narrow: the name on top, data and grad under it (two thirds of the width).
            cells[0] = cells[0].replace("<TD ", f'<TD COLSPAN="{len(cells) - 1}" ', 1)
            rows = [f"<TR>{cells[0]}</TR>", f"<TR>{''.join(cells[1:])}</TR>"]
        else:
            rows = [f"<TR>{''.join(cells)}</TR>"]
        pad = "3" if o.is_narrow else "4"
        label = (
            f'<<TABLE BORDER="{border}"{color} CELLBORDER="1" CELLSPACING="0" CELLPADDING="{pad}">'
            f"{''.join(rows)}</TABLE>>"
        )
        self.texts[el] = texts
        return label, texts

    def tooltip(self, i: int) -> str:
        a = self.a
        v = a.order[i]
        full = a.param_names.get(id(v))
        head = f"{a.names[i]}" + (f" = {full}" if full and full != v.label else "")
        lines = [
            f"{head}: {KIND_TEXT[a.kinds[i]]}",
            f"data = {v.data!r}",
            grad_detail(a, i, self.state),
        ]
        if v._op is not None:
            lines.insert(1, a.definition(i, ".6g"))
        return "\n".join(lines)

    # -- the picture --------------------------------------------------------------------------

    def _check_size(self) -> None:
        o = self.o
        total, values, ops, consts = self.count_nodes()
        if o.max_nodes is None or total <= o.max_nodes:
            return
        what = (
            f"{values} values, {ops} ops, {consts} constants"
            if not self.collapsed
            else "after collapsing"
        )
        if o.cluster is not None and not o.collapse:
            fix = "collapse=True to draw each neuron or layer as one box"
        elif o.cluster == "neuron":
            fix = "cluster='layer' to draw one box per layer"
        else:
            fix = (
                "model=<your model> with cluster='neuron' or cluster='layer' to collapse "
                "each neuron or layer into one box"
            )
        raise ValueError(
            f"the graph has {total} nodes to draw ({what}), more than max_nodes="
            f"{o.max_nodes}: pass {fix}, hide_constants=True to fold constants into their "
            "op, or a larger max_nodes (pictures of more than a few hundred nodes are slow "
            "and hard to read)"
        )

    def build(self) -> BuiltPicture:
        a, o = self.a, self.o
        self._check_size()
        g = GraphPicture(name="microgradnn", format=o.format)
        vertical = o.rankdir in ("TB", "BT")
        g.attr(
            rankdir=o.rankdir,
            fontname=FONT,
            fontsize=self.pt(14),
            nodesep="0.45" if vertical else "0.25",
            ranksep=_RANKSEP[(vertical, self.collapsed)],
            newrank="true",
            ordering="out",
        )
        g.attr("node", fontname=FONT, fontsize=self.pt(12))
        g.attr("edge", fontname=FONT, fontsize=self.pt(10), color="#495057", arrowsize="0.7")
        if self.backward:
            g.attr("edge", dir="back")
        clusters = self._make_clusters(g)
        for i in range(len(a.order)):
            if self.element[i] is None or self._hidden(i):
                continue
            target = clusters.get(self.groups[i]) if self.groups[i] is not None else None
            self._emit_value(target or g, i)
        boxes: dict[str, list[int]] = {}
        if self.collapsed:
            for i, el in enumerate(self.element):
                if el is not None and self._hidden(i):
                    boxes.setdefault(el, []).append(i)
        self._emit_edges(g, set(boxes))
        for key, members in boxes.items():
            self._emit_box(g, key, members)
        if self.collapsed:
            self._emit_ranks(g, list(boxes))
        attached: set[int] = set()
        for sub in clusters.values():
            if id(sub) not in attached:
                attached.add(id(sub))
                g.subgraph(sub)
        if o.legend:
            g.attr(label=self._legend_label(), labelloc="t", labeljust="l")
        g.facts = PictureFacts(root=a.names[a.root], view=o.view, grads_computed=self.state.seeded)
        elements: dict[int, list[str]] = {}
        for i, el in enumerate(self.element):
            if el is None:
                continue
            elements[i] = [el] if self._hidden(i) or a.order[i]._op is None else [el, f"{el}op"]
        return BuiltPicture(
            graph=g,
            analysis=a,
            slots=self.slots,
            texts=self.texts,
            elements=elements,
            edge_elements=self.edge_elements,
        )

    # -- the legend ---------------------------------------------------------------------------

    def _legend_label(self) -> str:
        a, p = self.a, self.present
        root = wrap_name(a.names[a.root])
        by = {"neuron": " (by neuron)", "layer": " (by layer)"}.get(self.o.cluster or "", "")
        if self.backward:
            title = f"backward view{by}: gradients flow from {a.names[a.root]} back to the inputs"
        else:
            shows = "values and local derivatives" if self.o.edge_labels else "values"
            title = f"forward view{by}: {shows}"
        subtitle = ""
        if self.collapsed and self.examples > 1:
            subtitle = (
                f"{self.examples} examples: every box shows example {self.example} of "
                f"{self.examples}; a weight's grad adds up its uses in all {self.examples}"
            )
        swatches = [(k, t) for k, t in _SWATCHES.items() if k in p]
        if "neuron" in p:
            swatches.append(("group", "neuron: out = act(z), z = Σ w·in + b"))
        if "layer" in p:
            swatches.append(("group", "layer: its neurons' outputs"))
        if self.compiled is not None:
            shown = sorted(set(self.array_op.values()))
            for k in shown:
                swatches.append((_array_op_color(k), _array_op_text(self.compiled, k)))
        if "op" in p:
            swatches.append(("op", "operation"))
        if "const" in p:
            swatches.append(("const", "a plain number"))
        lines: list[list[Part]] = []

        def say(text: str, color: str = "") -> None:
            lines.append([(text, color)])

        if "edge" in p:
            if self.backward:
                say(
                    "each labelled edge: local ∂out/∂in, then grad(out) × local = the amount "
                    "added to the input's grad"
                )
            else:
                say("each labelled edge: the local derivative ∂out/∂in, from the op table")
        if "weight_rows" in p:
            if self.backward:
                arrow = {"LR": "←", "RL": "→", "TB": "↑", "BT": "↓"}[self.o.rankdir]
                say(
                    f"w0 0.7 {arrow} 0.1: an input arrives at its weight w; z.grad × w is "
                    "what goes back along that edge"
                )
            else:
                say("w0 0.7: an input arrives at its weight w (∂z/∂in = w)")
        if "weight_edge" in p:
            say(
                "unlabelled edge into a neuron: one input, through one weight (the box's "
                "tooltip lists its weights)"
            )
        if "weights" in p:
            say("'N weights': N connections drawn as one edge, one weight each")
        if "values" in p:
            say("'N values': N values passed along one edge")
        if self.compiled is not None:
            say(
                "op colour: the one array operation of the compiled replay that computes this "
                "node for every example of a batch at once"
            )
        if "const_edge" in p and self.backward:
            say("dashed edge: a plain number, which gets no gradient")
        if "neuron" in p or "layer" in p:
            what = f"out.grad = ∂{root}/∂out"
            if "zgrad" in p:
                what += f", z.grad = ∂{root}/∂z"
            say(what)
        if "uses" in p:
            order = "left to right" if self.o.rankdir in ("TB", "BT") else "top to bottom"
            say(f"'out.grad = a + b + …': what each of its edges brought back, {order}")
        if "wmean" in p:
            say("mean |w.grad|: the average size of the layer's weight gradients")
        if "sum" in p:
            say("'= 3 + 3': a value used more than once adds up what each use passed back")
        if "seed" in p:
            say(f"'= seed': backward() starts with {a.names[a.root]}.grad = 1")
        if "amount" in p:
            lines.append(
                [
                    ("amounts:", ""),
                    ("blue: positive,", POSITIVE),
                    ("red: negative,", NEGATIVE),
                    ("grey: zero, or … not passed back yet", ZERO),
                ]
            )
        if "pending" in p:
            say("grey grad: not final yet (a use has still to pass back)", PENDING)
        if "highlight" in p or "changed" in p:
            say("orange: the step that just ran and the grads it changed", HIGHLIGHT)
        note = grad_note(a, self.state) if self.o.show_grad or self.backward else ""
        if note:  # only where a grad is drawn
            say(note, NEGATIVE)
        self._blame_lines(say)
        wrap = NARROW_WRAP if self.o.is_narrow else None
        return _legend(title, subtitle, swatches, lines, self.pt, wrap)

    # -- values, ops, constants ---------------------------------------------------------------

    def _make_clusters(self, g: GraphPicture) -> dict[int | None, graphviz.Digraph]:
        """Frames around the nodes of each neuron or layer (``collapse=False``)."""
        if self.o.cluster is None or self.collapsed or self.info is None:
            return {}
        used = sorted({x for x in self.groups if x is not None})
        subs: dict[int | None, graphviz.Digraph] = {}
        if self.o.cluster == "layer":
            by_layer: dict[int, graphviz.Digraph] = {}
            for k in used:
                n = self.info.neurons[k]
                if n.layer not in by_layer:
                    sub = graphviz.Digraph(name=f"cluster_{self.p}L{n.layer}")
                    lname = self.info.layer_names[n.layer]
                    sub.attr(label=f"layer {n.layer} ({lname})", style="rounded,dashed")
                    sub.attr(color="#7048e8", fontcolor="#7048e8", id=f"{self.p}L{n.layer}")
                    by_layer[n.layer] = sub
                subs[k] = by_layer[n.layer]
        else:
            for k in used:
                n = self.info.neurons[k]
                sub = graphviz.Digraph(name=f"cluster_{self.p}n{k}")
                sub.attr(label=f"{n.short} {n.activation}", tooltip=n.name, style="rounded,dashed")
                sub.attr(color="#7048e8", fontcolor="#7048e8", id=f"{self.p}n{k}")
                subs[k] = sub
        return subs

    def _emit_value(self, g: graphviz.Digraph, i: int) -> None:
        a, o = self.a, self.o
        v = a.order[i]
        name = f"v{i}"
        label, _ = self.value_label(i)
        self.present.add(a.kinds[i])
        g.node(
            name,
            label=label,
            shape="plain",
            tooltip=self.tooltip(i),
            **self._attrs(name, f"mg-value mg-{a.kinds[i]}"),
        )
        if v._op is None:
            return
        self.present.add("op")
        op_name = f"v{i}op"
        symbol = _fold_constants(v, o.fmt) if o.hide_constants else v._op.symbol
        self.texts[op_name] = [symbol]
        attrs = self._attrs(op_name, "mg-op")
        if i in self.hl.nodes:
            attrs.update(color=HIGHLIGHT, penwidth="3")
        fill, tip = COLORS["op"], f"{a.definition(i, '.6g')}\n{v._op.doc}"
        k = self.array_op.get(i)
        if k is not None and self.compiled is not None:
            fill = _array_op_color(k)
            tip += f"\ncompiled: {self.compiled.array_ops[k].describe()}"
        g.node(
            op_name,
            label=symbol,
            shape="ellipse",
            style="filled",
            fillcolor=fill,
            margin="0.05,0.02",
            height="0.3",
            tooltip=tip,
            **attrs,
        )
        if not o.hide_constants:
            for k, p in enumerate(v._prev):
                if type(p) is Value:
                    continue
                self.present.add("const")
                cname = f"v{i}c{k}"
                text = fmt_num(float(p), o.fmt)
                self.texts[cname] = [text]
                g.node(
                    cname,
                    label=text,
                    shape="box",
                    style="rounded,dashed",
                    color=COLORS["const"],
                    fontcolor=COLORS["const"],
                    fontsize=self.pt(10),
                    margin="0.04,0.02",
                    height="0.2",
                    width="0.3",
                    tooltip=f"constant {p!r} (a plain number: it gets no gradient)",
                    **self._attrs(cname, "mg-const"),
                )

    # -- edges --------------------------------------------------------------------------------

    def _edge_table(self, lines: list[str]) -> str:
        """An edge label, padded so that labels side by side never run into each other.

        Top to bottom, sibling edges' labels sit in one row, each just right of its edge:
        the padding keeps a clear gap before the next edge and its label.
        """
        pad = "5" if self.o.rankdir in ("TB", "BT") else "1"
        return (
            f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="{pad}">'
            f"<TR><TD>{'<BR/>'.join(lines)}</TD></TR></TABLE>>"
        )

    def _edge_label(self, j: int, k: int, name: str) -> tuple[str | None, list[str]]:
        """(HTML label, texts) for input ``k`` of node ``j``: local derivative, then product."""
        a, o = self.a, self.o
        if not o.edge_labels:
            return None, []
        self.present.add("edge")
        local = edge_local_text(a, j, k, o.fmt, o.local_text)
        texts = _local_lines(local) if o.is_narrow else [local]
        lines = [esc(t) for t in texts]
        verdict = self._verdict(j, k)
        if verdict:
            texts.append(verdict)
            lines.append(f"<B>{_colored(verdict, BLAME)}</B>")
        if not self.backward:
            return self._edge_table(lines), texts
        self.present.add("amount")
        prod = self._slot(name, texts, f"e{j}_{k}prod", "prod", (j, k))
        color = edge_color(a, j, k, self.state)
        return self._edge_table([*lines, _colored(prod, color)]), texts

    def _verdict(self, j: int, k: int) -> str:
        """``yours 0.75 ≠ numeric 0.7864``: what check_backward found on a wrong edge."""
        blamed = self.blamed
        if blamed is None or (
            (j, k) != (blamed.node, blamed.input) and (j, k) not in self.also_wrong
        ):
            return ""
        assert self.blame is not None
        e = next(e for e in self.blame.wrong if (e.node, e.input) == (j, k))
        fmt = self.o.fmt
        if math.isnan(e.numeric):
            lo, hi = (fmt_num(d, fmt) for d in e.one_sided)
            return f"yours {fmt_num(e.yours, fmt)}, not in [{lo}, {hi}]"
        return f"yours {fmt_num(e.yours, fmt)} ≠ numeric {fmt_num(e.numeric, fmt)}"

    def _blame_attrs(self, j: int, k: int) -> dict[str, str]:
        """A wrong edge's look: the first one red and thick, any other red and dashed."""
        blamed = self.blamed
        if blamed is not None and (j, k) == (blamed.node, blamed.input):
            self.present.add("blamed")
            return {"color": BLAME, "penwidth": "3.5", "fontcolor": BLAME}
        if (j, k) in self.also_wrong:
            self.present.add("also_wrong")
            return {"color": BLAME, "penwidth": "2", "style": "dashed"}
        return {}

    def _blame_lines(self, say: Callable[[str, str], None]) -> None:
        """The legend's account of ``blame=``: the verdict, then what the red marks mean."""
        width = NARROW_WRAP if self.o.is_narrow else 100
        if self.verdict is not None:
            colour = "#2b8a3e" if self.verdict.ok else BLAME
            for part in textwrap.wrap(f"check_value_class: {self.verdict.message}", width):
                say(part, colour)
            if "marked" in self.present:
                say(
                    "red box: the first node, in backward order, whose grad differs from "
                    "microgradnn's (expected: microgradnn's grad for the same graph)",
                    BLAME,
                )
        if self.blame is None:
            if self.verdict is not None and "affected" in self.present:
                say("pink bold grad: differs from microgradnn's too", BLAME)
            return
        if self.verdict is None:
            verdict = str(self.blame)
            colour = BLAME if self.blamed is not None else "#2b8a3e"
            for part in textwrap.wrap(f"check_backward: {verdict}", width):
                say(part, colour)
        if "blamed" in self.present:
            say("thick red edge: the first wrong local derivative, in backward order", BLAME)
        if "also_wrong" in self.present:
            say("dashed red edge: another wrong local derivative, further back", BLAME)
        if "affected" in self.present:
            if self.verdict is not None:
                say("pink bold grad: differs from microgradnn's too", BLAME)
            else:
                say(
                    "pink bold grad: fed by the wrong edge, so wrong too (the grads between "
                    "that edge and the output are still right)",
                    BLAME,
                )

    def _emit_edges(self, g: GraphPicture, boxes: set[str]) -> None:
        a, o = self.a, self.o
        merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for j, v in enumerate(a.order):
            if v._op is None or self.element[j] is None:
                continue
            box = self._box(j)
            if box is not None and not box[1]:
                continue  # another example's inside is not drawn
            dst = box[0] if box is not None else f"v{j}op"
            if box is None:
                out_attrs = self._attrs(f"v{j}out", "mg-edge mg-result")
                if j in self.hl.nodes:
                    out_attrs.update(color=HIGHLIGHT, penwidth="2.5")
                g.edge(f"v{j}op", f"v{j}", **out_attrs)
            for k, p in enumerate(v._prev):
                if type(p) is not Value:
                    if box is not None:
                        src = self._pseudo_input(g, j, k, float(p))
                        if src is not None:
                            merged.setdefault((src, dst), []).append((j, k))
                    elif not o.hide_constants:
                        self.present.add("const_edge")
                        g.edge(
                            f"v{j}c{k}",
                            dst,
                            style="dashed",
                            color=COLORS["const"],
                            arrowhead="none" if self.backward else "normal",
                            arrowtail="none",
                            **self._attrs(f"e{j}_{k}", "mg-edge mg-const"),
                        )
                    continue
                i = a.index[id(p)]
                src = self.element[i]
                assert src is not None
                if src == dst:
                    continue
                if src in boxes or dst in boxes:
                    merged.setdefault((src, dst), []).append((j, k))
                    continue
                name = f"e{j}_{k}"
                label, texts = self._edge_label(j, k, name)
                attrs = self._attrs(name, "mg-edge")
                if (j, k) in self.hl.edges:
                    attrs.update(color=HIGHLIGHT, penwidth="2.5")
                attrs.update(self._blame_attrs(j, k))
                if label is not None:
                    attrs["label"] = label
                    self.texts[name] = texts
                self.edge_elements[(j, k)] = name
                g.edge(src, dst, **attrs)
        for src, dst in sorted(merged, key=lambda e: (_place(e[0]), _place(e[1]))):
            self._emit_merged(g, src, dst, merged[(src, dst)])

    def _rows(self, key: str) -> NeuronInfo | None:
        """The neuron whose box lists its weights as rows, each an input's landing port."""
        assert self.info is not None
        m = re.fullmatch(r"n(\d+)", key)
        if m is None or self.o.cluster != "neuron":
            return None
        neuron = self.info.neurons[int(m.group(1))]
        return neuron if 0 < len(neuron.w) <= MAX_WEIGHT_ROWS else None

    def _row(self, j: int, k: int) -> int | None:
        """The weight position that input ``k`` of node ``j`` meets (its row), if any."""
        w = self._weight_input(j, k)
        g = self.groups[j]
        if w is None or g is None or self.info is None:
            return None
        return next(t for t, u in enumerate(self.info.neurons[g].w) if u is w)

    def _emit_merged(
        self, g: GraphPicture, src: str, dst: str, uses: list[tuple[int, int]]
    ) -> None:
        """An edge that touches a neuron or layer box: one use, or several drawn as one.

        An input of a neuron whose box lists its weights lands on its weight's row, so the
        edge needs no label: the row says what it carries.
        """
        a = self.a
        tail, head = _PORTS[self.o.rankdir]
        const = all(type(a.order[j]._prev[k]) is not Value for j, k in uses)
        attrs: dict[str, str] = {}
        if const:
            self.present.add("const_edge")
            attrs.update(style="dashed", color=COLORS["const"])
        if src in self.pseudo.values() or src.startswith(("n", "L")):
            attrs["tailport"] = tail
        label: str | None = None
        texts: list[str] = []
        if len(uses) == 1:
            j, k = uses[0]
            name = f"e{j}_{k}"
            row = self._row(j, k)
            if row is not None and self._rows(dst) is not None:
                attrs["headport"] = f"i{row}:{head}"
                self.row_use[(dst, row)] = (j, k)
            elif row is not None:
                self.present.add("weight_edge")
                attrs["headport"] = head
            elif not const:
                label, texts = self._edge_label(j, k, name)
        else:
            name = f"m_{src}_{dst}"
            if all(self._row(j, k) is not None for j, k in uses):
                self.present.add("weights")
                text = f"{len(uses)} weights"
            else:
                self.present.add("values")
                text = f"{len(uses)} values"
            label, texts = self._edge_table([esc(text)]), [text]
            if dst.startswith(("n", "L")):
                attrs["headport"] = head
        cls = "mg-edge mg-merged" + (" mg-const" if const else "")
        attrs.update(self._attrs(name, cls))
        if any(u in self.hl.edges for u in uses):
            attrs.update(color=HIGHLIGHT, penwidth="2.5")
        if label is not None and self.o.edge_labels:
            attrs["label"] = label
            self.texts[name] = texts
        for u in uses:
            self.edge_elements[u] = name
        g.edge(src, dst, **attrs)

    # -- neuron and layer boxes ---------------------------------------------------------------

    def _pseudo_input(self, g: GraphPicture, j: int, k: int, value: float) -> str | None:
        """A first-layer input given as a plain number: one shared box ``x0`` per position.

        The node must be the neuron's product for that input: it consumes the neuron's weight
        ``w_pos`` and this plain number, nothing else.
        """
        assert self.info is not None
        grp = self.groups[j]
        w = self._weight_input(j, k)
        if grp is None or w is None:
            return None
        neuron = self.info.neurons[grp]
        pos = next(t for t, u in enumerate(neuron.w) if u is w)
        key = (neuron.layer, pos)
        if key not in self.pseudo:
            name = f"in{neuron.layer}_{pos}"
            label = f"x{pos}" if neuron.layer == 0 else f"in{pos}"
            text = f"{label} = {fmt_num(value, self.o.fmt)}"
            self.texts[name] = [text]
            self.present.add("input")
            g.node(
                name,
                label=f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
                f'<TR><TD BGCOLOR="{COLORS["input"]}">{esc(text)}</TD></TR></TABLE>>',
                shape="plain",
                tooltip=f"input {pos} of layer {neuron.layer} (a plain number)",
                **self._attrs(name, "mg-value mg-input"),
            )
            self.pseudo[key] = name
        return self.pseudo[key]

    def _call_nodes(self, k: int, call: int) -> tuple[int | None, int | None]:
        """(Σ, output) of neuron ``k``'s call ``call``: the output is the activation, else Σ."""
        assert self.nodes is not None
        sums = [i for i in self.nodes.sums[k] if self.nodes.calls[i] == call]
        if not sums:
            return None, None
        acts = [i for i in self.nodes.activations[k] if self.nodes.calls[i] == call]
        return sums[0], acts[0] if acts else sums[0]

    def _emit_box(self, g: GraphPicture, key: str, members: list[int]) -> None:
        assert self.info is not None
        assert self.nodes is not None
        o = self.o
        main = "x" not in key
        call = self.example if main else int(key.split("x")[1])
        neurons = sorted({k for k in (self.groups[i] for i in members) if k is not None})
        if o.cluster == "layer":
            layer = self.info.neurons[neurons[0]].layer
            neurons = [k for k, n in enumerate(self.info.neurons) if n.layer == layer]
        calls = [self._call_nodes(k, call) for k in neurons]
        outs = [out for _, out in calls if out is not None]
        n0 = self.info.neurons[neurons[0]]
        if o.cluster == "layer":
            title = f"layer {n0.layer}"
            acts = sorted({self.info.neurons[k].activation for k in neurons})
            second = f"{len(neurons)} × {'/'.join(acts)}"
        else:
            title, second = n0.short, n0.activation
        if not main:
            second = f"example {call} of {self.examples}"
        rows = self._rows(key) if main else None
        vertical = o.rankdir in ("TB", "BT")
        n_w = len(rows.w) + (rows.b is not None) if rows is not None else 0
        cols = max(2, n_w if vertical else (2 if self.backward else 1))
        texts: list[str] = []

        def cell(text: str, span: int = cols, align: str = "LEFT", port: str = "") -> str:
            at = f' PORT="{port}"' if port else ""
            return f'<TD ALIGN="{align}" COLSPAN="{span}"{at}>{text}</TD>'

        def header() -> list[str]:
            texts.extend([title, second])
            bg = f'BGCOLOR="{COLORS["group"]}"'
            return [
                f'<TR><TD {bg} ALIGN="LEFT" COLSPAN="{cols - 1}"><B>{esc(title)}</B></TD>'
                f'<TD {bg} ALIGN="RIGHT">{esc(second)}</TD></TR>'
            ]

        out: list[str] = []
        for part in self._box_parts(key, main, rows, vertical):
            if part == "header":
                out += header()
            elif part == "values":
                out += [f"<TR>{cell(c)}</TR>" for c in self._box_values(key, calls, outs, texts)]
            elif rows is not None:
                out += self._weight_rows(key, rows, texts, cols, vertical, cell)
        if main and self.examples > 1:
            texts.append(f"example {call} of {self.examples}")
            out.append(f"<TR>{cell(esc(texts[-1]))}</TR>")
        self.texts[key] = texts
        self.present.add(o.cluster or "neuron")
        highlighted = any(i in self.hl.nodes for i in members)
        border, color = ("3", HIGHLIGHT) if highlighted else ("1", "#7048e8")
        if highlighted:
            self.present.add("highlight")
        label = (
            f'<<TABLE BORDER="{border}" COLOR="{color}" CELLBORDER="0" CELLSPACING="0" '
            f'CELLPADDING="2">{"".join(out)}</TABLE>>'
        )
        g.node(
            key,
            label=label,
            shape="plain",
            tooltip=self._box_tooltip(title, neurons, members),
            **self._attrs(key, "mg-group"),
        )

    def _box_parts(
        self, key: str, main: bool, rows: NeuronInfo | None, vertical: bool
    ) -> list[str]:
        """The order of a box's parts: the weights face the side where the inputs arrive."""
        if rows is None:
            return ["header", "values"]
        if self.o.rankdir == "TB":
            return ["weights", "header", "values"]
        return ["header", "values", "weights"]

    def _box_values(
        self,
        key: str,
        calls: list[tuple[int | None, int | None]],
        outs: list[int],
        texts: list[str],
    ) -> list[str]:
        """A box's value rows (HTML): its output, the output's grad and how it adds up, z.grad."""
        a, o = self.a, self.o
        main = "x" not in key
        show_grad = o.show_grad or self.backward
        rows: list[str] = []
        if not outs:
            return rows
        texts.append(f"out {_spread([a.order[i].data for i in outs], o.fmt)}")
        rows.append(esc(texts[-1]))
        if not show_grad:
            return rows
        if len(outs) == 1:
            t = self._slot(key, texts, f"v{outs[0]}grad", "grad", (outs[0],), "out.")
        else:
            t = self._slot(key, texts, f"{key}range", "range", tuple(outs), "out.")
        rows.append(self._grad_font(t, outs))
        if self.backward and main and o.cluster == "neuron" and len(outs) == 1:
            uses = self._drawn_uses(outs[0])
            if 2 <= len(uses) <= MAX_SUM_TERMS:
                self.present.add("uses")
                ref = (outs[0], *(x for use in uses for x in use))
                t = self._slot(key, texts, f"v{outs[0]}uses", "uses", ref)
                rows.append(f'<FONT POINT-SIZE="{self.pt(10)}">{esc(t)}</FONT>')
        zs = [z for z, out in calls if z is not None and z != out]
        if self.backward and main and o.cluster == "neuron" and zs:
            self.present.add("zgrad")
            t = self._slot(key, texts, f"v{zs[0]}grad", "grad", (zs[0],), "z.")
            rows.append(self._grad_font(t, zs))
        if main and o.cluster == "layer":
            assert self.info is not None
            layer = int(key[1:])
            weights = [
                a.index[id(w)]
                for n in self.info.neurons
                if n.layer == layer
                for w in n.w
                if id(w) in a.index
            ]
            if weights:
                self.present.add("wmean")
                t = self._slot(key, texts, f"{key}wmean", "wmean", tuple(weights), "mean |w.grad| ")
                rows.append(self._grad_font(t, weights))
        return rows

    def _drawn_uses(self, i: int) -> list[tuple[int, int]]:
        """The uses of node ``i`` in the picture, in the order they are drawn (top to bottom)."""
        uses = [(j, k) for j, k in self.a.consumers[i] if (j, k) in self.edge_elements]

        def where(use: tuple[int, int]) -> tuple[tuple[int, int, int], int]:
            el = self.element[use[0]]
            return _place(el or ""), self._row(*use) or 0

        return sorted(uses, key=where)

    def _weight_rows(
        self,
        key: str,
        neuron: NeuronInfo,
        texts: list[str],
        cols: int,
        vertical: bool,
        cell: Callable[..., str],
    ) -> list[str]:
        """One row (top to bottom: one column) per weight: the port its input lands on.

        Backward, beside each weight: z.grad × w, what goes back along that input's edge.
        Texts are registered in the order graphviz writes them (row by row), so that the
        stepper finds each one.
        """
        o, a = self.o, self.a
        arrow = {"LR": "←", "RL": "→", "TB": "↑", "BT": "↓"}[o.rankdir]
        self.present.add("weight_rows")
        n = len(neuron.w)

        def weight(t: int) -> str:
            texts.append(f"w{t} {fmt_num(neuron.w[t].data, o.fmt)}")
            return esc(texts[-1])

        def amount(t: int) -> str:
            use = self.row_use.get((key, t))
            if use is None or type(a.order[use[0]]._prev[use[1]]) is not Value:
                return ""
            self.present.add("amount")
            j, k = use
            text = self._slot(key, texts, f"e{j}_{k}amount", "amount", (j, k), f"{arrow} ")
            return _colored(text, edge_color(a, j, k, self.state))

        def bias() -> str:
            assert neuron.b is not None
            texts.append(f"b {fmt_num(neuron.b.data, o.fmt)}")
            return esc(texts[-1])

        rows: list[str] = []
        if vertical:
            span = 2 if n == 1 and neuron.b is None else 1

            def weights_row() -> str:
                cells = [cell(weight(t), span, "CENTER", f"i{t}") for t in range(n)]
                if neuron.b is not None:
                    cells.append(cell(bias(), 1, "CENTER"))
                return "<TR>" + "".join(cells) + "</TR>"

            def amounts_row() -> str:
                cells = [cell(amount(t), span, "CENTER") for t in range(n)]
                if neuron.b is not None:
                    cells.append(cell("", 1))
                return "<TR>" + "".join(cells) + "</TR>"

            if not self.backward:
                return [weights_row()]
            if o.rankdir == "BT":
                return [amounts_row(), weights_row()]
            return [weights_row(), amounts_row()]
        for t in range(n):
            if not self.backward:
                rows.append(f"<TR>{cell(weight(t), cols, port=f'i{t}')}</TR>")
            elif o.rankdir == "RL":
                back = cell(amount(t), 1)
                rows.append(f"<TR>{back}{cell(weight(t), cols - 1, port=f'i{t}')}</TR>")
            else:
                w = cell(weight(t), cols - 1, port=f"i{t}")
                rows.append(f"<TR>{w}{cell(amount(t), 1)}</TR>")
        if neuron.b is not None:
            rows.append(f"<TR>{cell(bias())}</TR>")
        return rows

    def _box_tooltip(self, title: str, neurons: list[int], members: list[int]) -> str:
        assert self.info is not None
        tip = [f"{title}: {len(neurons)} neuron(s), {len(members)} graph nodes collapsed"]
        if len(neurons) == 1:
            n = self.info.neurons[neurons[0]]
            tip.append(n.name)
            tip.extend(
                f"{w.label or f'w{t}'} = {w.data:.6g}, grad {w.grad:.6g}" for t, w in enumerate(n.w)
            )
            if n.b is not None:
                tip.append(f"b = {n.b.data:.6g}, grad {n.b.grad:.6g}")
        return "\n".join(tip)

    def _emit_ranks(self, g: GraphPicture, boxes: list[str]) -> None:
        """Inputs, then each layer, as columns (rows top to bottom), neurons in index order."""
        assert self.info is not None
        assert self.nodes is not None
        columns: dict[int, list[tuple[tuple[int, int], str]]] = {}
        drawn = set(boxes)
        for k, n in enumerate(self.info.neurons):
            main = f"L{n.layer}" if self.o.cluster == "layer" else f"n{k}"
            order = 0 if self.o.cluster == "layer" else n.index
            if main in drawn:
                columns.setdefault(n.layer, []).append(((0, order), main))
            for c in range(1, self.examples):
                other = f"{main}x{c}"
                if other in drawn:
                    columns.setdefault(n.layer, []).append(((c, order), other))
        inputs: dict[int, str] = {}
        first = min(columns, default=0)
        for (layer, pos), name in self.pseudo.items():
            if layer == first:
                inputs.setdefault(pos, name)
        for j, el in enumerate(self.element):
            g_j = self.groups[j]
            box = self._box(j) if el is not None else None
            if box is None or not box[1] or g_j is None or self.info.neurons[g_j].layer != first:
                continue
            neuron = self.info.neurons[g_j]
            for k, p in enumerate(self.a.order[j]._prev):
                w = self._weight_input(j, k)
                if type(p) is not Value or w is None or p._op is not None:
                    continue
                i = self.a.index[id(p)]
                if not self._hidden(i):
                    inputs.setdefault(next(t for t, u in enumerate(neuron.w) if u is w), f"v{i}")
        ranks = [[inputs[p] for p in sorted(inputs)]]
        for layer in sorted(columns):
            seen: dict[str, None] = {}
            for _, name in sorted(columns[layer]):
                seen.setdefault(name, None)
            ranks.append(list(seen))
        for r, names in enumerate(ranks):
            if not names:
                continue
            sub = graphviz.Digraph(name=f"{self.p}rank{r}")
            sub.attr(rank="same")
            for name in names:
                sub.node(name)
            for x, y in itertools.pairwise(names):
                sub.edge(x, y, style="invis")
            g.subgraph(sub)


NARROW_EDGE_TEXT = 16
"""In a narrow picture, a local-derivative text longer than this goes on two lines."""


def _array_op_color(k: int) -> str:
    return ARRAY_OP_COLORS[k % len(ARRAY_OP_COLORS)]


def _array_op_text(graph: CompiledGraph, k: int) -> str:
    """A legend swatch's words for array op ``k``: what it is and how many nodes it computes."""
    op = graph.array_ops[k]
    if op.kind == "matmul":
        rows, cols = op.shape
        what = f"layer {op.layer}'s W·x{' + b' if op.bias else ''} (W {rows}×{cols})"
        return f"{k + 1}: {what}, one matmul: {op.n_nodes} nodes"
    return f"{k + 1}: one {op.kind} call: {op.n_nodes} node{'' if op.n_nodes == 1 else 's'}"


def _local_lines(text: str) -> list[str]:
    """A local derivative's text as lines: ``∂o/∂n`` above ``= 1 - o² = 0.5`` when it is long.

    >>> _local_lines("∂(x1*w1)/∂x1 = w1 = -3")
    ['∂(x1*w1)/∂x1', '= w1 = -3']
    >>> _local_lines("∂n/∂b = 1")
    ['∂n/∂b = 1']
    """
    head, sep, rest = text.partition(" = ")
    if not sep or len(text) <= NARROW_EDGE_TEXT:
        return [text]
    return [head, f"= {rest}"]


_ELEMENT = re.compile(r"(?:n|L)(\d+)(?:x(\d+))?|in\d+_(\d+)|v(\d+)")


def _place(element: str) -> tuple[int, int, int]:
    """Where an element sits in its column: inputs by position, boxes by neuron then example."""
    m = _ELEMENT.fullmatch(element)
    if m is None:
        return (3, 0, 0)
    box, call, pos, node = m.groups()
    if pos is not None:
        return (0, 0, int(pos))
    if node is not None:
        return (2, 0, int(node))
    return (1, int(call or 0), int(box))


def draw_dot(
    root: Any,
    view: str = "forward",
    *,
    rankdir: str = "LR",
    fmt: str = ".4g",
    hide_constants: bool = False,
    show_grad: bool = True,
    local_text: bool = True,
    edge_labels: bool = True,
    legend: bool = True,
    model: object = None,
    cluster: str | None = None,
    collapse: bool = True,
    max_nodes: int | None = DEFAULT_MAX_NODES,
    id_prefix: str = "",
    format: str = "svg",
    fontsize: float = BASE_FONTSIZE,
    narrow: bool | None = None,
    blame: BackwardCheck | ValueClassCheck | None = None,
    compiled: CompiledGraph | None = None,
) -> GraphPicture:
    """Draw the computation graph that produced ``root``.

    Args:
        root: The output Value (usually a loss or a model's output); also your own
            micrograd-style Value (``data``, ``grad``, ``_prev``, ``_op``, ``_backward``),
            drawn with your data and grads and the op table's derivatives on the edges
            (``x * x`` draws both edges, though a set ``_prev`` keeps ``x`` once).
        view: ``"forward"`` (data, grads, local derivatives on the edges) or ``"backward"``
            (arrows from output to inputs; each edge shows ``grad(out) × local`` and each Value
            used more than once how its contributions sum to its grad). Call
            ``root.backward()`` before drawing the backward view.
        rankdir: ``"LR"`` (left to right), ``"TB"`` (top to bottom), ``"RL"`` or ``"BT"``.
            Left to right suits a notebook on a wide screen and reads like the lecture; top
            to bottom makes a narrow picture (see ``narrow``) for a page column or a phone.
        fmt: Format spec for numbers, e.g. ``".4g"`` or ``".3f"``.
        hide_constants: Fold plain-number inputs into their op node (``* 2``) instead of
            drawing each as a small box.
        show_grad: Show each Value's grad in the forward view (always shown backward).
        local_text: Write each local derivative's formula (``1 - o²``) beside its number.
        edge_labels: Label edges at all (labels make layout of large graphs ~4x slower).
        legend: Add a legend under the graph.
        model: The model (``MLP``, ``Layer``, ``Neuron``) or a list of parameter Values that
            built the graph; marks parameters exactly (without it, leaves labeled like ``w1``
            or ``b`` are shown as parameters) and enables ``cluster``.
        cluster: ``"neuron"`` or ``"layer"``: draw the network as a network, the inputs, then
            each layer as a column (neuron 0 first), then the loss. A neuron's box says which
            neuron it is (``L0.N2 tanh``), its output and grad, and lists its weights, each
            the row where that input's edge arrives (backward, beside it: ``z.grad × w``, what
            goes back along that edge). A loss over several examples calls each neuron once per
            example: the boxes show example 0 and say so.
        collapse: With ``cluster``, draw each neuron/layer as one summary box (True) or keep all
            nodes inside a labeled frame (False).
        max_nodes: Refuse to draw more nodes than this (``None``: no limit).
        id_prefix: Prefix for the SVG ``id`` attributes, to keep ids unique when several
            pictures share one HTML page.
        format: The graph's default output format for graphviz's ``.render()`` (``"svg"``,
            ``"png"``, ``"pdf"``), as in micrograd's ``draw_dot(root, format="svg")``.
        fontsize: The size in points of the smallest texts, the edge labels (default 10);
            every other text scales with it (values 12, the legend 11 to 15). A picture
            shown smaller than its size shrinks its texts with it: in a column of width C
            pixels, a picture W points wide shows a 10 pt text at 10 × 4/3 × C / (W × 4/3)
            pixels, so raise this, or narrow the picture, until that is 11 or more.
        narrow: Lay the picture out for a narrow column: each Value box stacks its name,
            data and grad as rows, a long local derivative takes two lines (``∂o/∂n`` above
            ``= 1 - o² = 0.5``) and the legend wraps. ``None`` (default): narrow when
            ``rankdir`` is ``"TB"`` or ``"BT"``, where width is what runs out, and one row
            per box left to right, where height does. Neuron and layer boxes keep their
            own layout either way.
        blame: What :func:`~microgradnn.check_backward` found on this graph: the first wrong
            edge is drawn thick and red with your derivative next to the numeric one, every
            grad it feeds is marked red, and the legend says why (the same as
            ``blame.picture()``). Or what :func:`~microgradnn.check_value_class` found: the
            first node whose grad differs is boxed in red beside microgradnn's grad.
        compiled: A :class:`~microgradnn.compile.CompiledGraph` traced from the function that
            built ``root`` on one example (``compile_model(model, loss, ...)`` and ``root =
            loss([model(x)], [y])``): each op node is filled with the colour of the array
            operation that computes it in the batched replay (a layer's products and Σ are one
            matmul), and the legend names each one (see ``compiled.explain()``).

    Returns:
        A :class:`GraphPicture` (a ``graphviz.Digraph``): shows inline in Jupyter; use
        :func:`render` or ``.pipe(format="svg")`` to save it.

    Raises:
        TypeError: ``root`` is not a Value, or ``model`` is not a model/parameter list.
        ValueError: Bad option, or the graph is bigger than ``max_nodes``.

    >>> from microgradnn import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b; c.label = "c"
    >>> c.backward()
    >>> print(draw_dot(c, "backward", legend=False).source)  # doctest: +ELLIPSIS
    digraph microgradnn {
    ...
        v0 -> v2op [label=<<TABLE ...><TD>∂c/∂a = b = -3<BR/><FONT ...>1 × -3 = -3</FONT>...
    ...
    """
    verdict = None
    if isinstance(blame, ValueClassCheck):
        verdict, blame = blame, None
        if verdict.mirror is None:
            raise ValueError(f"blame: this check found nothing to draw ({verdict.message})")
        if root is not verdict.root and root is not verdict.mirror.root:
            raise ValueError(
                "blame: this check is of another graph; pass the root it found (blame.root), "
                "or draw it with blame.picture()"
            )
        root = verdict.mirror.root
    elif isinstance(blame, BackwardCheck) and blame.source is not None and root is blame.source:
        root = blame.root
    root = check_root(root)
    opts = DrawOptions(
        view=view,
        rankdir=rankdir,
        fmt=fmt,
        hide_constants=hide_constants,
        show_grad=show_grad,
        local_text=local_text,
        edge_labels=edge_labels,
        legend=legend,
        cluster=cluster,
        collapse=collapse,
        max_nodes=max_nodes,
        id_prefix=id_prefix,
        format=format,
        fontsize=fontsize,
        narrow=narrow,
    )
    if cluster is not None and model is None:
        raise ValueError(
            f"cluster={cluster!r} needs model=<the model that built the graph>, whose "
            "parameters tell which nodes belong to which neuron"
        )
    info = model_info(model) if model is not None else None
    if compiled is not None:
        if not isinstance(compiled, CompiledGraph):
            raise TypeError(
                f"compiled: expected a CompiledGraph (from compile_model or trace), got "
                f"{describe(compiled)}"
            )
        if cluster is not None:
            raise ValueError(
                "compiled= colours each scalar node, which cluster= folds into boxes: pass "
                "one or the other"
            )
    if blame is not None:
        if not isinstance(blame, BackwardCheck):
            raise TypeError(
                f"blame: expected what check_backward(root) returns, got {describe(blame)}"
            )
        if blame.root is not root:
            raise ValueError(
                "blame: this check is of another graph; pass the root it checked "
                "(blame.root), or draw it with blame.picture()"
            )
    return _Builder(root, opts, info, blame=blame, verdict=verdict, compiled=compiled).build().graph


def _blame_picture(check: BackwardCheck, options: dict[str, object]) -> GraphPicture:
    """``check.picture(**options)``: the checked graph, backward view unless told otherwise."""
    kwargs = {"view": "backward", **options}
    return draw_dot(check.root, blame=check, **kwargs)  # type: ignore[arg-type]


def _verdict_picture(check: ValueClassCheck, options: dict[str, object]) -> GraphPicture:
    """``check.picture(**options)``: the learner's graph with the first differing node marked."""
    kwargs = {"view": "backward", **options}
    return draw_dot(check.root, blame=check, **kwargs)  # type: ignore[arg-type]


set_picture_maker(_blame_picture)
value_check.set_picture_maker(_verdict_picture)


def build_picture(
    root: Value,
    options: DrawOptions,
    info: ModelInfo | None = None,
    state: State | None = None,
    highlight: Highlight | None = None,
    analysis: Analysis | None = None,
    explain: Iterable[str] = (),
) -> BuiltPicture:
    """Draw a picture for a given gradient state, with what the stepper needs to animate it.

    :func:`draw_dot` is this with the graph's own gradients; the stepper passes each frame's
    :class:`~microgradnn.viz.analysis.State` and :class:`~microgradnn.viz.analysis.Highlight`.

    Args:
        root: The graph's output.
        options: The drawing options.
        info: The model's parameters and neurons (needed for ``options.cluster``).
        state: The gradients to show (default: the graph's own).
        highlight: What to emphasise (default: nothing).
        analysis: ``root``'s analysis, when it was already made.
        explain: What the legend explains even where this state does not show it: the
            stepper's page marks ``"highlight"`` (the step that ran) and ``"pending"`` (grads
            not final yet) frame by frame.
    """
    return _Builder(root, options, info, state, highlight, analysis, explain).build()
