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
from dataclasses import dataclass
from typing import Any, Protocol, Union

import numpy as np

from microgradnn._checks import describe, number
from microgradnn.engine import Value, peek
from microgradnn.functional import logsumexp

__all__ = [
    "LOSSES",
    "LOSS_INFO",
    "Loss",
    "LossFunction",
    "bce_loss",
    "bce_with_logits_loss",
    "categorical_crossentropy_loss",
    "cross_entropy_loss",
    "get_loss",
    "hinge_loss",
    "l2_regularization",
    "labels_of",
    "logistic_loss",
    "loss_info",
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
        raise TypeError(f"{loss}: {what}: expected a list of Values or numbers, got {describe(x)}")
    items = list(x)
    if not items:
        raise ValueError(f"{loss}: {what} is empty")
    return items


def _element(v: Any, what: str, loss: str, wrap: bool) -> Operand:
    if type(v) is Value:
        return v
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{loss}: {what}: expected a number or a Value, got {describe(v)}")
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
                f"{loss}: {what}[{i}]: expected a number, a Value or a non-empty list of them, "
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
    raise ValueError(f"{loss}: reduction: expected one of 'mean', 'sum', got {reduction!r}")


def _data(t: Operand) -> float:
    """A prediction's or target's number, for checks.

    A check only ever raises, so it may read the number even while the compiled path traces
    the loss (see :func:`microgradnn.engine.peek`).
    """
    return peek(t) if type(t) is Value else t


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
        if not 0.0 <= _data(p) <= 1.0:
            raise ValueError(
                f"bce_loss expects probabilities in [0, 1] (e.g. sigmoid outputs), got "
                f"{_data(p)!r} at element {i}; for raw scores use bce_with_logits_loss"
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


def _class_examples(
    preds: Any, targets: Any, loss: str, kind: str, one_output: str
) -> list[tuple[list[Value], int | list[Operand]]]:
    """Per example its K predictions and its target: a class index, or a list of K targets.

    ``kind`` names the predictions (logits, probabilities) in messages; ``one_output`` is the
    loss to suggest for a model with one output.
    """
    items = _items(preds, "preds", loss)
    if all(_is_scalar(p) for p in items) and _is_scalar(targets):
        items = [items]
    rows = _rows(items, "preds", loss, wrap=True)
    goals = _items(targets, "targets", loss)
    if len(rows) != len(goals):
        raise ValueError(
            f"{loss}: preds has {_plural(len(rows), 'example')}, targets has {len(goals)}"
        )
    examples: list[tuple[list[Value], int | list[Operand]]] = []
    for i, (row, goal) in enumerate(zip(rows, goals, strict=True)):
        k = len(row)
        if k < 2:
            raise ValueError(
                f"{loss} needs at least 2 {kind} per example, example {i} has {k}; pass one "
                f"list of {kind} per example, e.g. [model(x) for x in X] for a model with K "
                f"outputs (for one output, use {one_output})"
            )
        if isinstance(goal, np.ndarray):
            goal = goal.tolist()
        if _is_scalar(goal):
            examples.append((row, _class_index(goal, k, i, loss, kind)))
            continue
        if not isinstance(goal, (list, tuple)):
            raise TypeError(
                f"{loss}: targets[{i}]: expected a class index or a list of {k} probabilities, "
                f"got {describe(goal)}"
            )
        if len(goal) != k:
            raise ValueError(f"{loss}: example {i}: {k} {kind}, {len(goal)} target probabilities")
        ts = [_element(t, f"targets[{i}][{j}]", loss, wrap=False) for j, t in enumerate(goal)]
        examples.append((row, ts))
    return examples


def cross_entropy_loss(preds: Any, targets: Any, *, reduction: str = "mean") -> Value:
    r"""Cross-entropy of softmax(logits) against a class index or a distribution.

    Fused and stable: for class c, logsumexp(x) - x_c; for a target distribution t (one-hot
    or probabilities), -\sum_j t_j (x_j - logsumexp(x)). d/dx_j = softmax(x)_j - t_j. Matches
    ``torch.nn.CrossEntropyLoss`` with class indices or probability targets; logits of 1000
    are fine. It applies softmax itself: for a model that already ends in softmax, use
    :func:`categorical_crossentropy_loss`.

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
    terms: list[Operand] = []
    for row, goal in _class_examples(preds, targets, loss, "logits", "bce_with_logits_loss"):
        lse = logsumexp(row)
        if isinstance(goal, int):
            terms.append(lse - row[goal])
            continue
        dot = Value.sum([t * x for t, x in zip(goal, row, strict=True) if type(t) is Value or t])
        if all(type(t) is not Value for t in goal):
            mass = math.fsum(_data(t) for t in goal)
            terms.append((lse if mass == 1.0 else lse * mass) - dot)
        else:
            terms.append(lse * Value.sum(goal) - dot)
    return _reduce(terms, reduction, loss)


def categorical_crossentropy_loss(
    preds: Any, targets: Any, *, eps: float = 1e-12, reduction: str = "mean"
) -> Value:
    r"""Cross-entropy of probabilities (a softmax output) against a class index or a distribution.

    -log p_c for class c; -\sum_j t_j log p_j for a target distribution t. d/dp_c = -1 / p_c.
    Keras' ``categorical_crossentropy`` (and ``sparse_`` for class indices): the loss for a
    model that ends in softmax, as the lecture's Keras slide does; ``torch.nn.NLLLoss`` of
    ``log(p)``. Each p is clamped below at ``eps`` first (gradient 0 under it), so a class
    given probability 0 costs -log(eps), not inf. From logits, :func:`cross_entropy_loss` is
    the stable way (a probability that rounds to 0 has lost its gradient).

    Args:
        preds: One list of K probabilities per example, each list summing to 1.
        targets: Per example a class index in 0..K-1 (an int) or a list of K probabilities.
        eps: The smallest probability the log sees.
        reduction: "mean" over the batch or "sum".

    Raises:
        ValueError: A prediction is outside [0, 1], or an example's predictions do not sum to
            1 (logits, say: use :func:`cross_entropy_loss`).

    >>> round(categorical_crossentropy_loss([[Value(0.2), Value(0.8)]], [1]).data, 6)  # -log 0.8
    0.223144
    """
    loss = "categorical_crossentropy_loss"
    eps = number(f"{loss} eps", eps, low=0.0, high=1.0, low_open=True)
    terms: list[Operand] = []
    examples = _class_examples(preds, targets, loss, "probabilities", "bce_loss")
    for i, (row, goal) in enumerate(examples):
        shown = [_data(p) for p in row]
        total = math.fsum(shown)
        if not all(0.0 <= p <= 1.0 for p in shown) or not abs(total - 1.0) <= 1e-6:
            listed = ", ".join(f"{p:.4g}" for p in shown[:5]) + (", ..." if len(shown) > 5 else "")
            raise ValueError(
                f"{loss} expects probabilities, each in [0, 1] and summing to 1 (a softmax "
                f"output), got [{listed}] (sum {total:.6g}) at example {i}; for logits (raw "
                "scores) use cross_entropy_loss"
            )
        if isinstance(goal, int):
            terms.append(-_clamped_log(row[goal], eps))
            continue
        pairs = [(t, p) for t, p in zip(goal, row, strict=True) if type(t) is Value or t]
        terms.append(-Value.sum([t * _clamped_log(p, eps) for t, p in pairs]))
    return _reduce(terms, reduction, loss)


def _clamped_log(p: Value, eps: float) -> Value:
    """log(max(p, eps)), the clamp from a relu so the graph has the same shape for every p."""
    return ((p - eps).relu() + eps).log()


def _class_index(goal: Any, k: int, i: int, loss: str, kind: str) -> int:
    if type(goal) is Value:
        # A graph cannot pick a logit by a Value's number: a traced (compiled) graph would
        # keep the first example's choice for every example.
        raise TypeError(
            f"{loss}: example {i}: a class index must be a plain int, not a Value; "
            "pass one-hot targets (a list of K Values) instead"
        )
    value = goal
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        value = math.nan
    value = float(value)
    if not value.is_integer():
        raise TypeError(
            f"{loss}: example {i}: expected an integer class index, got {describe(goal)}"
        )
    c = int(value)
    if not 0 <= c < k:
        raise ValueError(f"{loss}: example {i}: {k} {kind}, class index {c} out of range")
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
    alpha = number("l2_regularization alpha", alpha, low=0.0)
    if not isinstance(params, Iterable):
        params = params.parameters()
    ps = list(params)
    for i, p in enumerate(ps):
        if type(p) is not Value:
            raise TypeError(
                f"l2_regularization: parameter {i}: expected a Value, got {describe(p)}"
            )
    return Value.sum([p * p for p in ps]) * alpha


# -- the loss table: what each loss expects and how its outputs become a decision -----------------


def _integral(a: np.ndarray) -> bool:
    return a.dtype.kind in "iub" or bool(np.all(a == np.round(a)))


def _one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))


@dataclass(frozen=True)
class Loss:
    """One loss and everything the package needs to know about it, declared once.

    Attributes:
        name: Its name in ``fit(loss=...)`` and on the command line.
        function: ``function(preds, targets) -> Value``, the mean over the batch.
        targets: The kind of target it takes: ``"signs"`` (-1 or +1), ``"probabilities"``
            (numbers in [0, 1], e.g. 0/1 labels), ``"classes"`` (class indices 0..K-1, or rows
            of K probabilities) or ``"reals"`` (any numbers).
        threshold: With one output, the output value that separates the two classes (0 for
            scores and logits, 0.5 for probabilities); None where the largest output decides.
        output_activation: The activation the model's last layer needs (``"sigmoid"`` for
            BCE on probabilities, ``"softmax"`` for categorical cross-entropy), or None for
            raw outputs.
        applies: The activation the loss applies to the raw outputs itself (``"softmax"`` for
            cross-entropy from logits, ``"sigmoid"`` for BCE with logits): a model that already
            ends in it would have it applied twice, which ``fit`` refuses.
        aliases: Other names it answers to.
    """

    name: str
    function: LossFunction
    targets: str
    threshold: float | None = 0.0
    output_activation: str | None = None
    applies: str | None = None
    aliases: tuple[str, ...] = ()

    def check_targets(self, y: np.ndarray, n_outputs: int | None = None) -> None:
        """A clear ValueError for targets this loss cannot take, before any work is done."""
        if self.targets == "signs":
            bad = y[(y != 1) & (y != -1)]
            if bad.size:
                raise ValueError(
                    f"{self.name} loss expects targets -1 or +1, got {bad.flat[0].item()} "
                    "(convert 0/1 labels with microgradnn.data.to_pm1)"
                )
        elif self.targets == "probabilities":
            bad = y[~((y >= 0) & (y <= 1))]
            if bad.size:
                raise ValueError(
                    f"{self.name} loss expects targets between 0 and 1, got {bad.flat[0].item()}"
                )
        elif self.targets == "classes" and y.ndim == 1:
            if not _integral(y) or y.min() < 0:
                raise ValueError(
                    f"{self.name} loss expects class indices 0..K-1, got {y[:5].tolist()}"
                )
            if n_outputs is not None and int(y.max()) >= n_outputs:
                raise ValueError(
                    f"{self.name} loss: the model has {n_outputs} outputs, so classes "
                    f"0..{n_outputs - 1}, got class {int(y.max())}"
                )

    def as_python(self, y: np.ndarray) -> list[Any]:
        """Targets as Python numbers (class indices as ints), the form loss functions take."""
        if y.ndim == 2:
            return [list(map(float, row)) for row in y.tolist()]
        if self.targets == "classes":
            return [int(v) for v in y.tolist()]
        return [float(v) for v in y.tolist()]

    def accuracy(self, out: np.ndarray, y: np.ndarray) -> float | None:
        """The fraction of examples this loss's decision rule gets right, or None.

        One output: the sign for -1/+1 targets, the threshold for probabilities (0.5 after a
        sigmoid, 0 for logits), rounding for integer labels under MSE. K outputs: the largest
        output against the class index (or the largest target of a one-hot row). None where no
        rule applies (regression).
        """
        if out.ndim == 2:
            if self.targets == "classes" or _one_hot(y):
                labels = y if y.ndim == 1 else np.argmax(y, axis=1)
                if labels.shape != (len(out),):
                    return None
                return float(np.mean(np.argmax(out, axis=1) == labels))
            return None
        if y.ndim != 1 or self.threshold is None:
            return None
        if self.targets == "signs":
            return float(np.mean(np.where(out > self.threshold, 1, -1) == y))
        if self.targets == "reals":
            return float(np.mean(np.round(out) == y)) if _integral(y) else None
        return float(np.mean((out > self.threshold).astype(np.int64) == y))

    def targets_for(self, labels: np.ndarray, classes: int) -> tuple[np.ndarray, int]:
        """Class labels 0..K-1 encoded as this loss wants them, and the outputs it needs."""
        if self.targets == "signs":
            return np.where(labels > 0, 1, -1).astype(np.int64), 1
        if self.targets == "classes":
            return labels, classes
        if self.targets == "reals" and classes > 2:
            return np.eye(classes)[labels], classes
        return labels, 1


def labels_of(y: Any) -> np.ndarray:
    """Class labels 0..K-1 from any target form: -1/+1, 0/1, class indices or one-hot rows."""
    a = np.asarray(y)
    if a.ndim == 2:
        return np.asarray(np.argmax(a, axis=1), dtype=np.int64)
    a = a.astype(float)
    if a.size and a.min() < 0:
        return (a > 0).astype(np.int64)
    return np.asarray(np.round(a), dtype=np.int64)


_TABLE = [
    Loss("mse", mse_loss, "reals", threshold=0.5),
    Loss("bce", bce_loss, "probabilities", threshold=0.5, output_activation="sigmoid"),
    Loss(
        "bce_logits",
        bce_with_logits_loss,
        "probabilities",
        applies="sigmoid",
        aliases=("bce_with_logits", "binary_cross_entropy_with_logits"),
    ),
    Loss(
        "cross_entropy",
        cross_entropy_loss,
        "classes",
        threshold=None,
        applies="softmax",
        aliases=("ce",),
    ),
    Loss(
        "categorical_crossentropy",
        categorical_crossentropy_loss,
        "classes",
        threshold=None,
        output_activation="softmax",
        aliases=("categorical_cross_entropy", "sparse_categorical_crossentropy"),
    ),
    Loss("hinge", hinge_loss, "signs"),
    Loss("logistic", logistic_loss, "signs"),
]

LOSS_INFO: dict[str, Loss] = {row.name: row for row in _TABLE}
"""Every built-in loss by name (see :class:`Loss`)."""

LOSSES: dict[str, LossFunction] = {
    name: row.function for row in _TABLE for name in (row.name, *row.aliases)
}
"""Every loss function by name and alias, as :func:`get_loss` and ``fit(loss=...)`` accept them."""


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").removesuffix("_loss")


def loss_info(loss: str | LossFunction) -> Loss | None:
    """The row of a loss name or function; None for a loss function of your own.

    >>> loss_info("CE").name, loss_info(hinge_loss).targets
    ('cross_entropy', 'signs')
    """
    if isinstance(loss, str):
        key = _key(loss)
        for row in _TABLE:
            if key == row.name or key in row.aliases:
                return row
        raise ValueError(f"loss: expected one of {', '.join(LOSS_INFO)}, got {loss!r}")
    for row in _TABLE:
        if loss is row.function:
            return row
    return None


def get_loss(loss: str | LossFunction) -> LossFunction:
    """The loss function for a name in :data:`LOSSES` (case-insensitive), or a callable as is.

    >>> get_loss("CE") is cross_entropy_loss
    True
    """
    if isinstance(loss, str):
        row = loss_info(loss)
        assert row is not None
        return row.function
    if callable(loss):
        return loss
    raise TypeError(
        f"loss: expected a name ({', '.join(LOSSES)}) or a function (preds, targets) -> Value, "
        f"got {describe(loss)}"
    )
