r"""Text helpers shared by the pictures: numbers, names inside formulas, derivative texts.

:func:`fill_formula` writes an op row's derivative template (``b·a^(b-1)``) in the graph's
names and simplifies what constants make trivial, so ``x**2`` is labelled ``2·x``, not
``2·x^(2-1)``.

Notation: ``·`` multiplies where a name takes part (``2·x``, ``o·(1 - o)``), ``×`` only between
two numbers (as in the chain-rule products ``0.5 × -3``); never the letter x.

>>> fmt_num(-0.0, ".4g"), wrap_name("x1*w1"), wrap_name("L0.N2.w1"), esc('a < "b"')
('0', '(x1*w1)', 'L0.N2.w1', 'a &lt; &quot;b&quot;')
>>> fill_formula("b·a^(b-1)", {"a": "x"}, {"b": 3.0})
'3·x²'
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from microgradnn._checks import describe

__all__ = [
    "ELLIPSIS",
    "esc",
    "fill_formula",
    "fmt_num",
    "is_simple_name",
    "number_format",
    "wrap_name",
]

ELLIPSIS = "…"
"""What stands for a part of a name left out to keep it short."""


MAX_FORMAT_WIDTH = 50
"""The largest width and precision a number format may ask for (``.1000000000g`` would build a
string of a gigabyte for every number before anything could refuse it)."""


def number_format(name: str, value: object) -> str:
    """``value`` if it is a float format spec such as ``".4g"`` or ``".3f"``, of bounded size.

    The width and precision are checked on the text, at most :data:`MAX_FORMAT_WIDTH`, before
    anything is formatted.

    >>> number_format("fmt", "q")
    Traceback (most recent call last):
    ...
    ValueError: fmt: expected a float format spec such as '.4g' or '.3f', got 'q'
    >>> number_format("fmt", ".1000000000g")
    Traceback (most recent call last):
    ...
    ValueError: fmt: expected a width and precision of at most 50, got '.1000000000g'

    Raises:
        TypeError: Not a string.
        ValueError: A string that cannot format a float, or asks for too many characters.
    """
    expected = "a float format spec such as '.4g' or '.3f'"
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected {expected}, got {describe(value)}")
    if not value.isprintable():
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    # Every run of digits in a spec is its width or precision (or a one-digit fill).
    for digits in re.findall(r"\d+", value):
        significant = digits.lstrip("0")
        if len(significant) > 3 or int(significant or 0) > MAX_FORMAT_WIDTH:
            raise ValueError(
                f"{name}: expected a width and precision of at most {MAX_FORMAT_WIDTH}, "
                f"got {value!r}"
            )
    try:
        format(1.5, value)
    except ValueError:
        raise ValueError(f"{name}: expected {expected}, got {value!r}") from None
    return value


def fmt_num(x: float, fmt: str) -> str:
    """Format a number for a picture; ``-0`` is shown as ``0`` (a sign there teaches nothing)."""
    if x == 0.0:
        x = 0.0
    return format(x, fmt)


def esc(text: str) -> str:
    """Escape text for a graphviz HTML-like label (``& < > "``)."""
    return html.escape(text, quote=True)


_SIMPLE_NAME = re.compile(r"^(#?[\w.]+|[-+]?[\d.]+(e[-+]?\d+)?|…)$")
_CALL_HEAD = re.compile(r"^[^\W\d][\w.]*\(")


def _one_call(name: str) -> bool:
    """``f(...)`` whose first parenthesis closes at the very end: ``tanh(n)``, not ``f(a)*g(b)``."""
    if not _CALL_HEAD.match(name) or not name.endswith(")"):
        return False
    depth = 0
    for pos, ch in enumerate(name):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return pos == len(name) - 1
    return False


def is_simple_name(name: str) -> bool:
    """Whether a name reads as one token inside a formula: ``x1``, ``L0.N2.w1``, ``tanh(n)``."""
    return bool(_SIMPLE_NAME.match(name)) or _one_call(name)


def wrap_name(name: str) -> str:
    """A name as it appears inside a formula: parenthesised unless it is one simple token."""
    return name if is_simple_name(name) else f"({name})"


# -- derivative templates ------------------------------------------------------------------------
# A template is parsed into a small tree, constants are put in, the tree is simplified and
# printed. A template the little grammar cannot read (``1 if a > 0 else 0``) is only filled in.


@dataclass(frozen=True)
class _F:
    """A node of a formula: ``num``, ``sym``, ``neg``, ``call`` or an operator ``+ - · / ^``."""

    kind: str
    num: float = 0.0
    name: str = ""
    args: tuple[_F, ...] = ()


_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_TO_SUPER = str.maketrans("0123456789", _SUPERSCRIPTS)
_FROM_SUPER = str.maketrans(_SUPERSCRIPTS, "0123456789")
_TOKEN = re.compile(
    rf"\s*(?:(?P<num>\d+\.?\d*(?:e[-+]?\d+)?|\.\d+)|(?P<sup>[{_SUPERSCRIPTS}]+)"
    rf"|(?P<name>(?:(?![{_SUPERSCRIPTS}])[^\W\d])(?:(?![{_SUPERSCRIPTS}])\w)*)"
    r"|(?P<op>[-+·*×/^()]))"
)
_TIMES = {"·", "*", "×"}


class _UnreadableError(Exception):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _UnreadableError
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """expr := term (± term)*; term := unary ((·|/) unary)*; unary := -unary | power."""

    def __init__(self, tokens: list[tuple[str, str]], subst: Mapping[str, _F]) -> None:
        self.toks = tokens
        self.pos = 0
        self.subst = subst

    def peek(self) -> tuple[str, str]:
        return self.toks[self.pos] if self.pos < len(self.toks) else ("end", "")

    def take(self, op: str) -> bool:
        if self.peek() == ("op", op):
            self.pos += 1
            return True
        return False

    def parse(self) -> _F:
        tree = self.expr()
        if self.pos != len(self.toks):
            raise _UnreadableError
        return tree

    def expr(self) -> _F:
        tree = self.term()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.toks[self.pos][1]
            self.pos += 1
            tree = _F(op, args=(tree, self.term()))
        return tree

    def term(self) -> _F:
        tree = self.unary()
        while True:
            kind, tok = self.peek()
            if kind != "op" or (tok not in _TIMES and tok != "/"):
                return tree
            self.pos += 1
            tree = _F("/" if tok == "/" else "·", args=(tree, self.unary()))

    def unary(self) -> _F:
        if self.take("-"):
            return _F("neg", args=(self.unary(),))
        return self.power()

    def power(self) -> _F:
        tree = self.atom()
        while True:
            kind, tok = self.peek()
            if kind == "sup":
                self.pos += 1
                tree = _F("^", args=(tree, _F("num", num=float(tok.translate(_FROM_SUPER)))))
            elif (kind, tok) == ("op", "^"):
                self.pos += 1
                exponent = _F("neg", args=(self.atom(),)) if self.take("-") else self.atom()
                tree = _F("^", args=(tree, exponent))
            else:
                return tree

    def atom(self) -> _F:
        kind, tok = self.peek()
        self.pos += 1
        if kind == "num":
            return _F("num", num=float(tok))
        if kind == "name":
            if self.take("("):
                arg = self.expr()
                if not self.take(")"):
                    raise _UnreadableError
                return _F("call", name=tok, args=(arg,))
            return self.subst.get(tok, _F("sym", name=tok))
        if (kind, tok) == ("op", "("):
            inner = self.expr()
            if not self.take(")"):
                raise _UnreadableError
            return inner
        raise _UnreadableError


def _num(x: float) -> _F:
    return _F("num", num=x)


def _is(f: _F, x: float) -> bool:
    return f.kind == "num" and f.num == x


def _fold(kind: str, a: float, b: float) -> float | None:
    """``a kind b`` as a real, finite number, or None (then the formula keeps both numbers)."""
    try:
        if kind == "+":
            r = a + b
        elif kind == "-":
            r = a - b
        elif kind == "·":
            r = a * b
        elif kind == "/":
            r = a / b
        else:
            r = a**b
    except (ZeroDivisionError, OverflowError):
        return None
    if isinstance(r, complex) or not math.isfinite(r):
        return None
    return float(r)


def _simplify(f: _F) -> _F:
    if f.kind in ("num", "sym"):
        return f
    args = tuple(_simplify(a) for a in f.args)
    kind = f.kind
    if kind == "call":
        return _F("call", name=f.name, args=args)
    if kind == "neg":
        (x,) = args
        if x.kind == "num":
            return _num(-x.num)
        if x.kind == "neg":
            return x.args[0]
        if x.kind in ("·", "/") and x.args[0].kind == "num":  # -(c·y) = (-c)·y
            return _F(x.kind, args=(_num(-x.args[0].num), x.args[1]))
        return _F("neg", args=args)
    a, b = args
    if a.kind == "num" and b.kind == "num":
        r = _fold(kind, a.num, b.num)
        if r is not None:
            return _num(r)
    if kind in ("+", "-"):
        if _is(b, 0.0):
            return a
        if _is(a, 0.0):
            return b if kind == "+" else _simplify(_F("neg", args=(b,)))
        flip = "-" if kind == "+" else "+"
        if b.kind == "num" and b.num < 0.0:
            return _F(flip, args=(a, _num(-b.num)))
        if b.kind == "neg":
            return _F(flip, args=(a, b.args[0]))
        return _F(kind, args=args)
    if kind == "·":
        if _is(a, 0.0) or _is(b, 0.0):
            return _num(0.0)
        if b.kind == "num" and a.kind != "num":
            a, b = b, a
        if _is(a, 1.0):
            return b
        if _is(b, 1.0):
            return a
        if _is(a, -1.0):
            return _simplify(_F("neg", args=(b,)))
        if a.kind == "num" and b.kind == "neg":
            return _simplify(_F("·", args=(_num(-a.num), b.args[0])))
        if a.kind == "num" and b.kind == "·" and b.args[0].kind == "num":
            return _simplify(_F("·", args=(_num(a.num * b.args[0].num), b.args[1])))
        if b.kind == "/" and _is(b.args[0], 1.0):  # c·(1/y) = c/y
            return _F("/", args=(a, b.args[1]))
        return _F("·", args=(a, b))
    if kind == "/":
        if _is(b, 1.0):
            return a
        if _is(a, 0.0) and not _is(b, 0.0):
            return _num(0.0)
        return _F("/", args=args)
    # kind == "^"
    if _is(b, 1.0):
        return a
    if _is(b, 0.0) or _is(a, 1.0):
        return _num(1.0)
    if b.kind == "num" and b.num < 0.0:  # x^(-n) = 1/x^n
        return _F("/", args=(_num(1.0), _simplify(_F("^", args=(a, _num(-b.num))))))
    return _F("^", args=args)


_PREC = {"+": 1, "-": 1, "·": 2, "/": 2, "neg": 3, "^": 4}


def _prec(f: _F) -> int:
    if f.kind == "num":
        return 3 if f.num < 0.0 else 5
    return _PREC.get(f.kind, 5)


def _show(f: _F, names: Mapping[str, str], fmt: str, tight: bool = False) -> str:
    def show(g: _F, paren: bool) -> str:
        text = _show(g, names, fmt, tight)
        return f"({text})" if paren else text

    kind = f.kind
    if kind == "num":
        return fmt_num(f.num, fmt)
    if kind == "sym":
        return wrap_name(names[f.name]) if f.name in names else f.name
    if kind == "call":
        return f"{f.name}({_show(f.args[0], names, fmt)})"
    if kind == "neg":
        return "-" + show(f.args[0], _prec(f.args[0]) < 3)
    a, b = f.args
    pa, pb = _prec(a), _prec(b)
    if kind == "^":
        base = show(a, pa <= 4)
        if b.kind == "num" and b.num >= 0.0 and b.num == int(b.num) and b.num < 1e6:
            return base + str(int(b.num)).translate(_TO_SUPER)
        exponent = _show(b, names, fmt, tight=True)
        return f"{base}^{exponent}" if pb == 5 else f"{base}^({exponent})"
    if kind in ("+", "-"):
        sep = kind if tight else f" {kind} "
        return show(a, False) + sep + show(b, pb < 1 or (kind == "-" and pb == 1))
    symbol = "×" if kind == "·" and a.kind == b.kind == "num" else kind
    right = show(b, pb <= 3 if kind == "/" else pb < 2 or pb == 3)
    return show(a, pa < 2) + symbol + right


def fill_formula(
    template: str,
    names: Mapping[str, str],
    constants: Mapping[str, float] | None = None,
    fmt: str = ".4g",
) -> str:
    """An op row's derivative template written in the graph's names, constants worked out.

    ``a``, ``b`` and ``out`` in the template stand for the inputs and the output. Each is
    replaced by its name from ``names`` (parenthesised unless one token) or by its number from
    ``constants``; then numbers are worked out (``b-1`` with ``b = 2`` is 1) and trivial factors
    and powers dropped (``a^1`` is ``a``, ``1·a`` is ``a``, ``0·…`` is 0, ``c·a^(-n)`` is
    ``c/aⁿ``). A template the simplifier cannot read (``1 if a > 0 else b``) is filled in as it
    is.

    >>> rule = "b·a^(b-1)"
    >>> fill_formula(rule, {"a": "x"}, {"b": 2.0}), fill_formula(rule, {"a": "x"}, {"b": -1.0})
    ('2·x', '-1/x²')
    >>> fill_formula("-a/b²", {"b": "x"}, {"a": 3.0}), fill_formula("1 - out²", {"out": "tanh(n)"})
    ('-3/x²', '1 - tanh(n)²')
    """
    consts = constants or {}
    subst = {k: _num(float(v)) for k, v in consts.items()}
    try:
        tree = _Parser(_tokens(template), subst).parse()
    except (_UnreadableError, ValueError):
        return _fill_plain(template, names, consts, fmt)
    return _show(_simplify(tree), names, fmt)


_PLAIN_TOKEN = re.compile(r"(?<![A-Za-z_\u0370-\u03ff])(a|b|out)(?![A-Za-z_\u0370-\u03ff])")


def _fill_plain(
    template: str, names: Mapping[str, str], consts: Mapping[str, float], fmt: str
) -> str:
    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok in consts:
            return wrap_name(fmt_num(float(consts[tok]), fmt))
        if tok in names:
            return wrap_name(names[tok])
        return tok

    return _PLAIN_TOKEN.sub(repl, template)
