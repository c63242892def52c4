"""Value and backward(): random DAGs against PyTorch, micrograd's bugs as regression tests, memory.

The op-by-op checks live in ``test_ops.py``; this file tests what the engine does with graphs:
the chain rule over shared subexpressions, accumulation across backward calls, deep and wide
graphs, freeing memory, conversions and bad input.
"""

from __future__ import annotations

import gc
import math
import pydoc
import random
import re
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given

from microgradnn import OPS, Value, is_grad_enabled, no_grad
from microgradnn.ops import Op
from microgradnn.ops import register as ops_register
from microgradnn.ops import unregister as ops_unregister
from tests.op_db import OP_DB
from tests.oracle import (
    assert_close,
    rebuild_in_torch,
    same_float,
    torch_or_skip,
    torch_value_and_grads,
)
from tests.strategies import Dag, dags


def test_readme_example() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = a * b + a.tanh()
    c.backward()
    assert_close(c.data, 2.0 * -3.0 + math.tanh(2.0), rtol=1e-15)
    assert_close(a.grad, -3.0 + 1.0 - math.tanh(2.0) ** 2, rtol=1e-15)
    assert b.grad == 2.0


# -- micrograd's bugs, one regression test each ----------------------------------------------------


def test_x_times_x() -> None:
    x = Value(3.0)
    y = x * x
    assert y._prev == (x, x)
    assert y._prev[0] is x
    assert y._prev[1] is x
    y.backward()
    assert x.grad == 6.0


def test_x_plus_x_and_x_over_x() -> None:
    x = Value(3.0)
    (x + x).backward()
    assert x.grad == 2.0
    x.grad = 0.0
    (x / x).backward()
    assert_close(x.grad, 0.0, atol=1e-16)


def test_prev_is_ordered_tuple() -> None:
    x, y = Value(2.0), Value(3.0)
    cases: list[tuple[Value, tuple[Any, ...]]] = [
        (x - y, (x, y)),
        (y - x, (y, x)),
        (x / y, (x, y)),
        (y**x, (y, x)),
        (x - 2, (x, 2.0)),
        (2 - x, (2.0, x)),
        (x * 2, (x, 2.0)),
        (2 * x, (2.0, x)),
        (x + 0.5, (x, 0.5)),
        (0.5 + x, (0.5, x)),
        (x**2, (x, 2.0)),
        (2**x, (2.0, x)),
        (1 / x, (1.0, x)),
        (-x, (x,)),
        (x.prelu(y), (x, y)),
        (x.prelu(0.5), (x, 0.5)),
        (x.leaky_relu(), (x, 0.01)),
        (x.leaky_relu(0.2), (x, 0.2)),
        (Value.sum([y, x, y, 1]), (y, x, y, 1.0)),
        (Value.logsumexp([y, x, y, 1]), (y, x, y, 1.0)),
    ]
    for node, expected in cases:
        assert type(node._prev) is tuple
        assert len(node._prev) == len(expected)
        for got, want in zip(node._prev, expected, strict=True):
            if isinstance(want, Value):
                assert got is want
            else:
                assert type(got) is float
                assert got == want
    # No dependence on ids or hashes: the same expression records the same order every time.
    orders = {tuple(v.data for v in Value.sum([Value(k) for k in range(50)])._prev) for _ in "ab"}
    assert orders == {tuple(float(k) for k in range(50))}


def test_a_node_is_one_object_for_the_cycle_collector() -> None:
    # Its inputs sit in slots of the Value, not in a tuple of their own (which the collector
    # would track too): a learner's loop runs with the collector on.
    x, w = Value(0.5), Value(2.0)
    was = gc.isenabled()
    gc.disable()
    try:
        before = len(gc.get_objects())
        nodes = [(w * x).relu() for _ in range(1_000)] + [-x for _ in range(500)]
        tracked = len(gc.get_objects()) - before
    finally:
        if was:
            gc.enable()
    assert 2_500 <= tracked <= 2_510, f"{tracked} tracked objects for 2,500 nodes"
    assert nodes[0]._prev[0]._prev == (w, x)


def test_a_copied_graph_keeps_its_inputs_and_back_propagates_alike() -> None:
    import copy

    def build() -> Value:
        a, b = Value(1.5, label="a"), Value(-0.5, label="b")
        return Value.sum([a * b, (-a).tanh(), a.prelu(b), b]).logsumexp([a, 2.0])

    want = build()
    want.backward()
    root = build()
    copied = copy.deepcopy(root)
    copied.backward()
    got_order, want_order = copied.topological_order(), want.topological_order()
    assert all(g._op is w._op for g, w in zip(got_order, want_order, strict=True))
    assert [(v.data, v.grad, v.label) for v in got_order] == [
        (v.data, v.grad, v.label) for v in want_order
    ]
    assert [len(v._prev) for v in got_order] == [len(v._prev) for v in want_order]


def test_results_under_no_grad_are_leaves_with_no_inputs() -> None:
    x = Value(2.0)
    with no_grad():
        made = [x * 3, -x, x.tanh(), Value.sum([x, x]), x.prelu(0.5), x + x]
    assert all(v._prev == () and v.is_leaf for v in made)


def test_backward_twice() -> None:
    rng = random.Random(0)
    for _ in range(200):
        x, y = Value(rng.uniform(-2, 2)), Value(rng.uniform(-2, 2))
        h = (x * y).tanh()
        out = x * rng.uniform(-1, 1) + h + x * y * x + h * x
        out.backward()
        first = [v.grad for v in (x, y, h, out)]
        out.backward()
        # Leaves accumulate exactly as in PyTorch: the second pass adds the same gradient again.
        assert x.grad == 2 * first[0]
        assert y.grad == 2 * first[1]
        # Interior nodes hold the latest pass, not a sum.
        assert h.grad == first[2]
        assert out.grad == first[3] == 1.0


@given(dags())
def test_backward_twice_random_dags(dag: Dag) -> None:
    values = dag.build()
    root, n = values[-1], len(dag.leaves)
    root.backward()
    first = [v.grad for v in values]
    root.backward()
    for k, (v, g) in enumerate(zip(values, first, strict=True)):
        expected = 2 * g if k < n else g
        assert same_float(v.grad, expected), f"value {k}: {v.grad!r} != {expected!r}"


def test_deep_chain() -> None:
    n, c = 200_000, 1.00001
    x = Value(1.0)
    y = x
    for _ in range(n):
        y = y * c
    y.backward()
    assert_close(y.data, c**n, rtol=1e-9)
    assert_close(x.grad, c**n, rtol=1e-9)
    del y  # freeing 200,000 nested nodes must not overflow the C stack either


def test_deep_chain_of_mixed_ops() -> None:
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = (y.tanh() + 0.5 - y * 0.25).sigmoid()
    y.backward()
    # An independent forward-mode pass (float arithmetic + hand-derived chain rule).
    v, dv = 0.5, 1.0
    for _ in range(20_000):
        t = math.tanh(v)
        u = t + 0.5 - v * 0.25
        du = (1 - t * t) * dv - 0.25 * dv
        s = 1 / (1 + math.exp(-u))
        v, dv = s, s * (1 - s) * du
    assert_close(y.data, v, rtol=1e-12)
    assert_close(x.grad, dv, rtol=1e-9)


def test_sum_of_many() -> None:
    rng = random.Random(1)
    numbers = [rng.uniform(-1, 1) for _ in range(10_000)]
    xs = [Value(a) for a in numbers]
    s = Value.sum(xs)
    assert s._op is OPS["sum"]
    assert len(s._prev) == 10_000
    s.backward()
    assert all(x.grad == 1.0 for x in xs)
    assert_close(s.data, math.fsum(numbers), rtol=1e-12, atol=1e-12)
    for x in xs:
        x.grad = 0.0
    t = sum(xs)  # the builtin: 0 + x0 + x1 + ..., a chain of 10,000 additions
    assert isinstance(t, Value)
    assert len(t.topological_order()) == 20_000
    t.backward()
    assert all(x.grad == 1.0 for x in xs)
    assert_close(t.data, math.fsum(numbers), rtol=1e-12, atol=1e-12)


def test_sum_of_nothing_is_a_zero_leaf() -> None:
    s = Value.sum([])
    assert s.data == 0.0
    assert s.is_leaf


def test_logsumexp_of_nothing_or_of_a_non_number_is_an_error() -> None:
    # log(0) would be -inf with no inputs to carry a gradient: an error, unlike Value.sum([]).
    with pytest.raises(ValueError, match="at least one value"):
        Value.logsumexp([])
    with pytest.raises(TypeError, match=r"Value\.logsumexp: expected a real number .*got str"):
        Value.logsumexp([Value(1.0), "2"])  # type: ignore[list-item]


def test_logsumexp_of_many_is_stable_and_its_gradient_is_the_softmax() -> None:
    rng = random.Random(2)
    numbers = [rng.uniform(-1, 1) + 1000.0 for _ in range(1000)]
    xs = [Value(a) for a in numbers]
    s = Value.logsumexp(xs)
    assert s._op is OPS["logsumexp"]
    assert len(s._prev) == 1000
    s.backward()
    m = max(numbers)
    expected = m + math.log(math.fsum(math.exp(a - m) for a in numbers))
    assert_close(s.data, expected, rtol=1e-14)
    assert_close(math.fsum(x.grad for x in xs), 1.0, rtol=1e-12)
    assert_close([x.grad for x in xs], [math.exp(a - expected) for a in numbers], rtol=1e-12)


# -- graphs against PyTorch ------------------------------------------------------------------------


def _torch_run(dag: Dag) -> tuple[Any, list[Any]]:
    torch = torch_or_skip()
    values = dag.run(
        lambda x: torch.tensor(x, dtype=torch.float64, requires_grad=True),
        lambda op, xs: OP_DB[op].torch(torch, xs),
    )
    return torch, values


# Sums (Σ nodes, and gradients summed over paths) may add terms in another order than torch
# does; where terms cancel, the rounding error is judged against the largest term, not the result.


def _value_scale(values: list[Value]) -> float:
    """The largest value in the graph: every term of every sum is one."""
    return max(1.0, *(abs(v.data) for v in values))


def _grad_scale(values: list[Value]) -> float:
    """The largest term d(node)/d(input) * node.grad of any chain-rule sum (after backward)."""
    terms = (abs(d * v.grad) for v in values for d in v.local_grads())
    return max(1.0, *terms, *(abs(v.grad) for v in values))


@pytest.mark.torch
@given(dags())
def test_random_dag_matches_torch(dag: Dag) -> None:
    torch, t_values = _torch_run(dag)
    n = len(dag.leaves)
    t_grads = torch.autograd.grad(t_values[-1], t_values[:n], allow_unused=True)
    values = dag.build()
    values[-1].backward()
    data, t_data = [v.data for v in values], [t.item() for t in t_values]
    assert_close(data, t_data, atol=1e-12 * _value_scale(values), what="values")
    grads = [v.grad for v in values[:n]]
    expected = [0.0 if g is None else g.item() for g in t_grads]
    assert_close(grads, expected, atol=1e-12 * _grad_scale(values), what="leaf grads")


@pytest.mark.torch
@given(dags())
def test_recorded_graph_rebuilt_in_torch_matches(dag: Dag) -> None:
    torch = torch_or_skip()
    values = dag.build()
    root = values[-1]
    t_root, tensors = rebuild_in_torch(root)
    leaves = values[: len(dag.leaves)]
    t_leaves = [tensors[id(v)] for v in leaves]
    t_grads = torch.autograd.grad(t_root, t_leaves, allow_unused=True)
    root.backward()
    assert_close(root.data, t_root.item(), atol=1e-12 * _value_scale(values), what="root")
    grads = [v.grad for v in leaves]
    expected = [0.0 if g is None else g.item() for g in t_grads]
    assert_close(grads, expected, atol=1e-12 * _grad_scale(values), what="leaf grads")


@given(dags())
def test_topological_order(dag: Dag) -> None:
    values = dag.build()
    root = values[-1]
    order = root.topological_order()
    position = {id(v): k for k, v in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    assert order[-1] is root
    for node in order:
        for p in node._prev:
            if isinstance(p, Value):
                assert position[id(p)] < position[id(node)]
    assert {id(v) for v in values} == set(position)  # every leaf reaches the root in a Dag
    assert [id(v) for v in root.topological_order()] == [id(v) for v in order]


@pytest.mark.torch
@given(dags())
def test_accumulation_across_two_backward_calls_matches_torch(dag: Dag) -> None:
    _, t_values = _torch_run(dag)
    n = len(dag.leaves)
    t_values[-1].backward(retain_graph=True)
    t_once = [0.0 if t.grad is None else t.grad.item() for t in t_values[:n]]
    t_values[-1].backward()
    t_twice = [0.0 if t.grad is None else t.grad.item() for t in t_values[:n]]
    values = dag.build()
    values[-1].backward()
    once = [v.grad for v in values[:n]]
    values[-1].backward()
    twice = [v.grad for v in values[:n]]
    assert all(same_float(b, 2 * a) for a, b in zip(t_once, t_twice, strict=True))
    assert all(same_float(b, 2 * a) for a, b in zip(once, twice, strict=True))
    assert_close(twice, t_twice, atol=2e-12 * _grad_scale(values))


@pytest.mark.torch
def test_accumulation_is_bitwise_equal_to_torch_on_exact_arithmetic() -> None:
    torch = torch_or_skip()

    def f(x: Any, y: Any) -> Any:
        # Each leaf gets at most two contributions, so the sum order cannot differ from torch's.
        return x * y + 3 * x - y / 2

    x, y = Value(0.1), Value(-1.3)
    tx, ty = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.1, -1.3))
    out, t_out = f(x, y), f(tx, ty)
    for _ in range(3):
        out.backward()
        t_out.backward(retain_graph=True)
        assert (x.grad, y.grad) == (tx.grad.item(), ty.grad.item())


@pytest.mark.torch
@pytest.mark.parametrize("seed", [2.5, -0.5, 2, 0.0])
def test_backward_gradient_seed_matches_torch(seed: float) -> None:
    def f(x: Any, y: Any) -> Any:
        return (x * y).tanh() + (x / y) ** 2

    x, y = Value(0.7), Value(-1.9)
    out = f(x, y)
    out.backward(gradient=seed)
    assert type(x.grad) is float
    assert out.grad == seed
    _, expected = torch_value_and_grads(f, (0.7, -1.9), seed=float(seed))
    assert_close([x.grad, y.grad], expected)


def test_backward_seed_interior_nodes_hold_the_latest_pass() -> None:
    x = Value(1.5)
    h = x.exp()
    out = h * h
    out.backward()
    out.backward(gradient=3.0)
    assert h.grad == 3.0 * 2 * h.data
    assert_close(x.grad, 4.0 * 2 * math.exp(3.0), rtol=1e-15)


def test_backward_on_a_leaf_accumulates_the_seed() -> None:
    x = Value(2.0)
    x.backward()
    x.backward(gradient=0.5)
    assert x.grad == 1.5


def test_backward_gradient_must_be_a_number() -> None:
    with pytest.raises(TypeError, match=r"backward gradient: expected a real number.*got str"):
        (Value(1.0) * 2).backward(gradient="1")  # type: ignore[arg-type]


# -- memory: no reference cycles, and a bound per node ---------------------------------------------


@contextmanager
def _traced_without_gc() -> Iterator[None]:
    """tracemalloc on and the cyclic collector off: only reference counting frees memory."""
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc already in use")
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        if was_enabled:
            gc.enable()


def _allocated() -> int:
    return tracemalloc.get_traced_memory()[0]


def _every_op(v: Value, w: Value) -> Value:
    u = (v * w + 1.5 - w / 2.0) ** 2
    parts = [u.exp().log(), u.tanh(), u.sigmoid(), -u.softplus(), u.relu(), u.leaky_relu(0.1)]
    parts += [u.prelu(w), abs(u), u.step(), u.sign(), u.hard_sigmoid(), Value.logsumexp([u, w, 2])]
    return Value.sum(parts).tanh()


def test_every_op_graph_covers_all_ops() -> None:
    out = _every_op(Value(0.3), Value(-0.2))
    assert {v._op.name for v in out.topological_order() if v._op is not None} == set(OPS)


def test_dropping_the_root_frees_every_node() -> None:
    x, w = Value(0.3), Value(-0.2)
    refs = sys.getrefcount(x), sys.getrefcount(w)
    with _traced_without_gc():
        baseline = _allocated()
        v = x
        for _ in range(500):
            v = _every_op(v, w)
        v.backward()
        built = _allocated() - baseline
        del v
        left = _allocated() - baseline
        unreachable = gc.collect()  # finds any cycle; also empties the tuple and float free lists
        left_after_collect = _allocated() - baseline
    assert built > 1_000_000, "the graph was not measured"
    # Without the collector only reference counting freed the graph; what is left is CPython's
    # free lists (up to 2,000 tuples per length, 100 floats), a small part of the graph.
    assert left < built / 4, f"{left} of {built} bytes still allocated: a reference cycle?"
    assert unreachable == 0, "the graph held reference cycles"
    assert left_after_collect < 16_384
    assert (sys.getrefcount(x), sys.getrefcount(w)) == refs


def test_memory_per_node() -> None:
    n = 20_000
    x = Value(1.0)
    with _traced_without_gc():
        baseline = _allocated()
        y = x
        for _ in range(n):
            y = y * 1.0001
        after_forward = (_allocated() - baseline) / n
        y.backward()
        after_backward = (_allocated() - baseline) / n
        del y
        unreachable = gc.collect()
        left = _allocated() - baseline
    # micrograd 0.1.0 takes ~1,180 bytes per such node (dict, set, closure, wrapped constant).
    assert after_forward <= 590, f"{after_forward:.0f} bytes per node"
    assert after_backward <= 590, f"{after_backward:.0f} bytes per node after backward()"
    assert unreachable == 0
    assert left < 16_384


# -- types and bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [
        ("abc", "str"),
        (True, "bool"),
        (False, "bool"),
        (None, "NoneType"),
        (1 + 2j, "complex"),
        (Value(1.0), "Value"),
        ([1.0], "list"),
        (np.array([1.0, 2.0]), "ndarray"),
    ],
)
def test_value_of_a_non_number_is_a_type_error(bad: object, type_name: str) -> None:
    with pytest.raises(
        TypeError, match=rf"^Value: expected a real number \(int or float\), got {type_name} "
    ):
        Value(bad)  # type: ignore[arg-type]


def test_value_of_a_non_number_names_it() -> None:
    with pytest.raises(TypeError) as info:
        Value("abc")  # type: ignore[arg-type]
    assert str(info.value) == "Value: expected a real number (int or float), got str 'abc'"


def test_value_of_a_value_hints_at_data() -> None:
    with pytest.raises(TypeError, match=r"v\.data"):
        Value(Value(1.0))  # type: ignore[arg-type]


BAD_OPERATIONS: list[tuple[str, Callable[[], object], str]] = [
    ("Value + str", lambda: Value(1.0) + "x", "str"),
    ("str + Value", lambda: "x" + Value(1.0), "Value"),
    ("str * Value", lambda: "x" * Value(1.0), "Value"),
    ("Value * str", lambda: Value(1.0) * "x", "Value"),  # Python's message: "can't multiply..."
    ("Value - None", lambda: Value(1.0) - None, "NoneType"),
    ("None / Value", lambda: None / Value(1.0), "NoneType"),
    ("Value ** str", lambda: Value(2.0) ** "2", "str"),
    ("str ** Value", lambda: "2" ** Value(2.0), "str"),
    ("list * Value", lambda: [1.0] * Value(2.0), "Value"),
    ("Value + complex", lambda: Value(1.0) + 1j, "complex"),
    ("Value / ndarray", lambda: Value(1.0) / np.array([1.0]), "Value"),
    ("ndarray * Value", lambda: np.array([1.0]) * Value(2.0), "Value"),
    ("leaky slope", lambda: Value(1.0).leaky_relu("0.1"), "str"),  # type: ignore[arg-type]
    ("prelu alpha", lambda: Value(1.0).prelu(None), "NoneType"),  # type: ignore[arg-type]
    ("Value.sum item", lambda: Value.sum([Value(1.0), "2"]), "str"),  # type: ignore[list-item]
    ("Value.logsumexp item", lambda: Value.logsumexp([1.0, None]), "NoneType"),  # type: ignore[list-item]
]


@pytest.mark.parametrize(
    ("what", "fn", "type_name"), BAD_OPERATIONS, ids=[b[0] for b in BAD_OPERATIONS]
)
def test_operation_with_a_non_number_is_a_type_error(
    what: str, fn: Callable[[], object], type_name: str
) -> None:
    with pytest.raises(TypeError, match=type_name):
        fn()


def test_data_and_grad_are_floats() -> None:
    x = Value(3)
    y = x * 2 + 1
    s = Value.sum([1, 2])
    y.backward(gradient=1)
    floats = [x.data, x.grad, y.data, y.grad, y._prev[1], (x**2).data, s.data, *s._prev]
    floats += [Value(np.float32(1.5)).data, Value(np.int64(7)).data, Value(2**62).data]
    assert [type(f) for f in floats] == [float] * len(floats)
    assert floats == [3.0, 2.0, 7.0, 1.0, 1.0, 9.0, 3.0, 1.0, 2.0, 1.5, 7.0, 2.0**62]


BINARY_DUNDERS = [
    f"__{r}{name}__" for name in ("add", "sub", "mul", "truediv", "pow") for r in ("", "r")
]


@pytest.mark.parametrize("dunder", BINARY_DUNDERS)
@pytest.mark.parametrize(
    "other",
    ["a", None, [1.0], (1.0,), 1j, object(), np.array([1.0])],
    ids=lambda o: type(o).__name__,
)
def test_binary_dunders_return_not_implemented_for_non_numbers(dunder: str, other: object) -> None:
    # NotImplemented, not an exception of our own: Python then tries the other operand's
    # reflected method and raises its usual TypeError when neither knows the pair.
    assert getattr(Value(1.0), dunder)(other) is NotImplemented


def test_value_plus_str_is_pythons_type_error() -> None:
    with pytest.raises(TypeError, match=r"unsupported operand type\(s\) for \+: 'Value' and 'str'"):
        Value(1) + "a"
    with pytest.raises(
        TypeError,
        match=r"unsupported operand type\(s\) for \*\* or pow\(\): 'Value' and 'NoneType'",
    ):
        Value(1) ** None
    with pytest.raises(
        TypeError, match=r"unsupported operand type\(s\) for /: 'NoneType' and 'Value'"
    ):
        None / Value(1)


BOOL_USES: list[tuple[str, Callable[[], object], str]] = [
    ("Value(True)", lambda: Value(True), "Value"),
    ("leaky slope", lambda: Value(-1.0).leaky_relu(True), "Value.leaky_relu"),
    ("prelu alpha", lambda: Value(-1.0).prelu(False), "Value.prelu"),
    ("Value.sum item", lambda: Value.sum([Value(1.0), True]), "Value.sum"),
    ("Value.logsumexp item", lambda: Value.logsumexp([False]), "Value.logsumexp"),
    ("backward seed", lambda: Value(1.0).backward(gradient=True), "backward gradient"),
]


@pytest.mark.parametrize(("what", "fn", "name"), BOOL_USES, ids=[b[0] for b in BOOL_USES])
def test_bools_are_not_numbers(what: str, fn: Callable[[], object], name: str) -> None:
    # As everywhere in microgradnn (_checks): True is not 1 here, it is a mistake to report.
    with pytest.raises(TypeError, match=rf"^{re.escape(name)}: expected a real number .*got bool"):
        fn()


BOOL_OPERATIONS: list[tuple[str, Callable[[Value], object]]] = [
    ("x + True", lambda x: x + True),
    ("True + x", lambda x: True + x),
    ("x * False", lambda x: x * False),
    ("False - x", lambda x: False - x),
    ("x / True", lambda x: x / True),
    ("x ** True", lambda x: x**True),
    ("True ** x", lambda x: True**x),
]


def test_operators_refuse_bools_as_constants() -> None:
    # Value(True) and x.leaky_relu(True) are TypeErrors; x + True must not quietly be x + 1.
    accepted = []
    for text, fn in BOOL_OPERATIONS:
        try:
            fn(Value(2.0))
        except TypeError:  # Python's "unsupported operand type(s)", as for Value(1) + "a"
            continue
        accepted.append(text)
    assert not accepted, f"bools taken for numbers: {accepted}"


NUMPY_SCALARS = [np.float64(2.0), np.float32(2.0), np.int64(2)]
OPERATORS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("+", lambda a, b: a + b),
    ("-", lambda a, b: a - b),
    ("*", lambda a, b: a * b),
    ("/", lambda a, b: a / b),
    ("**", lambda a, b: a**b),
]


@pytest.mark.parametrize("scalar", NUMPY_SCALARS, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize(("symbol", "op"), OPERATORS, ids=[o[0] for o in OPERATORS])
def test_numpy_scalars_on_either_side(scalar: Any, symbol: str, op: Callable[..., Any]) -> None:
    for left in (True, False):
        x = Value(3.0)
        out = op(scalar, x) if left else op(x, scalar)
        assert type(out) is Value, f"{type(scalar).__name__} {symbol} Value gave {type(out)}"
        expected = op(2.0, 3.0) if left else op(3.0, 2.0)
        assert type(out.data) is float
        assert out.data == expected
        constant = out._prev[0] if left else out._prev[1]
        assert type(constant) is float
        assert constant == 2.0
        assert out._prev[1 if left else 0] is x
        out.backward()
        h = 1e-6
        numerical = (
            op(2.0, 3.0 + h) - op(2.0, 3.0 - h) if left else op(3.0 + h, 2.0) - op(3.0 - h, 2.0)
        ) / (2 * h)
        assert_close(x.grad, numerical, rtol=1e-7)


# -- no_grad ---------------------------------------------------------------------------------------


def test_no_grad_results_are_leaves() -> None:
    x = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = (x * 3 + 1).tanh()
        z = Value.sum([x, y])
    assert is_grad_enabled()
    assert_close(y.data, math.tanh(7.0), rtol=1e-15)
    for v in (y, z):
        assert v.is_leaf
        assert (v._prev, v._op) == ((), None)
    y.backward()
    assert (x.grad, y.grad) == (0.0, 1.0)
    assert not (x * 3).is_leaf


def test_no_grad_nesting_restores_the_flag() -> None:
    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) * 2).is_leaf
    assert is_grad_enabled()


def test_no_grad_restores_the_flag_after_an_exception() -> None:
    with pytest.raises(RuntimeError, match="boom"), no_grad():
        raise RuntimeError("boom")
    assert is_grad_enabled()
    assert not (Value(1.0) * 2).is_leaf


# -- small API -------------------------------------------------------------------------------------


def test_repr_float_and_label() -> None:
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    b = Value(-1.5, label="b")
    assert repr(b) == "Value(data=-1.5, grad=0.0, label='b')"
    (b * 3).backward()
    assert repr(b) == "Value(data=-1.5, grad=3.0, label='b')"
    # every digit, as micrograd prints it, so a learner can compare with the lecture's numbers
    assert repr(Value(1 / 3)) == "Value(data=0.3333333333333333, grad=0.0)"
    assert repr(Value(6.8813735870195432).tanh()).startswith("Value(data=0.9999978916418634")
    assert float(b) == -1.5
    assert type(float(b)) is float
    assert math.isclose(math.exp(Value(1.0)), math.e)  # accepted wherever a float is
    assert Value(1.0).label == ""
    assert (b * 2).label == ""
    b.label = "renamed"
    assert b.label == "renamed"


def test_local_grads_and_is_leaf() -> None:
    x, y = Value(2.0), Value(-3.0)
    assert x.is_leaf
    assert x.local_grads() == ()
    assert (x * y).local_grads() == (-3.0, 2.0)
    assert (x / y).local_grads() == (1 / -3.0, -(2.0 / -3.0) / -3.0)
    assert (2 - x).local_grads() == (1.0, -1.0)
    t = x.tanh()
    assert_close(t.local_grads(), [1 - math.tanh(2.0) ** 2], rtol=1e-15)
    assert not t.is_leaf
    assert Value.sum([x, y, x]).local_grads() == (1.0, 1.0, 1.0)


METHOD_OPS = [op for op in OPS.values() if op.method is not None]


def test_help_shows_the_rows_doc() -> None:
    text = pydoc.plain(pydoc.render_doc(Value.tanh))
    assert "tanh(self" in text
    assert "d/da = 1 - tanh(a)² (= 1 - out²)" in text
    assert Value.tanh.__doc__ is not None
    assert OPS["tanh"].doc[1:] in Value.tanh.__doc__


@pytest.mark.parametrize("op", METHOD_OPS, ids=lambda op: op.name)
def test_every_method_is_named_and_documented_from_its_row(op: Op) -> None:
    method = getattr(Value, str(op.method))
    assert method.__name__ == op.method
    assert method.__qualname__ == f"Value.{op.method}"
    assert op.doc
    assert method.__doc__ is not None
    assert op.doc[1:] in method.__doc__


def test_method_docs_keep_the_rows_case() -> None:
    # Maths is case-sensitive: "e**a" is not "E**a", and "x_1 + ... + x_n" is not "X_1 + ...".
    changed = {
        op.name: getattr(Value, str(op.method)).__doc__
        for op in METHOD_OPS
        if op.doc not in (getattr(Value, str(op.method)).__doc__ or "")
    }
    assert not changed, f"methods whose doc is not their row's doc: {changed}"


def test_methods_of_ops_with_defaults() -> None:
    x = Value(-3.0)
    y = x.leaky_relu()
    assert y._op is OPS["leaky_relu"]
    assert y._prev == (x, 0.01)
    assert y._prev[0] is x
    assert type(y._prev[1]) is float
    assert y.data == -3.0 * 0.01
    assert y.local_grads() == (0.01, -3.0)
    y.backward()
    assert x.grad == 0.01
    z = x.leaky_relu(0.2)
    assert z._prev == (x, 0.2)
    assert z.data == -3.0 * 0.2
    assert x.leaky_relu(1)._prev == (x, 1.0)
    assert type(x.leaky_relu(1)._prev[1]) is float


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda x: x.leaky_relu(0.1, 0.2), r"Value\.leaky_relu\(\) takes 1 more input .*got 2"),
        (lambda x: x.prelu(), r"Value\.prelu\(\) takes 1 more input .*got 0"),
        (lambda x: x.prelu(0.1, 0.2), r"Value\.prelu\(\) takes 1 more input .*got 2"),
        (lambda x: x.tanh(1.0), r"takes 1 positional argument but 2 were given"),
    ],
    ids=["leaky_relu(0.1, 0.2)", "prelu()", "prelu(0.1, 0.2)", "tanh(1.0)"],
)
def test_methods_count_their_inputs(fn: Callable[[Value], object], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        fn(Value(1.0))


@pytest.mark.parametrize("method", [Value.sum, Value.logsumexp], ids=["sum", "logsumexp"])
@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (3, "int 3"),
        (2.5, "float 2.5"),
        (None, "NoneType None"),
        ("ab", "str 'ab'"),
        (Value(1.0), "Value Value(data=1"),
    ],
    ids=["int", "float", "None", "str", "Value"],
)
def test_variadic_methods_refuse_a_non_iterable(
    method: Callable[[object], Value], bad: object, shown: str
) -> None:
    name = method.__name__
    expected = rf"^Value\.{name}: expected a list of Values or numbers, got {re.escape(shown)}"
    with pytest.raises(TypeError, match=expected):
        method(bad)


def test_variadic_methods_take_any_iterable() -> None:
    xs = [Value(1.0), Value(2.0)]
    for made in (Value.sum(v for v in xs), Value.sum(tuple(xs)), Value.sum(iter(xs))):
        assert made._prev == (xs[0], xs[1])
        assert made.data == 3.0
    assert Value.logsumexp(v for v in xs)._prev == (xs[0], xs[1])


def test_value_is_final_and_slotted() -> None:
    assert not hasattr(Value(1.0), "__dict__")
    with pytest.raises(AttributeError):
        Value(1.0).typo = 1.0  # type: ignore[attr-defined]


# -- grad mode is per thread and per asyncio task ------------------------------------------------


def test_no_grad_in_one_thread_does_not_touch_another_threads_graph() -> None:
    import threading

    from microgradnn import is_grad_enabled, no_grad

    stop = threading.Event()
    inside = threading.Event()

    def evaluator() -> None:
        with no_grad():
            inside.set()
            while not stop.is_set():
                (Value(1.0) * 2).tanh()

    t = threading.Thread(target=evaluator)
    t.start()
    try:
        assert inside.wait(5)
        wrong = 0
        for _ in range(2000):
            x = Value(0.5)
            y = (x * 3).tanh()
            y.backward()
            wrong += x.grad != pytest.approx(3 * (1 - math.tanh(1.5) ** 2), rel=1e-12)
            assert is_grad_enabled()
        assert wrong == 0
    finally:
        stop.set()
        t.join()


def test_no_grad_is_per_asyncio_task() -> None:
    import asyncio

    from microgradnn import is_grad_enabled, no_grad

    seen: dict[str, list[bool]] = {"quiet": [], "training": []}

    async def quiet() -> None:
        with no_grad():
            for _ in range(5):
                seen["quiet"].append(is_grad_enabled() or bool((Value(1.0) * 2)._prev))
                await asyncio.sleep(0)

    async def training() -> None:
        for _ in range(5):
            seen["training"].append(bool((Value(1.0) * 2)._prev))
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(quiet(), training())

    asyncio.run(main())
    assert seen == {"quiet": [False] * 5, "training": [True] * 5}


def test_no_grad_nests_and_restores() -> None:
    from microgradnn import is_grad_enabled, no_grad

    with no_grad():
        with no_grad():
            assert not is_grad_enabled()
        assert not is_grad_enabled()
        assert (Value(1.0) + 1)._op is None
    assert is_grad_enabled()
    assert (Value(1.0) + 1)._op is OPS["add"]


# -- bad input gets a clear error ----------------------------------------------------------------


def test_label_must_be_a_string_and_micrograds_constructor_form_is_explained() -> None:
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match="label: expected a string, got int 5"):
        Value(1.0, label=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"micrograd's Value\(data, \(a, b\), '\+'\) form"):
        Value(3.0, (a, b))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="write a \\+ b, a \\* b"):
        Value(3.0, (a, b), "+")  # type: ignore[call-arg]


def test_numbers_too_large_for_a_float_say_so() -> None:
    with pytest.raises(ValueError, match="an integer of 401 digits does not fit a float"):
        Value(10**400)
    with pytest.raises(ValueError, match="does not fit a float"):
        Value(1.0) + 10**400
    with pytest.raises(ValueError, match="does not fit a float"):
        10**400 * Value(1.0)
    with pytest.raises(ValueError, match="data: an integer of 401 digits does not fit a float"):
        Value(1.0).data = 10**400


def test_bool_follows_torch_and_comparisons_read_the_number() -> None:
    torch = pytest.importorskip("torch")
    for x in (0.0, -0.0, 1.0, -2.5, math.inf, math.nan):
        assert bool(Value(x)) is bool(torch.tensor(x)), x
    assert Value(1.0) < 2
    assert Value(2.0) >= Value(2.0)
    assert not Value(math.nan) > 0
    with pytest.raises(TypeError, match="comparison: expected a real number"):
        _ = Value(1.0) < "2"  # type: ignore[operator]


def test_setting_data_checks_the_number() -> None:
    v = Value(1.0)
    v.data = 3
    assert v.data == 3.0
    assert type(v.data) is float
    with pytest.raises(TypeError, match="data: expected a real number"):
        v.data = "3"  # type: ignore[assignment]


# -- the speed work: same order, same numbers, the collector's state kept ----------------------


def _postorder(root: Value) -> list[Value]:
    """The textbook recursive depth-first postorder, inputs left to right: the reference order."""
    order: list[Value] = []
    seen: set[int] = set()

    def visit(v: Value) -> None:
        seen.add(id(v))
        for p in v._prev:
            if isinstance(p, Value) and id(p) not in seen:
                visit(p)
        order.append(v)

    visit(root)
    return order


@given(dags())
def test_topological_order_is_the_recursive_postorder(dag: Dag) -> None:
    # The search lists a node whose inputs are all listed without opening it: same order.
    root = dag.build()[-1]
    assert [id(v) for v in root.topological_order()] == [id(v) for v in _postorder(root)]


def test_topological_order_of_a_shared_layer_is_the_recursive_postorder() -> None:
    # Products of weights and shared activations: the nodes the shortcut lists without opening.
    x = [Value(0.5), Value(-1.5)]
    h = [Value.sum([Value(0.1 * (i + j)) * xj for j, xj in enumerate(x)]).relu() for i in range(4)]
    out = Value.sum([Value(0.3 * i) * hi for i, hi in enumerate(h)] + [h[0] * h[0], h[1]])
    assert [id(v) for v in out.topological_order()] == [id(v) for v in _postorder(out)]


@pytest.mark.parametrize("enabled", [True, False], ids=["collector_on", "collector_off"])
def test_backward_pauses_the_collector_and_restores_its_state(enabled: bool) -> None:
    seen: list[bool] = []

    def local(a: float, out: float) -> tuple[float]:
        seen.append(gc.isenabled())
        return (2.0,)

    op = Op("spy_double", forward=lambda a: 2.0 * a, local=local)
    ops_register(op)
    was = gc.isenabled()
    try:
        if enabled:
            gc.enable()
        else:
            gc.disable()
        x = Value(1.5)
        y = x.spy_double() * 3.0
        y.backward()
        assert gc.isenabled() is enabled
    finally:
        ops_unregister(op.name)
        if was:
            gc.enable()
        else:
            gc.disable()
    assert seen == [False]  # paused while the chain rule ran
    assert x.grad == 6.0  # d(3 * 2x)/dx


def test_backward_restores_the_collector_when_a_rule_raises() -> None:
    def local(a: float, out: float) -> tuple[float]:
        raise ArithmeticError("planted")

    op = Op("spy_raise", forward=lambda a: a, local=local)
    ops_register(op)
    was = gc.isenabled()
    gc.enable()
    try:
        with pytest.raises(ArithmeticError, match="planted"):
            Value(1.0).spy_raise().backward()
        assert gc.isenabled()
    finally:
        ops_unregister(op.name)
        if not was:
            gc.disable()


def test_backward_of_a_deep_chain_with_the_collector_on_frees_every_node() -> None:
    # The paused collector must not cost memory: the graph still goes by reference counting.
    was = gc.isenabled()
    gc.enable()
    try:
        x = Value(0.5)
        before = len(gc.get_objects())
        y = x
        for _ in range(5_000):
            y = y * 1.0001
        y.backward()
        assert x.grad == pytest.approx(1.0001**5_000, rel=1e-12)
        del y
        assert len(gc.get_objects()) - before < 50  # not the 10,000 of the chain's nodes
    finally:
        if not was:
            gc.disable()


@pytest.mark.parametrize(
    "make",
    [
        lambda vs: vs,
        lambda vs: tuple(vs),
        lambda vs: (v for v in vs),
        lambda vs: [*vs, 2, 0.5],
        lambda vs: [vs[0], np.float64(1.25), vs[1]],
    ],
    ids=["list", "tuple", "generator", "with_numbers", "with_numpy_scalar"],
)
def test_sum_takes_any_iterable_of_values_and_numbers(make: Callable[[list[Value]], Any]) -> None:
    vs = [Value(1.5), Value(-2.0), Value(4.0)]
    inputs = list(make(vs))
    total = Value.sum(make(vs))
    assert total.data == math.fsum(float(v.data if isinstance(v, Value) else v) for v in inputs)
    assert all(type(p) in (Value, float) for p in total._prev)
    (total * 3.0).backward()
    for v in vs:
        assert v.grad == (3.0 if any(u is v for u in inputs) else 0.0)
