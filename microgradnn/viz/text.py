"""Text helpers shared by the pictures: numbers, names inside formulas, escaping.

>>> fmt_num(-0.0, ".4g"), wrap_name("x1*w1"), wrap_name("x1"), esc('a < "b"')
('0', '(x1*w1)', 'x1', 'a &lt; &quot;b&quot;')
"""

from __future__ import annotations

import html
import re

from microgradnn._checks import describe

__all__ = ["esc", "fmt_num", "number_format", "wrap_name"]


def number_format(name: str, value: object) -> str:
    """``value`` if it is a float format spec such as ``".4g"`` or ``".3f"``.

    >>> number_format("fmt", "q")
    Traceback (most recent call last):
    ...
    ValueError: fmt: expected a float format spec such as '.4g' or '.3f', got 'q'

    Raises:
        TypeError: Not a string.
        ValueError: A string that cannot format a float.
    """
    expected = "a float format spec such as '.4g' or '.3f'"
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected {expected}, got {describe(value)}")
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


_SIMPLE_NAME = re.compile(r"^(#?\w+|[-+]?[\d.]+(e[-+]?\d+)?|inf|nan)$")


def wrap_name(name: str) -> str:
    """A name as it appears inside a formula: parenthesised unless it is one simple token."""
    return name if _SIMPLE_NAME.match(name) else f"({name})"
