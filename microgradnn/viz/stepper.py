r"""Watch backpropagation one chain-rule step at a time.

:func:`backward_steps` runs the engine's own ``_backward()`` steps, in the order
``backward()`` runs them (reversed topological order), and records a :class:`BackwardFrame`
after each: which node ran, what each input received (``grad(out) × local``) and every grad.
Afterwards it puts every grad back as it was: your Values are not changed.

:class:`BackwardStepper` (and :func:`backward_html` / :func:`save_backward_html`) turns the
frames into one self-contained HTML page: the backward picture laid out once, with prev/next
buttons, a slider, play, keyboard arrows (← → Home End) and a caption per frame such as
``n.grad += 1 × 0.5 (∂o/∂n = 1 - o²) = 0.5``. The page fetches nothing from the network: its
script and style are the package data files ``stepper.js`` and ``stepper.css``, embedded.
In Jupyter the stepper shows inline; untrusted notebooks strip its ``<script>``: then the
picture shows the final state and a note asks you to trust the notebook (File > Trust
Notebook) or open the saved HTML file.

The frames: frame 0 is the seed (``out.grad = 1``, every other grad 0); then one frame per
``_backward()`` call of a node computed by an op (a leaf's ``_backward()`` does nothing, so
leaves get no frame of their own); the last frame lists the leaves' grads.

>>> from microgradnn import Value
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> frames = backward_steps(y)
>>> [f.kind for f in frames]
['seed', 'step', 'done']
>>> print(frames[1].caption)
Step 1 of 1: #1 = x * x, and #1.grad = 1
  x.grad += 1 × 3 (∂#1/∂x = x) = 3  →  x.grad = 3
  x.grad += 1 × 3 (∂#1/∂x = x) = 3  →  x.grad = 6
>>> x.grad  # untouched
0.0
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import itertools
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from microgradnn._checks import choice, number
from microgradnn.engine import Value
from microgradnn.viz.analysis import (
    Analysis,
    Highlight,
    State,
    analyze,
    check_root,
    derivative_formula,
    derivative_symbol,
    edge_color,
    edge_product_text,
    grad_is_final,
    grad_text,
    sum_text,
)
from microgradnn.viz.graph import DrawOptions, GraphPicture, build_picture
from microgradnn.viz.text import fmt_num, wrap_name

__all__ = [
    "BackwardFrame",
    "BackwardStepper",
    "Contribution",
    "backward_html",
    "backward_steps",
    "page_asset",
    "save_backward_html",
]

DEFAULT_MAX_NODES = 300
_counter = itertools.count()


@dataclass(frozen=True)
class Contribution:
    """What one input received in one chain-rule step."""

    input_index: int
    """The input's position in the graph's topological order."""
    position: int
    """Which argument of the op it is (0 = first)."""
    name: str
    local: float
    """The local derivative d(node)/d(input)."""
    upstream: float
    """The node's grad, d(output)/d(node)."""
    amount: float
    """``upstream * local``: what was added to the input's grad."""
    grad_after: float
    """The input's grad right after this addition."""


@dataclass(frozen=True)
class BackwardFrame:
    """The graph's gradients after one step of ``backward()``.

    Attributes:
        index: Position in the list of frames.
        kind: ``"seed"`` (the output's grad is set), ``"step"`` (one node's ``_backward()``
            ran) or ``"done"``.
        node: The Value whose ``_backward()`` ran (the output for the seed frame).
        node_index: Its position in topological order.
        contributions: What each of its inputs received, in argument order.
        grads: Every node's grad after this frame, in topological order.
        caption: The frame explained in words.
    """

    index: int
    kind: str
    node: Value | None
    node_index: int | None
    contributions: tuple[Contribution, ...]
    grads: tuple[float, ...] = field(repr=False)
    processed: tuple[bool, ...] = field(repr=False)
    caption: str
    analysis: Analysis = field(repr=False)
    step: int
    """1-based step number among the ``"step"`` frames (0 for seed and done)."""

    def state(self) -> State:
        """This frame's gradients in the form the pictures use."""
        return State(grads=self.grads, processed=self.processed, seeded=True, exact=True)

    def highlight(self) -> Highlight:
        """The node that ran, the edges it used and the grads it changed."""
        if self.node_index is None:
            return Highlight()
        j = self.node_index
        return Highlight(
            nodes=frozenset({j}),
            edges=frozenset((j, c.position) for c in self.contributions),
            changed=frozenset({c.input_index for c in self.contributions} or {j}),
        )

    def graph(
        self, *, rankdir: str = "LR", fmt: str = ".4g", hide_constants: bool = False
    ) -> GraphPicture:
        """This frame as a standalone backward picture (the node that ran in orange)."""
        opts = DrawOptions(
            view="backward",
            rankdir=rankdir,
            fmt=fmt,
            hide_constants=hide_constants,
            max_nodes=None,
        )
        root = self.analysis.order[-1]
        return build_picture(root, opts, None, self.state(), self.highlight(), self.analysis).graph

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.graph()._repr_mimebundle_(include=include, exclude=exclude)


def _step_caption(a: Analysis, j: int, step: int, total: int, contribs: list[Contribution]) -> str:
    node = a.order[j]
    name = a.names[j]
    lines = [
        f"Step {step} of {total}: {name} = {a.expression(j, '.4g')}, "
        f"and {wrap_name(name)}.grad = {fmt_num(node.grad, '.4g')}"
    ]
    for c in contribs:
        formula = derivative_formula(a, j, c.position, ".4g")
        local = fmt_num(c.local, ".4g")
        why = derivative_symbol(a, j, c.position, ".4g")
        why += f" = {formula}" if formula and formula != local else ""
        x = wrap_name(c.name)
        lines.append(
            f"  {x}.grad += {fmt_num(c.upstream, '.4g')} × {local} ({why}) = "
            f"{fmt_num(c.amount, '.4g')}  →  {x}.grad = {fmt_num(c.grad_after, '.4g')}"
        )
    if not contribs:
        lines.append("  (its inputs are constants: nothing to pass on)")
    return "\n".join(lines)


def backward_steps(root: Value, gradient: float = 1.0) -> list[BackwardFrame]:
    """Run backward() on ``root`` step by step and record each step; restores every grad.

    Each step is the engine's own ``node._backward()``, run on your graph starting from every
    grad at 0 (a fresh pass, as if nothing had accumulated yet) and in the same order as
    :meth:`Value.backward`. When it finishes, every Value gets back the grad it had before.

    Args:
        root: The output to differentiate.
        gradient: The seed d(root)/d(root), 1.0 for a loss.

    Returns:
        The frames: seed, one per non-leaf node, done (see the module docstring).
    """
    root = check_root(root)
    seed = number("gradient", gradient)
    a = analyze(root)
    order = a.order
    n = len(order)
    saved = [v.grad for v in order]
    frames: list[BackwardFrame] = []
    ops = [j for j in range(n - 1, -1, -1) if order[j]._op is not None]
    processed = [False] * n
    try:
        for v in order:
            v.grad = 0.0
        root.grad += seed
        rname = a.names[-1]
        frames.append(
            BackwardFrame(
                index=0,
                kind="seed",
                node=root,
                node_index=n - 1,
                contributions=(),
                grads=tuple(v.grad for v in order),
                processed=tuple(processed),
                caption=(
                    f"Start: backward() sets every grad to 0, then seeds {rname}.grad = "
                    f"{fmt_num(seed, '.4g')} (∂{rname}/∂{rname} = 1). Now it visits the nodes "
                    f"from the output back to the inputs: {len(ops)} chain-rule steps."
                ),
                analysis=a,
                step=0,
            )
        )
        for step, j in enumerate(ops, start=1):
            node = order[j]
            upstream = node.grad
            running = {id(p): p.grad for p in node._prev if type(p) is Value}
            contribs = []
            node._backward()
            for k, p in enumerate(node._prev):
                if type(p) is not Value:
                    continue
                amount = a.local_grads[j][k] * upstream
                running[id(p)] += amount
                contribs.append(
                    Contribution(
                        input_index=a.index[id(p)],
                        position=k,
                        name=a.names[a.index[id(p)]],
                        local=a.local_grads[j][k],
                        upstream=upstream,
                        amount=amount,
                        grad_after=running[id(p)],
                    )
                )
            processed[j] = True
            frames.append(
                BackwardFrame(
                    index=len(frames),
                    kind="step",
                    node=node,
                    node_index=j,
                    contributions=tuple(contribs),
                    grads=tuple(v.grad for v in order),
                    processed=tuple(processed),
                    caption=_step_caption(a, j, step, len(ops), contribs),
                    analysis=a,
                    step=step,
                )
            )
        leaves = [i for i in range(n) if order[i]._op is None and i != n - 1]
        shown = [
            f"{wrap_name(a.names[i])}.grad = {fmt_num(order[i].grad, '.4g')}" for i in leaves[:12]
        ]
        if len(leaves) > 12:
            shown.append(f"… and {len(leaves) - 12} more")
        caption = "Done: every grad is final. " + (
            "Leaves: " + ", ".join(shown) if shown else "The output is a leaf."
        )
        frames.append(
            BackwardFrame(
                index=len(frames),
                kind="done",
                node=None,
                node_index=None,
                contributions=(),
                grads=tuple(v.grad for v in order),
                processed=tuple(True for _ in order),
                caption=caption,
                analysis=a,
                step=0,
            )
        )
    finally:
        for v, g in zip(order, saved, strict=True):
            v.grad = g
    return frames


# ---------------------------------------------------------------------------------------------
# The HTML stepper.

_GROUP = re.compile(r'<g id="([^"]+)" class="(?:node|edge)[^"]*">')
_TEXT = re.compile(r"<text([^>]*)>(.*?)</text>", re.DOTALL)
PAGE_ASSETS = ("stepper.js", "stepper.css")


_SCRIPT_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def json_for_script(data: Any) -> str:
    r"""JSON that is safe inside ``<script>``: ``<``, ``>`` and ``&`` written as ``\u003c`` etc.

    As Django's ``json_script``: a label such as ``<!--<script>`` or ``</script>`` can then
    neither end the script element nor switch the HTML parser into a comment.

    >>> json_for_script({"label": "</script><!--"})
    '{"label":"\\u003c/script\\u003e\\u003c!--"}'
    """
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_UNSAFE)


@cache
def page_asset(name: str) -> str:
    """The text of one of the page's package data files, ``stepper.js`` or ``stepper.css``.

    They ship inside the package (``microgradnn/viz/``) and every page embeds them, so a page
    needs nothing from the network; each is read once per session.

    >>> page_asset("stepper.js").lstrip().startswith("/*")
    True
    """
    name = choice("name", name, PAGE_ASSETS)
    return resources.files("microgradnn.viz").joinpath(name).read_text(encoding="utf-8")


def _svg_body(svg: str) -> str:
    """Drop the XML declaration, DOCTYPE and comments: the ``<svg>`` element alone."""
    start = svg.index("<svg")
    return re.sub(r"<!--.*?-->\n?", "", svg[start:], flags=re.DOTALL)


def _tag_slots(
    svg: str, prefix: str, texts: dict[str, list[str]], slots: dict[str, tuple[str, int]]
) -> str:
    """Give each animated ``<text>`` in graphviz's SVG an ``id`` (graphviz gives none)."""
    wanted: dict[str, list[tuple[int, str]]] = {}
    for slot, (element, pos) in slots.items():
        wanted.setdefault(prefix + element, []).append((pos, prefix + slot))
    pieces = []
    last = 0
    groups = list(_GROUP.finditer(svg))
    for n, m in enumerate(groups):
        gid = html.unescape(m.group(1))
        if gid not in wanted:
            continue
        end = groups[n + 1].start() if n + 1 < len(groups) else len(svg)
        block_start = m.end()
        block = svg[block_start:end]
        found = list(_TEXT.finditer(block))
        contents = [html.unescape(t.group(2)) for t in found]
        expected = texts[gid[len(prefix) :]]
        ids: dict[int, str] = {}
        for pos, slot_id in wanted[gid]:
            target = expected[pos]
            if pos < len(contents) and contents[pos] == target:
                ids[pos] = slot_id
            elif target in contents:
                ids[contents.index(target)] = slot_id
        out = []
        prev = 0
        for t_i, t in enumerate(found):
            if t_i in ids:
                out.append(block[prev : t.start()])
                out.append(f'<text id="{ids[t_i]}"{t.group(1)}>{t.group(2)}</text>')
                prev = t.end()
        out.append(block[prev:])
        pieces.append(svg[last:block_start])
        pieces.append("".join(out))
        last = end
    pieces.append(svg[last:])
    return "".join(pieces)


class BackwardStepper:
    """An interactive, self-contained HTML page that steps through ``backward()``.

    Shows inline in Jupyter (``_repr_html_``); :meth:`save` writes a standalone page.
    Rendering the picture needs graphviz's ``dot`` program.

    Args:
        root: The output to differentiate (see :func:`backward_steps`; your grads are kept).
        gradient: The seed, 1.0 for a loss.
        rankdir: ``"LR"`` or ``"TB"`` (or ``"RL"``, ``"BT"``).
        fmt: Number format, e.g. ``".4g"``.
        hide_constants: Fold constants into their op nodes.
        max_nodes: Refuse graphs with more nodes than this (the page becomes unusable).
    """

    def __init__(
        self,
        root: Value,
        gradient: float = 1.0,
        *,
        rankdir: str = "LR",
        fmt: str = ".4g",
        hide_constants: bool = False,
        max_nodes: int | None = DEFAULT_MAX_NODES,
    ) -> None:
        root = check_root(root)
        self.opts = DrawOptions(
            view="backward",
            rankdir=rankdir,
            fmt=fmt,
            hide_constants=hide_constants,
            max_nodes=max_nodes,
        )
        self.frames = backward_steps(root, gradient)
        self._html: str | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def _fragment(self) -> str:
        if self._html is not None:
            return self._html
        frames = self.frames
        a = frames[0].analysis
        final = frames[-1]
        probe = build_picture(a.order[-1], self.opts, None, final.state(), None, a)
        digest = hashlib.sha1(probe.graph.source.encode()).hexdigest()[:6]
        prefix = f"mg{digest}{next(_counter)}_"
        opts = dataclasses.replace(self.opts, id_prefix=prefix)
        built = build_picture(a.order[-1], opts, None, final.state(), None, a)
        svg = built.graph.pipe(format="svg", encoding="utf-8")
        slots = {s.name: (s.element, s.position) for s in built.slots}
        svg = _tag_slots(_svg_body(svg), prefix, built.texts, slots)
        fmt = self.opts.fmt
        timelines: dict[str, list[list[Any]]] = {}
        final_at: dict[str, int] = {}
        per_frame = []
        for f, fr in enumerate(frames):
            st = fr.state()
            for s in built.slots:
                text, color = self._slot_text(a, s.name, st, fmt)
                tl = timelines.setdefault(prefix + s.name, [])
                if not tl or tl[-1][1] != text or tl[-1][2] != color:
                    tl.append([f, text, color])
            hl = fr.highlight()
            cur = [f"{prefix}v{j}" for j in hl.nodes] + [f"{prefix}v{j}op" for j in hl.nodes]
            used = [f"{prefix}e{j}_{k}" for j, k in hl.edges]
            changed = [f"{prefix}v{i}grad" for i in hl.changed]
            if fr.kind == "done":
                cur = [f"{prefix}v{i}" for i, v in enumerate(a.order) if v._op is None]
            per_frame.append({"caption": fr.caption, "cur": cur, "used": used, "changed": changed})
        for s in built.slots:
            m = re.fullmatch(r"v(\d+)(grad|sum)", s.name)
            if m:
                i = int(m.group(1))
                final_at[prefix + s.name] = self._final_frame(i, frames)
        data = {"n": len(frames), "frames": per_frame, "slots": timelines, "final": final_at}
        payload = json_for_script(data)
        cid = prefix + "stepper"
        last = len(frames) - 1
        self._html = (
            f'<div class="mg-stepper" id="{cid}" tabindex="0" data-frame="{last}">\n'
            f"<style>{page_asset('stepper.css')}</style>\n"
            '<div class="mg-controls">'
            '<button type="button" data-act="first" title="first frame (Home)">|&lt;</button>'
            '<button type="button" data-act="prev" title="previous (←)">&lt; prev</button>'
            f'<input type="range" min="0" max="{last}" value="{last}" aria-label="frame">'
            '<button type="button" data-act="next" title="next (→)">next &gt;</button>'
            '<button type="button" data-act="last" title="last frame (End)">&gt;|</button>'
            '<button type="button" data-act="play">play</button>'
            f'<span class="mg-counter">frame {last + 1} / {len(frames)}</span></div>\n'
            f'<div class="mg-caption">{html.escape(final.caption)}</div>\n'
            '<div class="mg-note">The buttons need JavaScript. In Jupyter, trust the notebook '
            "(File &gt; Trust Notebook) and re-run the cell, or open the file written by "
            "save_backward_html() in a browser. Shown: the final frame.</div>\n"
            f'<div class="mg-svg">{svg}</div>\n'
            f'<script type="application/json" class="mg-data">{payload}</script>\n'
            f"<script>{page_asset('stepper.js').rstrip()}({json.dumps(cid)});</script>\n"
            "</div>"
        )
        return self._html

    @staticmethod
    def _slot_text(a: Analysis, slot: str, st: State, fmt: str) -> tuple[str, str]:
        m = re.fullmatch(r"v(\d+)(grad|sum)", slot)
        if m:
            i = int(m.group(1))
            if m.group(2) == "grad":
                return grad_text(a, i, st, fmt), ""
            return sum_text(a, i, st, fmt) or "…", ""
        m = re.fullmatch(r"e(\d+)_(\d+)prod", slot)
        assert m is not None
        j, k = int(m.group(1)), int(m.group(2))
        text = edge_product_text(a, j, k, st, fmt)
        return text, edge_color(a, j, k, st)

    @staticmethod
    def _final_frame(i: int, frames: list[BackwardFrame]) -> int:
        a = frames[0].analysis
        for f, fr in enumerate(frames):
            if grad_is_final(a, i, fr.state()):
                return f
        return len(frames) - 1

    @property
    def html(self) -> str:
        """The stepper as an HTML fragment (a ``<div>`` with inline SVG, CSS and script)."""
        return self._fragment()

    def _repr_html_(self) -> str:
        return self._fragment()

    def page(self, title: str = "microgradnn: backward, step by step") -> str:
        """The stepper as a complete standalone HTML document."""
        return (
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html.escape(title)}</title>\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '</head>\n<body data-mg-standalone="1">\n'
            f'<h3 style="font-family:Helvetica,Arial,sans-serif">{html.escape(title)}</h3>\n'
            f"{self._fragment()}\n</body>\n</html>\n"
        )

    def save(self, path: str | Path) -> Path:
        """Write the standalone page to ``path`` (UTF-8); returns the path."""
        path = Path(path)
        path.write_text(self.page(), encoding="utf-8")
        return path


def backward_html(root: Value, **kwargs: Any) -> str:
    """The stepper for ``root`` as a complete standalone HTML page.

    See :class:`BackwardStepper` for the options. Your grads are left as they were.
    """
    return BackwardStepper(root, **kwargs).page()


def save_backward_html(root: Value, path: str | Path, **kwargs: Any) -> Path:
    """Write the stepper for ``root`` to ``path`` as a standalone HTML page; returns the path.

    Open it in any browser, offline. Your grads are left as they were.
    """
    return BackwardStepper(root, **kwargs).save(path)
