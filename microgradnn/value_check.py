r"""Check a learner's own Value class: its forward, each closure, its backward(), twice.

:func:`check_value_class` finds which ops a micrograd-style class supports, then runs targeted
probes that recognise the classic bugs and name them, and finally random expressions built
from those ops (values used more than once included), each differentiated by the class's own
``backward()`` and by microgradnn (the class's graph mirrored node for node, see
:mod:`microgradnn.learner`, and the same expression built anew from microgradnn Values). The
first node, in backward order, whose gradient differs is reported in one sentence, with a
picture of the learner's graph with that node marked.

The probes, in order (the first that fails names the bug):

1. forward: each op's ``data`` at two points;
2. each op's closure alone: its local derivative against a central difference (``exp`` using
   its input, ``tanh`` using ``1 - x²`` are named);
3. each closure with its inputs' grads already nonzero: it must add, not overwrite (``=``
   instead of ``+=``);
4. backward()'s order, on a graph where one value feeds two paths: every node's closure must
   run after the closures of all the nodes that use it;
5. random expressions;
6. backward() twice on the same graph. micrograd resets no grad but the output's, so its second
   pass counts every interior gradient again (micrograd 0.1.0 behaves so, and the lecture
   builds a new graph for each backward()); a class may as well reset the interior and let
   the leaves accumulate (PyTorch, microgradnn) or reset every grad. What no convention gives
   is resetting the leaves but not the interior nodes: that is the double-counting bug.

>>> from microgradnn.zoo import Value, TanhUsesInput
>>> check_value_class(Value).ok
True
>>> check = check_value_class(TanhUsesInput)
>>> check.bug
'tanh_uses_input'
"""

from __future__ import annotations

import contextlib
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from microgradnn import learner
from microgradnn._checks import describe, integer
from microgradnn.engine import Value
from microgradnn.gradcheck import BackwardCheck, EdgeCheck, check_backward, graph_names

__all__ = [
    "BUGS",
    "CANDIDATES",
    "ValueClassCheck",
    "check_value_class",
    "set_picture_maker",
]

BUGS: dict[str, str] = {
    "wrong_forward": "an op computes the wrong data",
    "wrong_local": "an op's _backward passes back the wrong local derivative",
    "exp_uses_input": "exp's _backward uses its input x instead of its output e**x",
    "tanh_uses_input": "tanh's _backward uses 1 - x² (its input) instead of 1 - t² (its output)",
    "overwrites_grad": "`=` instead of `+=` in a _backward closure: a value used twice loses "
    "a contribution",
    "not_topological": "backward() runs the closures without a topological order",
    "wrong_gradient": "backward() gives a wrong gradient",
    "interior_not_reset": "interior gradients not reset between two backward() passes over the "
    "same graph (double counting)",
    "second_pass": "a second backward() over the same graph gives numbers no convention gives",
}
"""Every bug name :attr:`ValueClassCheck.bug` can take, in words."""


@dataclass(frozen=True)
class Candidate:
    """One op a learner's class may support: how to apply it, and its value on floats."""

    name: str
    inputs: int
    apply: Callable[..., Any]
    on_floats: Callable[..., float]
    domain: Callable[..., bool] = lambda *xs: True


def _far(t: float) -> Callable[..., bool]:
    return lambda *xs: abs(xs[-1]) > t


CANDIDATES: tuple[Candidate, ...] = (
    Candidate("add", 2, lambda a, b: a + b, lambda a, b: a + b),
    Candidate("mul", 2, lambda a, b: a * b, lambda a, b: a * b),
    Candidate("radd", 1, lambda a: 1.5 + a, lambda a: 1.5 + a),
    Candidate("rmul", 1, lambda a: 2.0 * a, lambda a: 2.0 * a),
    Candidate("pow2", 1, lambda a: a**2, lambda a: a**2),
    Candidate("pow3", 1, lambda a: a**3, lambda a: a**3),
    Candidate("inverse", 1, lambda a: a**-1, lambda a: 1.0 / a, _far(0.3)),
    Candidate("neg", 1, lambda a: -a, lambda a: -a),
    Candidate("sub", 2, lambda a, b: a - b, lambda a, b: a - b),
    Candidate("rsub", 1, lambda a: 1.0 - a, lambda a: 1.0 - a),
    Candidate("div", 2, lambda a, b: a / b, lambda a, b: a / b, _far(0.3)),
    Candidate("rdiv", 1, lambda a: 2.0 / a, lambda a: 2.0 / a, _far(0.3)),
    Candidate("tanh", 1, lambda a: a.tanh(), math.tanh),
    Candidate("exp", 1, lambda a: a.exp(), math.exp, lambda a: a < 2.5),
    Candidate("relu", 1, lambda a: a.relu(), lambda a: max(a, 0.0), _far(1e-3)),
)
"""The ops probed for: Python's operators (also with a plain number on the left) and the
lecture's methods."""

_PROBE_POINTS = ((0.6, -1.1), (-1.3, 0.8), (1.7, 1.4))
_TOL = 1e-9


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _TOL * max(1.0, abs(a), abs(b))


def _num(x: float) -> str:
    return f"{x:.4g}"


_picture_maker: list[Callable[[ValueClassCheck, dict[str, Any]], Any]] = []


def set_picture_maker(maker: Callable[[ValueClassCheck, dict[str, Any]], Any]) -> None:
    """Say how :meth:`ValueClassCheck.picture` draws (``microgradnn.viz`` does, at import)."""
    _picture_maker[:] = [maker]


@dataclass(frozen=True)
class ValueClassCheck:
    """What :func:`check_value_class` found.

    Attributes:
        ok: No probe and no expression found a difference.
        bug: The bug's short name (see :data:`BUGS`), "" when ok.
        message: One sentence: what differs, where and why (or what was checked).
        ops: The candidate ops the class supports (names from :data:`CANDIDATES`).
        notes: Remarks that are no bug, such as micrograd's convention for a second backward().
        root: The learner's graph the message speaks of (None when ok).
        mirror: That graph mirrored into microgradnn Values, holding the learner's grads.
        node: The position (in the mirror's topological order) of the first node whose grad
            differs, or None.
        yours: That node's grad from the class's backward().
        expected: What microgradnn's backward() gives it.
        edge: The check of every closure of the graph, where a local derivative is wrong.
        trials: How many random expressions were run.
    """

    ok: bool
    bug: str
    message: str
    ops: tuple[str, ...]
    notes: tuple[str, ...] = ()
    root: Any = None
    mirror: learner.Mirror | None = field(default=None, repr=False)
    node: int | None = None
    yours: float | None = None
    expected: float | None = None
    edge: BackwardCheck | None = field(default=None, repr=False)
    trials: int = 0

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        return self.message

    @property
    def differing(self) -> frozenset[int]:
        """Positions of every node whose grad differs from microgradnn's."""
        m = self.mirror
        if m is None:
            return frozenset()
        return frozenset(
            i for i, (g, r) in enumerate(zip(m.grads, m.reference, strict=True)) if not _close(g, r)
        )

    def picture(self, **options: Any) -> Any:
        """The learner's graph (backward view) with the first differing node marked in red.

        Keyword options are :func:`~microgradnn.draw_dot`'s.
        """
        if self.mirror is None:
            raise ValueError(f"nothing to draw: {self.message}")
        if not _picture_maker:
            raise RuntimeError("import microgradnn.viz to draw pictures")
        return _picture_maker[0](self, options)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        if self.mirror is not None and _picture_maker:
            try:
                bundle = dict(self.picture()._repr_mimebundle_(include=include, exclude=exclude))
            except Exception:  # no graphviz: the sentence alone still says it
                bundle = {}
        bundle["text/plain"] = self.message
        return bundle


class _FoundError(Exception):
    """A probe found a bug: carries the result."""

    def __init__(self, result: ValueClassCheck) -> None:
        super().__init__(result.message)
        self.result = result


class _Checker:
    def __init__(self, cls: type, seed: int, trials: int) -> None:
        self.cls = cls
        self.rng = random.Random(seed)
        self.trials = trials
        self.ops: list[Candidate] = []
        self.notes: list[str] = []
        self.ran = 0

    # -- helpers --------------------------------------------------------------------------

    def leaf(self, x: float, label: str = "") -> Any:
        v = self.cls(x)
        if label:
            _label(v, label)
        return v

    def fail(self, bug: str, message: str, root: Any = None, **extra: Any) -> None:
        m = extra.pop("mirror", None)
        if m is None and root is not None:
            m = learner.mirror(root)
        node = extra.pop("node", None)
        if node is None and m is not None:
            node = _first_difference(m)
        yours = expected = None
        if m is not None and node is not None:
            yours, expected = m.grads[node], m.reference[node]
        raise _FoundError(
            ValueClassCheck(
                ok=False,
                bug=bug,
                message=message,
                ops=tuple(c.name for c in self.ops),
                notes=tuple(self.notes),
                root=root,
                mirror=m,
                node=node,
                yours=yours,
                expected=expected,
                trials=self.ran,
                **extra,
            )
        )

    # -- 1. which ops, and their forward --------------------------------------------------------

    def discover(self) -> None:
        for c in CANDIDATES:
            results: list[tuple[tuple[float, ...], Any]] = []
            for xs in _PROBE_POINTS:
                args = xs[: c.inputs]
                if not c.domain(*args):
                    continue
                try:
                    out = c.apply(*[self.leaf(x) for x in args])
                except Exception:
                    results = []
                    break
                results.append((args, out))
            if not results or not all(learner.is_learner_value(o) for _, o in results):
                continue
            self.ops.append(c)
            for args, out in results:
                want = c.on_floats(*args)
                got = float(out.data)
                if not _close(got, want):
                    where = ", ".join(_num(x) for x in args)
                    self.fail(
                        "wrong_forward",
                        f"{c.name}({where}) gives data {_num(got)}, expected {_num(want)}: "
                        f"{BUGS['wrong_forward']}",
                        out,
                    )
        if not self.ops:
            raise ValueError(
                f"{self.cls.__name__}: supports none of the ops checked "
                f"({', '.join(c.name for c in CANDIDATES)}); expected a micrograd-style class "
                "with __add__, __mul__, ... and backward()"
            )

    # -- 2. each closure's local derivative ----------------------------------------------------

    def locals_(self) -> None:
        for c in self.ops:
            for xs in _PROBE_POINTS:
                args = xs[: c.inputs]
                if not c.domain(*args):
                    continue
                leaves = [self.leaf(x, "ab"[k]) for k, x in enumerate(args)]
                out = c.apply(*leaves)
                check = check_backward(out)
                first = check.first
                if first is None:
                    continue
                bug = _name_local(first)
                out.backward()
                m = learner.mirror(out)
                order = check.root.topological_order()  # built as m was: the same positions
                target = order[first.node]._prev[first.input]
                node = next(i for i, v in enumerate(order) if v is target)
                self.fail(
                    bug,
                    f"{BUGS[bug]}: {first.sentence()}",
                    out,
                    mirror=m,
                    node=node,
                    edge=check,
                )

    # -- 3. closures add into grads -----------------------------------------------------------

    def accumulation(self) -> None:
        for c in self.ops:
            args = _PROBE_POINTS[0][: c.inputs]
            if not c.domain(*args):
                args = _PROBE_POINTS[1][: c.inputs]
            leaves = [self.leaf(x) for x in args]
            out = c.apply(*leaves)
            m = learner.mirror(out)
            for j in range(len(m.nodes) - 1, -1, -1):
                if not m.operands[j]:
                    continue
                local = learner.closure_locals(m, j)
                after = learner.closure_locals(m, j, start=0.375)
                for k in range(len(m.operands[j])):
                    d, held = local[k], after[k]
                    if d is None or held is None or _close(held, 0.375 + d) or d == 0.0:
                        continue
                    if _close(held, d):
                        self.overwrite_demo(c, m, j)
                    self.fail(
                        "wrong_gradient",
                        f"{c.name}: with its input's grad at 0.375 before, its _backward "
                        f"leaves {_num(held)}, not 0.375 + {_num(d)}",
                        out,
                    )

    def overwrite_demo(self, c: Candidate, probe: learner.Mirror, j: int) -> None:
        """Show the overwrite on a graph where one value is used twice."""
        others = [o for o in self.ops if o.inputs == 2] or [c]
        shapes: list[Callable[[Any, Any], Any]] = []
        if c.inputs == 2:
            shapes.append(lambda x, w: c.apply(x, x))
            shapes += [_shape(o, c, swap=False) for o in others]
            shapes += [_shape(o, c, swap=True) for o in others]
        else:
            shapes += [_shape(o, c, swap=False) for o in others]
        made_by = probe.values[j]._op
        op_name = made_by.name if made_by is not None else c.name
        for shape in shapes:
            x, w = self.leaf(0.8, "x"), self.leaf(-1.3, "w")
            try:
                root = shape(x, w)
                root.backward()
            except Exception:
                continue
            m = learner.mirror(root)
            i = _first_difference(m)
            if i is None:
                continue
            name = _node_name(m, i)
            self.fail(
                "overwrites_grad",
                f"{name}.grad: yours {_num(m.grads[i])}, expected {_num(m.reference[i])}: "
                f"{name} is used twice and the {op_name} node's _backward sets its grad "
                f"(`=`) instead of adding to it (`+=`), so one use's contribution is lost",
                root,
                mirror=m,
                node=i,
            )
        self.fail(
            "overwrites_grad",
            f"the {op_name} node's _backward sets its inputs' grads (`=`) instead of adding to "
            "them (`+=`): a value used twice loses a contribution",
            None,
        )

    # -- 4. backward()'s order -----------------------------------------------------------------

    def order(self) -> None:
        two = [c for c in self.ops if c.inputs == 2]
        if not two:
            return
        join = next((c for c in two if c.name == "add"), two[0])
        inner = next((c for c in two if c.name == "mul"), two[0])
        x, y = self.leaf(0.7, "x"), self.leaf(-1.2, "y")
        c, d = self.leaf(1.5, "c"), self.leaf(-0.5, "d")
        a = inner.apply(x, y)
        _label(a, "a")
        self.run(join.apply(inner.apply(a, c), inner.apply(a, d)))

    def run(self, root: Any) -> learner.Mirror:
        """Run the class's backward() on ``root``, checking its order and its grads."""
        before = learner.mirror(root)
        rec = learner.record(before, root.backward)
        m = learner.mirror(root)
        if rec is not None:
            early = _order_fault(m, list(rec.calls))
            if early is not None:
                self.fail("not_topological", early, root, mirror=m)
        i = _first_difference(m)
        if i is not None:
            name = _node_name(m, i)
            self.fail(
                "wrong_gradient",
                f"{name}.grad: yours {_num(m.grads[i])}, expected {_num(m.reference[i])} (the "
                "first node, in backward order, whose grad differs from microgradnn's)",
                root,
                mirror=m,
                node=i,
            )
        return m

    # -- 5. random expressions ------------------------------------------------------------------

    def random(self) -> None:
        for _ in range(self.trials):
            self.ran += 1
            spec = self.expression()
            root = _build(spec, self.leaf)
            m = self.run(root)
            direct = _build(spec, lambda x, label: Value(x, label=label))
            direct.backward()
            leaves = _leaves(spec, root)
            mine = _leaves(spec, direct)
            for mv, lv in zip(mine, leaves, strict=True):
                if not _close(float(lv.grad), mv.grad):
                    self.fail(
                        "wrong_gradient",
                        f"{mv.label}.grad: yours {_num(float(lv.grad))}, expected "
                        f"{_num(mv.grad)}, though every node's grad agrees with your graph's "
                        "own structure: the graph records other inputs than the op used",
                        root,
                        mirror=m,
                        node=m.position(lv),
                    )

    def expression(self) -> list[tuple[Any, ...]]:
        """A random expression: leaves, then ops over earlier entries (reuse likely)."""
        rng = self.rng
        n_leaves = rng.randint(2, 3)
        values = [rng.choice((-1, 1)) * rng.uniform(0.3, 1.5) for _ in range(n_leaves)]
        spec: list[tuple[Any, ...]] = [("leaf", v) for v in values]
        for _ in range(rng.randint(3, 8)):
            for _attempt in range(20):
                c = rng.choice(self.ops)
                picks = [rng.randrange(len(values)) for _ in range(c.inputs)]
                if rng.random() < 0.6:
                    picks[0] = len(values) - 1  # chain on the newest value
                args = [values[p] for p in picks]
                if not c.domain(*args):
                    continue
                try:
                    v = c.on_floats(*args)
                except (ArithmeticError, ValueError):
                    continue
                if not (math.isfinite(v) and abs(v) < 20.0 and (abs(v) > 1e-3 or v == 0.0)):
                    continue
                spec.append((c, *picks))
                values.append(v)
                break
        used = {p for step in spec[n_leaves:] for p in step[1:]}
        two = [c for c in self.ops if c.inputs == 2 and c.name in ("add", "mul")]
        if two and len(spec) > n_leaves:
            rest = [i for i in range(len(spec) - 1) if i not in used]
            if rest:  # a value left over joins the output, so it is used too
                spec.append((two[0], len(spec) - 1, rest[0]))
        return spec

    # -- 6. backward() twice ---------------------------------------------------------------------

    def twice(self) -> None:
        two = [c for c in self.ops if c.inputs == 2]
        one = [c for c in self.ops if c.inputs == 1]
        if not two and not one:
            return
        x, y = self.leaf(0.7, "x"), self.leaf(-1.2, "y")
        if two:
            c = next((o for o in two if o.name == "mul"), two[0])
            n = c.apply(x, y)
            root = c.apply(n, self.leaf(1.5, "c"))
        else:
            root = one[0].apply(one[0].apply(x))
        root.backward()
        first = learner.mirror(root)
        root.backward()
        m = learner.mirror(root)
        second = m.grads
        leaf = [not ops for ops in m.operands]
        start = first.grads
        conventions = {
            "micrograd": _simulate(m, start, reset=()),
            "pytorch": tuple(2 * g if lf else g for g, lf in zip(start, leaf, strict=True)),
            "fresh": start,
        }
        if any(_same(second, c) for c in conventions.values()):
            if _same(second, conventions["micrograd"]) and not _same(
                second, conventions["pytorch"]
            ):
                self.notes.append(
                    "as in micrograd, backward() resets no grad but the output's: a second "
                    "backward() on the same graph adds every interior gradient again (build the "
                    "graph anew before each backward(), as the lecture's training loop does)"
                )
            return
        i = next(
            (k for k in range(len(second) - 1, -1, -1) if not _close(second[k], m.reference[k])),
            len(second) - 1,
        )
        leaves_only = _simulate(m, start, reset=tuple(k for k, lf in enumerate(leaf) if lf))
        interior = next(
            (k for k in range(len(second) - 2, -1, -1) if not leaf[k] and start[k] != 0.0), None
        )
        if _same(second, leaves_only) and interior is not None:
            name = _node_name(m, interior)
            worst = next(
                (k for k in range(len(second)) if leaf[k] and not _close(second[k], start[k])),
                i,
            )
            self.fail(
                "interior_not_reset",
                f"after a second backward() on the same graph, {_node_name(m, worst)}.grad is "
                f"{_num(second[worst])} where one pass gives {_num(start[worst])}: your "
                f"backward() zeroes the leaves' grads but not the interior nodes' ({name}.grad "
                f"still held {_num(start[interior])} from the first pass and passed it on "
                "again): interior gradients not reset between two passes (double counting)",
                root,
                mirror=m,
                node=interior,
            )
        self.fail(
            "second_pass",
            f"after a second backward() on the same graph, {_node_name(m, i)}.grad is "
            f"{_num(second[i])}: neither micrograd's convention (nothing reset but the output), "
            "PyTorch's (interior reset, leaves accumulate) nor a full reset gives that",
            root,
            mirror=m,
            node=i,
        )


def _shape(outer: Candidate, inner: Candidate, swap: bool) -> Callable[[Any, Any], Any]:
    """``outer(inner(x, w), x)``: x used twice, once through ``inner`` (or ``inner(w, x)``)."""

    def shape(x: Any, w: Any) -> Any:
        if inner.inputs == 1:
            return outer.apply(inner.apply(x), x)
        return outer.apply(inner.apply(w, x) if swap else inner.apply(x, w), x)

    return shape


def _label(v: Any, label: str) -> None:
    """Name a node for the pictures and messages, where the class lets us."""
    with contextlib.suppress(AttributeError, TypeError):
        v.label = label


def _same(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(_close(x, y) for x, y in zip(a, b, strict=True))


def _simulate(m: learner.Mirror, start: Sequence[float], reset: Sequence[int]) -> tuple[float, ...]:
    """Microgradnn's closures run once more from ``start`` (``reset`` zeroed, output seeded 1)."""
    values = m.values
    saved = [v.grad for v in values]
    try:
        for k, (v, g) in enumerate(zip(values, start, strict=True)):
            v.grad = 0.0 if k in reset else g
        values[-1].grad = 1.0
        for v in reversed(values):
            v._backward()
        return tuple(v.grad for v in values)
    finally:
        for v, g in zip(values, saved, strict=True):
            v.grad = g


def _first_difference(m: learner.Mirror) -> int | None:
    """The first node in backward order whose learner grad is not microgradnn's."""
    for i in range(len(m.nodes) - 1, -1, -1):
        if not _close(m.grads[i], m.reference[i]):
            return i
    return None


def _node_name(m: learner.Mirror, i: int) -> str:
    """Node ``i``'s name as pictures write it, parenthesised where ``.grad`` follows it."""
    name = m.values[i].label or _names(m)[i]
    return name if re.fullmatch(r"[\w.]+", name) else f"({name})"


def _names(m: learner.Mirror) -> list[str]:
    return graph_names(list(m.values))


def _name_local(e: EdgeCheck) -> str:
    """The classic bug a wrong local derivative matches, else ``wrong_local``."""
    if len(e.at) == 1:
        a = e.at[0][1]
        if e.op.name == "exp" and _close(e.yours, a) and not _close(a, math.exp(a)):
            return "exp_uses_input"
        if e.op.name == "tanh" and _close(e.yours, 1 - a * a):
            return "tanh_uses_input"
    return "wrong_local"


def _order_fault(m: learner.Mirror, calls: list[int]) -> str | None:
    """A sentence naming the first closure that ran too early (or twice, or never), or None."""
    consumers = m.consumers()
    ran: set[int] = set()
    for i in calls:
        if i in ran:
            return (
                f"backward() ran {_node_name(m, i)}'s _backward twice, so it passed its "
                "gradient back twice: backward() must visit each node once, in reverse "
                "topological order (build the order first, then walk it backwards)"
            )
        waiting = [j for j in consumers[i] if j not in ran]
        if waiting:
            name = _node_name(m, i)
            return (
                f"backward() ran {name}'s _backward before {_node_name(m, waiting[0])}'s, "
                f"which uses {name}: {name}.grad was not complete yet, so only part of it was "
                "passed back. backward() needs a topological order: every node's _backward "
                "after the _backward of every node that uses it"
            )
        ran.add(i)
    return None


def _build(spec: list[tuple[Any, ...]], leaf: Callable[[float, str], Any]) -> Any:
    made: list[Any] = []
    for k, step in enumerate(spec):
        if step[0] == "leaf":
            made.append(leaf(step[1], "abcdefgh"[k]))
        else:
            c = step[0]
            made.append(c.apply(*[made[p] for p in step[1:]]))
    return made[-1]


def _leaves(spec: list[tuple[Any, ...]], root: Any) -> list[Any]:
    """The spec's leaves as nodes of ``root``'s graph (by label, in order)."""
    wanted = ["abcdefgh"[k] for k, step in enumerate(spec) if step[0] == "leaf"]
    found: dict[str, Any] = {}
    stack = [root]
    seen: set[int] = set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        label = getattr(v, "label", "")
        if label in wanted and not v._prev:
            found.setdefault(label, v)
        stack.extend(
            v._prev if not isinstance(v, Value) else [p for p in v._prev if type(p) is Value]
        )
    return [found[w] for w in wanted if w in found]


def check_value_class(cls: type, *, seed: int = 0, trials: int = 100) -> ValueClassCheck:
    """Check your own micrograd-style Value class against microgradnn: name the first bug.

    Args:
        cls: The class: ``cls(3.0)`` makes a leaf; its objects have ``data``, ``grad``,
            ``_prev``, ``_op``, ``_backward`` and ``backward()``.
        seed: Seeds the random expressions (the same seed, the same verdict).
        trials: How many random expressions to run after the targeted probes.

    Returns:
        A :class:`ValueClassCheck`: ``.ok``, ``.bug`` (a short name), ``.message`` (one
        sentence), ``.picture()`` (the graph with the first wrong node marked).

    Raises:
        TypeError: ``cls`` is not a class, or its objects are not micrograd-style Values.
        ValueError: It supports none of the ops checked.
    """
    if not isinstance(cls, type):
        raise TypeError(f"cls: expected your Value class (the class itself), got {describe(cls)}")
    seed = integer("seed", seed)
    trials = integer("trials", trials, low=0)
    try:
        sample = cls(1.0)
    except Exception as err:
        raise TypeError(
            f"cls: {cls.__name__}(1.0) raised {type(err).__name__}: {err}; expected a class "
            "whose objects are made from a number"
        ) from err
    if not learner.is_learner_value(sample) or not callable(getattr(sample, "backward", None)):
        missing = [n for n in (*learner.PROTOCOL, "backward") if not hasattr(sample, n)]
        raise TypeError(
            f"cls: {cls.__name__}(1.0) has no {', '.join(missing) or 'usable backward'}: "
            f"expected a micrograd-style Value with {', '.join(learner.PROTOCOL)} and backward()"
        )
    checker = _Checker(cls, seed, trials)
    try:
        checker.discover()
        checker.locals_()
        checker.accumulation()
        checker.order()
        checker.random()
        checker.twice()
    except _FoundError as found:
        return found.result
    ops = tuple(c.name for c in checker.ops)
    return ValueClassCheck(
        ok=True,
        bug="",
        message=(
            f"{cls.__name__} agrees with microgradnn: {len(ops)} ops ({', '.join(ops)}), each "
            f"closure alone, backward()'s order, {checker.ran} random expressions and a second "
            "backward()"
        ),
        ops=ops,
        notes=tuple(checker.notes),
        trials=checker.ran,
    )
