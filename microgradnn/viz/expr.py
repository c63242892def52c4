r"""A small, safe expression language for drawing graphs: ``tanh(x*w + b)``.

:func:`parse_expression` reads numbers, variables, ``+ - * / **`` (``^`` also means power),
unary minus, parentheses and calls of the engine's ops (``tanh``, ``exp``, ``log``,
``sigmoid``, ``relu``, ``leaky_relu(x, 0.1)``, ``sum(a, b, c)``, ...), and builds the graph
with real :class:`~microgradnn.Value` objects: each variable is one Value labeled by its
name, so ``x*x`` uses ``x`` twice. Statements separated by ``;`` or new lines may name
intermediate results, and the names become labels in the picture, as in the micrograd
lecture: ``n = x1*w1 + x2*w2 + b; o = tanh(n)``.

The parser is a hand-written tokenizer and recursive-descent parser over exactly this
grammar: it never calls ``eval`` and accepts nothing else, so it is safe on untrusted text::

    program   := statement ((';' | newline) statement)*
    statement := NAME '=' sum | sum
    sum       := product (('+' | '-') product)*
    product   := unary (('*' | '/') unary)*
    unary     := ('-' | '+') unary | power
    power     := atom (('**' | '^') unary)?          (right-associative, like Python)
    atom      := NUMBER | NAME | NAME '(' sum (',' sum)* ')' | '(' sum ')'

Pure-number parts are folded into constants (``2*3`` becomes ``6.0``), which the pictures
draw as small constant boxes, as the engine stores plain numbers.

:func:`cli_graph` is the ``microgradnn graph`` command; :func:`add_graph_arguments` adds its
options to an ``argparse`` parser.

>>> root, variables = parse_expression("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.8813735870195432})
>>> round(root.data, 4), sorted(variables)
(0.7071, ['b', 'w', 'x'])
>>> root.backward()
>>> round(variables["x"].grad, 4)
-1.5
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, Union

from microgradnn.engine import Value, no_grad
from microgradnn.ops import fdiv, fpow

__all__ = [
    "FUNCTIONS",
    "ExpressionError",
    "add_graph_arguments",
    "cli_graph",
    "parse_assignments",
    "parse_expression",
]

MAX_LENGTH = 10_000
MAX_DEPTH = 100

Operand = Union[Value, float]


class ExpressionError(ValueError):
    """A problem with an expression, with the position (0-based) it refers to, if any."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.message = message
        self.position = position
        if position is not None and text and "\n" not in text and len(text) <= 200:
            message = f"{message}\n  {text}\n  {' ' * position}^"
        super().__init__(message)


# -- functions ------------------------------------------------------------------------------------


def _unary(method: str) -> Callable[[list[Operand]], Operand]:
    def call(args: list[Operand]) -> Operand:
        return getattr(_as_value(args[0]), method)()  # type: ignore[no-any-return]

    return call


def _as_value(x: Operand) -> Value:
    return x if type(x) is Value else Value(x)


def _leaky(args: list[Operand]) -> Operand:
    slope = args[1] if len(args) > 1 else 0.01
    if type(slope) is Value:
        raise TypeError("slope must be a number (a constant), not an expression with variables")
    return _as_value(args[0]).leaky_relu(float(slope))


def _prelu(args: list[Operand]) -> Operand:
    return _as_value(args[0]).prelu(args[1])


def _sum(args: list[Operand]) -> Operand:
    return Value.sum(args)


def _sqrt(args: list[Operand]) -> Operand:
    return _as_value(args[0]) ** 0.5


FUNCTIONS: dict[str, tuple[int, int, Callable[[list[Operand]], Operand], str]] = {
    "exp": (1, 1, _unary("exp"), "e**x"),
    "log": (1, 1, _unary("log"), "natural log"),
    "tanh": (1, 1, _unary("tanh"), "hyperbolic tangent"),
    "sigmoid": (1, 1, _unary("sigmoid"), "1 / (1 + e**-x)"),
    "softplus": (1, 1, _unary("softplus"), "log(1 + e**x)"),
    "relu": (1, 1, _unary("relu"), "max(0, x)"),
    "leaky_relu": (1, 2, _leaky, "leaky_relu(x, slope=0.01)"),
    "prelu": (2, 2, _prelu, "prelu(x, alpha)"),
    "abs": (1, 1, _unary("abs"), "|x|"),
    "step": (1, 1, _unary("step"), "Heaviside step"),
    "sign": (1, 1, _unary("sign"), "-1, 0 or 1"),
    "hard_sigmoid": (1, 1, _unary("hard_sigmoid"), "clip(x + 1/2, 0, 1)"),
    "sum": (1, 10_000, _sum, "sum(a, b, ...) as one Σ node"),
    "sqrt": (1, 1, _sqrt, "x ** 0.5"),
}
"""Functions the language knows: name -> (min args, max args, implementation, description)."""


# -- tokens and syntax tree -----------------------------------------------------------------------

_TOKEN = re.compile(
    r"(?P<ws>[ \t\r]+)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z_0-9]*)"
    r"|(?P<op>\*\*|[-+*/^(),;=\n])"
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos = 0
    parens = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(
                f"unexpected character {text[pos]!r} at position {pos}", text, pos
            )
        kind = m.lastgroup
        assert kind is not None
        tok = m.group()
        parens += (tok == "(") - (tok == ")")
        if kind != "ws" and not (tok == "\n" and parens > 0):
            toks.append(_Tok(kind, tok, pos))
        pos = m.end()
    toks.append(_Tok("end", "", len(text)))
    return toks


@dataclass
class _Num:
    value: float
    pos: int


@dataclass
class _Name:
    name: str
    pos: int


@dataclass
class _Call:
    name: str
    args: list[_Node]
    pos: int


@dataclass
class _Neg:
    operand: _Node
    pos: int


@dataclass
class _Chain:
    first: _Node
    rest: list[tuple[str, _Node, int]]


@dataclass
class _Pow:
    base: _Node
    exponent: _Node
    pos: int


_Node = Union[_Num, _Name, _Call, _Neg, _Chain, _Pow]


@dataclass
class _Statement:
    target: str | None
    target_pos: int
    expr: _Node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.depth = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None) -> ExpressionError:
        tok = tok or self.peek()
        where = "the end" if tok.kind == "end" else f"position {tok.pos}"
        return ExpressionError(f"syntax error at {where}: {message}", self.text, tok.pos)

    def expect(self, text: str) -> _Tok:
        tok = self.peek()
        if tok.text != text or tok.kind not in ("op",):
            got = "the end of the expression" if tok.kind == "end" else repr(tok.text)
            raise self.error(f"expected {text!r}, got {got}")
        return self.take()

    def program(self) -> list[_Statement]:
        statements: list[_Statement] = []
        while True:
            while self.peek().text in (";", "\n") and self.peek().kind == "op":
                self.take()
            if self.peek().kind == "end":
                break
            statements.append(self.statement())
            tok = self.peek()
            if tok.kind == "end":
                break
            if tok.text not in (";", "\n"):
                raise self.error(f"unexpected {tok.text!r} (missing an operator?)")
        if not statements:
            raise ExpressionError("the expression is empty", self.text, 0)
        return statements

    def statement(self) -> _Statement:
        tok = self.peek()
        nxt = self.toks[self.i + 1]
        if tok.kind == "name" and nxt.text == "=":
            self.take()
            self.take()
            return _Statement(tok.text, tok.pos, self.sum())
        return _Statement(None, tok.pos, self.sum())

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"expression nested too deeply (more than {MAX_DEPTH} levels)")

    def sum(self) -> _Node:
        first = self.product()
        rest = []
        while self.peek().text in ("+", "-") and self.peek().kind == "op":
            op = self.take()
            rest.append((op.text, self.product(), op.pos))
        return _Chain(first, rest) if rest else first

    def product(self) -> _Node:
        first = self.unary()
        rest = []
        while self.peek().text in ("*", "/") and self.peek().kind == "op":
            op = self.take()
            rest.append((op.text, self.unary(), op.pos))
        return _Chain(first, rest) if rest else first

    def unary(self) -> _Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.take()
            self.nested()
            operand = self.unary()
            self.depth -= 1
            return _Neg(operand, tok.pos) if tok.text == "-" else operand
        return self.power()

    def power(self) -> _Node:
        base = self.atom()
        tok = self.peek()
        if tok.kind == "op" and tok.text in ("**", "^"):
            self.take()
            self.nested()
            exponent = self.unary()
            self.depth -= 1
            return _Pow(base, exponent, tok.pos)
        return base

    def atom(self) -> _Node:
        tok = self.take()
        if tok.kind == "num":
            return _Num(float(tok.text), tok.pos)
        if tok.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "op":
                self.take()
                self.nested()
                args = [self.sum()]
                while self.peek().text == ",":
                    self.take()
                    args.append(self.sum())
                self.expect(")")
                self.depth -= 1
                return _Call(tok.text, args, tok.pos)
            return _Name(tok.text, tok.pos)
        if tok.kind == "op" and tok.text == "(":
            self.nested()
            inner = self.sum()
            self.expect(")")
            self.depth -= 1
            return inner
        got = "the end of the expression" if tok.kind == "end" else repr(tok.text)
        raise self.error(f"expected a number, a variable, a function call or '(', got {got}", tok)


# -- evaluation -----------------------------------------------------------------------------------


def _known_functions() -> str:
    return ", ".join(sorted(FUNCTIONS))


def _names_used(node: _Node, out: list[tuple[str, int]]) -> None:
    if isinstance(node, _Name):
        out.append((node.name, node.pos))
    elif isinstance(node, _Call):
        for arg in node.args:
            _names_used(arg, out)
    elif isinstance(node, _Neg):
        _names_used(node.operand, out)
    elif isinstance(node, _Chain):
        _names_used(node.first, out)
        for _, operand, _ in node.rest:
            _names_used(operand, out)
    elif isinstance(node, _Pow):
        _names_used(node.base, out)
        _names_used(node.exponent, out)


class _Evaluator:
    def __init__(self, text: str, env: dict[str, Value]) -> None:
        self.text = text
        self.env = env

    def run(self, node: _Node) -> Operand:
        if isinstance(node, _Num):
            return node.value
        if isinstance(node, _Name):
            return self.env[node.name]
        if isinstance(node, _Neg):
            x = self.run(node.operand)
            return -x
        if isinstance(node, _Pow):
            a, b = self.run(node.base), self.run(node.exponent)
            if type(a) is not Value and type(b) is not Value:
                return fpow(float(a), float(b))
            return a**b
        if isinstance(node, _Chain):
            acc = self.run(node.first)
            for op, operand, _ in node.rest:
                acc = self._binary(op, acc, self.run(operand))
            return acc
        return self._call(node)

    @staticmethod
    def _binary(op: str, a: Operand, b: Operand) -> Operand:
        if type(a) is not Value and type(b) is not Value:
            x, y = float(a), float(b)
            if op == "+":
                return x + y
            if op == "-":
                return x - y
            return x * y if op == "*" else fdiv(x, y)
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return a / b

    def _call(self, node: _Call) -> Operand:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise ExpressionError(
                f"unknown function {node.name!r} at position {node.pos}; "
                f"known functions: {_known_functions()}",
                self.text,
                node.pos,
            )
        lo, hi, fn, doc = spec
        args = [self.run(arg) for arg in node.args]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 100 else f"at least {lo}"
            raise ExpressionError(
                f"{node.name}() takes {want} argument{'s' if want != '1' else ''} ({doc}), "
                f"got {len(args)}",
                self.text,
                node.pos,
            )
        try:
            if all(type(a) is not Value for a in args):
                with no_grad():
                    out = fn([Value(float(a)) if i == 0 else a for i, a in enumerate(args)])
                return out.data if type(out) is Value else float(out)
            return fn(args)
        except TypeError as err:
            raise ExpressionError(
                f"{node.name}() at position {node.pos}: {err}", self.text, node.pos
            ) from None


def _check_values(values: Mapping[str, object] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if values is None:
        return out
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values must be a mapping of names to numbers, got {type(values).__name__}"
        )
    for name, v in values.items():
        if not isinstance(name, str):
            raise TypeError(f"variable names must be strings, got {name!r}")
        if type(v) is Value:
            out[name] = v.data
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)) or isinstance(v, complex):
            try:
                out[name] = float(v)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise TypeError(
                    f"the value of {name!r} must be a number, got {type(v).__name__}: {v!r}"
                ) from None
            continue
        out[name] = float(v)
    return out


def parse_expression(
    text: str, values: Mapping[str, float] | None = None
) -> tuple[Value, dict[str, Value]]:
    """Parse ``text`` and build its computation graph with the given variable values.

    Args:
        text: The expression, e.g. ``"tanh(x*w + b)"``, or statements such as
            ``"n = x*w + b; o = tanh(n)"`` (the last one is the output).
        values: A number for every variable, e.g. ``{"x": 2, "w": -3, "b": 6.88}``.

    Returns:
        ``(output Value, {variable name: its Value})``, variables in order of first use.
        Named intermediate results are labeled with their names; an unnamed output is
        labeled ``out``.

    Raises:
        ExpressionError: (a ``ValueError``) a syntax error (with its position), an unknown
            function (listing the known ones), a missing or unused value, a name assigned
            twice, or an expression with no variables.
        TypeError: ``text`` is not a string or a value is not a number.

    >>> out, xs = parse_expression("n = x*x + 1; o = 2*n", {"x": 3})
    >>> out.label, out.data, [v.label for v in out._prev if isinstance(v, Value)]
    ('o', 20.0, ['n'])
    """
    if not isinstance(text, str):
        raise TypeError(f"the expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(text)} characters, at most {MAX_LENGTH})"
        )
    given = _check_values(values)
    statements = _Parser(text).program()
    assigned: dict[str, int] = {}
    variables: list[str] = []
    positions: dict[str, int] = {}
    for st in statements:
        used: list[tuple[str, int]] = []
        _names_used(st.expr, used)
        for name, pos in used:
            if name in FUNCTIONS:
                raise ExpressionError(
                    f"{name!r} at position {pos} is a function: call it, e.g. {name}(x)",
                    text,
                    pos,
                )
            if name not in assigned and name not in positions:
                variables.append(name)
                positions[name] = pos
        if st.target is not None:
            if st.target in assigned or st.target in positions:
                what = "assigned twice" if st.target in assigned else "already used as a variable"
                raise ExpressionError(
                    f"{st.target!r} at position {st.target_pos} is {what}",
                    text,
                    st.target_pos,
                )
            if st.target in FUNCTIONS:
                raise ExpressionError(
                    f"{st.target!r} is a function name; pick another name",
                    text,
                    st.target_pos,
                )
            assigned[st.target] = st.target_pos
    missing = [n for n in variables if n not in given]
    if missing:
        example = " ".join(f"{n}=1.0" for n in missing)
        raise ExpressionError(
            f"no value for variable{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            f"give every variable a number (command line: --set {example})",
            text,
            positions[missing[0]],
        )
    unused = [n for n in given if n not in positions]
    if unused:
        raise ExpressionError(
            f"{', '.join(repr(n) for n in unused)} "
            f"{'is not a variable' if len(unused) == 1 else 'are not variables'} of the "
            f"expression (its variables: {', '.join(variables) or 'none'})"
        )
    if not variables:
        raise ExpressionError(
            "the expression has no variables, so there is nothing to differentiate; "
            "use a name such as x and give it a value"
        )
    env = {name: Value(given[name], label=name) for name in variables}
    ev = _Evaluator(text, env)
    result: Operand = 0.0
    for st in statements:
        result = ev.run(st.expr)
        if st.target is not None:
            if type(result) is not Value:
                result = Value(result)
            if result._op is not None or result.label == "":
                result.label = st.target
            env[st.target] = result
    if type(result) is not Value:
        result = Value(result)
    if result.label == "":
        taken = set(env)
        result.label = "out" if "out" not in taken else "result"
    return result, {name: env[name] for name in variables}


# -- the command line -----------------------------------------------------------------------------


def parse_assignments(items: Sequence[str] | None) -> dict[str, float]:
    """``["x=2", "w=-3"]`` -> ``{"x": 2.0, "w": -3.0}``, with errors naming the bad item."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"--set expects NAME=NUMBER, got {item!r}")
        try:
            number = float(value)
        except ValueError:
            raise ExpressionError(
                f"--set {name}: expected a number after '=', got {value!r}"
            ) from None
        if name in out:
            raise ExpressionError(f"--set gives {name} twice")
        out[name] = number
    return out


def add_graph_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``microgradnn graph`` options to ``parser`` (see :func:`cli_graph`)."""
    parser.add_argument("expr", help="the expression, e.g. 'tanh(x*w + b)' or 'n = x*w; tanh(n)'")
    parser.add_argument(
        "--set",
        dest="set",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME=NUMBER",
        help="values of the variables, e.g. --set x=2 w=-3 b=6.88",
    )
    parser.add_argument(
        "-o",
        "--out",
        "--output",
        dest="out",
        default=None,
        help="picture file (.svg, .png, .pdf, or .dot for the DOT source); "
        "with --view both, NAME-forward.EXT and NAME-backward.EXT",
    )
    parser.add_argument(
        "--view",
        choices=("forward", "backward", "both"),
        default="backward",
        help="forward (values, local derivatives) or backward (chain-rule products); "
        "default backward",
    )
    parser.add_argument(
        "--format",
        choices=("svg", "png", "pdf", "dot"),
        default=None,
        help="picture format (default: from the file name, else svg)",
    )
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="layout direction")
    parser.add_argument(
        "--number-format", dest="number_format", default=".4g", help="number format (.4g)"
    )
    parser.add_argument(
        "--hide-constants",
        dest="hide_constants",
        action="store_true",
        help="fold constants into their op nodes",
    )
    parser.add_argument(
        "--html",
        default=None,
        metavar="FILE",
        help="also write the step-by-step backward page (self-contained HTML)",
    )
    return parser


def _outputs(out: str, view: str, fmt: str | None) -> list[tuple[str, Path, str]]:
    path = Path(out)
    fmt = (fmt or path.suffix.lstrip(".") or "svg").lower()
    if fmt == "gv":
        fmt = "dot"
    if not path.suffix:
        path = path.with_suffix("." + fmt)
    if view != "both":
        return [(view, path, fmt)]
    return [
        (v, path.with_name(f"{path.stem}-{v}{path.suffix}"), fmt) for v in ("forward", "backward")
    ]


def cli_graph(args: Any, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """The ``microgradnn graph`` command: parse, run backward(), print grads, draw pictures.

    Reads ``args.expr``, ``args.set`` (``["x=2", ...]``), ``args.out`` (or ``args.output``),
    ``args.view`` (``forward``/``backward``/``both``), ``args.format``, and optionally
    ``rankdir``, ``number_format``, ``hide_constants`` and ``html``.

    Returns:
        0 on success, 2 for a bad expression or values, 1 when graphviz is missing.
    """
    from microgradnn.viz._common import GraphvizNotFoundError
    from microgradnn.viz.graph import draw_dot, render
    from microgradnn.viz.stepper import save_backward_html

    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    try:
        values = parse_assignments(getattr(args, "set", None))
        root, variables = parse_expression(args.expr, values)
        root.backward()
        fmt_spec = getattr(args, "number_format", None) or ".4g"
        print(f"{root.label} = {format(root.data, fmt_spec)}", file=out_stream)
        width = max(len(n) for n in variables)
        for name, v in variables.items():
            print(
                f"  {name:<{width}} = {format(v.data, fmt_spec):<10}  "
                f"d{root.label}/d{name} = {format(v.grad, fmt_spec)}",
                file=out_stream,
            )
        out = getattr(args, "out", None) or getattr(args, "output", None)
        view = getattr(args, "view", None) or "backward"
        if view not in ("forward", "backward", "both"):
            raise ExpressionError(f"--view must be forward, backward or both, got {view!r}")
        written: list[Path] = []
        if out:
            for v_name, path, fmt in _outputs(str(out), view, getattr(args, "format", None)):
                graph = draw_dot(
                    root,
                    v_name,
                    rankdir=getattr(args, "rankdir", None) or "LR",
                    fmt=fmt_spec,
                    hide_constants=bool(getattr(args, "hide_constants", False)),
                )
                written.append(render(graph, path, fmt))
        html_path = getattr(args, "html", None)
        if html_path:
            written.append(save_backward_html(root, html_path, fmt=fmt_spec))
        for path in written:
            print(f"wrote {path}", file=out_stream)
        if not out and not html_path:
            print(
                "(pass -o graph.svg to draw it, --html steps.html to step through backward)",
                file=out_stream,
            )
    except GraphvizNotFoundError as err:
        print(f"microgradnn graph: error: {err}", file=err_stream)
        return 1
    except (ValueError, TypeError) as err:
        print(f"microgradnn graph: error: {err}", file=err_stream)
        return 2
    return 0
