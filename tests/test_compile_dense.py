"""Dense layers lifted to matrix products in the compiled replay, against the eager engine.

The oracle is the eager engine on the batch's mean loss (its own graph and backward). A matrix
product adds each neuron's terms (and each weight's contributions over the batch) in BLAS's
order, not left to right, so the numbers agree up to rounding in the sums. The bound used
here is normwise: every gradient is within 1e-12 × the largest gradient of the model (plus
the loss within relative 1e-12). A gradient that is the difference of large contributions
can differ from eager's by more than 1e-12 of itself, but never by more than the rounding of
the contributions it is made of, which is what the normwise bound allows.
"""

# X and Y are batch matrices, as in scikit-learn and microgradnn.compile.
# ruff: noqa: N803, N806

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn import Value
from microgradnn.compile import CompiledGraph, compile_model, trace
from microgradnn.losses import cross_entropy_loss, hinge_loss, mse_loss
from microgradnn.nn import MLP, Activation, Dense, Sequential
from tests.oracle import torch_mlp_grads

RTOL = 1e-12

Fn = Callable[[list[Value], list[Value]], Value]


def eager(fn: Fn, X: np.ndarray, Y: np.ndarray, params: Sequence[Value]) -> tuple[float, list]:
    """The batch's mean loss and its gradients, built and differentiated by the eager engine."""
    for p in params:
        p.grad = 0.0
    losses = [fn([Value(v) for v in x], [Value(v) for v in y]) for x, y in zip(X, Y, strict=True)]
    total = Value.sum(losses) / len(losses)
    total.backward()
    return total.data, [p.grad for p in params]


def replay(graph: CompiledGraph, X: np.ndarray, Y: np.ndarray, params: Sequence[Value]):
    for p in params:
        p.grad = 0.0
    loss = graph.loss_and_grad(X, Y)
    return loss, [p.grad for p in params]


def assert_matches_eager(
    fn: Fn, X: np.ndarray, Y: np.ndarray, params: Sequence[Value]
) -> CompiledGraph:
    graph = trace(fn, X.shape[1], Y.shape[1], params)
    want_loss, want = eager(fn, X, Y, params)
    got_loss, got = replay(graph, X, Y, params)
    assert got_loss == pytest.approx(want_loss, rel=RTOL, abs=1e-300)
    scale = max((abs(g) for g in want), default=0.0)
    bad = [
        (i, g, w)
        for i, (g, w) in enumerate(zip(got, want, strict=True))
        if not (abs(g - w) <= RTOL * scale or (math.isnan(g) and math.isnan(w)) or g == w)
    ]
    assert not bad, (
        f"{len(bad)} of {len(want)} gradients differ, first (index, got, eager): {bad[0]}"
    )
    return graph


def kinds(graph: CompiledGraph) -> list[str]:
    return [op.kind for op in graph.array_ops]


# -- models built from Neuron/Layer/MLP, and from Sequential/Dense ------------------------------


@pytest.mark.parametrize(
    ("nin", "sizes", "activation"),
    [
        (2, [16, 16, 1], "relu"),
        (3, [8, 5, 1], "tanh"),
        (5, [7, 1], "sigmoid"),
        (4, [1, 1, 1], "leaky_relu"),  # one-neuron layers: 1×n and 1×1 matmuls
        (3, [6, 6, 1], "prelu"),  # a learned slope read by the activation op, not the matmul
        (6, [9, 1], "linear"),  # two matmuls back to back
    ],
)
def test_mlps_lift_every_layer_and_match_eager(nin: int, sizes: list[int], activation: str) -> None:
    rng = np.random.default_rng(nin)
    model = MLP(nin, sizes, activation=activation, seed=nin)
    X, Y = rng.normal(size=(13, nin)), rng.normal(size=(13, 1))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return mse_loss([model(xs)], [ys[0]])

    graph = assert_matches_eager(fn, X, Y, model.parameters())
    assert graph.n_matmuls == len(sizes)
    matmuls = [op for op in graph.array_ops if op.kind == "matmul"]
    widths = [nin, *sizes]
    assert [op.shape for op in matmuls] == list(zip(widths[1:], widths[:-1], strict=True))
    # a layer of n_out neurons over n_in inputs is n_out × n_in products and n_out Σ nodes
    assert [op.nodes for op in matmuls] == [
        {"mul": o * i, "sum": o} for o, i in zip(widths[1:], widths[:-1], strict=True)
    ]


def test_micrograd_demo_w1_is_three_matmuls() -> None:
    model = MLP(2, [16, 16, 1], activation="relu", seed=0)
    graph = compile_model(model, hinge_loss, 2, 1)
    assert graph.n_nodes == 374, "the issue's count of W1's trace"
    assert kinds(graph)[:5] == ["matmul", "relu", "matmul", "relu", "matmul"]
    assert graph.n_matmuls == 3
    text = graph.explain(batch=100)
    assert "layer 1's W·x + b (W 16×2): 48 nodes (32 ×, 16 Σ) -> one 100×2 @ 2×16 matmul" in text
    assert "layer 2's W·x + b (W 16×16): 272 nodes (256 ×, 16 Σ)" in text
    assert "16 relu nodes -> one relu on 100×16" in text
    assert sum(op.n_nodes for op in graph.array_ops) == graph.n_nodes, "every node, once"
    assert text.splitlines()[0] == (
        f"one example's graph: 374 scalar nodes -> {graph.n_groups} array ops per replay "
        "(3 matmuls)"
    )


def test_l2_inside_the_graph_reads_the_lifted_weights_too() -> None:
    rng = np.random.default_rng(1)
    model = MLP(2, [16, 16, 1], activation="relu", seed=1)
    params = model.parameters()
    X, Y = rng.normal(size=(25, 2)), rng.choice([-1.0, 1.0], size=(25, 1))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return hinge_loss([model(xs)], [ys[0]]) + 1e-4 * Value.sum([p * p for p in params])

    assert assert_matches_eager(fn, X, Y, params).n_matmuls == 3


def test_cross_entropy_digits_shape_matches_eager() -> None:
    rng = np.random.default_rng(2)
    model = MLP(64, [32, 10], activation="relu", seed=2)
    X = rng.uniform(0.0, 1.0, size=(32, 64))
    Y = np.eye(10)[rng.integers(0, 10, size=32)]

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return cross_entropy_loss([model(xs)], [list(ys)])

    assert assert_matches_eager(fn, X, Y, model.parameters()).n_matmuls == 2


@pytest.mark.parametrize("act_layer", [False, True])
def test_sequential_dense_models_lift_and_match_eager(act_layer: bool) -> None:
    rng = np.random.default_rng(3)
    if act_layer:
        model = Sequential(
            Dense(8, input_dim=3, seed=3), Activation("tanh"), Dense(4, seed=4), Dense(1, seed=5)
        )
    else:
        model = Sequential(Dense(8, input_dim=3, activation="relu", seed=3), Dense(1, seed=4))
    X, Y = rng.normal(size=(11, 3)), rng.normal(size=(11, 1))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return mse_loss([model(xs)], [ys[0]])

    graph = assert_matches_eager(fn, X, Y, model.parameters())
    assert graph.n_matmuls == (3 if act_layer else 2)


def test_forward_of_a_lifted_model_matches_eager_outputs() -> None:
    model = MLP(3, [5, 4], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(9, 3))
    graph = compile_model(model, None, 3)
    assert graph.n_matmuls == 2
    want = np.array([[v.data for v in model(list(x))] for x in X])
    np.testing.assert_allclose(graph.forward(X), want, rtol=1e-12, atol=1e-15)


@pytest.mark.torch
def test_lifted_gradients_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    model = MLP(4, [10, 6, 2], activation="tanh", seed=5)
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    graph = compile_model(model, mse_loss, 4, 2)
    assert graph.n_matmuls == 3
    model.zero_grad()
    loss = graph.loss_and_grad(X, Y)
    net = model.to_torch()
    want = torch.nn.functional.mse_loss(
        net(torch.tensor(X, dtype=torch.float64)), torch.tensor(Y, dtype=torch.float64)
    )
    want.backward()
    assert loss == pytest.approx(want.item(), rel=1e-12)
    grads = np.array(torch_mlp_grads(net))
    got = np.array([p.grad for p in model.parameters()])
    np.testing.assert_allclose(got, grads, rtol=0, atol=1e-12 * np.abs(grads).max())


# -- hand-written layers with the same shape ----------------------------------------------------


def weights(rng: np.random.Generator, n_out: int, n_in: int) -> list[list[Value]]:
    return [[Value(float(v)) for v in row] for row in rng.normal(size=(n_out, n_in))]


@pytest.mark.parametrize("style", ["python sum", "x * w chain", "Value.sum, bias first"])
def test_a_hand_written_layer_is_recognised(style: str) -> None:
    rng = np.random.default_rng(7)
    W1, W2 = weights(rng, 4, 3), weights(rng, 1, 4)
    b1 = [Value(float(v)) for v in rng.normal(size=4)]
    params = [p for row in W1 for p in row] + b1 + [p for row in W2 for p in row]

    def neuron(ws: list[Value], xs: list[Value], b: Value | None) -> Value:
        if style == "python sum":
            z = sum(w * x for w, x in zip(ws, xs, strict=True))
            return z + b if b is not None else z  # type: ignore[return-value]
        if style == "x * w chain":
            z = xs[0] * ws[0]
            for w, x in zip(ws[1:], xs[1:], strict=True):
                z = z + x * w
            return z + b if b is not None else z
        terms = [w * x for w, x in zip(ws, xs, strict=True)]
        return Value.sum(([b] if b is not None else []) + terms)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        h = [neuron(ws, xs, b).tanh() for ws, b in zip(W1, b1, strict=True)]
        out = neuron(W2[0], h, None)
        return (out - ys[0]) ** 2

    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 1))
    graph = assert_matches_eager(fn, X, Y, params)
    assert kinds(graph)[:3] == ["matmul", "tanh", "matmul"]
    assert [op.bias for op in graph.array_ops[::2][:2]] == [True, False]
    if style == "python sum":  # ((0 + w0·x0) + w1·x1) + w2·x2, + b: 4 + nodes per neuron
        assert graph.array_ops[0].nodes == {"mul": 4 * 3, "add": 4 * 4}


# -- irregular graphs: lifted correctly, or left to the gathered replay -------------------------


def test_a_neuron_missing_an_input_gets_its_own_matmul() -> None:
    rng = np.random.default_rng(8)
    W = weights(rng, 3, 3)
    b = [Value(0.1), Value(-0.2), Value(0.3)]
    params = [p for row in W for p in row] + b

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z0 = Value.sum([W[0][0] * xs[0], W[0][1] * xs[1], W[0][2] * xs[2], b[0]])
        z1 = Value.sum([W[1][0] * xs[0], W[1][2] * xs[2], b[1]])  # skips xs[1]
        z2 = Value.sum([W[2][0] * xs[0], W[2][1] * xs[1], W[2][2] * xs[2], b[2]])
        return (z0.relu() + z1.relu() * z2.tanh() - ys[0]) ** 2

    X, Y = rng.normal(size=(12, 3)), rng.normal(size=(12, 1))
    graph = assert_matches_eager(fn, X, Y, params)
    shapes = sorted(op.shape for op in graph.array_ops if op.kind == "matmul")
    assert shapes == [(1, 2), (2, 3)]


def test_weights_shared_across_neurons_and_used_twice_add_up() -> None:
    rng = np.random.default_rng(9)
    w, v, u, b = Value(0.7), Value(-0.4), Value(1.3), Value(0.2)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z0 = Value.sum([w * xs[0], v * xs[1], b])
        z1 = Value.sum([w * xs[0], w * xs[1], b])  # w shared with z0, and twice in z1; b shared
        z2 = Value.sum([u * xs[0], u * xs[1]])
        return (z0.tanh() * z1.sigmoid() + z2 - ys[0]) ** 2

    X, Y = rng.normal(size=(15, 2)), rng.normal(size=(15, 1))
    graph = assert_matches_eager(fn, X, Y, [w, v, u, b])
    assert graph.n_matmuls == 1
    assert graph.array_ops[0].shape == (3, 2)


def test_constants_in_the_sum_are_lifted_with_their_values() -> None:
    rng = np.random.default_rng(10)
    w0, w1, w2, b = Value(0.5), Value(-1.5), Value(0.25), Value(0.1)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z0 = Value.sum([w0 * xs[0], 2.5, w1 * xs[1], b, -1.0])
        z1 = w2 * 3.0 + w1 * xs[0] + 0.75  # a constant input and a constant term
        z2 = Value.sum([w0 * xs[0], w1 * xs[1]])  # the same inputs as z0, no constants
        return z0 * z1 + z2.exp() - ys[0]

    X, Y = rng.normal(size=(9, 2)), rng.normal(size=(9, 1))
    graph = assert_matches_eager(fn, X, Y, [w0, w1, w2, b])
    assert graph.n_matmuls == 2


@pytest.mark.parametrize(
    "case",
    ["product used twice", "skip connection", "two biases", "one input twice", "weight * weight"],
)
def test_sums_that_are_not_layers_stay_scalar_nodes_and_match(case: str) -> None:
    rng = np.random.default_rng(11)
    w0, w1, b, c = Value(0.5), Value(-1.5), Value(0.1), Value(0.3)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        p0 = w0 * xs[0]
        if case == "product used twice":
            z = Value.sum([p0, w1 * xs[1], b]) * p0
        elif case == "skip connection":  # the inner Σ is a layer, the outer + is not
            inner = Value.sum([p0, w1 * xs[1], b])
            z = (xs[0] + inner).tanh()
        elif case == "two biases":
            z = Value.sum([p0, w1 * xs[1], b, c])
        elif case == "one input twice":
            z = Value.sum([p0, w1 * xs[0], b])
        else:
            z = Value.sum([w0 * w1, w1 * xs[1], b])
        return (z - ys[0]) ** 2

    X, Y = rng.normal(size=(8, 2)), rng.normal(size=(8, 1))
    graph = assert_matches_eager(fn, X, Y, [w0, w1, b, c])
    assert graph.n_matmuls == (1 if case == "skip connection" else 0)


@pytest.mark.parametrize(
    "x",
    [[math.inf, 1.0], [1.0, math.nan], [1e308, 1e308], [-1e308, 1e308], [1e-320, 5e-324]],
    ids=["inf", "nan", "overflow", "cancel", "subnormal"],
)
def test_extremes_give_inf_and_nan_where_eager_does(x: list[float]) -> None:
    # 2·1e308 - 1e308 overflows left to right (eager) but not in a fused multiply-add: near
    # overflow, and with an inf or nan, the replay adds the terms in the eager order.
    w = [Value(0.0), Value(1.0), Value(2.0), Value(-1.0)]
    b = Value(0.5)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z0 = Value.sum([w[0] * xs[0], w[1] * xs[1], b])
        z1 = Value.sum([w[2] * xs[0], w[3] * xs[1], b])
        return (z0 * z1).tanh()

    X = np.array([x, [0.5, -0.25]])
    graph = trace(fn, 2, 0, [*w, b])
    assert graph.n_matmuls == 1
    for rows in ([0], [0, 1]):
        want_loss, want = eager(fn, X[rows], np.empty((len(rows), 0)), [*w, b])
        got_loss, got = replay(graph, X[rows], np.empty((len(rows), 0)), [*w, b])
        np.testing.assert_allclose(got_loss, want_loss, rtol=RTOL)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-300)


# -- random hand-written networks ---------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> tuple[int, list[list[dict]]]:
    """Layers of neurons, each a random subset of the layer's inputs, weights drawn from a
    small shared pool (so some repeat), an optional bias, an optional constant, two sum styles.
    """
    nin = draw(st.integers(1, 4))
    layers = []
    width = nin
    for _ in range(draw(st.integers(1, 3))):
        neurons = []
        for _ in range(draw(st.integers(1, 4))):
            inputs = draw(
                st.lists(st.integers(0, width - 1), min_size=1, max_size=width, unique=True)
            )
            neurons.append(
                {
                    "inputs": inputs,
                    "weights": [draw(st.integers(0, 7)) for _ in inputs],
                    "bias": draw(st.one_of(st.none(), st.integers(8, 10))),
                    "const": draw(st.one_of(st.none(), st.sampled_from([0.5, -2.0, 0.0]))),
                    "chain": draw(st.booleans()),
                }
            )
        layers.append(neurons)
        width = len(neurons)
    return nin, layers


@settings(max_examples=60, deadline=None)
@given(net=networks(), batch=st.integers(1, 5))
def test_random_hand_written_networks_match_eager(
    net: tuple[int, list[list[dict]]], batch: int
) -> None:
    nin, layers = net
    pool = [Value(0.3 * (k % 5) - 0.55 + 0.01 * k) for k in range(11)]

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        h: list[Value] = list(xs)
        for neurons in layers:
            out = []
            for n in neurons:
                terms: list[Value | float] = [
                    pool[k] * h[i] for i, k in zip(n["inputs"], n["weights"], strict=True)
                ]
                if n["bias"] is not None:
                    terms.append(pool[n["bias"]])
                if n["const"] is not None:
                    terms.insert(1, n["const"])
                z = sum(terms[1:], terms[0]) if n["chain"] else Value.sum(terms)
                out.append(z.tanh())  # type: ignore[union-attr]
            h = out
        return Value.sum(h)

    X = np.random.default_rng(batch).normal(size=(batch, nin))
    assert_matches_eager(fn, X, np.empty((batch, 0)), pool)


# -- locate: which array op computes each node of one example's graph ---------------------------


def test_locate_maps_each_node_of_one_example_to_its_array_op() -> None:
    model = MLP(2, [3, 1], activation="relu", seed=0)
    graph = compile_model(model, mse_loss, 2, 1)
    loss = mse_loss([model([0.5, -1.0])], [1.0])
    where = graph.locate(loss)
    order = loss.topological_order()
    ops = [v for v in order if v._op is not None]
    assert len(where) == len(ops) == graph.n_nodes
    kind = {id(v): graph.array_ops[where[id(v)]].kind for v in ops}
    products = [v for v in ops if v._op.name == "mul" and v._prev[0] in model.parameters()]
    assert len(products) == 2 * 3 + 3 * 1
    assert {kind[id(v)] for v in products} == {"matmul"}
    relus = [v for v in ops if v._op.name == "relu"]
    assert [kind[id(v)] for v in relus] == ["relu"] * 3
    # the first layer's 6 products and 3 Σ are one array op, the second's 3 and 1 another
    counts: dict[int, int] = {}
    for v in ops:
        counts[where[id(v)]] = counts.get(where[id(v)], 0) + 1
    assert [counts[op.index] for op in graph.array_ops if op.kind == "matmul"] == [9, 4]


def test_locate_refuses_another_graph() -> None:
    model = MLP(2, [3, 1], activation="relu", seed=0)
    graph = compile_model(model, mse_loss, 2, 1)
    other = hinge_loss([model([0.5, -1.0])], [1.0])
    with pytest.raises(ValueError, match="not the one traced"):
        graph.locate(other)
    with pytest.raises(TypeError, match=r"outputs\[0\]: expected a Value"):
        graph.locate([1.0])


def test_explain_bad_batch() -> None:
    graph = compile_model(MLP(2, [1], seed=0), mse_loss, 2, 1)
    with pytest.raises(ValueError, match="batch: expected an integer >= 1, got 0"):
        graph.explain(batch=0)
    assert "B×2 @ 2×1" in graph.explain()
