"""Every op of the op table, one record each: against PyTorch float64, math, central differences.

:mod:`tests.op_db` holds one record per op of :data:`microgradnn.OPS` and, in it, the forms that
build one node of the op (plain-number constants on either side count as their own forms:
``2 - x`` is not ``x - 2``). Each form is checked on hand-picked points, on random points
(hypothesis), at extreme inputs (IEEE semantics: inf, nan, overflow) against torch, against the
op's float reference and, away from kinks, against central differences without torch. A test
fails if an op has no record, so a new op cannot ship untested.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnn import OPS, Value
from microgradnn.engine import _node_n
from microgradnn.ops import Op
from tests.op_db import OP_DB, RECORDS, Extreme, Form, Leaf, OpInfo
from tests.oracle import (
    assert_close,
    close,
    torch_or_skip,
    torch_value_and_grads,
    value_and_grads,
)

INF = math.inf
NAN = math.nan
RTOL = 1e-12
# Subnormal results (e.g. exp(-740)) carry few significant bits; two libms may differ there.
ATOL = 1e-300

Point = tuple[float, ...]

CASES: list[tuple[OpInfo, Form]] = [(info, f) for info in RECORDS for f in info.forms]
IDS = [f.text for _, f in CASES]


def test_every_op_has_exactly_one_record() -> None:
    names = [info.name for info in RECORDS]
    assert len(names) == len(set(names)), f"ops with two records: {sorted(names)}"
    assert set(names) == set(OPS), (
        f"ops without a record: {sorted(set(OPS) - set(names))}; "
        f"records without an op: {sorted(set(names) - set(OPS))}"
    )
    assert list(OP_DB) == names
    assert all(OP_DB[name].name == name for name in OPS)


def test_every_form_has_points_extremes_domains_and_a_unique_text() -> None:
    for info, f in CASES:
        assert f.points, f"{info.name}: {f.text} has no hand-picked points"
        assert f.extremes, f"{info.name}: {f.text} has no extremes"
        assert f.random is not None
        assert f.smooth is not None
    assert len(set(IDS)) == len(IDS)


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_form_builds_one_node_of_its_op(info: OpInfo, form: Form) -> None:
    for point in form.points:
        leaves = [Value(x) for x in point]
        out = form.fn(*leaves)
        assert type(out) is Value
        assert out._op is OPS[info.name]
        expected = form.wire(leaves)
        assert type(out._prev) is tuple
        assert len(out._prev) == len(expected), f"{form.text}: _prev {out._prev}"
        for got, want in zip(out._prev, expected, strict=True):
            if type(want) is Value:
                assert got is want
            else:
                assert type(got) is float, f"{form.text}: constant {got!r} is not a float"
                assert got == want
        if OPS[info.name].arity != -1:
            assert len(out._prev) == OPS[info.name].arity


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_inputs_name_every_argument(info: OpInfo, form: Form) -> None:
    if form.inputs is not None:
        used = {i.index for i in form.inputs if isinstance(i, Leaf)}
        assert all(len(p) == len(used) == max(used) + 1 for p in form.points)


def _twin(torch: ModuleType, info: OpInfo, form: Form) -> Callable[..., Any]:
    """The form in torch: the record's twin on the form's inputs."""
    return lambda *ts: info.torch(torch, form.wire(ts))


def check_against_torch(info: OpInfo, form: Form, point: Point, rtol: float = RTOL) -> None:
    torch = torch_or_skip()
    value, grads = value_and_grads(form.fn, point)
    t_value, t_grads = torch_value_and_grads(_twin(torch, info, form), point)
    assert type(value) is float
    assert all(type(g) is float for g in grads)
    assert_close(value, t_value, rtol, ATOL, f"{form.text} at {point}: value")
    assert_close(grads, t_grads, rtol, max(ATOL, form.grad_atol), f"{form.text} at {point}: grad")


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_hand_picked_points_match_torch(info: OpInfo, form: Form) -> None:
    for point in form.points:
        check_against_torch(info, form, point)


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
@given(data=st.data())
def test_random_points_match_torch(info: OpInfo, form: Form, data: st.DataObject) -> None:
    torch_or_skip()
    assert form.random is not None
    check_against_torch(info, form, data.draw(form.random, label="point"))


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_extremes_match_torch(info: OpInfo, form: Form) -> None:
    for ext in form.extremes:
        if ext.value is None:
            check_against_torch(info, form, ext.point)


# Upstream gradients that are not finite, or exactly 0, meet the local derivatives: the select
# ops (relu, step, ...) pass exactly 0 where they select an input off, and log and division
# divide instead of multiplying by an overflowed 1/x, as PyTorch does. One deliberate difference:
# torch's softplus backward overflows (grad * e**x before the division) where ours is finite.
SEEDS = (math.inf, -math.inf, math.nan, 0.0, -0.0, 1e300)
TORCH_OVERFLOWS = {("x.softplus()", point) for point in ((21.0,), (25.0,), (40.0,))}


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_non_finite_and_zero_upstream_gradients_match_torch(info: OpInfo, form: Form) -> None:
    torch = torch_or_skip()
    points = [*form.points, *(e.point for e in form.extremes if e.value is None)]
    for point in points:
        for seed in SEEDS:
            if seed == 1e300 and (form.text, point) in TORCH_OVERFLOWS:
                _, ours = value_and_grads(form.fn, point, seed)
                assert all(math.isfinite(g) for g in ours), (form.text, point)
                continue
            _, grads = value_and_grads(form.fn, point, seed)
            _, t_grads = torch_value_and_grads(_twin(torch, info, form), point, seed)
            what = f"{form.text} at {point}, upstream {seed}"
            assert_close(grads, t_grads, RTOL, max(ATOL, form.grad_atol), what)


def test_the_lectures_rule_has_exactly_the_documented_exceptions() -> None:
    careful = {name for name, op in OPS.items() if not op.plain}
    masked = {name for name, op in OPS.items() if op.masked is not False}
    assert masked == {"relu", "leaky_relu", "prelu", "step", "sign", "hard_sigmoid", "pow"}
    assert careful - masked == {"log", "div"}


DEVIATIONS = [(i, f, e) for i, f in CASES for e in f.extremes if e.value is not None]
DEVIATION_IDS = [f"{f.text} at {e.point}" for _, f, e in DEVIATIONS]


@pytest.mark.parametrize(("info", "form", "ext"), DEVIATIONS, ids=DEVIATION_IDS)
def test_deliberate_deviations_hold(info: OpInfo, form: Form, ext: Extreme) -> None:
    assert ext.value is not None
    assert ext.grads is not None
    assert ext.why
    value, grads = value_and_grads(form.fn, ext.point)
    assert close(value, ext.value), f"{form.text} at {ext.point}: {value} ({ext.why})"
    assert_close(grads, ext.grads, what=f"{form.text} at {ext.point} ({ext.why})")


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form", "ext"), DEVIATIONS, ids=DEVIATION_IDS)
def test_deviations_from_torch_are_real(info: OpInfo, form: Form, ext: Extreme) -> None:
    assert ext.value is not None
    assert ext.grads is not None
    torch = torch_or_skip()
    t_value, t_grads = torch_value_and_grads(_twin(torch, info, form), ext.point)
    same_value = close(t_value, ext.value)
    same_grads = all(close(a, b) for a, b in zip(t_grads, ext.grads, strict=True))
    assert not (same_value and same_grads), f"torch now agrees: drop the deviation {ext.why!r}"


# -- the row's own torch twin (used by the PyTorch bridge) agrees with the record's -------------


def _row_twin(torch: ModuleType, info: OpInfo, form: Form) -> Callable[..., Any]:
    """The form in torch through the op table's ``torch`` field; constants as plain tensors."""
    op = OPS[info.name]
    twin = op.torch
    assert twin is not None

    def fn(*ts: Any) -> Any:
        xs = [
            t if isinstance(t, torch.Tensor) else torch.tensor(float(t), dtype=torch.float64)
            for t in form.wire(ts)
        ]
        return twin(torch, xs) if op.variadic else twin(torch, *xs)

    return fn


@pytest.mark.torch
@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_row_torch_twin_matches_the_record(info: OpInfo, form: Form) -> None:
    torch = torch_or_skip()
    if OPS[info.name].torch is None:
        pytest.skip(f"{info.name} has no torch twin in the op table")
    points = [*form.points, *(e.point for e in form.extremes if e.value is None)]
    for point in points:
        value, grads = torch_value_and_grads(_row_twin(torch, info, form), point)
        t_value, t_grads = torch_value_and_grads(_twin(torch, info, form), point)
        assert_close(value, t_value, RTOL, ATOL, f"row twin of {form.text} at {point}: value")
        assert_close(grads, t_grads, RTOL, ATOL, f"row twin of {form.text} at {point}: grad")


# -- the float reference (math, closed forms) ------------------------------------------------------


def check_against_reference(info: OpInfo, form: Form, point: Point) -> None:
    assert info.reference is not None
    leaves = [Value(x) for x in point]
    got = form.fn(*leaves).data
    inputs = [float(v.data) if type(v) is Value else float(v) for v in form.wire(leaves)]
    want = info.reference(inputs)
    # A sum's rounding error scales with its terms, not with the (possibly cancelling) result.
    atol = 1e-15 * math.fsum(abs(x) for x in inputs)
    assert_close(got, want, RTOL, atol, f"{form.text} at {point}: value against math")


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
def test_hand_picked_points_match_the_float_reference(info: OpInfo, form: Form) -> None:
    if info.reference is None:
        pytest.skip(f"{info.name} has no float reference")
    for point in form.points:
        check_against_reference(info, form, point)


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
@given(data=st.data())
def test_random_points_match_the_float_reference(
    info: OpInfo, form: Form, data: st.DataObject
) -> None:
    if info.reference is None:
        pytest.skip(f"{info.name} has no float reference")
    assert form.smooth is not None
    check_against_reference(info, form, data.draw(form.smooth, label="point"))


# -- central differences, without torch ------------------------------------------------------------


def central_differences(fn: Callable[..., Value], point: Point) -> list[float]:
    """(f(x + h) - f(x - h)) / 2h per input, with the engine's forward pass only."""
    grads = []
    for k, x in enumerate(point):
        h = 1e-6 * max(1.0, abs(x))
        hi = [Value(v + h) if i == k else Value(v) for i, v in enumerate(point)]
        lo = [Value(v - h) if i == k else Value(v) for i, v in enumerate(point)]
        grads.append((fn(*hi).data - fn(*lo).data) / (2 * h))
    return grads


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
@given(data=st.data())
def test_gradient_matches_central_differences(
    info: OpInfo, form: Form, data: st.DataObject
) -> None:
    assert form.smooth is not None
    point = data.draw(form.smooth, label="point")
    value, grads = value_and_grads(form.fn, point)
    numerical = central_differences(form.fn, point)
    scale = max(1.0, abs(value), *(abs(g) for g in grads))
    assert_close(grads, numerical, rtol=1e-6, atol=1e-6 * scale, what=f"{form.text} at {point}")


@pytest.mark.parametrize(("info", "form"), CASES, ids=IDS)
@given(data=st.data())
def test_smooth_points_stay_off_the_kinks(info: OpInfo, form: Form, data: st.DataObject) -> None:
    assert form.smooth is not None
    first = form.wire(data.draw(form.smooth, label="point"))[0]
    assert all(abs(first - k) >= 1e-3 for k in info.kinks), f"{form.text} at {first}"


# -- the array rules must agree with forward / local (the compiled replay relies on it) ----------

SPECIAL = [-INF, -1000.0, -2.5, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.25, 0.5, 1.0, 3.0]
SPECIAL += [21.0, 40.0, 709.0, 1000.0, INF, NAN]
PAIR = [-INF, -1000.0, -2.0, -0.5, -0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 1000.0, INF, NAN]


def _grid(name: str) -> list[Point]:
    """Points for the op: every pair of specials for two inputs, triples for variadic ops."""
    arity = OPS[name].arity
    if arity == -1:  # sum, logsumexp
        return [(a, b, c) for a in PAIR for b in PAIR[::3] for c in (1.0, -INF, NAN)]
    if arity == 2:
        return [(a, b) for a in PAIR for b in PAIR]
    assert arity == 1
    return [(x,) for x in SPECIAL]


@pytest.mark.parametrize("name", list(OPS))
def test_array_rules_agree_with_float_rules(name: str) -> None:
    op = OPS[name]
    points = _grid(name)
    columns = tuple(np.array(c, dtype=np.float64) for c in zip(*points, strict=True))
    with np.errstate(all="ignore"):
        raw = op.array_forward(columns) if op.variadic else op.array_forward(*columns)
        np_out = np.broadcast_to(raw, (len(points),))
        raw_locals = (
            op.array_local(columns, np_out) if op.variadic else op.array_local(*columns, np_out)
        )
        np_locals = [np.broadcast_to(d, (len(points),)) for d in raw_locals]
    assert np_out.dtype == np.float64
    for k, point in enumerate(points):
        out = op.forward(point) if op.variadic else op.forward(*point)
        locals_ = op.local(point, out) if op.variadic else op.local(*point, out)
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


# -- passes_grad: the chain rule without a multiply where every local derivative is 1 -----------


def test_only_the_sum_row_passes_its_gradient_through() -> None:
    assert {name for name, op in OPS.items() if op.passes_grad} == {"sum"}


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=6))
def test_rows_that_pass_the_gradient_have_unit_local_derivatives(xs: list[float]) -> None:
    for op in (op for op in OPS.values() if op.passes_grad):
        out = op.forward(tuple(xs))
        assert op.local(tuple(xs), out) == (1.0,) * len(xs)


@pytest.mark.parametrize("seed", [1.5, -0.0, 0.0, INF, -INF, NAN, 5e-324, 1e308])
def test_passing_the_gradient_is_bit_for_bit_the_lectures_rule(seed: float) -> None:
    # The oracle: the same row without passes_grad, so backward runs local x grad as written.
    plain = dataclasses.replace(OPS["sum"], passes_grad=False)
    grads = []
    for op in (OPS["sum"], plain):
        a, b = Value(2.0), Value(-3.0)
        xs = (a, b, a, 4.0)  # a input listed twice, and a plain-number constant
        out = _node_n(op, xs, op.forward(tuple(x if type(x) is float else x.data for x in xs)))
        out.backward(seed)
        grads.append([a.grad.hex(), b.grad.hex()])
    assert grads[0] == grads[1]


def test_a_row_that_claims_unit_derivatives_must_have_them() -> None:
    with pytest.raises(ValueError, match="passes_grad says every local derivative is 1"):
        Op("twice", lambda xs: 2 * sum(xs), lambda xs, out: (2.0,) * len(xs), variadic=True,
           passes_grad=True)  # fmt: skip
    with pytest.raises(ValueError, match="cannot be combined with masked"):
        Op("picky", lambda a: a, lambda a, out: (1.0,), masked=True, passes_grad=True)
