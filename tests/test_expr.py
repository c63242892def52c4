"""Tests for microgradnn.viz.expr: the safe expression language.

Values are checked against the same formula written in Python (math), gradients against
central finite differences of that Python formula. The `microgradnn graph` command is tested
in test_cli.py.
"""

from __future__ import annotations

import builtins
import math
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnn import Value, ops
from microgradnn.ops import Op
from microgradnn.viz import ExpressionError, parse_expression
from microgradnn.viz.expr import FUNCTIONS, MAX_DEPTH, MAX_LENGTH


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


CASES: list[tuple[str, dict[str, float], Callable[..., float]]] = [
    ("tanh(x*w + b)", {"x": 2.0, "w": -3.0, "b": 6.88}, lambda x, w, b: math.tanh(x * w + b)),
    ("x*x + 2*x - 1", {"x": 3.0}, lambda x: x * x + 2 * x - 1),
    ("-x**2", {"x": 1.5}, lambda x: -(x**2)),
    ("x^3 / y", {"x": 1.2, "y": -0.7}, lambda x, y: x**3 / y),
    ("x - y - z", {"x": 1.0, "y": 2.0, "z": 4.0}, lambda x, y, z: (x - y) - z),
    ("x / y / z", {"x": 1.0, "y": 2.0, "z": 4.0}, lambda x, y, z: (x / y) / z),
    ("x ** 2 ** 0.5", {"x": 1.7}, lambda x: x ** (2**0.5)),
    ("x ^ 2 ^ 0.5", {"x": 1.7}, lambda x: x ** (2**0.5)),  # ^ is power, right-associative
    ("2*x^2 + 1", {"x": 1.5}, lambda x: 2 * x**2 + 1),  # ... and binds tighter than * and +
    ("-x^2", {"x": 1.5}, lambda x: -(x**2)),
    ("-x*2", {"x": 1.5}, lambda x: -x * 2),
    ("+x - -y", {"x": 1.5, "y": 0.25}, lambda x, y: x + y),
    ("2 ** -x", {"x": 0.3}, lambda x: 2 ** (-x)),
    ("exp(x) * log(y)", {"x": 0.4, "y": 2.5}, lambda x, y: math.exp(x) * math.log(y)),
    ("sigmoid(a) + softplus(a)", {"a": -0.8}, lambda a: sig(a) + math.log1p(math.exp(a))),
    ("relu(x) + relu(-x) * 3", {"x": -1.25}, lambda x: max(x, 0) + max(-x, 0) * 3),
    ("leaky_relu(x, 0.1)", {"x": -2.0}, lambda x: 0.1 * x if x < 0 else x),
    ("leaky_relu(x)", {"x": -2.0}, lambda x: 0.01 * x if x < 0 else x),
    (
        "logsumexp(x, y, 0)",
        {"x": 0.4, "y": -1.2},
        lambda x, y: math.log(math.exp(x) + math.exp(y) + 1),
    ),
    ("abs(x - 3)", {"x": 1.0}, lambda x: abs(x - 3)),
    ("sum(x, y, 2*x, 1)", {"x": 0.5, "y": 4.0}, lambda x, y: x + y + 2 * x + 1),
    ("sqrt(x) * (x + -(-y))", {"x": 2.0, "y": 0.5}, lambda x, y: math.sqrt(x) * (x + y)),
    ("prelu(z, a)", {"z": -1.5, "a": 0.2}, lambda z, a: a * z if z <= 0 else z),
    (
        "n = x1*w1 + x2*w2 + b; o = tanh(n)",
        {"x1": 2.0, "w1": -3.0, "x2": 0.0, "w2": 1.0, "b": 6.88},
        lambda x1, w1, x2, w2, b: math.tanh(x1 * w1 + x2 * w2 + b),
    ),
    (
        "u = x*y\nv = u + exp(1)\nv * u",
        {"x": 0.5, "y": -2.0},
        lambda x, y: (x * y + math.e) * (x * y),
    ),
    (
        "  n = (x *\n      w);; o = tanh(\n  n\n)\n",  # indented lines, a call over lines, ;;
        {"x": 0.5, "w": -2.0},
        lambda x, w: math.tanh(x * w),
    ),
    ("x*1_000 + 0x10*y + .5e1", {"x": 0.5, "y": 2.0}, lambda x, y: x * 1000 + 16 * y + 5),
]


@pytest.mark.parametrize(("text", "values", "fn"), CASES, ids=[c[0] for c in CASES])
def test_value_and_gradients_match_python_and_finite_differences(
    text: str, values: dict[str, float], fn: Callable[..., float]
) -> None:
    root, variables = parse_expression(text, values)
    assert list(variables) == list(values)  # order of first use == order given here
    assert root.data == pytest.approx(fn(**values), rel=1e-12, abs=1e-12)
    root.backward()
    h = 1e-6
    for name in values:
        up = dict(values, **{name: values[name] + h})
        down = dict(values, **{name: values[name] - h})
        numeric = (fn(**up) - fn(**down)) / (2 * h)
        assert variables[name].grad == pytest.approx(numeric, rel=1e-5, abs=1e-6), name
        assert variables[name].label == name


def test_a_variable_is_one_value_used_twice() -> None:
    root, v = parse_expression("x*x", {"x": 3.0})
    assert root._prev == (v["x"], v["x"])
    assert root._prev[0] is root._prev[1]
    root.backward()
    assert v["x"].grad == 6.0


def test_constants_are_folded_and_kept_as_plain_numbers() -> None:
    root, v = parse_expression("x * (2*3) + tanh(0)", {"x": 1.0})
    assert root._op is not None
    assert root._op.name == "add"
    prod = root._prev[0]
    assert isinstance(prod, Value)
    assert prod._prev == (v["x"], 6.0)
    assert root._prev[1] == 0.0
    assert type(root._prev[1]) is float


def test_each_operator_is_the_op_row_with_its_symbol() -> None:
    for text, symbol in [("x + y", "+"), ("x - y", "-"), ("x * y", "*"), ("x / y", "/")]:
        root, _ = parse_expression(text, {"x": 1.0, "y": 2.0})
        assert root._op is ops.find(infix=symbol)
    for text in ("x ** y", "x ^ y"):
        root, _ = parse_expression(text, {"x": 1.0, "y": 2.0})
        assert root._op is ops.find(infix="**")
    root, v = parse_expression("-x", {"x": 1.0})
    assert root._op is ops.find(prefix="-")
    assert root._prev == (v["x"],)
    root, v = parse_expression("+x", {"x": 1.0})
    assert root is v["x"]


def test_optional_trailing_inputs_come_from_the_row() -> None:
    root, v = parse_expression("leaky_relu(x)", {"x": -2.0})
    assert root._op is ops.find(method="leaky_relu")
    assert root._prev == (v["x"], ops.find(method="leaky_relu").defaults[0])
    root, v = parse_expression("leaky_relu(x, 0.2)", {"x": -2.0})
    assert root._prev == (v["x"], 0.2)
    assert root.data == pytest.approx(-0.4)


def test_a_registered_op_is_a_function_with_no_other_edit() -> None:
    assert "sin" not in FUNCTIONS
    ops.register(
        Op("sin", forward=lambda a: math.sin(a), local=lambda a, out: (math.cos(a),), doc="sin")
    )
    try:
        assert FUNCTIONS["sin"].min_args == FUNCTIONS["sin"].max_args == 1
        assert FUNCTIONS["sin"].doc == "sin"
        root, v = parse_expression("sin(x)*2", {"x": 0.7})
        assert root.data == pytest.approx(2 * math.sin(0.7), rel=1e-15)
        root.backward()
        assert v["x"].grad == pytest.approx(2 * math.cos(0.7), rel=1e-15)
        assert parse_expression("sin(0.5) * x", {"x": 1.0})[0]._prev[0] == math.sin(0.5)
    finally:
        ops.unregister("sin")
    assert "sin" not in FUNCTIONS
    with pytest.raises(ExpressionError, match="unknown function 'sin'"):
        parse_expression("sin(x)", {"x": 1.0})


def test_functions_are_the_op_rows_with_a_method() -> None:
    rows = {op.method: op for op in ops.OPS.values() if op.method is not None}
    assert set(rows) <= set(FUNCTIONS)
    assert set(FUNCTIONS) - set(rows) == {"sqrt"}  # the language's own extra
    for name, op in rows.items():
        fn = FUNCTIONS[name]
        assert fn.doc == op.doc
        if op.variadic:
            assert (fn.min_args, fn.max_args) == (1, None)
        else:
            assert (fn.min_args, fn.max_args) == (op.arity - len(op.defaults), op.arity)
    assert (FUNCTIONS["leaky_relu"].min_args, FUNCTIONS["leaky_relu"].max_args) == (1, 2)
    assert (FUNCTIONS["prelu"].min_args, FUNCTIONS["prelu"].max_args) == (2, 2)
    with pytest.raises(TypeError):
        FUNCTIONS["tanh"] = FUNCTIONS["exp"]  # type: ignore[index]
    with pytest.raises(KeyError):
        FUNCTIONS["nope"]


def test_the_text_is_never_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    root, _ = parse_expression("tanh(x*w + b)", {"x": 1.0, "w": 2.0, "b": 0.5})
    assert root.data == pytest.approx(math.tanh(2.5))
    with pytest.raises(ExpressionError, match="not allowed"):
        parse_expression("__import__('os').system('echo hi')", {})


def test_labels_for_named_results_and_output() -> None:
    root, _ = parse_expression("n = x*w; o = tanh(n)", {"x": 1.0, "w": 2.0})
    assert root.label == "o"
    n = root._prev[0]
    assert isinstance(n, Value)
    assert n.label == "n"
    root2, _ = parse_expression("x*2", {"x": 1.0})
    assert root2.label == "out"
    root3, _ = parse_expression("out * 2", {"out": 1.0})
    assert root3.label == "result"
    root4, v = parse_expression("x", {"x": 4.0})
    assert root4 is v["x"]


@given(st.data())
def test_random_expressions_match_a_direct_evaluation(data: st.DataObject) -> None:
    values = {"a": 0.7, "b": -1.3, "c": 2.1}
    leaves = st.sampled_from(["a", "b", "c", "0.5", "3", "1.25e-1"])

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, st.sampled_from("+-*"), children).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            st.tuples(st.sampled_from(["tanh", "sigmoid", "-"]), children).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
        )

    text = data.draw(st.recursive(leaves, extend, max_leaves=12))

    def direct(s: str) -> float:
        # an independent evaluator for this fully parenthesised form
        s = s.strip()
        for fname, f in (("tanh", math.tanh), ("sigmoid", sig)):
            if s.startswith(fname + "("):
                return f(direct(s[len(fname) + 1 : -1]))
        if s.startswith("-("):
            return -direct(s[2:-1])
        if s.startswith("("):
            depth = 0
            for i, ch in enumerate(s[1:-1], start=1):
                depth += ch == "("
                depth -= ch == ")"
                if depth == 0 and ch in "+-*" and s[i - 1] == " ":
                    left, right = direct(s[1 : i - 1]), direct(s[i + 2 : -1])
                    return {"+": left + right, "-": left - right, "*": left * right}[ch]
        return values[s] if s in values else float(s)

    names = set(re.findall(r"\b[abc]\b", text))
    used = {k: v for k, v in values.items() if k in names}
    if not used:
        with pytest.raises(ExpressionError, match="no variables"):
            parse_expression(text, used)
        return
    root, _ = parse_expression(text, used)
    assert root.data == pytest.approx(direct(text), rel=1e-12, abs=1e-12)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "pattern", "position"),
    [
        ("tanh(x*w + b", {"x": 1, "w": 1, "b": 1}, r"syntax error at the end: expected '\)'", 12),
        ("x + * y", {"x": 1, "y": 1}, r"syntax error at position 4: expected a number", 4),
        ("x y", {"x": 1, "y": 1}, r"unexpected 'y' \(missing an operator\?\)", 2),
        ("x $ 2", {"x": 1}, r"unexpected character '\$' at position 2", 2),
        ("tanhh(x)", {"x": 1}, r"unknown function 'tanhh' at position 0; known functions: abs,", 0),
        ("2 * tanh", {}, r"'tanh' at position 4 is a function: call it", 4),
        ("x*w", {"x": 1}, r"no value for variable w: .*--set w=1.0", 2),
        ("a*b*c", {"b": 1}, r"no value for variables a, c", 0),
        ("x = 1; x = 2; x", {}, r"'x' at position 7 is assigned twice", 7),
        ("y = x; x = 2", {"x": 1}, r"'x' at position 7 is already used as a variable", 7),
        ("tanh(x, x)", {"x": 1}, r"tanh\(\) takes 1 argument \(tanh\(a\), stable .*\), got 2", 0),
        ("sum()", {}, r"sum\(\) takes at least 1 argument \(", 0),
        ("leaky_relu(x, 1, 2)", {"x": 1}, r"leaky_relu\(\) takes 1 to 2 arguments \(", 0),
        ("leaky_relu(x, x)", {"x": 1}, r"slope must be a number", 0),
        ("", {}, r"the expression is empty", 0),
        (" ;; ", {}, r"the expression is empty", 0),
        ("x * é", {"x": 1}, r"unexpected character 'é' at position 4", 4),
        ("x # note", {"x": 1}, r"unexpected character '#' at position 2", 2),
        ("x^2 + * y", {"x": 1, "y": 1}, r"syntax error at position 6: expected a number", 6),
        ("x ^ y z", {"x": 1, "y": 1, "z": 1}, r"unexpected 'z' \(missing an operator\?\)", 6),
        ("x*^2", {"x": 1}, r"expected a number, a variable, a function call or '\(', got '\^'", 2),
        ("x +", {"x": 1}, r"syntax error at the end: expected a number", 3),
        ("f(x; y)", {"x": 1, "y": 1}, r"expected '\)', got ';'", 3),
        ("x = = 2", {}, r"got '='", 4),
        ("2 = x", {"x": 1}, r"'=' must follow a name", 2),
        ("(x))", {"x": 1}, r"unmatched '\)'", 3),
        # Python syntax outside the language: named, with the caret under it
        ("__import__('os')", {}, r"the string 'os' at position 11 is not allowed", 11),
        ("x.real", {"x": 1}, r"attribute access '\.real' at position 1 is not allowed", 1),
        ("(x) .real", {"x": 1}, r"attribute access '\.real' at position 4 is not allowed", 4),
        ("x[0]", {"x": 1}, r"indexing with \[\.\.\.\] at position 1 is not allowed", 1),
        ("lambda: x", {"x": 1}, r"a lambda at position 0 is not allowed", 0),
        ("leaky_relu(x, slope=0.1)", {"x": 1}, r"keyword argument 'slope=' at position 14", 14),
        ("tanh(*x)", {"x": 1}, r"unpacking with \* at position 5 is not allowed", 5),
        ("x < 2", {"x": 1}, r"a comparison at position 2 is not allowed", 2),
        ("x and y", {"x": 1, "y": 1}, r"'and' / 'or' at position 0 is not allowed", 0),
        ("x % 2", {"x": 1}, r"the operator '%' at position 2 is not allowed", 2),
        ("x // 2", {"x": 1}, r"the operator '//' at position 2 is not allowed", 2),
        ("not x", {"x": 1}, r"the operator 'not' at position 0 is not allowed", 0),
        ("True * x", {"x": 1}, r"True at position 0 is not allowed", 0),
        ("2j * x", {"x": 1}, r"a complex number at position 0 is not allowed", 0),
        ("x if x else 1", {"x": 1}, r"'\.\.\. if \.\.\. else \.\.\.' at position 0", 0),
        ("[x]", {"x": 1}, r"a list \[\.\.\.\] at position 0 is not allowed", 0),
        ("x, x", {"x": 1}, r"a tuple .* at position 0 is not allowed", 0),
        ("2(x)", {"x": 1}, r"a call of something that is not a function name at position 1", 1),
        (
            "tanh(x)(x)",
            {"x": 1},
            r"a call of something that is not a function name at position 7",
            7,
        ),
        ("import os", {}, r"the Python statement 'import' at position 0 is not allowed", 0),
        ("y = 1; del y", {}, r"the Python statement 'del' at position 7 is not allowed", 7),
        ("x += 1", {"x": 1}, r"an augmented assignment such as \+= at position 0", 0),
        ("a, b = x, x", {"x": 1}, r"an assignment to something other than one name", 0),
        ("a = b = x", {"x": 1}, r"a chained assignment", 0),
        ("x ^ 2; y = x.y", {"x": 1}, r"attribute access '\.y' at position 12", 12),
    ],
)
def test_errors_are_clear_and_point_at_the_problem(
    text: str, values: dict[str, float], pattern: str, position: int
) -> None:
    with pytest.raises(ExpressionError, match=pattern) as info:
        parse_expression(text, values)
    assert info.value.position == position
    if text:
        assert f"\n  {text}\n  {' ' * position}^" in str(info.value)


@given(
    st.lists(
        st.sampled_from([*"xy01.e+-*/^(),;= \n\t'[]<%&:_$é", "tanh", "sum", "**"]),
        max_size=30,
    ).map("".join)
)
def test_any_text_gives_an_expression_error_at_a_real_position(text: str) -> None:
    # Without values every text is an error (no variables, or a variable without a value);
    # the point is that it is always an ExpressionError, its caret inside the text.
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, {})
    position = info.value.position
    assert position is None or 0 <= position <= len(text)
    if position is not None and text and "\n" not in text:
        assert f"\n  {text}\n  {' ' * position}^" in str(info.value)


def test_other_errors() -> None:
    with pytest.raises(
        ExpressionError, match=r"'z' is not a variable of the expression \(its variables: x\)"
    ):
        parse_expression("x + 1", {"x": 1, "z": 2})
    with pytest.raises(ExpressionError, match="has no variables"):
        parse_expression("2 + 3", {})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("(" * 150 + "x" + ")" * 150, {"x": 1})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression("-" * 150 + "x", {"x": 1})
    with pytest.raises(ExpressionError, match="too long"):
        parse_expression("x+" * 6000 + "x", {"x": 1})
    with pytest.raises(TypeError, match=r"text: expected a string .*, got int 3"):
        parse_expression(3, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"values\['x'\]: expected a number, got str 'two'"):
        parse_expression("x", {"x": "two"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match=r"values\['x'\]: expected a number, got bool True"):
        parse_expression("x", {"x": True})
    with pytest.raises(TypeError, match="values: expected a mapping of variable names"):
        parse_expression("x", [("x", 1)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="values: expected variable names"):
        parse_expression("x", {1: 2.0})  # type: ignore[dict-item]
    assert isinstance(ExpressionError("m"), ValueError)
    root, _ = parse_expression("x * 2", {"x": Value(1.5)})
    assert root.data == 3.0
    assert parse_expression("x * 2", {"x": math.inf})[0].data == math.inf


def test_long_flat_expressions_do_not_recurse() -> None:
    root, _ = parse_expression(" + ".join(["x"] * 2000), {"x": 1.0})
    assert root.data == 2000.0
    root, _ = parse_expression("*".join(["x"] * 1500), {"x": 1.0})
    assert root.data == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "x+" * 4999 + "x",  # a chain longer than Python's parser builds
        "-" * 4999 + "x",
        "x**" * 3000 + "x",
        "tanh(" * (MAX_DEPTH + 1) + "x" + ")" * (MAX_DEPTH + 1),
        "(" * 300 + "x" + ")" * 300,  # deeper than Python's own 200-level limit
    ],
)
def test_input_too_deep_for_python_is_an_expression_error(text: str) -> None:
    assert len(text) <= MAX_LENGTH
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_expression(text, {"x": 1.0})


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1
    root, _ = parse_expression("(" * depth + "x" + ")" * depth, {"x": 2.0})
    assert root.data == 2.0
    root, _ = parse_expression("-" * depth + "x", {"x": 2.0})
    assert root.data == (-2.0 if depth % 2 else 2.0)


def test_big_numbers_become_inf_as_floats_do() -> None:
    root, _ = parse_expression("x * " + "9" * 400, {"x": 1.0})
    assert root._prev[1] == math.inf
    root, _ = parse_expression("x * 10 ** 400", {"x": 1.0})
    assert root._prev[1] == math.inf
    root, _ = parse_expression("x * (1/0)", {"x": 1.0})
    assert root._prev[1] == math.inf


def test_every_function_is_documented_and_callable() -> None:
    assert len(FUNCTIONS) == len(list(FUNCTIONS)) > 10
    for name, (lo, _hi, _fn, doc) in FUNCTIONS.items():
        args = ", ".join(["x"] + ["0.5"] * (lo - 1))
        root, _ = parse_expression(f"{name}({args})", {"x": 0.3})
        assert isinstance(root, Value)
        assert doc
