"""Tests for microgradnn.viz.graph: the forward and backward pictures.

Numbers in the pictures are checked against closed forms (the micrograd neuron
o = tanh(x1*w1 + x2*w2 + b)) or PyTorch float64, never against the engine's own output.
Rendering tests need graphviz's `dot`; DOT-source tests run without it.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import graphviz
import numpy as np
import pytest

from microgradnn import Value, mse_loss
from microgradnn.activations import PReLU
from microgradnn.nn import MLP, Layer, Neuron
from microgradnn.viz import GraphPicture, GraphvizNotFoundError, draw_dot, render
from microgradnn.viz.analysis import final_state
from microgradnn.viz.clusters import assign_groups, graph_order, model_info
from microgradnn.viz.graph import DrawOptions, build_picture, slot_text

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")

# The micrograd lecture's neuron: b chosen so that n = 0.8814 and o = tanh(n) = 1/sqrt(2).
B = 6.8813735870195432
N_DATA = 2.0 * -3.0 + 0.0 * 1.0 + B
O_DATA = math.tanh(N_DATA)
DO_DN = 1.0 - O_DATA**2  # = 0.5


def neuron() -> dict[str, Value]:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(B, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return {v.label: v for v in (x1, x2, w1, w2, b, x1w1, x2w2, s, n, o)}


def g4(x: float) -> str:
    return format(0.0 if x == 0 else x, ".4g")


def svg_groups(svg: str) -> dict[str, list[str]]:
    """{element id: [its texts]} for every node and edge of a graphviz SVG, '&#45;' -> '-'."""
    out: dict[str, list[str]] = {}
    starts = list(re.finditer(r'<g id="([^"]+)" class="(?:node|edge)[^"]*">', svg))
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(svg)
        texts = re.findall(r"<text[^>]*>(.*?)</text>", svg[m.end() : end], flags=re.DOTALL)
        out[html.unescape(m.group(1))] = [html.unescape(t) for t in texts]
    return out


def node_id(root: Value, v: Value) -> str:
    return f"v{[id(u) for u in root.topological_order()].index(id(v))}"


# -- forward view ----------------------------------------------------------------------------------


@needs_dot
def test_forward_svg_shows_label_data_grad_of_every_value() -> None:
    vs = neuron()
    o = vs["o"]
    o.backward()
    groups = svg_groups(draw_dot(o).pipe(format="svg", encoding="utf-8"))
    expected = {
        "x1": (2.0, -3.0 * DO_DN),
        "w1": (-3.0, 2.0 * DO_DN),
        "x2": (0.0, 1.0 * DO_DN),
        "w2": (1.0, 0.0),
        "b": (B, DO_DN),
        "x1*w1": (-6.0, DO_DN),
        "n": (N_DATA, DO_DN),
        "o": (O_DATA, 1.0),
    }
    for name, (data, grad) in expected.items():
        texts = groups[node_id(o, vs[name])]
        assert texts[:3] == [name, f"data {g4(data)}", f"grad {g4(grad)}"], name


@needs_dot
def test_forward_edges_carry_local_derivatives() -> None:
    vs = neuron()
    o = vs["o"]
    o.backward()
    groups = svg_groups(draw_dot(o).pipe(format="svg", encoding="utf-8"))
    edge_texts = [t for k, texts in groups.items() if k.startswith("e") for t in texts]
    assert f"∂o/∂n = 1 - o² = {g4(DO_DN)}" in edge_texts
    assert "∂(x1*w1)/∂x1 = w1 = -3" in edge_texts
    assert "∂(x1*w1)/∂w1 = x1 = 2" in edge_texts
    assert "∂n/∂b = 1" in edge_texts
    assert not any("×" in t for t in edge_texts), "forward view shows no chain-rule products"


def test_forward_source_without_dot() -> None:
    vs = neuron()
    src = draw_dot(vs["o"]).source
    assert src.startswith("digraph")
    assert "<B>x1</B>" in src
    assert "data 2" in src
    assert "rankdir=LR" in src


def test_node_names_follow_topological_order_and_are_stable() -> None:
    a = neuron()["o"]
    b = neuron()["o"]
    assert draw_dot(a).source == draw_dot(b).source
    order = a.topological_order()
    src = draw_dot(a).source
    for i, v in enumerate(order):
        line = next(ln for ln in src.splitlines() if ln.strip().startswith(f"v{i} [label="))
        assert f"<B>{html.escape(v.label)}</B>" in line
        assert f"id=v{i}" in line
    assert "0x" not in src  # no id() in names


def test_kinds_are_styled_differently() -> None:
    vs = neuron()
    src = draw_dot(vs["o"]).source
    classes = dict(re.findall(r'\t(v\d+) \[.*?class="mg-value mg-(\w+)"', src))
    o = vs["o"]
    assert classes[node_id(o, vs["x1"])] == "input"
    assert classes[node_id(o, vs["w1"])] == "param"
    assert classes[node_id(o, vs["b"])] == "param"
    assert classes[node_id(o, vs["n"])] == "value"
    assert classes[node_id(o, vs["o"])] == "output"
    # with model= the parameters are exactly those given (here only w2)
    src2 = draw_dot(o, model=[vs["w2"]]).source
    classes2 = dict(re.findall(r'\t(v\d+) \[.*?class="mg-value mg-(\w+)"', src2))
    assert classes2[node_id(o, vs["w1"])] == "input"
    assert classes2[node_id(o, vs["w2"])] == "param"
    assert "parameter" in src  # legend


def test_x_times_x_draws_two_edges() -> None:
    x = Value(3.0, label="x")
    y = x * x
    src = draw_dot(y).source
    assert len(re.findall(r"\tv0 -> v1op ", src)) == 2
    assert "(arg 1)" in src
    assert "(arg 2)" in src


def test_constants_as_small_nodes_or_folded() -> None:
    x = Value(3.0, label="x")
    y = 2.0 - x
    src = draw_dot(y).source
    assert re.search(r'\tv1c0 \[label=2 class="mg-const"', src)
    assert "\tv1c0 -> v1op" in src
    folded = draw_dot(y, hide_constants=True).source
    assert "v1c0" not in folded
    assert '\tv1op [label="2 -"' in folded
    z = x * 0.5
    assert '\tv1op [label="* 0.5"' in draw_dot(z, hide_constants=True).source


@needs_dot
def test_labels_with_special_characters_render() -> None:
    x = Value(1.0, label='a{b}|<c> & "d"')
    y = x.exp()
    y.label = "y<1>"
    svg = draw_dot(y).pipe(format="svg", encoding="utf-8")
    texts = [t for ts in svg_groups(svg).values() for t in ts]
    assert 'a{b}|<c> & "d"' in texts
    assert "y<1>" in texts


def test_number_format_and_rankdir() -> None:
    x = Value(2.0, label="x")
    y = x * 3
    y.label = "y"
    src = draw_dot(y, fmt=".3f", rankdir="TB").source
    assert "data 2.000" in src
    assert "data 6.000" in src
    assert "rankdir=TB" in src


def test_show_grad_false_hides_grads_in_forward_view() -> None:
    x = Value(2.0, label="x")
    y = x.tanh()
    y.backward()
    assert not re.search(r">grad [^<]*<", draw_dot(y, show_grad=False).source)
    assert f">grad {g4(1 - math.tanh(2.0) ** 2)}<" in draw_dot(y).source


# -- backward view ---------------------------------------------------------------------------------


@needs_dot
def test_backward_edges_show_local_and_chain_rule_product() -> None:
    vs = neuron()
    o = vs["o"]
    o.backward()
    g = draw_dot(o, "backward")
    src = g.source
    assert "dir=back" in src
    groups = svg_groups(g.pipe(format="svg", encoding="utf-8"))
    edges = {tuple(t): k for k, t in groups.items() if k.startswith("e")}
    assert (f"∂o/∂n = 1 - o² = {g4(DO_DN)}", f"1 × {g4(DO_DN)} = {g4(DO_DN)}") in edges
    assert (
        "∂(x1*w1)/∂x1 = w1 = -3",
        f"{g4(DO_DN)} × -3 = {g4(-3 * DO_DN)}",
    ) in edges
    assert ("∂(x1*w1)/∂w1 = x1 = 2", f"{g4(DO_DN)} × 2 = {g4(2 * DO_DN)}") in edges
    assert ("∂(x2*w2)/∂w2 = x2 = 0", f"{g4(DO_DN)} × 0 = 0") in edges
    root_texts = groups[node_id(o, o)]
    assert root_texts[2:] == ["grad 1", "= seed"]


@needs_dot
def test_backward_node_used_twice_shows_its_contributions_summing_to_grad() -> None:
    x = Value(3.0, label="x")
    y = x * x + 2 * x  # dy/dx = 2x + 2 = 8 = 2 (from 2x) + 3 + 3 (from x*x)
    y.label = "y"
    y.backward()
    groups = svg_groups(draw_dot(y, "backward").pipe(format="svg", encoding="utf-8"))
    assert groups["v0"] == ["x", "data 3", "grad 8", "= 2 + 3 + 3"]
    products = sorted(t[1] for k, t in groups.items() if k.startswith("e") and len(t) == 2)
    assert products.count("1 × 3 = 3") == 2
    assert "1 × 2 = 2" in products


def test_backward_sum_shows_negative_terms_and_earlier_accumulation() -> None:
    x = Value(2.0, label="x")
    y = x * 3 - x  # dy/dx = 3 - 1
    y.label = "y"
    y.backward()
    assert "= -1 + 3" in draw_dot(y, "backward").source
    y.backward()  # the leaf accumulates: 4 = 2 (earlier) + -1 + 3
    src = draw_dot(y, "backward").source
    assert "grad 4" in src
    assert "= 2 (earlier) - 1 + 3" in src


def test_backward_view_before_backward_says_so() -> None:
    x = Value(2.0, label="x")
    src = draw_dot(x.tanh(), "backward").source
    assert "call backward() on the output first" in src


@pytest.mark.torch
def test_backward_grads_and_sums_match_torch_for_an_mlp() -> None:
    torch = pytest.importorskip("torch")
    model = MLP(2, [3, 1], activation="tanh", seed=3)
    xs = [Value(0.7, label="x0"), Value(-1.2, label="x1")]
    out = model(xs)
    assert isinstance(out, Value)
    loss = (out - 0.5) ** 2
    loss.label = "loss"
    loss.backward()
    seq = model.to_torch()
    xt = torch.tensor([[0.7, -1.2]], dtype=torch.float64, requires_grad=True)
    lt = ((seq(xt)[0, 0] - 0.5) ** 2).sum()
    lt.backward()
    src = draw_dot(loss, "backward", model=model).source
    order = loss.topological_order()
    # x0 is used by 3 neurons: its sum cell lists 3 terms adding up to torch's gradient
    i = [id(v) for v in order].index(id(xs[0]))
    line = next(ln for ln in src.splitlines() if ln.strip().startswith(f"v{i} [label="))
    terms = re.search(r"= ([^<]*)</FONT>", line)
    assert terms is not None
    parts = re.split(r" ([+-]) ", terms.group(1))
    total = float(parts[0]) + sum(
        float(v) * (1 if s == "+" else -1) for s, v in zip(parts[1::2], parts[2::2], strict=True)
    )
    assert len(parts) == 5
    assert total == pytest.approx(xt.grad[0, 0].item(), rel=2e-3, abs=1e-4)
    assert f"grad {g4(xt.grad[0, 0].item())}" in line
    # every weight's grad cell shows torch's gradient
    first = seq[0].weight.grad.numpy()
    for j, neuron_ in enumerate(model.layers[0].neurons):
        for k, w in enumerate(neuron_.w):
            assert g4(w.grad) == g4(float(first[j, k]))
            idx = [id(v) for v in order].index(id(w))
            wline = next(ln for ln in src.splitlines() if ln.strip().startswith(f"v{idx} [label="))
            assert f"grad {g4(float(first[j, k]))}" in wline


# -- clusters for networks -------------------------------------------------------------------------


def mlp_loss(sizes: list[int], act: str = "tanh", seed: int = 0) -> tuple[MLP, Value, list[float]]:
    model = MLP(2, sizes, activation=act, seed=seed)
    x = [0.5, -1.0]
    out = model(x)
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return model, loss, x


def test_assign_groups_follows_parameter_identity() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    xs = [Value(1.0, label="x0"), Value(2.0, label="x1")]
    out = model(xs)
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    order = loss.topological_order()
    info = model_info(model)
    assigned = assign_groups(order, info)
    groups = dict(zip(map(id, order), assigned.groups, strict=True))
    for k, n in enumerate(info.neurons):
        neuron_ = model.layers[n.layer].neurons[n.index]
        assert all(groups[id(w)] == k for w in neuron_.w)
        assert groups[id(neuron_.b)] == k
    hidden = model.layers[0].neurons
    for k, nrn in enumerate(hidden):
        # the products w_i * x_i, the Σ and the tanh of hidden neuron k
        prods = [v for v in order if any(p is w for w in nrn.w for p in v._prev)]
        assert len(prods) == 2
        assert all(groups[id(p)] == k for p in prods)
        # Neuron documents its labels: the Σ is "z", the activation "a" (an oracle the
        # assignment itself never reads)
        zs = [v for v in order if v.label == "z" and nrn.b in v._prev]
        assert len(zs) == 1
        assert groups[id(zs[0])] == k
        assert [order[i] for i in assigned.sums[k]] == zs
        acts = [v for v in order if v.label == "a" and zs[0] in v._prev]
        assert len(acts) == 1
        assert groups[id(acts[0])] == k
        assert [order[i] for i in assigned.activations[k]] == acts
        assert order[assigned.output(k)] is acts[0]
    out_neuron = len(info.neurons) - 1  # linear: no activation node, its Σ is its output
    assert assigned.activations[out_neuron] == []
    assert order[assigned.output(out_neuron)] is out
    assert groups[id(xs[0])] is None
    assert groups[id(xs[1])] is None
    assert groups[id(loss)] is None
    assert groups[id(loss._prev[0])] is None  # out - 1.0 is the loss, not the neuron


def _graph(model: object, xs: list[float]) -> tuple[list[Value], Value]:
    out = model([Value(x, label=f"x{i}") for i, x in enumerate(xs)])  # type: ignore[operator]
    outs = out if isinstance(out, list) else [out]
    return graph_order(outs), outs[0]


def test_assign_groups_reads_no_labels() -> None:
    model = MLP(2, [3, 2], activation="relu", seed=1)
    order, _ = _graph(model, [0.3, -0.7])
    info = model_info(model)
    before = assign_groups(order, info)
    for v in order:
        v.label = "a" if v._op is None else "z"  # labels that would fool a label match
    after = assign_groups(order, info)
    assert after == before
    assert all(len(a) == 1 for a in after.activations[:3])  # hidden relu units
    assert after.activations[3:] == [[], []]  # linear outputs


def test_assign_groups_finds_prelu_and_leaky_relu_activations() -> None:
    # own PReLU per neuron: the slope is the neuron's parameter, its node the activation
    model = MLP(2, [2, 1], activation="prelu", seed=0)
    order, _ = _graph(model, [1.0, -2.0])
    info = model_info(model)
    assigned = assign_groups(order, info)
    for k, nrn in enumerate(model.layers[0].neurons):
        assert isinstance(nrn.activation, PReLU)
        assert info.neurons[k].alpha is nrn.activation.alpha
        (act,) = [order[i] for i in assigned.activations[k]]
        assert act._prev[1] is nrn.activation.alpha
        assert assigned.groups[order.index(nrn.activation.alpha)] == k
    # one PReLU shared by a layer: each neuron still gets its own activation node; the
    # shared slope belongs to none of them
    shared = PReLU()
    layer = Layer(2, 3, activation=shared, seed=0)
    order, _ = _graph(layer, [1.0, -2.0])
    assigned = assign_groups(order, model_info(layer))
    for k in range(3):
        (act,) = [order[i] for i in assigned.activations[k]]
        (z,) = [order[i] for i in assigned.sums[k]]
        assert act._prev == (z, shared.alpha)
    assert assigned.groups[order.index(shared.alpha)] is None
    # leaky_relu's slope is a constant second input; the op is matched by its row
    leaky = Neuron(2, activation="leaky_relu", seed=0)
    order, out = _graph(leaky, [1.0, -2.0])
    assigned = assign_groups(order, model_info(leaky))
    assert order[assigned.output(0)] is out
    assert assigned.activations == [[len(order) - 1]]


def test_assign_groups_custom_activation_and_parameter_lists() -> None:
    def double(z: Value) -> Value:
        return z * 2.0

    nrn = Neuron(2, activation=double, seed=0)
    order, out = _graph(nrn, [1.0, 2.0])
    info = model_info(nrn)
    assert info.layer_names == ["neuron"]
    assert info.neurons[0].row is None
    assigned = assign_groups(order, info)
    (z,) = assigned.sums[0]
    assert assigned.output(0) == z  # no row to tell the activation: the Σ is the output
    assert out._prev[0] is order[z]
    assert assigned.groups[order.index(out)] is None
    params = model_info(nrn.parameters())
    assert params.neurons == []
    assert sorted(params.param_names.values()) == ["b", "w0", "w1"]


def test_max_nodes_error_suggests_clusters() -> None:
    _, loss, _ = mlp_loss([16, 16, 1])
    with pytest.raises(
        ValueError, match=r"more than max_nodes=500.*cluster='neuron'.*hide_constants"
    ):
        draw_dot(loss)
    x = Value(1.0, label="x")
    y = x
    for _ in range(30):
        y = y * 1.01
    with pytest.raises(ValueError, match="max_nodes=10"):
        draw_dot(y, max_nodes=10)
    model, loss, _ = mlp_loss([16, 16, 1])
    with pytest.raises(ValueError, match="pass collapse=True"):
        draw_dot(loss, model=model, cluster="neuron", collapse=False)
    assert draw_dot(y, max_nodes=None).source


@needs_dot
def test_mlp_collapsed_by_neuron_renders_with_neuron_summaries() -> None:
    model, loss, x = mlp_loss([16, 16, 1])
    g = draw_dot(loss, "backward", model=model, cluster="neuron")
    svg = g.pipe(format="svg", encoding="utf-8")
    groups = svg_groups(svg)
    neuron_nodes = [k for k in groups if re.fullmatch(r"n\d+", k)]
    assert len(neuron_nodes) == 33
    # L0.N0's output is tanh(w·x + b), computed here with numpy from its weights
    n0 = model.layers[0].neurons[0]
    a0 = np.tanh(np.dot([w.data for w in n0.w], x) + n0.b.data)
    assert groups["n0"][:3] == ["L0.N0", "tanh", f"out {g4(float(a0))}"]
    # the two inputs were plain numbers: drawn as shared boxes x0, x1
    assert groups["in0_0"] == ["x0 = 0.5"]
    assert groups["in0_1"] == ["x1 = -1"]
    assert len(svg) < 400_000


@needs_dot
def test_mlp_collapsed_by_layer() -> None:
    model, loss, _ = mlp_loss([16, 16, 1])
    g = draw_dot(loss, model=model, cluster="layer")
    groups = svg_groups(g.pipe(format="svg", encoding="utf-8"))
    assert groups["L0"][:2] == ["layer 0", "16 × tanh"]
    assert groups["L1"][:2] == ["layer 1", "16 × tanh"]
    assert groups["L2"][:2] == ["layer 2", "1 × linear"]
    merged = [t for k, t in groups.items() if k.startswith("m_L0_L1")]
    assert merged == [["256 weights"]]


def test_mlp_clusters_without_collapse_keep_every_node() -> None:
    model, loss, _ = mlp_loss([2, 1])
    src = draw_dot(loss, model=model, cluster="neuron", collapse=False).source
    assert src.count("subgraph cluster_n") == 3
    n_values = len(loss.topological_order())
    assert len(re.findall(r'class="mg-value', src)) == n_values
    src_l = draw_dot(loss, model=model, cluster="layer", collapse=False).source
    assert src_l.count("subgraph cluster_L") == 2


# -- networks drawn as networks --------------------------------------------------------------------
#
# Geometry is read back from the SVG graphviz writes: each node's bounding box (the union of its
# polygons, ellipses and paths) and each edge's path (cubic Béziers, sampled). The SVG's y axis
# points down, so a smaller y is higher on the page.

_NUM = r"-?\d+(?:\.\d+)?"


class Box:
    """A node's bounding box in SVG coordinates (an ellipse keeps its true shape)."""

    def __init__(self, x0: float, y0: float, x1: float, y1: float, ellipse: bool) -> None:
        self.x0, self.y0, self.x1, self.y1, self.ellipse = x0, y0, x1, y1, ellipse

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def inside(self, x: float, y: float, margin: float) -> bool:
        if self.ellipse:
            rx, ry = (self.x1 - self.x0) / 2 - margin, (self.y1 - self.y0) / 2 - margin
            return rx > 0 and ry > 0 and ((x - self.cx) / rx) ** 2 + ((y - self.cy) / ry) ** 2 < 1
        return self.x0 + margin < x < self.x1 - margin and self.y0 + margin < y < self.y1 - margin

    def meets(self, other: Box, gap: float = 0.0) -> bool:
        return (
            self.x0 - gap < other.x1
            and other.x0 - gap < self.x1
            and self.y0 < other.y1
            and other.y0 < self.y1
        )


def svg_blocks(svg: str) -> list[tuple[str, str, str]]:
    """(id, "node" or "edge", the SVG of that element) for every node and edge."""
    starts = list(re.finditer(r'<g id="([^"]+)" class="(node|edge)[^"]*">', svg))
    out = []
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else svg.index("</svg>")
        out.append((html.unescape(m.group(1)), m.group(2), svg[m.end() : end]))
    return out


def _points(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(rf"({_NUM}),({_NUM})", text)]


def node_boxes(svg: str) -> dict[str, Box]:
    boxes = {}
    for name, kind, block in svg_blocks(svg):
        if kind != "node":
            continue
        pts = [p for ps in re.findall(r'points="([^"]+)"', block) for p in _points(ps)]
        pts += [p for d in re.findall(r'<path[^>]* d="([^"]+)"', block) for p in _points(d)]
        ellipses = re.findall(rf'cx="({_NUM})" cy="({_NUM})" rx="({_NUM})" ry="({_NUM})"', block)
        for cx, cy, rx, ry in ellipses:
            pts += [(float(cx) - float(rx), float(cy) - float(ry))]
            pts += [(float(cx) + float(rx), float(cy) + float(ry))]
        if pts:
            xs, ys = zip(*pts, strict=True)
            only_ellipse = bool(ellipses) and "<polygon" not in block
            boxes[name] = Box(min(xs), min(ys), max(xs), max(ys), only_ellipse)
    return boxes


def edge_points(svg: str) -> dict[str, list[tuple[float, float]]]:
    """Points along every edge's drawn path (each Bézier segment sampled 24 times)."""
    out: dict[str, list[tuple[float, float]]] = {}
    for name, kind, block in svg_blocks(svg):
        if kind != "edge":
            continue
        for d in re.findall(r'<path[^>]* d="([^"]+)"', block):
            pts = _points(d)
            samples = out.setdefault(name, [pts[0]])
            for s in range(0, len(pts) - 3, 3):
                p0, p1, p2, p3 = pts[s : s + 4]
                for i in range(1, 25):
                    t = i / 24
                    c = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3)
                    samples.append(
                        (
                            c[0] * p0[0] + c[1] * p1[0] + c[2] * p2[0] + c[3] * p3[0],
                            c[0] * p0[1] + c[1] * p1[1] + c[2] * p2[1] + c[3] * p3[1],
                        )
                    )
    return out


def edges_through_boxes(svg: str, margin: float = 3.0) -> list[tuple[str, str]]:
    """(edge, node) wherever an edge's path runs inside a node (a few points in from its border)."""
    boxes = node_boxes(svg)
    bad = set()
    for edge, pts in edge_points(svg).items():
        for x, y in pts:
            bad.update((edge, n) for n, b in boxes.items() if b.inside(x, y, margin))
    return sorted(bad)


def laid_out(picture: GraphPicture) -> tuple[dict[str, Box], list[tuple[str, Box]]]:
    """Node boxes and edge-label text boxes, as graphviz itself measured them (``-Tjson``).

    Graphviz sizes every text when it lays the graph out; its JSON output says where each went
    and how wide it is, so these boxes need no guess at font metrics.
    """
    layout = json.loads(picture.pipe(format="json", encoding="utf-8"))
    nodes = {}
    for obj in layout["objects"]:
        if "pos" not in obj:
            continue
        x, y = (float(v) for v in obj["pos"].split(","))
        w, h = float(obj["width"]) * 36, float(obj["height"]) * 36
        nodes[obj["name"]] = Box(x - w, y - h, x + w, y + h, obj.get("shape") == "ellipse")
    labels = []
    for edge in layout.get("edges", []):
        size = 10.0
        for op in edge.get("_ldraw_", []):
            if op["op"] == "F":
                size = float(op["size"])
            if op["op"] == "T":
                (x, y), w = op["pt"], float(op["width"])
                x0 = x - {"l": 0.0, "c": w / 2, "r": w}[op["align"]]
                labels.append(
                    (edge["id"], Box(x0, y - 0.25 * size, x0 + w, y + 0.75 * size, False))
                )
    return nodes, labels


def legend_texts(svg: str) -> list[str]:
    """The texts of the graph's own label (the legend): those before the first node or edge."""
    head = svg[: re.search(r'<g id="[^"]+" class="(?:node|edge)', svg).start()]  # type: ignore[union-attr]
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", head, re.S)]


def numpy_mlp(model: MLP, x: list[float], target: float) -> dict[str, list[np.ndarray]]:
    """Forward and backward of a tanh MLP with a linear output and loss (out - target)**2, by hand.

    Returns per layer: its activations ``a``, ``a_grad`` (d loss / d a), ``z_grad`` and its
    weight matrix ``W`` (row j: neuron j's weights), from numpy alone.
    """
    ws = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in model.layers]
    bs = [np.array([n.b.data for n in layer.neurons]) for layer in model.layers]
    acts = [np.array(x)]
    zs = []
    for k, (w, b) in enumerate(zip(ws, bs, strict=True)):
        z = w @ acts[-1] + b
        zs.append(z)
        acts.append(z if k == len(ws) - 1 else np.tanh(z))
    a_grad = [np.zeros(0)] * len(ws)
    z_grad = [np.zeros(0)] * len(ws)
    g = 2.0 * (acts[-1] - target)
    for k in range(len(ws) - 1, -1, -1):
        a_grad[k] = g
        z_grad[k] = g if k == len(ws) - 1 else g * (1.0 - acts[k + 1] ** 2)
        g = ws[k].T @ z_grad[k]
    return {"a": acts[1:], "a_grad": a_grad, "z_grad": z_grad, "W": ws}


def mlp_svg(
    sizes: list[int], view: str = "backward", cluster: str = "neuron", **kw: Any
) -> tuple[MLP, str, list[float]]:
    model, loss, x = mlp_loss(sizes)
    svg = draw_dot(loss, view, model=model, cluster=cluster, **kw).pipe(
        format="svg", encoding="utf-8"
    )
    return model, svg, x


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_layers_are_columns_with_neurons_in_index_order(rankdir: str) -> None:
    # seed 0 is the README's network, whose neurons the first layout put out of order
    # (L0.N1, N0, N3, N2)
    model, svg, _ = mlp_svg([4, 4, 1], rankdir=rankdir)
    boxes = node_boxes(svg)
    info = model_info(model)
    across, along = ("cx", "cy") if rankdir == "LR" else ("cy", "cx")
    columns = []
    for layer in range(3):
        names = [f"n{k}" for k, n in enumerate(info.neurons) if n.layer == layer]
        spots = [getattr(boxes[n], across) for n in names]
        assert max(spots) - min(spots) < 2, f"layer {layer} is not one column"
        order = [getattr(boxes[n], along) for n in names]
        assert order == sorted(order), f"layer {layer}: neurons out of index order"
        columns.append(spots[0])
    inputs = [getattr(boxes[f"in0_{p}"], across) for p in range(2)]
    assert max(inputs) - min(inputs) < 2
    assert getattr(boxes["in0_0"], along) < getattr(boxes["in0_1"], along)
    values = [int(k[1:]) for k in boxes if re.fullmatch(r"v\d+", k)]
    loss_box = boxes[f"v{max(values)}"]
    assert inputs[0] < columns[0] < columns[1] < columns[2] < getattr(loss_box, across)


def _pictures() -> dict[str, Any]:
    def neuron_graph(rankdir: str) -> Any:
        vs = neuron()
        vs["o"].backward()
        return draw_dot(vs["o"], "backward", rankdir=rankdir)

    def twice(rankdir: str) -> Any:
        x = Value(3.0, label="x")
        y = x * x + 2 * x
        y.label = "y"
        y.backward()
        return draw_dot(y, "backward", rankdir=rankdir)

    def network(sizes: list[int], view: str, cluster: str, rankdir: str = "LR") -> Any:
        model, loss, _ = mlp_loss(sizes)
        return draw_dot(loss, view, model=model, cluster=cluster, rankdir=rankdir)

    def batch(cluster: str) -> Any:
        model = MLP(2, [4, 4, 1], activation="tanh", seed=0)
        X = [[0.5, -1.0], [1.0, 0.2], [-0.3, 0.8], [0.0, 0.0]]  # noqa: N806
        loss = mse_loss([model(x) for x in X], [1.0, -1.0, 1.0, -1.0])
        loss.backward()
        return draw_dot(loss, "backward", model=model, cluster=cluster)

    return {
        "neuron LR": lambda: neuron_graph("LR"),
        "neuron TB": lambda: neuron_graph("TB"),
        "used twice TB": lambda: twice("TB"),
        "2-4-4-1 by neuron": lambda: network([4, 4, 1], "backward", "neuron"),
        "2-4-4-1 by neuron TB": lambda: network([4, 4, 1], "backward", "neuron", "TB"),
        "2-4-4-1 by neuron, forward": lambda: network([4, 4, 1], "forward", "neuron"),
        "2-4-4-1 by layer": lambda: network([4, 4, 1], "backward", "layer"),
        "2-16-16-1 by layer": lambda: network([16, 16, 1], "forward", "layer"),
        "batch by neuron": lambda: batch("neuron"),
        "batch by layer": lambda: batch("layer"),
    }


@needs_dot
@pytest.mark.parametrize("picture", list(_pictures()))
def test_no_edge_runs_through_a_box_and_no_label_runs_into_another(picture: str) -> None:
    drawn = _pictures()[picture]()
    assert edges_through_boxes(drawn.pipe(format="svg", encoding="utf-8")) == []
    boxes, labels = laid_out(drawn)
    for i, (e1, b1) in enumerate(labels):
        for e2, b2 in labels[i + 1 :]:
            if e1 != e2:
                assert not b1.meets(b2, gap=8.0), f"labels of {e1} and {e2} run together"
        hit = [n for n, b in boxes.items() if b1.meets(b)]
        assert hit == [], f"a label of {e1} overlaps {hit}"


def test_the_checks_see_an_edge_through_a_box_and_labels_that_touch() -> None:
    # the geometry checks above on a drawing made to fail them: an edge from a to c drawn
    # straight through b, and two labels side by side
    svg = (
        '<svg><g id="a" class="node"><polygon points="0,0 0,20 20,20 20,0 0,0"/></g>'
        '<g id="b" class="node"><polygon points="100,0 100,20 120,20 120,0 100,0"/></g>'
        '<g id="c" class="node"><polygon points="200,0 200,20 220,20 220,0 200,0"/></g>'
        '<g id="e" class="edge"><path d="M20,10C80,10 140,10 200,10"/></g>'
        '<g id="f" class="edge"><path d="M20,10C20,100 20,100 20,100"/></g></svg>'
    )
    assert edges_through_boxes(svg) == [("e", "b")]
    # two labels side by side, 4pt apart: what the label check calls running together
    first = Box(0, 0, 100, 10, False)
    assert first.meets(Box(104, 0, 200, 10, False), gap=8.0)
    assert not first.meets(Box(110, 0, 200, 10, False), gap=8.0)
    assert not first.meets(Box(0, 12, 100, 22, False), gap=8.0)  # one above the other


def test_legend_explains_only_what_the_picture_shows() -> None:
    x = Value(2.0, label="x")
    y = x.tanh()
    y.label = "y"
    y.backward()
    fwd = draw_dot(y).source
    assert "forward view: values and local derivatives" in fwd
    bare = draw_dot(y, edge_labels=False).source  # no edge, so no local derivative, is labelled
    assert "forward view: values<" in bare
    assert "local derivatives" not in bare
    assert ">input<" in fwd
    assert ">output<" in fwd
    for absent in (">parameter<", ">computed<", "const", "neuron:", "amounts", "seed", "weights"):
        assert absent not in fwd, absent
    vs = neuron()
    vs["o"].backward()
    back = draw_dot(vs["o"], "backward").source
    assert "backward view: gradients flow from o back to the inputs" in back
    for present in (">parameter<", ">computed<", "grad(out) × local", "blue: positive", "seed"):
        assert present in back, present
    assert "const" not in back
    assert "used more than once" not in back
    z = Value(3.0, label="z")
    w = z * z + 2 * z
    w.label = "w"
    w.backward()
    twice = draw_dot(w, "backward").source
    assert "a plain number" in twice
    assert "used more than once" in twice


@needs_dot
def test_network_legends_explain_every_number_and_kind() -> None:
    _, by_neuron, _ = mlp_svg([4, 4, 1])
    legend = "\n".join(legend_texts(by_neuron))
    assert "backward view (by neuron)" in legend
    assert "neuron: out = act(z), z = Σ w·in + b" in legend
    assert "layer:" not in legend
    assert "z.grad × w is what goes back along that edge" in legend  # the ← numbers in boxes
    assert "out.grad = a + b + …" in legend  # the sum rows
    assert "out.grad = ∂loss/∂out, z.grad = ∂loss/∂z" in legend
    assert "weights'" not in legend
    # every number on an edge is one the legend names: the loss part's local × upstream
    edge_texts = [
        t for k, ts in svg_groups(by_neuron).items() if k.startswith(("e", "m_")) for t in ts
    ]
    assert all(("∂" in t) or ("×" in t) for t in edge_texts), edge_texts
    _, by_layer, _ = mlp_svg([4, 4, 1], cluster="layer")
    legend = "\n".join(legend_texts(by_layer))
    assert "layer: its neurons' outputs" in legend
    assert "neuron:" not in legend
    assert "'N weights': N connections drawn as one edge, one weight each" in legend
    assert "mean |w.grad|" in legend


@needs_dot
def test_layer_edges_say_how_many_weights() -> None:
    model, svg, _ = mlp_svg([16, 16, 1], "forward", "layer")
    groups = svg_groups(svg)
    merged = {k: t for k, t in groups.items() if k.startswith("m_")}
    assert merged["m_L0_L1"] == ["256 weights"]
    assert merged["m_L1_L2"] == ["16 weights"]
    assert merged["m_in0_0_L0"] == ["16 weights"]
    assert not any("×" in t for ts in merged.values() for t in ts)
    assert sum(len(n.w) for n in model.layers[1].neurons) == 256


@needs_dot
def test_neuron_boxes_name_their_neuron_and_show_its_numbers() -> None:
    model, loss, x = mlp_loss([4, 1])
    picture = draw_dot(loss, "backward", model=model, cluster="neuron")
    ref = numpy_mlp(model, x, 1.0)
    groups = svg_groups(picture.pipe(format="svg", encoding="utf-8"))
    for j in range(4):
        texts = groups[f"n{j}"]
        assert texts[:5] == [
            f"L0.N{j}",
            "tanh",
            f"out {g4(ref['a'][0][j])}",
            f"out.grad {g4(ref['a_grad'][0][j])}",
            f"z.grad {g4(ref['z_grad'][0][j])}",
        ]
        # its weights, one row each: where its inputs x0, x1 land (plain numbers: no grad)
        weights = [w.data for w in model.layers[0].neurons[j].w]
        assert texts[5:] == [f"w0 {g4(weights[0])}", f"w1 {g4(weights[1])}", "b 0"]
    out = groups["n4"]
    assert out[:4] == [
        "L1.N0",
        "linear",
        f"out {g4(ref['a'][1][0])}",
        f"out.grad {g4(ref['a_grad'][1][0])}",
    ]
    # beside each weight, z.grad × w: what goes back along that input's edge
    rows = out[4:-1]
    W = ref["W"][1][0]  # noqa: N806
    zg = ref["z_grad"][1][0]
    assert rows == [x for i in range(4) for x in (f"w{i} {g4(W[i])}", f"← {g4(zg * W[i])}")]
    # and that is where each input's edge arrives: on its weight's row
    for i in range(4):
        assert re.search(rf'\tn{i} -> n4 \[[^\]]*headport="i{i}:w"', picture.source), i


@needs_dot
def test_neuron_box_adds_up_what_its_edges_bring_back() -> None:
    model, svg, x = mlp_svg([4, 4, 1])
    ref = numpy_mlp(model, x, 1.0)
    groups = svg_groups(svg)
    for i in range(4):
        (row,) = [t for t in groups[f"n{i}"] if t.startswith("= ")]
        terms = [ref["z_grad"][1][j] * ref["W"][1][j, i] for j in range(4)]  # L1.N0 .. N3
        parts = re.split(r" ([+-]) ", row[2:])
        values = [float(parts[0])] + [
            float(v) * (1 if sgn == "+" else -1)
            for sgn, v in zip(parts[1::2], parts[2::2], strict=True)
        ]
        assert values == pytest.approx(terms, rel=1e-3, abs=1e-6)  # top to bottom
        assert sum(values) == pytest.approx(ref["a_grad"][0][i], rel=1e-3, abs=1e-6)


@needs_dot
def test_a_batch_graph_says_which_example_each_box_shows() -> None:
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    X = [[0.5, -1.0], [1.0, 0.2], [-0.3, 0.8], [0.0, 0.0]]  # noqa: N806
    loss = mse_loss([model(x) for x in X], [1.0, -1.0, 1.0, -1.0])
    loss.backward()
    for cluster in ("neuron", "layer"):
        svg = draw_dot(loss, "backward", model=model, cluster=cluster).pipe(
            format="svg", encoding="utf-8"
        )
        groups = svg_groups(svg)
        legend = "\n".join(legend_texts(svg))
        assert "every box shows example 0 of 4" in legend
        main = ["n0", "n1", "n2", "n3", "n4"] if cluster == "neuron" else ["L0", "L1"]
        for key in main:
            assert groups[key][-1] == "example 0 of 4", key
        # the other examples' predictions feed the loss: each its own small box, named
        out_key = "n4" if cluster == "neuron" else "L1"
        for c in range(1, 4):
            texts = groups[f"{out_key}x{c}"]
            assert texts[1] == f"example {c} of 4"
            assert texts[2] == f"out {g4(numpy_mlp(model, X[c], 0.0)['a'][1][0])}"
    svg = draw_dot(loss, "backward", model=model, cluster="neuron").pipe(
        format="svg", encoding="utf-8"
    )
    n0 = svg_groups(svg)["n0"]
    assert n0[2] == f"out {g4(numpy_mlp(model, X[0], 0.0)['a'][0][0])}"  # example 0's value


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB", "RL", "BT"])
@pytest.mark.parametrize("cluster", [None, "neuron", "layer"])
def test_every_changing_text_is_where_the_stepper_looks(rankdir: str, cluster: str | None) -> None:
    # the stepper rewrites texts by position within their node or edge: each slot's position
    # must be that of its text in graphviz's SVG, however the box is laid out
    model, loss, _ = mlp_loss([4, 1])
    opts = DrawOptions(view="backward", rankdir=rankdir, cluster=cluster)
    built = build_picture(loss, opts, model_info(model))
    groups = svg_groups(built.graph.pipe(format="svg", encoding="utf-8"))
    assert built.slots
    state = final_state(built.analysis)
    for slot in built.slots:
        text, _ = slot_text(built.analysis, slot, state, opts.fmt)
        assert groups[slot.element][slot.position] == text, slot
        assert built.texts[slot.element] == groups[slot.element], slot.element


# -- rendering and errors --------------------------------------------------------------------------


def test_returns_a_graphviz_digraph() -> None:
    g = draw_dot(Value(1.0, label="x").exp())
    assert isinstance(g, graphviz.Digraph)
    assert isinstance(g, GraphPicture)


@needs_dot
def test_render_writes_exactly_the_path(tmp_path: Path) -> None:
    g = draw_dot(Value(1.0, label="x").exp())
    magic = {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}
    for fmt, head in magic.items():
        path = render(g, tmp_path / f"pic.{fmt}")
        assert path.read_bytes().startswith(head)
    assert render(g, tmp_path / "pic.dot").read_text(encoding="utf-8") == g.source
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "pic.dot",
        "pic.pdf",
        "pic.png",
        "pic.svg",
    ]
    with pytest.raises(ValueError, match="format: expected one of 'svg'"):
        render(g, tmp_path / "pic.bmp")


def test_missing_dot_gives_install_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    g = draw_dot(Value(1.0, label="x").exp())
    assert g.source.startswith("digraph")  # DOT source works without dot
    for attempt in (
        lambda: g.pipe(format="svg"),
        lambda: render(g, tmp_path / "x.svg"),
        lambda: g.render(tmp_path / "x", format="svg"),
    ):
        with pytest.raises(GraphvizNotFoundError, match="apt install graphviz") as info:
            attempt()
        assert "brew install graphviz" in str(info.value)
        assert "conda" in str(info.value)
        assert isinstance(info.value.__cause__, graphviz.ExecutableNotFound)
    assert render(g, tmp_path / "x.dot").exists()  # the DOT file needs no dot


def test_bad_inputs_raise_clear_errors() -> None:
    x = Value(1.0, label="x")
    y = x.exp()
    with pytest.raises(TypeError, match="root: expected a Value, got list"):
        draw_dot([y])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got float"):
        draw_dot(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"view: expected one of 'forward', 'backward', got 'up'"):
        draw_dot(y, "up")
    with pytest.raises(ValueError, match="rankdir: expected one of 'LR', 'TB'"):
        draw_dot(y, rankdir="XY")
    with pytest.raises(ValueError, match=r"fmt: expected a float format spec such as '\.4g'"):
        draw_dot(y, fmt="q")
    with pytest.raises(TypeError, match=r"fmt: expected a float format spec .* got int 4"):
        draw_dot(y, fmt=4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cluster: expected one of None, 'neuron', 'layer'"):
        draw_dot(y, cluster="block")
    with pytest.raises(ValueError, match=r"cluster='neuron' needs model="):
        draw_dot(y, cluster="neuron")
    with pytest.raises(ValueError, match="max_nodes: expected an integer >= 1, got 0"):
        draw_dot(y, max_nodes=0)
    with pytest.raises(TypeError, match="hide_constants: expected True or False, got str 'no'"):
        draw_dot(y, hide_constants="no")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model: expected a Module or a list of parameter"):
        draw_dot(y, model=42)
    with pytest.raises(TypeError, match="holding str 'w'"):
        draw_dot(y, model=["w"])
    with pytest.raises(ValueError, match="id_prefix: expected letters, digits or _"):
        draw_dot(y, id_prefix="a b")
    with pytest.raises(TypeError, match=r"graph: expected a graphviz graph .*got str"):
        render("digraph {}", "x.svg")  # type: ignore[arg-type]


@needs_dot
def test_jupyter_display_and_micrograd_format_argument(tmp_path: Path) -> None:
    x = Value(1.0, label="x")
    g = draw_dot(x.exp(), format="png")
    assert g.format == "png"
    bundle = g._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    out = g.render(tmp_path / "pic")
    assert Path(out).read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match="format: expected one of 'svg'"):
        draw_dot(x, format="bmp")


# -- sizes: narrow pictures, font sizes, fitting the width they are shown in ---------------------


def text_spots(svg: str, element: str) -> list[tuple[str, float, float]]:
    """(text, x, y) of each ``<text>`` of one node or edge of a graphviz SVG."""
    block = next(b for name, _, b in svg_blocks(svg) if name == element)
    found = re.findall(rf'<text[^>]* x="({_NUM})" y="({_NUM})"[^>]*>(.*?)</text>', block, re.S)
    return [(html.unescape(t), float(x), float(y)) for x, y, t in found]


def font_sizes(svg: str) -> list[float]:
    return [float(s) for s in re.findall(r'<text[^>]* font-size="([\d.]+)"', svg)]


def neuron_svg(view: str = "forward", **kw: Any) -> str:
    vs = neuron()
    vs["o"].backward()
    return draw_dot(vs["o"], view, **kw).pipe(format="svg", encoding="utf-8")


@needs_dot
def test_narrow_pictures_put_each_name_above_its_data_and_grad() -> None:
    # top to bottom is narrow by default: name on top, data and grad side by side under it
    for svg in (neuron_svg(rankdir="TB"), neuron_svg(rankdir="LR", narrow=True)):
        (name, nx, ny), (data, dx, dy), (grad, gx, gy) = text_spots(svg, "v0")
        assert (name, data, grad) == ("x1", "data 2", "grad -1.5")
        assert ny < dy - 5
        assert dy == pytest.approx(gy, abs=2)
        assert dx < gx
    # left to right, and narrow=False: one row
    for svg in (neuron_svg(rankdir="LR"), neuron_svg(rankdir="TB", narrow=False)):
        (_, nx, ny), (_, dx, dy), (_, gx, gy) = text_spots(svg, "v0")
        assert ny == pytest.approx(dy, abs=2)
        assert dy == pytest.approx(gy, abs=2)
        assert nx < dx < gx


@needs_dot
def test_narrow_pictures_break_long_derivatives_onto_two_lines() -> None:
    svg = neuron_svg("backward", rankdir="TB")
    groups = svg_groups(svg)
    # ∂(x1*w1)/∂x1 = w1 = -3, then the chain-rule product, one text per line
    assert groups["e2_0"] == ["∂(x1*w1)/∂x1", "= w1 = -3", "0.5 × -3 = -1.5"]
    lines = text_spots(svg, "e2_0")
    assert lines[0][2] < lines[1][2] < lines[2][2]  # one above the other
    short = [texts for name, texts in groups.items() if "∂n/∂b = 1" in texts]
    assert short == [["∂n/∂b = 1", "0.5 × 1 = 0.5"]]  # short ones stay on one line
    wide = svg_groups(neuron_svg("backward", rankdir="LR"))
    assert wide["e2_0"] == ["∂(x1*w1)/∂x1 = w1 = -3", "0.5 × -3 = -1.5"]


@needs_dot
def test_narrow_legends_wrap_without_losing_a_word() -> None:
    from microgradnn.viz.graph import NARROW_WRAP

    model, loss, _ = mlp_loss([4, 1])
    for picture in (
        lambda **kw: neuron_svg("backward", rankdir="TB", **kw),
        lambda **kw: draw_dot(loss, "backward", model=model, cluster="neuron", **kw).pipe(
            format="svg", encoding="utf-8"
        ),
    ):
        wrapped, whole = legend_texts(picture(narrow=True)), legend_texts(picture(narrow=False))
        assert len(wrapped) > len(whole)
        assert " ".join(wrapped).split() == " ".join(whole).split()
        assert max(len(t) for t in wrapped) <= NARROW_WRAP < max(len(t) for t in whole)


@needs_dot
def test_fontsize_scales_every_text() -> None:
    base, big = neuron_svg("backward"), neuron_svg("backward", fontsize=20)
    assert sorted(font_sizes(big)) == sorted(2 * s for s in font_sizes(base))
    assert min(font_sizes(base)) == 10.0  # the edge labels, the smallest texts by default
    assert svg_groups(big) == svg_groups(base)  # the same texts, only larger
    width = float(re.search(r'<svg width="([\d.]+)pt"', big).group(1))  # type: ignore[union-attr]
    assert width > 1.5 * float(re.search(r'<svg width="([\d.]+)pt"', base).group(1))  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"fontsize: expected a number in \[4, 72\], got 2.0"):
        draw_dot(Value(1.0), fontsize=2.0)
    with pytest.raises(TypeError, match="narrow: expected True or False, got str 'yes'"):
        draw_dot(Value(1.0), narrow="yes")  # type: ignore[arg-type]


@needs_dot
def test_a_wide_picture_fits_the_notebook_output_and_its_file_keeps_its_size(
    tmp_path: Path,
) -> None:
    from microgradnn.viz.display import FIT_WIDTH, fit_width

    wide = draw_dot(neuron()["o"])
    shown = wide._repr_mimebundle_()["image/svg+xml"]
    natural = wide.rendered("svg")
    w, h = (
        float(v)
        for v in re.search(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"', natural).groups()
    )  # type: ignore[union-attr]
    assert w * 4 / 3 > FIT_WIDTH
    assert re.search(
        r'<svg width="100%"\s+viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', shown
    ).groups() == (  # type: ignore[union-attr]
        f"{w:.2f}",
        f"{h:.2f}",
    )
    assert shown.replace('<svg width="100%"', "") == natural.replace(
        f'<svg width="{w:g}pt" height="{h:g}pt"', ""
    )
    on_disk = render(wide, tmp_path / "wide.svg").read_text(encoding="utf-8")
    assert f'<svg width="{w:g}pt" height="{h:g}pt"' in on_disk
    small = draw_dot(Value(2.0, label="x"), legend=False)
    assert small._repr_mimebundle_()["image/svg+xml"] == small.rendered("svg")
    assert fit_width("<svg/>") == "<svg/>"


# -- in a browser: the stepper and inline SVGs fit their width, and the stepper follows backward ---


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from tools.browser import available, headless_chromium

    if not available():
        pytest.skip("needs Chromium, chromedriver and selenium")
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed")
    driver = headless_chromium(tmp_path_factory.mktemp("chromium"), "1280,800")
    try:
        yield driver
    finally:
        driver.quit()


_SIZES = """
const root = document.querySelector('.mg-stepper'), box = root.querySelector('.mg-svg');
const svg = box.querySelector('svg'), zoom = root.querySelector('[data-act=zoom]');
return {natural: svg.width.baseVal.value, shown: svg.getBoundingClientRect().width,
        room: box.clientWidth, scrolls: box.scrollWidth > box.clientWidth,
        zoom: zoom.textContent, disabled: zoom.disabled};
"""

# Where this frame's running node is: the union of the stepper's marked elements, with the
# viewport and the picture's box.
_WHERE = """
const root = document.querySelector('.mg-stepper');
const cur = Array.from(root.querySelectorAll('.mg-cur')).map((e) => e.getBoundingClientRect());
const b = root.querySelector('.mg-svg').getBoundingClientRect();
return {frame: root.getAttribute('data-frame'), cur: cur.map((r) => [r.left, r.top, r.right,
        r.bottom]), box: [b.left, b.top, b.right, b.bottom], view: [innerWidth, innerHeight]};
"""


def _stepper_page(tmp_path: Path, name: str, **kw: Any) -> Path:
    from microgradnn.viz import BackwardStepper

    if "sizes" in kw:
        model, loss, _ = mlp_loss(kw.pop("sizes"))
        return BackwardStepper(loss, model=model, **kw).save(tmp_path / name)
    vs = neuron()
    return BackwardStepper(vs["o"], **kw).save(tmp_path / name)


@pytest.mark.browser
def test_browser_stepper_fits_its_width_and_zooms_on_demand(chromium: Any, tmp_path: Path) -> None:
    driver = chromium
    driver.set_window_size(1280, 800)
    driver.get(_stepper_page(tmp_path, "wide.html").resolve().as_uri())
    s = driver.execute_script(_SIZES)
    assert s["natural"] > 1.5 * s["room"]  # the left-to-right neuron: 2200 px in a 1260 px box
    # fitted: shrunk to the box, but to no less than 3/4 of its size (10 pt text at 10 px)
    assert s["shown"] == pytest.approx(max(s["room"], 0.75 * s["natural"]), abs=1)
    assert (s["zoom"], s["disabled"]) == ("zoom 100%", False)
    driver.find_element("css selector", "button[data-act=zoom]").click()
    s = driver.execute_script(_SIZES)
    assert s["shown"] == pytest.approx(s["natural"], abs=1)
    assert s["scrolls"]
    assert s["zoom"] == "fit width"
    driver.execute_script(  # ctrl + wheel away: back to the fitted size
        "document.querySelector('.mg-svg').dispatchEvent(new WheelEvent('wheel',"
        " {deltaY: 100, ctrlKey: true, bubbles: true, cancelable: true}))"
    )
    s = driver.execute_script(_SIZES)
    assert s["shown"] == pytest.approx(max(s["room"], 0.75 * s["natural"]), abs=1)
    driver.set_window_size(2800, 800)  # room for it all: its own size, nothing to zoom
    driver.get(_stepper_page(tmp_path, "roomy.html").resolve().as_uri())
    s = driver.execute_script(_SIZES)
    assert s["shown"] == pytest.approx(s["natural"], abs=1)
    assert s["disabled"]
    driver.set_window_size(1280, 800)


@pytest.mark.browser
@pytest.mark.parametrize(
    "picture",
    [
        {},  # the neuron left to right: wide
        {"sizes": [4, 4, 1], "cluster": "neuron", "rankdir": "TB"},  # wide and tall
    ],
    ids=["neuron LR", "2-4-4-1 by neuron TB"],
)
@pytest.mark.parametrize("zoomed", [False, True], ids=["fitted", "zoomed"])
def test_browser_stepper_keeps_the_running_node_in_view(
    chromium: Any, tmp_path: Path, picture: dict[str, Any], zoomed: bool
) -> None:
    driver = chromium
    driver.set_window_size(1280, 800)
    driver.get(_stepper_page(tmp_path, "steps.html", **dict(picture)).resolve().as_uri())
    if zoomed:
        driver.find_element("css selector", "button[data-act=zoom]").click()
    n = int(
        driver.execute_script("return JSON.parse(document.querySelector('.mg-data').textContent).n")
    )
    for f in range(n):
        if f:
            driver.find_element("css selector", "button[data-act=next]").click()
        where = driver.execute_script(_WHERE)
        assert where["frame"] == str(f)
        rects = where["cur"] if f < n - 1 else where["cur"][:1]  # done: every leaf is marked
        x0, y0 = min(r[0] for r in rects), min(r[1] for r in rects)
        x1, y1 = max(r[2] for r in rects), max(r[3] for r in rects)
        width, height = where["view"]
        bx0, by0, bx1, by1 = where["box"]
        assert x0 >= 0, (f, where)  # on screen ...
        assert y0 >= 0, (f, where)
        assert x1 <= width, (f, where)
        assert y1 <= height, (f, where)
        assert bx0 <= x0, (f, where)  # ... and inside its scrolling box
        assert by0 <= y0, (f, where)
        assert x1 <= bx1, (f, where)
        assert y1 <= by1, (f, where)


@pytest.mark.browser
def test_browser_inline_svg_fits_an_output_as_jupyterlab_shows_it(
    chromium: Any, tmp_path: Path
) -> None:
    # JupyterLab 4 shows image/svg+xml as an <img> with no CSS width limit (its rule is for <svg>)
    import urllib.parse

    pictures = [draw_dot(neuron()["o"]), draw_dot(Value(2.0, label="x"), legend=False)]
    imgs = "".join(
        '<div class="jp-RenderedSVG"><img src="data:image/svg+xml,'
        f'{urllib.parse.quote(g._repr_mimebundle_()["image/svg+xml"])}"></div>'
        for g in pictures
    )
    page = tmp_path / "output.html"
    page.write_text(f'<html><body><div style="width:900px">{imgs}</div></body></html>')
    chromium.get(page.resolve().as_uri())
    shown = chromium.execute_script(
        "return Array.from(document.images).map((i) => i.getBoundingClientRect().width)"
    )
    naturals = [
        float(re.search(r'<svg width="([\d.]+)pt"', g.rendered("svg")).group(1)) * 4 / 3  # type: ignore[union-attr]
        for g in pictures
    ]
    assert naturals[0] > 1200
    assert shown[0] == pytest.approx(900, abs=1)  # the wide one fits the output
    assert shown[1] == pytest.approx(naturals[1], abs=1)  # the small one keeps its size


# -- compiled=: each op node coloured by the array operation it becomes --------------------------


def _op_fills(source: str) -> dict[str, str]:
    """Per op node (``v3op``), its fill colour, read from the DOT source."""
    return dict(re.findall(r'\b(v\d+op) \[[^\]]*?fillcolor="(#[0-9a-f]{6})"', source))


def test_compiled_colours_each_layers_products_and_sum_alike() -> None:
    from microgradnn.compile import compile_model
    from microgradnn.viz.graph import ARRAY_OP_COLORS

    model = MLP(2, [3, 1], activation="relu", seed=0)
    graph = compile_model(model, mse_loss, 2, 1)
    x = [Value(0.5, label="x0"), Value(-1.0, label="x1")]
    loss = mse_loss([model(x)], [1.0])
    loss.backward()
    source = draw_dot(loss, compiled=graph, model=model).source
    fills = _op_fills(source)
    assert len(fills) == graph.n_nodes
    by_colour: dict[str, int] = {}
    for colour in fills.values():
        by_colour[colour] = by_colour.get(colour, 0) + 1
    # closed form: layer 1 is 3 × 2 products and 3 Σ, its ReLUs 3, layer 2 is 3 products and 1 Σ
    assert by_colour[ARRAY_OP_COLORS[0]] == 3 * 2 + 3
    assert by_colour[ARRAY_OP_COLORS[1]] == 3
    assert by_colour[ARRAY_OP_COLORS[2]] == 3 + 1
    assert "1: layer 1's W·x + b (W 3×2), one matmul: 9 nodes" in html.unescape(source)
    assert "op colour: the one array operation" in source
    plain = _op_fills(draw_dot(loss, model=model).source)
    assert set(plain.values()) == {"#ffffff"}, "without compiled=, ops stay white"


def test_compiled_option_refuses_what_it_cannot_draw() -> None:
    from microgradnn.compile import compile_model
    from microgradnn.losses import hinge_loss

    model = MLP(2, [3, 1], activation="relu", seed=0)
    graph = compile_model(model, mse_loss, 2, 1)
    loss = mse_loss([model([0.5, -1.0])], [1.0])
    with pytest.raises(TypeError, match=r"compiled: expected a CompiledGraph .* got str"):
        draw_dot(loss, compiled="graph")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pass one or the other"):
        draw_dot(loss, compiled=graph, model=model, cluster="neuron")
    with pytest.raises(ValueError, match="not the one traced"):
        draw_dot(hinge_loss([model([0.5, -1.0])], [1.0]), compiled=graph)


@needs_dot
def test_compiled_picture_renders_with_its_legend() -> None:
    from microgradnn.compile import compile_model

    model = MLP(2, [2, 1], activation="tanh", seed=1)
    graph = compile_model(model, mse_loss, 2, 1)
    loss = mse_loss([model([0.5, -1.0])], [1.0])
    svg = draw_dot(loss, compiled=graph, narrow=True).pipe(format="svg", encoding="utf-8")
    assert "layer 2&#39;s W·x + b (W 1×2), one matmul: 3 nodes" in svg
    assert "one tanh call: 2 nodes" in svg
