"""Tests for microgradnn.viz.expr: the safe expression language and `microgradnn graph`.

Values are checked against the same formula written in Python (math), gradients against
central finite differences of that Python formula.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgradnn import Value
from microgradnn.viz import ExpressionError, add_graph_arguments, cli_graph, parse_expression
from microgradnn.viz.expr import FUNCTIONS, parse_assignments

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


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
    ("2 ** -x", {"x": 0.3}, lambda x: 2 ** (-x)),
    ("exp(x) * log(y)", {"x": 0.4, "y": 2.5}, lambda x, y: math.exp(x) * math.log(y)),
    ("sigmoid(a) + softplus(a)", {"a": -0.8}, lambda a: sig(a) + math.log1p(math.exp(a))),
    ("relu(x) + relu(-x) * 3", {"x": -1.25}, lambda x: max(x, 0) + max(-x, 0) * 3),
    ("leaky_relu(x, 0.1)", {"x": -2.0}, lambda x: 0.1 * x if x < 0 else x),
    ("leaky_relu(x)", {"x": -2.0}, lambda x: 0.01 * x if x < 0 else x),
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
        ("tanh(x, x)", {"x": 1}, r"tanh\(\) takes 1 argument \(hyperbolic tangent\), got 2", 0),
        ("leaky_relu(x, x)", {"x": 1}, r"slope must be a number", 0),
        ("", {}, r"the expression is empty", 0),
        ("__import__('os')", {}, r"unexpected character \"'\" at position 11", 11),
        ("x.real", {"x": 1}, r"unexpected character '\.'", 1),
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
    with pytest.raises(TypeError, match="the expression must be a string, got int"):
        parse_expression(3, {})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="the value of 'x' must be a number, got str"):
        parse_expression("x", {"x": "two"})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="values must be a mapping"):
        parse_expression("x", [("x", 1)])  # type: ignore[arg-type]
    assert isinstance(ExpressionError("m"), ValueError)


def test_long_flat_expressions_do_not_recurse() -> None:
    root, _ = parse_expression(" + ".join(["x"] * 2000), {"x": 1.0})
    assert root.data == 2000.0


def test_every_function_is_documented_and_callable() -> None:
    for name, (lo, _hi, _fn, doc) in FUNCTIONS.items():
        args = ", ".join(["x"] + ["0.5"] * (lo - 1))
        root, _ = parse_expression(f"{name}({args})", {"x": 0.3})
        assert isinstance(root, Value)
        assert doc


def test_parse_assignments() -> None:
    assert parse_assignments(["x=2", "w=-3", " b = 6.88"]) == {"x": 2.0, "w": -3.0, "b": 6.88}
    with pytest.raises(ExpressionError, match="expects NAME=NUMBER, got 'x'"):
        parse_assignments(["x"])
    with pytest.raises(ExpressionError, match="expected a number after '=', got 'two'"):
        parse_assignments(["x=two"])
    with pytest.raises(ExpressionError, match="gives x twice"):
        parse_assignments(["x=1", "x=2"])


# -- the command ----------------------------------------------------------------------------------


def run(argv: list[str]) -> tuple[int, str, str]:
    parser = add_graph_arguments(argparse.ArgumentParser(prog="microgradnn graph"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    return cli_graph(args, stdout=out, stderr=err), out.getvalue(), err.getvalue()


@needs_dot
def test_cli_writes_forward_and_backward_pictures(tmp_path: Path) -> None:
    out = tmp_path / "g.svg"
    code, text, err = run(
        [
            "tanh(x*w + b)",
            "--set",
            "x=2",
            "w=-3",
            "b=6.8813735870195432",
            "-o",
            str(out),
            "--view",
            "both",
            "--html",
            str(tmp_path / "steps.html"),
        ]
    )
    assert (code, err) == (0, "")
    fwd, bwd = tmp_path / "g-forward.svg", tmp_path / "g-backward.svg"
    assert fwd.read_text(encoding="utf-8").lstrip().startswith("<?xml")
    backward = bwd.read_text(encoding="utf-8").replace("&#45;", "-")
    assert "0.5 × -3 = -1.5" in backward  # x's edge: grad(x*w) × w
    assert "out = 0.7071" in text
    assert "dout/dx = -1.5" in text
    assert (tmp_path / "steps.html").exists()
    assert f"wrote {fwd}" in text


def test_cli_dot_format_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, _ = run(["x*x", "--set", "x=3", "-o", str(tmp_path / "g"), "--format", "dot"])
    assert code == 0
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")
    code, _, err = run(["x*x", "--set", "x=3", "-o", str(tmp_path / "g.svg")])
    assert code == 1
    assert "apt install graphviz" in err


def test_cli_reports_bad_input_with_exit_code_2() -> None:
    code, _, err = run(["tanh(x*w + b)", "--set", "x=2"])
    assert code == 2
    assert "no value for variables w, b" in err
    code, _, err = run(["tanh(x", "--set", "x=2"])
    assert code == 2
    assert "syntax error" in err
    code, _, err = run(["x", "--set", "x=abc"])
    assert code == 2
    assert "expected a number after '='" in err


def test_cli_without_output_prints_grads_only() -> None:
    code, text, _ = run(["x*x + y", "--set", "x=3", "y=1"])
    assert code == 0
    assert "dout/dx = 6" in text
    assert "dout/dy = 1" in text
    assert "pass -o graph.svg" in text


def test_cli_accepts_the_lead_parsers_output_name(tmp_path: Path) -> None:
    args = argparse.Namespace(
        expr="x*2", set=["x=1"], output=str(tmp_path / "a.dot"), view="forward", format=None
    )
    assert cli_graph(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert (tmp_path / "a.dot").exists()
