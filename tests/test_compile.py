"""The compiled batched replay against independent oracles.

The oracle is the eager engine run example by example (Python floats, its own graph and its own
backward), and PyTorch float64 where torch is installed: the compiled path must give the same
mean loss and the same parameter gradients to 1e-9.
"""

# X and Y are batch matrices, as in scikit-learn and microgradnn.compile.
# ruff: noqa: N803, N806

from __future__ import annotations

import copy
import dataclasses
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnn import OPS, Value, no_grad, ops
from microgradnn.compile import CompiledGraph, CompileError, compile_model, trace
from microgradnn.engine import peek
from microgradnn.losses import (
    bce_loss,
    bce_with_logits_loss,
    cross_entropy_loss,
    hinge_loss,
    logistic_loss,
    mse_loss,
)
from microgradnn.nn import MLP
from tests.op_db import OP_DB
from tests.oracle import torch_mlp_grads
from tests.strategies import Dag, dags

TOL = 1e-9


def close(a: float, b: float, tol: float = TOL) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(1.0, abs(b))


def assert_all_close(got: Sequence[float], want: Sequence[float], what: str) -> None:
    assert len(got) == len(want)
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if not close(g, w)]
    assert not bad, f"{what}: {len(bad)} of {len(got)} differ, first (index, got, want): {bad[0]}"


def zero(params: Sequence[Value]) -> None:
    for p in params:
        p.grad = 0.0


def eager_mean_loss(
    fn: Callable[[list[Value], list[Value]], Value],
    X: np.ndarray,
    Y: np.ndarray,
    params: Sequence[Value],
) -> tuple[float, list[float]]:
    """The oracle: the batch's mean loss built and differentiated by the eager engine."""
    zero(params)
    losses = [
        fn([Value(v) for v in x], [Value(v) for v in y])
        for x, y in zip(X.tolist(), Y.tolist(), strict=True)
    ]
    total = Value.sum(losses) / len(losses)
    total.backward()
    return total.data, [p.grad for p in params]


def compiled_mean_loss(
    graph: CompiledGraph, X: np.ndarray, Y: np.ndarray, params: Sequence[Value]
) -> tuple[float, list[float]]:
    zero(params)
    loss = graph.loss_and_grad(X, Y)
    return loss, [p.grad for p in params]


# -- models and losses --------------------------------------------------------------------------

LOSS_CASES: list[tuple[str, Callable[..., Value], str, str | None]] = [
    # (target kind, loss, hidden activation, output activation)
    ("regression", mse_loss, "relu", None),
    ("pm1", hinge_loss, "tanh", None),
    ("pm1", logistic_loss, "leaky_relu", None),
    ("01", bce_with_logits_loss, "sigmoid", None),
    ("01", bce_loss, "relu", "sigmoid"),
    ("regression", mse_loss, "prelu", "tanh"),
]


def targets(kind: str, rng: np.random.Generator, batch: int, width: int) -> np.ndarray:
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], size=(batch, width))
    if kind == "01":
        return rng.choice([0.0, 1.0], size=(batch, width))
    return rng.normal(size=(batch, width))


@pytest.mark.parametrize(("kind", "loss", "activation", "output"), LOSS_CASES)
@pytest.mark.parametrize("batch", [1, 7, 32])
def test_mlp_loss_and_grads_match_eager(
    kind: str, loss: Callable[..., Value], activation: str, output: str | None, batch: int
) -> None:
    rng = np.random.default_rng(batch)
    model = MLP(3, [8, 5, 1], activation=activation, output_activation=output, seed=batch)
    params = model.parameters()
    X = rng.normal(size=(batch, 3))
    Y = targets(kind, rng, batch, 1)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return loss([model(xs)], [ys[0]])

    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    graph = trace(fn, 3, 1, params)
    got_loss, got_grads = compiled_mean_loss(graph, X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "parameter gradients")


def test_one_graph_replays_any_sequence_of_batch_sizes() -> None:
    # The replay keeps views of its arrays per batch size (two at a time) and learns after the
    # first backward pass which locals are plain numbers: every call must still be eager's.
    rng = np.random.default_rng(5)
    model = MLP(3, [4, 3], activation="tanh", seed=5)
    params = model.parameters()

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return cross_entropy_loss([model(xs)], [list(ys)]) - (xs[0] - xs[1]) * 0.5

    graph = trace(fn, 3, 3, params)
    for i, batch in enumerate([7, 3, 7, 5, 1, 7, 3]):
        X = rng.normal(size=(batch, 3))
        Y = np.eye(3)[rng.integers(0, 3, size=batch)]
        if i == 3:  # a forward-only call first: its workspace gets the backward arrays later
            graph.forward(X, Y)
        want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
        got_loss, got_grads = compiled_mean_loss(graph, X, Y, params)
        assert close(got_loss, want_loss), batch
        assert_all_close(got_grads, want_grads, f"gradients, call {i} (batch {batch})")
        for p, g in zip(params, rng.normal(scale=0.3, size=len(params)).tolist(), strict=True):
            p.data += g  # new weights for the next call: the views must read them


@pytest.mark.parametrize("copier", [copy.copy, copy.deepcopy])
def test_a_copied_graph_replays_with_its_own_numbers(copier: Callable[[Any], Any]) -> None:
    # The copy is made after a replay, so the original's workspace (its views of the parameter
    # vector) exists: the copy must not read the numbers through it.
    rng = np.random.default_rng(2)
    model = MLP(3, [4, 2], activation="tanh", seed=2)
    params = model.parameters()
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return mse_loss([model(xs)], [list(ys)])

    graph = compile_model(model, mse_loss, 3, 2)
    graph.loss_and_grad(X, Y)
    twin = copier(graph)
    for p, g in zip(params, rng.normal(size=len(params)).tolist(), strict=True):
        p.data += g
    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    for g in (twin, graph):
        loss, grad = g.loss_and_grad_vector([p.data for p in params], X, Y)
        assert close(loss, want_loss)
        assert_all_close(grad.tolist(), want_grads, "gradients")


def test_vector_outputs_and_targets_match_eager() -> None:
    rng = np.random.default_rng(0)
    model = MLP(4, [6, 3], activation="tanh", seed=3)
    params = model.parameters()
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return mse_loss([model(xs)], [list(ys)])

    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    got_loss, got_grads = compiled_mean_loss(compile_model(model, mse_loss, 4, 3), X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "parameter gradients")


def test_l2_penalty_inside_the_graph_matches_eager() -> None:
    # micrograd's demo loss: hinge + 1e-4 * sum p**2, with one big variadic sum per example.
    rng = np.random.default_rng(1)
    random.seed(1337)
    model = MLP(2, [16, 16, 1], init="uniform")
    params = model.parameters()
    X, Y = rng.normal(size=(25, 2)), rng.choice([-1.0, 1.0], size=(25, 1))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return hinge_loss([model(xs)], [ys[0]]) + 1e-4 * Value.sum([p * p for p in params])

    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    got_loss, got_grads = compiled_mean_loss(trace(fn, 2, 1, params), X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "parameter gradients")


def test_cross_entropy_with_one_hot_targets_matches_eager() -> None:
    rng = np.random.default_rng(2)
    model = MLP(5, [7, 4], seed=2)
    params = model.parameters()
    X = rng.normal(size=(12, 5))
    Y = np.eye(4)[rng.integers(0, 4, size=12)]

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return cross_entropy_loss([model(xs)], [list(ys)])

    graph = compile_model(model, cross_entropy_loss, 5, 4)
    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    got_loss, got_grads = compiled_mean_loss(graph, X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "parameter gradients")


# -- random graphs over the whole op table ------------------------------------------------------


def dag_function(dag: Dag, n_inputs: int, params: list[Value]) -> Callable[..., Value]:
    """fn(xs, ys) evaluating ``dag`` with its first leaves as inputs, the rest as params."""

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        leaves = iter([*xs, *params])
        return dag.build(lambda _: next(leaves))[-1]  # type: ignore[no-any-return]

    return fn


@given(dag=dags(max_leaves=5, max_nodes=14), batch=st.integers(1, 6))
def test_random_graphs_match_eager(dag: Dag, batch: int) -> None:
    n_inputs = len(dag.leaves) // 2
    params = [Value(x) for x in dag.leaves[n_inputs:]]
    fn = dag_function(dag, n_inputs, params)
    # Examples close to the DAG's own well-conditioned point, one per row.
    base = np.array(dag.leaves[:n_inputs])
    X = base * (1.0 + 1e-3 * np.arange(batch)[:, None]) + 1e-4 * np.arange(batch)[:, None]
    Y = np.empty((batch, 0))
    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    got_loss, got_grads = compiled_mean_loss(trace(fn, n_inputs, 0, params), X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "parameter gradients")


@pytest.mark.parametrize("op", sorted(OPS))
def test_every_op_matches_eager_at_random_points(op: str) -> None:
    rng = np.random.default_rng(len(op))
    w = Value(0.7)
    slope = 0.2

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        a, b = xs[0] * w, xs[1]
        if op == "log":
            a = a * a + 0.5
        if op == "pow":
            a = a * a + 0.5
        if op == "leaky_relu":
            return a.leaky_relu(slope)
        if OPS[op].arity == -1:  # sum, logsumexp: static methods on a list
            return getattr(Value, op)([a, b, a, 2.0])  # type: ignore[no-any-return]
        if op == "prelu":
            return a.prelu(w)
        return OP_DB[op].apply([a, b][: OPS[op].arity])

    X = rng.uniform(-2.0, 2.0, size=(50, 2))
    X[:3] = [[0.0, 1.0], [1e-3, -0.5], [-1.5, 0.0]]  # kinks: relu'(0) = 0, step(0) = 0.5, ...
    Y = np.empty((50, 0))
    want_loss, want_grads = eager_mean_loss(fn, X, Y, [w])
    got_loss, got_grads = compiled_mean_loss(trace(fn, 2, 0, [w]), X, Y, [w])
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, f"d/dw through {op}")


def test_overflow_gives_inf_and_nan_like_eager_without_warnings() -> None:
    w = Value(1.0)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return (xs[0] * w).exp() + (xs[0] * w).log()

    X = np.array([[1000.0], [-1.0], [0.0], [2.0]])
    Y = np.empty((4, 0))
    graph = trace(fn, 1, 0, [w])
    for rows in ([0], [1], [2], [3]):
        want_loss, want_grads = eager_mean_loss(fn, X[rows], Y[rows], [w])
        got_loss, got_grads = compiled_mean_loss(graph, X[rows], Y[rows], [w])
        assert close(got_loss, want_loss), rows
        assert_all_close(got_grads, want_grads, f"row {rows}")


# -- PyTorch oracle -----------------------------------------------------------------------------


@pytest.mark.torch
def test_mlp_gradients_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    model = MLP(4, [10, 6, 2], activation="tanh", seed=5)
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    graph = compile_model(model, mse_loss, 4, 2)
    zero(model.parameters())
    loss = graph.loss_and_grad(X, Y)

    net = model.to_torch()
    out = net(torch.tensor(X, dtype=torch.float64))
    want = torch.nn.functional.mse_loss(out, torch.tensor(Y, dtype=torch.float64))
    want.backward()
    assert close(loss, want.item())
    want_grads = torch_mlp_grads(net)
    assert_all_close([p.grad for p in model.parameters()], want_grads, "torch gradients")


# -- semantics ----------------------------------------------------------------------------------


def affine() -> tuple[Value, Value, Callable[..., Value]]:
    w, b = Value(2.0), Value(-1.0)
    return w, b, lambda xs, ys: (w * xs[0] + b - ys[0]) ** 2


def test_gradients_accumulate_like_backward() -> None:
    w, b, fn = affine()
    graph = trace(fn, 1, 1, [w, b])
    X, Y = np.array([[1.0], [3.0]]), np.array([[0.0], [1.0]])
    w.grad, b.grad = 10.0, 20.0
    graph.loss_and_grad(X, Y)
    graph.loss_and_grad(X, Y)
    # mean of 2 (w x + b - y) x over x = 1, 3 (w x + b - y = 1, 4) is 13; of 2 (...) is 5
    assert (w.grad, b.grad) == (10.0 + 2 * 13.0, 20.0 + 2 * 5.0)


def test_parameter_updates_are_seen_between_calls() -> None:
    w, b, fn = affine()
    graph = trace(fn, 1, 1, [w, b])
    X, Y = np.array([[1.0]]), np.array([[0.0]])
    assert graph.loss_and_grad(X, Y) == 1.0
    w.data = 5.0
    assert graph.loss_and_grad(X, Y) == 16.0


def test_unused_parameter_is_left_alone() -> None:
    w, b, fn = affine()
    unused = Value(3.0)
    unused.grad = 7.0
    trace(fn, 1, 1, [w, b, unused]).loss_and_grad([[1.0]], [[0.0]])
    assert unused.grad == 7.0


def test_other_leaves_are_constants() -> None:
    w, frozen = Value(2.0), Value(3.0)
    graph = trace(lambda xs, ys: w * frozen * xs[0], 1, 0, [w])
    graph.loss_and_grad([[1.0], [2.0]])
    assert (w.grad, frozen.grad) == (4.5, 0.0)


def test_duplicate_params_counted_once() -> None:
    w, _, _ = affine()
    graph = trace(lambda xs, ys: w * w * xs[0], 1, 0, [w, w])
    graph.loss_and_grad([[1.0]])
    assert w.grad == 4.0
    assert graph.params == [w]


@pytest.mark.parametrize(("kind", "loss", "activation", "output"), LOSS_CASES[:3])
def test_the_vector_entry_point_is_the_eager_gradient_at_theta(
    kind: str, loss: Callable[..., Value], activation: str, output: str | None
) -> None:
    rng = np.random.default_rng(7)
    model = MLP(3, [6, 4, 1], activation=activation, output_activation=output, seed=2)
    params = model.parameters()
    X, Y = rng.normal(size=(11, 3)), targets(kind, rng, 11, 1)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return loss([model(xs)], [ys[0]])

    graph = trace(fn, 3, 1, params)
    theta = graph.param_vector() + rng.normal(scale=0.3, size=len(params))
    before = [(p.data, p.grad) for p in params]
    got_loss, got_grad = graph.loss_and_grad_vector(theta, X, Y)
    assert [(p.data, p.grad) for p in params] == before  # the Values are neither read nor written
    for p, t in zip(params, theta.tolist(), strict=True):
        p.data = t
    want_loss, want_grads = eager_mean_loss(fn, X, Y, params)
    assert close(got_loss, want_loss)
    assert_all_close(got_grad.tolist(), want_grads, "gradient vector")


def test_the_vector_entry_point_gives_outputs_and_zeros_for_unused_params() -> None:
    w, b, fn = affine()
    unused = Value(3.0)
    graph = trace(lambda xs, ys: [fn(xs, ys), w * xs[0]], 1, 1, [unused, w, b])
    loss, grad, out = graph.loss_and_grad_vector(
        [9.0, 2.0, 1.0], [[1.0], [3.0]], [[0.0], [1.0]], outputs=True
    )
    # (2x + 1 - y)^2 at (1, 0), (3, 1): 9 and 36; d/dw = mean 2(..)x = (6 + 36) / 2
    assert (loss, grad.tolist(), out.ravel().tolist()) == (22.5, [0.0, 21.0, 9.0], [2.0, 6.0])


def test_the_vector_entry_point_refuses_a_vector_of_the_wrong_size() -> None:
    w, b, fn = affine()
    graph = trace(fn, 1, 1, [w, b])
    with pytest.raises(ValueError, match=r"theta: expected shape \(2,\), one number per .* \(3,\)"):
        graph.loss_and_grad_vector([1.0, 2.0, 3.0], [[1.0]], [[0.0]])
    with pytest.raises(TypeError, match="theta: expected a vector of numbers"):
        graph.loss_and_grad_vector(["a", "b"], [[1.0]], [[0.0]])
    with pytest.raises(ValueError, match="outputs=True"):
        trace(lambda xs, ys: [fn(xs, ys), w * 1.0], 1, 1, [w, b]).loss_and_grad_vector(
            [1.0, 2.0], [[1.0]], [[0.0]]
        )


def test_forward_gives_every_output_for_every_row() -> None:
    model = MLP(3, [5, 4], activation="sigmoid", seed=0)
    X = np.random.default_rng(0).normal(size=(9, 3))
    out = compile_model(model, None, 3).forward(X)
    want = [[v.data for v in model(list(x))] for x in X]
    assert out.shape == (9, 4)
    assert_all_close(out.ravel().tolist(), np.ravel(want).tolist(), "outputs")


def test_forward_of_a_loss_graph_gives_per_example_losses() -> None:
    w, b, fn = affine()
    out = trace(fn, 1, 1, [w, b]).forward([[1.0], [3.0]], [[0.0], [1.0]])
    assert out.tolist() == [[1.0], [16.0]]


def test_outputs_may_be_leaves_and_numbers() -> None:
    w = Value(4.0)
    graph = trace(lambda xs, ys: [xs[1], w, 2.5, xs[0] * w], 2, 0, [w])
    assert graph.forward([[1.0, 2.0]]).tolist() == [[2.0, 4.0, 2.5, 4.0]]


def test_loss_may_be_a_parameter_itself() -> None:
    w = Value(4.0)
    graph = trace(lambda xs, ys: w, 1, 0, [w])
    assert graph.loss_and_grad([[1.0], [2.0]]) == 4.0
    assert w.grad == 1.0


def test_number_of_array_ops_grows_with_depth_not_width() -> None:
    narrow = compile_model(MLP(4, [3, 1], seed=0), mse_loss, 4, 1)
    wide = compile_model(MLP(40, [300, 1], seed=0), mse_loss, 40, 1)
    deep = compile_model(MLP(4, [3, 3, 3, 1], seed=0), mse_loss, 4, 1)
    assert wide.n_nodes > 20 * narrow.n_nodes
    assert wide.n_groups == narrow.n_groups
    assert deep.n_groups > narrow.n_groups
    assert "array ops" in repr(wide)


def test_variadic_sums_of_different_arity_at_one_depth() -> None:
    w = Value(1.5)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        a = Value.sum([xs[0] * w, xs[1]])
        b = Value.sum([xs[0], xs[1] * w, xs[2], w])
        return a * b

    X = np.random.default_rng(3).normal(size=(6, 3))
    Y = np.empty((6, 0))
    want_loss, want_grads = eager_mean_loss(fn, X, Y, [w])
    got_loss, got_grads = compiled_mean_loss(trace(fn, 3, 0, [w]), X, Y, [w])
    assert close(got_loss, want_loss)
    assert_all_close(got_grads, want_grads, "d/dw")


def test_compile_model_takes_a_loss_name() -> None:
    model = MLP(2, [3, 1], seed=0)
    X, Y = np.array([[0.5, -1.0]]), np.array([1.0])
    by_name = compile_model(model, "mse", 2, 1)
    by_function = compile_model(model, mse_loss, 2, 1)
    assert by_name.loss_and_grad(X, Y) == by_function.loss_and_grad(X, Y)


# -- what cannot be compiled ----------------------------------------------------------------------


def test_data_dependent_branch_is_refused_where_it_reads_the_number() -> None:
    w = Value(1.0)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z = w * xs[0]
        return z.relu() if z.data > 0 else z.tanh()

    with pytest.raises(CompileError, match=r"^test_compile\.py:\d+: the traced code reads"):
        trace(fn, 1, 0, [w])


@pytest.mark.parametrize(
    "read",
    [
        lambda z: z.data > 0,
        lambda z: z > 0,
        lambda z: bool(z),
        lambda z: float(z) > 0,
        lambda z: math.tanh(z) > 0,
        lambda z: abs(z.data) <= 1,
    ],
    ids=[".data", "comparison", "bool", "float", "math function", "Huber's test"],
)
def test_every_way_of_reading_a_traced_number_is_refused(read: Callable[[Value], bool]) -> None:
    w = Value(1.0)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        z = w * xs[0]
        return z * z if read(z) else z

    with pytest.raises(CompileError, match=r"reads the number of .*compiled=False"):
        trace(fn, 1, 0, [w])


def test_reading_a_parameter_or_a_target_is_refused() -> None:
    w = Value(1.0, label="w")
    with pytest.raises(CompileError, match="reads the number of 'w'"):
        trace(lambda xs, ys: w.data * xs[0], 1, 0, [w])  # frozen at trace time otherwise
    with pytest.raises(CompileError, match="reads the number of 'y0'"):
        trace(lambda xs, ys: (w * xs[0]).exp() if ys[0].data == 1.0 else w * xs[0], 1, 1, [w])
    with pytest.raises(CompileError, match="reads the number of 'x0'"):
        trace(lambda xs, ys: w * xs[0].data, 1, 0, [w])


def test_numbers_of_constants_may_be_read() -> None:
    w = Value(2.0)
    scale = Value(3.0)  # not a parameter, does not depend on the example: a constant
    graph = trace(lambda xs, ys: w * xs[0] * (scale.data if scale > 1 else 1.0), 1, 0, [w])
    assert graph.forward([[1.0], [2.0]]).ravel().tolist() == [6.0, 12.0]


def test_graphs_that_differ_between_two_traces_still_raise() -> None:
    w = Value(1.0)
    calls = iter(range(10))

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return Value.sum([w * x for x in xs[: next(calls) % 2 + 1]])

    with pytest.raises(CompileError, match="differs between two examples"):
        trace(fn, 3, 0, [w])


def test_a_random_constant_is_refused() -> None:
    w = Value(1.0)
    rng = random.Random(0)
    with pytest.raises(CompileError, match="constant differs"):
        trace(lambda xs, ys: w * xs[0] * rng.random(), 1, 0, [w])


@pytest.mark.parametrize(
    ("first", "second", "refused"),
    [(0.0, -0.0, True), (-0.0, 0.0, True), (math.nan, math.nan, False), (2.0, 2.0, False)],
)
def test_constants_are_compared_bit_for_bit(first: float, second: float, refused: bool) -> None:
    # 0.0 == -0.0 but 1 / x tells them apart; nan != nan but is the same constant each time.
    w = Value(1.0)
    seen = iter([first, second])
    fn = lambda xs, ys: w * xs[0] + next(seen)
    if refused:
        with pytest.raises(CompileError, match="constant differs"):
            trace(fn, 1, 0, [w])
    else:
        assert trace(fn, 1, 0, [w]).n_nodes == 2


def test_active_dropout_raises_and_eval_mode_compiles() -> None:
    model = MLP(4, [32, 32, 1], dropout=0.5, seed=0)
    with pytest.raises(CompileError, match="Dropout"):
        compile_model(model, mse_loss, 4, 1)
    model.eval()
    assert compile_model(model, mse_loss, 4, 1).n_nodes > 0


def test_op_without_numpy_rule_names_the_op() -> None:
    tanh = OPS["tanh"]
    mytanh = dataclasses.replace(
        tanh, name="mytanh", method="mytanh", np_forward=None, np_local=None
    )
    ops.register(mytanh)
    try:
        w = Value(1.0)

        def fn(xs: list[Value], ys: list[Value]) -> Value:
            return (w * xs[0]).mytanh()

        assert fn([Value(0.5)], []).data == math.tanh(0.5)
        with pytest.raises(CompileError, match=r"'mytanh'.*np_forward"):
            trace(fn, 1, 0, [w])
    finally:
        ops.unregister("mytanh")


def test_of_two_ops_without_numpy_rules_the_first_used_is_named() -> None:
    # The same graph gives the same error on every run, whatever the ops' ids.
    tanh = OPS["tanh"]
    names = [f"mytanh{i}" for i in range(6)]
    for name in names:
        ops.register(
            dataclasses.replace(tanh, name=name, method=name, np_forward=None, np_local=None)
        )
    try:
        w = Value(1.0)
        for first in names:
            order = [first, *(n for n in reversed(names) if n != first)]

            def fn(xs: list[Value], ys: list[Value], order: list[str] = order) -> Value:
                out = w * xs[0]
                for name in order:
                    out = getattr(out, name)()
                return out

            with pytest.raises(CompileError, match=rf"op '{first}'"):
                trace(fn, 1, 0, [w])
    finally:
        for name in names:
            ops.unregister(name)


def test_trace_inside_no_grad_raises() -> None:
    w = Value(1.0)
    with no_grad(), pytest.raises(CompileError, match="no_grad"):
        trace(lambda xs, ys: w * xs[0], 1, 0, [w])


def test_loss_that_rejects_every_second_example_raises() -> None:
    w = Value(1.0)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        if peek(ys[0]) != 1.0:  # an argument check, as the built-in losses make
            raise ValueError("targets must be 1")
        return w * xs[0]

    with pytest.raises(CompileError, match="rejected every second"):
        trace(fn, 1, 1, [w])


# -- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("not callable", 1, 0, []), TypeError, "fn: expected a function"),
        (
            (lambda xs, ys: xs[0], -1, 0, []),
            ValueError,
            "n_inputs: expected an integer >= 0, got -1",
        ),
        (
            (lambda xs, ys: xs[0], "2", 0, []),
            TypeError,
            "n_inputs: expected an integer >= 0, got str",
        ),
        (
            (lambda xs, ys: xs[0], 1, 1.0, []),
            TypeError,
            "n_targets: expected an integer >= 0, got float",
        ),
        ((lambda xs, ys: xs[0], 1, 0, Value(1.0)), TypeError, "params: expected a list"),
        (
            (lambda xs, ys: xs[0], 1, 0, [1.0]),
            TypeError,
            r"params\[0\]: expected a Value, got float",
        ),
        ((lambda xs, ys: xs[0], 1, 0, [Value(1.0) * 2]), ValueError, "expected a leaf Value"),
        (
            (lambda xs, ys: xs[0], 1, 0, [Value(1.0), Value(2.0), 3.0]),
            TypeError,
            r"params\[2\]: expected a Value, got float",
        ),
        (
            (lambda xs, ys: xs[0], 1, 0, [Value(1.0), Value(1.0) * 2]),
            ValueError,
            r"params\[1\]: expected a leaf Value",
        ),
        ((lambda xs, ys: "loss", 1, 0, []), TypeError, "expected a Value or a number, got str"),
        ((lambda xs, ys: [xs[0], None], 1, 0, []), TypeError, "output 1: expected a Value"),
    ],
)
def test_trace_bad_input(args: tuple[Any, ...], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        trace(*args)


@pytest.mark.parametrize(
    ("X", "Y", "error", "match"),
    [
        ([[1.0, 2.0]], [[0.0]], ValueError, r"X: expected shape \(batch, 1\), got \(1, 2\)"),
        ([[1.0]], [[0.0, 1.0]], ValueError, r"Y: expected shape \(batch, 1\), got \(1, 2\)"),
        ([[1.0], [2.0]], [[0.0]], ValueError, "same number of rows, got 2 and 1"),
        (np.empty((0, 1)), np.empty((0, 1)), ValueError, "at least 1 example, got 0"),
        ([["a"]], [[0.0]], TypeError, "X: expected a 2-D array of numbers"),
        ([[1.0]], None, ValueError, "needs targets Y"),
    ],
)
def test_loss_and_grad_bad_input(X: Any, Y: Any, error: type[Exception], match: str) -> None:
    w, b, fn = affine()
    with pytest.raises(error, match=match):
        trace(fn, 1, 1, [w, b]).loss_and_grad(X, Y)


def test_loss_and_grad_needs_one_output() -> None:
    w = Value(1.0)
    graph = trace(lambda xs, ys: [w * xs[0], xs[0]], 1, 0, [w])
    with pytest.raises(ValueError, match=r"only output is a per-example loss .* has 2 outputs"):
        graph.loss_and_grad([[1.0]])


def test_loss_and_grad_returns_the_other_outputs_of_the_same_replay() -> None:
    model = MLP(3, [5, 2], activation="tanh", seed=3)
    params = model.parameters()

    def fn(xs: list[Value], ys: list[Value]) -> list[Value]:
        out = model(xs)
        return [cross_entropy_loss([out], [list(ys)]), *out]

    graph = trace(fn, 3, 2, params)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 3))
    Y = np.eye(2)[rng.integers(0, 2, size=7)]
    model.zero_grad()
    loss, outputs = graph.loss_and_grad(X, Y, outputs=True)
    compiled_grads = [p.grad for p in params]
    model.zero_grad()
    preds = [model(list(x)) for x in X]
    eager = cross_entropy_loss(preds, [list(y) for y in Y])
    eager.backward()
    assert loss == pytest.approx(eager.data, rel=1e-12)
    assert outputs.shape == (7, 2)
    np.testing.assert_allclose(outputs, [[v.data for v in p] for p in preds], rtol=1e-12)
    np.testing.assert_allclose(compiled_grads, [p.grad for p in params], rtol=1e-9, atol=1e-15)


def test_compile_model_bad_loss_name() -> None:
    with pytest.raises(ValueError, match=r"loss: expected one of .*'nope'"):
        compile_model(MLP(2, [1], seed=0), "nope", 2, 1)


# -- losses the replay cannot average ------------------------------------------------------------


def _sum_loss(preds: Any, targets: Any) -> Value:
    return Value.sum([(p - t) ** 2 for p, t in zip(preds, targets, strict=True)])


def _len_squared_loss(preds: Any, targets: Any) -> Value:
    return Value.sum([(p - t) ** 2 for p, t in zip(preds, targets, strict=True)]) / len(preds) ** 2


@pytest.mark.parametrize("loss", [_sum_loss, _len_squared_loss, "mse_sum"])
def test_a_loss_that_is_not_a_mean_of_its_examples_is_refused(loss: Any) -> None:
    from microgradnn.train import fit

    if loss == "mse_sum":
        loss = lambda p, t: mse_loss(p, t, reduction="sum")
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    with pytest.raises(CompileError, match=r"mean of their own losses"):
        compile_model(model, loss, 2, 1)
    X = np.random.default_rng(0).normal(size=(8, 2))
    y = X[:, 0] - X[:, 1]
    with pytest.raises(CompileError, match=r"mean of their own losses .* compiled=False"):
        fit(model, X, y, loss=loss, compiled=True, progress=False, epochs=1)
    fit(model, X, y, loss=loss, compiled=False, progress=False, epochs=1)  # eager is fine


def test_a_custom_mean_loss_compiles_and_matches_eager() -> None:
    from microgradnn.train import fit

    def mean_abs(preds: Any, targets: Any) -> Value:
        terms = [abs(p - t) for p, t in zip(preds, targets, strict=True)]
        return Value.sum(terms) / len(preds)

    X = np.random.default_rng(1).normal(size=(12, 2))
    y = np.sin(X[:, 0])
    runs = []
    for compiled in (False, True):
        model = MLP(2, [4, 1], activation="tanh", seed=3)
        fit(model, X, y, loss=mean_abs, lr=0.05, epochs=5, compiled=compiled, progress=False)
        runs.append([p.data for p in model.parameters()])
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-9, atol=1e-12)


# -- fuzz: a loss with branches either replays equal to eager or raises CompileError --------------

_TRANSFORMS: list[Callable[[Value], Value]] = [
    lambda r: r * r,
    lambda r: r.abs(),
    lambda r: r.relu(),
    lambda r: r.tanh(),
    lambda r: r * 0.5 + 1.0,
]
_READS: dict[str, Callable[[Value, float], bool]] = {
    "data": lambda r, t: r.data > t,
    "abs data": lambda r, t: abs(r.data) <= t,
    "comparison": lambda r, t: r < t,
    "bool": lambda r, t: bool(r) and t > -10,
    "float": lambda r, t: float(r) >= t,
}

_steps = st.lists(
    st.one_of(
        st.tuples(st.just("op"), st.integers(0, len(_TRANSFORMS) - 1)),
        st.tuples(
            st.just("branch"),
            st.sampled_from(sorted(_READS)),
            st.floats(-1.5, 1.5),
            st.integers(0, len(_TRANSFORMS) - 1),
            st.integers(0, len(_TRANSFORMS) - 1),
        ),
        st.tuples(st.just("constant branch"), st.floats(-1.5, 1.5)),
    ),
    min_size=1,
    max_size=4,
)


@given(steps=_steps, seed=st.integers(0, 3))
def test_fuzzed_losses_with_branches_replay_equal_to_eager_or_raise(
    steps: list[tuple[Any, ...]], seed: int
) -> None:
    from microgradnn.train import fit

    knob = Value(0.3)  # not a parameter: reading it is reading a constant

    def loss(preds: Any, targets: Any) -> Value:
        terms = []
        for p, t in zip(preds, targets, strict=True):
            r = p - t
            for step in steps:
                if step[0] == "op":
                    r = _TRANSFORMS[step[1]](r)
                elif step[0] == "branch":
                    _, read, threshold, yes, no = step
                    r = _TRANSFORMS[yes](r) if _READS[read](r, threshold) else _TRANSFORMS[no](r)
                else:
                    r = r * 2.0 if knob.data > step[1] else r - 1.0
            terms.append(r)
        return Value.sum(terms) / len(terms)

    reads_traced = any(step[0] == "branch" for step in steps)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 2))
    y = X[:, 0] * 0.7 - X[:, 1]
    runs = {}
    for compiled in (False, True):
        model = MLP(2, [3, 1], activation="tanh", seed=seed)
        kwargs = {"lr": 0.05, "epochs": 3, "batch_size": 4, "progress": False}
        refused = ""
        try:
            history = fit(model, X, y, loss=loss, compiled=compiled, **kwargs)
        except CompileError as err:
            refused = str(err)
        if refused:
            assert compiled, "eager training must never raise CompileError"
            assert reads_traced, f"refused a loss that reads no traced number: {refused}"
            assert "compiled=False" in refused
            return
        runs[compiled] = (history.train_loss, [p.data for p in model.parameters()])
    assert not reads_traced, "a loss that reads a traced number was compiled"
    np.testing.assert_allclose(runs[True][0], runs[False][0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(runs[True][1], runs[False][1], rtol=1e-9, atol=1e-12)


def test_the_replay_passes_no_nan_through_a_selected_off_input() -> None:
    # relu(w x) = 0 for x < 0, and log(0) = -inf sends an inf gradient back: PyTorch gives w a
    # 0 contribution from those examples (relu selects them off), not nan.
    w = Value(1.0)
    X = np.array([[-1.0], [-2.0], [3.0]])

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return (w * xs[0]).relu().log() + (w * xs[0]).step() + (w * xs[0]).prelu(w) * 0.0

    eager = []
    for x in X[:, 0]:
        w.grad = 0.0
        fn([Value(float(x))], []).backward()
        eager.append(w.grad)
    assert eager[:2] == [0.0, 0.0]
    w.grad = 0.0
    graph = trace(fn, 1, 0, [w])
    graph.loss_and_grad(X)
    assert w.grad == pytest.approx(sum(eager) / 3, rel=1e-12)
    assert math.isfinite(w.grad)


def test_the_replay_divides_where_pytorch_divides() -> None:
    w = Value(1.0)
    X = np.array([[1e-320], [2.0]])  # a subnormal input: 1/x overflows to inf

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        return (xs[0].log() * 0.0 + w) + w / xs[0] * 0.0

    w.grad = 0.0
    trace(fn, 1, 0, [w]).loss_and_grad(X)
    assert w.grad == 1.0
