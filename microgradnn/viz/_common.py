"""Helpers shared by the pictures: number formatting, escaping, names, graphviz errors."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import graphviz

from microgradnn.engine import Value

__all__ = ["GraphvizNotFoundError"]

INSTALL_HINT = (
    "graphviz's `dot` program is needed to render pictures (pip cannot install it). "
    "Install it with `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/ "
    "(Windows: add its bin folder to PATH). The DOT source (`graph.source`) works without it."
)


class GraphvizNotFoundError(RuntimeError):
    """Raised when a picture must be rendered but graphviz's ``dot`` program is not installed."""


@contextmanager
def dot_errors() -> Iterator[None]:
    """Turn graphviz's ``ExecutableNotFound`` into a :class:`GraphvizNotFoundError`."""
    try:
        yield
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err


def check_fmt(fmt: object) -> str:
    """Validate a number format spec such as ``".4g"``; returns it."""
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a format spec string like '.4g', got {type(fmt).__name__}")
    try:
        format(1.5, fmt)
    except ValueError:
        raise ValueError(
            f"fmt must be a float format spec like '.4g' or '.3f', got {fmt!r}"
        ) from None
    return fmt


def fmt_num(x: float, fmt: str) -> str:
    """Format a number for a picture; ``-0`` is shown as ``0``."""
    if x == 0.0:
        x = 0.0
    return format(x, fmt)


def esc(text: str) -> str:
    """Escape text for a graphviz HTML-like label (``& < > "``)."""
    return html.escape(text, quote=True)


def check_value(root: object, func: str) -> Value:
    """Raise a clear TypeError unless ``root`` is a :class:`~microgradnn.Value`."""
    if type(root) is not Value:
        hint = ""
        if isinstance(root, (list, tuple)):
            hint = " (for several outputs, draw their loss, or draw each Value separately)"
        raise TypeError(f"{func} expects a Value as root, got {type(root).__name__}{hint}")
    return root


def check_choice(name: str, value: object, choices: tuple[object, ...]) -> None:
    """Raise a ValueError naming the allowed choices unless ``value`` is one of them."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {shown}; got {value!r}")


_SIMPLE_NAME = re.compile(r"^(#?\w+|[-+]?[\d.]+(e[-+]?\d+)?|inf|nan)$")


def wrap_name(name: str) -> str:
    """A name as it appears inside a formula: parenthesised unless it is one simple token."""
    return name if _SIMPLE_NAME.match(name) else f"({name})"


def op_expression(node: Value, names: list[str]) -> str:
    """How a node was computed, in the learners' notation: ``x * w``, ``tanh(n)``, ``Σ(a, b)``.

    Args:
        node: A non-leaf Value.
        names: One display name per entry of ``node._prev`` (constants already formatted).
    """
    op = node._op
    if op is None:
        return ""
    wrapped = [wrap_name(n) for n in names]
    if op.name in ("add", "sub", "mul", "div", "pow") and len(wrapped) == 2:
        return f"{wrapped[0]} {op.symbol} {wrapped[1]}"
    if op.name == "neg":
        return f"-{wrapped[0]}"
    return f"{op.label(node._arg)}({', '.join(names)})"


_FORMULA_TOKEN = re.compile(r"(?<![A-Za-z_])(a|b|out|slope)(?![A-Za-z_])|α")


def local_formula(node: Value, k: int, names: list[str], out_name: str) -> str:
    """The op table's ``local_text`` for input ``k`` of ``node``, with the learner's names.

    ``a``/``b`` become the names of the first/second input, ``out`` the node's own name,
    ``slope``/``α`` the op's parameter.
    """
    op = node._op
    if op is None:
        return ""
    texts = op.local_text
    text = texts[k] if k < len(texts) else texts[0]

    def repl(m: re.Match[str]) -> str:
        tok = m.group(0)
        if tok == "a":
            return wrap_name(names[0])
        if tok == "b":
            return wrap_name(names[1]) if len(names) > 1 else tok
        if tok == "out":
            return wrap_name(out_name)
        if tok == "slope":
            return f"{node._arg:g}" if node._arg is not None else tok
        return wrap_name(names[1]) if len(names) > 1 else tok

    return _FORMULA_TOKEN.sub(repl, text)
