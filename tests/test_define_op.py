"""``define_op``: a learner's own op, made in one call, is a first-class op everywhere.

The oracles are independent of the op table: ``math``'s own sin and cos (closed forms),
central differences (``gradcheck``), PyTorch where installed, and the eager engine for the
compiled replay. Every test removes the ops it defines, whatever happens.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import microgradnn
from microgradnn import OPS, Value, check_backward, define_op, gradcheck, ops
from microgradnn.compile import CompileError, trace
from microgradnn.ops import BUILTINS, Op
from microgradnn.viz import backward_html, draw_dot
from tests.oracle import assert_close, torch_or_skip


@pytest.fixture(autouse=True)
def _no_custom_ops_left() -> Iterator[None]:
    yield
    for name in [n for n in OPS if n not in BUILTINS]:
        ops.unregister(name)


def _sin(**fields: Any) -> Op:
    """The README's five-line sin."""
    return define_op(
        "sin",
        forward=lambda a: math.sin(a),
        local=lambda a, out: (math.cos(a),),
        derivative_text="cos(a)",
        **fields,
    )


def test_define_op_registers_one_row_through_the_one_table(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Op] = []
    original = ops.register

    def spy(op: Op) -> Op:
        seen.append(op)
        return original(op)

    monkeypatch.setattr(ops, "register", spy)
    op = _sin()
    assert seen == [op]
    assert type(op) is Op
    assert OPS["sin"] is op
    assert all(type(o) is Op for o in OPS.values())  # built-ins are the same kind of row
    assert (op.arity, op.method, op.symbol, op.local_text) == (1, "sin", "sin", ("cos(a)",))
    assert "d/da = cos(a)" in op.doc
    assert "cos(a)" in (Value.sin.__doc__ or "")


def test_the_new_op_back_propagates_through_the_chain_rule() -> None:
    _sin()
    x = Value(1.3, label="x")
    out = (x * x).sin() * x  # d/dx = cos(x²)·2x² + sin(x²)
    out.backward()
    assert out.data == pytest.approx(math.sin(1.69) * 1.3, rel=1e-15)
    assert_close(x.grad, math.cos(1.69) * 2 * 1.69 + math.sin(1.69), rtol=1e-14)
    assert gradcheck(lambda x, w: (x * w).sin() + x.sin() * w, [0.3, -1.7])


def test_a_two_input_op_with_defaults() -> None:
    define_op(
        "hypot",
        forward=lambda a, b: math.hypot(a, b),
        local=lambda a, b, out: (a / out, b / out),
        derivative_text=("a/out", "b/out"),
        defaults=(1.0,),
    )
    x, y = Value(3.0), Value(4.0)
    h = x.hypot(y)
    h.backward()
    assert (h.data, x.grad, y.grad) == (5.0, 0.6, 0.8)
    assert Value(0.0).hypot().data == 1.0
    assert check_backward(Value(0.3).hypot(Value(-2.0)))


@pytest.mark.torch
def test_the_new_op_matches_torch() -> None:
    torch = torch_or_skip()
    _sin(torch=lambda torch, a: torch.sin(a))
    for a, b in [(0.7, -1.2), (3.0, 0.25)]:
        x, w = Value(a), Value(b)
        out = (x * w).sin() * x
        out.backward()
        tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
        t_out = torch.sin(tx * tw) * tx
        t_out.backward()
        assert_close([out.data, x.grad, w.grad], [t_out.item(), tx.grad.item(), tw.grad.item()])


def test_the_picture_and_the_stepper_write_its_derivative_text(tmp_path: Path) -> None:
    _sin(symbol="sin")
    x = Value(0.5, label="x")
    y = x.sin()
    y.label = "y"
    y.backward()
    assert "∂y/∂x = cos(x) = 0.8776" in draw_dot(y).source
    page = backward_html(y)
    assert "cos(x)" in page
    assert "0.8776" in page


def _eager(fn: Any, batch: np.ndarray, w: Value) -> tuple[list[float], float]:
    outs, grad = [], 0.0
    for row in batch:
        w.grad = 0.0
        loss = fn([Value(float(v)) for v in row], [])
        loss.backward()
        outs.append(loss.data)
        grad += w.grad
    w.grad = 0.0
    return outs, grad / len(batch)


def _compiled_equals_eager(method: str) -> None:
    w = Value(0.7)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        out: Value = getattr(xs[0] * w + xs[1], method)() * w
        return out

    batch = np.random.default_rng(0).uniform(-2.0, 2.0, size=(9, 2))
    want_outs, want_grad = _eager(fn, batch, w)
    graph = trace(fn, 2, 0, [w])
    assert_close(graph.forward(batch).ravel().tolist(), want_outs, rtol=1e-13, atol=1e-15)
    graph.loss_and_grad(batch)
    assert_close(w.grad, want_grad, rtol=1e-12, atol=1e-15)


def test_it_compiles_with_its_numpy_twins() -> None:
    _sin(np_forward=np.sin, np_local=lambda a, out: (np.cos(a),))
    _compiled_equals_eager("sin")


def test_it_compiles_without_twins_where_its_float_rule_works_on_arrays() -> None:
    define_op("cube", lambda a: a * a * a, lambda a, out: (3.0 * a * a,), derivative_text="3·a²")
    _compiled_equals_eager("cube")


def test_a_rule_that_fails_on_arrays_and_has_no_twin_is_a_compile_error_naming_it() -> None:
    _sin()
    w = Value(0.7)
    assert Value(0.5).sin().data == math.sin(0.5)  # eager is fine
    with pytest.raises(CompileError, match=r"op 'sin'.*numpy twins \(np_forward, np_local\)"):
        trace(lambda xs, ys: (xs[0] * w).sin(), 1, 0, [w])


def test_a_rule_that_means_something_else_on_arrays_is_a_compile_error() -> None:
    define_op(
        "twice",
        forward=lambda a: 2.0 * a if isinstance(a, float) else 3.0 * a,
        local=lambda a, out: (2.0,),
    )
    w = Value(0.7)
    assert Value(0.5).twice().data == 1.0
    with pytest.raises(CompileError, match=r"op 'twice': its forward rule on numpy arrays gives"):
        trace(lambda xs, ys: (xs[0] * w).twice(), 1, 0, [w])


def test_a_redefined_op_is_checked_afresh_when_compiled() -> None:
    w = Value(0.7)
    define_op("twice", forward=lambda a: 2.0 * a, local=lambda a, out: (2.0,))
    assert trace(lambda xs, ys: (xs[0] * w).twice(), 1, 0, [w]).forward([[1.0]]).item() == 1.4
    define_op(
        "twice",
        forward=lambda a: 2.0 * a if isinstance(a, float) else 3.0 * a,
        local=lambda a, out: (2.0,),
        replace=True,
    )
    with pytest.raises(CompileError, match=r"op 'twice': its forward rule on numpy arrays gives"):
        trace(lambda xs, ys: (xs[0] * w).twice(), 1, 0, [w])


def test_replace_redefines_an_op_as_re_running_a_notebook_cell_does() -> None:
    _sin()
    with pytest.raises(ValueError, match=r"an op 'sin' is already defined; pass replace=True"):
        _sin()
    new = define_op("sin", lambda a: a, lambda a, out: (1.0,), replace=True)
    assert OPS["sin"] is new
    assert Value(2.0).sin().data == 2.0


def test_a_failed_replacement_keeps_the_old_op() -> None:
    old = _sin()
    with pytest.raises(ValueError, match=r"method name 'tanh' is taken"):
        define_op("sin", lambda a: a, lambda a, out: (1.0,), method="tanh", replace=True)
    assert OPS["sin"] is old
    assert Value(0.5).sin().data == math.sin(0.5)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": 3}, TypeError, r"name: expected a string such as 'sin', got int 3"),
        ({"name": "my op"}, ValueError, r"name: expected a Python name"),
        ({"name": "lambda"}, ValueError, r"name: expected a Python name"),
        ({"name": "_sin"}, ValueError, r"does not start with _"),
        ({"name": "tanh"}, ValueError, r"name: 'tanh' is a built-in op; choose another name"),
        ({"name": "data"}, ValueError, r"method name 'data' is taken by Value itself"),
        ({"forward": 3.0}, TypeError, r"forward: expected a function such as lambda a: math"),
        ({"local": None}, TypeError, r"local: expected a function such as lambda a, out:"),
        ({"np_forward": "np.sin"}, TypeError, r"np_forward: expected a function or None"),
        ({"local": lambda a: (1.0,)}, TypeError, r"local: expected local\(a, out\), the inputs"),
        (
            {"local": lambda a, out: math.cos(a)},
            TypeError,
            r"local: expected a tuple of 1 derivative.*one-element tuple needs its comma",
        ),
        (
            {"local": lambda a, out: (math.cos(a), 1.0)},
            ValueError,
            r"local: returned 2 derivatives for an op of 1 input at a = 0.5",
        ),
        ({"local": lambda a, out: ("cos",)}, TypeError, r"local: expected numbers, got str"),
        (
            {"local": lambda a, out: (undefined,)},  # type: ignore[name-defined]  # noqa: F821
            ValueError,
            r"local: raised NameError",
        ),
        ({"forward": lambda a: None}, TypeError, r"forward: expected a number, got NoneType"),
        (
            {"derivative_text": ("cos(a)", "0")},
            ValueError,
            r"derivative_text: sin takes 1 input, so it needs 1 text .* got 2",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_mistakes_are_clear_errors_when_the_op_is_defined(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    args: dict[str, Any] = {
        "name": "sin",
        "forward": lambda a: math.sin(a),
        "local": lambda a, out: (math.cos(a),),
    }
    args.update(kwargs)
    with pytest.raises(error, match=message):
        define_op(**args)
    assert [n for n in OPS if n not in BUILTINS] == []
    assert not hasattr(Value, "sin")


def test_an_op_outside_the_probe_points_domain_is_still_accepted() -> None:
    def forward(a: float) -> float:
        if a < 10.0:
            raise ValueError("math domain error")
        return math.log(a - 10.0)

    define_op("log10shift", forward, lambda a, out: (1.0 / (a - 10.0),))
    assert Value(11.0).log10shift().data == 0.0


def test_it_is_exported_at_the_top() -> None:
    assert microgradnn.define_op is define_op
    assert "define_op" in microgradnn.__all__
