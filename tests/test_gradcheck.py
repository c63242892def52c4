"""gradcheck and numerical_grad: they pass correct gradients and catch wrong ones, loudly."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn import (
    OPS,
    GradcheckError,
    GradcheckResult,
    Value,
    gradcheck,
    is_grad_enabled,
    numerical_grad,
    ops,
)
from microgradnn.ops import Op
from tests.op_db import RECORDS, Form, OpInfo
from tests.oracle import assert_close

CORRECT: list[tuple[str, Callable[..., Value], list[float]]] = [
    ("neuron", lambda w, x, b: (w * x + b).tanh(), [0.5, -2.0, 0.3]),
    ("sigmoid of product", lambda w, x: (w * x).sigmoid(), [0.5, -2.0]),
    ("polynomial", lambda x: 3 * x**3 - 2 * x + 1, [1.7]),
    ("quotient", lambda a, b: (a - b) / (a * a + 1), [0.4, -1.1]),
    ("log-sum-exp", lambda a, b: (a.exp() + b.exp()).log(), [0.2, 1.5]),
    ("softplus and power", lambda a, b: a.softplus() ** b, [0.3, 2.5]),
    ("shared subexpression", lambda x: (lambda h: h * h + h.exp())(x.tanh()), [0.8]),
    ("piecewise away from kinks", lambda x: x.relu() + x.leaky_relu(0.1) + abs(x), [-0.7]),
    ("prelu in both inputs", lambda x, a: x.prelu(a), [-1.5, 0.25]),
    ("hard sigmoid inside", lambda x: x.hard_sigmoid() * x, [0.2]),
    ("sum", lambda a, b, c: Value.sum([a, b * c, c, 2]), [1.0, 2.0, 3.0]),
]


@pytest.mark.parametrize(("name", "f", "point"), CORRECT, ids=[c[0] for c in CORRECT])
def test_gradcheck_passes_correct_functions(
    name: str, f: Callable[..., Value], point: list[float]
) -> None:
    result = gradcheck(f, point)
    assert isinstance(result, GradcheckResult)
    assert result
    assert result.ok == (True,) * len(point)
    assert len(result.analytic) == len(result.numerical) == len(point)
    assert is_grad_enabled()


FORMS = [(info, f) for info in RECORDS for f in info.forms]


@pytest.mark.parametrize(("info", "form"), FORMS, ids=[f.text for _, f in FORMS])
@settings(max_examples=10)
@given(data=st.data())
def test_gradcheck_passes_every_op_of_the_table(
    info: OpInfo, form: Form, data: st.DataObject
) -> None:
    assert form.smooth is not None
    point = data.draw(form.smooth, label="point")
    result = gradcheck(form.fn, list(point), rtol=1e-5, atol=1e-6, raise_exception=False)
    assert result, f"{form.text} at {point}: {result}"
    assert info.name in OPS


def test_gradcheck_catches_a_registered_op_with_a_wrong_derivative() -> None:
    # A learner's sin whose local derivative has the wrong sign: backward runs, but is wrong.
    wrong = Op(
        "wrong_sin",
        forward=lambda a: math.sin(a),
        local=lambda a, out: (-math.cos(a),),
        local_text=("-cos(a)",),
    )
    ops.register(wrong)
    try:
        with pytest.raises(GradcheckError) as info:
            gradcheck(lambda x: x.wrong_sin() * 2, [0.5])
        expected = f"input 0: backprop {-2 * math.cos(0.5):.10g}, finite difference"
        assert expected in str(info.value)
        assert "<- mismatch" in str(info.value)
        assert gradcheck(lambda x: x.wrong_sin() * 2, [math.pi / 2])  # cos = 0: both agree
    finally:
        ops.unregister("wrong_sin")
    assert "wrong_sin" not in OPS


def _mixes_data(x: Value) -> Value:
    """A user's bug: x * x.data treats the second factor as a constant, so backprop says x."""
    return x * x.data


def _hard_threshold(x: Value) -> Value:
    """step() standing in for a smooth sigmoid: its gradient is 0, but it jumps at 0."""
    return x.step() + x


def test_gradcheck_catches_mixing_in_data() -> None:
    with pytest.raises(GradcheckError) as info:
        gradcheck(_mixes_data, [3.0])
    message = str(info.value)
    assert "gradients disagree with finite differences" in message
    assert "input 0: backprop 3, finite difference 6" in message
    assert "<- mismatch" in message


def test_gradcheck_catches_a_step_standing_in_for_a_smooth_function() -> None:
    with pytest.raises(GradcheckError, match=r"input 0: backprop 1, finite difference 5000\d\d"):
        gradcheck(_hard_threshold, [0.0])


def test_gradcheck_names_only_the_wrong_input() -> None:
    def f(a: Value, b: Value) -> Value:
        return a * b + b * b.data  # right in a, wrong in b

    with pytest.raises(GradcheckError) as info:
        gradcheck(f, [2.0, 5.0])
    lines = str(info.value).splitlines()
    assert lines[1].startswith("  input 0: backprop 5,")
    assert not lines[1].endswith("mismatch")
    assert lines[2].startswith("  input 1: backprop 7,")
    assert lines[2].endswith("<- mismatch")


def test_gradcheck_error_is_an_assertion_error() -> None:
    assert issubclass(GradcheckError, AssertionError)


def test_raise_exception_false_returns_a_falsy_result() -> None:
    result = gradcheck(_mixes_data, [3.0], raise_exception=False)
    assert not result
    assert result.ok == (False,)
    assert result.analytic == (3.0,)
    assert_close(result.numerical, [6.0], rtol=1e-8)

    mixed = gradcheck(lambda a, b: a * b + b * b.data, [2.0, 5.0], raise_exception=False)
    assert not mixed
    assert mixed.ok == (True, False)


def test_tolerances_are_used() -> None:
    # At x = 1e-6, backprop of x * x.data says 1e-6 where the truth is 2e-6: off by only 1e-6.
    assert not gradcheck(_mixes_data, [1e-6], raise_exception=False, atol=1e-9, rtol=0.0)
    assert gradcheck(_mixes_data, [1e-6])  # within the default atol = 1e-5


@pytest.mark.parametrize(
    ("f", "point", "expected"),
    [
        (lambda x: x**3, [1.5], [3 * 1.5**2]),
        (lambda x: x.exp(), [0.7], [math.exp(0.7)]),
        (lambda x: x.tanh(), [0.3], [1 - math.tanh(0.3) ** 2]),
        (lambda x: x.log(), [2.0], [0.5]),
        (lambda x, y: x * y, [3.0, -2.0], [-2.0, 3.0]),
        (lambda x, y: x / y, [1.0, 4.0], [0.25, -1 / 16]),
        (
            lambda x, y: (x * y).sigmoid(),
            [0.5, 2.0],
            [2.0 * 0.19661193324148185, 0.5 * 0.19661193324148185],
        ),
        (lambda x, y, z: Value.sum([x, y, z]) * 2, [1.0, 2.0, 3.0], [2.0, 2.0, 2.0]),
    ],
)
def test_numerical_grad_matches_closed_forms(
    f: Callable[..., Value], point: list[float], expected: list[float]
) -> None:
    got = numerical_grad(f, point)
    assert isinstance(got, list)
    assert_close(got, expected, rtol=1e-8, atol=1e-9)


def test_numerical_grad_uses_the_step_eps() -> None:
    # Central difference of x**3 is exactly 3x**2 + h**2: the step shows in the result.
    big = numerical_grad(lambda x: x**3, [0.0], eps=0.5)
    assert_close(big, [0.25], rtol=1e-12)


def test_numerical_grad_builds_no_graph_and_restores_grad_mode() -> None:
    seen: list[bool] = []

    def f(x: Value) -> Value:
        seen.append(x.is_leaf and is_grad_enabled())
        return x * 2

    numerical_grad(f, [1.0])
    assert seen == [False, False]
    assert is_grad_enabled()


def test_numerical_grad_of_ints_works() -> None:
    assert_close(numerical_grad(lambda x: x * x, [3]), [6.0], rtol=1e-8)


@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical_grad"])
@pytest.mark.parametrize(
    ("f", "type_name"),
    [
        (lambda x: 3.0, "float"),
        (lambda x: x.data, "float"),
        (lambda x: None, "NoneType"),
        (lambda x: [x], "list"),
    ],
)
def test_non_value_return_is_a_type_error(
    check: Callable[..., object], f: Callable[..., object], type_name: str
) -> None:
    with pytest.raises(TypeError, match=rf"expects f to return a Value, got {type_name}"):
        check(f, [1.0])


@pytest.mark.parametrize("check", [gradcheck, numerical_grad], ids=["gradcheck", "numerical_grad"])
def test_bad_inputs_are_type_errors(check: Callable[..., object]) -> None:
    with pytest.raises(TypeError, match="NoneType"):
        check(lambda x: x * 2, [None])
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        check(lambda x, y: x * y, [1.0])
    with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
        check(lambda x: x * 2, [1.0, 2.0])
