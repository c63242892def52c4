r"""Loss functions: how far the model's predictions are from the targets, as one Value.

Every loss takes ``(preds, targets)``: ``preds`` is a list over the batch, each a Value (one
output) or a list of Values (vector outputs, e.g. logits); ``targets`` holds the matching
numbers (a list, a numpy array, or Values). A bare Value and a single number are a batch of one.
The result is the mean over the batch (``reduction="sum"`` adds instead); element-wise losses
average over every element, as PyTorch does. Each formula matches its PyTorch counterpart in
value and gradient.

>>> from microgradnn import Value
>>> preds = [Value(0.5), Value(-1.0)]
>>> loss = mse_loss(preds, [1.0, -1.0])  # ((0.5 - 1)**2 + 0**2) / 2
>>> loss.backward()
>>> loss.data, preds[0].grad
(0.125, -0.5)
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, Union

import numpy as np

from microgradnn.engine import Value, describe
from microgradnn.nn import logsumexp

__all__ = [
    "LOSSES",
    "LossFunction",
    "bce_loss",
    "bce_with_logits_loss",
    "cross_entropy_loss",
    "get_loss",
    "hinge_loss",
    "l2_regularization",
    "logistic_loss",
    "mse_loss",
]

Operand = Union[Value, float]
LossFunction = Callable[..., Value]
"""A loss: ``loss(preds, targets) -> Value``."""

_REDUCTIONS = ("mean", "sum")


class _HasParameters(Protocol):
    def parameters(self) -> list[Value]: ...


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _is_scalar(x: object) -> bool:
    return type(x) is Value or isinstance(x, numbers.Real)


def _items(x: Any, what: str, loss: str) -> list[Any]:
    """The batch as a list: a bare Value or number is a batch of one."""
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if _is_scalar(x):
        return [x]
    if isinstance(x, (str, bytes)) or not isinstance(x, Iterable):
        raise TypeError(f"{loss}: {what} must be a list of Values or numbers, got {describe(x)}")
    items = list(x)
    if not items:
        raise ValueError(f"{loss}: {what} is empty")
    return items


def _element(v: Any, what: str, loss: str, wrap: bool) -> Operand:
    if type(v) is Value:
        return v
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{loss}: {what} must be a number or a Value, got {describe(v)}")
    return Value(float(v)) if wrap else float(v)


def _rows(x: Any, what: str, loss: str, wrap: bool) -> list[list[Any]]:
    """Each example as a list of elements (one for scalar outputs)."""
    rows: list[list[Any]] = []
    for i, item in enumerate(_items(x, what, loss)):
        if isinstance(item, np.ndarray):
            item = item.tolist()
        if _is_scalar(item):
            rows.append([_element(item, f"{what}[{i}]", loss, wrap)])
        elif isinstance(item, (list, tuple)) and item:
            rows.append([_element(v, f"{what}[{i}][{j}]", loss, wrap) for j, v in enumerate(item)])
        else:
            raise TypeError(
                f"{loss}: {what}[{i}] must be a number, a Value or a non-empty list of them, "
                f"got {describe(item)}"
            )
    return rows


def _pairs(preds: Any, targets: Any, loss: str) -> list[tuple[Value, Operand]]:
    """(prediction, target) for every element, after checking that the shapes match."""
    p_rows = _rows(preds, "preds", loss, wrap=True)
    t_rows = _rows(targets, "targets", loss, wrap=False)
    if len(p_rows) != len(t_rows):
        raise ValueError(
            f"{loss}: preds has {_plural(len(p_rows), 'example')}, targets has {len(t_rows)}"
        )
    pairs: list[tuple[Value, Operand]] = []
    for i, (p, t) in enumerate(zip(p_rows, t_rows, strict=True)):
        if len(p) != len(t):
            raise ValueError(
                f"{loss}: example {i}: preds has {_plural(len(p), 'value')}, targets has {len(t)}"
            )
        pairs.extend(zip(p, t, strict=True))
    return pairs


def _reduce(terms: Sequence[Operand], reduction: str, loss: str) -> Value:
    if reduction == "mean":
        return Value.sum(terms) / len(terms)
    if reduction == "sum":
        return Value.sum(terms)
    raise ValueError(f"{loss}: unknown reduction {reduction!r}; choose one of: mean, sum")


def _data(t: Operand) -> float:
    return t.data if isinstance(t, Value) else t


def mse_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Mean squared error: mean over all elements of (p - t)**2; d/dp = 2 (p - t) / n.

    Matches ``torch.nn.MSELoss``.

    >>> round(mse_loss([Value(2.0)], [0.0]).data, 6)
    4.0
    """
    pairs = _pairs(preds, targets, "mse_loss")
    return _reduce([(p - t) ** 2 for p, t in pairs], reduction, "mse_loss")


def bce_loss(preds: Any, targets: Any, *, eps: float = 1e-12, reduction: str = "mean") -> Value:
    """Binary cross-entropy on probabilities: -(t log p + (1 - t) log(1 - p)).

    d/dp = (p - t) / (p (1 - p)). p is clamped to [eps, 1 - eps] first (gradient 0 outside),
    so a saturated sigmoid gives a large finite loss, not inf; PyTorch's ``BCELoss`` instead
    caps each log at -100. Both agree away from 0 and 1. Computing BCE from probabilities is
    the numerically fragile way: prefer :func:`bce_with_logits_loss` on raw scores.

    Raises:
        ValueError: A prediction or target is outside [0, 1].

    >>> round(bce_loss([Value(0.8)], [1.0]).data, 6)  # -log 0.8
    0.223144
    """
    pairs = _pairs(preds, targets, "bce_loss")
    hi = 1.0 - eps
    terms: list[Operand] = []
    for i, (p, t) in enumerate(pairs):
        if not 0.0 <= p.data <= 1.0:
            raise ValueError(
                f"bce_loss expects probabilities in [0, 1] (e.g. sigmoid outputs), got "
                f"{p.data!r} at element {i}; for raw scores use bce_with_logits_loss"
            )
        if not 0.0 <= _data(t) <= 1.0:
            raise ValueError(f"bce_loss expects targets in [0, 1], got {_data(t)!r} at element {i}")
        # clamp(p, eps, 1 - eps) from relus, so the graph has the same shape for every p
        q = (p - eps).relu() - (p - hi).relu() + eps
        terms.append(-(t * q.log() + (1.0 - t) * (1.0 - q).log()))
    return _reduce(terms, reduction, "bce_loss")


def bce_with_logits_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """Binary cross-entropy on raw scores f (logits): softplus(f) - t f.

    Equal to BCE(sigmoid(f), t) but stable for any f; d/df = sigmoid(f) - t. Matches
    ``torch.nn.BCEWithLogitsLoss``.

    >>> round(bce_with_logits_loss([Value(0.0)], [1.0]).data, 6)  # log 2
    0.693147
    """
    pairs = _pairs(preds, targets, "bce_with_logits_loss")
    terms = [p.softplus() - t * p for p, t in pairs]
    return _reduce(terms, reduction, "bce_with_logits_loss")


def cross_entropy_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    r"""Cross-entropy of softmax(logits) against a class index or a distribution.

    Fused and stable: for class c, logsumexp(x) - x_c; for a target distribution t (one-hot
    or probabilities), -\sum_j t_j (x_j - logsumexp(x)). d/dx_j = softmax(x)_j - t_j. Matches
    ``torch.nn.CrossEntropyLoss`` with class indices or probability targets; logits of 1000
    are fine.

    Args:
        preds: One list of K logits per example (a flat list of Values with one class index
            is one example).
        targets: Per example a class index in 0..K-1 (an int) or a list of K probabilities
            (numbers or Values: the compiled path, :mod:`microgradnn.compile`, uses one-hot).
        reduction: "mean" over the batch or "sum".

    >>> round(cross_entropy_loss([[Value(0.0), Value(0.0)]], [1]).data, 6)  # log 2
    0.693147
    """
    loss = "cross_entropy_loss"
    items = _items(preds, "preds", loss)
    if all(_is_scalar(p) for p in items) and _is_scalar(targets):
        items = [items]
    rows = _rows(items, "preds", loss, wrap=True)
    goals = _items(targets, "targets", loss)
    if len(rows) != len(goals):
        raise ValueError(
            f"{loss}: preds has {_plural(len(rows), 'example')}, targets has {len(goals)}"
        )
    terms: list[Operand] = []
    for i, (row, goal) in enumerate(zip(rows, goals, strict=True)):
        k = len(row)
        if k < 2:
            raise ValueError(
                f"{loss} needs at least 2 logits per example, example {i} has {k}; pass one "
                "list of logits per example, e.g. [model(x) for x in X] for a model with K "
                "outputs (for one output, use bce_with_logits_loss)"
            )
        lse = logsumexp(row)
        if isinstance(goal, np.ndarray):
            goal = goal.tolist()
        if _is_scalar(goal):
            terms.append(lse - row[_class_index(goal, k, i)])
            continue
        if not isinstance(goal, (list, tuple)):
            raise TypeError(
                f"{loss}: targets[{i}] must be a class index or a list of {k} probabilities, "
                f"got {describe(goal)}"
            )
        if len(goal) != k:
            raise ValueError(f"{loss}: example {i}: {k} logits, {len(goal)} target probabilities")
        ts = [_element(t, f"targets[{i}][{j}]", loss, wrap=False) for j, t in enumerate(goal)]
        dot = Value.sum([t * x for t, x in zip(ts, row, strict=True) if type(t) is Value or t])
        if all(type(t) is not Value for t in ts):
            mass = math.fsum(_data(t) for t in ts)
            terms.append((lse if mass == 1.0 else lse * mass) - dot)
        else:
            terms.append(lse * Value.sum(ts) - dot)
    return _reduce(terms, reduction, loss)


def _class_index(goal: Any, k: int, i: int) -> int:
    if type(goal) is Value:
        # A graph cannot pick a logit by a Value's number: a traced (compiled) graph would
        # keep the first example's choice for every example.
        raise TypeError(
            f"cross_entropy_loss: example {i}: a class index must be a plain int, not a Value; "
            "pass one-hot targets (a list of K Values) instead"
        )
    value = goal
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        value = math.nan
    value = float(value)
    if not value.is_integer():
        raise TypeError(
            f"cross_entropy_loss: example {i}: a class index must be an integer, "
            f"got {describe(goal)}"
        )
    c = int(value)
    if not 0 <= c < k:
        raise ValueError(
            f"cross_entropy_loss: example {i}: {k} logits, class index {c} out of range"
        )
    return c


def _pm1_pairs(preds: Any, targets: Any, loss: str) -> list[tuple[Value, Operand]]:
    pairs = _pairs(preds, targets, loss)
    for i, (_, t) in enumerate(pairs):
        y = _data(t)
        if y != 1.0 and y != -1.0:
            raise ValueError(
                f"{loss} needs targets in {{-1, +1}}, got {y!r} at element {i}; convert 0/1 "
                "labels with microgradnn.data.to_pm1(y)"
            )
    return pairs


def hinge_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """The SVM hinge loss: mean of max(0, 1 - y f), targets y in {-1, +1}.

    d/df = -y where y f < 1, else 0 (no gradient once the margin is met). micrograd's demo
    loss.

    >>> hinge_loss([Value(0.5), Value(2.0)], [1, 1]).data  # (0.5 + 0) / 2
    0.25
    """
    pairs = _pm1_pairs(preds, targets, "hinge_loss")
    return _reduce([(1.0 - t * p).relu() for p, t in pairs], reduction, "hinge_loss")


def logistic_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    """The logistic loss: mean of log(1 + e**(-y f)) = softplus(-y f), targets y in {-1, +1}.

    d/df = -y sigmoid(-y f). The same as BCE with logits for labels 0/1.

    >>> round(logistic_loss([Value(0.0)], [1]).data, 6)  # log 2
    0.693147
    """
    pairs = _pm1_pairs(preds, targets, "logistic_loss")
    return _reduce([(p * -t).softplus() for p, t in pairs], reduction, "logistic_loss")


def l2_regularization(params: Iterable[Value] | _HasParameters, alpha: float) -> Value:
    """The L2 penalty alpha * sum_i p_i**2 (weight decay); d/dp_i = 2 alpha p_i.

    Args:
        params: The parameters, or a model (its ``parameters()``).
        alpha: The strength, >= 0 (micrograd's demo uses 1e-4).

    >>> l2_regularization([Value(1.0), Value(-2.0)], 0.5).data
    2.5
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"l2_regularization: alpha must be a number, got {describe(alpha)}")
    if not 0.0 <= alpha < math.inf:
        raise ValueError(f"l2_regularization: alpha must be >= 0 and finite, got {alpha!r}")
    if not isinstance(params, Iterable):
        params = params.parameters()
    ps = list(params)
    for i, p in enumerate(ps):
        if type(p) is not Value:
            raise TypeError(f"l2_regularization: parameter {i} must be a Value, got {describe(p)}")
    return Value.sum([p * p for p in ps]) * float(alpha)


LOSSES: dict[str, LossFunction] = {
    "mse": mse_loss,
    "bce": bce_loss,
    "bce_logits": bce_with_logits_loss,
    "cross_entropy": cross_entropy_loss,
    "ce": cross_entropy_loss,
    "hinge": hinge_loss,
    "logistic": logistic_loss,
}
"""Every loss by name, as :func:`get_loss` and ``fit(loss=...)`` accept them."""


def get_loss(loss: str | LossFunction) -> LossFunction:
    """The loss function for a name in :data:`LOSSES` (case-insensitive), or a callable as is.

    >>> get_loss("CE") is cross_entropy_loss
    True
    """
    if isinstance(loss, str):
        key = loss.strip().lower().replace("-", "_")
        key = key.removesuffix("_loss")
        if key in ("bce_with_logits", "binary_cross_entropy_with_logits"):
            key = "bce_logits"
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
        return LOSSES[key]
    if callable(loss):
        return loss
    raise TypeError(
        f"loss must be a name ({', '.join(LOSSES)}) or a function (preds, targets) -> Value, "
        f"got {describe(loss)}"
    )
