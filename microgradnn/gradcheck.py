"""Finite-difference gradient checks that learners can run on their own functions.

The central difference (f(x + h) - f(x - h)) / 2h approximates df/dx with error O(h**2), so
it is an independent oracle for what ``backward()`` computes. :func:`gradcheck` compares whole
gradients of a function; :func:`check_backward` compares every edge of a graph, one op at a
time, and names the first edge whose local derivative is wrong.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from microgradnn import learner
from microgradnn._checks import describe, flag, number
from microgradnn.engine import Value, no_grad
from microgradnn.ops import BUILTINS, Op

__all__ = [
    "BackwardCheck",
    "EdgeCheck",
    "GradcheckError",
    "GradcheckResult",
    "check_backward",
    "gradcheck",
    "graph_names",
    "numerical_grad",
    "set_picture_maker",
]

Function = Callable[..., Value]


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when backprop and finite differences disagree."""


@dataclass(frozen=True)
class GradcheckResult:
    """Analytic (backprop) and numerical (central difference) gradients, side by side."""

    analytic: tuple[float, ...]
    numerical: tuple[float, ...]
    ok: tuple[bool, ...]

    def __bool__(self) -> bool:
        return all(self.ok)


def _call(f: Function, xs: Sequence[float]) -> Value:
    out = f(*[Value(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck expects f to return a Value, got {type(out).__name__}: {out!r}")
    return out


def _point(inputs: Sequence[float], who: str) -> list[float]:
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, Iterable):
        raise TypeError(f"{who}: inputs: expected a list of numbers, got {describe(inputs)}")
    return [number(f"inputs[{i}]", x, finite=False) for i, x in enumerate(inputs)]


def numerical_grad(f: Function, inputs: Sequence[float], eps: float = 1e-6) -> list[float]:
    """Central-difference estimate of df/dx_i for each input, (f(x+h) - f(x-h)) / 2h.

    Args:
        f: A function of ``len(inputs)`` Values returning a Value.
        inputs: The point at which to differentiate.
        eps: The step h.

    >>> numerical_grad(lambda x: x * x, [3.0])[0]  # d(x^2)/dx = 2x
    6.000000000...
    """
    xs = _point(inputs, "numerical_grad")
    eps = number("eps", eps, low=0.0, low_open=True)
    grads = []
    with no_grad():
        for i in range(len(xs)):
            hi = list(xs)
            lo = list(xs)
            hi[i] += eps
            lo[i] -= eps
            grads.append((_call(f, hi).data - _call(f, lo).data) / (2 * eps))
    return grads


def gradcheck(
    f: Function,
    inputs: Sequence[float],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Compare ``backward()``'s gradients of ``f`` with central differences.

    Each input passes when ``|analytic - numerical| <= atol + rtol * |numerical|``.

    Args:
        f: A function of Values returning a Value, e.g. ``lambda w, b: (w * 2 + b).tanh()``.
        inputs: The point (one float per argument of ``f``).
        eps: Finite-difference step.
        atol: Absolute tolerance.
        rtol: Relative tolerance.
        raise_exception: Raise :class:`GradcheckError` on a mismatch (else just report it).

    Returns:
        A :class:`GradcheckResult`; truthy when every gradient matches.

    >>> bool(gradcheck(lambda w, x: (w * x).sigmoid(), [0.5, -2.0]))
    True
    """
    eps = number("eps", eps, low=0.0, low_open=True)
    atol = number("atol", atol, low=0.0)
    rtol = number("rtol", rtol, low=0.0)
    raise_exception = flag("raise_exception", raise_exception)
    xs = [Value(x) for x in _point(inputs, "gradcheck")]
    out = f(*xs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck expects f to return a Value, got {type(out).__name__}: {out!r}")
    out.backward()
    analytic = tuple(x.grad for x in xs)
    numerical = tuple(numerical_grad(f, [x.data for x in xs], eps))
    ok = tuple(abs(a - n) <= atol + rtol * abs(n) for a, n in zip(analytic, numerical, strict=True))
    result = GradcheckResult(analytic, numerical, ok)
    if raise_exception and not result:
        rows = "\n".join(
            f"  input {i}: backprop {a:.10g}, finite difference {n:.10g}"
            + ("" if good else "   <- mismatch")
            for i, (a, n, good) in enumerate(zip(analytic, numerical, ok, strict=True))
        )
        raise GradcheckError(f"gradients disagree with finite differences:\n{rows}")
    return result


# ---------------------------------------------------------------------------------------------
# check_backward: blame the edge.

EPS = 2.0**-52
"""float64's machine epsilon: the relative rounding of one operation."""

STEP = EPS ** (1 / 3)
"""The relative step of a central difference (~6e-6): it balances the O(h²) truncation error
against the O(eps/h) rounding error for a function whose derivatives are of the size of f."""

SHRINKS = 5
"""How many times an edge's step is cut by 8 to step off a kink next to its input."""

SAFETY = 8.0
"""How many times its estimated error a difference may be off before an edge is wrong."""

RTOL = 1e-7
"""Relative slack on top: every wrong derivative worth reporting is far further off."""

STATUSES = ("ok", "kink", "jump", "unchecked", "wrong")
"""What :attr:`EdgeCheck.status` can say."""


@dataclass(frozen=True)
class EdgeCheck:
    """One edge of the graph: its local derivative next to a central difference of its op.

    Attributes:
        node: The op node, by position in the graph's topological order (as the pictures).
        input: Which input of that node the edge comes from (0 for ``a``, 1 for ``b``).
        op: The node's op row.
        name: The node's name (its label, else its expression).
        input_name: The input's name.
        at: Each input's name and recorded number (``(("n", 0.5),)``; constants named by
            their number).
        yours: The local derivative the op row gives (what backward() multiplies by).
        numeric: The central difference of the op alone at the recorded inputs (nan where
            the forward rule is not finite nearby).
        one_sided: The backward and forward differences ``(left, right)`` at the last step.
        tolerance: How far ``yours`` may be from ``numeric`` (from the estimated errors).
        status: ``"ok"`` (they agree), ``"kink"`` (a corner at the input, and ``yours`` lies
            between the one-sided differences: a sub-gradient, correct), ``"jump"`` (the op
            jumps at the input: no derivative to compare), ``"unchecked"`` (the forward rule
            is not finite nearby) or ``"wrong"``.
        expected: The op row's rule in the graph's names (built-in ops; "" for your own).
    """

    node: int
    input: int
    op: Op
    name: str
    input_name: str
    at: tuple[tuple[str, float], ...]
    yours: float
    numeric: float
    one_sided: tuple[float, float]
    tolerance: float
    status: str
    expected: str = ""

    @property
    def ok(self) -> bool:
        """Whether this edge's local derivative is right (or cannot be judged)."""
        return self.status != "wrong"

    @property
    def error(self) -> float:
        """How far off ``yours`` is: from the central difference (at a corner: the nearer side)."""
        if self.status == "kink" or (self.status == "wrong" and math.isnan(self.numeric)):
            lo, hi = sorted(self.one_sided)
            return max(lo - self.yours, self.yours - hi, 0.0)
        return abs(self.yours - self.numeric)

    @property
    def edge(self) -> str:
        """``tanh -> n``: the op and the input the gradient flows into along this edge."""
        return f"{self.op.symbol} -> {self.input_name}"

    def sentence(self) -> str:
        """This edge in one sentence: ``tanh -> n: yours 0.5, numeric 0.7864 at n = 0.5; ...``."""
        where = ", ".join(f"{n} = {_num(v)}" for n, v in self.at)
        yours, numeric = _pair(self.yours, self.numeric)
        if self.status == "wrong" and math.isnan(self.numeric):
            lo, hi = (_num(d) for d in self.one_sided)
            head = f"{self.edge}: yours {_num(self.yours)}, but the op has a corner at {where}"
            text = f"{head} and only {lo} to {hi} (its one-sided slopes) is a right derivative"
        else:
            text = f"{self.edge}: yours {yours}, numeric {numeric} at {where}"
            if self.status == "wrong":
                text += f" (off by {_num(self.error)})"
        if self.status == "wrong":
            if self.expected:
                text += f"; expected {self.expected}"
            elif not math.isnan(self.numeric):
                text += f"; expected about {_num(self.numeric)} (your op: its central difference)"
        return text


PictureMaker = Callable[["BackwardCheck", dict[str, Any]], Any]
_picture_maker: list[PictureMaker] = []


def set_picture_maker(maker: PictureMaker) -> None:
    """Say how :meth:`BackwardCheck.picture` draws (``microgradnn.viz`` does, at import).

    The checker sits below the pictures in the package's layers, so the pictures hand it
    their drawing function instead of the checker importing them.
    """
    _picture_maker[:] = [maker]


@dataclass(frozen=True)
class BackwardCheck:
    """What :func:`check_backward` found: every edge checked, in backward order.

    ``bool(check)`` is True when every edge agrees; ``str(check)`` says in one sentence which
    edge is first wrong and by how much.

    Attributes:
        root: The graph's output.
        edges: Every edge that carries a gradient, in the order backward() uses them.
        affected: Positions (topological order) of the nodes whose grads the first wrong edge
            feeds: its input and everything that input was computed from.
        source: For a check of your own micrograd-style Value, that root (``root`` is then
            its mirror in microgradnn Values); None otherwise.
    """

    root: Value
    edges: tuple[EdgeCheck, ...]
    affected: frozenset[int] = field(default_factory=frozenset)
    source: Any = None

    def __bool__(self) -> bool:
        return all(e.ok for e in self.edges)

    @property
    def wrong(self) -> tuple[EdgeCheck, ...]:
        """Every wrong edge, in backward order."""
        return tuple(e for e in self.edges if not e.ok)

    @property
    def first(self) -> EdgeCheck | None:
        """The first wrong edge in backward order (the one to fix first), or None."""
        wrong = self.wrong
        return wrong[0] if wrong else None

    @property
    def message(self) -> str:
        """One sentence: the first wrong edge and by how much, or that every edge agrees."""
        first = self.first
        if first is None:
            kinks = sum(1 for e in self.edges if e.status in ("kink", "jump"))
            note = f" ({kinks} at a corner or a jump, where any sub-gradient is right)"
            return f"all {len(self.edges)} edges agree with central differences" + (
                note if kinks else ""
            )
        more = len(self.wrong) - 1
        tail = f" ({more} more wrong edge{'s' * (more != 1)} further back)" if more else ""
        return f"first wrong edge: {first.sentence()}{tail}"

    def __str__(self) -> str:
        return self.message

    def picture(self, **options: Any) -> Any:
        """Draw the graph with the first wrong edge in red and the grads it feeds marked.

        Keyword options are :func:`~microgradnn.draw_dot`'s (default ``view="backward"``).
        """
        if not _picture_maker:
            raise RuntimeError("import microgradnn.viz to draw pictures")
        return _picture_maker[0](self, options)


def check_backward(root: Any) -> BackwardCheck:
    """Check every edge's local derivative against a central difference of its op alone.

    For each edge, in the order backward() uses them, the op's forward rule is differentiated
    numerically in that one input at the numbers recorded in the forward pass, and compared with
    the op row's ``local``. The step and the tolerance are chosen per edge (see
    :func:`check_edge`); at a corner (relu or abs at 0) any value between the one-sided
    differences is a correct sub-gradient and is never flagged.

    ``root`` may also be your own micrograd-style Value (``data``, ``grad``, ``_prev``, ``_op``
    and a ``_backward`` closure): then each edge's derivative is what *your closure* passes back
    for an upstream grad of 1, and the op is the one your ``_op`` string names
    (:func:`microgradnn.learner.mirror`). An input used twice by one op (``x * x``) is checked
    once, as the sum of its edges.

    Args:
        root: The graph's output (``backward()`` need not have run).

    Returns:
        A :class:`BackwardCheck`; truthy when every edge agrees, ``str()`` names the first
        wrong edge and by how much.

    >>> from microgradnn import Value
    >>> x = Value(0.5, label="x"); y = (x * 3).tanh(); y.label = "y"
    >>> check = check_backward(y)
    >>> bool(check), str(check)
    (True, 'all 2 edges agree with central differences')
    """
    if type(root) is Value:
        return _check_graph(root, None)
    if learner.is_learner_value(root):
        m = learner.mirror(root)
        return _check_graph(m.root, m)
    raise TypeError(
        f"root: expected a Value, got {describe(root)} (or your own micrograd-style Value: "
        "data, grad, _prev, _op and a _backward closure)"
    )


def _check_graph(root: Value, m: learner.Mirror | None) -> BackwardCheck:
    """check_backward on microgradnn's graph; with ``m``, the learner's closures give ``yours``."""
    order = root.topological_order()
    index = {id(v): i for i, v in enumerate(order)}
    names = _names(order)
    edges: list[EdgeCheck] = []
    for j in range(len(order) - 1, -1, -1):
        node = order[j]
        op = node._op
        if op is None:
            continue
        xs = tuple([p._data if type(p) is Value else float(p) for p in node._prev])
        table = _local(op, xs, node._data)
        spread = _local_spread(op, xs, node._data, table)
        yours: tuple[float | None, ...] = table if m is None else learner.closure_locals(m, j)
        prev_names = [
            names[index[id(p)]] if type(p) is Value else _num(float(p)) for p in node._prev
        ]
        at = tuple((prev_names[k], xs[k]) for k, p in enumerate(node._prev) if type(p) is Value)
        done: set[int] = set()  # a learner's closure gives one sum per input used twice
        for k, p in enumerate(node._prev):
            if type(p) is not Value or (m is not None and id(p) in done):
                continue
            done.add(id(p))
            mine = yours[k]
            assert mine is not None
            same = [q for q, r in enumerate(node._prev) if r is p] if m is not None else [k]
            if len(same) > 1:
                dup, ys, kk = _joined(op, xs, same)
                error = sum(spread[q] for q in same)
                status, numeric, sides, tol = check_edge(dup, ys, kk, mine, error)
            else:
                status, numeric, sides, tol = check_edge(op, xs, k, mine, spread[k])
            expected = ""
            if op.name in BUILTINS:
                if len(same) > 1:
                    expected = " + ".join(_rule(op, q, prev_names, names[j]) for q in same)
                else:
                    expected = _rule(op, k, prev_names, names[j])
            edges.append(
                EdgeCheck(
                    j,
                    k,
                    op,
                    names[j],
                    prev_names[k],
                    at,
                    mine,
                    numeric,
                    sides,
                    tol,
                    status,
                    expected,
                )
            )
    affected: frozenset[int] = frozenset()
    first = next((e for e in edges if not e.ok), None)
    if first is not None:
        start = order[first.node]._prev[first.input]
        assert type(start) is Value
        affected = frozenset(index[id(v)] for v in start.topological_order())
    return BackwardCheck(root, tuple(edges), affected, None if m is None else m.source)


def _joined(op: Op, xs: tuple[float, ...], same: list[int]) -> tuple[Op, tuple[float, ...], int]:
    """The op as a function of one input that fills every position in ``same`` (``t * t``)."""
    first = same[0]
    keep = [q for q in range(len(xs)) if q not in same[1:]]

    def forward(ys: tuple[float, ...]) -> float:
        full = list(xs)
        for q, y in zip(keep, ys, strict=True):
            full[q] = y
        for q in same[1:]:
            full[q] = full[first]
        return float(op.forward(*full))

    joined = Op(op.name, forward=forward, local=lambda ys, out: (0.0,) * len(ys), variadic=True)
    return joined, tuple(xs[q] for q in keep), keep.index(first)


def check_edge(
    op: Op, xs: Sequence[float], k: int, yours: float, local_error: float = 0.0
) -> tuple[str, float, tuple[float, float], float]:
    """Judge one local derivative: ``(status, numeric, (left, right), tolerance)``.

    The step starts at ``STEP · max(|x|, 1)``: relative to x, so the difference sees the
    function at its own scale, and never below STEP near 0, where a relative step would
    vanish. The difference D(h) has converged when D(h) and D(h/2) agree (Richardson: the
    error of D(h) is about 4/3 |D(h) - D(h/2)|, which large curvature makes large); until
    then the step is cut by 8, so that a kink a little off x stops straddling it, and for a
    tiny x (a pole of 1/x at 1e-300) it last becomes ``STEP · |x|``. A converged difference
    that disagrees ends the search only if it resolves a slope above its rounding (a slope
    lost in rounding may be a pole straddled: a smaller step looks again). The
    tolerance is ``SAFETY`` times that truncation error plus the rounding,
    ``(8 eps (|f(x+h)| + |f(x-h)| + |f(x)|) + 2 noise) / 2h`` (near a zero derivative f keeps
    its own size; ``noise`` is how much f moves when its inputs move by a few roundings, plus
    ``8 eps Σ|x_i|``: an op's inner sums are as large as its inputs, so f cancels big inputs
    (``Σ(1e12, -1e12, x)``) or a tiny term (``logΣexp(-26, 0)``) only that finely), plus
    the rounding of ``yours`` itself (``local_error``) and ``RTOL``.

    When they still disagree: a difference of f that does not shrink with h is a jump (no
    derivative exists there: not judged); one-sided differences that differ by more than
    their O(h) error are a corner, where anything between them is a correct sub-gradient
    (relu or abs at 0); otherwise the op is smooth there and ``yours`` is wrong.
    """
    x = xs[k]

    def f(t: float) -> float:
        ys = list(xs)
        ys[k] = t
        try:
            with no_grad():
                out = op.forward(tuple(ys)) if op.variadic else op.forward(*ys)
            return float(out)
        except (ArithmeticError, ValueError, TypeError):
            return math.nan

    nan = math.nan
    fx = f(x)
    if not (math.isfinite(fx) and all(math.isfinite(v) for v in xs)):
        return "unchecked", nan, (nan, nan), nan  # at inf or nan there is no step to take
    noise = _forward_noise(op, xs, fx) + 8 * EPS * math.fsum(abs(v) for v in xs)
    h0 = STEP * max(abs(x), 1.0)
    steps = [h0 / 8**i for i in range(SHRINKS + 1)]
    if 0.0 < STEP * abs(x) < steps[-1]:  # a tiny x (1e-300): steps relative to it, last
        steps += [STEP * abs(x), STEP * abs(x) / 8]
    converged: _Step | None = None
    last: _Step | None = None
    for h in steps:
        step = _Step(f, x, fx, h, noise)
        if not step.finite:
            continue
        tol = SAFETY * (step.truncation + step.rounding) + local_error
        tol += RTOL * max(abs(step.numeric), abs(yours))
        if step.converged and abs(yours - step.numeric) <= tol:
            return "ok", step.numeric, (step.left, step.right), tol
        last = step
        if step.converged:
            converged = converged or step
            if abs(step.numeric) > SAFETY * step.rounding:  # a slope resolved above rounding
                break
    found = converged or last
    if found is None:
        return "unchecked", nan, (nan, nan), nan
    step = found
    tol = SAFETY * (step.truncation + step.rounding) + local_error
    tol += RTOL * max(abs(step.numeric), abs(yours))
    sides = (step.left, step.right)
    if not math.isfinite(yours):
        return "wrong", step.numeric, sides, tol
    if step.jumps():
        return "jump", nan, sides, tol
    left2, right2 = step.half_sides
    slack = 2 * (abs(step.left - left2) + abs(step.right - right2)) + 2 * step.rounding
    if step.converged and abs(step.right - step.left) <= 4 * slack:
        return "wrong", step.numeric, sides, tol
    lo, hi = min(*sides, left2, right2), max(*sides, left2, right2)
    corner = SAFETY * slack + local_error + RTOL * max(abs(lo), abs(hi), abs(yours))
    if lo - corner <= yours <= hi + corner:
        return "kink", step.numeric, sides, corner
    return "wrong", nan, (lo, hi), corner


class _Step:
    """The differences of f at x with one step h: central at h and h/2, one-sided at both."""

    def __init__(self, f: Callable[[float], float], x: float, fx: float, h: float, noise: float):
        self.f, self.x, self.fx, self.h = f, x, fx, h
        up, down, up2, down2 = x + h, x - h, x + h / 2, x - h / 2
        self.fp, self.fm, fp2, fm2 = f(up), f(down), f(up2), f(down2)
        self.finite = all(math.isfinite(v) for v in (self.fp, self.fm, fp2, fm2))
        self.numeric = (self.fp - self.fm) / (up - down)
        half = (fp2 - fm2) / (up2 - down2)
        size = abs(self.fp) + abs(self.fm) + abs(fx)
        self.rounding = (8 * EPS * size + 2 * noise) / (up - down)
        self.truncation = 4 / 3 * abs(self.numeric - half)
        self.converged = (
            self.truncation <= 1e-3 * max(abs(self.numeric), abs(half)) + SAFETY * self.rounding
        )
        self.left, self.right = (fx - self.fm) / (x - down), (self.fp - fx) / (up - x)
        self.half_sides = ((fx - fm2) / (x - down2), (fp2 - fx) / (up2 - x))

    def jumps(self) -> bool:
        """Whether f(x+h) - f(x-h) stays as large at h/4: a jump, not a slope."""
        gap = abs(self.fp - self.fm)
        if gap <= 64 * EPS * max(abs(self.fx), abs(self.fp), abs(self.fm)):
            return False
        return abs(self.f(self.x + self.h / 4) - self.f(self.x - self.h / 4)) > 0.5 * gap


def _forward_noise(op: Op, xs: Sequence[float], fx: float) -> float:
    """How much the forward moves when its inputs move by a few roundings: its own rounding.

    Σ(1e12, -1e12, x) rounds to about 1e-4, far more than eps times its result: the inputs'
    sizes, not the output's, set how finely the forward resolves a step.
    """
    noise = 0.0
    for s in (4 * EPS, -4 * EPS):
        moved = [x * (1 + s * (-1) ** i) for i, x in enumerate(xs)]
        try:
            with no_grad():
                out = float(op.forward(tuple(moved)) if op.variadic else op.forward(*moved))
        except (ArithmeticError, ValueError, TypeError):
            continue
        if math.isfinite(out):
            noise = max(noise, abs(out - fx))
    return noise


def _local(op: Op, xs: tuple[float, ...], out: float) -> tuple[float, ...]:
    with no_grad():
        got = op.local(xs, out) if op.variadic else op.local(*xs, out)
    return tuple(float(d) for d in got)


def _local_spread(
    op: Op, xs: tuple[float, ...], out: float, yours: tuple[float, ...]
) -> list[float]:
    """How much the local derivatives move when their inputs move by a few roundings.

    ``1 - out²`` at out near 1 is exact only to about eps: this is the rounding ``yours``
    carries, whatever formula it is, measured instead of guessed. A move larger than a
    thousand roundings is a corner of the rule (relu's ``a > 0``), not rounding: ignored.
    """
    spread = [0.0] * len(yours)
    for s in (4 * EPS, -4 * EPS):
        moved = tuple(x * (1 + s) for x in xs)
        try:
            other = _local(op, moved, out * (1 - s))
        except (ArithmeticError, ValueError, TypeError):
            continue
        for k, (a, b) in enumerate(zip(yours, other, strict=False)):
            moved_by = abs(a - b)
            if moved_by <= 1e3 * EPS * max(abs(a), abs(b), 1.0):  # not a corner of the rule
                spread[k] = max(spread[k], SAFETY * moved_by)
    return spread


def _num(x: float) -> str:
    return f"{x:.4g}"


def _pair(a: float, b: float) -> tuple[str, str]:
    """Two numbers with enough digits to tell them apart."""
    for digits in (4, 6, 10, 17):
        sa, sb = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if sa != sb:
            return sa, sb
    return sa, sb


def _simple(name: str) -> bool:
    """One token inside a formula: ``x1``, ``2.5``, ``tanh(n)`` (a call with balanced parens)."""
    if re.fullmatch(r"-?[\w.]+", name):
        return True
    head, paren, rest = name.partition("(")
    if not paren or not head.isidentifier() or not rest.endswith(")"):
        return False
    depth = 1
    for c in rest[:-1]:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            return False
    return True


def _wrap(name: str) -> str:
    return name if _simple(name) else f"({name})"


_NAME_WIDTH = 24
_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "**": 4}
_ATOM = 5


def _expression(op: Op, parts: list[tuple[str, int]]) -> tuple[str, int]:
    """``x1*w1 + b``: an op over its inputs' (name, precedence), parenthesised where needed."""
    if op.infix is not None and len(parts) == 2:
        p = _PREC.get(op.infix, 0)
        (a, pa), (b, pb) = parts
        right = p + 1 if op.infix in ("-", "/", "**") else p
        a = a if pa > p or (pa == p and op.infix != "**") else f"({a})"
        b = b if pb >= right else f"({b})"
        sep = op.infix if op.infix in ("*", "/", "**") else f" {op.infix} "
        return f"{a}{sep}{b}", p
    if op.prefix is not None and len(parts) == 1:
        a, pa = parts[0]
        return f"{op.prefix}{a if pa >= _ATOM else f'({a})'}", 3
    return op.expression([a for a, _ in parts]), _ATOM


def graph_names(order: list[Value]) -> list[str]:
    """Each node's name, as checks and pictures write it (see :func:`_names`)."""
    return _names(order)


def _names(order: list[Value]) -> list[str]:
    """Each node's name: its label, else ``x0, x1, ...`` for a leaf, else its expression.

    The same rules the pictures follow, written small, so that a check needs no picture.
    """
    taken = {v.label for v in order if v.label}
    names: list[str] = []
    precs: list[int] = []
    index = {id(v): i for i, v in enumerate(order)}
    leaves = 0
    for v in order:
        if v.label or v._op is None:
            if not v.label:
                while f"x{leaves}" in taken:
                    leaves += 1
                leaves += 1
            names.append(v.label or f"x{leaves - 1}")
            precs.append(_ATOM if _simple(names[-1]) else 0)
            continue
        parts = []
        for p in v._prev:
            if type(p) is Value:
                i = index[id(p)]
                parts.append((names[i], precs[i]))
            else:
                text = _num(float(p))
                parts.append((text, 3 if text.startswith("-") else _ATOM))
        text, prec = _expression(v._op, parts)
        if len(text) > _NAME_WIDTH:
            text, prec = _expression(v._op, [("…", _ATOM)] * len(parts))
            if v._op.variadic:
                text = f"{v._op.symbol}(…)"
        names.append(text)
        precs.append(prec)
    return names


_TOKEN = re.compile(r"(?<![A-Za-z0-9_\u0370-\u03ff])(a|b|out)(?![A-Za-z0-9_\u0370-\u03ff])")


def _rule(op: Op, k: int, prev_names: list[str], out_name: str) -> str:
    """The op row's derivative text for input ``k`` in the graph's names: ``1 - tanh(n)²``."""
    if not op.local_text:
        return ""
    text = op.local_text[k] if k < len(op.local_text) else op.local_text[0]
    subst = {"out": _wrap(out_name)}
    if not op.variadic:
        subst.update((t, _wrap(n)) for t, n in zip(("a", "b"), prev_names, strict=False))
    return _TOKEN.sub(lambda m: subst.get(m.group(0), m.group(0)), text)
