"""``check_backward``: every edge's local derivative against a central difference of its op.

Oracles: planted wrong derivatives whose place is known (a tampered built-in row, a custom op
with a wrong ``local``), the grads that actually change when the bug is fixed (for the marked
"affected" nodes), PyTorch's per-op derivatives where installed, and 1,000 random correct
graphs from the op table, many of them at and next to the kinks, with no false alarm.
"""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from microgradnn import OPS, BackwardCheck, Value, check_backward, define_op, draw_dot, ops
from microgradnn.gradcheck import STEP, check_edge
from microgradnn.ops import BUILTINS, Op
from tests.oracle import torch_or_skip


@contextmanager
def tampered(name: str, local: Callable[..., Any]) -> Iterator[Op]:
    """The built-in row ``name`` with a wrong ``local`` for the block (a learner's bug)."""
    op = OPS[name]
    original = op.local
    object.__setattr__(op, "local", local)
    try:
        yield op
    finally:
        object.__setattr__(op, "local", original)


@pytest.fixture(autouse=True)
def _no_custom_ops_left() -> Iterator[None]:
    yield
    for name in [n for n in OPS if n not in BUILTINS]:
        ops.unregister(name)


def _neuron() -> tuple[Value, dict[str, Value]]:
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "w1": w1, "x2": x2, "w2": w2, "b": b, "n": n}


def _position(root: Value, v: Value) -> int:
    return next(i for i, u in enumerate(root.topological_order()) if u is v)


# -- the sentence -------------------------------------------------------------------------------


def test_the_issues_sentence_word_for_word() -> None:
    n = Value(0.5, label="n")
    out = n.tanh()
    with tampered("tanh", lambda a, out: (1.0 - a,)):
        check = check_backward(out)
    assert not check
    assert str(check) == (
        "first wrong edge: tanh -> n: yours 0.5, numeric 0.7864 at n = 0.5 (off by 0.2864); "
        "expected 1 - tanh(n)²"
    )
    first = check.first
    assert first is not None
    assert first.numeric == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-9)
    assert first.error == pytest.approx(1 - math.tanh(0.5) ** 2 - 0.5, rel=1e-9)


def test_a_correct_graph_says_so() -> None:
    o, _ = _neuron()
    check = check_backward(o)
    assert check
    assert check.first is None
    assert check.wrong == ()
    assert len(check.edges) == 9
    assert str(check) == "all 9 edges agree with central differences"
    assert {e.status for e in check.edges} == {"ok"}


def test_edges_come_in_backward_order() -> None:
    o, _ = _neuron()
    check = check_backward(o)
    order = o.topological_order()
    nodes = [e.node for e in check.edges]
    assert nodes == sorted(nodes, reverse=True)
    assert order[check.edges[0].node] is o
    assert check.edges[0].input_name == "n"


# -- planted bugs: each found on its own edge ---------------------------------------------------

Y = Value(0.8, label="y")
PLANTED: list[tuple[str, Callable[..., Any], Callable[[Value], Value], int, str]] = [
    # (op, wrong local, expression of x (and the fixed y = 0.8), the wrong input, rule expected)
    ("tanh", lambda a, out: (1.0 - a * a,), lambda x: x.tanh(), 0, "1 - tanh(x)²"),
    ("exp", lambda a, out: (a,), lambda x: x.exp(), 0, "exp(x)"),
    ("sigmoid", lambda a, out: (out,), lambda x: x.sigmoid(), 0, "σ(x)·(1 - σ(x))"),
    ("log", lambda a, out: (1.0 / out,), lambda x: (x * x + 1).log(), 0, "1/(x*x + 1)"),
    ("mul", lambda a, b, out: (a, b), lambda x: x * Y, 0, "y"),
    ("div", lambda a, b, out: (1.0 / b, out / b), lambda x: Y / x, 1, "-y/x²"),
    ("pow", lambda a, b, out: (a ** (b - 1), 0.0), lambda x: x**3, 0, "3·x^(3-1)"),
    ("sub", lambda a, b, out: (1.0, 1.0), lambda x: Y - x, 1, "-1"),
    ("relu", lambda a, out: (0.5 if a > 0 else 0.0,), lambda x: x.relu(), 0, "1 if x > 0 else 0"),
    ("softplus", lambda a, out: (out,), lambda x: x.softplus(), 0, "σ(x)"),
]


@pytest.mark.parametrize(
    ("name", "wrong", "expr", "k", "rule"), PLANTED, ids=[p[0] for p in PLANTED]
)
def test_a_tampered_row_is_found_on_its_edge(
    name: str, wrong: Callable[..., Any], expr: Callable[[Value], Value], k: int, rule: str
) -> None:
    x = Value(1.3, label="x")
    inner = expr(x)
    out = abs(inner + x + 0.25)  # correct ops before and after the planted one
    with tampered(name, wrong):
        check = check_backward(out)
    first = check.first
    assert first is not None, name
    order = out.topological_order()
    assert order[first.node] is inner
    assert first.input == k
    assert first.op is OPS[name]
    assert first.expected == rule
    assert f"expected {rule}" in str(check)
    assert {e.node for e in check.wrong} == {first.node}


def test_the_first_of_two_bugs_in_backward_order_is_blamed_and_both_are_listed() -> None:
    x = Value(0.7, label="x")
    e = x.exp()
    e.label = "e"
    t = (e * 0.5).tanh()
    t.label = "t"
    with tampered("exp", lambda a, out: (a,)), tampered("tanh", lambda a, out: (1 - a * a,)):
        check = check_backward(t)
    assert [w.name for w in check.wrong] == ["t", "e"]
    assert "(1 more wrong edge further back)" in str(check)
    assert str(check).startswith("first wrong edge: tanh -> e*0.5: ")


def test_a_custom_op_with_a_wrong_local_is_found_and_the_numeric_value_expected() -> None:
    define_op(
        "mysin", lambda a: math.sin(a), lambda a, out: (-math.cos(a),), derivative_text="cos(a)"
    )
    x = Value(0.5, label="x")
    s = x.mysin()
    s.label = "s"
    out = s * s + x
    check = check_backward(out)
    first = check.first
    assert first is not None
    assert (first.name, first.input_name) == ("s", "x")
    assert first.expected == ""
    assert str(check) == (
        "first wrong edge: mysin -> x: yours -0.8776, numeric 0.8776 at x = 0.5 (off by 1.755); "
        "expected about 0.8776 (your op: its central difference)"
    )


def test_the_affected_grads_are_the_ones_the_bug_changes() -> None:
    o, v = _neuron()
    order = o.topological_order()
    with tampered("mul", lambda a, b, out: (b, 2 * a)):  # d(a*b)/db = 2a: right only at a = 0
        check = check_backward(o)
        o.backward()
        wrong = [u.grad for u in order]
    for u in order:
        u.grad = 0.0  # leaves accumulate across backward() calls
    o.backward()
    right = [u.grad for u in order]
    first = check.first
    assert first is not None
    # x2*w2 comes first in backward order, but its d/dw2 = 2·x2 = 0 is right at x2 = 0
    assert order[first.node]._prev == (v["x1"], v["w1"])
    assert (first.input, first.yours) == (1, 4.0)
    assert first.numeric == pytest.approx(2.0)
    changed = {i for i, (a, b) in enumerate(zip(wrong, right, strict=True)) if a != b}
    assert changed == set(check.affected) == {_position(o, v["w1"])}


def test_the_affected_set_is_the_wrong_edges_input_and_all_it_came_from() -> None:
    a, b = Value(1.5, label="a"), Value(-0.5, label="b")
    h = a * b
    h.label = "h"
    k = h.tanh()
    k.label = "k"
    out = k + a
    with tampered("tanh", lambda a, out: (2.0,)):
        check = check_backward(out)
    names = {out.topological_order()[i].label for i in check.affected}
    assert names == {"h", "a", "b"}


# -- kinks and jumps: one-sided differences, honestly ------------------------------------------


@pytest.mark.parametrize("x", [0.0, -0.0, 1e-300, -1e-300, 1e-12, -1e-12, 1e-8, STEP, -STEP / 3])
def test_no_alarm_at_or_next_to_a_kink(x: float) -> None:
    v = Value(x, label="x")
    out = Value.sum(
        [v.relu(), abs(v), v.step(), v.sign(), v.leaky_relu(), v.prelu(Value(0.2)), v * 1.0]
    )
    check = check_backward(out)
    assert check, str(check)


@pytest.mark.parametrize("x", [0.5, -0.5, 0.5 + 1e-12, -0.5 - 1e-9])
def test_no_alarm_at_hard_sigmoids_corners(x: float) -> None:
    assert check_backward(Value(x).hard_sigmoid())


@pytest.mark.parametrize(
    ("name", "x", "status"),
    [("relu", 0.0, "kink"), ("abs", 0.0, "ok"), ("step", 0.0, "jump"), ("sign", 0.0, "jump")],
)
def test_a_corner_is_a_kink_and_a_jump_is_not_judged(name: str, x: float, status: str) -> None:
    """abs'(0) = 0 is the central difference itself (the two sides cancel): plainly ok."""
    op = OPS[name]
    (yours,) = op.local(x, op.forward(x))
    assert check_edge(op, (x,), 0, yours)[0] == status


@pytest.mark.parametrize("sub_gradient", [0.0, 0.25, 1.0])
def test_every_sub_gradient_of_relu_at_0_is_accepted(sub_gradient: float) -> None:
    op = OPS["relu"]
    status, _, sides, _ = check_edge(op, (0.0,), 0, sub_gradient)
    assert status == "kink"
    assert sides == (0.0, 1.0)


def test_a_derivative_outside_the_one_sided_slopes_at_a_corner_is_wrong() -> None:
    x = Value(0.0, label="x")
    with tampered("relu", lambda a, out: (2.0 if a >= 0 else 0.0,)):
        check = check_backward(x.relu())
    assert not check
    assert str(check) == (
        "first wrong edge: ReLU -> x: yours 2, but the op has a corner at x = 0 and only 0 to "
        "1 (its one-sided slopes) is a right derivative; expected 1 if x > 0 else 0"
    )


def test_a_small_derivative_next_to_zero_is_judged_by_its_own_scale() -> None:
    x = Value(1e-20, label="x")
    out = x * Value(3e-20)
    assert check_backward(out)
    with tampered("mul", lambda a, b, out: (2 * b, a)):
        check = check_backward(out)
    assert not check
    assert check.first is not None
    assert check.first.input_name == "x"


def test_saturated_and_overflowing_ops_raise_no_alarm() -> None:
    for x in (20.0, -40.0, 700.0, 1e6):
        v = Value(x)
        assert check_backward(Value.sum([v.tanh(), v.sigmoid(), v.softplus(), v.exp()])), x


# -- zero false alarms on 1,000 random correct graphs -------------------------------------------

SPECIAL = [0.0, -0.0, 0.5, -0.5, 1e-300, -1e-12, 1e-9, STEP, -STEP, 0.5 + 1e-11, 1.0, -1.0]


def _leaf(rng: random.Random) -> float:
    if rng.random() < 0.4:
        return float(rng.choice(SPECIAL))
    return float(
        rng.choice([rng.uniform(-3.0, 3.0), rng.uniform(-30.0, 30.0), rng.gauss(0.0, 1e-3)])
    )


def _apply(rng: random.Random, op: Op, values: list[Value]) -> Any:
    pick = rng.choice
    if op.variadic:
        return getattr(Value, str(op.method))([pick(values) for _ in range(rng.randint(1, 4))])
    if op.arity == 2:
        a, b = pick(values), pick(values)
        if op.name == "pow":
            return abs(a) ** pick([2, 3, 0.5, -1.0]) if rng.random() < 0.7 else (abs(a) + 0.5) ** b
        if rng.random() < 0.3:
            c = pick([2.0, -1.0, 0.5, 3])
            b = c  # type: ignore[assignment]
        if op.infix is not None:
            return {
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: a / b,
            }[op.infix]()
        return getattr(a, str(op.method))(b)
    a = pick(values)
    if op.prefix is not None:
        return -a
    if op.name == "log":
        a = abs(a) + pick([0.0, 1e-3, 1.0])
    return getattr(a, str(op.method))()


def _random_graph(rng: random.Random) -> Value:
    values = [Value(_leaf(rng)) for _ in range(rng.randint(1, 3))]
    builtins = [op for op in OPS.values() if op.name in BUILTINS]  # in table order
    for _ in range(rng.randint(1, 6)):
        if rng.random() < 0.15:  # an exact zero inside the graph: a kink reached by a node
            v = rng.choice(values)
            values.append(v - v)
        values.append(_apply(rng, rng.choice(builtins), values))
    return Value.sum(values) if len(values) > 1 else values[0]


def test_no_false_alarm_on_a_thousand_random_correct_graphs() -> None:
    rng = random.Random(1234)
    statuses: dict[str, int] = {}
    for case in range(1000):
        root = _random_graph(rng)
        check = check_backward(root)
        assert check, f"case {case}: {check}"
        for e in check.edges:
            statuses[e.status] = statuses.get(e.status, 0) + 1
    assert statuses["ok"] > 5000
    assert statuses["kink"] > 50  # the kinks were really visited
    assert statuses["jump"] > 10
    assert "wrong" not in statuses


# -- PyTorch as the oracle of the numeric derivative --------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "exp", "log", "softplus", "mul", "div"])
def test_the_numeric_derivative_matches_torch(name: str) -> None:
    torch = torch_or_skip()
    op = OPS[name]
    rng = random.Random(0)
    for _ in range(20):
        xs = tuple(rng.uniform(0.2, 3.0) for _ in range(op.arity))
        ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
        op.torch(torch, *ts).backward()  # type: ignore[misc]
        for k, t in enumerate(ts):
            out = op.forward(*xs)
            status, numeric, _, _ = check_edge(op, xs, k, op.local(*xs, out)[k])
            assert status == "ok"
            assert numeric == pytest.approx(t.grad.item(), rel=1e-7, abs=1e-9)


# -- the picture ---------------------------------------------------------------------------------


def _blamed() -> tuple[BackwardCheck, Value]:
    o, _ = _neuron()
    o.backward()
    with tampered("tanh", lambda a, out: (1.0 - a * a,)):
        check = check_backward(o)
    return check, o


def test_the_picture_draws_the_wrong_edge_red_and_marks_what_it_feeds() -> None:
    check, o = _blamed()
    source = check.picture(legend=True).source
    first = check.first
    assert first is not None
    edge = next(line for line in source.splitlines() if f"id=e{first.node}_{first.input}" in line)
    assert 'color="#e03131"' in edge
    assert "penwidth=3.5" in edge
    assert "yours 0.2232 ≠ numeric 0.5" in edge
    assert source.count('BGCOLOR="#ffe3e3"') == len(check.affected) == 9
    assert "check_backward: first wrong edge: tanh -&gt; n" in source or (
        "check_backward: first wrong edge: tanh -> n" in source
    )
    assert "thick red edge: the first wrong local derivative" in source
    assert "pink bold grad: fed by the wrong edge" in source
    assert draw_dot(o, "backward", blame=check).source == source


def test_a_check_that_passed_says_so_in_the_legend() -> None:
    o, _ = _neuron()
    source = check_backward(o).picture().source
    assert "check_backward: all 9 edges agree" in source
    assert "#ffe3e3" not in source


def test_blame_must_be_a_check_of_this_graph() -> None:
    check, _ = _blamed()
    other, _ = _neuron()
    with pytest.raises(ValueError, match=r"blame: this check is of another graph"):
        draw_dot(other, blame=check)
    with pytest.raises(TypeError, match=r"blame: expected what check_backward"):
        draw_dot(other, blame="tanh")  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_the_picture_renders(tmp_path: Path) -> None:
    from microgradnn.viz import render

    check, _ = _blamed()
    path = render(check.picture(rankdir="TB"), tmp_path / "blame.png")
    assert Path(path).stat().st_size > 10_000


def test_check_backward_refuses_what_is_not_a_value() -> None:
    with pytest.raises(TypeError, match=r"root: expected a Value, got float 1.0"):
        check_backward(1.0)  # type: ignore[arg-type]
