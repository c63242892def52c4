"""Every op of the op table, table-driven: against PyTorch float64, central differences, numpy.

The table :data:`CASES` has one or more rows per op of :data:`microgradnn.OPS` (plain-number
constants on either side count as their own rows: ``2 - x`` is not ``x - 2``). Each row is
checked on hand-picked points, on random points (hypothesis), at extreme inputs (IEEE
semantics: inf, nan, overflow) and, away from kinks, against central differences without torch.
A test fails if an op has no row, so a new op cannot ship untested.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnn import OPS, Value
from tests.oracle import (
    assert_close,
    close,
    torch_apply,
    torch_or_skip,
    torch_value_and_grads,
    value_and_grads,
)
from tests.strategies import SMOOTH_INPUTS, TORCH_INPUTS, finite, magnitude

INF = math.inf
NAN = math.nan
RTOL = 1e-12
# Subnormal results (e.g. exp(-740)) carry few significant bits; two libms may differ there.
ATOL = 1e-300

Point = tuple[float, ...]


@dataclass(frozen=True)
class Extreme:
    """An extreme input. ``value``/``grads`` are set only where we deliberately differ from torch.

    The reason is in ``why``; :func:`test_deviations_from_torch_are_real` keeps the list honest.
    """

    point: Point
    value: float | None = None
    grads: tuple[float, ...] | None = None
    why: str = ""


@dataclass(frozen=True)
class Case:
    """One row of the op table's tests: an expression that makes exactly one ``op`` node."""

    op: str
    form: str
    fn: Callable[..., Value]
    torch_fn: Callable[..., Any]
    points: tuple[Point, ...]
    extremes: tuple[Extreme, ...]
    random: st.SearchStrategy[Point]
    smooth: st.SearchStrategy[Point]
    grad_atol: float = 0.0

    def __repr__(self) -> str:
        return self.form


def _ext(*points: Point | Extreme) -> tuple[Extreme, ...]:
    return tuple(p if isinstance(p, Extreme) else Extreme(p) for p in points)


def _unary(lo: float, hi: float) -> st.SearchStrategy[Point]:
    return st.tuples(finite(lo, hi))


def arith(
    op: str,
    form: str,
    fn: Callable[..., Any],
    points: Sequence[Point],
    extremes: Sequence[Point | Extreme],
    random: st.SearchStrategy[Point],
    smooth: st.SearchStrategy[Point],
) -> Case:
    """A row whose expression uses only operators, so the same lambda runs in torch."""
    return Case(op, form, fn, fn, tuple(points), _ext(*extremes), random, smooth)


def method(
    op: str,
    form: str,
    fn: Callable[..., Value],
    points: Sequence[Point],
    extremes: Sequence[Point | Extreme],
    arg: Any = None,
    grad_atol: float = 0.0,
) -> Case:
    """A row for a method call; torch computes it with the op's twin in the oracle."""
    return Case(
        op,
        form,
        fn,
        lambda *ts: torch_apply(op, ts, arg),
        tuple(points),
        _ext(*extremes),
        TORCH_INPUTS[op],
        SMOOTH_INPUTS[op],
        grad_atol,
    )


SATURATING = [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (0.0,), (-0.0,)]

CASES: list[Case] = [
    arith(
        "add",
        "x + y",
        lambda x, y: x + y,
        [(1.5, -2.0), (0.0, 0.0), (3.0, 4.0)],
        [(1000.0, -1000.0), (INF, 1.0), (INF, -INF), (NAN, 1.0), (-0.0, 0.0), (1e308, 1e308)],
        TORCH_INPUTS["add"],
        SMOOTH_INPUTS["add"],
    ),
    arith(
        "add",
        "x + 2",
        lambda x: x + 2,
        [(1.5,), (-2.0,)],
        [(1000.0,), (-INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "add",
        "2 + x",
        lambda x: 2 + x,
        [(1.5,), (-2.0,)],
        [(-1000.0,), (INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "sub",
        "x - y",
        lambda x, y: x - y,
        [(1.5, -2.0), (2.0, 2.0)],
        [(1000.0, 1000.0), (INF, INF), (NAN, 0.0), (1e308, -1e308)],
        TORCH_INPUTS["sub"],
        SMOOTH_INPUTS["sub"],
    ),
    arith(
        "sub",
        "x - 2",
        lambda x: x - 2,
        [(1.5,), (-2.0,)],
        [(1000.0,), (-INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "sub",
        "2 - x",
        lambda x: 2 - x,
        [(1.5,), (-2.0,)],
        [(-1000.0,), (INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "mul",
        "x * y",
        lambda x, y: x * y,
        [(1.5, -2.0), (0.0, 3.0), (0.1, 0.2)],
        [(INF, 0.0), (1e200, 1e200), (-1000.0, 1000.0), (NAN, 2.0), (-INF, -INF)],
        TORCH_INPUTS["mul"],
        SMOOTH_INPUTS["mul"],
    ),
    arith(
        "mul",
        "x * 2",
        lambda x: x * 2,
        [(1.5,), (-0.1,)],
        [(1000.0,), (INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "mul",
        "2 * x",
        lambda x: 2 * x,
        [(1.5,), (-0.1,)],
        [(-1000.0,), (-INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "div",
        "x / y",
        lambda x, y: x / y,
        [(1.0, 3.0), (-2.5, 0.5), (0.0, 2.0)],
        [
            (1.0, 0.0),
            (-1.0, 0.0),
            (1.0, -0.0),
            (0.0, 0.0),
            (INF, INF),
            (1000.0, 1e-320),
            (NAN, 1.0),
            (1.0, 1000.0),
        ],
        TORCH_INPUTS["div"],
        SMOOTH_INPUTS["div"],
    ),
    arith(
        "div",
        "x / 2",
        lambda x: x / 2,
        [(1.0,), (-3.0,)],
        [(1000.0,), (INF,), (NAN,)],
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    arith(
        "div",
        "2 / x",
        lambda x: 2 / x,
        [(1.0,), (-3.0,), (0.5,)],
        [(0.0,), (-0.0,), (1000.0,), (-1000.0,), (INF,), (NAN,)],
        st.tuples(magnitude(1e-3, 1e6)),
        st.tuples(magnitude(0.5, 10.0)),
    ),
    arith(
        "neg",
        "-x",
        lambda x: -x,
        [(1.5,), (-2.0,), (0.0,)],
        [(1000.0,), (INF,), (-INF,), (NAN,)],
        TORCH_INPUTS["neg"],
        SMOOTH_INPUTS["neg"],
    ),
    arith(
        "pow",
        "x ** y",
        lambda x, y: x**y,
        [(2.0, 3.0), (0.5, -1.5), (4.0, 0.5), (-2.0, 3.0), (3.0, 0.0)],
        [
            (0.0, 0.0),
            (0.0, -1.0),
            (0.0, 2.0),
            (0.0, 0.5),
            (-1.0, 0.5),
            (1000.0, 1000.0),
            (2.0, 1000.0),
            (2.0, -1000.0),
            (NAN, 0.0),
            (1.0, NAN),
            (INF, 2.0),
        ],
        TORCH_INPUTS["pow"],
        SMOOTH_INPUTS["pow"],
    ),
    arith(
        "pow",
        "x ** 2",
        lambda x: x**2,
        [(3.0,), (-1.5,), (0.0,)],
        [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (1e200,)],
        _unary(-1e3, 1e3),
        _unary(-10.0, 10.0),
    ),
    arith(
        "pow",
        "x ** 3",
        lambda x: x**3,
        [(3.0,), (-1.5,), (0.0,)],
        [(1000.0,), (-1000.0,), (-INF,), (NAN,)],
        _unary(-1e3, 1e3),
        _unary(-5.0, 5.0),
    ),
    arith(
        "pow",
        "x ** 0.5",
        lambda x: x**0.5,
        [(4.0,), (2.0,), (0.01,)],
        [(0.0,), (-1.0,), (1000.0,), (INF,), (NAN,)],
        _unary(1e-6, 1e6),
        _unary(0.1, 10.0),
    ),
    arith(
        "pow",
        "x ** -1",
        lambda x: x**-1,
        [(4.0,), (-0.5,)],
        [(0.0,), (-0.0,), (1000.0,), (INF,), (NAN,)],
        st.tuples(magnitude(1e-3, 1e3)),
        st.tuples(magnitude(0.5, 10.0)),
    ),
    arith(
        "pow",
        "2 ** x",
        lambda x: 2**x,
        [(3.0,), (-1.5,), (0.0,)],
        [(1000.0,), (-1000.0,), (1025.0,), (INF,), (-INF,), (NAN,)],
        _unary(-50.0, 50.0),
        _unary(-5.0, 5.0),
    ),
    Case(
        "sum",
        "Value.sum(xs)",
        lambda *xs: Value.sum(xs),
        lambda *ts: torch_apply("sum", ts),
        ((1.0, 2.0, 3.0), (0.5,), (0.1, 0.2, 0.3, -0.6)),
        _ext((INF, -INF, 1.0), (1e308, 1e308, 0.0), (NAN, 1.0, 2.0), (1000.0, -1000.0, 0.0)),
        TORCH_INPUTS["sum"],
        SMOOTH_INPUTS["sum"],
    ),
    Case(
        "sum",
        "Value.sum([x, 2, x])",
        lambda x: Value.sum([x, 2, x]),
        lambda t: torch_apply("sum", [t, 2.0, t]),
        ((1.5,), (-4.0,)),
        _ext((1000.0,), (INF,), (NAN,)),
        _unary(-1e6, 1e6),
        _unary(-10.0, 10.0),
    ),
    Case(
        "logsumexp",
        "Value.logsumexp(xs)",
        lambda *xs: Value.logsumexp(xs),
        lambda *ts: torch_apply("logsumexp", ts),
        ((1.0, 2.0, 3.0), (0.5,), (0.1, 0.2, 0.3, -0.6), (-2.0, -2.0), (0.0, -30.0, 30.0)),
        _ext(
            (1000.0, 1000.0),
            (-1000.0, -1000.0),
            (1000.0, -1000.0, 0.0),
            (1e308, 1e308),
            (-1e308, 1e308),
            (800.0, -800.0),
            (INF, 1.0),
            (1.0, INF),
            (INF, INF),
            (INF, -INF),
            (-INF, -INF),
            (-INF, 0.0),
            (0.0, -INF, -INF),
            (INF,),
            (-INF,),
            (NAN,),
            (NAN, 1.0),
            (1.0, NAN),
            (NAN, INF),
            (INF, NAN),
            (-INF, NAN),
        ),
        TORCH_INPUTS["logsumexp"],
        SMOOTH_INPUTS["logsumexp"],
    ),
    Case(
        "logsumexp",
        "Value.logsumexp([x, 2, x])",
        lambda x: Value.logsumexp([x, 2, x]),
        lambda t: torch_apply("logsumexp", [t, 2.0, t]),
        ((1.5,), (-4.0,), (2.0,)),
        _ext((1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,)),
        _unary(-1e3, 1e3),
        _unary(-10.0, 10.0),
    ),
    method(
        "exp",
        "x.exp()",
        Value.exp,
        [(0.0,), (1.0,), (-1.0,), (2.5,)],
        [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (709.0,), (710.0,)],
    ),
    method(
        "log",
        "x.log()",
        Value.log,
        [(1.0,), (2.5,), (0.1,)],
        [(0.0,), (-0.0,), (-1.0,), (1000.0,), (INF,), (-INF,), (NAN,), (1e-320,)],
    ),
    method(
        "tanh",
        "x.tanh()",
        Value.tanh,
        [(0.0,), (0.5,), (-2.0,)],
        [*SATURATING, (20.0,), (-20.0,)],
        grad_atol=1e-15,  # 1 - tanh**2 cancels: an ulp of tanh(x) ~ 1 is 1e-16 of the gradient
    ),
    method(
        "sigmoid",
        "x.sigmoid()",
        Value.sigmoid,
        [(0.0,), (2.0,), (-3.0,)],
        [*SATURATING, (-40.0,), (40.0,)],
        grad_atol=1e-15,  # out * (1 - out) cancels the same way near out ~ 1
    ),
    method(
        "softplus",
        "x.softplus()",
        Value.softplus,
        [(0.0,), (1.0,), (-2.0,), (21.0,), (25.0,)],
        [*SATURATING, (40.0,), (41.0,), (-40.0,)],
    ),
    method(
        "relu",
        "x.relu()",
        Value.relu,
        [(1.5,), (-2.0,), (0.0,), (-0.0,)],
        [
            *SATURATING[:4],
            Extreme((NAN,), NAN, (0.0,), "relu' = 1 only for x > 0; torch passes grad at nan"),
        ],
    ),
    method(
        "leaky_relu",
        "x.leaky_relu()",
        Value.leaky_relu,
        [(1.5,), (-2.0,), (0.0,)],
        SATURATING,
        arg=0.01,
    ),
    method(
        "leaky_relu",
        "x.leaky_relu(0.2)",
        lambda x: x.leaky_relu(0.2),
        [(1.5,), (-2.0,), (0.0,)],
        SATURATING,
        arg=0.2,
    ),
    method(
        "prelu",
        "x.prelu(a)",
        lambda x, a: x.prelu(a),
        [(1.5, 0.25), (-2.0, 0.25), (0.0, 0.25), (-2.0, -0.5)],
        [
            (-1000.0, 0.25),
            (1000.0, 0.25),
            (INF, 0.25),
            (-INF, 0.25),
            (NAN, 0.25),
            (-INF, 0.0),
            (-2.0, NAN),
        ],
    ),
    Case(
        "prelu",
        "x.prelu(0.25)",
        lambda x: x.prelu(0.25),
        lambda t: torch_apply("prelu", [t, 0.25]),
        ((1.5,), (-2.0,), (0.0,)),
        _ext(*SATURATING),
        _unary(-1e3, 1e3),
        st.tuples(magnitude(1e-3, 10.0)),
    ),
    method(
        "abs",
        "abs(x)",
        abs,
        [(1.5,), (-2.0,), (0.0,), (-0.0,)],
        [
            *SATURATING[:4],
            Extreme((NAN,), NAN, (NAN,), "abs' = sign(x), nan at nan (numpy.sign); torch: 0"),
        ],
    ),
    method(
        "step",
        "x.step()",
        Value.step,
        [(1.5,), (-2.0,), (0.0,), (-0.0,)],
        [
            *SATURATING[:4],
            Extreme((NAN,), NAN, (0.0,), "step(nan) = nan as numpy.heaviside; torch: 0"),
        ],
    ),
    method(
        "sign",
        "x.sign()",
        Value.sign,
        [(1.5,), (-2.0,), (0.0,)],
        [
            *SATURATING[:4],
            Extreme((NAN,), NAN, (0.0,), "sign(nan) = nan as numpy.sign; torch: 0"),
        ],
    ),
    method(
        "hard_sigmoid",
        "x.hard_sigmoid()",
        Value.hard_sigmoid,
        [(0.0,), (0.25,), (-0.5,), (0.5,), (0.7,), (-0.7,), (-0.4999,), (0.4999,)],
        [
            *SATURATING[:4],
            Extreme((NAN,), NAN, (0.0,), "d/dx = 1 only strictly inside; torch passes at nan"),
        ],
    ),
]

IDS = [case.form for case in CASES]


def test_every_op_has_a_row() -> None:
    covered = {case.op for case in CASES}
    assert covered == set(OPS), f"ops without a test row: {sorted(set(OPS) - covered)}"


def test_every_row_has_extremes_and_unique_name() -> None:
    assert all(case.extremes and case.points for case in CASES)
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_row_builds_one_node_of_its_op(case: Case) -> None:
    point = case.points[0]
    leaves = [Value(x) for x in point]
    out = case.fn(*leaves)
    assert type(out) is Value
    assert out._op is OPS[case.op]
    assert all(type(p) is Value or type(p) is float for p in out._prev)
    assert {id(p) for p in out._prev if type(p) is Value} == {id(v) for v in leaves}
    if OPS[case.op].arity != -1:
        assert len(out._prev) == OPS[case.op].arity


def check_against_torch(case: Case, point: Point, rtol: float = RTOL) -> None:
    value, grads = value_and_grads(case.fn, point)
    t_value, t_grads = torch_value_and_grads(case.torch_fn, point)
    assert type(value) is float
    assert all(type(g) is float for g in grads)
    assert_close(value, t_value, rtol, ATOL, f"{case.form} at {point}: value")
    assert_close(grads, t_grads, rtol, max(ATOL, case.grad_atol), f"{case.form} at {point}: grad")


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_hand_picked_points_match_torch(case: Case) -> None:
    for point in case.points:
        check_against_torch(case, point)


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_random_points_match_torch(case: Case, data: st.DataObject) -> None:
    torch_or_skip()
    check_against_torch(case, data.draw(case.random, label="point"))


@pytest.mark.torch
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_extremes_match_torch(case: Case) -> None:
    for ext in case.extremes:
        if ext.value is None:
            check_against_torch(case, ext.point)


DEVIATIONS = [(c, e) for c in CASES for e in c.extremes if e.value is not None]
DEVIATION_IDS = [f"{c.form} at {e.point}" for c, e in DEVIATIONS]


@pytest.mark.parametrize(("case", "ext"), DEVIATIONS, ids=DEVIATION_IDS)
def test_deliberate_deviations_hold(case: Case, ext: Extreme) -> None:
    assert ext.value is not None
    assert ext.grads is not None
    value, grads = value_and_grads(case.fn, ext.point)
    assert close(value, ext.value), f"{case.form} at {ext.point}: {value} ({ext.why})"
    assert_close(grads, ext.grads, what=f"{case.form} at {ext.point} ({ext.why})")


@pytest.mark.torch
@pytest.mark.parametrize(("case", "ext"), DEVIATIONS, ids=DEVIATION_IDS)
def test_deviations_from_torch_are_real(case: Case, ext: Extreme) -> None:
    assert ext.value is not None
    assert ext.grads is not None
    t_value, t_grads = torch_value_and_grads(case.torch_fn, ext.point)
    same_value = close(t_value, ext.value)
    same_grads = all(close(a, b) for a, b in zip(t_grads, ext.grads, strict=True))
    assert not (same_value and same_grads), f"torch now agrees: drop the deviation {ext.why!r}"


def central_differences(fn: Callable[..., Value], point: Point) -> list[float]:
    """(f(x + h) - f(x - h)) / 2h per input, with the engine's forward pass only."""
    grads = []
    for k, x in enumerate(point):
        h = 1e-6 * max(1.0, abs(x))
        hi = [Value(v + h) if i == k else Value(v) for i, v in enumerate(point)]
        lo = [Value(v - h) if i == k else Value(v) for i, v in enumerate(point)]
        grads.append((fn(*hi).data - fn(*lo).data) / (2 * h))
    return grads


@pytest.mark.parametrize("case", CASES, ids=IDS)
@given(data=st.data())
def test_gradient_matches_central_differences(case: Case, data: st.DataObject) -> None:
    point = data.draw(case.smooth, label="point")
    value, grads = value_and_grads(case.fn, point)
    numerical = central_differences(case.fn, point)
    scale = max(1.0, abs(value), *(abs(g) for g in grads))
    assert_close(grads, numerical, rtol=1e-6, atol=1e-6 * scale, what=f"{case.form} at {point}")


# -- np_forward / np_local must agree with forward / local (the compiled replay relies on it) ---

SPECIAL = [-INF, -1000.0, -2.5, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.25, 0.5, 1.0, 3.0]
SPECIAL += [21.0, 40.0, 709.0, 1000.0, INF, NAN]
PAIR = [-INF, -1000.0, -2.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 1000.0, INF, NAN]


def _grid(op: str) -> tuple[list[Point], Any]:
    """Points for ``op`` and the op parameter to use."""
    if OPS[op].arity == -1:  # sum, logsumexp
        return [(a, b, c) for a in PAIR for b in PAIR[::3] for c in (1.0, -INF, NAN)], None
    if OPS[op].arity == 2:
        return [(a, b) for a in PAIR for b in PAIR], None
    return [(x,) for x in SPECIAL], (0.2 if op == "leaky_relu" else None)


@pytest.mark.parametrize("name", list(OPS))
def test_numpy_twins_agree_with_float_functions(name: str) -> None:
    op = OPS[name]
    points, arg = _grid(name)
    columns = tuple(np.array(c, dtype=np.float64) for c in zip(*points, strict=True))
    with np.errstate(all="ignore"):
        np_out = np.broadcast_to(op.np_forward(columns, arg), (len(points),))
        np_locals = [np.broadcast_to(d, (len(points),)) for d in op.np_local(columns, np_out, arg)]
    assert np_out.dtype == np.float64
    for k, point in enumerate(points):
        out = op.forward(point, arg)
        locals_ = op.local(point, out, arg)
        assert close(float(np_out[k]), out, RTOL), f"{name} forward at {point}"
        assert len(np_locals) == len(locals_)
        for i, (d_np, d) in enumerate(zip(np_locals, locals_, strict=True)):
            assert close(float(d_np[k]), d, RTOL), f"{name} local {i} at {point}: {d_np[k]} {d}"


# -- a few closed forms, without torch ----------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "x", "value", "grad"),
    [
        (lambda x: x.tanh(), 0.5, math.tanh(0.5), 1 / math.cosh(0.5) ** 2),
        (
            lambda x: x.sigmoid(),
            2.0,
            1 / (1 + math.exp(-2)),
            math.exp(-2) / (1 + math.exp(-2)) ** 2,
        ),
        (lambda x: x.softplus(), 1.0, math.log(1 + math.e), 1 / (1 + math.exp(-1))),
        (lambda x: x.exp(), 1.5, math.exp(1.5), math.exp(1.5)),
        (lambda x: x.log(), 2.0, math.log(2.0), 0.5),
        (lambda x: 2**x, 3.0, 8.0, 8 * math.log(2)),
        (lambda x: x**2, -3.0, 9.0, -6.0),
        (lambda x: 2 / x, 4.0, 0.5, -2 / 16),
        (lambda x: 2 - x, 5.0, -3.0, -1.0),
        (lambda x: x.hard_sigmoid(), 0.1, 0.6, 1.0),
        (lambda x: x.leaky_relu(), -3.0, -0.03, 0.01),
        (lambda x: x.relu(), 0.0, 0.0, 0.0),
        (lambda x: abs(x), 0.0, 0.0, 0.0),
        (lambda x: x.step(), 0.0, 0.5, 0.0),
        (lambda x: x.sign(), -2.0, -1.0, 0.0),
        (
            lambda x: Value.logsumexp([x, 0.0]),
            1.0,
            math.log(1 + math.e),
            1 / (1 + math.exp(-1)),
        ),
    ],
)
def test_closed_forms(fn: Callable[[Value], Value], x: float, value: float, grad: float) -> None:
    got, (g,) = value_and_grads(fn, (x,))
    assert_close(got, value, rtol=1e-15, atol=1e-15)
    assert_close(g, grad, rtol=1e-14, atol=1e-15)


@pytest.mark.torch
def test_softplus_matches_torch_default_threshold_within_its_approximation() -> None:
    torch = torch_or_skip()
    for x in (-30.0, 0.0, 19.0, 21.0, 30.0, 1000.0):
        ours = Value(x).softplus().data
        theirs = float(torch.nn.functional.softplus(torch.tensor(x, dtype=torch.float64)))
        assert abs(ours - theirs) <= math.exp(-20) * 1.01
