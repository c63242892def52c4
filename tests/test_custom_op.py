"""A learner's own op, added at run time with ``ops.register``, works everywhere with no other edit.

The toy op is ``sin``: its Value method appears, backward uses its local derivative, the
picture writes its symbol and its derivative text in the learner's names, the compiled replay
runs it over a batch, and ``gradcheck`` agrees. A row without numpy twins whose float rule fails
on arrays cannot be compiled, and says so by name; a row whose float rule works on arrays needs
no twins. Every test removes its op again, whatever happens.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest

import microgradnn
import microgradnn.compile
import microgradnn.viz
from microgradnn import OPS, Value, ops
from microgradnn.ops import Op
from tests.oracle import assert_close, torch_or_skip

SIN_DOC = "sin(a); d/da = cos(a); any real a"


def sin_op(name: str = "sin", **fields: Any) -> Op:
    """The toy op of the lecture, with numpy twins unless ``fields`` say otherwise."""
    row: dict[str, Any] = {
        "forward": lambda a: math.sin(a),
        "local": lambda a, out: (math.cos(a),),
        "local_text": ("cos(a)",),
        "np_forward": np.sin,
        "np_local": lambda a, out: (np.cos(a),),
        "doc": SIN_DOC,
    }
    row.update(fields)
    return Op(name, **row)


@contextmanager
def registered(op: Op) -> Iterator[Op]:
    """``op`` in the table (and its method on Value) for the block; removed again after it."""
    ops.register(op)
    try:
        yield op
    finally:
        ops.unregister(op.name)


@pytest.fixture
def sin() -> Iterator[Op]:
    with registered(sin_op()) as op:
        yield op


def test_register_adds_the_row_and_the_method_and_unregister_removes_both() -> None:
    assert "sin" not in OPS
    assert not hasattr(Value, "sin")
    with registered(sin_op()) as op:
        assert OPS["sin"] is op
        assert list(OPS)[-1] == "sin"
        assert op.arity == 1
        assert op.method == "sin"
        assert op.symbol == "sin"
        assert ops.find(method="sin") is op
        assert callable(Value.sin)
        assert Value.sin.__doc__ is not None
        assert SIN_DOC[1:] in Value.sin.__doc__
    assert "sin" not in OPS
    assert not hasattr(Value, "sin")
    with pytest.raises(KeyError):
        ops.find(method="sin")


def test_unregister_removes_even_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError, match="boom"), registered(sin_op()):
        raise RuntimeError("boom")
    assert "sin" not in OPS
    assert not hasattr(Value, "sin")


@pytest.mark.usefixtures("sin")
def test_sin_back_propagates() -> None:
    x = Value(0.7, label="x")
    y = x.sin()
    assert y._op is OPS["sin"]
    assert y._prev == (x,)
    assert y._prev[0] is x
    assert y.data == math.sin(0.7)
    y.backward()
    assert x.grad == math.cos(0.7)

    # Through the chain rule, shared: d/dx sin(x * x) * x = cos(x²) 2x² + sin(x²)
    x = Value(1.3)
    u = x * x
    out = u.sin() * x
    out.backward()
    assert_close(out.data, math.sin(1.69) * 1.3, rtol=1e-15)
    assert_close(x.grad, math.cos(1.69) * 2 * 1.69 + math.sin(1.69), rtol=1e-14)


@pytest.mark.torch
@pytest.mark.usefixtures("sin")
def test_sin_matches_torch() -> None:
    torch = torch_or_skip()
    for a, b in [(0.7, -1.2), (3.0, 0.25), (-2.5, 4.0)]:
        x, w = Value(a), Value(b)
        out = (x * w).sin() * x + (x.sin() * w.sin())
        out.backward()
        tx, tw = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
        t_out = torch.sin(tx * tw) * tx + torch.sin(tx) * torch.sin(tw)
        t_out.backward()
        assert_close(out.data, t_out.item(), rtol=1e-14)
        assert_close([x.grad, w.grad], [tx.grad.item(), tw.grad.item()], rtol=1e-13)


@pytest.mark.usefixtures("sin")
def test_sin_in_the_picture_shows_its_symbol_and_derivative_in_the_learners_names() -> None:
    x = Value(0.5, label="x")
    y = x.sin()
    y.label = "y"
    source = microgradnn.viz.draw_dot(y).source
    assert "label=sin " in source or 'label="sin"' in source
    assert "y = sin(x)" in source
    assert "∂y/∂x = cos(x) = 0.8776" in source
    assert SIN_DOC in source


def test_the_symbol_and_local_text_come_from_the_row() -> None:
    op = sin_op(symbol="SIN", local_text=("cosine of a",))
    with registered(op):
        x = Value(0.5, label="x")
        y = x.sin()
        y.label = "y"
        source = microgradnn.viz.draw_dot(y).source
    assert "label=SIN " in source or 'label="SIN"' in source
    assert "∂y/∂x = cosine of x = 0.8776" in source


def _eager(fn: Callable[[list[Value], list[Value]], Value], batch: np.ndarray, w: Value) -> Any:
    """Mean loss and d(mean loss)/dw, one example at a time with backward()."""
    losses, grad = [], 0.0
    for row in batch:
        w.grad = 0.0
        loss = fn([Value(float(v)) for v in row], [])
        loss.backward()
        losses.append(loss.data)
        grad += w.grad
    w.grad = 0.0
    return math.fsum(losses) / len(batch), grad / len(batch), losses


def _check_compiled_equals_eager(method: str) -> None:
    w = Value(0.7)

    def fn(xs: list[Value], ys: list[Value]) -> Value:
        h = getattr(xs[0] * w + xs[1], method)()
        return getattr(h * w, method)() + h * xs[1]

    batch = np.random.default_rng(0).uniform(-2.0, 2.0, size=(17, 2))
    want_loss, want_grad, want_outputs = _eager(fn, batch, w)
    graph = microgradnn.compile.trace(fn, 2, 0, [w])
    assert_close(graph.forward(batch).ravel().tolist(), want_outputs, rtol=1e-13, atol=1e-15)
    loss = graph.loss_and_grad(batch)
    assert_close(loss, want_loss, rtol=1e-13, atol=1e-15)
    assert_close(w.grad, want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.usefixtures("sin")
def test_compiled_replay_of_sin_equals_eager() -> None:
    _check_compiled_equals_eager("sin")


@pytest.mark.usefixtures("sin")
def test_gradcheck_passes_through_sin() -> None:
    result = microgradnn.gradcheck(lambda x, w: (x * w).sin() + x.sin() * w, [0.3, -1.7])
    assert result
    assert_close(
        result.analytic,
        [math.cos(-0.51) * -1.7 + math.cos(0.3) * -1.7, math.cos(-0.51) * 0.3 + math.sin(0.3)],
        rtol=1e-14,
    )


def test_a_row_without_numpy_twins_whose_rule_fails_on_arrays_does_not_compile() -> None:
    with registered(sin_op("sin_scalar", np_forward=None, np_local=None)):
        x = Value(0.5)
        assert x.sin_scalar().data == math.sin(0.5)  # eager is fine
        w = Value(0.7)
        with pytest.raises(microgradnn.compile.CompileError, match=r"op 'sin_scalar'.*numpy"):
            microgradnn.compile.trace(lambda xs, ys: (xs[0] * w).sin_scalar(), 1, 0, [w])


def test_a_row_whose_rule_works_on_arrays_compiles_without_twins() -> None:
    cube = Op(
        "cube",
        forward=lambda a: a * a * a,
        local=lambda a, out: (3.0 * a * a,),
        local_text=("3·a²",),
        doc="a³; d/da = 3a²",
    )
    assert cube.np_forward is None
    assert cube.np_local is None
    with registered(cube):
        x = Value(-1.5)
        y = x.cube()
        y.backward()
        assert (y.data, x.grad) == (-3.375, 6.75)
        _check_compiled_equals_eager("cube")


# -- bad registrations ----------------------------------------------------------------------------


def _noop(name: str, **fields: Any) -> Op:
    return Op(name, forward=lambda a: a, local=lambda a, out: (1.0,), **fields)


@contextmanager
def _value_attribute_kept(name: str) -> Iterator[None]:
    """Put Value's own ``name`` back if a (wrongly accepted) registration replaced it."""
    original = Value.__dict__.get(name)
    try:
        yield
    finally:
        if original is not None and Value.__dict__.get(name) is not original:
            setattr(Value, name, original)


def test_duplicate_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"op 'tanh' is already in the op table"):
        ops.register(_noop("tanh", method="my_tanh"))
    assert OPS["tanh"].forward(0.5) == math.tanh(0.5)
    assert not hasattr(Value, "my_tanh")
    with registered(sin_op()), pytest.raises(ValueError, match=r"op 'sin' is already"):
        ops.register(sin_op())
    assert "sin" not in OPS


def test_method_name_of_another_op_is_refused() -> None:
    with pytest.raises(ValueError, match=r"method name 'tanh' is taken by another op"):
        ops.register(_noop("tanh2", method="tanh"))
    assert "tanh2" not in OPS
    assert Value(0.5).tanh()._op is OPS["tanh"]


VALUE_OWN = ["data", "grad", "label", "backward", "_backward", "topological_order", "is_leaf"]


def test_method_names_taken_by_value_itself_are_refused() -> None:
    accepted, messages = [], {}
    for name in VALUE_OWN:
        assert name in Value.__dict__
        op = _noop(f"op_{name.strip('_')}", method=name)
        with _value_attribute_kept(name):
            try:
                ops.register(op)
            except ValueError as err:
                messages[name] = str(err)
            else:
                accepted.append(name)
            finally:
                if op.name in OPS:
                    ops.unregister(op.name)
        assert op.name not in OPS
    for name, message in messages.items():
        assert f"method name {name!r} is taken" in message
    x = Value(2.0, label="x")
    (x * 3).backward()
    assert (x.data, x.grad, x.label, x.is_leaf) == (2.0, 3.0, "x", True)
    assert not accepted, f"registering these method names replaced Value's own: {accepted}"


def test_operator_dunders_cannot_be_taken() -> None:
    with pytest.raises(ValueError, match=r"method name '__add__' is taken"):
        ops.register(_noop("plus", method="__add__"))
    assert "plus" not in OPS
    assert (Value(1.0) + 2)._op is OPS["add"]


@pytest.mark.parametrize(
    "bad", ["sin", None, OPS["tanh"].forward, {"name": "sin"}], ids=["str", "None", "fn", "dict"]
)
def test_not_an_op_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match=r"^op: expected an Op, got "):
        ops.register(bad)  # type: ignore[arg-type]


def test_forward_without_inputs_is_refused() -> None:
    with pytest.raises(ValueError, match=r"const: forward must take at least one input"):
        Op("const", forward=lambda: 1.0, local=lambda out: ())


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"name": "not a name"}, ValueError, r"name: expected an identifier"),
        ({"forward": 3.0}, TypeError, r"forward: expected a function, got float"),
        ({"local": None}, TypeError, r"local: expected a function, got NoneType"),
        ({"infix": "%"}, ValueError, r"an infix op takes 2 inputs, forward takes 1"),
        ({"defaults": (0.1,)}, ValueError, r"more defaults than inputs after the first"),
    ],
    ids=["name", "forward", "local", "infix", "defaults"],
)
def test_malformed_rows_are_refused(fields: dict[str, Any], error: type, message: str) -> None:
    row: dict[str, Any] = {"name": "bad", "forward": lambda a: a, "local": lambda a, out: (1.0,)}
    row.update(fields)
    with pytest.raises(error, match=message):
        Op(**row)


def test_built_in_ops_cannot_be_unregistered() -> None:
    with pytest.raises(ValueError, match=r"'tanh' is a built-in op and cannot be removed"):
        ops.unregister("tanh")
    assert "tanh" in OPS
    assert Value(0.5).tanh().data == math.tanh(0.5)
