"""Tests for microgradnn.viz.analysis (names, derivative texts, grads not computed yet) and the
formula helpers of microgradnn.viz.text.

Names are checked against Python's own parser: an expression name, read back by ``ast.parse``,
must have the graph's structure (and evaluate to the node's data); parameter names against the
model's structure (``model.layers[i].neurons[j].w[k]``), never against the code's own mapping.
"""

from __future__ import annotations

import ast
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn import Value
from microgradnn.activations import PReLU
from microgradnn.nn import MLP, Neuron
from microgradnn.viz import analysis, draw_dot
from microgradnn.viz.analysis import (
    EDGE_NAME_WIDTH,
    NAME_WIDTH,
    State,
    analyze,
    derivative_formula,
    edge_local_text,
    edge_product_text,
    final_state,
    grad_detail,
    grad_is_final,
    grad_note,
    grad_text,
    short_name,
)
from microgradnn.viz.clusters import model_info
from microgradnn.viz.text import ELLIPSIS, fill_formula, is_simple_name, wrap_name

B = 6.8813735870195432


def readme_neuron(labels: bool) -> Value:
    """The README's neuron, with its leaves labeled (as there) or not, and no other label."""
    names = ("x1", "w1", "x2", "w2", "b") if labels else ("",) * 5
    x1, w1, x2, w2, b = (
        Value(d, label=n) for d, n in zip((2.0, -3.0, 0.0, 1.0, B), names, strict=True)
    )
    return (x1 * w1 + x2 * w2 + b).tanh()


# -- names of unlabeled nodes --------------------------------------------------------------------


def test_readme_neuron_names_from_its_expression() -> None:
    a = analyze(readme_neuron(labels=True))
    assert a.names == [
        "x1",
        "w1",
        "x1*w1",
        "x2",
        "w2",
        "x2*w2",
        "x1*w1 + x2*w2",
        "b",
        "x1*w1 + x2*w2 + b",
        "tanh(x1*w1 + x2*w2 + b)",
    ]
    assert not any(re.search(r"#\d", n) for n in a.names)


def test_unlabeled_leaves_are_x0_x1_in_graph_order_and_avoid_labels() -> None:
    a = analyze(readme_neuron(labels=False))
    assert a.names[-1] == "tanh(x0*x1 + x2*x3 + x4)"
    assert [a.names[i] for i, v in enumerate(a.order) if v.is_leaf] == [
        "x0",
        "x1",
        "x2",
        "x3",
        "x4",
    ]
    taken = Value(1.0, label="x0")
    free = Value(2.0)
    assert analyze(taken * free).names == ["x0", "x1", "x0*x1"]


def test_neuron_module_graph_names() -> None:
    neuron = Neuron(2, activation="tanh", seed=0)
    out = neuron([Value(1.0), Value(-2.0)])
    plain = analyze(out)
    assert plain.names == ["w0", "x0", "w0*x0", "w1", "x1", "w1*x1", "b", "z", "a"]
    named = analyze(out, model_info(neuron).param_names)
    assert named.names == plain.names  # a bare neuron's parameters are w.0, w.1, b: short w0, w1
    assert [named.kinds[i] for i in (0, 1, 3, 6)] == ["param", "input", "param", "param"]


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda x, y, z: (x + y) * z, "(x + y)*z"),
        (lambda x, y, z: x * y + z, "x*y + z"),
        (lambda x, y, z: x + y * z, "x + y*z"),
        (lambda x, y, z: x - (y - z), "x - (y - z)"),
        (lambda x, y, z: x - (y + z), "x - (y + z)"),
        (lambda x, y, z: (x - y) + z, "x - y + z"),
        (lambda x, y, z: x + (y + z), "x + y + z"),
        (lambda x, y, z: x / (y * z), "x/(y*z)"),
        (lambda x, y, z: x * y / z, "x*y/z"),
        (lambda x, y, z: x * (y / z), "x*y/z"),
        (lambda x, y, z: (x / y) / z, "x/y/z"),
        (lambda x, y, z: x / (y / z), "x/(y/z)"),
        (lambda x, y, z: x**2, "x**2"),
        (lambda x, y, z: (x + y) ** 2, "(x + y)**2"),
        (lambda x, y, z: (x * y) ** 2, "(x*y)**2"),
        (lambda x, y, z: x ** (y**z), "x**(y**z)"),
        (lambda x, y, z: (x**y) ** z, "(x**y)**z"),
        (lambda x, y, z: -(x**2), "-(x**2)"),
        (lambda x, y, z: (-x) ** 2, "(-x)**2"),
        (lambda x, y, z: -(x * y), "-(x*y)"),
        (lambda x, y, z: -x * y, "-x*y"),
        (lambda x, y, z: x**-1, "x**(-1)"),
        (lambda x, y, z: 2 * x, "2*x"),
        (lambda x, y, z: x * 2.5, "x*2.5"),
        (lambda x, y, z: x * -3, "x*(-3)"),
        (lambda x, y, z: x - -2, "x - (-2)"),
        (lambda x, y, z: x + -y, "x + (-y)"),
        (lambda x, y, z: 1 - x, "1 - x"),
        (lambda x, y, z: (x * y + z).tanh(), "tanh(x*y + z)"),
        (lambda x, y, z: x.tanh() * y.exp(), "tanh(x)*exp(y)"),
        (lambda x, y, z: x.relu().sigmoid(), "σ(ReLU(x))"),
        (lambda x, y, z: Value.sum([x * y, z, 1.0]), "Σ(x*y, z, 1)"),
    ],
)
def test_precedence_puts_parentheses_only_where_they_change_the_meaning(
    build: object, expected: str
) -> None:
    x, y, z = Value(1.5, label="x"), Value(-2.0, label="y"), Value(0.5, label="z")
    root = build(x, y, z)  # type: ignore[operator]
    assert analyze(root).names[-1] == expected


def test_a_labeled_compound_name_is_parenthesised_inside_an_expression() -> None:
    x, y = Value(1.0, label="x"), Value(2.0, label="y")
    xy = x * y
    xy.label = "x*y"  # a label a learner wrote, not parsed: it may hide any structure
    assert analyze(xy * 2).names[-1] == "(x*y)*2"


# Python's parser as the oracle: a name read back must have the graph's structure.


def _flip(term: object, inverse: bool, first: str, other: str) -> object:
    """A term of ``a - (…)`` or ``a / (…)``: its sign (or power) turned over."""
    sign, t = term  # type: ignore[misc]
    if not inverse:
        return (sign, t)
    return (other if sign == first else first, t)


_PY_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}


def _canon_ast(node: ast.expr) -> object:
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub):
        return ("sum", tuple(_ast_terms(node, "+", (ast.Add, ast.Sub))))
    if isinstance(node, ast.BinOp) and type(node.op) in (ast.Mult, ast.Div):
        return ("prod", tuple(_ast_terms(node, "*", (ast.Mult, ast.Div))))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        return ("pow", _canon_ast(node.left), _canon_ast(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if isinstance(node.operand, ast.Constant):
            return ("num", -float(node.operand.value))
        return ("neg", _canon_ast(node.operand))
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return ("call", node.func.id, tuple(_canon_ast(a) for a in node.args))
    if isinstance(node, ast.Constant):
        return ("num", float(node.value))
    assert isinstance(node, ast.Name), ast.dump(node)
    return ("leaf", node.id)


def _ast_terms(node: ast.expr, first: str, kinds: tuple[type, ...]) -> list[object]:
    if isinstance(node, ast.BinOp) and type(node.op) in kinds:
        left = _ast_terms(node.left, first, kinds)
        inverse = type(node.op) is kinds[1]
        right = _ast_terms(node.right, first, kinds)
        return left + [_flip(term, inverse, first, _PY_OPS[kinds[1]]) for term in right]
    return [(first, _canon_ast(node))]


_GRAPH_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def _canon_value(v: object) -> object:
    if type(v) is not Value:
        return ("num", float(v))  # type: ignore[arg-type]
    op = v._op
    if op is None or v.label:
        return ("leaf", v.label)
    if op.name in ("add", "sub"):
        return ("sum", tuple(_value_terms(v, "+", ("add", "sub"))))
    if op.name in ("mul", "div"):
        return ("prod", tuple(_value_terms(v, "*", ("mul", "div"))))
    if op.name == "pow":
        return ("pow", _canon_value(v._prev[0]), _canon_value(v._prev[1]))
    if op.name == "neg":
        return ("neg", _canon_value(v._prev[0]))
    return ("call", op.name, tuple(_canon_value(p) for p in v._prev))


def _value_terms(v: object, first: str, kinds: tuple[str, str]) -> list[object]:
    if type(v) is Value and v._op is not None and not v.label and v._op.name in kinds:
        left = _value_terms(v._prev[0], first, kinds)
        inverse = v._op.name == kinds[1]
        right = _value_terms(v._prev[1], first, kinds)
        return left + [_flip(term, inverse, first, _GRAPH_OPS[kinds[1]]) for term in right]
    return [(first, _canon_value(v))]


_LEAVES = {"p": 1.5, "q": -2.0, "r": 3.0, "s": 0.75}


def _trees(depth: int) -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
    leaf = st.one_of(
        st.sampled_from(sorted(_LEAVES)).map(lambda n: ("leaf", n)),
        st.sampled_from([2.0, 0.5, -3.0]).map(lambda c: ("num", c)),
    )
    if depth == 0:
        return leaf
    sub = _trees(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), sub, sub),
        st.tuples(st.just("**"), sub, st.sampled_from([2.0, 3.0]).map(lambda c: ("num", c))),
        st.tuples(st.sampled_from(["neg", "tanh", "exp"]), sub),
    )


def _build(tree: tuple, leaves: dict[str, Value]) -> Value | float:  # type: ignore[type-arg]
    """The tree as a graph; parts made of numbers only are folded, as the engine stores them."""
    kind = tree[0]
    if kind == "leaf":
        return leaves[tree[1]]
    if kind == "num":
        return float(tree[1])
    args = [_build(t, leaves) for t in tree[1:]]
    if not any(isinstance(x, Value) for x in args):
        return 0.5  # a part made of numbers only: one constant
    if kind == "neg":
        return -args[0]
    if kind in ("tanh", "exp"):
        arg = args[0]
        assert isinstance(arg, Value)
        return arg.tanh() if kind == "tanh" else arg.exp()
    a, b = args
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b, "**": a**b}[kind]


@settings(max_examples=150, deadline=None)
@given(_trees(4))
def test_names_read_back_by_pythons_parser_have_the_graphs_structure(
    tree: tuple,  # type: ignore[type-arg]
) -> None:
    leaves = {n: Value(d, label=n) for n, d in _LEAVES.items()}
    root = _build(tree, leaves)
    if not isinstance(root, Value):
        return
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis, "NAME_WIDTH", 10**6)  # no shortening: every name is whole
        a = analyze(root)
        names = a.names
    env = {"tanh": math.tanh, "exp": math.exp, **_LEAVES}
    for v, name in zip(a.order, names, strict=True):
        if v.is_leaf:
            continue
        parsed = ast.parse(name, mode="eval").body
        assert _canon_ast(parsed) == _canon_value(v), name
        if not (math.isfinite(v.data) and abs(v.data) < 1e6):
            continue
        try:
            got = eval(compile(ast.Expression(parsed), "<name>", "eval"), dict(env))
        except (OverflowError, ZeroDivisionError):  # an inner inf or nan the graph carried on
            continue
        scale = max(1.0, *(abs(u.data) for u in v.topological_order()))
        assert math.isclose(got, v.data, rel_tol=1e-9, abs_tol=1e-9 * scale), name


@settings(max_examples=100, deadline=None)
@given(_trees(5))
def test_every_expression_name_fits_its_width(tree: tuple) -> None:  # type: ignore[type-arg]
    leaves = {n: Value(d, label=n) for n, d in _LEAVES.items()}
    root = _build(tree, leaves)
    if not isinstance(root, Value):
        return
    a = analyze(root)
    for v, name, short in zip(a.order, a.names, a.edge_names, strict=True):
        if not v.label:
            assert len(name) <= NAME_WIDTH, name
            assert len(short) <= EDGE_NAME_WIDTH, short
        else:
            assert name == short == v.label


# -- long names shorten --------------------------------------------------------------------------


def _terms(n: int) -> tuple[list[Value], Value]:
    xs = [Value(0.1 * i, label=f"x{i}") for i in range(1, n + 1)]
    ws = [Value(-0.2 * i, label=f"w{i}") for i in range(1, n + 1)]
    return [x * w for x, w in zip(xs, ws, strict=True)], Value(0.5, label="b")


def test_a_long_sum_keeps_its_first_and_last_terms() -> None:
    products, b = _terms(8)
    neuron_sum = Value.sum([*products, b])
    assert analyze(neuron_sum).names[-1] == "Σ(x1*w1, …, b)"
    chain = products[0]
    for p in products[1:]:
        chain = chain + p
    a = analyze(chain.tanh())
    assert a.names[a.index[id(chain)]] == "x1*w1 + … + x8*w8"
    assert a.names[-1] == "tanh(x1*w1 + … + x8*w8)"
    assert all(len(n) <= NAME_WIDTH for n in a.names)


def test_shortened_names_keep_the_outermost_op_over_shortened_inputs() -> None:
    x, y, z = Value(1.0, label="x"), Value(2.0, label="y"), Value(3.0, label="z")
    poly = x**3 + 2 * x**2 - 4 * x + 1
    assert analyze(poly).names[-1] == "x**3 + 2*x**2 - 4*x + 1"  # 23 characters: whole
    assert analyze(poly.tanh()).names[-1] == "tanh(x**3 + … + 1)"
    big = (x * y + y * z + z * x + x * x + y * y + z * z) * (x + y)
    assert analyze(big.exp()).names[-1] == "exp((x*y + …)*(x + y))"


def test_edge_texts_use_names_short_enough_for_an_edge() -> None:
    o = readme_neuron(labels=True)
    o.backward()
    a = analyze(o)
    assert a.edge_names[-2:] == ["x1*w1 + … + b", "tanh(x1*w1 + …)"]
    text = edge_local_text(a, a.root, 0, ".4g", formula=True)
    assert text == "∂tanh(x1*w1 + …)/∂(x1*w1 + … + b) = 1 - tanh(x1*w1 + …)² = 0.5"


def test_names_are_deterministic_across_builds() -> None:
    first = analyze(readme_neuron(labels=False))
    garbage = [Value(float(i)) for i in range(1000)]  # shifts every id()
    second = analyze(readme_neuron(labels=False))
    assert first.names == second.names
    assert first.edge_names == second.edge_names
    del garbage
    m1, m2 = MLP(2, [4, 1], seed=3), MLP(2, [4, 1], seed=3)
    a1 = analyze(m1([0.5, -1.0]), model_info(m1).param_names)
    a2 = analyze(m2([0.5, -1.0]), model_info(m2).param_names)
    assert a1.names == a2.names


# -- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "short"),
    [
        ("layers.0.neurons.2.w.1", "L0.N2.w1"),
        ("layers.1.neurons.0.b", "L1.N0.b"),
        ("layers.0.neurons.2.activation.alpha", "L0.N2.α"),
        ("layers.3.activation.alpha", "L3.α"),
        ("neurons.4.w.0", "N4.w0"),
        ("w.0", "w0"),
        ("b", "b"),
        ("encoder.layers.0.neurons.1.w.12", "encoder.L0.N1.w12"),
        ("weight", "weight"),
    ],
)
def test_short_names(path: str, short: str) -> None:
    assert short_name(path) == short


def test_mlp_parameters_are_named_by_where_they_sit_in_the_model() -> None:
    model = MLP(2, [4, 1], seed=0)
    out = model([Value(1.0), Value(-2.0)])
    loss = (out - 1.0) ** 2
    a = analyze(loss, model_info(model).param_names)

    def name_of(v: Value) -> str:
        return a.names[a.index[id(v)]]

    for i, layer in enumerate(model.layers):
        for j, neuron in enumerate(layer.neurons):
            for k, w in enumerate(neuron.w):
                assert name_of(w) == f"L{i}.N{j}.w{k}"
                assert w.label == f"w{k}"  # the model's name wins over the label
            assert neuron.b is not None
            assert name_of(neuron.b) == f"L{i}.N{j}.b"
    # each neuron's z and a (labeled so by every neuron) say which neuron they belong to, and
    # the output neuron's product with weight k reads the first layer's neuron k
    for v in a.order:
        ws = [p for p in v._prev if type(p) is Value and p in model.layers[1].neurons[0].w]
        if v._op is not None and ws:
            k = model.layers[1].neurons[0].w.index(ws[0])
            assert a.names[a.index[id(v)]] == f"L1.N0.w{k}*L0.N{k}.a"
    assert a.names[-3:] == ["L1.N0.z", "L1.N0.z - 1", "(L1.N0.z - 1)**2"]
    assert sorted(n for n in a.names if n.startswith("L0.N2.")) == [
        "L0.N2.a",
        "L0.N2.b",
        "L0.N2.w0",
        "L0.N2.w0*x0",
        "L0.N2.w1",
        "L0.N2.w1*x1",
        "L0.N2.z",
    ]


def test_prelu_slopes_and_parameter_lists() -> None:
    model = MLP(2, [3, 1], activation="prelu", seed=0)
    out = model([1.0, -2.0])
    a = analyze(out, model_info(model).param_names)
    act = model.layers[0].neurons[2].activation
    assert isinstance(act, PReLU)
    assert a.names[a.index[id(act.alpha)]] == "L0.N2.α"
    # a plain list of Values: their labels are their names; without a model, labels as written
    w, x = Value(2.0, label="w"), Value(3.0)
    y = w * x
    assert analyze(y, model_info([w]).param_names).names == ["w", "x0", "w*x0"]
    assert analyze(y, {id(w): "layers.0.neurons.1.w.0"}).names == ["L0.N1.w0", "x0", "L0.N1.w0*x0"]


# -- derivative texts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "names", "constants", "expected"),
    [
        # pow with a constant exponent: b·a^(b-1)
        ("b·a^(b-1)", {"a": "x"}, {"b": 2.0}, "2·x"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 3.0}, "3·x²"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 4.0}, "4·x³"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 1.0}, "1"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 0.0}, "0"),
        ("b·a^(b-1)", {"a": "x"}, {"b": -1.0}, "-1/x²"),
        ("b·a^(b-1)", {"a": "x"}, {"b": -2.0}, "-2/x³"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 0.5}, "0.5/x^0.5"),
        ("b·a^(b-1)", {"a": "x"}, {"b": 2.5}, "2.5·x^1.5"),
        ("b·a^(b-1)", {"a": "x1*w1"}, {"b": 2.0}, "2·(x1*w1)"),
        ("b·a^(b-1)", {"a": "tanh(n)"}, {"b": 3.0}, "3·tanh(n)²"),
        ("b·a^(b-1)", {"a": "x", "b": "y"}, {}, "y·x^(y-1)"),
        ("out·ln(a)", {"out": "o"}, {"a": 2.0}, "o·ln(2)"),
        # mul and div with a constant
        ("b", {"a": "x"}, {"b": 2.0}, "2"),
        ("a", {"b": "x"}, {"a": -3.0}, "-3"),
        ("1/b", {"a": "x"}, {"b": 4.0}, "0.25"),
        ("1/b", {"a": "x"}, {"b": 0.0}, "1/0"),
        ("-a/b²", {"b": "x"}, {"a": 1.0}, "-1/x²"),
        ("-a/b²", {"b": "x"}, {"a": -1.0}, "1/x²"),
        ("-a/b²", {"b": "x"}, {"a": 6.0}, "-6/x²"),
        ("-a/b²", {"b": "x"}, {"a": 0.0}, "0"),
        ("-a/b²", {"a": "p", "b": "q"}, {}, "-p/q²"),
        # sub and add with constants, and the simplifications themselves
        ("b-1", {}, {"b": 2.0}, "1"),
        ("a^1", {"a": "x"}, {}, "x"),
        ("1·a", {"a": "x"}, {}, "x"),
        ("a·1", {"a": "x"}, {}, "x"),
        ("0·a", {"a": "x"}, {}, "0"),
        ("a·0", {"a": "x"}, {}, "0"),
        ("a·2", {"a": "x"}, {}, "2·x"),
        ("a + 0", {"a": "x"}, {}, "x"),
        ("a - b", {"a": "x"}, {"b": -2.0}, "x + 2"),
        ("a + b", {"a": "x"}, {"b": -2.0}, "x - 2"),
        ("1 - a", {}, {"a": 0.25}, "0.75"),
        ("-(2·a)", {"a": "x"}, {}, "-2·x"),
        ("a^0", {"a": "x"}, {}, "1"),
        # formulas without constants read as the op table writes them
        ("1 - out²", {"out": "o"}, {}, "1 - o²"),
        ("out·(1 - out)", {"out": "σ(n)"}, {}, "σ(n)·(1 - σ(n))"),
        ("exp(a)", {"a": "n"}, {}, "exp(n)"),
        ("1 - out²", {"out": "x + y"}, {}, "1 - (x + y)²"),
        # what the little grammar cannot read is filled in as it is
        ("1 if a > 0 else b", {"a": "n"}, {"b": 0.01}, "1 if n > 0 else 0.01"),
        ("softmax_i = exp(x_i - out)", {"out": "o"}, {}, "softmax_i = exp(x_i - o)"),
        ("1 if |a| < 1/2 else 0", {"a": "x*y"}, {}, "1 if |(x*y)| < 1/2 else 0"),
    ],
)
def test_fill_formula_simplifies_what_constants_make_trivial(
    template: str, names: dict[str, str], constants: dict[str, float], expected: str
) -> None:
    assert fill_formula(template, names, constants) == expected


def test_numbers_alone_multiply_with_times_never_the_letter_x() -> None:
    assert fill_formula("a·b", {}, {"a": 1e308, "b": 1e308}) == "1e+308×1e+308"  # not folded: inf
    from microgradnn.ops import OPS

    letter_x = re.compile(r"(?<![A-Za-z_])x(?![A-Za-z_])")
    for op in OPS.values():
        for text in op.local_text:
            for consts in ({}, {"b": 2.0}, {"a": 3.0}, {"b": -1.5}):
                filled = fill_formula(text, {"a": "p", "b": "q", "out": "o"}, consts)
                assert not letter_x.search(filled), (op.name, filled)


def _edge(root: Value, k: int = 0) -> str:
    a = analyze(root)
    return edge_local_text(a, a.root, k, ".4g", formula=True)


def test_edge_derivative_texts_in_the_graphs_names() -> None:
    x = Value(3.0, label="x")
    assert _edge(x**2) == "∂(x**2)/∂x = 2·x = 6"
    assert _edge(x**3) == "∂(x**3)/∂x = 3·x² = 27"
    assert _edge(x**-1) == "∂(x**(-1))/∂x = -1/x² = -0.1111"
    assert _edge(2 * x, 1) == "∂(2*x)/∂x = 2"
    assert _edge(x / 4) == "∂(x/4)/∂x = 0.25"
    assert _edge(1 / x, 1) == "∂(1/x)/∂x = -1/x² = -0.1111"
    assert _edge(x - 3) == "∂(x - 3)/∂x = 1"
    assert _edge(x.tanh()) == f"∂tanh(x)/∂x = 1 - tanh(x)² = {1 - math.tanh(3.0) ** 2:.4g}"
    y = x * x
    y.label = "y"
    a = analyze(y**2)
    assert derivative_formula(a, a.root, 0, ".4g") == "2·y"
    # the issue's `∂loss/∂#82 = 2·#82^(2-1)`, now in names
    model = MLP(2, [4, 1], seed=0)
    loss = (model([1.0, -2.0]) - 1.0) ** 2
    loss.label = "loss"
    la = analyze(loss, model_info(model).param_names)
    text = edge_local_text(la, la.root, 0, ".4g", formula=True)
    assert text.startswith("∂loss/∂(L1.N0.z - 1) = 2·(L1.N0.z - 1) = ")


def test_simple_names_are_not_parenthesised() -> None:
    for name in ("x1", "L0.N2.w1", "α", "tanh(n)", "Σ(x1*w1, …, b)", "-3", "2.5", ELLIPSIS):
        assert is_simple_name(name), name
        assert wrap_name(name) == name
    for name in ("x1*w1", "a + b", "tanh(a)*tanh(b)", "f(a) + g(b)", "-x", "my value"):
        assert not is_simple_name(name), name
        assert wrap_name(name) == f"({name})"


# -- grads not computed yet ----------------------------------------------------------------------


def _relu_graph() -> tuple[Value, Value]:
    x, w = Value(-2.0, label="x"), Value(3.0, label="w")
    xw = x * w
    out = xw.relu() + 1.0
    out.label = "out"
    return xw, out


def test_before_backward_grads_are_not_computed_yet() -> None:
    _, out = _relu_graph()
    a = analyze(out)
    st_ = final_state(a)
    assert not st_.seeded
    assert [grad_text(a, i, st_, ".4g") for i in range(len(a.order))] == ["grad ?"] * 5
    assert grad_note(a, st_) == "grad ? means not computed yet: call backward() on the output first"
    assert grad_detail(a, 0, st_) == "grad not computed yet: call backward() on the output first"
    assert not grad_is_final(a, a.root, st_)
    assert edge_product_text(a, a.root, 0, st_, ".4g") == "…"
    src = draw_dot(out, "backward").source
    assert ">grad ?<" in src
    assert ">grad 0<" not in src
    assert "means not computed yet" in src
    # a forward picture without grads has no "grad ?" to explain
    assert "means not computed yet" not in draw_dot(out, show_grad=False).source
    assert "means not computed yet" in draw_dot(out).source


def test_after_backward_a_computed_zero_is_shown_as_zero() -> None:
    xw, out = _relu_graph()
    out.backward()  # the relu at -6 passes 0 back: xw, x and w get a computed 0
    a = analyze(out)
    st_ = final_state(a)
    texts = {a.names[i]: grad_text(a, i, st_, ".4g") for i in range(len(a.order))}
    assert texts == {
        "x": "grad 0",
        "w": "grad 0",
        "x*w": "grad 0",
        "ReLU(x*w)": "grad 1",
        "out": "grad 1",
    }
    assert grad_note(a, st_) == ""
    assert grad_detail(a, 0, st_) == "grad = 0.0"
    assert edge_product_text(a, a.index[id(xw)] + 1, 0, st_, ".4g") == "1 × 0 = 0"
    src = draw_dot(out, "backward").source
    assert ">grad 0<" in src
    assert ">grad ?<" not in src
    # a node built later is not computed until a backward() reaches it
    later = out * 2.0
    la = analyze(later)
    lst = final_state(la)
    assert grad_text(la, la.root, lst, ".4g") == "grad ?"
    assert grad_text(la, la.index[id(out)], lst, ".4g") == "grad 1"
    later.backward()
    assert grad_text(la, la.root, final_state(la), ".4g") == "grad 1"


def test_stepper_states_count_as_computed() -> None:
    _, out = _relu_graph()
    a = analyze(out)
    n = len(a.order)
    st_ = State(grads=[0.0] * n, processed=[False] * n, seeded=True, exact=True)
    assert grad_text(a, 0, st_, ".4g") == "grad 0"  # backward() has set it to 0, then adds
    assert grad_note(a, st_) == ""
