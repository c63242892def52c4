r"""A small, safe expression language for drawing graphs: ``tanh(x*w + b)``.

:func:`parse_expression` reads numbers, variables, ``+ - * / **`` (``^`` also means power),
unary minus, parentheses and calls of the op table's functions (``tanh``, ``exp``, ``log``,
``sigmoid``, ``relu``, ``leaky_relu(x, 0.1)``, ``sum(a, b, c)``, ... and any op a learner
registers with :func:`microgradnn.ops.register`), and builds the graph with real
:class:`~microgradnn.Value` objects: each variable is one Value labeled by its name, so ``x*x``
uses ``x`` twice. Statements separated by ``;`` or new lines may name intermediate results, and
the names become labels in the picture, as in the micrograd lecture:
``n = x1*w1 + x2*w2 + b; o = tanh(n)``.

Python's own parser (:func:`ast.parse`) reads the text, after ``^`` is rewritten to ``**`` (so
it keeps power's precedence and right-associativity; Python alone would read ``^`` as XOR,
below ``+``). A walk over the syntax tree then accepts only this whitelist, and refuses
everything else (attributes, indexing, strings, comparisons, lambdas, keyword arguments, ...)
with an error that points at it. Nothing is ever run through ``eval``, so the language is safe
on untrusted text::

    program   := statement ((';' | newline) statement)*
    statement := NAME '=' expr | expr                        (Assign with one Name; Expr)
    expr      := expr ('+' | '-' | '*' | '/' | '**') expr    (BinOp; Python's precedence)
               | ('-' | '+') expr                            (UnaryOp)
               | NAME '(' expr (',' expr)* ')'               (Call of a function name)
               | NAME | NUMBER | '(' expr ')'                (Name; int or float Constant)

The functions are the op table's rows that have a ``method`` (arity, optional trailing inputs
and description from the row), plus ``sqrt(x)`` (``x ** 0.5``); the infix operators are the rows
whose ``infix``/``prefix`` is Python's symbol. Pure-number parts are folded into constants
(``2*3`` becomes ``6.0``), which the pictures draw as small constant boxes, as the engine
stores plain numbers.

>>> root, variables = parse_expression("tanh(x*w + b)", {"x": 2, "w": -3, "b": 6.8813735870195432})
>>> round(root.data, 4), sorted(variables)
(0.7071, ['b', 'w', 'x'])
>>> root.backward()
>>> round(variables["x"].grad, 4)
-1.5
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import keyword
import operator
import re
import tokenize
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

from microgradnn import ops
from microgradnn._checks import describe, number
from microgradnn.engine import Value, no_grad
from microgradnn.ops import Op

__all__ = [
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "ExpressionError",
    "Function",
    "parse_expression",
]

MAX_LENGTH = 10_000
"""The longest expression accepted, in characters."""
MAX_DEPTH = 100
"""The deepest nesting accepted: of brackets, and of unary signs, calls and exponents.

Python's parser has limits of its own (about 200 brackets, a few thousand operators in one
chain); input beyond them is an :class:`ExpressionError` too."""

Operand = Union[Value, float]


class ExpressionError(ValueError):
    """A problem with an expression, with the position (0-based) it refers to, if any."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.message = message
        self.position = position
        if position is not None and text and "\n" not in text and len(text) <= 200:
            message = f"{message}\n  {text}\n  {' ' * position}^"
        super().__init__(message)


# -- functions: the op table's rows, read live ----------------------------------------------------


class Function(NamedTuple):
    """One function of the language, ``name(args)``.

    Attributes:
        min_args: The fewest inputs it takes.
        max_args: The most inputs it takes (None: any number, as ``sum``).
        apply: Builds its output from the inputs (Values or plain numbers).
        doc: What it computes (the op row's ``doc``).
    """

    min_args: int
    max_args: int | None
    apply: Callable[[list[Operand]], Operand]
    doc: str


def _as_value(x: Operand) -> Value:
    return x if type(x) is Value else Value(x)


def _input_names(op: Op) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = inspect.signature(op.forward).parameters.values()
    return [p.name for p in params if p.kind in kinds and p.default is p.empty]


def _op_function(op: Op) -> Function:
    """The function of an op row: ``Value.<method>`` with the row's arity and defaults."""
    method: Callable[..., Value] = getattr(Value, str(op.method))
    if op.variadic:

        def apply_all(args: list[Operand]) -> Operand:
            return method(args)

        return Function(1, None, apply_all, op.doc)
    required = op.arity - len(op.defaults)

    def apply(args: list[Operand]) -> Operand:
        # Trailing inputs with defaults are settings (leaky_relu's slope), not graph inputs.
        for i in range(required, len(args)):
            if type(args[i]) is Value:
                names = _input_names(op)
                name = names[i] if i < len(names) else f"input {i + 1}"
                raise TypeError(
                    f"{name} must be a number (a constant), not an expression with variables"
                )
        return method(_as_value(args[0]), *args[1:])

    return Function(required, op.arity, apply, op.doc)


_EXTRAS: dict[str, Function] = {
    "sqrt": Function(1, 1, lambda args: _as_value(args[0]) ** 0.5, "x ** 0.5"),
}
"""The language's own conveniences, for names no op row takes."""


class _Functions(Mapping[str, Function]):
    """A read-only view of the functions: every op row with a ``method``, then the extras.

    It reads the op table on each access, so an op registered at run time is a function at once.
    """

    def __getitem__(self, name: str) -> Function:
        try:
            return _op_function(ops.find(method=name))
        except KeyError:
            return _EXTRAS[name]

    def __iter__(self) -> Iterator[str]:
        methods = [op.method for op in ops.OPS.values() if op.method is not None]
        yield from methods
        yield from (name for name in _EXTRAS if name not in methods)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"<expression functions: {', '.join(sorted(self))}>"


FUNCTIONS: Mapping[str, Function] = _Functions()
"""Functions the language knows: name -> (min args, max args, implementation, description)."""


# -- Python operators: the op rows they read as ---------------------------------------------------

_INFIX: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.Pow: ("**", operator.pow),
}
"""The Python operators the language has: each one's symbol, by which ``ops.find(infix=...)``
finds its row (whose ``forward`` folds constants), and the Python operator that applies that
row to Values (the engine's operators are the rows)."""

_PYTHON_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Not: "not",
    ast.Invert: "~",
}
"""How the refused operators are written, for error messages."""


# -- reading the text -----------------------------------------------------------------------------

_ALLOWED_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
    " \t\r\n+-*/^(),;=.'\"[]{}<>!%&|~@:"
)
"""What may appear in the text: ASCII only (so columns are characters), no comments, no
backslashes; quotes, brackets and the like are let through so the tree walk can name them."""

_CLOSING = {"(": ")", "[": "]", "{": "}"}

_SYNTAX = "expected a number, a variable, a function call or '('"


@dataclass(frozen=True)
class _Source:
    """The user's text, the same statements in Python's syntax, and how their columns match.

    ``origin[i]`` is the index in ``text`` of ``python[i]`` (``origin[len(python)]`` is
    ``len(text)``), so every position Python reports is shown under the user's own text.
    """

    text: str
    python: str
    origin: tuple[int, ...]
    line_starts: tuple[int, ...]
    closers: str

    def index(self, lineno: int | None, col: int | None) -> int:
        """The index in ``python`` of Python's (1-based line, 0-based column)."""
        if not lineno or lineno < 1:
            return 0
        if lineno > len(self.line_starts):
            return len(self.python)
        return min(self.line_starts[lineno - 1] + max(col or 0, 0), len(self.python))

    def at(self, lineno: int | None, col: int | None) -> int:
        """The position in the user's text of Python's (line, column)."""
        return self.origin[self.index(lineno, col)]

    def of(self, node: ast.AST) -> int:
        """Where a node starts in the user's text."""
        return self.at(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))

    def after(self, node: ast.AST) -> int:
        """The first character after ``node`` past blanks and closing parentheses: its operator."""
        i = self.index(getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))
        while i < len(self.python) and self.python[i] in " \t\n)":
            i += 1
        return self.origin[i]

    def shown(self, start: int, end: int) -> str:
        """The user's text for ``python[start:end]`` (``^`` where Python reads ``**``)."""
        if start >= len(self.python):
            return ""
        last = self.origin[min(end, len(self.python)) - 1]
        return self.text[self.origin[start] : last + 1]


def _read(text: str) -> _Source:
    """Check the characters and the bracket depth, and rewrite the text in Python's syntax.

    ``^`` becomes ``**``; ``;`` outside brackets becomes a new line (so ``x;;y`` and a leading
    ``;`` are fine); leading blanks of a line go (Python would read them as indentation); a
    carriage return is a blank.
    """
    out: list[str] = []
    origin: list[int] = []
    open_brackets: list[str] = []
    line_start = True
    for i, ch in enumerate(text):
        if ch not in _ALLOWED_CHARACTERS:
            raise ExpressionError(f"unexpected character {ch!r} at position {i}", text, i)
        if ch in _CLOSING:
            open_brackets.append(ch)
            if len(open_brackets) > MAX_DEPTH:
                raise ExpressionError(
                    f"syntax error at position {i}: expression nested too deeply "
                    f"(more than {MAX_DEPTH} levels)",
                    text,
                    i,
                )
        elif ch in ")]}" and open_brackets:
            open_brackets.pop()
        if ch == "\r":
            ch = " "
        elif ch == ";" and not open_brackets:
            ch = "\n"
        if ch == "\n":
            line_start = True
        elif line_start and ch in " \t":
            continue
        else:
            line_start = False
        piece = "**" if ch == "^" else ch
        out.append(piece)
        origin.extend([i] * len(piece))
    origin.append(len(text))
    python = "".join(out)
    starts = [0] + [i + 1 for i, ch in enumerate(python) if ch == "\n"]
    closers = "".join(_CLOSING[b] for b in reversed(open_brackets))
    return _Source(text, python, tuple(origin), tuple(starts), closers)


def _too_deep() -> ExpressionError:
    return ExpressionError(
        "the expression is nested too deeply for Python's parser (or one chain of operators "
        "is too long); split it into statements, e.g. n1 = ...; n2 = n1 + ..."
    )


class _TooDeepError(Exception):
    """Python's parser ran out of stack on deep input."""


def _python_parse(python: str) -> ast.Module:
    """``ast.parse``, with Python's own depth limits turned into one exception."""
    try:
        with warnings.catch_warnings():
            # Python only warns about some malformed input ("1if x"); here it is an error.
            warnings.simplefilter("error", SyntaxWarning)
            warnings.simplefilter("error", DeprecationWarning)
            return ast.parse(python, mode="exec")
    except (RecursionError, MemoryError):
        raise _TooDeepError from None
    except SyntaxError as err:
        if "too many nested" in str(err.msg) or "too complex" in str(err.msg):
            raise _TooDeepError from None
        raise


def _parse(src: _Source) -> ast.Module:
    try:
        return _python_parse(src.python)
    except _TooDeepError:
        raise _too_deep() from None
    except SyntaxError as err:
        raise _syntax_error(src, err) from None
    except ValueError as err:  # e.g. an integer literal longer than Python's digit limit
        raise ExpressionError(f"syntax error: {err}", src.text) from None


def _syntax_error(src: _Source, err: SyntaxError) -> ExpressionError:
    """Python's syntax error, said in the language's words where the tokens make it clear."""
    found: tuple[str, int | None] | None = _token_problem(src)
    if found is None and src.closers:
        try:
            _python_parse(src.python + src.closers)
        except (_TooDeepError, SyntaxError, ValueError) as later:
            if isinstance(later, SyntaxError):
                err = later
        else:
            found = (f"expected {src.closers[0]!r}, got the end of the expression", len(src.text))
    if found is None:
        position = src.at(err.lineno, (err.offset or 1) - 1) if err.lineno else None
        found = (str(err.msg), position)
    message, pos = found
    where = "the end" if pos == len(src.text) else f"position {pos}"
    if pos is None:
        return ExpressionError(f"syntax error: {message}", src.text)
    return ExpressionError(f"syntax error at {where}: {message}", src.text, pos)


def _token_problem(src: _Source) -> tuple[str, int] | None:
    """The first pair of tokens the language cannot have next to each other, if any.

    Reads Python's tokens of the text (with its open brackets closed), so that ``x + * y`` says
    what was expected and ``x y`` asks for the missing operator. None where the tokens look
    fine or hold something this check does not know (Python's own message is used then).
    """
    python = src.python + src.closers
    tokens: list[tokenize.TokenInfo] = []
    with contextlib.suppress(tokenize.TokenError, SyntaxError):
        tokens.extend(tokenize.generate_tokens(io.StringIO(python).readline))

    def where(tok: tokenize.TokenInfo) -> tuple[int, int]:
        start = src.index(*tok.start)
        if start >= len(src.python):
            return len(src.python), len(src.text)
        return start, src.origin[start]

    def got(tok: tokenize.TokenInfo) -> tuple[str, int]:
        start, pos = where(tok)
        if pos == len(src.text):
            return "the end of the expression", pos
        end = start + max(len(tok.string), 1)
        return repr(src.shown(start, end)), pos

    operand_next = True
    depth = 0
    in_statement = 0
    prev: tokenize.TokenInfo | None = None
    for tok in tokens:
        kind, s = tok.type, tok.string
        if kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if in_statement and operand_next:
                shown, pos = got(tok)
                return f"{_SYNTAX}, got {shown}", pos
            operand_next, in_statement, prev = True, 0, None
            continue
        if kind in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            continue
        if kind == tokenize.NAME and keyword.iskeyword(s):
            return None
        if kind in (tokenize.NAME, tokenize.NUMBER):
            if not operand_next:
                shown, pos = got(tok)
                return f"unexpected {shown} (missing an operator?)", pos
            operand_next = False
        elif kind == tokenize.OP and s == "(":
            if not operand_next and (prev is None or prev.type != tokenize.NAME):
                shown, pos = got(tok)
                return f"unexpected {shown} (missing an operator?)", pos
            depth += 1
            operand_next = True
        elif kind == tokenize.OP and s == ")":
            if depth == 0:
                shown, pos = got(tok)
                return f"unmatched {shown}", pos
            if operand_next and (prev is None or prev.string not in ("(", ",")):
                shown, pos = got(tok)
                return f"{_SYNTAX}, got {shown}", pos
            depth -= 1
            operand_next = False
        elif kind == tokenize.OP and s in ("+", "-"):
            operand_next = True
        elif kind == tokenize.OP and s in ("*", "/", "**", ",", "="):
            if operand_next:
                shown, pos = got(tok)
                return f"{_SYNTAX}, got {shown}", pos
            after_name = prev is not None and prev.type == tokenize.NAME
            if s == "=" and not (in_statement == 1 and depth == 0 and after_name):
                shown, pos = got(tok)
                return "'=' must follow a name at the start of a statement, as in n = x*w", pos
            operand_next = True
        elif kind == tokenize.OP and s == ";":
            shown, pos = got(tok)
            return f"expected ')', got {shown}", pos
        else:
            return None
        in_statement += 1
        prev = tok
    return None


# -- the whitelist --------------------------------------------------------------------------------

_LANGUAGE = (
    "expressions have numbers, variables, + - * / ** (or ^), parentheses and calls such as tanh(x)"
)

_REFUSED: dict[type[ast.AST], str] = {
    ast.Subscript: "indexing with [...]",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.Starred: "unpacking with *",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "'... if ... else ...'",
    ast.List: "a list [...]",
    ast.Tuple: "a tuple (several values separated by commas)",
    ast.Set: "a set {...}",
    ast.Dict: "a dict {...}",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a comprehension",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment with ':='",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield from'",
    ast.AugAssign: "an augmented assignment such as +=",
    ast.AnnAssign: "an annotation (name: ...)",
}
"""How error messages name the Python syntax the language refuses."""


@dataclass(frozen=True)
class _Statement:
    target: str | None
    target_pos: int
    expr: ast.expr
    uses: tuple[tuple[str, int, ast.expr], ...]
    """Names and calls in source order: (name, position, the Name or Call node)."""


def _refused(node: ast.AST, src: _Source) -> tuple[int, str]:
    """Where ``node`` is and the message that refuses it."""
    pos = src.of(node)
    hint = _LANGUAGE
    if isinstance(node, ast.Attribute):
        pos = src.after(node.value)
        what = f"attribute access '.{node.attr}'"
    elif isinstance(node, ast.Subscript):
        pos = src.after(node.value)
        what = _REFUSED[ast.Subscript]
    elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)):
        if not isinstance(node, ast.UnaryOp):
            pos = src.after(node.left)
        op = node.ops[0] if isinstance(node, ast.Compare) else node.op
        symbol = _PYTHON_SYMBOLS.get(type(op))
        what = f"the operator {symbol!r}" if symbol else _REFUSED.get(type(node), "a comparison")
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (str, bytes)):
            what = f"the string {value!r}"
        elif isinstance(value, bool) or value is None:
            what = repr(value)
        elif isinstance(value, complex):
            what = "a complex number"
        else:
            what = repr(value)
    elif isinstance(node, ast.Call):
        pos = src.after(node.func)
        what = "a call of something that is not a function name"
        hint = "missing an operator? e.g. 2*(x + 1)"
    elif isinstance(node, ast.keyword):
        what = f"the keyword argument '{node.arg}='" if node.arg else "unpacking with **"
        hint = "give a function's inputs in order, e.g. leaky_relu(x, 0.1)"
    elif isinstance(node, ast.Assign):
        if len(node.targets) > 1:
            what = "a chained assignment (a = b = ...)"
        else:
            pos = src.of(node.targets[0])
            what = "an assignment to something other than one name"
        hint = "a statement names one result, as in n = x*w + b"
    elif type(node) in _REFUSED:
        what = _REFUSED[type(node)]
    elif isinstance(node, ast.stmt):
        word = re.match(r"[A-Za-z_]+", src.python[src.index(node.lineno, node.col_offset) :])
        what = f"the Python statement {(word.group() if word else type(node).__name__)!r}"
    else:
        what = f"Python's {type(node).__name__} syntax"
    return pos, f"{what} at position {pos} is not allowed; {hint}"


def _walk(
    stmt_value: ast.expr, src: _Source, problems: list[tuple[int, str]]
) -> list[tuple[str, int, ast.expr]]:
    """Check one statement's expression against the whitelist, without recursion.

    Returns the names and calls in source order; adds each refused node to ``problems``.
    """
    uses: list[tuple[str, int, ast.expr]] = []
    stack: list[tuple[ast.AST, int]] = [(stmt_value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            pos = src.of(node)
            problems.append(
                (
                    pos,
                    f"syntax error at position {pos}: expression nested too deeply "
                    f"(more than {MAX_DEPTH} levels)",
                )
            )
            continue
        children: list[tuple[ast.AST, int]] = []
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            pass
        elif isinstance(node, ast.Name):
            uses.append((node.id, src.of(node), node))
        elif isinstance(node, ast.BinOp) and type(node.op) in _INFIX:
            children = [(node.left, depth), (node.right, depth + 1)]  # a chain stays flat
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            children = [(node.operand, depth + 1)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            uses.append((node.func.id, src.of(node), node))
            children = [(arg, depth + 1) for arg in [*node.args, *node.keywords]]
        else:
            problems.append(_refused(node, src))
            children = [
                (child, depth + 1)
                for child in ast.iter_child_nodes(node)
                if hasattr(child, "col_offset")
            ]
        stack.extend(reversed(children))
    return uses


def _statements(tree: ast.Module, src: _Source) -> list[_Statement]:
    """The program's statements, after every node passed the whitelist."""
    problems: list[tuple[int, str]] = []
    statements: list[_Statement] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if not isinstance(target, ast.Name):
                problems.append(_refused(stmt, src))
                continue
            uses = _walk(stmt.value, src, problems)
            statements.append(_Statement(target.id, src.of(target), stmt.value, tuple(uses)))
        elif isinstance(stmt, ast.Expr):
            uses = _walk(stmt.value, src, problems)
            statements.append(_Statement(None, src.of(stmt), stmt.value, tuple(uses)))
        else:
            problems.append(_refused(stmt, src))
    if problems:
        pos, message = min(problems, key=lambda p: p[0])
        raise ExpressionError(message, src.text, pos)
    if not statements:
        raise ExpressionError("the expression is empty", src.text, 0)
    return statements


# -- evaluation -----------------------------------------------------------------------------------


def _number(node: ast.Constant) -> float:
    value = node.value
    assert isinstance(value, (int, float))
    try:
        return float(value)
    except OverflowError:  # an integer literal beyond the float range
        return float("inf")


class _Evaluator:
    def __init__(self, src: _Source, env: dict[str, Value], functions: dict[str, Function]):
        self.src = src
        self.env = env
        self.functions = functions

    def run(self, node: ast.expr) -> Operand:
        if isinstance(node, ast.Constant):
            return _number(node)
        if isinstance(node, ast.Name):
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            x = self.run(node.operand)
            if isinstance(node.op, ast.UAdd):
                return x
            row = ops.find(prefix="-")
            return float(row.forward(x)) if type(x) is not Value else -x
        if isinstance(node, ast.BinOp):
            spine: list[ast.BinOp] = []
            while isinstance(node, ast.BinOp):  # the left operands of a chain, without recursion
                spine.append(node)
                node = node.left
            acc = self.run(node)
            for binop in reversed(spine):
                acc = self.binary(binop.op, acc, self.run(binop.right))
            return acc
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        return self.call(node, node.func.id)

    @staticmethod
    def binary(op: ast.operator, a: Operand, b: Operand) -> Operand:
        symbol, python = _INFIX[type(op)]
        if type(a) is not Value and type(b) is not Value:
            return float(ops.find(infix=symbol).forward(float(a), float(b)))
        return python(a, b)  # type: ignore[no-any-return]

    def call(self, node: ast.Call, name: str) -> Operand:
        fn = self.functions[name]
        args = [self.run(arg) for arg in node.args]
        try:
            if all(type(a) is not Value for a in args):
                with no_grad():
                    out = fn.apply([Value(float(a)) if i == 0 else a for i, a in enumerate(args)])
                return out.data if type(out) is Value else float(out)
            return fn.apply(args)
        except (TypeError, ValueError, ArithmeticError) as err:
            pos = self.src.of(node)
            raise ExpressionError(
                f"{name}() at position {pos}: {err}", self.src.text, pos
            ) from None


def _check_values(values: Mapping[str, object] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    if values is None:
        return out
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values: expected a mapping of variable names to numbers, got {describe(values)}"
        )
    for name, v in values.items():
        if not isinstance(name, str):
            raise TypeError(f"values: expected variable names (str) as keys, got {describe(name)}")
        out[name] = v.data if type(v) is Value else number(f"values[{name!r}]", v, finite=False)
    return out


def _arity(name: str, fn: Function, count: int) -> str | None:
    """What is wrong with calling ``fn`` with ``count`` inputs, or None."""
    lo, hi = fn.min_args, fn.max_args
    if lo <= count and (hi is None or count <= hi):
        return None
    want = f"at least {lo}" if hi is None else str(lo) if lo == hi else f"{lo} to {hi}"
    plural = "" if want in ("1", "at least 1") else "s"
    return f"{name}() takes {want} argument{plural} ({fn.doc}), got {count}"


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
        ExpressionError: (a ``ValueError``) a syntax error or Python syntax outside the
            language (with its position), an unknown function (listing the known ones), a
            missing or unused value, a name assigned twice, or an expression with no variables.
        TypeError: ``text`` is not a string or a value is not a number.

    >>> out, xs = parse_expression("n = x*x + 1; o = 2*n", {"x": 3})
    >>> out.label, out.data, [v.label for v in out._prev if isinstance(v, Value)]
    ('o', 20.0, ['n'])
    """
    if not isinstance(text, str):
        raise TypeError(f"text: expected a string (the expression), got {describe(text)}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression is too long ({len(text)} characters, at most {MAX_LENGTH})"
        )
    given = _check_values(values)
    src = _read(text)
    statements = _statements(_parse(src), src)
    functions = dict(FUNCTIONS)
    assigned: dict[str, int] = {}
    variables: list[str] = []
    positions: dict[str, int] = {}
    for st in statements:
        for name, pos, node in st.uses:
            if isinstance(node, ast.Call):
                if name not in functions:
                    raise ExpressionError(
                        f"unknown function {name!r} at position {pos}; "
                        f"known functions: {', '.join(sorted(functions))}",
                        text,
                        pos,
                    )
                problem = _arity(name, functions[name], len(node.args))
                if problem:
                    raise ExpressionError(problem, text, pos)
                continue
            if name in functions:
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
            if st.target in functions:
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
    ev = _Evaluator(src, env, functions)
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


MOVED_TO_CLI = ("add_graph_arguments", "cli_graph", "parse_assignments")
"""Names of the ``graph`` command that lived here before it moved to :mod:`microgradnn.cli`."""


def moved_to_cli(module: str, name: str) -> Any:
    """``microgradnn.cli.<name>``, with a DeprecationWarning saying it moved from ``module``.

    The `graph` command moved to microgradnn.cli (pictures know no command line); the old
    import paths keep working, and cli is imported only when one of them is used.
    """
    from microgradnn import cli

    warnings.warn(
        f"{module}.{name} moved to microgradnn.cli.{name}", DeprecationWarning, stacklevel=3
    )
    return getattr(cli, name)


def __getattr__(name: str) -> Any:
    if name in MOVED_TO_CLI:
        return moved_to_cli(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
