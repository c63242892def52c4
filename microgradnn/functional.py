"""Functions over lists of Values: logsumexp, softmax and log_softmax, each computed stably.

The building blocks of classification: a network's K outputs (logits) become probabilities with
:func:`softmax`, and cross-entropy is ``logsumexp(x) - x_c``.

>>> from microgradnn import Value
>>> [round(p.data, 4) for p in softmax([Value(2.0), Value(0.0)])]
[0.8808, 0.1192]
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence
from typing import Union

from microgradnn._checks import describe
from microgradnn.engine import Value

__all__ = ["log_softmax", "logsumexp", "softmax"]

Operand = Union[Value, float]


def logsumexp(values: Sequence[Operand]) -> Value:
    """log(sum_i e**x_i) as one stable node (:meth:`Value.logsumexp`); its gradient is softmax(x).

    >>> round(logsumexp([Value(1000.0), Value(1000.0)]).data, 6)  # 1000 + log 2
    1000.693147
    """
    return Value.logsumexp(_operands(values, "logsumexp"))


def log_softmax(values: Sequence[Operand]) -> list[Value]:
    """Log-probabilities: log softmax(x)_i = x_i - logsumexp(x), computed stably.

    >>> [round(v.data, 6) for v in log_softmax([Value(0.0), Value(0.0)])]
    [-0.693147, -0.693147]
    """
    xs = _operands(values, "log_softmax")
    lse = Value.logsumexp(xs)
    return [v - lse for v in xs]


def softmax(values: Sequence[Operand]) -> list[Value]:
    """Probabilities e**x_i / sum_j e**x_j, computed as e**(x_i - logsumexp(x)).

    Every exponent is <= 0, so nothing overflows, even for logits of 1000.
    For two classes it is the sigmoid: softmax([x, 0]) = [sigmoid(x), 1 - sigmoid(x)].
    """
    xs = _operands(values, "softmax")
    lse = Value.logsumexp(xs)
    return [(v - lse).exp() for v in xs]


def _operands(values: Iterable[Operand], what: str) -> list[Value]:
    """The items as Values (numbers become constant leaves)."""
    if isinstance(values, (Value, str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what}: expected a list of Values or numbers, got {describe(values)}")
    xs: list[Value] = []
    for i, v in enumerate(values):
        if type(v) is Value:
            xs.append(v)
        elif isinstance(v, numbers.Real) and not isinstance(v, bool):
            xs.append(Value(float(v)))
        else:
            raise TypeError(f"{what}: item {i}: expected a Value or a number, got {describe(v)}")
    if not xs:
        raise ValueError(f"{what}: expected at least one value, got an empty list")
    return xs
