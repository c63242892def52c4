"""Argument checks, one family with one wording for the whole package.

Every check names the argument, says what was expected and shows what came in::

    lr: expected a number >= 0, got -1.0
    batch_size: expected an integer >= 1, got str '32'

A value of the wrong *type* raises ``TypeError``; a value of the right type but outside what is
allowed raises ``ValueError``. ``bool`` is never taken for a number (``True`` is not 1 here).

>>> number("lr", -1.0, low=0.0)
Traceback (most recent call last):
...
ValueError: lr: expected a number >= 0, got -1.0
>>> integer("epochs", "10", low=0)
Traceback (most recent call last):
...
TypeError: epochs: expected an integer >= 0, got str '10'
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, TypeVar

__all__ = [
    "choice",
    "describe",
    "flag",
    "integer",
    "keys",
    "number",
    "optional_number",
]

T = TypeVar("T")


def describe(x: object) -> str:
    """``type repr`` of a value for an error message, shortened: ``str 'abc'``, ``float nan``."""
    shown = repr(x)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{type(x).__name__} {shown}"


def _fmt(x: float) -> str:
    return f"{x:g}"


def _range_text(
    what: str, low: float | None, high: float | None, low_open: bool, high_open: bool
) -> str:
    """``a number >= 0``, ``a number in [0, 1)``, ``an integer >= 1``."""
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"{what} in {left}{_fmt(low)}, {_fmt(high)}{right}"
    if low is not None:
        return f"{what} {'>' if low_open else '>='} {_fmt(low)}"
    if high is not None:
        return f"{what} {'<' if high_open else '<='} {_fmt(high)}"
    return what


def number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    finite: bool = True,
) -> float:
    """``value`` as a float, checked against the bounds (inclusive unless ``*_open``).

    Args:
        name: The argument's name, as the caller knows it.
        value: What came in.
        low: Smallest allowed value (None: no bound).
        high: Largest allowed value (None: no bound).
        low_open: Exclude ``low`` itself.
        high_open: Exclude ``high`` itself.
        finite: Refuse nan and +-inf.

    Raises:
        TypeError: Not a real number (bools are refused).
        ValueError: Outside the bounds, or not finite.
    """
    text = _range_text("a number", low, high, low_open, high_open)
    if finite and low is None and high is None:
        text = "a finite number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected {text}, got {describe(value)}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name}: expected {text}, got a number too large for a float") from None
    if finite and not math.isfinite(x):
        raise ValueError(f"{name}: expected {text}, got {x!r}")
    if x != x:  # nan passes no bound
        if low is not None or high is not None:
            raise ValueError(f"{name}: expected {text}, got {x!r}")
        return x
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        raise ValueError(f"{name}: expected {text}, got {x!r}")
    return x


def optional_number(name: str, value: object, **bounds: Any) -> float | None:
    """``None`` as is, anything else through :func:`number`."""
    return None if value is None else number(name, value, **bounds)


def integer(name: str, value: object, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int within ``[low, high]`` (numpy integers are fine; floats are not).

    Raises:
        TypeError: Not an integer (bools and floats are refused).
        ValueError: Outside the bounds.
    """
    text = _range_text("an integer", low, high, False, False)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected {text}, got {describe(value)}")
    n = int(value)
    if (low is not None and n < low) or (high is not None and n > high):
        raise ValueError(f"{name}: expected {text}, got {n}")
    return n


def flag(name: str, value: object) -> bool:
    """``value`` if it is True or False; a TypeError for anything else (``"no"``, 0, None)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}: expected True or False, got {describe(value)}")
    return value


def choice(name: str, value: object, choices: Iterable[T]) -> T:
    """``value`` if it is one of ``choices``; a ValueError listing them otherwise.

    >>> choice("view", "sideways", ("forward", "backward"))
    Traceback (most recent call last):
    ...
    ValueError: view: expected one of 'forward', 'backward', got 'sideways'
    """
    options = list(choices)
    for option in options:
        if type(value) is type(option) and value == option:
            return option
    shown = ", ".join(repr(c) for c in options)
    got = repr(value) if isinstance(value, str) or value is None else describe(value)
    raise ValueError(f"{name}: expected one of {shown}, got {got}")


def keys(name: str, value: object, expected: Iterable[str]) -> dict[str, Any]:
    """``value`` if it is a dict with exactly the ``expected`` keys (a saved state, say).

    >>> keys("state_dict", {"lr": 1.0, "extra": 2}, ["lr", "step"])
    Traceback (most recent call last):
    ...
    ValueError: state_dict: missing keys ['step'], unexpected keys ['extra']
    """
    if not isinstance(value, dict):
        raise TypeError(f"{name}: expected a dict, got {describe(value)}")
    wanted = set(expected)
    missing, extra = wanted - set(value), set(value) - wanted
    if missing or extra:
        raise ValueError(f"{name}: missing keys {sorted(missing)}, unexpected keys {sorted(extra)}")
    return value
