r"""The op table: every operation the engine knows, defined once.

Each :class:`Op` holds, side by side, what an op computes and how it differentiates:

- ``forward``: the op on Python floats, following IEEE 754 / PyTorch semantics (``exp(1000)`` is
  ``inf``, ``log(0)`` is ``-inf``, ``log(-1)`` is ``nan``) instead of raising math errors;
- ``local``: the local derivatives d(out)/d(input_i), one per input, from the inputs and the
  output (tanh' = 1 - out**2, sigmoid' = out * (1 - out), exp' = out);
- ``np_forward`` / ``np_local``: the same two functions on numpy arrays, for the compiled
  batched replay (:mod:`microgradnn.compile`);
- ``symbol`` and ``local_text``: how the graph pictures name the op and write each local
  derivative.

The engine's generic backward step, the backward picture's edge labels and the compiled replay
all read these entries, so the calculus lives in exactly one place. Adding an op is one entry
here, one method in :mod:`microgradnn.engine` and a row in the tests' op table.

All functions receive ``xs`` (the input values, in argument order), ``out`` (the output value,
only for ``local``) and ``arg`` (the op's parameter, e.g. the leaky-ReLU slope, else ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["OPS", "Op", "get_op"]

INF = math.inf
NAN = math.nan

Floats = tuple[float, ...]


@dataclass(frozen=True, eq=False)
class Op:
    """One differentiable operation.

    Attributes:
        name: Short identifier, e.g. ``"mul"``; also the key in :data:`OPS`.
        symbol: What the graph picture writes in the op node, e.g. ``"*"``.
        arity: Number of inputs, or ``-1`` for a variadic op (``sum``).
        forward: ``forward(xs, arg) -> float`` on Python floats.
        local: ``local(xs, out, arg) -> tuple`` of d(out)/d(x_i), one per input.
        np_forward: ``np_forward(xs, arg) -> ndarray``, the same on arrays.
        np_local: ``np_local(xs, out, arg) -> tuple`` of arrays, the same on arrays.
        local_text: Per input, the local derivative written for learners, e.g. ``("b", "a")``;
            a variadic op gives one text that holds for every input.
        doc: One line: what the op is, and its derivative.
    """

    name: str
    symbol: str
    arity: int
    forward: Callable[[Floats, Any], float]
    local: Callable[[Floats, float, Any], Floats]
    np_forward: Callable[[tuple[Any, ...], Any], Any]
    np_local: Callable[[tuple[Any, ...], Any, Any], tuple[Any, ...]]
    local_text: tuple[str, ...]
    doc: str

    def __repr__(self) -> str:
        return f"Op({self.name!r}, symbol={self.symbol!r})"

    def label(self, arg: Any = None) -> str:
        """The text for this op's node in a picture, including its parameter if any."""
        if arg is None:
            return self.symbol
        return f"{self.symbol}({arg:g})"


# ---------------------------------------------------------------------------------------------
# IEEE-safe float helpers: Python's math module raises where IEEE 754 (and PyTorch) return
# inf or nan; a student's training run should see the inf, not a traceback.


def _ieee(fn: Callable[..., Any], *xs: float) -> float:
    """Evaluate a numpy ufunc on float64 scalars with IEEE results and no warnings."""
    with np.errstate(all="ignore"):
        return float(fn(*(np.float64(x) for x in xs)))


def fdiv(a: float, b: float) -> float:
    """``a / b`` with IEEE semantics: ``1/0 = inf``, ``0/0 = nan``."""
    try:
        return a / b
    except ZeroDivisionError:
        return _ieee(np.divide, a, b)


def fexp(x: float) -> float:
    """``e**x``; ``inf`` on overflow."""
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def flog(x: float) -> float:
    """Natural log: ``log(0) = -inf``, ``log(x < 0) = nan``."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -INF
    return NAN


def fpow(a: float, b: float) -> float:
    """``a**b`` as a real number: ``nan`` for a negative base and a fractional exponent."""
    try:
        r = a**b
    except (ZeroDivisionError, OverflowError):
        return _ieee(np.power, a, b)
    if type(r) is complex:
        return NAN
    return float(r)


def fsigmoid(x: float) -> float:
    """1 / (1 + e**-x), computed without overflow for any x."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = fexp(x)
    return e / (1.0 + e)


def fsoftplus(x: float) -> float:
    """log(1 + e**x) = max(x, 0) + log1p(e**-|x|), stable for any x."""
    if x != x:
        return x
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def flogsumexp(xs: Floats) -> float:
    """log(sum_i e**x_i) = m + log(sum_i e**(x_i - m)) with m = max x_i: no overflow."""
    m = max(xs)
    if m != m or m == INF or m == -INF:  # nan, or every term is 0 or some term is inf
        return m if all(x == x for x in xs) else NAN
    return m + math.log(sum([math.exp(x - m) for x in xs]))


def _lse_local(xs: Floats, out: float, arg: Any) -> Floats:
    # d/dx_i = e**x_i / sum_j e**x_j = e**(x_i - out): the softmax, never overflowing
    # (inf - inf is nan there, as in torch.logsumexp's gradient).
    return tuple([fexp(x - out) for x in xs])


def _np_sum(xs: tuple[Any, ...]) -> Any:
    try:  # one block when every input has the same shape (a neuron's Σ: all arrays)
        return np.sum(xs, axis=0)
    except ValueError:  # a mix of arrays and plain-number constants
        return np.sum(np.broadcast_arrays(*xs), axis=0)


def _np_logsumexp(xs: tuple[Any, ...]) -> Any:
    stacked = np.stack(np.broadcast_arrays(*xs))
    m = np.max(stacked, axis=0)
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = shift + np.log(np.sum(np.exp(stacked - shift), axis=0))
    return np.where(finite, out, m)


def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x * 0.0  # 0 stays 0, nan stays nan (as numpy.sign; torch.sign(nan) is 0)


def _pow_local(xs: Floats, out: float, arg: Any) -> Floats:
    a, b = xs
    # d/da = b * a**(b-1); PyTorch defines it as 0 when b == 0 (even at a == 0).
    da = 0.0 if b == 0.0 else b * fpow(a, b - 1.0)
    # d/db = out * ln(a); PyTorch defines it as 0 at a == 0 for b >= 0 (where out is 0 or 1).
    db = 0.0 if (a == 0.0 and b >= 0.0) else out * flog(a)
    return (da, db)


def _np_pow_local(xs: tuple[Any, ...], out: Any, arg: Any) -> tuple[Any, ...]:
    a, b = xs
    da = np.where(b == 0.0, 0.0, b * np.power(a, b - 1.0))
    db = np.where((a == 0.0) & (b >= 0.0), 0.0, out * np.log(a))
    return (da, db)


def _np_sigmoid(x: Any) -> Any:
    # Two branches keep exp's argument <= 0: no overflow for any x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_softplus(x: Any) -> Any:
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _np_step(x: Any) -> Any:
    return np.where(x > 0.0, 1.0, np.where(x < 0.0, 0.0, np.where(x == 0.0, 0.5, x)))


def _zeros_like(x: Any) -> Any:
    return np.zeros_like(x, dtype=float)


_TABLE: list[Op] = [
    Op(
        "add",
        "+",
        2,
        forward=lambda xs, arg: xs[0] + xs[1],
        local=lambda xs, out, arg: (1.0, 1.0),
        np_forward=lambda xs, arg: xs[0] + xs[1],
        np_local=lambda xs, out, arg: (1.0, 1.0),
        local_text=("1", "1"),
        doc="a + b; d/da = 1, d/db = 1",
    ),
    Op(
        "sub",
        "-",
        2,
        forward=lambda xs, arg: xs[0] - xs[1],
        local=lambda xs, out, arg: (1.0, -1.0),
        np_forward=lambda xs, arg: xs[0] - xs[1],
        np_local=lambda xs, out, arg: (1.0, -1.0),
        local_text=("1", "-1"),
        doc="a - b; d/da = 1, d/db = -1",
    ),
    Op(
        "mul",
        "*",
        2,
        forward=lambda xs, arg: xs[0] * xs[1],
        local=lambda xs, out, arg: (xs[1], xs[0]),
        np_forward=lambda xs, arg: xs[0] * xs[1],
        np_local=lambda xs, out, arg: (xs[1], xs[0]),
        local_text=("b", "a"),
        doc="a * b; d/da = b, d/db = a",
    ),
    Op(
        "div",
        "/",
        2,
        forward=lambda xs, arg: fdiv(xs[0], xs[1]),
        local=lambda xs, out, arg: (fdiv(1.0, xs[1]), -fdiv(out, xs[1])),
        np_forward=lambda xs, arg: xs[0] / xs[1],
        np_local=lambda xs, out, arg: (1.0 / xs[1], -out / xs[1]),
        local_text=("1/b", "-a/b²"),
        doc="a / b; d/da = 1/b, d/db = -a/b**2 (= -out/b)",
    ),
    Op(
        "neg",
        "neg",
        1,
        forward=lambda xs, arg: -xs[0],
        local=lambda xs, out, arg: (-1.0,),
        np_forward=lambda xs, arg: -xs[0],
        np_local=lambda xs, out, arg: (-1.0,),
        local_text=("-1",),
        doc="-a; d/da = -1",
    ),
    Op(
        "pow",
        "**",
        2,
        forward=lambda xs, arg: fpow(xs[0], xs[1]),
        local=_pow_local,
        np_forward=lambda xs, arg: np.power(xs[0], xs[1]),
        np_local=_np_pow_local,
        local_text=("b·a^(b-1)", "out·ln(a)"),
        doc="a ** b; d/da = b * a**(b-1), d/db = a**b * ln(a)",
    ),
    Op(
        "sum",
        "Σ",
        -1,
        forward=lambda xs, arg: sum(xs, 0.0),
        local=lambda xs, out, arg: (1.0,) * len(xs),
        np_forward=lambda xs, arg: _np_sum(xs),
        np_local=lambda xs, out, arg: (1.0,) * len(xs),
        local_text=("1",),
        doc="x_1 + ... + x_n in one node; d/dx_i = 1",
    ),
    Op(
        "logsumexp",
        "logΣexp",
        -1,
        forward=lambda xs, arg: flogsumexp(xs),
        local=_lse_local,
        np_forward=lambda xs, arg: _np_logsumexp(xs),
        np_local=lambda xs, out, arg: tuple(np.exp(x - out) for x in xs),
        local_text=("softmax_i = exp(x_i - out)",),
        doc="log(e**x_1 + ... + e**x_n) in one stable node; d/dx_i = softmax(x)_i",
    ),
    Op(
        "exp",
        "exp",
        1,
        forward=lambda xs, arg: fexp(xs[0]),
        local=lambda xs, out, arg: (out,),
        np_forward=lambda xs, arg: np.exp(xs[0]),
        np_local=lambda xs, out, arg: (out,),
        local_text=("exp(a)",),
        doc="e**a; d/da = e**a (= out)",
    ),
    Op(
        "log",
        "log",
        1,
        forward=lambda xs, arg: flog(xs[0]),
        local=lambda xs, out, arg: (fdiv(1.0, xs[0]),),
        np_forward=lambda xs, arg: np.log(xs[0]),
        np_local=lambda xs, out, arg: (1.0 / xs[0],),
        local_text=("1/a",),
        doc="ln(a) for a > 0 (-inf at 0, nan below); d/da = 1/a",
    ),
    Op(
        "tanh",
        "tanh",
        1,
        forward=lambda xs, arg: math.tanh(xs[0]),
        local=lambda xs, out, arg: (1.0 - out * out,),
        np_forward=lambda xs, arg: np.tanh(xs[0]),
        np_local=lambda xs, out, arg: (1.0 - out * out,),
        local_text=("1 - out²",),
        doc="tanh(a); d/da = 1 - tanh(a)**2",
    ),
    Op(
        "sigmoid",
        "σ",
        1,
        forward=lambda xs, arg: fsigmoid(xs[0]),
        local=lambda xs, out, arg: (out * (1.0 - out),),
        np_forward=lambda xs, arg: _np_sigmoid(xs[0]),
        np_local=lambda xs, out, arg: (out * (1.0 - out),),
        local_text=("out·(1 - out)",),
        doc="1 / (1 + e**-a); d/da = out * (1 - out)",
    ),
    Op(
        "softplus",
        "softplus",
        1,
        forward=lambda xs, arg: fsoftplus(xs[0]),
        local=lambda xs, out, arg: (fsigmoid(xs[0]),),
        np_forward=lambda xs, arg: _np_softplus(xs[0]),
        np_local=lambda xs, out, arg: (_np_sigmoid(xs[0]),),
        local_text=("σ(a)",),
        doc="ln(1 + e**a), stable; d/da = sigmoid(a)",
    ),
    Op(
        "relu",
        "ReLU",
        1,
        forward=lambda xs, arg: 0.0 if xs[0] <= 0.0 else xs[0],
        local=lambda xs, out, arg: (1.0 if xs[0] > 0.0 else 0.0,),
        np_forward=lambda xs, arg: np.where(xs[0] <= 0.0, 0.0, xs[0]),
        np_local=lambda xs, out, arg: ((xs[0] > 0.0).astype(float),),
        local_text=("1 if a > 0 else 0",),
        doc="max(0, a); d/da = 1 for a > 0, else 0 (0 at a = 0, as PyTorch)",
    ),
    Op(
        "leaky_relu",
        "LeakyReLU",
        1,
        forward=lambda xs, arg: xs[0] if xs[0] > 0.0 else arg * xs[0],
        local=lambda xs, out, arg: (1.0 if xs[0] > 0.0 else arg,),
        np_forward=lambda xs, arg: np.where(xs[0] > 0.0, xs[0], arg * xs[0]),
        np_local=lambda xs, out, arg: (np.where(xs[0] > 0.0, 1.0, arg),),
        local_text=("1 if a > 0 else slope",),
        doc="a if a > 0 else slope * a; d/da = 1 or slope",
    ),
    Op(
        "prelu",
        "PReLU",
        2,
        forward=lambda xs, arg: xs[0] if xs[0] > 0.0 else xs[1] * xs[0],
        local=lambda xs, out, arg: (1.0, 0.0) if xs[0] > 0.0 else (xs[1], xs[0]),
        np_forward=lambda xs, arg: np.where(xs[0] > 0.0, xs[0], xs[1] * xs[0]),
        np_local=lambda xs, out, arg: (
            np.where(xs[0] > 0.0, 1.0, xs[1]),
            np.where(xs[0] > 0.0, 0.0, xs[0]),
        ),
        local_text=("1 if a > 0 else α", "0 if a > 0 else a"),
        doc="a if a > 0 else alpha * a (alpha learned); d/da = 1 or alpha, d/dalpha = 0 or a",
    ),
    Op(
        "abs",
        "abs",
        1,
        forward=lambda xs, arg: abs(xs[0]),
        local=lambda xs, out, arg: (_sign(xs[0]),),
        np_forward=lambda xs, arg: np.abs(xs[0]),
        np_local=lambda xs, out, arg: (np.sign(xs[0]),),
        local_text=("sign(a)",),
        doc="|a|; d/da = sign(a), 0 at a = 0",
    ),
    Op(
        "step",
        "step",
        1,
        forward=lambda xs, arg: 1.0 if xs[0] > 0.0 else (0.0 if xs[0] < 0.0 else xs[0] + 0.5),
        local=lambda xs, out, arg: (0.0,),
        np_forward=lambda xs, arg: _np_step(xs[0]),
        np_local=lambda xs, out, arg: (_zeros_like(xs[0]),),
        local_text=("0",),
        doc="Heaviside step, 1 above 0, 0.5 at 0, 0 below; d/da = 0 everywhere",
    ),
    Op(
        "sign",
        "sign",
        1,
        forward=lambda xs, arg: _sign(xs[0]),
        local=lambda xs, out, arg: (0.0,),
        np_forward=lambda xs, arg: np.sign(xs[0]),
        np_local=lambda xs, out, arg: (_zeros_like(xs[0]),),
        local_text=("0",),
        doc="sign(a) in {-1, 0, 1}; d/da = 0 everywhere",
    ),
    Op(
        "hard_sigmoid",
        "hard σ",
        1,
        forward=lambda xs, arg: xs[0] if xs[0] != xs[0] else min(1.0, max(0.0, xs[0] + 0.5)),
        local=lambda xs, out, arg: (1.0 if -0.5 < xs[0] < 0.5 else 0.0,),
        np_forward=lambda xs, arg: np.clip(xs[0] + 0.5, 0.0, 1.0),
        np_local=lambda xs, out, arg: (((xs[0] > -0.5) & (xs[0] < 0.5)).astype(float),),
        local_text=("1 if |a| < 1/2 else 0",),
        doc="0 below -1/2, a + 1/2 between, 1 above 1/2; d/da = 1 strictly inside, else 0",
    ),
]

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
"""Every op by name, in the order of the table."""


def get_op(name: str) -> Op:
    """Look up an op by name, with a helpful error for unknown names."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(OPS)}") from None
