r"""The op table: every operation the engine knows, one row each.

A row says what an op computes and how it differentiates, side by side, in the lecture's
notation::

    Op("mul", forward=lambda a, b: a * b,
              local=lambda a, b, out: (b, a),          # d(a*b)/da = b, d(a*b)/db = a
              symbol="*", infix="*", local_text=("b", "a"))

- ``forward`` computes the op on Python floats with IEEE 754 / PyTorch semantics
  (``exp(1000)`` is ``inf``, ``log(0)`` is ``-inf``, ``log(-1)`` is ``nan``), never a math error;
- ``local`` gives the local derivatives d(out)/d(input), one per input, from the inputs and the
  output (tanh' = 1 - out², sigmoid' = out (1 - out), exp' = out);
- ``np_forward`` / ``np_local`` are numpy twins for the compiled batched replay, given only where
  the float rule does not already work on arrays (``math.tanh`` does not; ``1 - out * out`` does).

Everything else a module needs to know about an op is a field of its row too: the symbol in a
picture's op node, how a formula prints it (``infix``, ``prefix``), the name of its
:class:`~microgradnn.Value` method, its PyTorch twin, the derivative text the pictures write on
each edge, and whether its output reads as a probability. The engine's backward step, the
pictures, the expression language, the PyTorch bridge and the compiled replay all read these rows,
so no other module matches an op by its name. Adding an op is adding a row (:func:`register`);
its Value method appears with it.

Calling conventions: an op of fixed arity receives its inputs as separate arguments
(``forward(a, b)``, ``local(a, b, out)``); a variadic op (``sum``, ``logsumexp``) receives them
as one tuple (``forward(xs)``, ``local(xs, out)``).

>>> OPS["tanh"].forward(0.5) == math.tanh(0.5)
True
>>> OPS["mul"].local(2.0, -3.0, -6.0)
(-3.0, 2.0)
"""

from __future__ import annotations

import inspect
import keyword
import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from microgradnn._checks import describe, flag

__all__ = [
    "OPS",
    "Op",
    "define_op",
    "find",
    "get_op",
    "on_register",
    "register",
    "unregister",
]

INF = math.inf
NAN = math.nan


@dataclass(frozen=True, eq=False)
class Op:
    """One differentiable operation: one row of the op table.

    Attributes:
        name: Short identifier, e.g. ``"mul"``; the key in :data:`OPS`.
        forward: The op on floats: ``forward(a, b) -> float`` (variadic: ``forward(xs)``).
        local: Its local derivatives: ``local(a, b, out) -> (d/da, d/db)`` (variadic:
            ``local(xs, out)``, one per input).
        symbol: What a picture writes in the op node (default: the name).
        doc: One line: what the op is, its derivative and its domain.
        local_text: Per input, the local derivative written for learners in the names ``a``,
            ``b`` (the inputs) and ``out`` (the output), e.g. ``("b", "a")``; a variadic op
            gives one text that holds for every input.
        variadic: Takes any number of inputs (given as one tuple).
        infix: Printed between its two inputs (``"+"`` gives ``a + b``); the expression
            language reads Python's operator with this symbol as this op.
        prefix: Printed before its one input (``"-"`` gives ``-a``).
        method: The name of the :class:`~microgradnn.Value` method that applies it
            (``x.tanh()``; variadic ops become static methods, ``Value.sum(xs)``), also its
            function name in expressions; defaults to ``name``, and to none for an op written
            ``infix`` or ``prefix`` (Python's operators apply those).
        defaults: Default numbers for the method's trailing inputs (leaky_relu's slope 0.01).
        np_forward: The forward on numpy arrays, where ``forward`` does not work on them.
        np_local: The local derivatives on numpy arrays, where ``local`` does not work on them.
        torch: Its PyTorch twin, ``torch(torch_module, a, b) -> tensor``, or None.
        probability: Its output lies in [0, 1] and reads as the probability of class 1 (a
            classifier ending in it decides at 0.5, not at 0).
        masked: A select-style op (relu, step, ...): an input it selects off gets exactly 0,
            even from an inf or nan upstream gradient (0 × inf would be nan), as PyTorch's masked
            backward gives. True: every zero local derivative is such a selection; a function
            ``masked(a, b, out) -> (bool, bool)`` says which inputs are selected off where zeros
            also arise naturally (prelu's d/dalpha = a is 0 at a = 0, and there torch multiplies).
            Every other op follows ``local × grad``.
        vjp: Only where PyTorch rounds differently from ``local × grad`` at the extremes:
            ``vjp(a, b, out, grad) -> (contribution to a, to b)`` (log at a subnormal input
            divides ``grad / a`` instead of multiplying by ``1/a = inf``). It must equal
            ``local × grad`` wherever both are finite; the pictures still show ``local``.
        passes_grad: Every local derivative is exactly 1 (Σ): the chain rule hands each input
            the upstream gradient as it is, ``child.grad += out.grad`` (1 × g is g, exactly,
            in IEEE arithmetic too), without calling ``local``. Checked on a probe when the
            row is made; ``local`` still says so, for pictures and the stepper.
        arity: Number of inputs (-1 for variadic), taken from ``forward``'s signature.
        plain: Neither ``masked`` nor a ``vjp``: the lecture's rule applies as it is.
    """

    name: str
    forward: Callable[..., float]
    local: Callable[..., tuple[Any, ...]]
    symbol: str = ""
    doc: str = ""
    local_text: tuple[str, ...] = ()
    variadic: bool = False
    infix: str | None = None
    prefix: str | None = None
    method: str | None = None
    defaults: tuple[float, ...] = ()
    np_forward: Callable[..., Any] | None = None
    np_local: Callable[..., tuple[Any, ...]] | None = None
    torch: Callable[..., Any] | None = None
    probability: bool = False
    masked: bool | Callable[..., tuple[Any, ...]] = False
    vjp: Callable[..., tuple[Any, ...]] | None = None
    passes_grad: bool = False
    arity: int = 0
    plain: bool = True

    def __copy__(self) -> Op:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Op:
        # A row of the table, compared by identity (``node._op is OPS["mul"]``): a copied
        # graph (copy.deepcopy of a model or of a loss) keeps pointing at the same rows.
        return self

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name: expected an identifier such as 'sin', got {self.name!r}")
        for field in ("forward", "local"):
            rule = getattr(self, field)
            if not callable(rule):
                kind = type(rule).__name__
                raise TypeError(f"{self.name}: {field}: expected a function, got {kind}")
        arity = -1 if self.variadic else _positional_count(self.forward, self.name)
        object.__setattr__(self, "arity", arity)
        object.__setattr__(self, "plain", self.masked is False and self.vjp is None)
        if not self.symbol:
            object.__setattr__(self, "symbol", self.name)
        if self.method is None and self.infix is None and self.prefix is None:
            object.__setattr__(self, "method", self.name)
        if self.infix is not None and arity != 2:
            raise ValueError(f"{self.name}: an infix op takes 2 inputs, forward takes {arity}")
        if self.prefix is not None and arity != 1:
            raise ValueError(f"{self.name}: a prefix op takes 1 input, forward takes {arity}")
        if len(self.defaults) > max(arity - 1, 0):
            raise ValueError(f"{self.name}: more defaults than inputs after the first")
        if self.passes_grad:
            self._check_passes_grad()

    def _check_passes_grad(self) -> None:
        """Refuse ``passes_grad`` on a row whose ``local`` is not 1 everywhere it is probed."""
        if not self.plain:
            raise ValueError(f"{self.name}: passes_grad cannot be combined with masked or vjp")
        xs = (0.5, -2.0, 3.25)[: 3 if self.variadic else self.arity]
        try:
            out = self.forward(xs) if self.variadic else self.forward(*xs)
            local = self.local(xs, out) if self.variadic else self.local(*xs, out)
        except Exception as err:
            raise ValueError(f"{self.name}: passes_grad, but local fails on {xs}: {err}") from None
        if tuple(local) != (1.0,) * len(xs):
            raise ValueError(
                f"{self.name}: passes_grad says every local derivative is 1, but local gives "
                f"{tuple(local)} at {xs}"
            )

    def __repr__(self) -> str:
        return f"Op({self.name!r}, symbol={self.symbol!r})"

    @property
    def array_forward(self) -> Callable[..., Any]:
        """The forward rule the compiled replay applies to arrays."""
        return self.np_forward or self.forward

    @property
    def array_local(self) -> Callable[..., tuple[Any, ...]]:
        """The local-derivative rule the compiled replay applies to arrays."""
        return self.np_local or self.local

    def expression(self, names: list[str]) -> str:
        """How a formula writes this op over already wrapped input names: ``a + b``, ``tanh(a)``.

        >>> OPS["add"].expression(["x", "y"]), OPS["neg"].expression(["x"])
        ('x + y', '-x')
        >>> OPS["tanh"].expression(["n"])
        'tanh(n)'
        """
        if self.infix is not None and len(names) == 2:
            return f"{names[0]} {self.infix} {names[1]}"
        if self.prefix is not None and len(names) == 1:
            return f"{self.prefix}{names[0]}"
        return f"{self.symbol}({', '.join(names)})"


def _positional_count(fn: Callable[..., Any], name: str) -> int:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: say how many
        raise TypeError(
            f"{name}: cannot read forward's inputs from its signature; wrap it in a lambda "
            "such as lambda a: math.sin(a)"
        ) from None
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    count = sum(1 for p in params if p.kind in kinds and p.default is p.empty)
    if count < 1:
        raise ValueError(f"{name}: forward must take at least one input")
    return count


# ---------------------------------------------------------------------------------------------
# IEEE-safe float helpers: Python's math module raises where IEEE 754 (and PyTorch) return
# inf or nan; a student's training run should see the inf, not a traceback.


def _ieee(fn: Callable[..., Any], *xs: float) -> float:
    """Evaluate a numpy ufunc on float64 scalars with IEEE results and no warnings."""
    with np.errstate(all="ignore"):
        return float(fn(*(np.float64(x) for x in xs)))


def fdiv(a: Any, b: Any) -> Any:
    """``a / b`` with IEEE semantics: ``1/0 = inf``, ``0/0 = nan`` (arrays pass through)."""
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


def flogsumexp(xs: tuple[float, ...]) -> float:
    """log(sum_i e**x_i) = m + log(sum_i e**(x_i - m)) with m = max x_i: no overflow."""
    m = max(xs)
    if m != m or m == INF or m == -INF:  # nan, or every term is 0 or some term is inf
        return m if all(x == x for x in xs) else NAN
    return m + math.log(sum([math.exp(x - m) for x in xs]))


def fsign(x: float) -> float:
    """-1, 0 or 1, with sign(nan) = 0 as ``torch.sign`` (numpy gives nan); -0.0 stays -0.0."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return x * 0.0 if x == x else 0.0


def _np_sign(x: Any) -> Any:
    return np.where(np.isnan(x), 0.0, np.sign(x))


def _pow_local(a: float, b: float, out: float) -> tuple[float, float]:
    # d/da = b * a**(b-1); PyTorch defines it as 0 when b == 0 (even at a == 0).
    da = 0.0 if b == 0.0 else b * fpow(a, b - 1.0)
    # d/db = out * ln(a); PyTorch defines it as 0 at a == 0 for b >= 0 (where out is 0 or 1).
    db = 0.0 if (a == 0.0 and b >= 0.0) else out * flog(a)
    return (da, db)


def _np_pow_local(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    da = np.where(b == 0.0, 0.0, b * np.power(a, b - 1.0))
    db = np.where((a == 0.0) & (b >= 0.0), 0.0, out * np.log(a))
    return (da, db)


def _np_sum(xs: tuple[Any, ...]) -> Any:
    try:  # one block when every input has the same shape (a neuron's Σ: all arrays)
        return np.sum(xs, axis=0)
    except ValueError:  # a mix of arrays and plain-number constants
        return np.sum(np.broadcast_arrays(*xs), axis=0)


def _np_logsumexp(xs: tuple[Any, ...]) -> Any:
    # The compiled replay passes a gathered block as one (n, ...) array: no stacking then.
    stacked = xs if isinstance(xs, np.ndarray) else np.stack(np.broadcast_arrays(*xs))
    m = np.max(stacked, axis=0)
    finite = np.isfinite(m)
    shift = np.where(finite, m, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = shift + np.log(np.sum(np.exp(stacked - shift), axis=0))
    return np.where(finite, out, m)


def _np_sigmoid(x: Any) -> Any:
    # Two branches keep exp's argument <= 0: no overflow for any x.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))


def _np_step(x: Any) -> Any:
    return np.where(x > 0.0, 1.0, np.where(x == 0.0, 0.5, 0.0))


def _torch_step(torch: Any, a: Any) -> Any:
    # torch.heaviside has no derivative; a constant of a's graph with gradient 0 does.
    step = torch.where(a > 0, 1.0, torch.where(a == 0, 0.5, 0.0)).to(a.dtype)
    return step + 0.0 * torch.where(torch.isfinite(a), a, 0.0)


# ---------------------------------------------------------------------------------------------
# The rows. Arithmetic first (Python operators), then functions of one input, then the rest.

_TABLE: list[Op] = [
    Op(
        "add",
        forward=lambda a, b: a + b,
        local=lambda a, b, out: (1.0, 1.0),
        symbol="+",
        infix="+",
        local_text=("1", "1"),
        torch=lambda torch, a, b: a + b,
        doc="a + b; d/da = 1, d/db = 1",
    ),
    Op(
        "sub",
        forward=lambda a, b: a - b,
        local=lambda a, b, out: (1.0, -1.0),
        symbol="-",
        infix="-",
        local_text=("1", "-1"),
        torch=lambda torch, a, b: a - b,
        doc="a - b; d/da = 1, d/db = -1",
    ),
    Op(
        "mul",
        forward=lambda a, b: a * b,
        local=lambda a, b, out: (b, a),
        symbol="*",
        infix="*",
        local_text=("b", "a"),
        torch=lambda torch, a, b: a * b,
        doc="a * b; d/da = b, d/db = a",
    ),
    Op(
        "div",
        forward=lambda a, b: fdiv(a, b),
        local=lambda a, b, out: (fdiv(1.0, b), -fdiv(out, b)),
        symbol="/",
        infix="/",
        local_text=("1/b", "-a/b²"),
        # grad / b, not grad × (1/b): at a subnormal b, 1/b overflows to inf and 0 × inf is nan.
        vjp=lambda a, b, out, grad: (fdiv(grad, b), -(grad * fdiv(out, b))),
        torch=lambda torch, a, b: a / b,
        doc="a / b; d/da = 1/b, d/db = -a/b² (= -out/b); 1/0 = inf, 0/0 = nan",
    ),
    Op(
        "neg",
        forward=lambda a: -a,
        local=lambda a, out: (-1.0,),
        symbol="neg",
        prefix="-",
        local_text=("-1",),
        torch=lambda torch, a: -a,
        doc="-a; d/da = -1",
    ),
    Op(
        "pow",
        forward=fpow,
        local=_pow_local,
        symbol="**",
        infix="**",
        local_text=("b·a^(b-1)", "out·ln(a)"),
        np_forward=np.power,
        np_local=_np_pow_local,
        masked=lambda a, b, out: (b == 0.0, False),
        torch=lambda torch, a, b: a**b,
        doc="a ** b; d/da = b a^(b-1), d/db = a^b ln(a); nan for a < 0 and fractional b",
    ),
    Op(
        "sum",
        forward=lambda xs: sum(xs, 0.0),
        local=lambda xs, out: (1.0,) * len(xs),
        symbol="Σ",
        variadic=True,
        passes_grad=True,
        local_text=("1",),
        np_forward=_np_sum,
        torch=lambda torch, xs: sum(xs),
        doc="x_1 + ... + x_n in one node; d/dx_i = 1",
    ),
    Op(
        "logsumexp",
        forward=flogsumexp,
        # d/dx_i = e**x_i / sum_j e**x_j = e**(x_i - out): the softmax, never overflowing
        # (inf - inf is nan there, as in torch.logsumexp's gradient).
        local=lambda xs, out: tuple([fexp(x - out) for x in xs]),
        symbol="logΣexp",
        variadic=True,
        local_text=("softmax_i = exp(x_i - out)",),
        np_forward=_np_logsumexp,
        np_local=lambda xs, out: (
            np.exp(xs - out) if isinstance(xs, np.ndarray) else tuple(np.exp(x - out) for x in xs)
        ),
        torch=lambda torch, xs: torch.logsumexp(torch.stack(list(xs)), 0),
        doc="log(e**x_1 + ... + e**x_n) in one stable node; d/dx_i = softmax(x)_i",
    ),
    Op(
        "exp",
        forward=fexp,
        local=lambda a, out: (out,),
        local_text=("exp(a)",),
        np_forward=np.exp,
        torch=lambda torch, a: torch.exp(a),
        doc="e**a; d/da = e**a (= out); overflows to inf",
    ),
    Op(
        "log",
        forward=flog,
        local=lambda a, out: (fdiv(1.0, a),),
        local_text=("1/a",),
        vjp=lambda a, out, grad: (fdiv(grad, a),),  # as div: no 0 × inf at a subnormal a
        np_forward=np.log,
        torch=lambda torch, a: torch.log(a),
        doc="ln(a) for a > 0 (-inf at 0, nan below); d/da = 1/a",
    ),
    Op(
        "tanh",
        forward=lambda a: math.tanh(a),
        local=lambda a, out: (1.0 - out * out,),
        local_text=("1 - out²",),
        np_forward=np.tanh,
        torch=lambda torch, a: torch.tanh(a),
        doc="tanh(a), stable for any a; d/da = 1 - tanh(a)² (= 1 - out²)",
    ),
    Op(
        "sigmoid",
        forward=fsigmoid,
        local=lambda a, out: (out * (1.0 - out),),
        symbol="σ",
        local_text=("out·(1 - out)",),
        np_forward=_np_sigmoid,
        torch=lambda torch, a: torch.sigmoid(a),
        probability=True,
        doc="the logistic function 1 / (1 + e**-a), stable for any a; d/da = out (1 - out)",
    ),
    Op(
        "softplus",
        forward=fsoftplus,
        local=lambda a, out: (fsigmoid(a),),
        local_text=("σ(a)",),
        np_forward=lambda a: np.maximum(a, 0.0) + np.log1p(np.exp(-np.abs(a))),
        np_local=lambda a, out: (_np_sigmoid(a),),
        torch=lambda torch, a: torch.nn.functional.softplus(a, threshold=40.0),
        doc="ln(1 + e**a), stable for any a; d/da = sigmoid(a)",
    ),
    Op(
        "relu",
        forward=lambda a: 0.0 if a <= 0.0 else a,
        local=lambda a, out: (0.0 if a <= 0.0 else 1.0,),  # 1 at nan: passes it, as PyTorch
        symbol="ReLU",
        local_text=("1 if a > 0 else 0",),
        np_forward=lambda a: np.where(a <= 0.0, 0.0, a),
        np_local=lambda a, out: (np.where(a <= 0.0, 0.0, 1.0),),
        torch=lambda torch, a: torch.relu(a),
        masked=True,
        doc="max(0, a); d/da = 1 for a > 0, else 0 (0 at a = 0, as PyTorch)",
    ),
    Op(
        "leaky_relu",
        forward=lambda a, slope: a if a > 0.0 else slope * a,
        local=lambda a, slope, out: (1.0, 0.0) if a > 0.0 else (slope, a),
        symbol="LeakyReLU",
        defaults=(0.01,),
        local_text=("1 if a > 0 else b", "0 if a > 0 else a"),
        np_forward=lambda a, slope: np.where(a > 0.0, a, slope * a),
        np_local=lambda a, slope, out: (
            np.where(a > 0.0, 1.0, slope),
            np.where(a > 0.0, 0.0, a),
        ),
        torch=lambda torch, a, slope: torch.nn.functional.prelu(
            a, torch.as_tensor(slope, dtype=a.dtype).reshape(1)
        ),
        masked=lambda a, slope, out: (False, a > 0.0),
        doc="a if a > 0 else slope * a (slope a constant, 0.01 by default); d/da = 1 or slope",
    ),
    Op(
        "prelu",
        forward=lambda a, alpha: a if a > 0.0 else alpha * a,
        local=lambda a, alpha, out: (1.0, 0.0) if a > 0.0 else (alpha, a),
        symbol="PReLU",
        local_text=("1 if a > 0 else b", "0 if a > 0 else a"),
        np_forward=lambda a, alpha: np.where(a > 0.0, a, alpha * a),
        np_local=lambda a, alpha, out: (
            np.where(a > 0.0, 1.0, alpha),
            np.where(a > 0.0, 0.0, a),
        ),
        torch=lambda torch, a, alpha: torch.nn.functional.prelu(a, alpha.reshape(1)),
        masked=lambda a, alpha, out: (False, a > 0.0),
        doc="a if a > 0 else alpha * a (alpha learned); d/da = 1 or alpha, d/dalpha = 0 or a",
    ),
    Op(
        "abs",
        forward=lambda a: abs(a),
        local=lambda a, out: (fsign(a),),
        local_text=("sign(a)",),
        np_local=lambda a, out: (_np_sign(a),),
        torch=lambda torch, a: torch.abs(a),
        doc="|a|; d/da = sign(a), 0 at a = 0 (and at nan, as PyTorch)",
    ),
    Op(
        "step",
        forward=lambda a: 0.5 if a == 0.0 else (1.0 if a > 0.0 else 0.0),
        local=lambda a, out: (0.0,),
        local_text=("0",),
        np_forward=_np_step,
        torch=_torch_step,
        probability=True,
        masked=True,
        doc="Heaviside step: 1 above 0, 1/2 at 0, 0 below (and at nan, as PyTorch); d/da = 0",
    ),
    Op(
        "sign",
        forward=fsign,
        local=lambda a, out: (0.0,),
        local_text=("0",),
        np_forward=_np_sign,
        torch=lambda torch, a: torch.sign(a),
        masked=True,
        doc="sign(a) in {-1, 0, 1} (0 at nan, as PyTorch); d/da = 0 everywhere",
    ),
    Op(
        "hard_sigmoid",
        forward=lambda a: a if a != a else min(1.0, max(0.0, a + 0.5)),
        local=lambda a, out: (0.0 if (a <= -0.5 or a >= 0.5) else 1.0,),  # 1 at nan, as PyTorch
        symbol="hard σ",
        local_text=("1 if |a| < 1/2 else 0",),
        np_forward=lambda a: np.clip(a + 0.5, 0.0, 1.0),
        np_local=lambda a, out: (np.where((a <= -0.5) | (a >= 0.5), 0.0, 1.0),),
        torch=lambda torch, a: torch.nn.functional.hardtanh(a + 0.5, 0.0, 1.0),
        probability=True,
        masked=True,
        doc="0 below -1/2, a + 1/2 between, 1 above 1/2; d/da = 1 strictly inside, else 0",
    ),
]

OPS: dict[str, Op] = {}
"""Every op by name, in the order of the table (then in the order registered)."""

_listeners: list[Callable[[Op, bool], None]] = []


def on_register(listener: Callable[[Op, bool], None]) -> None:
    """Call ``listener(op, True)`` for every op now and later, ``listener(op, False)`` on removal.

    The engine uses it to give each op its :class:`~microgradnn.Value` method.
    """
    _listeners.append(listener)
    for op in OPS.values():
        listener(op, True)


def register(op: Op) -> Op:
    """Add ``op`` to the table (and its method to :class:`~microgradnn.Value`); returns it.

    Raises:
        TypeError: ``op`` is not an :class:`Op`.
        ValueError: Its name or method name is already taken.
    """
    if not isinstance(op, Op):
        raise TypeError(f"op: expected an Op, got {type(op).__name__}")
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} is already in the op table")
    if op.method is not None and any(o.method == op.method for o in OPS.values()):
        raise ValueError(f"method name {op.method!r} is taken by another op")
    OPS[op.name] = op
    try:
        for listener in _listeners:
            listener(op, True)
    except BaseException:
        del OPS[op.name]
        raise
    return op


def unregister(name: str) -> None:
    """Remove a registered op from the table (for tests that add a toy op); built-ins stay."""
    if name in BUILTINS:
        raise ValueError(f"{name!r} is a built-in op and cannot be removed")
    op = OPS.pop(name, None)
    if op is not None:
        for listener in _listeners:
            listener(op, False)


def get_op(name: str) -> Op:
    """Look up an op by name, with a helpful error for unknown names."""
    try:
        return OPS[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {', '.join(OPS)}") from None


def find(*, infix: str | None = None, prefix: str | None = None, method: str | None = None) -> Op:
    """The op written with this infix symbol, prefix symbol or method name.

    >>> find(infix="*").name, find(method="tanh").name
    ('mul', 'tanh')
    """
    for op in OPS.values():
        if (
            (infix is not None and op.infix == infix)
            or (prefix is not None and op.prefix == prefix)
            or (method is not None and op.method == method)
        ):
            return op
    wanted = infix or prefix or method
    raise KeyError(f"no op is written {wanted!r}")


# ---------------------------------------------------------------------------------------------
# define_op: the learner's front door to register, with the mistakes caught when the op is made.

_PROBES = (0.5, 1.5, -0.75, 2.5, 0.1)
"""Where :func:`define_op` tries a new op's rules: a few ordinary numbers, positive first."""


def define_op(
    name: str,
    forward: Callable[..., Any],
    local: Callable[..., Any],
    *,
    symbol: str | None = None,
    derivative_text: str | Sequence[str] | None = None,
    doc: str | None = None,
    np_forward: Callable[..., Any] | None = None,
    np_local: Callable[..., Any] | None = None,
    torch: Callable[..., Any] | None = None,
    method: str | None = None,
    defaults: Sequence[float] = (),
    variadic: bool = False,
    replace: bool = False,
) -> Op:
    """Define an op of your own: its forward rule and its local derivatives; returns its row.

    The row goes into the op table through :func:`register`, as every built-in op did, so the
    op gets its Value method (``x.sin()``), back-propagates, shows in pictures with
    ``derivative_text`` on its edges, passes ``gradcheck`` and ``check_backward``, and
    compiles (its rules on numpy arrays where they work there, else ``np_forward`` and
    ``np_local``). The rules are tried on a few numbers at once, so a ``local`` that returns
    the wrong number of derivatives fails here, not in the middle of ``backward()``.

    Args:
        name: An identifier such as ``"sin"``; also the Value method's name.
        forward: The op on floats: ``lambda a: math.sin(a)`` (two inputs: ``lambda a, b:``).
        local: The local derivatives from the inputs and the output, one per input, as a
            tuple: ``lambda a, out: (math.cos(a),)``.
        symbol: What a picture writes in the op node (default: ``name``).
        derivative_text: Per input, the derivative as a picture writes it on the edge, in the
            names ``a``, ``b`` and ``out``: ``"cos(a)"`` (one input) or ``("b", "a")``.
        doc: One line for ``help(Value.<name>)`` (default: made from the texts).
        np_forward: The forward on numpy arrays, if ``forward`` does not work on them.
        np_local: The local derivatives on numpy arrays, if ``local`` does not work on them.
        torch: Its PyTorch twin, ``lambda torch, a: torch.sin(a)``.
        method: The Value method's name, if not ``name``.
        defaults: Default numbers for trailing inputs (``x.leaky(0.1)``, ``x.leaky()``).
        variadic: Takes any number of inputs as one tuple: ``forward(xs)``, ``local(xs, out)``.
        replace: Redefine an op this function defined before (re-running a notebook cell).

    Raises:
        TypeError: A rule that is not a function, ``local`` with the wrong inputs, or a rule
            that returns something other than numbers.
        ValueError: A bad or taken name, texts for the wrong number of inputs, or ``local``
            returning the wrong number of derivatives.

    >>> sin = define_op("sin", lambda a: math.sin(a), lambda a, out: (math.cos(a),),
    ...                 derivative_text="cos(a)")
    >>> sin.arity, sin.local_text
    (1, ('cos(a)',))
    >>> unregister("sin")
    """
    _check_name(name)
    for field_name, fn in (("forward", forward), ("local", local)):
        if not callable(fn):
            example = (
                "lambda a: math.sin(a)"
                if field_name == "forward"
                else ("lambda a, out: (math.cos(a),)")
            )
            raise TypeError(
                f"{field_name}: expected a function such as {example}, got {describe(fn)}"
            )
    for field_name, rule in (("np_forward", np_forward), ("np_local", np_local), ("torch", torch)):
        if rule is not None and not callable(rule):
            raise TypeError(f"{field_name}: expected a function or None, got {describe(rule)}")
    variadic = flag("variadic", variadic)
    replace = flag("replace", replace)
    old = OPS.get(name)
    if old is not None and (name in BUILTINS or not replace):
        if name in BUILTINS:
            raise ValueError(f"name: {name!r} is a built-in op; choose another name")
        raise ValueError(
            f"name: an op {name!r} is already defined; pass replace=True to redefine it (as "
            f"when re-running a notebook cell), or remove it first: ops.unregister({name!r})"
        )
    arity = -1 if variadic else _positional_count(forward, name)
    _check_local_signature(name, local, arity)
    texts = _texts(name, derivative_text, arity)
    row = Op(
        name,
        forward=forward,
        local=local,
        symbol=symbol or "",
        doc=doc or _doc(name, texts, arity),
        local_text=texts,
        variadic=variadic,
        method=method,
        defaults=tuple(float(d) for d in defaults),
        np_forward=np_forward,
        np_local=np_local,
        torch=torch,
    )
    _probe(row)
    if old is not None:
        unregister(name)
    try:
        return register(row)
    except BaseException:
        if old is not None:
            register(old)
        raise


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"name: expected a string such as 'sin', got {describe(name)}")
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(
            "name: expected a Python name that does not start with _ (it becomes a Value "
            f"method, x.sin()), such as 'sin' or 'my_relu', got {name!r}"
        )


def _check_local_signature(name: str, local: Callable[..., Any], arity: int) -> None:
    """``local`` takes the inputs then the output: one more than ``forward`` (variadic: 2)."""
    try:
        params = list(inspect.signature(local).parameters.values())
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params):
        return
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    count = sum(1 for p in params if p.kind in kinds and p.default is p.empty)
    wanted = 2 if arity == -1 else arity + 1
    if count != wanted:
        shape = "local(xs, out)" if arity == -1 else f"local({', '.join(_NAMES[:arity])}, out)"
        raise TypeError(
            f"local: expected {shape}, the inputs then the output ({wanted} arguments), got a "
            f"function of {count}; e.g. lambda a, out: (math.cos(a),)"
        )


_NAMES = ("a", "b", "c", "d", "e", "f")


def _texts(name: str, text: str | Sequence[str] | None, arity: int) -> tuple[str, ...]:
    if text is None:
        return ()
    texts = (text,) if isinstance(text, str) else tuple(text)
    if not all(isinstance(t, str) for t in texts):
        raise TypeError(f"derivative_text: expected a string per input, got {describe(text)}")
    wanted = 1 if arity == -1 else arity
    if len(texts) != wanted:
        raise ValueError(
            f"derivative_text: {name} takes {wanted} input{'s' * (wanted != 1)}, so it needs "
            f"{wanted} text{'s' * (wanted != 1)} (one per input), got {len(texts)}"
        )
    return texts


def _doc(name: str, texts: tuple[str, ...], arity: int) -> str:
    args = "xs" if arity == -1 else ", ".join(_NAMES[:arity])
    parts = [f"d/d{x} = {t}" for x, t in zip(_NAMES, texts, strict=False)]
    return f"{name}({args}), defined with define_op" + ("; " + ", ".join(parts) if parts else "")


def _is_real(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _probe(op: Op) -> None:
    """Run ``op``'s rules at the first probe point where ``forward`` works: check what they give.

    A point outside the op's domain is skipped (``forward`` may raise there); where ``forward``
    gives a number, ``local`` must give one real number per input.
    """
    n = 3 if op.variadic else op.arity
    for x in _PROBES:
        xs = tuple(x + 0.25 * i for i in range(n))
        try:
            out = op.forward(xs) if op.variadic else op.forward(*xs)
        except Exception:
            continue
        at = ", ".join(f"{t} = {v}" for t, v in zip(_NAMES, xs, strict=False))
        if not _is_real(out):
            raise TypeError(f"forward: expected a number, got {describe(out)} at {at}")
        try:
            got = op.local(xs, out) if op.variadic else op.local(*xs, out)
        except Exception as err:
            raise ValueError(
                f"local: raised {type(err).__name__}: {err} at {at} (where forward gives {out!r})"
            ) from err
        one = "(math.cos(a),)" if n == 1 else "(d/da, d/db)"
        if not isinstance(got, tuple | list):
            raise TypeError(
                f"local: expected a tuple of {n} derivative{'s' * (n != 1)}, one per input, "
                f"such as {one}, got {describe(got)} at {at}"
                + (" (a one-element tuple needs its comma)" if n == 1 else "")
            )
        if len(got) != n:
            raise ValueError(
                f"local: returned {len(got)} derivative{'s' * (len(got) != 1)} for an op of "
                f"{n} input{'s' * (n != 1)} at {at}; return one per input, such as {one}"
            )
        bad = [d for d in got if not _is_real(d)]
        if bad:
            raise TypeError(f"local: expected numbers, got {describe(bad[0])} at {at}")
        return


for _op in _TABLE:
    register(_op)
BUILTINS: frozenset[str] = frozenset(OPS)
"""The names of the ops that ship with microgradnn."""
