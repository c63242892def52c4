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
``cluster="neuron"`` or ``"layer"`` to collapse each neuron (its products, Σ and activation)
or each layer into one summary box; ``collapse=False`` keeps every node and draws boxes
(graphviz clusters) around them instead. Beyond ``max_nodes`` an expanded drawing raises a
``ValueError`` that suggests these options.

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

import math
import re
from dataclasses import dataclass, field

import graphviz

from microgradnn._checks import choice, describe, flag, integer
from microgradnn.engine import Value
from microgradnn.viz.analysis import (
    COLORS,
    HIGHLIGHT,
    KIND_TEXT,
    NEGATIVE,
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
    grad_is_final,
    grad_text,
    has_sum_cell,
    sign_color,
    sum_text,
)
from microgradnn.viz.clusters import ModelInfo, NodeGroups, assign_groups, model_info
from microgradnn.viz.display import GraphPicture, GraphvizNotFoundError, render
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
]

VIEWS = ("forward", "backward")
RANKDIRS = ("LR", "TB", "RL", "BT")
CLUSTERS = (None, "neuron", "layer")
FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "dot", "json")
DEFAULT_MAX_NODES = 500
FONT = "Helvetica"

# ---------------------------------------------------------------------------------------------
# DOT building.


@dataclass(frozen=True)
class Slot:
    """One text in the SVG that the stepper rewrites frame by frame.

    Attributes:
        element: The DOT name of the node or edge holding the text.
        position: Index among the element's ``<text>`` elements.
        name: The slot's name: ``v3grad``, ``v3sum`` (node 3's grad and sum cells) or
            ``e5_1prod`` (the product text on the edge into input 1 of node 5).
    """

    element: str
    position: int
    name: str


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


@dataclass
class BuiltPicture:
    """A drawn picture plus what the stepper needs to animate it.

    Attributes:
        graph: The picture.
        analysis: The graph it shows.
        slots: The texts that change from one stepper frame to the next.
        texts: Per DOT element name, the texts it shows, in the order graphviz writes them.
    """

    graph: GraphPicture
    analysis: Analysis
    slots: list[Slot] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)


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


def _legend(view: str, note: str) -> str:
    cells = "".join(
        f'<TD BGCOLOR="{COLORS[k]}">{t}</TD>'
        for k, t in (
            ("input", "input"),
            ("param", "parameter"),
            ("value", "computed"),
            ("output", "output"),
        )
    )
    cells += '<TD BORDER="0">  ( op )  </TD><TD BORDER="0"><FONT COLOR="#868e96">const</FONT></TD>'
    if view == "forward":
        explain = "edge label: local derivative ∂out/∂in, from the op table"
    else:
        explain = (
            "gradient flows from the output back to the inputs; edge label: local ∂out/∂in, then "
            "grad(out) × local = amount added to the input's grad"
        )
    rows = f"<TR>{cells}</TR>"
    rows += f'<TR><TD COLSPAN="6" BORDER="0"><FONT POINT-SIZE="10">{esc(explain)}</FONT></TD></TR>'
    if note:
        rows += (
            f'<TR><TD COLSPAN="6" BORDER="0"><FONT POINT-SIZE="10" COLOR="{NEGATIVE}">'
            f"{esc(note)}</FONT></TD></TR>"
        )
    return (
        '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="2" CELLPADDING="3">'
        f'<TR><TD COLSPAN="6" BORDER="0"><FONT POINT-SIZE="10">{view} view</FONT></TD></TR>'
        f"{rows}</TABLE>>"
    )


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
    ) -> None:
        self.o = opts
        self.info = info
        if analysis is None:
            analysis = analyze(root, info.param_names if info is not None else None)
        self.a = analysis
        self.state = state if state is not None else final_state(self.a)
        self.hl = highlight or Highlight()
        self.p = opts.id_prefix
        self.backward = opts.view == "backward"
        self.slots: list[Slot] = []
        self.texts: dict[str, list[str]] = {}
        n = len(self.a.order)
        self.groups: list[int | None] = [None] * n
        self.nodes: NodeGroups | None = None
        if opts.cluster is not None and info is not None:
            self.nodes = assign_groups(self.a.order, info)
            self.groups = list(self.nodes.groups)
            self.groups[self.a.root] = None  # the output stays visible, outside every box
        self.collapsed = opts.cluster is not None and opts.collapse

    # -- ids and group keys -------------------------------------------------------------------

    def _key(self, g: int) -> str:
        assert self.info is not None
        if self.o.cluster == "layer":
            return f"L{self.info.neurons[g].layer}"
        return f"n{g}"

    def _hidden(self, i: int) -> bool:
        return self.collapsed and self.groups[i] is not None

    def _attrs(self, name: str, cls: str, **extra: str) -> dict[str, str]:
        attrs = {"id": self.p + name, "class": cls}
        attrs.update(extra)
        return attrs

    # -- counting -----------------------------------------------------------------------------

    def count_nodes(self) -> tuple[int, int, int, int]:
        """(total, values, ops, constants) the picture would draw."""
        values = ops = consts = 0
        groups: set[str] = set()
        for i, v in enumerate(self.a.order):
            if self._hidden(i):
                g = self.groups[i]
                assert g is not None
                groups.add(self._key(g))
                continue
            values += 1
            if v._op is not None:
                ops += 1
                if not self.o.hide_constants:
                    consts += sum(1 for p in v._prev if type(p) is not Value)
        return values + ops + consts + len(groups), values, ops, consts

    # -- labels -------------------------------------------------------------------------------

    def value_label(self, i: int) -> tuple[str, list[str], dict[str, int]]:
        a, o, st = self.a, self.o, self.state
        v = a.order[i]
        kind = a.kinds[i]
        name = a.names[i]
        texts = [name, f"data {fmt_num(v.data, o.fmt)}"]
        dynamic: dict[str, int] = {}
        name_cell = (
            f"<B>{esc(name)}</B>" if v.label else f'<FONT COLOR="#868e96">{esc(name)}</FONT>'
        )
        cells = [
            f'<TD BGCOLOR="{COLORS[kind]}">{name_cell}</TD>',
            f"<TD>{esc(texts[1])}</TD>",
        ]
        if o.show_grad or self.backward:
            gt = grad_text(a, i, st, o.fmt)
            dynamic["grad"] = len(texts)
            texts.append(gt)
            color = HIGHLIGHT if i in self.hl.changed else "#000000"
            grad_cell = f'<FONT COLOR="{color}">{esc(gt)}</FONT>'
            if self.backward and not grad_is_final(a, i, st) and i not in self.hl.changed:
                grad_cell = f'<FONT COLOR="#868e96">{esc(gt)}</FONT>'
            cells.append(f"<TD>{grad_cell}</TD>")
            if self.backward and has_sum_cell(a, i, st):
                s = sum_text(a, i, st, o.fmt) or "…"
                dynamic["sum"] = len(texts)
                texts.append(s)
                cells.append(f'<TD><FONT POINT-SIZE="11">{esc(s)}</FONT></TD>')
        border = "2" if kind == "output" else "1"
        color = ' COLOR="' + HIGHLIGHT + '"' if i in self.hl.nodes else ""
        if i in self.hl.nodes:
            border = "3"
        label = (
            f'<<TABLE BORDER="{border}"{color} CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
            f"<TR>{''.join(cells)}</TR></TABLE>>"
        )
        return label, texts, dynamic

    def tooltip(self, i: int) -> str:
        a = self.a
        v = a.order[i]
        full = a.param_names.get(id(v))
        head = f"{a.names[i]}" + (f" = {full}" if full and full != v.label else "")
        lines = [
            f"{head}: {KIND_TEXT[a.kinds[i]]}",
            f"data = {v.data!r}",
            f"grad = {self.state.grads[i]!r}",
        ]
        if v._op is not None:
            lines.insert(1, f"{a.names[i]} = {a.expression(i, '.6g')}")
        return "\n".join(lines)

    # -- the picture --------------------------------------------------------------------------

    def build(self) -> BuiltPicture:
        a, o = self.a, self.o
        total, values, ops, consts = self.count_nodes()
        if o.max_nodes is not None and total > o.max_nodes:
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
        g = GraphPicture(name="microgradnn", format=o.format)
        g.attr(rankdir=o.rankdir, fontname=FONT, nodesep="0.25", ranksep="0.45")
        g.attr("node", fontname=FONT, fontsize="12")
        g.attr("edge", fontname=FONT, fontsize="10", color="#495057", arrowsize="0.7")
        if self.backward:
            g.attr("edge", dir="back")
        if o.legend:
            note = ""
            if self.backward and self.state.seeded and all(x == 0.0 for x in self.state.grads):
                note = "every grad is 0: call backward() on the output first"
            g.attr(label=_legend(o.view, note), labelloc="b", labeljust="l")
        clusters = self._make_clusters(g)
        for i in range(len(a.order)):
            if self._hidden(i):
                continue
            target = clusters.get(self.groups[i]) if self.groups[i] is not None else None
            self._emit_value(target or g, i)
        if self.collapsed:
            self._emit_groups(g)
        self._emit_edges(g)
        attached: set[int] = set()
        for sub in clusters.values():
            if id(sub) not in attached:
                attached.add(id(sub))
                g.subgraph(sub)
        return BuiltPicture(graph=g, analysis=a, slots=self.slots, texts=self.texts)

    # Clusters (collapse=False): graphviz subgraphs filled as nodes are emitted, then attached.

    def _make_clusters(self, g: GraphPicture) -> dict[int | None, graphviz.Digraph]:
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
        label, texts, dynamic = self.value_label(i)
        self.texts[name] = texts
        for slot, pos in dynamic.items():
            self.slots.append(Slot(name, pos, f"v{i}{slot}"))
        g.node(
            name,
            label=label,
            shape="plain",
            tooltip=self.tooltip(i),
            **self._attrs(name, f"mg-value mg-{a.kinds[i]}"),
        )
        if v._op is None:
            return
        op_name = f"v{i}op"
        symbol = _fold_constants(v, o.fmt) if o.hide_constants else v._op.symbol
        self.texts[op_name] = [symbol]
        attrs = self._attrs(op_name, "mg-op")
        if i in self.hl.nodes:
            attrs.update(color=HIGHLIGHT, penwidth="3")
        g.node(
            op_name,
            label=symbol,
            shape="ellipse",
            style="filled",
            fillcolor=COLORS["op"],
            margin="0.05,0.02",
            height="0.3",
            tooltip=f"{a.names[i]} = {a.expression(i, '.6g')}\n{v._op.doc}",
            **attrs,
        )
        if not o.hide_constants:
            for k, p in enumerate(v._prev):
                if type(p) is Value:
                    continue
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
                    fontsize="10",
                    margin="0.04,0.02",
                    height="0.2",
                    width="0.3",
                    tooltip=f"constant {p!r} (a plain number: it gets no gradient)",
                    **self._attrs(cname, "mg-const"),
                )

    def _edge_label(self, j: int, k: int) -> tuple[str | None, list[str], int | None]:
        """(HTML label, texts, index of the dynamic product text) for input k of node j."""
        a, o = self.a, self.o
        if not o.edge_labels:
            return None, [], None
        local = edge_local_text(a, j, k, o.fmt, o.local_text)
        if not self.backward:
            return f'<<FONT POINT-SIZE="10">{esc(local)}</FONT>>', [local], None
        prod = edge_product_text(a, j, k, self.state, o.fmt)
        color = edge_color(a, j, k, self.state)
        label = (
            f'<<FONT POINT-SIZE="10">{esc(local)}</FONT><BR/>'
            f'<FONT POINT-SIZE="10" COLOR="{color}">{esc(prod)}</FONT>>'
        )
        return label, [local, prod], 1

    def _emit_edges(self, g: GraphPicture) -> None:
        a, o = self.a, self.o
        pseudo: dict[tuple[int, int], str] = {}
        merged: dict[tuple[str, str], list[tuple[int, int]]] = {}
        for j, v in enumerate(a.order):
            if v._op is None:
                continue
            hidden_j = self._hidden(j)
            dst = self._group_name(j) if hidden_j else f"v{j}op"
            if not hidden_j:
                out_attrs = self._attrs(f"v{j}out", "mg-edge mg-result")
                if j in self.hl.nodes:
                    out_attrs.update(color=HIGHLIGHT, penwidth="2.5")
                g.edge(f"v{j}op", f"v{j}", **out_attrs)
            for k, p in enumerate(v._prev):
                ename = f"e{j}_{k}"
                if type(p) is not Value:
                    if hidden_j:
                        src = self._pseudo_input(g, pseudo, j, k, float(p))
                        if src is not None:
                            merged.setdefault((src, dst), []).append((j, k))
                    elif not o.hide_constants:
                        g.edge(
                            f"v{j}c{k}",
                            dst,
                            style="dashed",
                            color=COLORS["const"],
                            arrowhead="none" if self.backward else "normal",
                            arrowtail="none",
                            **self._attrs(ename, "mg-edge mg-const"),
                        )
                    continue
                i = a.index[id(p)]
                src = self._group_name(i) if self._hidden(i) else f"v{i}"
                if self.collapsed and (self._hidden(i) or hidden_j):
                    if src != dst:
                        merged.setdefault((src, dst), []).append((j, k))
                    continue
                label, texts, dyn = self._edge_label(j, k)
                attrs = self._attrs(ename, "mg-edge")
                if (j, k) in self.hl.edges:
                    attrs.update(color=HIGHLIGHT, penwidth="2.5")
                if label is not None:
                    attrs["label"] = label
                    self.texts[ename] = texts
                    if dyn is not None:
                        self.slots.append(Slot(ename, dyn, f"e{j}_{k}prod"))
                g.edge(src, dst, **attrs)
        for (src, dst), uses in merged.items():
            attrs = self._attrs(f"m_{src}_{dst}", "mg-edge mg-merged")
            if len(uses) > 1:
                attrs["label"] = f"×{len(uses)}"
            elif self.backward and o.edge_labels:
                total = math.fsum(edge_amount(a, j, k, self.state) for j, k in uses)
                attrs["label"] = (
                    f"+{fmt_num(total, o.fmt)}" if total >= 0 else fmt_num(total, o.fmt)
                )
                attrs["fontcolor"] = sign_color(total)
            g.edge(src, dst, **attrs)

    # -- collapsed groups ---------------------------------------------------------------------

    def _group_name(self, i: int) -> str:
        g = self.groups[i]
        assert g is not None
        return self._key(g)

    def _pseudo_input(
        self, g: GraphPicture, pseudo: dict[tuple[int, int], str], j: int, k: int, value: float
    ) -> str | None:
        """A first-layer input given as a plain number: one shared box ``x0`` per position.

        The node must be the neuron's product for that input: it consumes the neuron's weight
        ``w_pos`` and this plain number, nothing else.
        """
        assert self.info is not None
        v = self.a.order[j]
        grp = self.groups[j]
        if grp is None or len(v._prev) != 2:
            return None
        neuron = self.info.neurons[grp]
        other = v._prev[1 - k]
        pos = next((t for t, w in enumerate(neuron.w) if w is other), None)
        if pos is None:
            return None
        key = (neuron.layer, pos)
        if key not in pseudo:
            name = f"in{neuron.layer}_{pos}"
            label = f"x{pos}" if neuron.layer == 0 else f"in{pos}"
            text = f"{label} = {fmt_num(value, self.o.fmt)}"
            g.node(
                name,
                label=f'<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="4">'
                f'<TR><TD BGCOLOR="{COLORS["input"]}">{esc(text)}</TD></TR></TABLE>>',
                shape="plain",
                tooltip=f"input {pos} of layer {neuron.layer} (a plain number)",
                **self._attrs(name, "mg-value mg-input"),
            )
            pseudo[key] = name
        return pseudo[key]

    def _emit_groups(self, g: GraphPicture) -> None:
        assert self.info is not None
        a, o = self.a, self.o
        members: dict[str, list[int]] = {}
        for i, grp in enumerate(self.groups):
            if grp is not None:
                members.setdefault(self._key(grp), []).append(i)
        show_grad = o.show_grad or self.backward
        for key, idx in members.items():
            neurons = sorted({g for g in (self.groups[i] for i in idx) if g is not None})
            outs = [self._neuron_output(k) for k in neurons]
            outs_v = [a.order[i] for i in outs if i is not None]
            weights = [w for k in neurons for w in self.info.neurons[k].w]
            n0 = self.info.neurons[neurons[0]]
            acts = sorted({self.info.neurons[k].activation for k in neurons})
            cells = []
            if o.cluster == "layer":
                title = f"layer {n0.layer}"
                cells.append(f"{len(neurons)} × {'/'.join(acts)}")
                if outs_v:
                    lo = min(v.data for v in outs_v)
                    hi = max(v.data for v in outs_v)
                    if lo == hi:
                        cells.append(f"out {fmt_num(lo, o.fmt)}")
                    else:
                        cells.append(f"out ∈ [{fmt_num(lo, o.fmt)}, {fmt_num(hi, o.fmt)}]")
            else:
                title = n0.short
                cells.append(acts[0])
                if outs_v:
                    cells.append(f"out {fmt_num(outs_v[0].data, o.fmt)}")
                    if show_grad:
                        cells.append(f"grad {fmt_num(outs_v[0].grad, o.fmt)}")
            if show_grad and weights:
                mean = math.fsum(abs(w.grad) for w in weights) / len(weights)
                cells.append(f"mean |w.grad| {fmt_num(mean, o.fmt)}")
            body = "".join(f'<TR><TD ALIGN="LEFT">{esc(c)}</TD></TR>' for c in cells)
            label = (
                '<<TABLE BORDER="1" COLOR="#7048e8" CELLBORDER="0" CELLSPACING="0" '
                f'CELLPADDING="2"><TR><TD BGCOLOR="{COLORS["group"]}"><B>{esc(title)}</B></TD>'
                f"</TR>{body}</TABLE>>"
            )
            names = [self.info.neurons[k].name for k in neurons]
            tip = [f"{title}: {len(neurons)} neuron(s), {len(idx)} graph nodes collapsed"]
            if len(names) == 1:
                n = self.info.neurons[neurons[0]]
                tip.append(n.name)
                tip.extend(f"{w.label or 'w'} = {w.data:.6g}, grad {w.grad:.6g}" for w in n.w)
                if n.b is not None:
                    tip.append(f"b = {n.b.data:.6g}, grad {n.b.grad:.6g}")
            g.node(
                key,
                label=label,
                shape="plain",
                tooltip="\n".join(tip),
                **self._attrs(key, "mg-group"),
            )

    def _neuron_output(self, k: int) -> int | None:
        """The node neuron ``k`` hands on (its activation, else its Σ), found by structure."""
        assert self.nodes is not None
        return self.nodes.output(k)


def draw_dot(
    root: Value,
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
) -> GraphPicture:
    """Draw the computation graph that produced ``root``.

    Args:
        root: The output Value (usually a loss or a model's output).
        view: ``"forward"`` (data, grads, local derivatives on the edges) or ``"backward"``
            (arrows from output to inputs; each edge shows ``grad(out) × local`` and each Value
            used more than once how its contributions sum to its grad). Call
            ``root.backward()`` before drawing the backward view.
        rankdir: ``"LR"`` (left to right), ``"TB"`` (top to bottom), ``"RL"`` or ``"BT"``.
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
        cluster: ``"neuron"`` or ``"layer"``: group the graph by the model's neurons/layers.
        collapse: With ``cluster``, draw each neuron/layer as one summary box (True) or keep all
            nodes inside a labeled frame (False).
        max_nodes: Refuse to draw more nodes than this (``None``: no limit).
        id_prefix: Prefix for the SVG ``id`` attributes, to keep ids unique when several
            pictures share one HTML page.
        format: The graph's default output format for graphviz's ``.render()`` (``"svg"``,
            ``"png"``, ``"pdf"``), as in micrograd's ``draw_dot(root, format="svg")``.

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
        v0 -> v2op [label=<<FONT ...>∂c/∂a = b = -3</FONT><BR/><FONT ...>1 × -3 = -3</FONT>> ...]
    ...
    """
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
    )
    if cluster is not None and model is None:
        raise ValueError(
            f"cluster={cluster!r} needs model=<the model that built the graph>, whose "
            "parameters tell which nodes belong to which neuron"
        )
    info = model_info(model) if model is not None else None
    return _Builder(root, opts, info).build().graph


def build_picture(
    root: Value,
    options: DrawOptions,
    info: ModelInfo | None = None,
    state: State | None = None,
    highlight: Highlight | None = None,
    analysis: Analysis | None = None,
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
    """
    return _Builder(root, options, info, state, highlight, analysis).build()
