r"""Watch backpropagation one chain-rule step at a time.

:func:`backward_steps` runs the engine's own ``_backward()`` steps, in the order
``backward()`` runs them (reversed topological order), and records a :class:`BackwardFrame`
after each: which node ran, what each input received (``grad(out) × local``) and every grad.
Afterwards it puts every grad back as it was: your Values are not changed.

:class:`BackwardStepper` (and :func:`backward_html` / :func:`save_backward_html`) turns the
frames into one self-contained HTML page: the backward picture laid out once, with prev/next
buttons, a slider, play, keyboard arrows (← → Home End) and a caption per frame such as
``n.grad += 1 × 0.5 (∂o/∂n = 1 - o²) = 0.5``. The picture fits the width it is given,
shrinking to no less than 3/4 of its size (its 10 pt edge labels stay 10 px tall; a wider
picture scrolls sideways), and scrolls within a box at most 70% of the window's height; the
*zoom 100%* button (or ``z``, or ctrl + mouse wheel) shows it at its own size. Every frame
scrolls the node that runs into view, in its box and in the page (or notebook) around it. The
page fetches nothing from the network: its script and style are the package data files
``stepper.js`` and ``stepper.css``, embedded.
In Jupyter the stepper shows inline. A notebook that is not trusted (one you were sent, or one
on GitHub) has its ``<script>``, ``<style>`` and inline SVG stripped: the stepper then shows
the last frame as a PNG and a note saying how to trust the notebook where you are (JupyterLab:
*Trust Notebook* in the command palette; Notebook 7: File > Trust Notebook; VS Code: when it
asks), or to open the saved page in a browser.

The frames: frame 0 is the seed (``out.grad = 1``, every other grad 0); then one frame per
``_backward()`` call of a node computed by an op (a leaf's ``_backward()`` does nothing, so
leaves get no frame of their own); the last frame lists the leaves' grads. Each frame has one
counter (``Start``, ``Step 3 of 5``, ``Done``), which the page shows once, beside the buttons.

A network steps neuron by neuron (or layer by layer) with ``model=`` and ``cluster=``, on the
picture ``draw_dot(loss, "backward", model=model, cluster="neuron")`` draws: each step runs
all of one neuron's ``_backward()`` calls, so a 2-4-1 MLP's backward pass takes a handful of
frames, and its caption says what the neuron passed back to each input and to its weights.

>>> from microgradnn import Value
>>> x = Value(3.0, label="x")
>>> y = x * x
>>> y.label = "y"
>>> frames = backward_steps(y)
>>> [f.counter for f in frames]
['Start', 'Step 1 of 1', 'Done']
>>> print(frames[1].caption)
Step 1 of 1: y = x*x, and y.grad = 1
  x.grad += 1 × 3 (∂y/∂x = x) = 3  →  x.grad = 3
  x.grad += 1 × 3 (∂y/∂x = x) = 3  →  x.grad = 6
>>> x.grad  # untouched
0.0
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import heapq
import html
import itertools
import json
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from microgradnn import learner
from microgradnn._checks import choice, describe, integer, number
from microgradnn._files import atomic_write
from microgradnn.engine import Value
from microgradnn.viz.analysis import (
    Analysis,
    Highlight,
    State,
    analyze,
    check_root,
    derivative_formula,
    derivative_symbol,
    local_formula,
)
from microgradnn.viz.clusters import ModelInfo, assign_groups, model_info
from microgradnn.viz.display import HTML, PNG, GraphvizNotFoundError, mime_bundle, standalone_page
from microgradnn.viz.graph import (
    BuiltPicture,
    DrawOptions,
    GraphPicture,
    build_picture,
    slot_final,
    slot_text,
)
from microgradnn.viz.text import fmt_num, wrap_name

__all__ = [
    "BackwardComparison",
    "BackwardFrame",
    "BackwardStepper",
    "Contribution",
    "backward_html",
    "backward_steps",
    "compare_backward",
    "page_asset",
    "save_backward_html",
]

DEFAULT_MAX_NODES = 300
EXPLAIN = ("highlight", "pending")
"""What the page's legend explains beyond the last frame: the orange step, the grey grads."""
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
    node_index: int
    """The node whose ``_backward()`` passed it on (a neuron's step runs several nodes)."""


@dataclass(frozen=True)
class BackwardFrame:
    """The graph's gradients after one step of ``backward()``.

    A step is one node's ``_backward()``; stepped by neuron or by layer (``cluster=``), one
    step runs every ``_backward()`` of one neuron (its activation, its Σ, its products) or of
    one layer.

    Attributes:
        index: Position in the list of frames.
        kind: ``"seed"`` (the output's grad is set), ``"step"`` (one node's, neuron's or
            layer's ``_backward()`` calls ran) or ``"done"``.
        node: The Value whose ``_backward()`` ran first (the output for the seed frame).
        node_index: Its position in topological order.
        contributions: What each input received, in the order it was added.
        grads: Every node's grad after this frame, in topological order.
        counter: Where the frame is: ``Start``, ``Step 3 of 5`` or ``Done``.
        explanation: The frame explained in words.
        nodes: Every node whose ``_backward()`` ran in this frame, in the order it ran.
        step: 1-based step number among the ``"step"`` frames (0 for seed and done).
    """

    index: int
    kind: str
    node: Value | None
    node_index: int | None
    contributions: tuple[Contribution, ...]
    grads: tuple[float, ...] = field(repr=False)
    processed: tuple[bool, ...] = field(repr=False)
    counter: str
    explanation: str
    analysis: Analysis = field(repr=False)
    step: int
    nodes: tuple[int, ...] = ()
    info: ModelInfo | None = field(default=None, repr=False)
    cluster: str | None = None

    @classmethod
    def done(
        cls,
        index: int,
        grads: tuple[float, ...],
        explanation: str,
        analysis: Analysis,
        info: ModelInfo | None = None,
        cluster: str | None = None,
    ) -> BackwardFrame:
        """The last frame: ``backward()`` has returned, every grad is final."""
        return cls(
            index=index,
            kind="done",
            node=None,
            node_index=None,
            contributions=(),
            grads=grads,
            processed=(True,) * len(grads),
            counter="Done",
            explanation=explanation,
            analysis=analysis,
            step=0,
            info=info,
            cluster=cluster,
        )

    @property
    def caption(self) -> str:
        """The frame in words, with where it is: ``Step 1 of 5: o = tanh(n), ...``."""
        return f"{self.counter}: {self.explanation}"

    def state(self) -> State:
        """This frame's gradients in the form the pictures use."""
        return State(grads=self.grads, processed=self.processed, seeded=True, exact=True)

    def highlight(self) -> Highlight:
        """The nodes that ran, the edges they used and the grads they changed."""
        if self.node_index is None:
            return Highlight()
        ran = set(self.nodes) or {self.node_index}
        return Highlight(
            nodes=frozenset(ran),
            edges=frozenset((c.node_index, c.position) for c in self.contributions),
            changed=frozenset({c.input_index for c in self.contributions} or ran),
        )

    def graph(
        self, *, rankdir: str = "LR", fmt: str = ".4g", hide_constants: bool = False
    ) -> GraphPicture:
        """This frame as a standalone backward picture (what ran in orange)."""
        opts = DrawOptions(
            view="backward",
            rankdir=rankdir,
            fmt=fmt,
            hide_constants=hide_constants,
            cluster=self.cluster,
            max_nodes=None,
        )
        root = self.analysis.order[-1]
        built = build_picture(root, opts, self.info, self.state(), self.highlight(), self.analysis)
        return built.graph

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Any:
        return self.graph()._repr_mimebundle_(include=include, exclude=exclude)


def _node_lines(a: Analysis, j: int, contribs: list[Contribution]) -> list[str]:
    """One node's ``_backward()`` in words: ``x.grad += 1 × 3 (∂y/∂x = x) = 3  →  ...``."""
    lines = []
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
    return lines


def _step_explanation(a: Analysis, j: int, contribs: list[Contribution]) -> str:
    name = a.names[j]
    expression = a.expression(j, ".4g")
    head = name if expression == name else f"{name} = {expression}"
    head += f", and {wrap_name(name)}.grad = {fmt_num(a.order[j].grad, '.4g')}"
    return "\n".join([head, *_node_lines(a, j, contribs)])


def _model_info(model: object, cluster: str | None) -> ModelInfo | None:
    """The model's structure, checked: ``cluster`` needs a model with neurons."""
    choice("cluster", cluster, (None, "neuron", "layer"))
    if cluster is not None and model is None:
        raise ValueError(
            f"cluster={cluster!r} needs model=<the model that built the graph>, whose "
            "parameters tell which nodes belong to which neuron"
        )
    return model_info(model) if model is not None else None


@dataclass(frozen=True)
class _Unit:
    """What one frame runs: one node, or every node of one neuron's (or layer's) call."""

    nodes: list[int]
    """The nodes computed by an op, in the order backward() may run them."""
    neurons: list[int]
    """The neurons it belongs to (empty: a node outside every neuron)."""


def _units(a: Analysis, info: ModelInfo | None, cluster: str | None) -> list[_Unit]:
    """The frames' steps, in an order backward() could run them.

    Node by node, that is backward()'s own order. By neuron (or layer), every node of one
    neuron's call runs in one step; a neuron's step comes once everything that uses its output
    has passed its gradient back, so each step sees its output's grad complete.
    """
    n = len(a.order)
    ops = [j for j in range(n - 1, -1, -1) if a.order[j]._op is not None]
    if cluster is None or info is None:
        return [_Unit([j], []) for j in ops]
    groups = assign_groups(a.order, info)
    if groups.examples > 1:
        raise ValueError(
            f"stepping by {cluster} shows one example going back through the network, and "
            f"this graph calls each neuron {groups.examples} times (a loss over "
            f"{groups.examples} examples): step the loss of one example (such as "
            "mse_loss([model(X[0])], [y[0]])), or draw the whole batch with draw_dot(loss, "
            f"'backward', model=model, cluster={cluster!r})"
        )

    def key(j: int) -> tuple[str, int, int] | tuple[str, int]:
        g = groups.groups[j]
        if g is None or j == a.root:
            return ("node", j)
        call = groups.calls[j]
        where = info.neurons[g].layer if cluster == "layer" else g
        return (cluster, where, -1 if call is None else call)

    members: dict[tuple[Any, ...], list[int]] = {}
    for j in ops:
        members.setdefault(key(j), []).append(j)
    unit_of = {j: key(j) for j in ops}
    waits: dict[tuple[Any, ...], set[tuple[Any, ...]]] = {u: set() for u in members}
    for u, nodes in members.items():
        for j in nodes:
            for c, _ in a.consumers[j]:
                if unit_of[c] != u:
                    waits[u].add(unit_of[c])

    def rank(u: tuple[Any, ...]) -> tuple[int, ...]:
        """Among the steps that may run, loss nodes first, then each layer in neuron order."""
        if u[0] == "node":
            return (0, -u[1])
        layer = u[1] if u[0] == "layer" else info.neurons[u[1]].layer
        return (1, -layer, u[1], u[2])

    done: set[tuple[Any, ...]] = set()
    order: list[tuple[Any, ...]] = []
    ready = [(rank(u), u) for u, w in waits.items() if not w]
    heapq.heapify(ready)
    users: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for u, w in waits.items():
        for v in w:
            users.setdefault(v, []).append(u)
    while ready:
        _, u = heapq.heappop(ready)
        done.add(u)
        order.append(u)
        for v in users.get(u, []):
            if v not in done and waits[v] <= done and all(x[1] != v for x in ready):
                heapq.heappush(ready, (rank(v), v))
    if len(order) != len(members):  # a model wired in a loop of neurons: node by node
        return [_Unit([j], []) for j in ops]
    units = []
    for u in order:
        neurons = (
            [g for g in range(len(info.neurons)) if info.neurons[g].layer == u[1]]
            if u[0] == "layer"
            else [u[1]]
            if u[0] == "neuron"
            else []
        )
        units.append(_Unit(members[u], neurons))
    return units


class _Captions:
    """Frame explanations for steps by neuron or layer, in the words of the pictures."""

    def __init__(self, a: Analysis, info: ModelInfo) -> None:
        self.a = a
        self.info = info
        self.groups = assign_groups(a.order, info)

    def source(self, i: int) -> str:
        """What feeds a neuron, as the picture names it: ``L0.N1``, ``x0 = 0.5`` or ``x0``."""
        g = self.groups.groups[i]
        if g is not None and self.groups.output(g) == i:
            return self.info.neurons[g].short
        return self.a.names[i]

    def neuron(self, k: int, unit: _Unit, contribs: list[Contribution]) -> list[str]:
        """A neuron's step: its z.grad, what goes back to each input, its weights' grads."""
        a = self.a
        n = self.info.neurons[k]
        ran = set(unit.nodes)
        acts = [i for i in self.groups.activations[k] if i in ran]
        sums = [i for i in self.groups.sums[k] if i in ran]
        if len(sums) != 1:
            return [line for j in unit.nodes for line in self._generic(j, contribs)]
        z = sums[0]
        out = acts[0] if acts else z
        lines = [
            f"neuron {n.short} ({n.activation}): out = {fmt_num(a.order[out].data, '.4g')}, "
            f"out.grad = {fmt_num(a.order[out].grad, '.4g')}"
        ]
        for c in contribs:
            if c.node_index == out and c.input_index == z and out != z:
                names = [
                    "z" if p is a.order[z] else a.names[a.index[id(p)]]
                    for p in a.order[out]._prev
                    if type(p) is Value
                ]
                formula = local_formula(a.order[out], c.position, names, "out")
                why = "∂out/∂z" + (f" = {formula}" if formula else "")
                lines.append(
                    f"  z.grad = {fmt_num(c.upstream, '.4g')} × {fmt_num(c.local, '.4g')} "
                    f"({why}) = {fmt_num(c.amount, '.4g')}"
                )
        weights = {id(w): t for t, w in enumerate(n.w)}
        to_inputs: list[tuple[int, str]] = []
        to_weights: list[tuple[int, str]] = []
        for c in contribs:
            node = a.order[c.node_index]
            if c.node_index not in ran or node._op is None or c.node_index in (out, z):
                continue
            other = node._prev[1 - c.position] if len(node._prev) == 2 else None
            target = a.order[c.input_index]
            if id(target) in weights:
                t = weights[id(target)]
                to_weights.append((t, f"w{t} {fmt_num(c.amount, '.4g')}"))
            elif other is not None and id(other) in weights:
                t = weights[id(other)]
                to_inputs.append(
                    (
                        t,
                        f"    {self.source(c.input_index)}: out.grad += "
                        f"{fmt_num(c.upstream, '.4g')} × {fmt_num(c.local, '.4g')} (w{t}) = "
                        f"{fmt_num(c.amount, '.4g')}  →  {fmt_num(c.grad_after, '.4g')}",
                    )
                )
        if to_inputs:
            lines.append("  back to each input, z.grad × w:")
            lines.extend(text for _, text in sorted(to_inputs))
        bias = next(
            (
                c
                for c in contribs
                if c.node_index == z and n.b is not None and a.order[c.input_index] is n.b
            ),
            None,
        )
        parts = [text for _, text in sorted(to_weights)]
        if bias is not None:
            parts.append(f"b {fmt_num(bias.amount, '.4g')}")
        if parts:
            lines.append("  its parameters' grads, z.grad × input: " + ", ".join(parts))
        return lines

    def layer(self, unit: _Unit, contribs: list[Contribution]) -> list[str]:
        """A layer's step: each neuron's z.grad, then what goes back to the layer's inputs."""
        a = self.a
        ran = set(unit.nodes)
        layer = self.info.neurons[unit.neurons[0]].layer
        outs = [o for k in unit.neurons if (o := self.groups.output(k)) is not None]
        zs = [s for k in unit.neurons for s in self.groups.sums[k] if s in ran]
        acts = sorted({self.info.neurons[k].activation for k in unit.neurons})
        grads = [a.order[o].grad for o in outs]
        lines = [
            f"layer {layer} ({len(unit.neurons)} × {'/'.join(acts)}): out.grad "
            + (
                fmt_num(grads[0], ".4g")
                if len(grads) == 1
                else f"∈ [{fmt_num(min(grads), '.4g')}, {fmt_num(max(grads), '.4g')}]"
            )
        ]
        zt = [
            f"N{self.info.neurons[k].index} {fmt_num(a.order[s].grad, '.4g')}"
            for k in unit.neurons
            for s in self.groups.sums[k]
            if s in ran
        ]
        if zs:
            lines.append("  each neuron's z.grad = out.grad × ∂out/∂z: " + _listed(zt))
        received: dict[int, float] = {}
        final: dict[int, float] = {}
        for c in contribs:
            if self.groups.groups[c.input_index] is None or self._outside(c, unit):
                received[c.input_index] = received.get(c.input_index, 0.0) + c.amount
                final[c.input_index] = c.grad_after
        if received:
            parts = [
                f"{self.source(i)} += {fmt_num(x, '.4g')} → {fmt_num(final[i], '.4g')}"
                for i, x in received.items()
                if a.order[i]._op is not None or a.kinds[i] == "input"
            ]
            if parts:
                lines.append("  back to its inputs (summed over its neurons): " + _listed(parts))
        return lines

    def _outside(self, c: Contribution, unit: _Unit) -> bool:
        g = self.groups.groups[c.input_index]
        return g is not None and g not in unit.neurons

    def _generic(self, j: int, contribs: list[Contribution]) -> list[str]:
        mine = [c for c in contribs if c.node_index == j]
        head = self.a.definition(j, ".4g")
        return [head, *_node_lines(self.a, j, mine)]


def _listed(parts: list[str], most: int = 8) -> str:
    """``a, b, c``, cut to ``most`` parts and ``… (12 more)``."""
    shown = parts[:most]
    if len(parts) > most:
        shown.append(f"… ({len(parts) - most} more)")
    return ", ".join(shown)


def backward_steps(
    root: Any,
    gradient: float = 1.0,
    *,
    model: object = None,
    cluster: str | None = None,
) -> list[BackwardFrame]:
    """Run backward() on ``root`` step by step and record each step; restores every grad.

    Each step is the engine's own ``node._backward()``, run on your graph starting from every
    grad at 0 (a fresh pass, as if nothing had accumulated yet) and in the same order as
    :meth:`Value.backward`. When it finishes, every Value gets back the grad it had before.

    With ``model=`` and ``cluster="neuron"`` (or ``"layer"``), one step runs every
    ``_backward()`` of one neuron (or layer): the backward pass of a 2-4-1 MLP then takes a
    handful of frames, one per neuron, as :func:`~microgradnn.viz.draw_dot` draws it with the
    same options. That needs the graph of one example (a loss over a batch calls each neuron
    once per example).

    Args:
        root: The output to differentiate; also your own micrograd-style Value, whose graph
            microgradnn's engine then steps through (to watch your own backward() next to it,
            see :func:`compare_backward`).
        gradient: The seed d(root)/d(root), 1.0 for a loss.
        model: The model that built the graph (needed for ``cluster``).
        cluster: ``None`` (node by node), ``"neuron"`` or ``"layer"``.

    Returns:
        The frames: seed, one per step (a node, neuron or layer), done.

    Raises:
        TypeError: ``root`` is not a Value, ``gradient`` not a number, ``model`` not a model.
        ValueError: Bad ``cluster``, ``cluster`` without ``model``, or a graph of several
            examples stepped by neuron or layer.
    """
    return _steps(check_root(root), gradient, model, cluster, None)


def _steps(
    root: Value,
    gradient: float,
    model: object,
    cluster: str | None,
    sequence: list[int] | None,
) -> list[BackwardFrame]:
    """backward_steps; ``sequence``: the nodes' positions in the order their steps run."""
    seed = number("gradient", gradient)
    info = _model_info(model, cluster)
    a = analyze(root, info.param_names if info is not None else None)
    units = _units(a, info, cluster) if sequence is None else [_Unit([j], []) for j in sequence]
    captions = _Captions(a, info) if cluster is not None and info is not None else None
    order = a.order
    n = len(order)
    saved = [v.grad for v in order]
    frames: list[BackwardFrame] = []
    processed = [False] * n
    ops = sum(len(u.nodes) for u in units)
    total = len(units)
    try:
        for v in order:
            v.grad = 0.0
        root.grad += seed
        rname = a.names[-1]
        shown = f", shown {cluster} by {cluster} in {total} steps" if cluster else ""
        frames.append(
            BackwardFrame(
                index=0,
                kind="seed",
                node=root,
                node_index=n - 1,
                contributions=(),
                grads=tuple(v.grad for v in order),
                processed=tuple(processed),
                counter="Start",
                explanation=(
                    f"backward() sets every grad to 0, then seeds {rname}.grad = "
                    f"{fmt_num(seed, '.4g')} (∂{rname}/∂{rname} = 1). Now it visits the nodes "
                    f"from the output back to the inputs: {ops} chain-rule steps{shown}."
                ),
                step=0,
                analysis=a,
                info=info,
                cluster=cluster,
            )
        )
        for step, unit in enumerate(units, start=1):
            contribs: list[Contribution] = []
            for j in unit.nodes:
                node = order[j]
                upstream = node.grad
                running = {id(p): p.grad for p in node._prev if type(p) is Value}
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
                            node_index=j,
                        )
                    )
                processed[j] = True
            if captions is not None and unit.neurons and cluster == "neuron":
                lines = captions.neuron(unit.neurons[0], unit, contribs)
            elif captions is not None and unit.neurons:
                lines = captions.layer(unit, contribs)
            else:
                lines = [
                    _step_explanation(a, j, [c for c in contribs if c.node_index == j])
                    for j in unit.nodes
                ]
            first = unit.nodes[0]
            frames.append(
                BackwardFrame(
                    index=len(frames),
                    kind="step",
                    node=order[first],
                    node_index=first,
                    contributions=tuple(contribs),
                    grads=tuple(v.grad for v in order),
                    processed=tuple(processed),
                    counter=f"Step {step} of {total}",
                    explanation="\n".join(lines),
                    step=step,
                    nodes=tuple(unit.nodes),
                    analysis=a,
                    info=info,
                    cluster=cluster,
                )
            )
        leaves = [i for i in range(n) if order[i]._op is None and i != n - 1]
        listed = [
            f"{wrap_name(a.names[i])}.grad = {fmt_num(order[i].grad, '.4g')}" for i in leaves[:12]
        ]
        if len(leaves) > 12:
            listed.append(f"… and {len(leaves) - 12} more")
        leaves_text = "Leaves: " + ", ".join(listed) if listed else "The output is a leaf."
        frames.append(
            BackwardFrame.done(
                len(frames),
                tuple(v.grad for v in order),
                "every grad is final. " + leaves_text,
                a,
                info=info,
                cluster=cluster,
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
PAGE_ASSETS = ("stepper.js", "stepper.css", "compare.js")


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


# graphviz draws the graph's label (our legend, labelloc=t) between the background polygon and
# the first node, edge or cluster group.
_LEGEND = re.compile(
    r'(<g id="graph0" class="graph"[^>]*>\s*<title>.*?</title>\s*<polygon[^>]*/>\s*)'
    r"(.*?)(?=<g id=)",
    re.DOTALL,
)


def _svg_body(svg: str) -> str:
    """The ``<svg>`` element alone: no XML declaration, DOCTYPE or comments.

    Its legend goes into a ``<g class="mg-legend">``, which the page's script keeps in view as
    the picture scrolls to the node that runs: beside a tall picture, or along its band.
    """
    start = svg.index("<svg")
    body = re.sub(r"<!--.*?-->\n?", "", svg[start:], flags=re.DOTALL)
    m = _LEGEND.search(body)
    if m is None or not m.group(2).strip():
        return body
    return f'{body[: m.end(1)]}<g class="mg-legend">\n{m.group(2)}</g>\n{body[m.end(2) :]}'


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


# Where the stepper's script cannot run, the note says how to let it, for each front-end a
# learner meets; JupyterLab 4 has no "Trust Notebook" menu item, only the palette command.
TRUST_NOTE = (
    "Shown: the last frame. To step through backward() here, the stepper's script must run: "
    "trust the notebook. <strong>JupyterLab</strong>: run <em>Trust Notebook</em> from the "
    "command palette (View &gt; Activate Command Palette, or Ctrl+Shift+C). "
    "<strong>Jupyter Notebook 7</strong>: File &gt; Trust Notebook. <strong>VS Code</strong>: "
    "trust the notebook when it asks. <strong>JupyterLab's HTML viewer</strong>: click "
    "<em>Trust HTML</em>. <strong>A saved page shown as text</strong>: open it in a web browser."
)

# Un-hides the live view once stepper.js has run (it marks the stepper data-ready and hides
# the note); where scripts are stripped, the controls and the SVG stay hidden, since a
# sanitizer that drops <svg> keeps its text, which would read as a wall of numbers.
_SHOW_LIVE = (
    "(function (s) { var r = s && s.parentNode;"
    " if (r && r.getAttribute('data-ready')) {"
    " r.querySelectorAll('.mg-controls, .mg-svg').forEach(function (e) { e.hidden = false; });"
    " } })(document.currentScript);"
)


@dataclass(frozen=True)
class _Page:
    """The stepper's rendered parts, laid out as HTML for a notebook or for a standalone page."""

    cid: str
    svg: str
    payload: str
    caption: str
    n: int
    picture: GraphPicture
    """The last frame's picture (the SVG above is its rendering, with ids for the script)."""
    counter: str = ""
    """Where the shown frame is (``Done``): the page's one counter."""

    def still(self) -> str:
        """The last frame as an ``<img>`` holding a PNG: what survives every sanitizer."""
        png = base64.b64encode(self.picture.rendered("png")).decode("ascii")
        return (
            '<img class="mg-still" style="max-width:100%;height:auto" '
            'alt="the backward pass, last frame: every grad computed" '
            f'src="data:image/png;base64,{png}">'
        )

    def fragment(self, still: bool) -> str:
        """The stepper ``<div>``; ``still``: for a notebook (see :attr:`BackwardStepper.html`)."""
        last = self.n - 1
        hidden = ' hidden="hidden"' if still else ""
        note = f"{self.still()}<br>\n{TRUST_NOTE}" if still else TRUST_NOTE
        show = f"<script>{_SHOW_LIVE}</script>\n" if still else ""
        return (
            f'<div class="mg-stepper" id="{self.cid}" tabindex="0" data-frame="{last}">\n'
            f"<style>{page_asset('stepper.css')}</style>\n"
            f'<div class="mg-controls"{hidden}>'
            '<button type="button" data-act="first" title="first frame (Home)">|&lt;</button>'
            '<button type="button" data-act="prev" title="previous (←)">&lt; prev</button>'
            f'<input type="range" min="0" max="{last}" value="{last}" aria-label="frame">'
            '<button type="button" data-act="next" title="next (→)">next &gt;</button>'
            '<button type="button" data-act="last" title="last frame (End)">&gt;|</button>'
            '<button type="button" data-act="play">play</button>'
            '<button type="button" data-act="zoom" title="the picture at its own size, or fitted '
            'to the width (z, or ctrl + mouse wheel)">zoom 100%</button>'
            f'<span class="mg-counter">{html.escape(self.counter)}</span></div>\n'
            f'<div class="mg-caption">{html.escape(self.caption)}</div>\n'
            f'<div class="mg-note">{note}</div>\n'
            f'<div class="mg-view"><div class="mg-svg"{hidden}>{self.svg}</div></div>\n'
            f'<script type="application/json" class="mg-data">{self.payload}</script>\n'
            f"<script>{page_asset('stepper.js').rstrip()}({json.dumps(self.cid)});</script>\n"
            f"{show}</div>"
        )


def page_data(
    frames: list[BackwardFrame], built: BuiltPicture, prefix: str, fmt: str
) -> dict[str, Any]:
    """What the page's script needs to show each frame, as JSON-ready data.

    Per frame its counter, caption and marks; per slot its texts over the frames (each
    ``[frame, text, colour]`` where it changes); per grad slot the frame from which it is final
    (before it, the page greys it).
    """
    a = frames[0].analysis
    timelines: dict[str, list[list[Any]]] = {}
    per_frame = []
    for f, fr in enumerate(frames):
        st = fr.state()
        for s in built.slots:
            text, color = slot_text(a, s, st, fmt)
            tl = timelines.setdefault(prefix + s.name, [])
            if not tl or tl[-1][1] != text or tl[-1][2] != color:
                tl.append([f, text, color])
        hl = fr.highlight()
        if fr.kind == "done":
            shown = [i for i, v in enumerate(a.order) if v._op is None]
            cur = [built.elements[i][0] for i in shown if i in built.elements]
        else:
            cur = [el for j in sorted(hl.nodes) for el in built.elements.get(j, [])]
        used = [built.edge_elements[e] for e in sorted(hl.edges) if e in built.edge_elements]
        names = {s.name for s in built.slots}
        changed = [f"v{i}grad" for i in sorted(hl.changed) if f"v{i}grad" in names]
        per_frame.append(
            {
                "counter": fr.counter,
                "caption": fr.explanation,
                "cur": [prefix + x for x in dict.fromkeys(cur)],
                "used": [prefix + x for x in dict.fromkeys(used)],
                "changed": [prefix + x for x in changed],
            }
        )
    final_at: dict[str, int] = {}
    for s in built.slots:
        if s.kind in ("prod", "amount"):
            continue
        final_at[prefix + s.name] = next(
            (f for f, fr in enumerate(frames) if slot_final(a, s, fr.state())), len(frames) - 1
        )
    return {"n": len(frames), "frames": per_frame, "slots": timelines, "final": final_at}


class BackwardStepper:
    """An interactive, self-contained HTML page that steps through ``backward()``.

    Shows inline in Jupyter, trusted or not (see :attr:`html`), and as a line of text where
    there are no pictures; :meth:`save` writes a standalone page. Rendering the picture needs
    graphviz's ``dot`` program (without it the display says how to install it).

    Args:
        root: The output to differentiate (see :func:`backward_steps`; your grads are kept).
        gradient: The seed, 1.0 for a loss.
        rankdir: ``"LR"`` or ``"TB"`` (or ``"RL"``, ``"BT"``).
        fmt: Number format, e.g. ``".4g"``.
        hide_constants: Fold constants into their op nodes.
        max_nodes: Refuse graphs with more nodes than this (the page becomes unusable); a
            picture by neuron or layer counts its boxes, not the nodes inside them.
        model: The model that built the graph (needed for ``cluster``).
        cluster: ``"neuron"`` or ``"layer"``: the picture of ``draw_dot(root, "backward",
            model=model, cluster=...)``, stepped one neuron (or layer) at a time.
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
        model: object = None,
        cluster: str | None = None,
    ) -> None:
        root = check_root(root)
        self.opts = DrawOptions(
            view="backward",
            rankdir=rankdir,
            fmt=fmt,
            hide_constants=hide_constants,
            cluster=cluster,
            max_nodes=max_nodes,
        )
        self.frames = backward_steps(root, gradient, model=model, cluster=cluster)
        self.info = self.frames[0].info
        self._html: _Page | None = None

    @classmethod
    def from_frames(
        cls,
        frames: list[BackwardFrame],
        *,
        rankdir: str = "LR",
        fmt: str = ".4g",
        hide_constants: bool = False,
    ) -> BackwardStepper:
        """A stepper over frames made elsewhere (a learner's own backward(), recorded)."""
        self = cls.__new__(cls)
        self.opts = DrawOptions(
            view="backward",
            rankdir=rankdir,
            fmt=fmt,
            hide_constants=hide_constants,
            max_nodes=DEFAULT_MAX_NODES,
        )
        self.frames = frames
        self.info = frames[0].info
        self._html = None
        return self

    def __len__(self) -> int:
        return len(self.frames)

    def _fragment(self, still: bool = True) -> str:
        if self._html is not None:
            return self._html.fragment(still)
        frames = self.frames
        a = frames[0].analysis
        final = frames[-1]
        probe = build_picture(a.order[-1], self.opts, self.info, final.state(), None, a)
        digest = hashlib.sha1(probe.graph.source.encode()).hexdigest()[:6]
        prefix = f"mg{digest}{next(_counter)}_"
        opts = dataclasses.replace(self.opts, id_prefix=prefix)
        built = build_picture(a.order[-1], opts, self.info, final.state(), None, a, EXPLAIN)
        svg = built.graph.pipe(format="svg", encoding="utf-8")
        slots = {s.name: (s.element, s.position) for s in built.slots}
        svg = _tag_slots(_svg_body(svg), prefix, built.texts, slots)
        data = page_data(frames, built, prefix, self.opts.fmt)
        payload = json_for_script(data)
        cid = prefix + "stepper"
        self._html = _Page(
            cid, svg, payload, final.explanation, len(frames), built.graph, final.counter
        )
        return self._html.fragment(still)

    @property
    def html(self) -> str:
        """The stepper as an HTML fragment for a notebook: a ``<div>`` with SVG, CSS and script.

        Where the notebook is not trusted, front-ends strip the script, the style and the SVG
        (JupyterLab, GitHub); the fragment then shows the last frame as a PNG ``<img>`` and a
        note saying how to trust the notebook, and keeps the controls hidden. Once the script
        runs, the note goes and the interactive picture takes its place.

        Raises:
            GraphvizNotFoundError: graphviz's ``dot`` program is not installed.
        """
        return self._fragment(still=True)

    @property
    def summary(self) -> str:
        """What the stepper is and how to step through it, in words (its ``text/plain``)."""
        a = self.frames[0].analysis
        steps = sum(1 for f in self.frames if f.kind == "step")
        return (
            f"BackwardStepper of {a.names[a.root]}: backward() one chain-rule step at a time, "
            f"{len(self.frames)} frames (the seed, {steps} steps, done). It steps in a trusted "
            "notebook or in a browser (.save('steps.html')); as text, print each frame's "
            "caption: for f in stepper.frames: print(f.caption)"
        )

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        return mime_bundle(
            {HTML: self._fragment, PNG: lambda: self._picture().rendered("png")},
            self.summary,
            include,
            exclude,
        )

    def _picture(self) -> GraphPicture:
        self._fragment()
        assert self._html is not None
        return self._html.picture

    def _repr_html_(self) -> str | None:
        """The notebook fragment, or None when it cannot be drawn (the text says why)."""
        try:
            return self._fragment()
        except (GraphvizNotFoundError, subprocess.CalledProcessError):
            return None

    def __repr__(self) -> str:
        return f"<{self.summary}>"

    def page(self, title: str = "microgradnn: backward, step by step") -> str:
        """The stepper as a complete standalone HTML document.

        It embeds no image: opened in a browser its script runs; where scripts are off
        (JupyterLab's HTML viewer until *Trust HTML*) the SVG still shows, with the note.
        """
        return standalone_page(title, self._fragment(still=False), "mg-standalone")

    def save(self, path: str | Path) -> Path:
        """Write the standalone page to ``path`` (UTF-8, replaced in one step); returns the path."""
        return atomic_write(path, self.page())


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


# ---------------------------------------------------------------------------------------------
# Your backward() next to microgradnn's.

_COMPARE_TOL = 1e-9


def _differs(a: float, b: float) -> bool:
    return abs(a - b) > _COMPARE_TOL * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class BackwardComparison:
    """A learner's own backward() and microgradnn's, frame by frame, on the same graph.

    Attributes:
        yours: The learner's frames: the seed, one per closure its backward() ran (in its own
            order), done; the grads are the learner's own.
        correct: microgradnn's frames over the same graph, running the same node at each step
            wherever that is a valid step (its inputs' uses all passed back), else the next
            node of its own reverse topological order.
        differing: Per frame, the positions of the nodes whose grads differ.
        first_difference: The first frame where a number differs (None: none does).
    """

    yours: list[BackwardFrame]
    correct: list[BackwardFrame]
    differing: list[tuple[int, ...]]
    first_difference: int | None

    @property
    def message(self) -> str:
        """Where the two passes part, in one sentence."""
        f = self.first_difference
        if f is None:
            return (
                f"your backward() and microgradnn's agree at every one of {len(self.yours)} frames"
            )
        a = self.correct[0].analysis
        i = self.differing[f][-1]
        name = wrap_name(a.names[i])
        mine, theirs = _grads_at(self.yours, f)[i], _grads_at(self.correct, f)[i]
        step = self.yours[min(f, len(self.yours) - 1)]
        what = "before the first step" if f == 0 else step.counter.lower()
        ran = ""
        if step.node_index is not None and f > 0:
            ran = f" (your backward() ran {a.names[step.node_index]}'s _backward)"
        return (
            f"the passes part {what}{ran}: {name}.grad is {fmt_num(mine, '.4g')} in yours, "
            f"{fmt_num(theirs, '.4g')} in microgradnn's"
        )

    def steppers(self, **options: Any) -> tuple[BackwardStepper, BackwardStepper]:
        """The two steppers (yours, microgradnn's); options as :class:`BackwardStepper`'s."""
        return (
            BackwardStepper.from_frames(self.yours, **options),
            BackwardStepper.from_frames(self.correct, **options),
        )

    def html(self, *, still: bool = False, **options: Any) -> str:
        """Both steppers side by side with one set of controls, as an HTML fragment.

        ``still``: for a notebook, where the script may not run (untrusted, GitHub): each pane
        shows its last frame as a PNG, and the shared controls stay hidden until the script
        shows them.
        """
        mine, theirs = self.steppers(**options)
        data = self.page_data()
        cid = f"mgcmp{next(_counter)}"
        last = data["n"] - 1
        hidden = ' hidden="hidden"' if still else ""
        return (
            f'<div class="mg-compare" id="{cid}">\n'
            f'<div class="mg-compare-message">{html.escape(self.message)}</div>\n'
            f'<div class="mg-compare-controls"{hidden}>'
            '<button type="button" data-act="first">|&lt;</button>'
            '<button type="button" data-act="prev">&lt; prev</button>'
            f'<input type="range" min="0" max="{last}" value="0" aria-label="frame">'
            '<button type="button" data-act="next">next &gt;</button>'
            '<button type="button" data-act="last">&gt;|</button>'
            '<button type="button" data-act="play">play</button>'
            '<button type="button" data-act="difference">first difference</button>'
            '<span class="mg-compare-counter"></span></div>\n'
            '<div class="mg-panes">'
            f'<div class="mg-pane"><h3>your backward()</h3>{mine._fragment(still)}</div>'
            f'<div class="mg-pane"><h3>microgradnn</h3>{theirs._fragment(still)}</div>'
            "</div>\n"
            f'<script type="application/json" class="mg-compare-data">{json_for_script(data)}'
            "</script>\n"
            f"<script>{page_asset('compare.js').rstrip()}({json.dumps(cid)});</script>\n"
            "</div>"
        )

    def page(self, title: str = "microgradnn: your backward() next to microgradnn's") -> str:
        """The comparison as a complete standalone HTML document."""
        return standalone_page(title, self.html(), "mg-standalone")

    def __repr__(self) -> str:
        return f"<BackwardComparison: {self.message}>"

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        return mime_bundle(
            {HTML: lambda: self.html(still=True, rankdir="TB")}, self.message, include, exclude
        )

    def save(self, path: str | Path) -> Path:
        """Write the standalone page to ``path``; returns the path."""
        return atomic_write(path, self.page())

    def page_data(self) -> dict[str, Any]:
        """What the comparison page's script reads: per frame the differing nodes, the stop."""
        return {
            "n": max(len(self.yours), len(self.correct)),
            "stop": self.first_difference,
            "differing": [[f"v{i}grad" for i in d] for d in self.differing],
            "message": self.message,
        }


def _grads_at(frames: list[BackwardFrame], f: int) -> tuple[float, ...]:
    return frames[min(f, len(frames) - 1)].grads


def _learner_frames(m: learner.Mirror, rec: learner.Recording, a: Analysis) -> list[BackwardFrame]:
    """The learner's recorded backward() as frames on the mirror's analysis."""
    frames: list[BackwardFrame] = []
    n = len(m.nodes)
    processed = [False] * n
    rname = a.names[-1]
    frames.append(
        BackwardFrame(
            index=0,
            kind="seed",
            node=a.order[-1],
            node_index=n - 1,
            contributions=(),
            grads=rec.seed,
            processed=tuple(processed),
            counter="Start",
            explanation=(
                f"your backward() has seeded {rname}.grad = {fmt_num(rec.seed[-1], '.4g')}; "
                f"now it runs {len(rec.calls)} _backward closures"
            ),
            step=0,
            analysis=a,
        )
    )
    total = len(rec.calls)
    before = rec.seed
    for step, (j, after) in enumerate(zip(rec.calls, rec.after, strict=True), start=1):
        upstream = before[j]
        contribs = []
        lines = [
            f"{a.definition(j, '.4g')}, and {wrap_name(a.names[j])}.grad = "
            f"{fmt_num(upstream, '.4g')} (your _backward)"
        ]
        for i in dict.fromkeys(a.index[id(p)] for p in a.order[j]._prev if type(p) is Value):
            amount = after[i] - before[i]
            x = wrap_name(a.names[i])
            lines.append(
                f"  {x}.grad: {fmt_num(before[i], '.4g')} → {fmt_num(after[i], '.4g')} "
                f"(changed by {fmt_num(amount, '.4g')})"
            )
            k = next(k for k, p in enumerate(a.order[j]._prev) if p is a.order[i])
            contribs.append(
                Contribution(
                    input_index=i,
                    position=k,
                    name=a.names[i],
                    local=amount / upstream if upstream else 0.0,
                    upstream=upstream,
                    amount=amount,
                    grad_after=after[i],
                    node_index=j,
                )
            )
        processed[j] = True
        frames.append(
            BackwardFrame(
                index=len(frames),
                kind="step",
                node=a.order[j],
                node_index=j,
                contributions=tuple(contribs),
                grads=after,
                processed=tuple(processed),
                counter=f"Step {step} of {total}",
                explanation="\n".join(lines),
                step=step,
                nodes=(j,),
                analysis=a,
            )
        )
        before = after
    frames.append(BackwardFrame.done(len(frames), before, "your backward() has returned", a))
    return frames


def _following(a: Analysis, calls: tuple[int, ...]) -> list[int]:
    """A valid backward order that runs the learner's node at each step wherever it may."""
    ops = [j for j in range(len(a.order) - 1, -1, -1) if a.order[j]._op is not None]
    done: set[int] = set()

    def ready(j: int) -> bool:
        return j not in done and all(c in done for c, _ in a.consumers[j])

    order: list[int] = []
    for j in calls:
        pick = j if ready(j) else next((k for k in ops if ready(k)), None)
        if pick is None:
            break
        done.add(pick)
        order.append(pick)
    order += [k for k in ops if k not in done]
    return order


def compare_backward(root: Any, *, passes: int = 1) -> BackwardComparison:
    """Your own Value class's backward() next to microgradnn's, stopping where they part.

    Your class's backward() runs on ``root`` (``passes`` times; the last pass is recorded, one
    frame per closure it runs, in its own order). microgradnn's engine steps the same graph
    from every grad at 0, running your node at each step wherever that is a valid step. The
    first frame where any grad differs is where your backward() goes wrong. Your grads are put
    back as they were.

    Args:
        root: The output of your micrograd-style Value's graph (not yet back-propagated).
        passes: How many times to call your backward() (2: the second pass on the same graph).

    Raises:
        TypeError: ``root`` is not a micrograd-style Value, or the class does not let its
            nodes' ``_backward`` be wrapped for recording.
    """
    if not learner.is_learner_value(root):
        raise TypeError(
            f"root: expected the output of your own micrograd-style Value class, got "
            f"{describe(root)}"
        )
    passes = integer("passes", passes, low=1)
    m = learner.mirror(root)
    saved = [n.grad for n in m.nodes]
    for _ in range(passes - 1):
        root.backward()
    rec = learner.record(m, root.backward)
    try:
        if rec is None:
            raise TypeError(
                "compare_backward wraps each node's _backward to see your backward() run, and "
                "this class does not let _backward be replaced"
            )
        a = analyze(m.root)
        yours = _learner_frames(m, rec, a)
        correct = _steps(m.root, 1.0, None, None, _following(a, rec.calls))
    finally:
        for n, g in zip(m.nodes, saved, strict=True):
            n.grad = g
        m.refresh()
    count = max(len(yours), len(correct))
    differing = []
    for f in range(count):
        mine, theirs = _grads_at(yours, f), _grads_at(correct, f)
        differing.append(tuple(i for i in range(len(mine)) if _differs(mine[i], theirs[i])))
    first = next((f for f, d in enumerate(differing) if d), None)
    return BackwardComparison(yours, correct, differing, first)
