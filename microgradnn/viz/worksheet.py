r"""Backprop worksheets: a graph with its values filled in and numbered, empty gradient boxes.

:func:`worksheet` draws the numbers of an expression (``"tanh(w1*x1 + w2*x2 + b)"``), of a small
model (a :class:`~microgradnn.Neuron` or a tiny :class:`~microgradnn.MLP`) or of a graph you
built, from a seed: the same seed gives the same numbers and the same picture source, another
seed other numbers on the same graph, so each student can get a sheet of their own. The numbers
are short decimals (one by default) that a student can compute with by hand; draws that put an
op on a kink (relu at 0), make a value infinite or leave a gradient too small to tell from 0 are
drawn again.

A sheet shows each Value's name and data and, for its gradient, a numbered empty box. Box 1 is
next to the output and the numbers follow backward order, so filling the boxes in order is
doing backpropagation: every box's grad needs only the boxes before it. The output's own grad is
given (1). :meth:`Worksheet.picture` is the sheet (SVG/PNG, shown inline in Jupyter),
:meth:`Worksheet.html` a page that prints on A4 or Letter, :meth:`Worksheet.key_picture` and
``html(key=True)`` the answer key: the engine's gradients.

:func:`grade` marks a student's answers, ``{box name or number: answer}``, box by box in
backward order: ``correct`` within a tolerance for rounding; ``follow-through`` when the answer
is wrong only because it correctly used a wrong earlier answer (the chain-rule step at this box
was right: recomputed with the local derivatives from the student's own upstream answers);
``wrong`` or ``missing`` otherwise, with a note on the classic slips (a sign, only one of two
uses summed, the local derivative without the upstream grad). It reports the first wrong box:
where the student's chain rule first went wrong. Grading needs neither graphviz's ``dot`` nor a
browser, and a sheet saved with :meth:`Worksheet.save` grades the same after
:func:`load_worksheet`.

>>> sheet = worksheet("n = w*x + b; o = tanh(n)", seed=1)
>>> sheet.names, [(n.name, n.data) for n in sheet.nodes if n.op is None]
(['n', 'b', 'w*x', 'x', 'w'], [('w', 1.3), ('x', -2.0), ('b', 1.5)])
>>> round(sheet.key["n"], 4)
0.3592
>>> # A sign slip at box 3, carried on correctly into boxes 4 and 5:
>>> answers = {"n": 0.36, "b": 0.36, "w*x": -0.36, "x": -0.36 * 1.3, "w": -0.36 * -2.0}
>>> result = grade(sheet, answers)
>>> result.first_wrong.box, result.first_wrong.name
(3, 'w*x')
>>> print(result.first_wrong.note)
the sign is flipped; should be 0.36 × 1 = 0.36 (grad(n) × ∂n/∂(w*x), from the grads before it)
>>> [m.status for m in result.marks], result.score
(['correct', 'correct', 'wrong', 'follow-through', 'follow-through'], 4.0)
"""

from __future__ import annotations

import ast
import copy
import hashlib
import html
import json
import math
import numbers
import operator
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import combinations
from pathlib import Path
from typing import Any

from microgradnn import ops
from microgradnn._checks import choice, describe, flag, integer, keys, number
from microgradnn._files import atomic_write
from microgradnn.engine import Value
from microgradnn.module import Module
from microgradnn.ops import Op
from microgradnn.viz.analysis import (
    COLORS,
    NEGATIVE,
    POSITIVE,
    ZERO,
    Analysis,
    State,
    analyze,
    grad_text,
)
from microgradnn.viz.display import GraphPicture, fit_width, render
from microgradnn.viz.expr import parse_expression
from microgradnn.viz.graph import DrawOptions, build_picture
from microgradnn.viz.text import esc, fmt_num, number_format, wrap_name

__all__ = [
    "ABS_TOL",
    "MAX_VALUES",
    "REL_TOL",
    "Grade",
    "Mark",
    "SheetNode",
    "Worksheet",
    "grade",
    "load_worksheet",
    "worksheet",
]

MAX_VALUES = 40
"""The most Values a worksheet draws (the output included): more is not a sheet to do by hand.

``Neuron(2)`` makes 8, ``MLP(2, [2, 1])`` 22, ``MLP(2, [3, 1])`` 31."""

REL_TOL = 0.01
"""Default relative tolerance of :func:`grade`: 1% of the right answer."""

ABS_TOL = 0.005
"""Default absolute tolerance of :func:`grade`: an answer rounded to 2 decimals always passes."""

MIN_GRAD = 0.05
"""A drawn sheet prefers gradients of at least this size (or exactly 0), which a student who
rounds to 2 decimals can tell from 0."""

MAX_DRAWS = 200
"""How many draws of the numbers a sheet tries before it takes the best one it found."""

MAX_FILE_BYTES = 2_000_000
"""The largest worksheet file :func:`load_worksheet` reads."""

FORMAT = "microgradnn worksheet"
VERSION = 1
KINDS = ("input", "param", "value", "output")
SOURCES = ("expression", "model", "value")
STATUSES = ("correct", "follow-through", "wrong", "missing")

BOX = "#e8590c"
"""The colour of a box number."""
MARK_FILL = {
    "correct": "#d3f9d8",
    "follow-through": "#fff3bf",
    "wrong": "#ffe3e3",
    "missing": "#f1f3f5",
}
"""A graded box's fill, per status."""

_INFIX: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


# -- the sheet ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetNode:
    """One Value of a worksheet's graph, as plain data (what a saved sheet holds).

    Attributes:
        name: What the picture calls it (``w1``, ``w1*x1``, ``L0.N0.z``).
        kind: ``"input"``, ``"param"``, ``"value"`` (computed) or ``"output"``.
        data: Its value.
        grad: d(output)/d(this Value): the answer key.
        op: The op table's name of the op that made it (None for a leaf).
        inputs: The op's inputs: an ``int`` is an earlier node's index, a ``float`` a constant.
        local: The local derivative d(this)/d(input) per input.
        labeled: Whether the name is a label (bold in the picture) rather than an expression.
    """

    name: str
    kind: str
    data: float
    grad: float
    op: str | None = None
    inputs: tuple[int | float, ...] = ()
    local: tuple[float, ...] = ()
    labeled: bool = True


@dataclass(frozen=True)
class Worksheet:
    """A worksheet: its graph's nodes (in graph order), the boxes to fill in, how to draw it.

    Make one with :func:`worksheet`; equal sheets compare equal, so a saved and loaded sheet
    equals the one saved.

    Attributes:
        title: The heading of the sheet (the expression, or the model's repr).
        made_from: ``"expression"``, ``"model"`` or ``"value"`` (a graph you built).
        seed: The seed that drew its numbers (None: a graph's own numbers).
        nodes: Every Value of the graph, each after its inputs; the output is last.
        boxes: The nodes whose grads the sheet asks for, in backward order: box 1 is
            ``nodes[boxes[0]]``.
        hints: Whether the edges show each local derivative (an easier sheet).
        rankdir: The picture's direction (``"TB"`` top to bottom suits a page).
        fmt: The number format of the values shown.
    """

    title: str
    made_from: str
    seed: int | str | None
    nodes: tuple[SheetNode, ...]
    boxes: tuple[int, ...]
    hints: bool = False
    rankdir: str = "TB"
    fmt: str = ".4g"

    @property
    def names(self) -> list[str]:
        """The boxes' names in box order (box 1 first)."""
        return [self.nodes[i].name for i in self.boxes]

    @property
    def key(self) -> dict[str, float]:
        """The answer key: box name -> the grad it should hold (the engine's, from backward())."""
        return {self.nodes[i].name: self.nodes[i].grad for i in self.boxes}

    @property
    def root(self) -> int:
        """The output's index in :attr:`nodes`."""
        return len(self.nodes) - 1

    def box_of(self, i: int) -> int | None:
        """The box number of node ``i`` (None: the sheet does not ask for its grad)."""
        return self._box_numbers.get(i)

    @cached_property
    def _box_numbers(self) -> dict[int, int]:
        return {node: k + 1 for k, node in enumerate(self.boxes)}

    @cached_property
    def consumers(self) -> list[list[tuple[int, int]]]:
        """Per node, its uses ``(consumer index, input position)``, in backward order."""
        uses: list[list[tuple[int, int]]] = [[] for _ in self.nodes]
        for j in range(len(self.nodes) - 1, -1, -1):
            for k, p in enumerate(self.nodes[j].inputs):
                if type(p) is int:
                    uses[p].append((j, k))
        return uses

    # -- the graph behind the pictures -----------------------------------------------------------

    @cached_property
    def graph(self) -> tuple[Value, Analysis]:
        """The sheet's graph rebuilt from its nodes with the op table, after ``backward()``."""
        root, analysis = _build(self.nodes)
        return root, analysis

    def _picture(self, cell: Callable[[int], str], legend: list[tuple[str, str]]) -> GraphPicture:
        """The forward picture with each grad cell replaced by ``cell(i)`` and our own legend."""
        root, a = self.graph
        n = len(self.nodes)
        state = State(
            grads=[1.0 if i == self.root else 0.0 for i in range(n)],
            processed=[False] * n,
            computed=[i == self.root for i in range(n)],
        )
        options = DrawOptions(
            rankdir=self.rankdir,
            fmt=self.fmt,
            edge_labels=self.hints,
            legend=False,
            max_nodes=None,
        )
        g = build_picture(root, options, None, state, analysis=a).graph
        for i in range(n):
            head = f"\tv{i} ["
            old = f"<TD>{esc(grad_text(a, i, state, self.fmt))}</TD>"
            lines = [k for k, line in enumerate(g.body) if line.startswith(head)]
            if len(lines) != 1 or g.body[lines[0]].count(old) != 1:
                raise RuntimeError(
                    f"worksheet: the grad cell of v{i} ({old}) is not where it was expected in "
                    "the picture's source; microgradnn.viz.graph has changed its layout"
                )
            g.body[lines[0]] = g.body[lines[0]].replace(old, cell(i))
        g.attr(label=_legend(legend, self.fmt), labelloc="t", labeljust="l")
        return g

    def _cell(self, i: int, text: str, fill: str = "#ffffff", color: str = "") -> str:
        """A grad cell: the box number, then ``text`` (blank: room to write)."""
        box = self.box_of(i)
        if i == self.root:
            return "<TD>grad 1 (given)</TD>"
        if box is None:
            return ""
        shown = esc(text) if not color else f'<FONT COLOR="{color}">{esc(text)}</FONT>'
        return (
            f'<TD BGCOLOR="{fill}" WIDTH="96" ALIGN="LEFT"><FONT COLOR="{BOX}"><B>{box}</B>'
            f"</FONT> grad {shown}</TD>"
        )

    def picture(self) -> GraphPicture:
        """The sheet to fill in: values shown, each asked grad an empty numbered box.

        A ``graphviz.Digraph`` (:class:`~microgradnn.viz.GraphPicture`): shows inline in
        Jupyter; ``.source`` needs no graphviz program, rendering needs ``dot``.
        """
        return self._sheet_picture(heading=True)

    def key_picture(self) -> GraphPicture:
        """The answer key: the same picture with each box holding the engine's grad."""
        return self._key_picture(heading=True)

    def _sheet_picture(self, heading: bool) -> GraphPicture:
        lines = [
            (f"Worksheet: {self.title}", "title"),
            (self._instructions(), ""),
            (self._footer(), "small"),
        ]
        return self._picture(lambda i: self._cell(i, ""), lines if heading else [])

    def _key_picture(self, heading: bool) -> GraphPicture:
        lines = [
            (f"Answer key: {self.title}", "title"),
            (
                f"Each box holds ∂{self._root_name}/∂value from backward() (blue positive, red "
                f"negative). {self._footer()}",
                "small",
            ),
        ]

        def cell(i: int) -> str:
            g = self.nodes[i].grad
            return self._cell(i, fmt_num(g, self.fmt), color=_sign_color(g))

        return self._picture(cell, lines if heading else [])

    def _instructions(self) -> str:
        root = self._root_name
        return (
            f"Write in each numbered box that Value's grad, ∂{root}/∂value. {root}'s own grad is "
            "1; go backward from it, box 1 first: each box needs only the boxes before it."
        )

    @property
    def source(self) -> str:
        """The DOT source of the blank sheet (no graphviz program needed)."""
        return str(self.picture().source)

    @property
    def _root_name(self) -> str:
        return self.nodes[self.root].name

    def _footer(self) -> str:
        seed = "the graph's own numbers" if self.seed is None else f"seed {self.seed!r}"
        return f"{len(self.boxes)} boxes; {seed}; values shown to 4 significant digits"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> Any:
        return self.picture()._repr_mimebundle_(include, exclude)

    def __repr__(self) -> str:
        seed = "" if self.seed is None else f", seed={self.seed!r}"
        return f"<Worksheet {self.title!r}{seed}: {len(self.boxes)} boxes>"

    # -- files ------------------------------------------------------------------------------------

    def html(self, key: bool = False) -> str:
        """A page that prints on A4 or Letter: the picture, then a table of the boxes.

        The page turns landscape for a wide picture. Needs graphviz's ``dot`` (the picture is
        rendered into the page as SVG).

        Args:
            key: The answer key instead of the blank sheet.
        """
        flag("key", key)
        g = self._key_picture(heading=False) if key else self._sheet_picture(heading=False)
        svg = g.rendered("svg")
        svg = svg[svg.index("<svg") :]
        size = re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', svg)
        wide = size is not None and float(size.group(1)) > 1.3 * float(size.group(2))
        svg = fit_width(svg, most=0)
        rows = []
        for box, i in enumerate(self.boxes, start=1):
            node = self.nodes[i]
            answer = fmt_num(node.grad, self.fmt) if key else ""
            rows.append(
                f"<tr><td class=box>{box}</td><td>{esc(node.name)}</td>"
                f"<td>{fmt_num(node.data, self.fmt)}</td><td class=answer>{answer}</td></tr>"
            )
        title = ("Answer key: " if key else "Worksheet: ") + self.title
        intro = (
            "The engine's gradients, from backward()."
            if key
            else f"{self._instructions()} Write on the picture or in the table; two decimals "
            "are enough."
        )
        return _PAGE.format(
            title=html.escape(title),
            orientation="landscape" if wide else "portrait",
            # What is left of a page under the heading, on A4 and on Letter alike.
            print_height="140mm" if wide else "175mm",
            name="" if key else _NAME_LINE,
            intro=html.escape(intro),
            footer=html.escape(self._footer()),
            svg=svg,
            root=esc(self._root_name),
            rows="\n".join(rows),
        )

    def save_html(self, path: str | Path, key: bool = False) -> Path:
        """Write :meth:`html` to ``path`` (atomically); returns the path."""
        return atomic_write(path, self.html(key=key))

    def render(self, path: str | Path, key: bool = False) -> Path:
        """Write the sheet's (or key's) picture to ``path``; the suffix picks ``.svg``/``.png``."""
        flag("key", key)
        return render(self.key_picture() if key else self.picture(), path)

    def to_json(self) -> str:
        """The sheet as JSON text (what :meth:`save` writes)."""
        nodes = []
        for n in self.nodes:
            inputs = [{"node": p} if type(p) is int else {"const": p} for p in n.inputs]
            nodes.append(
                {
                    "name": n.name,
                    "kind": n.kind,
                    "labeled": n.labeled,
                    "data": n.data,
                    "grad": n.grad,
                    "op": n.op,
                    "inputs": inputs,
                    "local": list(n.local),
                }
            )
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "title": self.title,
            "made_from": self.made_from,
            "seed": self.seed,
            "hints": self.hints,
            "rankdir": self.rankdir,
            "fmt": self.fmt,
            "boxes": list(self.boxes),
            "nodes": nodes,
        }
        return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the sheet to ``path`` as JSON (atomically), for :func:`load_worksheet`."""
        return atomic_write(path, self.to_json())


_NAME_LINE = (
    '<p class="student">Name: <span class="blank"></span> '
    'Date: <span class="blank short"></span></p>'
)

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 16px auto; max-width: 1100px;
  color: #212529; padding: 0 12px; }}
h1 {{ font-size: 20px; margin: 0 0 6px; }}
p {{ margin: 4px 0 8px; line-height: 1.35; }}
.student {{ font-size: 15px; margin: 10px 0 12px; }}
.blank {{ display: inline-block; width: 260px; border-bottom: 1px solid #212529; }}
.blank.short {{ width: 120px; }}
.footer {{ color: #868e96; font-size: 12px; }}
figure {{ margin: 8px 0 14px; }}
figure svg {{ display: block; max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ border: 1px solid #adb5bd; padding: 4px 10px; text-align: left; }}
th {{ background: #f1f3f5; }}
td.box {{ color: #e8590c; font-weight: bold; text-align: right; }}
td.answer {{ min-width: 140px; }}
@page {{ size: {orientation}; margin: 12mm; }}
@media print {{
  body {{ margin: 0; max-width: none; padding: 0; }}
  figure {{ break-inside: avoid; margin: 4px 0 8px; }}
  figure svg {{ width: 100%; max-height: {print_height}; }}
  table {{ break-inside: avoid; font-size: 12px; }}
  th, td {{ padding: 2px 8px; }}
}}
</style>
</head>
<body>
<h1>{title}</h1>
{name}
<p>{intro}</p>
<figure>{svg}</figure>
<table>
<thead><tr><th>box</th><th>Value</th><th>data</th>
<th>grad = &part;{root}/&part;Value</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<p class="footer">{footer}</p>
</body>
</html>
"""


def _sign_color(x: float) -> str:
    return POSITIVE if x > 0 else NEGATIVE if x < 0 else ZERO


def _legend(lines: list[tuple[str, str]], fmt: str) -> str:
    """A legend in graphviz's HTML labels: the lines (``title``, plain, ``small``), then colours."""
    rows = []
    for text, style in lines:
        for part in _wrap(text, 110):
            if style == "title":
                cell = f'<FONT POINT-SIZE="15"><B>{esc(part)}</B></FONT>'
            elif style == "small":
                cell = f'<FONT POINT-SIZE="11" COLOR="#495057">{esc(part)}</FONT>'
            else:
                cell = f'<FONT POINT-SIZE="12">{esc(part)}</FONT>'
            rows.append(f'<TR><TD ALIGN="LEFT">{cell}</TD></TR>')
    swatches = "".join(
        f'<TD BGCOLOR="{COLORS[kind]}"><FONT POINT-SIZE="11">{word}</FONT></TD>'
        for kind, word in (
            ("input", "input"),
            ("param", "parameter"),
            ("value", "computed"),
            ("output", "output"),
        )
    )
    # graphviz shares a row's spare width among its cells: empty cells after the swatches take
    # it, so the swatches keep their own width.
    rows.append(
        '<TR><TD ALIGN="LEFT"><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0">'
        '<TR><TD><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="3" CELLPADDING="2">'
        f"<TR>{swatches}</TR></TABLE></TD>{'<TD></TD>' * 24}</TR></TABLE></TD></TR>"
    )
    table = '<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
    return f"<{table}{''.join(rows)}</TABLE>>"


def _wrap(text: str, width: int) -> list[str]:
    words = text.split(" ")
    lines: list[str] = []
    line = ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}" if line else w
    return [*lines, line]


# -- building a sheet -----------------------------------------------------------------------------


def worksheet(
    source: str | Module | Value,
    seed: int | str | None = None,
    *,
    values: Mapping[str, float] | None = None,
    ask: str | Sequence[str] = "all",
    decimals: int = 1,
    scale: float = 2.0,
    hints: bool = False,
    title: str | None = None,
    rankdir: str = "TB",
    fmt: str = ".4g",
) -> Worksheet:
    """A worksheet of an expression, a small model or a graph: values shown, grads to fill in.

    Args:
        source: An expression in the language of :func:`~microgradnn.viz.parse_expression`
            (``"tanh(w1*x1 + w2*x2 + b)"``, or statements naming results:
            ``"n = w*x + b; o = tanh(n)"``); a model (``Neuron(2, activation="tanh")``,
            ``MLP(2, [2, 1])``: the seed draws its weights and one input, the model itself is
            left as it is); or the output Value of a graph you built.
        seed: An int, or a string such as a student's id, that draws the numbers: the same
            seed gives the same sheet. Needed for an expression or a model; for a Value, None
            keeps the graph's own numbers and a seed draws new ones for its leaves.
        values: Numbers that are not drawn, by leaf name (``{"x1": 1.0}``): the same on every
            student's sheet.
        ask: ``"all"`` (every Value but the output), ``"leaves"`` (inputs and parameters) or
            a list of names: whose grads the sheet asks for.
        decimals: Drawn numbers have this many decimals (0 to 2).
        scale: Drawn numbers lie in [-scale, scale], never 0.
        hints: Write each edge's local derivative on the sheet (an easier exercise).
        title: The sheet's heading (default: the expression, or the model's repr).
        rankdir: ``"TB"`` (top to bottom, fits a page) or ``"LR"`` (as the lecture draws).
        fmt: How the values are written (``".4g"``: 4 significant digits).

    Returns:
        The :class:`Worksheet`.

    Raises:
        TypeError: ``source`` is none of those, or an argument of the wrong type.
        ValueError: A bad expression (an :class:`~microgradnn.viz.ExpressionError`), a graph
            of more than :data:`MAX_VALUES` Values, a missing seed, an unknown name in
            ``values`` or ``ask``, or no draw that makes every value finite.

    >>> sheet = worksheet("tanh(w*x + b)", seed=7)
    >>> again = worksheet("tanh(w*x + b)", seed=7)
    >>> sheet == again, sheet.source == again.source
    (True, True)
    >>> [n.data for n in sheet.nodes if n.op is None] != [
    ...     n.data for n in worksheet("tanh(w*x + b)", seed=8).nodes if n.op is None]
    True
    """
    decimals = integer("decimals", decimals, low=0, high=2)
    scale = number("scale", scale, low=0.0, high=100.0, low_open=True)
    if round(scale * 10**decimals) < 1:
        raise ValueError(
            f"scale: expected at least {10.0**-decimals:g} with decimals={decimals} (the "
            f"smallest non-zero number drawn), got {scale!r}"
        )
    hints = flag("hints", hints)
    rankdir = choice("rankdir", rankdir, ("TB", "LR", "BT", "RL"))
    fmt = number_format("fmt", fmt)
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title: expected a string or None, got {describe(title)}")
    root, params, made_from, default_title = _template(source)
    if seed is None and made_from != "value":
        raise ValueError(
            f"seed: a worksheet of {'an expression' if made_from == 'expression' else 'a model'} "
            "needs a seed (an int, or a string such as a student's id): it draws the numbers"
        )
    if seed is not None and not isinstance(seed, str):
        integer("seed", seed)
    a = analyze(root, params)
    if len(a.order) > MAX_VALUES:
        what = {"expression": "expression", "model": "model", "value": "graph"}[made_from]
        raise ValueError(
            f"the {what}'s graph has {len(a.order)} Values, more than a worksheet's limit of "
            f"{MAX_VALUES} (MAX_VALUES), too many to work out by hand: use a smaller one, "
            "such as Neuron(2) (8 Values) or MLP(2, [2, 1]) (22 Values)"
        )
    template = _template_nodes(a)
    boxes = _boxes(template, ask)
    fixed = _fixed_values(template, values)
    nodes = _draw(template, boxes, fixed, seed, decimals, scale)
    sheet = Worksheet(
        title=default_title if title is None else title,
        made_from=made_from,
        seed=seed,
        nodes=nodes,
        boxes=boxes,
        hints=hints,
        rankdir=rankdir,
        fmt=fmt,
    )
    return sheet


def _template(source: object) -> tuple[Value, dict[int, str] | None, str, str]:
    """(a graph of the source's shape, its parameters' names, what it is, the default title)."""
    if isinstance(source, str):
        names = _variable_names(source)
        root, _ = parse_expression(source, dict.fromkeys(names, 1.0))
        return root, None, "expression", source.strip()
    if type(source) is Value:
        return source, None, "value", source.label or "your graph"
    if isinstance(source, Module):
        model = copy.deepcopy(source)
        model.eval()
        nin = getattr(model, "nin", None)
        if type(nin) is not int:
            raise TypeError(
                f"source: expected a model with a number of inputs (nin), such as a Neuron or an "
                f"MLP, got {describe(source)}"
            )
        x = [Value(0.5, label=f"x{i}") for i in range(nin)]
        out: object = model(x)  # type: ignore[operator]  # Module has no __call__; its models do
        if isinstance(out, list) and len(out) == 1:
            out = out[0]
        if type(out) is not Value:
            count = len(out) if isinstance(out, list) else "several"
            raise ValueError(
                f"source: a worksheet needs a model with one output, this one has {count}: "
                "draw a worksheet of a Neuron or of an MLP ending in 1 output"
            )
        params = {id(p): name for name, p in model.named_parameters()}
        shown = repr(source)
        return out, params, "model", shown if len(shown) <= 60 else type(source).__name__
    raise TypeError(
        "source: expected an expression (str), a model (Neuron, MLP) or a Value, got "
        f"{describe(source)}"
    )


def _variable_names(text: str) -> list[str]:
    """The variables of an expression: names read but never assigned and never called."""
    python = text.replace("^", "**")
    loads: list[str] = []
    stores: set[str] = set()
    calls: set[str] = set()
    for piece in re.split(r"[;\n]", python):
        piece = piece.strip()
        if not piece:
            continue
        try:
            tree = ast.parse(piece)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            parse_expression(text)  # raises the language's own error
            raise
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                calls.add(node.func.id)
            elif isinstance(node, ast.Name):
                (stores.add(node.id) if isinstance(node.ctx, ast.Store) else loads.append(node.id))
    names = [n for n in dict.fromkeys(loads) if n not in stores and n not in calls]
    if not names:
        parse_expression(text)  # no variables: the language says so
    return names


def _template_nodes(a: Analysis) -> list[SheetNode]:
    """The graph's nodes as sheet nodes (numbers to be drawn)."""
    nodes = []
    for i, v in enumerate(a.order):
        inputs = tuple(a.index[id(p)] if type(p) is Value else float(p) for p in v._prev)
        nodes.append(
            SheetNode(
                name=a.names[i],
                kind=a.kinds[i],
                data=v.data,
                grad=0.0,
                op=None if v._op is None else v._op.name,
                inputs=inputs,
                labeled=v._op is None or bool(v.label),
            )
        )
    return nodes


def _boxes(nodes: Sequence[SheetNode], ask: str | Sequence[str]) -> tuple[int, ...]:
    """The asked nodes in backward order (each node's uses come before it)."""
    root = len(nodes) - 1
    if isinstance(ask, str):
        which = choice("ask", ask, ("all", "leaves"))
        chosen = [i for i in range(root) if which == "all" or nodes[i].op is None]
    elif isinstance(ask, Sequence) and all(isinstance(n, str) for n in ask) and ask:
        names = {n.name: i for i, n in enumerate(nodes) if i != root}
        unknown = [n for n in ask if n not in names]
        if unknown:
            raise ValueError(
                f"ask: {unknown} {'is not a name' if len(unknown) == 1 else 'are not names'} "
                f"of the graph's Values (but its output); they are: {list(names)}"
            )
        chosen = sorted({names[n] for n in ask})
    else:
        raise TypeError(
            f"ask: expected 'all', 'leaves' or a non-empty list of names, got {describe(ask)}"
        )
    if not chosen:
        raise ValueError("ask: the graph has no Value to ask for but its output")
    return tuple(sorted(chosen, reverse=True))


def _fixed_values(nodes: Sequence[SheetNode], values: object) -> dict[int, float]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values: expected a mapping of leaf names to numbers, got {describe(values)}"
        )
    leaves = {n.name: i for i, n in enumerate(nodes) if n.op is None}
    out = {}
    for name, x in values.items():
        if name not in leaves:
            raise ValueError(
                f"values: {name!r} is not a leaf of the graph; its leaves are {list(leaves)}"
            )
        out[leaves[name]] = number(f"values[{name!r}]", x)
    return out


def _seed_int(seed: int | str) -> int:
    if isinstance(seed, str):
        return int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")
    return int(seed)


def _draw(
    template: list[SheetNode],
    boxes: tuple[int, ...],
    fixed: dict[int, float],
    seed: int | str | None,
    decimals: int,
    scale: float,
) -> tuple[SheetNode, ...]:
    """The sheet's nodes with numbers drawn: the first draw good for a hand, else the best one."""
    leaves = [i for i, n in enumerate(template) if n.op is None]
    rng = random.Random(_seed_int(seed)) if seed is not None else None
    top = round(scale * 10**decimals)
    best: tuple[int, tuple[SheetNode, ...]] | None = None
    for _ in range(MAX_DRAWS if rng is not None else 1):
        data = {}
        for i in leaves:
            if i in fixed:
                data[i] = fixed[i]
            elif rng is not None:
                k = rng.randint(1, top) * rng.choice((-1, 1))
                data[i] = round(k / 10**decimals, decimals)
            else:
                data[i] = template[i].data
        nodes = [
            SheetNode(n.name, n.kind, data.get(i, 0.0), 0.0, n.op, n.inputs, (), n.labeled)
            for i, n in enumerate(template)
        ]
        _, a = _build(nodes)
        quality = _quality(a, boxes)
        if quality is None:
            continue
        drawn = _nodes_of(a, template)
        if best is None or quality > best[0]:
            best = (quality, drawn)
        if quality == len(boxes):
            break
    if best is None:
        where = (
            "with the graph's own numbers"
            if rng is None
            else f"in {MAX_DRAWS} draws of numbers in [-{scale:g}, {scale:g}]"
        )
        raise ValueError(
            f"no worksheet: {where}, some value or gradient is not finite or an op sits on a "
            "kink (a log of a negative number, a division by 0, relu at 0?): give the "
            "leaves numbers that work with values={...}"
        )
    return best[1]


def _nodes_of(a: Analysis, template: Sequence[SheetNode]) -> tuple[SheetNode, ...]:
    return tuple(
        SheetNode(
            name=t.name,
            kind=t.kind,
            data=v.data,
            grad=v.grad,
            op=t.op,
            inputs=t.inputs,
            local=tuple(float(x) for x in v.local_grads()),
            labeled=t.labeled,
        )
        for v, t in zip(a.order, template, strict=True)
    )


def _quality(a: Analysis, boxes: tuple[int, ...]) -> int | None:
    """How many asked grads a hand can tell from 0; None if anything is infinite or on a kink."""
    for v in a.order:
        if not (math.isfinite(v.data) and math.isfinite(v.grad)):
            return None
        locals_ = v.local_grads()
        if not all(math.isfinite(x) for x in locals_):
            return None
        if v._op is not None and any(
            _kinked(v._op, v, k) for k, p in enumerate(v._prev) if type(p) is Value
        ):
            return None
    return sum(1 for i in boxes if abs(a.order[i].grad) >= MIN_GRAD)


def _kinked(op: Op, v: Value, k: int) -> bool:
    """Whether input ``k`` of ``v`` sits at (or within 0.001 of) a kink or jump of its op.

    The two one-sided slopes of the op's forward rule there differ: relu, abs, step at 0.
    """
    xs = [p.data if type(p) is Value else float(p) for p in v._prev]
    x = xs[k]
    h = 1e-3 * max(1.0, abs(x))

    def f(t: float) -> float:
        ys = list(xs)
        ys[k] = t
        return float(op.forward(tuple(ys)) if op.variadic else op.forward(*ys))

    try:
        mid = f(x)
        left = (mid - f(x - h)) / h
        right = (f(x + h) - mid) / h
    except (ValueError, ArithmeticError, TypeError):
        return True
    if not (math.isfinite(left) and math.isfinite(right)):
        return True
    return abs(left - right) > 0.1 * max(1.0, abs(left), abs(right))


def _apply(op: Op, args: list[Value | float], name: str) -> Value:
    """``op`` applied to ``args`` through the engine, as the expression language applies it."""
    out: object = None
    first = args[0] if args else None
    if op.variadic and op.method is not None:
        out = getattr(Value, op.method)(args)
    elif op.infix in _INFIX and len(args) == 2:
        out = _INFIX[op.infix](*args)
    elif op.prefix == "-" and type(first) is Value:
        out = -first
    elif op.method is not None and type(first) is Value:
        out = getattr(Value, op.method)(*args)
    if (
        type(out) is not Value
        or out._op is not op
        or len(out._prev) != len(args)
        or any(
            (p is not q) if type(q) is Value else (type(p) is Value or p != q)
            for p, q in zip(out._prev, args, strict=True)
        )
    ):
        raise ValueError(
            f"cannot rebuild {name!r} with the op {op.name!r} from its inputs (is this inside "
            "no_grad()?)"
        )
    return out


def _op_named(name: str, node: str) -> Op:
    try:
        return ops.get_op(name)
    except KeyError:
        raise ValueError(
            f"{node!r} is made by the op {name!r}, which is not defined here: define it "
            "(microgradnn.define_op) before loading or drawing this worksheet"
        ) from None


def _build(nodes: Sequence[SheetNode]) -> tuple[Value, Analysis]:
    """The graph of ``nodes`` (leaves from their data, the rest by the op table), after backward.

    Every leaf carries its name as its label, so the pictures name each node as the sheet does.
    """
    made: list[Value] = []
    params: dict[int, str] = {}
    for i, n in enumerate(nodes):
        if n.op is None:
            v = Value(n.data, label=n.name)
            if n.kind == "param":
                params[id(v)] = n.name
        else:
            args: list[Value | float] = []
            for p in n.inputs:
                if type(p) is int and not 0 <= p < i:
                    raise ValueError(f"node {i} ({n.name!r}): input {p} is not an earlier node")
                args.append(made[p] if type(p) is int else float(p))
            v = _apply(_op_named(n.op, n.name), args, n.name)
            if n.labeled:
                v.label = n.name
        made.append(v)
    root = made[-1]
    root.backward()
    a = analyze(root, params)
    if len(a.order) != len(nodes) or any(a.index[id(v)] != i for i, v in enumerate(made)):
        raise ValueError(
            "the nodes are not the graph of their last node in graph order (each node after its "
            "inputs, every node used)"
        )
    for i, n in enumerate(nodes):
        if a.names[i] != n.name or a.kinds[i] != n.kind:
            raise ValueError(
                f"node {i}: named {n.name!r} ({n.kind}), but the pictures call it "
                f"{a.names[i]!r} ({a.kinds[i]})"
            )
    return root, a


# -- grading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    """How one box was marked.

    Attributes:
        box: The box number (1 = next to the output).
        name: The Value's name.
        answer: The student's answer (None: blank).
        expected: The right grad (the answer key).
        from_upstream: What this box should hold given the student's own answers for the boxes
            before it: the sum over its uses of (that use's grad, as the student has it) ×
            (the local derivative). Equal to ``expected`` when those answers are right.
        status: ``"correct"``, ``"follow-through"`` (wrong, but right for the student's own
            upstream answers: the slip was made before this box), ``"wrong"`` or ``"missing"``.
        credit: The marks it earns, from 0 to 1.
        note: What went wrong, in words ("" when correct).
    """

    box: int
    name: str
    answer: float | None
    expected: float
    from_upstream: float
    status: str
    credit: float
    note: str = ""


@dataclass(frozen=True)
class Grade:
    """The marks of one student's answers to a worksheet, box by box in backward order.

    Attributes:
        sheet: The worksheet graded.
        marks: One :class:`Mark` per box, box 1 first.
        rel_tol: The relative tolerance used.
        abs_tol: The absolute tolerance used.
        follow_through: The credit a follow-through box earned.
    """

    sheet: Worksheet
    marks: tuple[Mark, ...]
    rel_tol: float
    abs_tol: float
    follow_through: float

    @property
    def score(self) -> float:
        """The marks earned: 1 per correct box, ``follow_through`` per follow-through box."""
        return math.fsum(m.credit for m in self.marks)

    @property
    def total(self) -> int:
        """The marks available: one per box."""
        return len(self.marks)

    @property
    def fraction(self) -> float:
        """``score / total``, from 0 to 1."""
        return self.score / self.total

    @property
    def first_wrong(self) -> Mark | None:
        """The first box, in backward order, that is wrong or blank (None: there is none).

        That is where the student's chain rule first went wrong: every box before it is right.
        """
        return next((m for m in self.marks if m.status in ("wrong", "missing")), None)

    def by_name(self) -> dict[str, Mark]:
        """The marks by box name."""
        return {m.name: m for m in self.marks}

    def as_dict(self) -> dict[str, Any]:
        """The marks as plain data (for a grade book or a JSON file)."""
        first = self.first_wrong
        return {
            "score": self.score,
            "total": self.total,
            "first_wrong": None if first is None else first.box,
            "marks": [
                {
                    "box": m.box,
                    "name": m.name,
                    "answer": m.answer,
                    "expected": m.expected,
                    "from_upstream": m.from_upstream,
                    "status": m.status,
                    "credit": m.credit,
                    "note": m.note,
                }
                for m in self.marks
            ],
        }

    def __str__(self) -> str:
        fmt = self.sheet.fmt
        first = self.first_wrong
        head = f"score {self.score:g} / {self.total} ({self.fraction:.0%})"
        if first is None:
            head += ": every box is right" + (
                "" if all(m.status == "correct" for m in self.marks) else " or follows through"
            )
        else:
            head += (
                f": box {first.box} ({first.name}) is the first "
                f"{'blank' if first.status == 'missing' else 'wrong'} grad, in backward order"
            )
        width = max(len(m.name) for m in self.marks)
        lines = [head]
        for m in self.marks:
            answer = "-" if m.answer is None else fmt_num(m.answer, fmt)
            note = f": {m.note}" if m.note else ""
            lines.append(f"  box {m.box:>2}  {m.name:<{width}}  {answer:>8}  {m.status}{note}")
        return "\n".join(lines)

    def picture(self) -> GraphPicture:
        """The sheet with the student's answers in the boxes, coloured by mark.

        Green: correct; amber: follow-through; red: wrong; grey: blank.
        """
        marks = {self.sheet.boxes[m.box - 1]: m for m in self.marks}
        first = self.first_wrong
        lines = [
            (f"Graded: {self.sheet.title}", "title"),
            (str(self).splitlines()[0], ""),
            (
                "green: right; amber: wrong only because an earlier box was (follow-through); "
                "red: wrong; grey: blank",
                "small",
            ),
        ]

        def cell(i: int) -> str:
            m = marks.get(i)
            if m is None:
                return self.sheet._cell(i, "")
            text = "" if m.answer is None else fmt_num(m.answer, self.sheet.fmt)
            if first is not None and m.box == first.box:
                text += "  ✗ first"
            return self.sheet._cell(i, text, fill=MARK_FILL[m.status])

        return self.sheet._picture(cell, lines)


def grade(
    sheet: Worksheet,
    answers: Mapping[str | int, object],
    *,
    rel_tol: float = REL_TOL,
    abs_tol: float = ABS_TOL,
    follow_through: float = 1.0,
) -> Grade:
    """Mark a student's answers to a worksheet, box by box in backward order.

    An answer is right when ``|answer - right| <= abs_tol + rel_tol * |right|``: by default
    within 0.005 (so any answer rounded to 2 decimals passes) plus 1% of the right value (so
    rounding the values along the way passes too). A wrong answer that is right for the
    student's own answers to the boxes before it (each use's grad as the student has it, times
    the local derivative) is a follow-through: the chain-rule step at that box was done right,
    and it earns ``follow_through`` marks, so one slip costs one box.

    Args:
        sheet: The worksheet (from :func:`worksheet` or :func:`load_worksheet`).
        answers: ``{box name or box number: answer}``; an answer is a number or a string such
            as ``"0.25"``, ``"-1/4"`` or ``"2.5e-1"``; a box left out, None or ``""`` is blank
            (counted as wrong).
        rel_tol: Relative tolerance for rounding (>= 0).
        abs_tol: Absolute tolerance for rounding (>= 0).
        follow_through: Marks for a follow-through box, from 0 to 1.

    Returns:
        The :class:`Grade`: per-box marks, the score and the first wrong box.

    Raises:
        TypeError: ``sheet`` is not a Worksheet, or an answer is not a number or a string.
        ValueError: An unknown box (the message lists the sheet's boxes), a box given twice,
            or an answer that is not a number.

    >>> sheet = worksheet("x*y", seed=3)
    >>> [(n.name, n.data) for n in sheet.nodes], sheet.names
    ([('x', -0.8), ('y', 1.2), ('out', -0.96)], ['y', 'x'])
    >>> result = grade(sheet, {"y": "-4/5", 2: 0})
    >>> [(m.box, m.status) for m in result.marks], result.score
    ([(1, 'correct'), (2, 'wrong')], 1.0)
    """
    if not isinstance(sheet, Worksheet):
        raise TypeError(f"sheet: expected a Worksheet, got {describe(sheet)}")
    rel_tol = number("rel_tol", rel_tol, low=0.0)
    abs_tol = number("abs_tol", abs_tol, low=0.0)
    follow_through = number("follow_through", follow_through, low=0.0, high=1.0)
    given = _read_answers(sheet, answers)

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= abs_tol + rel_tol * abs(b)

    marks = []
    origins: dict[int, list[int]] = {}  # per wrong box: the boxes whose slips it carries
    for box, i in enumerate(sheet.boxes, start=1):
        node = sheet.nodes[i]
        terms: list[tuple[float, float, int]] = []
        for j, k in sheet.consumers[i]:
            own = given.get(j)
            upstream = 1.0 if j == sheet.root else own if own is not None else sheet.nodes[j].grad
            terms.append((upstream, sheet.nodes[j].local[k], j))
        should = math.fsum(u * loc for u, loc, _ in terms)
        answer = given.get(i)
        if answer is None:
            status, note = "missing", "blank (counted as wrong)"
        elif close(answer, node.grad):
            status, note = "correct", ""
        elif close(answer, should):
            found = sorted({b for _, _, j in terms for b in origins.get(j, [])})
            origins[i] = found
            slips = " and ".join(f"box {b} ({sheet.nodes[sheet.boxes[b - 1]].name})" for b in found)
            status = "follow-through"
            note = f"right for your answer to {slips or 'the boxes before it'}: the slip is there"
        else:
            origins[i] = [box]
            status, note = "wrong", _diagnose(sheet, i, answer, terms, should, close)
        credit = {"correct": 1.0, "follow-through": follow_through}.get(status, 0.0)
        marks.append(Mark(box, node.name, answer, node.grad, should, status, credit, note))
    return Grade(sheet, tuple(marks), rel_tol, abs_tol, follow_through)


def _diagnose(
    sheet: Worksheet,
    i: int,
    answer: float,
    terms: list[tuple[float, float, int]],
    should: float,
    close: Callable[[float, float], bool],
) -> str:
    """What a wrong box's answer is, where it is a classic slip, and what it should be."""
    fmt = sheet.fmt
    name = sheet.nodes[i].name
    products = " + ".join(f"{fmt_num(u, fmt)} × {fmt_num(loc, fmt)}" for u, loc, _ in terms)
    rule = " + ".join(
        f"grad{_paren(sheet.nodes[j].name)} × ∂{wrap_name(sheet.nodes[j].name)}/∂{wrap_name(name)}"
        for _, _, j in terms
    )
    worked = f"should be {products} = {fmt_num(should, fmt)} ({rule}, from the grads before it)"
    slip = ""
    if should != 0.0 and close(-answer, should):
        slip = "the sign is flipped"
    elif len(terms) >= 2 and len(terms) <= 8:
        for size in range(1, len(terms)):
            for part in combinations(terms, size):
                if close(answer, math.fsum(u * loc for u, loc, _ in part)):
                    slip = (
                        f"that sums {size} of this Value's {len(terms)} uses; a Value used "
                        "more than once adds the grads of all its uses (grad +=)"
                    )
                    break
            if slip:
                break
    if not slip:
        local = math.fsum(loc for _, loc, _ in terms)
        if any(u != 1.0 for u, _, _ in terms) and close(answer, local):
            slip = "that is the local derivative alone; multiply it by the grad that comes back"
    return f"{slip}; {worked}" if slip else worked


def _paren(name: str) -> str:
    return f"({name})"


def _read_answers(sheet: Worksheet, answers: object) -> dict[int, float | None]:
    """``answers`` by node index, each a float (None: blank)."""
    if not isinstance(answers, Mapping):
        raise TypeError(
            f"answers: expected a dict of box name (or number) to answer, got {describe(answers)}"
        )
    by_name: dict[str, list[int]] = {}
    for i in sheet.boxes:
        by_name.setdefault(sheet.nodes[i].name, []).append(i)
    listing = ", ".join(f"{k} {sheet.nodes[i].name!r}" for k, i in enumerate(sheet.boxes, 1))
    out: dict[int, float | None] = {}
    for key, raw in answers.items():
        if isinstance(key, bool) or not isinstance(key, (str, int)):
            raise TypeError(
                f"answers: expected box names (str) or box numbers (int) as keys, got "
                f"{describe(key)}"
            )
        if isinstance(key, int):
            if not 1 <= key <= len(sheet.boxes):
                raise ValueError(
                    f"answers: there is no box {key}; the boxes are 1 to {len(sheet.boxes)}: "
                    f"{listing}"
                )
            i = sheet.boxes[key - 1]
        else:
            found = by_name.get(key, [])
            if not found:
                if key == sheet.nodes[sheet.root].name:
                    why = f"{key!r} is the output: its grad is given (1), not asked"
                elif any(n.name == key for n in sheet.nodes):
                    why = f"the sheet does not ask for the grad of {key!r}"
                else:
                    why = f"{key!r} is not a box of this worksheet"
                raise ValueError(f"answers: {why}; the boxes are {listing}")
            if len(found) > 1:
                numbers_ = ", ".join(str(sheet.box_of(i)) for i in found)
                raise ValueError(
                    f"answers: {key!r} names boxes {numbers_} (two Values with the same "
                    "name): answer them by box number"
                )
            i = found[0]
        if i in out:
            raise ValueError(
                f"answers: box {sheet.box_of(i)} ({sheet.nodes[i].name!r}) is given twice"
            )
        out[i] = _answer(f"answers[{key!r}]", raw)
    return out


def _answer(what: str, raw: object) -> float | None:
    """An answer as a float: a number, or a string such as ``"0.25"``, ``"-1/4"`` (None: blank)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = raw.strip().replace("−", "-").replace(" ", "")
        if not text:
            return None
        try:
            value = float(Fraction(text))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ValueError(
                f"{what}: expected a number such as 0.25, -1/4 or 2.5e-1, got {raw!r}"
            ) from None
        return value
    if isinstance(raw, bool) or not isinstance(raw, numbers.Real):
        raise TypeError(f"{what}: expected a number or a string such as '1/4', got {describe(raw)}")
    return number(what, raw)


# -- files ----------------------------------------------------------------------------------------

_TOP_KEYS = (
    "format",
    "version",
    "title",
    "made_from",
    "seed",
    "hints",
    "rankdir",
    "fmt",
    "boxes",
    "nodes",
)
_NODE_KEYS = ("name", "kind", "labeled", "data", "grad", "op", "inputs", "local")


def load_worksheet(path: str | Path) -> Worksheet:
    """Read a worksheet saved with :meth:`Worksheet.save`, checking every part of it.

    The graph is rebuilt from the file with the op table and its values, local derivatives and
    answer key recomputed: a file that does not match them (edited by hand, damaged) is
    refused. Needs no graphviz program.

    Raises:
        OSError: The file cannot be read.
        ValueError: Not a worksheet file, or one that does not check out (the message says
            where); an op in it that is not defined here (define it first).
    """
    p = Path(path)
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ValueError(f"{p}: {size:,} bytes, more than a worksheet file's {MAX_FILE_BYTES:,}")
    text = p.read_bytes().decode("utf-8", errors="strict")
    try:
        return worksheet_from_json(text)
    except ValueError as err:
        raise ValueError(f"{p}: {err}") from None


def worksheet_from_json(text: str) -> Worksheet:
    """A worksheet from the JSON text of :meth:`Worksheet.to_json`, checked like a file.

    See :func:`load_worksheet`.
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string, got {describe(text)}")

    def no_constant(word: str) -> None:
        raise ValueError(f"not a worksheet: the number {word} is not allowed")

    try:
        doc = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as err:
        raise ValueError(f"not a worksheet: not JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"not a worksheet: expected a JSON object with format {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ValueError(f"worksheet version {doc.get('version')!r}; this library reads {VERSION}")
    keys("worksheet", doc, _TOP_KEYS)
    nodes = tuple(_node_from(k, raw) for k, raw in enumerate(_list("nodes", doc["nodes"])))
    if not nodes:
        raise ValueError("worksheet: no nodes")
    boxes = _list("boxes", doc["boxes"])
    for b in boxes:
        integer("boxes[]", b, low=0, high=len(nodes) - 2)
    if len(set(boxes)) != len(boxes) or list(boxes) != sorted(boxes, reverse=True):
        raise ValueError("boxes: expected distinct node indices in backward order")
    seed = doc["seed"]
    if seed is not None and not isinstance(seed, str):
        integer("seed", seed)
    title = doc["title"]
    if not isinstance(title, str):
        raise TypeError(f"title: expected a string, got {describe(title)}")
    sheet = Worksheet(
        title=title,
        made_from=choice("made_from", doc["made_from"], SOURCES),
        seed=seed,
        nodes=nodes,
        boxes=tuple(boxes),
        hints=flag("hints", doc["hints"]),
        rankdir=choice("rankdir", doc["rankdir"], ("TB", "LR", "BT", "RL")),
        fmt=number_format("fmt", doc["fmt"]),
    )
    _, a = sheet.graph
    for i, (n, v) in enumerate(zip(nodes, a.order, strict=True)):
        local = v.local_grads()
        for what, stored, computed in (
            ("data", [n.data], [v.data]),
            ("grad", [n.grad], [v.grad]),
            ("local", list(n.local), list(local)),
        ):
            if len(stored) != len(computed) or not all(
                math.isclose(s, c, rel_tol=1e-9, abs_tol=1e-12)
                for s, c in zip(stored, computed, strict=True)
            ):
                raise ValueError(
                    f"node {i} ({n.name!r}): the file says {what} {stored}, its graph gives "
                    f"{computed}: the file was changed or is damaged"
                )
    return sheet


def _list(name: str, x: object) -> list[Any]:
    if not isinstance(x, list):
        raise TypeError(f"{name}: expected a list, got {describe(x)}")
    return x


def _node_from(k: int, raw: object) -> SheetNode:
    where = f"nodes[{k}]"
    d = keys(where, raw, _NODE_KEYS)
    name = d["name"]
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where}.name: expected a non-empty string, got {describe(name)}")
    op = d["op"]
    if op is not None and not isinstance(op, str):
        raise TypeError(f"{where}.op: expected an op's name or null, got {describe(op)}")
    inputs: list[int | float] = []
    for m, p in enumerate(_list(f"{where}.inputs", d["inputs"])):
        if isinstance(p, dict) and set(p) == {"node"}:
            inputs.append(integer(f"{where}.inputs[{m}].node", p["node"], low=0, high=k - 1))
        elif isinstance(p, dict) and set(p) == {"const"}:
            inputs.append(number(f"{where}.inputs[{m}].const", p["const"]))
        else:
            raise ValueError(f"{where}.inputs[{m}]: expected {{'node': i}} or {{'const': x}}")
    if (op is None) != (not inputs):
        raise ValueError(f"{where}: a leaf has no op and no inputs; any other node has both")
    return SheetNode(
        name=name,
        kind=choice(f"{where}.kind", d["kind"], KINDS),
        data=number(f"{where}.data", d["data"]),
        grad=number(f"{where}.grad", d["grad"]),
        op=op,
        inputs=tuple(inputs),
        local=tuple(number(f"{where}.local[]", x) for x in _list(f"{where}.local", d["local"])),
        labeled=flag(f"{where}.labeled", d["labeled"]),
    )
