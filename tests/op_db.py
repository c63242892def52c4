"""One record per op of :data:`microgradnn.OPS`: what the tests know about it, apart from the table.

As PyTorch's ``OpInfo`` (and minitorch's and tinygrad's op lists), each :class:`OpInfo` collects
in one place what every op test needs, written independently of the op table, so that a test
compares the table with something it did not produce:

- ``torch``: the op written with PyTorch's own functions (not the row's ``torch`` field, which
  ``test_ops.py`` checks against this one);
- ``reference``: the op on floats from :mod:`math` (a closed form where there is one);
- ``random`` / ``smooth``: its domain, as hypothesis strategies: wide points where float64 is
  still accurate (for torch), and moderate points off every kink (for central differences);
- ``kinks``: where its derivative jumps;
- ``forms``: expressions that build exactly one node of it (``x + 2`` and ``2 + x`` are two
  forms), each with hand-picked points and extreme inputs; an extreme where we deliberately
  differ from torch carries our value, our gradients and the reason;
- ``apply``, ``dag_inputs``, ``conditioned``: how a random DAG (``tests/strategies.py``) applies
  it through the public API, and where that stays well conditioned.

The number strategies the domains are written with (:func:`finite`, :func:`magnitude`,
:func:`avoiding`) live here too, so that this module imports no other test module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, TypeVar

from hypothesis import strategies as st

from microgradnn import Value

__all__ = [
    "OP_DB",
    "RECORDS",
    "SATURATING",
    "Extreme",
    "Form",
    "Leaf",
    "OpInfo",
    "X",
    "Y",
    "avoiding",
    "finite",
    "magnitude",
]

INF = math.inf
NAN = math.nan

Point = tuple[float, ...]
Points = st.SearchStrategy[Point]
Tensor = Any
TorchTwin = Callable[[ModuleType, Sequence[Any]], Tensor]
T = TypeVar("T")


# -- number strategies ----------------------------------------------------------------------------


def finite(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Finite floats in ``[lo, hi]`` (no nan, no inf)."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def magnitude(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Floats with ``lo <= |x| <= hi``, either sign: e.g. denominators kept away from 0."""
    return st.builds(lambda m, s: s * m, finite(lo, hi), st.sampled_from((1.0, -1.0)))


def avoiding(
    strategy: st.SearchStrategy[float], kinks: Sequence[float], margin: float
) -> st.SearchStrategy[float]:
    """``strategy`` without the numbers within ``margin`` of a kink (where f' jumps)."""
    return strategy.filter(lambda x: all(abs(x - k) > margin for k in kinks))


def _points(*coords: st.SearchStrategy[float]) -> Points:
    return st.tuples(*coords)


def _lists(lo: float, hi: float, max_size: int) -> Points:
    return st.lists(finite(lo, hi), min_size=1, max_size=max_size).map(tuple)


# -- the record types -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """The form's ``index``-th Value argument (``x`` is 0, ``y`` is 1)."""

    index: int


X, Y = Leaf(0), Leaf(1)


@dataclass(frozen=True)
class Extreme:
    """An extreme input. ``value``/``grads`` are set only where we deliberately differ from torch.

    The reason is in ``why``; ``test_deviations_from_torch_are_real`` keeps the list honest.
    """

    point: Point
    value: float | None = None
    grads: tuple[float, ...] | None = None
    why: str = ""


@dataclass(frozen=True)
class Form:
    """An expression that builds exactly one node of its op from Values and plain numbers.

    Attributes:
        text: The expression as a learner writes it, e.g. ``"2 - x"``.
        fn: That expression, on the form's Value arguments (``fn(x)``).
        inputs: The node's ``_prev``, in order: :class:`Leaf` for an argument, a number for a
            constant (``2 - x`` is ``(2, X)``; ``x.leaky_relu()`` is ``(X, 0.01)``). None: every
            argument in order, as many as the point has (``Value.sum(xs)``).
        points: Hand-picked points (one number per argument).
        extremes: Extreme points: inf, nan, overflow, signed zeros.
        random: Random points for comparing with torch (None: the op's ``random``).
        smooth: Random points off every kink for central differences (None: the op's).
        grad_atol: Absolute tolerance on gradients where the float64 rule cancels.
    """

    text: str
    fn: Callable[..., Value]
    inputs: tuple[Leaf | float, ...] | None
    points: tuple[Point, ...]
    extremes: tuple[Extreme, ...]
    random: Points | None = None
    smooth: Points | None = None
    grad_atol: float = 0.0

    def wire(self, args: Sequence[T]) -> list[T | float]:
        """The op's inputs for these arguments (Values or tensors), constants in place."""
        if self.inputs is None:
            return list(args)
        return [args[i.index] if isinstance(i, Leaf) else i for i in self.inputs]

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class OpInfo:
    """What the tests know about one op (see the module docstring)."""

    name: str
    torch: TorchTwin
    reference: Callable[[Sequence[float]], float] | None
    apply: Callable[[Sequence[Any]], Value]
    random: Points
    smooth: Points
    forms: tuple[Form, ...]
    kinks: tuple[float, ...] = ()
    dag_inputs: Callable[[Any, Any, float], list[tuple[Any, ...]]] | None = None
    conditioned: Callable[[Sequence[float], Sequence[bool]], bool] = lambda xs, is_value: True

    def __repr__(self) -> str:
        return f"OpInfo({self.name!r})"


def _ext(*points: Point | Extreme) -> tuple[Extreme, ...]:
    return tuple(p if isinstance(p, Extreme) else Extreme(p) for p in points)


def form(
    text: str,
    fn: Callable[..., Value],
    inputs: tuple[Leaf | float, ...] | None,
    points: Sequence[Point],
    extremes: Sequence[Point | Extreme],
    random: Points | None = None,
    smooth: Points | None = None,
    grad_atol: float = 0.0,
) -> Form:
    return Form(text, fn, inputs, tuple(points), _ext(*extremes), random, smooth, grad_atol)


def _unary(lo: float, hi: float) -> Points:
    return st.tuples(finite(lo, hi))


def _record(name: str, *, forms: Sequence[Form], **fields: Any) -> OpInfo:
    """An :class:`OpInfo` whose forms default to its domain."""
    info = OpInfo(name, forms=(), **fields)
    filled = tuple(
        replace(
            f,
            random=info.random if f.random is None else f.random,
            smooth=info.smooth if f.smooth is None else f.smooth,
        )
        for f in forms
    )
    return replace(info, forms=filled)


# -- torch twins: each op with PyTorch's own functions ---------------------------------------------


def _tensor(torch: ModuleType, x: Any) -> Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.tensor(float(x), dtype=torch.float64)


_step_function: Any = None


def _step(torch: ModuleType, x: Tensor) -> Tensor:
    """Heaviside step with H(0) = 1/2 and derivative 0 (torch.heaviside has no derivative)."""
    global _step_function
    if _step_function is None:

        class Step(torch.autograd.Function):
            @staticmethod
            def forward(ctx: Any, t: Tensor) -> Tensor:
                return torch.heaviside(t, torch.tensor(0.5, dtype=t.dtype))

            @staticmethod
            def backward(ctx: Any, grad: Tensor) -> Tensor:
                return torch.zeros_like(grad)

        _step_function = Step
    return _step_function.apply(x)


def _softplus(torch: ModuleType, x: Tensor) -> Tensor:
    # F.softplus returns x itself above `threshold` (default 20, an error of e**-20 ~ 2e-9);
    # above 40, log(1 + e**-x) < 5e-18 is below half an ulp of x, so 40 makes it exact.
    return torch.nn.functional.softplus(x, beta=1.0, threshold=40.0)


def _prelu(torch: ModuleType, x: Tensor, alpha: Any) -> Tensor:
    # F.prelu, not torch.where(x > 0, x, a * x): where's backward multiplies the masked branch's
    # zero gradient by x, so d/da at x = inf would come out 0 * inf = nan.
    return torch.nn.functional.prelu(x, _tensor(torch, alpha).reshape(1))


def _leaky_relu(torch: ModuleType, x: Tensor, slope: Any) -> Tensor:
    if isinstance(slope, torch.Tensor):  # a Value slope: it gets a gradient, as prelu's alpha
        return _prelu(torch, x, slope)
    return torch.nn.functional.leaky_relu(x, float(slope))


def _sum(torch: ModuleType, xs: Sequence[Any]) -> Tensor:
    # The `* 1.0` gives each input its own gradient tensor. Without it, the leaves' .grad are
    # views of one buffer (unbind of stack's gradient) that AccumulateGrad keeps as is, so a
    # second backward() adds into all of them at once: stack([a, b]).sum() backpropagated twice
    # leaves a.grad = b.grad = 3 (pytorch/pytorch#34082; seen with torch 2.13).
    return torch.stack([_tensor(torch, x) * 1.0 for x in xs]).sum()


def _logsumexp(torch: ModuleType, xs: Sequence[Any]) -> Tensor:
    # torch.logsumexp over a stack of the inputs, with the same `* 1.0` as :func:`_sum` (stack's
    # backward would otherwise hand the leaves views of one gradient buffer).
    return torch.logsumexp(torch.stack([_tensor(torch, x) * 1.0 for x in xs]), dim=0)


def _hard_sigmoid(torch: ModuleType, x: Tensor) -> Tensor:
    # hardtanh, not clamp: clamp passes the gradient at its bounds, hardtanh (as we) does not.
    return torch.nn.functional.hardtanh(x + 0.5, 0.0, 1.0)


# -- float references -----------------------------------------------------------------------------


def _pow(xs: Sequence[float]) -> float:
    return math.pow(xs[0], xs[1])


def _logsumexp_reference(xs: Sequence[float]) -> float:
    m = max(xs)
    return m + math.log(math.fsum(math.exp(x - m) for x in xs))


def _softplus_reference(xs: Sequence[float]) -> float:
    a = xs[0]
    return a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a))


def _step_reference(xs: Sequence[float]) -> float:
    a = xs[0]
    return 0.5 if a == 0 else (1.0 if a > 0 else 0.0)


def _pow_conditioned(xs: Sequence[float], is_value: Sequence[bool]) -> bool:
    # d/db = a**b * ln(a) is nan for a <= 0: keep the base positive when the exponent is a Value.
    a, b = xs
    if (is_value[1] or b != int(b)) and a <= 0.1:
        return False
    return abs(a) >= 0.1 and abs(b) <= 4


def _binary_inputs(i: Any, j: Any, c: float) -> list[tuple[Any, ...]]:
    return [(i, j), (i, c), (c, i)]


def _variadic_inputs(i: Any, j: Any, c: float) -> list[tuple[Any, ...]]:
    return [(i, j), (i, c, j)]


def _unary_inputs(i: Any, j: Any, c: float) -> list[tuple[Any, ...]]:
    return [(i,)]


def _binary(
    name: str,
    torch: TorchTwin,
    reference: Callable[[Sequence[float]], float],
    apply: Callable[[Sequence[Any]], Value],
    random: Points,
    smooth: Points,
    forms: Sequence[Form],
    conditioned: Callable[[Sequence[float], Sequence[bool]], bool] = lambda xs, is_value: True,
) -> OpInfo:
    """An arithmetic operator: plain-number constants may stand on either side."""
    return _record(
        name,
        torch=torch,
        reference=reference,
        apply=apply,
        random=random,
        smooth=smooth,
        forms=forms,
        dag_inputs=_binary_inputs,
        conditioned=conditioned,
    )


def _unary_op(
    name: str,
    torch: TorchTwin,
    reference: Callable[[Sequence[float]], float],
    apply: Callable[[Sequence[Any]], Value],
    random: Points,
    smooth: Points,
    forms: Sequence[Form],
    kinks: tuple[float, ...] = (),
    conditioned: Callable[[Sequence[float], Sequence[bool]], bool] = lambda xs, is_value: True,
) -> OpInfo:
    """A function of one input."""
    return _record(
        name,
        torch=torch,
        reference=reference,
        apply=apply,
        random=random,
        smooth=smooth,
        forms=forms,
        kinks=kinks,
        dag_inputs=_unary_inputs,
        conditioned=conditioned,
    )


SATURATING: tuple[Point, ...] = ((1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (0.0,), (-0.0,))
"""Extremes for a function of one input: saturation, infinities, nan and both zeros."""

_WIDE = _unary(-1e6, 1e6)
_MODERATE = _unary(-10.0, 10.0)


def _kinked(kinks: tuple[float, ...]) -> Points:
    """Moderate points at least 1e-3 from every kink, so that x +- h stays on one side of it."""
    return _points(avoiding(finite(-10.0, 10.0), kinks, 1e-3))


RECORDS: tuple[OpInfo, ...] = (
    _binary(
        "add",
        torch=lambda torch, xs: xs[0] + xs[1],
        reference=lambda xs: xs[0] + xs[1],
        apply=lambda xs: xs[0] + xs[1],
        random=_points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
        smooth=_points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
        forms=[
            form(
                "x + y",
                lambda x, y: x + y,
                (X, Y),
                [(1.5, -2.0), (0.0, 0.0), (3.0, 4.0)],
                [
                    (1000.0, -1000.0),
                    (INF, 1.0),
                    (INF, -INF),
                    (NAN, 1.0),
                    (-0.0, 0.0),
                    (1e308, 1e308),
                ],
            ),
            form(
                "x + 2",
                lambda x: x + 2,
                (X, 2),
                [(1.5,), (-2.0,)],
                [(1000.0,), (-INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
            form(
                "2 + x",
                lambda x: 2 + x,
                (2, X),
                [(1.5,), (-2.0,)],
                [(-1000.0,), (INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
        ],
    ),
    _binary(
        "sub",
        torch=lambda torch, xs: xs[0] - xs[1],
        reference=lambda xs: xs[0] - xs[1],
        apply=lambda xs: xs[0] - xs[1],
        random=_points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
        smooth=_points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
        forms=[
            form(
                "x - y",
                lambda x, y: x - y,
                (X, Y),
                [(1.5, -2.0), (2.0, 2.0)],
                [(1000.0, 1000.0), (INF, INF), (NAN, 0.0), (1e308, -1e308)],
            ),
            form(
                "x - 2",
                lambda x: x - 2,
                (X, 2),
                [(1.5,), (-2.0,)],
                [(1000.0,), (-INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
            form(
                "2 - x",
                lambda x: 2 - x,
                (2, X),
                [(1.5,), (-2.0,)],
                [(-1000.0,), (INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
        ],
    ),
    _binary(
        "mul",
        torch=lambda torch, xs: xs[0] * xs[1],
        reference=lambda xs: xs[0] * xs[1],
        apply=lambda xs: xs[0] * xs[1],
        random=_points(finite(-1e6, 1e6), finite(-1e6, 1e6)),
        smooth=_points(finite(-10.0, 10.0), finite(-10.0, 10.0)),
        forms=[
            form(
                "x * y",
                lambda x, y: x * y,
                (X, Y),
                [(1.5, -2.0), (0.0, 3.0), (0.1, 0.2)],
                [(INF, 0.0), (1e200, 1e200), (-1000.0, 1000.0), (NAN, 2.0), (-INF, -INF)],
            ),
            form(
                "x * 2",
                lambda x: x * 2,
                (X, 2),
                [(1.5,), (-0.1,)],
                [(1000.0,), (INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
            form(
                "2 * x",
                lambda x: 2 * x,
                (2, X),
                [(1.5,), (-0.1,)],
                [(-1000.0,), (-INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
        ],
    ),
    _binary(
        "div",
        torch=lambda torch, xs: xs[0] / xs[1],
        reference=lambda xs: xs[0] / xs[1],
        apply=lambda xs: xs[0] / xs[1],
        random=_points(finite(-1e6, 1e6), magnitude(1e-3, 1e6)),
        smooth=_points(finite(-10.0, 10.0), magnitude(0.5, 10.0)),
        conditioned=lambda xs, is_value: abs(xs[1]) > 0.1,
        forms=[
            form(
                "x / y",
                lambda x, y: x / y,
                (X, Y),
                [(1.0, 3.0), (-2.5, 0.5), (0.0, 2.0)],
                [
                    (1.0, 0.0),
                    (-1.0, 0.0),
                    (1.0, -0.0),
                    (0.0, 0.0),
                    (INF, INF),
                    (1000.0, 1e-320),
                    (NAN, 1.0),
                    (1.0, 1000.0),
                ],
            ),
            form(
                "x / 2",
                lambda x: x / 2,
                (X, 2),
                [(1.0,), (-3.0,)],
                [(1000.0,), (INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
            form(
                "2 / x",
                lambda x: 2 / x,
                (2, X),
                [(1.0,), (-3.0,), (0.5,)],
                [(0.0,), (-0.0,), (1000.0,), (-1000.0,), (INF,), (NAN,)],
                st.tuples(magnitude(1e-3, 1e6)),
                st.tuples(magnitude(0.5, 10.0)),
            ),
        ],
    ),
    _unary_op(
        "neg",
        torch=lambda torch, xs: -xs[0],
        reference=lambda xs: -xs[0],
        apply=lambda xs: -xs[0],
        random=_WIDE,
        smooth=_MODERATE,
        forms=[form("-x", lambda x: -x, (X,), [(1.5,), (-2.0,), (0.0,)], SATURATING[:5])],
    ),
    _binary(
        "pow",
        torch=lambda torch, xs: xs[0] ** xs[1],
        reference=_pow,
        apply=lambda xs: xs[0] ** xs[1],
        random=_points(finite(1e-3, 100.0), finite(-5.0, 5.0)),
        smooth=_points(finite(0.5, 5.0), finite(-3.0, 3.0)),
        conditioned=_pow_conditioned,
        forms=[
            form(
                "x ** y",
                lambda x, y: x**y,
                (X, Y),
                [(2.0, 3.0), (0.5, -1.5), (4.0, 0.5), (-2.0, 3.0), (3.0, 0.0)],
                [
                    (0.0, 0.0),
                    (0.0, -1.0),
                    (0.0, 2.0),
                    (0.0, 0.5),
                    (-1.0, 0.5),
                    (1000.0, 1000.0),
                    (2.0, 1000.0),
                    (2.0, -1000.0),
                    (NAN, 0.0),
                    (1.0, NAN),
                    (INF, 2.0),
                ],
            ),
            form(
                "x ** 2",
                lambda x: x**2,
                (X, 2),
                [(3.0,), (-1.5,), (0.0,)],
                [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (1e200,)],
                _unary(-1e3, 1e3),
                _MODERATE,
            ),
            form(
                "x ** 3",
                lambda x: x**3,
                (X, 3),
                [(3.0,), (-1.5,), (0.0,)],
                [(1000.0,), (-1000.0,), (-INF,), (NAN,)],
                _unary(-1e3, 1e3),
                _unary(-5.0, 5.0),
            ),
            form(
                "x ** 0.5",
                lambda x: x**0.5,
                (X, 0.5),
                [(4.0,), (2.0,), (0.01,)],
                [(0.0,), (-1.0,), (1000.0,), (INF,), (NAN,)],
                _unary(1e-6, 1e6),
                _unary(0.1, 10.0),
            ),
            form(
                "x ** -0.5",
                lambda x: x**-0.5,
                (X, -0.5),
                [(4.0,), (2.0,), (0.01,)],
                [
                    (0.0,),
                    (-1.0,),
                    (1000.0,),
                    (INF,),
                    (NAN,),
                    Extreme(
                        (-0.0,),
                        INF,
                        (-INF,),
                        "IEEE 754: pow(-0, -0.5) = +inf (numpy too); torch's scalar pow gives -inf",
                    ),
                ],
                _unary(1e-6, 1e6),
                _unary(0.1, 10.0),
            ),
            form(
                "x ** -1",
                lambda x: x**-1,
                (X, -1),
                [(4.0,), (-0.5,)],
                [(0.0,), (-0.0,), (1000.0,), (INF,), (NAN,)],
                st.tuples(magnitude(1e-3, 1e3)),
                st.tuples(magnitude(0.5, 10.0)),
            ),
            form(
                "2 ** x",
                lambda x: 2**x,
                (2, X),
                [(3.0,), (-1.5,), (0.0,)],
                [(1000.0,), (-1000.0,), (1025.0,), (INF,), (-INF,), (NAN,)],
                _unary(-50.0, 50.0),
                _unary(-5.0, 5.0),
            ),
        ],
    ),
    _record(
        "sum",
        torch=_sum,
        reference=math.fsum,
        apply=lambda xs: Value.sum(xs),
        random=_lists(-1e6, 1e6, 6),
        smooth=_lists(-10.0, 10.0, 5),
        dag_inputs=_variadic_inputs,
        forms=[
            form(
                "Value.sum(xs)",
                lambda *xs: Value.sum(xs),
                None,
                [(1.0, 2.0, 3.0), (0.5,), (0.1, 0.2, 0.3, -0.6)],
                [(INF, -INF, 1.0), (1e308, 1e308, 0.0), (NAN, 1.0, 2.0), (1000.0, -1000.0, 0.0)],
            ),
            form(
                "Value.sum([x, 2, x])",
                lambda x: Value.sum([x, 2, x]),
                (X, 2, X),
                [(1.5,), (-4.0,)],
                [(1000.0,), (INF,), (NAN,)],
                _WIDE,
                _MODERATE,
            ),
        ],
    ),
    _record(
        "logsumexp",
        torch=_logsumexp,
        reference=_logsumexp_reference,
        apply=lambda xs: Value.logsumexp(xs),
        random=_lists(-1e3, 1e3, 6),
        smooth=_lists(-10.0, 10.0, 5),
        dag_inputs=_variadic_inputs,
        # d/dx_i = e**(x_i - out): an ulp of out (which two libraries may round differently) is
        # a relative error of ulp(out) in every gradient, so keep the inputs where it is small.
        conditioned=lambda xs, is_value: max(abs(x) for x in xs) <= 1e3,
        forms=[
            form(
                "Value.logsumexp(xs)",
                lambda *xs: Value.logsumexp(xs),
                None,
                [(1.0, 2.0, 3.0), (0.5,), (0.1, 0.2, 0.3, -0.6), (-2.0, -2.0), (0.0, -30.0, 30.0)],
                [
                    (1000.0, 1000.0),
                    (-1000.0, -1000.0),
                    (1000.0, -1000.0, 0.0),
                    (1e308, 1e308),
                    (-1e308, 1e308),
                    (800.0, -800.0),
                    (INF, 1.0),
                    (1.0, INF),
                    (INF, INF),
                    (INF, -INF),
                    (-INF, -INF),
                    (-INF, 0.0),
                    (0.0, -INF, -INF),
                    (INF,),
                    (-INF,),
                    (NAN,),
                    (NAN, 1.0),
                    (1.0, NAN),
                    (NAN, INF),
                    (INF, NAN),
                    (-INF, NAN),
                ],
            ),
            form(
                "Value.logsumexp([x, 2, x])",
                lambda x: Value.logsumexp([x, 2, x]),
                (X, 2, X),
                [(1.5,), (-4.0,), (2.0,)],
                [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,)],
                _unary(-1e3, 1e3),
                _MODERATE,
            ),
        ],
    ),
    _unary_op(
        "exp",
        torch=lambda torch, xs: torch.exp(xs[0]),
        reference=lambda xs: math.exp(xs[0]),
        apply=lambda xs: xs[0].exp(),
        random=_unary(-700.0, 700.0),
        smooth=_unary(-5.0, 5.0),
        conditioned=lambda xs, is_value: xs[0] < 8,
        forms=[
            form(
                "x.exp()",
                lambda x: x.exp(),
                (X,),
                [(0.0,), (1.0,), (-1.0,), (2.5,)],
                [(1000.0,), (-1000.0,), (INF,), (-INF,), (NAN,), (709.0,), (710.0,)],
            )
        ],
    ),
    _unary_op(
        "log",
        torch=lambda torch, xs: torch.log(xs[0]),
        reference=lambda xs: math.log(xs[0]),
        apply=lambda xs: xs[0].log(),
        random=_unary(1e-100, 1e100),
        smooth=_unary(0.1, 10.0),
        conditioned=lambda xs, is_value: xs[0] > 0.1,
        forms=[
            form(
                "x.log()",
                lambda x: x.log(),
                (X,),
                [(1.0,), (2.5,), (0.1,)],
                [(0.0,), (-0.0,), (-1.0,), (1000.0,), (INF,), (-INF,), (NAN,), (1e-320,)],
            )
        ],
    ),
    _unary_op(
        "tanh",
        torch=lambda torch, xs: torch.tanh(xs[0]),
        reference=lambda xs: math.tanh(xs[0]),
        apply=lambda xs: xs[0].tanh(),
        random=_unary(-1e3, 1e3),
        smooth=_unary(-3.0, 3.0),
        forms=[
            form(
                "x.tanh()",
                lambda x: x.tanh(),
                (X,),
                [(0.0,), (0.5,), (-2.0,)],
                [*SATURATING, (20.0,), (-20.0,)],
                # 1 - tanh**2 cancels: an ulp of tanh(x) ~ 1 is 1e-16 of the gradient
                grad_atol=1e-15,
            )
        ],
    ),
    _unary_op(
        "sigmoid",
        torch=lambda torch, xs: torch.sigmoid(xs[0]),
        reference=lambda xs: 0.5 * (1.0 + math.tanh(xs[0] / 2.0)),
        apply=lambda xs: xs[0].sigmoid(),
        random=_unary(-1e3, 1e3),
        smooth=_unary(-6.0, 6.0),
        forms=[
            form(
                "x.sigmoid()",
                lambda x: x.sigmoid(),
                (X,),
                [(0.0,), (2.0,), (-3.0,)],
                [*SATURATING, (-40.0,), (40.0,)],
                grad_atol=1e-15,  # out * (1 - out) cancels the same way near out ~ 1
            )
        ],
    ),
    _unary_op(
        "softplus",
        torch=lambda torch, xs: _softplus(torch, xs[0]),
        reference=_softplus_reference,
        apply=lambda xs: xs[0].softplus(),
        random=_unary(-1e3, 1e3),
        smooth=_unary(-6.0, 6.0),
        forms=[
            form(
                "x.softplus()",
                lambda x: x.softplus(),
                (X,),
                [(0.0,), (1.0,), (-2.0,), (21.0,), (25.0,)],
                [*SATURATING, (40.0,), (41.0,), (-40.0,)],
            )
        ],
    ),
    _unary_op(
        "relu",
        torch=lambda torch, xs: torch.relu(xs[0]),
        reference=lambda xs: max(xs[0], 0.0),
        apply=lambda xs: xs[0].relu(),
        random=_unary(-1e3, 1e3),
        smooth=_kinked((0.0,)),
        kinks=(0.0,),
        forms=[
            form(
                "x.relu()",
                lambda x: x.relu(),
                (X,),
                [(1.5,), (-2.0,), (0.0,), (-0.0,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            )
        ],
    ),
    _record(
        "leaky_relu",
        torch=lambda torch, xs: _leaky_relu(torch, xs[0], xs[1]),
        reference=lambda xs: xs[0] if xs[0] > 0 else xs[1] * xs[0],
        apply=lambda xs: xs[0].leaky_relu(*xs[1:]),
        random=_unary(-1e3, 1e3),
        smooth=_kinked((0.0,)),
        kinks=(0.0,),
        dag_inputs=lambda i, j, c: [(i, 0.01), (i, 0.2)],
        forms=[
            form(
                "x.leaky_relu()",
                lambda x: x.leaky_relu(),
                (X, 0.01),
                [(1.5,), (-2.0,), (0.0,)],
                SATURATING,
            ),
            form(
                "x.leaky_relu(0.2)",
                lambda x: x.leaky_relu(0.2),
                (X, 0.2),
                [(1.5,), (-2.0,), (0.0,)],
                SATURATING,
            ),
            # The slope is meant as a constant, but a Value slope is an input like prelu's alpha
            # and gets its gradient (0 if x > 0 else x).
            form(
                "x.leaky_relu(s)",
                lambda x, s: x.leaky_relu(s),
                (X, Y),
                [(1.5, 0.25), (-2.0, 0.25), (0.0, 0.25), (-2.0, -0.5)],
                [(-1000.0, 0.25), (1000.0, 0.25), (INF, 0.25), (-INF, 0.25), (NAN, 0.25)],
                _points(finite(-1e3, 1e3), finite(-2.0, 2.0)),
                _points(avoiding(finite(-10.0, 10.0), (0.0,), 1e-3), finite(-2.0, 2.0)),
            ),
        ],
    ),
    _record(
        "prelu",
        torch=lambda torch, xs: _prelu(torch, xs[0], xs[1]),
        reference=lambda xs: xs[0] if xs[0] > 0 else xs[1] * xs[0],
        apply=lambda xs: xs[0].prelu(xs[1]),
        random=_points(finite(-1e3, 1e3), finite(-2.0, 2.0)),
        smooth=_points(avoiding(finite(-10.0, 10.0), (0.0,), 1e-3), finite(-2.0, 2.0)),
        kinks=(0.0,),
        dag_inputs=lambda i, j, c: [(i, j)],
        conditioned=lambda xs, is_value: abs(xs[1]) < 10,
        forms=[
            form(
                "x.prelu(a)",
                lambda x, a: x.prelu(a),
                (X, Y),
                [(1.5, 0.25), (-2.0, 0.25), (0.0, 0.25), (-2.0, -0.5)],
                [
                    (-1000.0, 0.25),
                    (1000.0, 0.25),
                    (INF, 0.25),
                    (-INF, 0.25),
                    (NAN, 0.25),
                    (-INF, 0.0),
                    (-2.0, NAN),
                ],
            ),
            form(
                "x.prelu(0.25)",
                lambda x: x.prelu(0.25),
                (X, 0.25),
                [(1.5,), (-2.0,), (0.0,)],
                SATURATING,
                _unary(-1e3, 1e3),
                st.tuples(magnitude(1e-3, 10.0)),
            ),
        ],
    ),
    _unary_op(
        "abs",
        torch=lambda torch, xs: torch.abs(xs[0]),
        reference=lambda xs: math.fabs(xs[0]),
        apply=lambda xs: abs(xs[0]),
        random=_unary(-1e3, 1e3),
        smooth=_kinked((0.0,)),
        kinks=(0.0,),
        forms=[
            form(
                "abs(x)",
                abs,
                (X,),
                [(1.5,), (-2.0,), (0.0,), (-0.0,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            ),
            form(
                "x.abs()",
                lambda x: x.abs(),
                (X,),
                [(1.5,), (-2.0,), (0.0,), (-0.0,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            ),
        ],
    ),
    _unary_op(
        "step",
        torch=lambda torch, xs: _step(torch, xs[0]),
        reference=_step_reference,
        apply=lambda xs: xs[0].step(),
        random=_unary(-1e3, 1e3),
        smooth=_kinked((0.0,)),
        kinks=(0.0,),
        forms=[
            form(
                "x.step()",
                lambda x: x.step(),
                (X,),
                [(1.5,), (-2.0,), (0.0,), (-0.0,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            )
        ],
    ),
    _unary_op(
        "sign",
        torch=lambda torch, xs: torch.sign(xs[0]),
        reference=lambda xs: float((xs[0] > 0) - (xs[0] < 0)),
        apply=lambda xs: xs[0].sign(),
        random=_unary(-1e3, 1e3),
        smooth=_kinked((0.0,)),
        kinks=(0.0,),
        forms=[
            form(
                "x.sign()",
                lambda x: x.sign(),
                (X,),
                [(1.5,), (-2.0,), (0.0,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            )
        ],
    ),
    _unary_op(
        "hard_sigmoid",
        torch=lambda torch, xs: _hard_sigmoid(torch, xs[0]),
        reference=lambda xs: min(1.0, max(0.0, xs[0] + 0.5)),
        apply=lambda xs: xs[0].hard_sigmoid(),
        # Kinks are allowed in random points (both follow the same conventions), except that
        # torch decides hardtanh's kink on x + 0.5, which rounds up to 1.0 at the float just
        # below 1/2.
        random=_points(avoiding(finite(-1e3, 1e3), (0.5,), 1e-12)),
        smooth=_kinked((-0.5, 0.5)),
        kinks=(-0.5, 0.5),
        forms=[
            form(
                "x.hard_sigmoid()",
                lambda x: x.hard_sigmoid(),
                (X,),
                [(0.0,), (0.25,), (-0.5,), (0.5,), (0.7,), (-0.7,), (-0.4999,), (0.4999,)],
                [
                    *SATURATING[:4],
                    (NAN,),
                ],
            )
        ],
    ),
)
"""Every record, in the order of the op table."""

OP_DB: dict[str, OpInfo] = {info.name: info for info in RECORDS}
"""Every record by its op's name."""
