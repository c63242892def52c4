"""Tests for bringing your own Value: the mirror (microgradnn.learner), check_value_class
(microgradnn.value_check), the bug zoo (microgradnn.zoo) and the side-by-side stepper.

Oracles: closed-form derivatives, micrograd 0.1.0 itself (skipped where it is not installed),
a lecture-style Value written here from the lecture (not the zoo's), and bugs planted here
whose name and location are known.
"""

from __future__ import annotations

import math
import shutil
from typing import Any

import pytest

from microgradnn import check_backward, check_value_class, draw_dot, zoo
from microgradnn.learner import mirror, op_for
from microgradnn.viz import backward_steps
from microgradnn.viz.stepper import compare_backward

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


class Lecture:
    """The lecture's Value, written again here as an oracle independent of the zoo."""

    def __init__(self, data: float, _children: tuple[Any, ...] = (), _op: str = "", label=""):
        self.data = data
        self.grad = 0.0
        self._backward: Any = lambda: None
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __add__(self, other: Any) -> Lecture:
        other = other if isinstance(other, Lecture) else Lecture(other)
        out = Lecture(self.data + other.data, (self, other), "+")

        def _backward() -> None:
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __radd__(self, other: Any) -> Lecture:
        return self + other

    def __mul__(self, other: Any) -> Lecture:
        other = other if isinstance(other, Lecture) else Lecture(other)
        out = Lecture(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __rmul__(self, other: Any) -> Lecture:
        return self * other

    def __neg__(self) -> Lecture:
        return self * -1

    def __sub__(self, other: Any) -> Lecture:
        return self + (-other)

    def __pow__(self, k: float) -> Lecture:
        out = Lecture(self.data**k, (self,), f"**{k}")

        def _backward() -> None:
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Any) -> Lecture:
        return self * other**-1

    def tanh(self) -> Lecture:
        n = self.data
        t = (math.exp(2 * n) - 1) / (math.exp(2 * n) + 1)
        out = Lecture(t, (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - t**2) * out.grad

        out._backward = _backward
        return out

    def exp(self) -> Lecture:
        out = Lecture(math.exp(self.data), (self,), "exp")

        def _backward() -> None:
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def backward(self) -> None:
        topo: list[Lecture] = []
        visited: set[Lecture] = set()

        def build(v: Lecture) -> None:
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build(child)
                topo.append(v)

        build(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()


class PlantedOverwrite(Lecture):
    """Planted here: `=` in mul's closure only."""

    def __mul__(self, other: Any) -> Lecture:
        other = other if isinstance(other, Lecture) else PlantedOverwrite(other)
        out = PlantedOverwrite(self.data * other.data, (self, other), "*")

        def _backward() -> None:
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out


class PlantedTanh(Lecture):
    """Planted here: tanh's closure uses 1 - n² (its input)."""

    def tanh(self) -> Lecture:
        n = self.data
        out = PlantedTanh(math.tanh(n), (self,), "tanh")

        def _backward() -> None:
            self.grad += (1 - n**2) * out.grad

        out._backward = _backward
        return out


def micrograd_value() -> type:
    engine = pytest.importorskip("micrograd.engine")
    return engine.Value  # type: ignore[no-any-return]


# -- the mirror ---------------------------------------------------------------------------------


def test_mirror_restores_the_duplicate_a_set_loses() -> None:
    x = Lecture(3.0, label="x")
    y = x * x + x
    y.backward()
    m = mirror(y)
    mul = next(v for v in m.values if v._op is not None and v._op.name == "mul")
    assert len(mul._prev) == 2
    assert mul._prev[0] is mul._prev[1]
    # d(x² + x)/dx = 2x + 1 = 7 (closed form), in the learner's grads and microgradnn's
    assert m.grads[m.position(x)] == 7.0
    assert m.reference[m.position(x)] == 7.0
    assert m.values[m.position(x)].grad == 7.0


def test_micrograd_graph_is_drawn_with_both_edges_of_x_times_x() -> None:
    micrograd = micrograd_value()
    x = micrograd(3.0)
    y = x * x
    y.backward()
    source = draw_dot(y, "backward").source
    assert source.count("-> v1op") == 2  # x -> * twice, though micrograd's _prev is {x}
    assert "grad 6" in source  # micrograd's own number, d(x²)/dx = 6


def test_non_commutative_order_is_read_from_the_closure_or_the_data() -> None:
    class Sub(Lecture):
        def __sub__(self, other: Any) -> Lecture:  # its own op, '-', _prev a set
            out = Sub(self.data - other.data, (self, other), "-")

            def _backward() -> None:
                self.grad += out.grad
                other.grad -= out.grad

            out._backward = _backward
            return out

    a, b = Sub(5.0, label="a"), Sub(2.0, label="b")
    m = mirror(a - b)
    root = m.root
    assert root._op.name == "sub"
    assert root._prev[0].label == "a"
    assert root._prev[1].label == "b"
    assert m.reference[m.position(b)] == -1.0


def test_op_strings() -> None:
    assert op_for("**-1", 1)[1] == (-1.0,)
    assert op_for("ReLU", 1)[0].name == "relu"
    assert op_for("-", 1)[0].name == "neg"
    with pytest.raises(ValueError, match=r"_op 'sinh'.*'\+'.*'\*\*k'.*define_op"):
        op_for("sinh", 1)


def test_unknown_op_in_a_graph_is_a_clear_error() -> None:
    x = Lecture(1.0)
    y = Lecture(2.0, (x,), "sinh")
    with pytest.raises(ValueError, match="_op 'sinh': not an op microgradnn knows"):
        draw_dot(y)


def test_not_a_value_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="your own micrograd-style Value"):
        draw_dot(object())


def test_stepper_steps_microgradnn_over_a_learners_graph() -> None:
    x = Lecture(0.5, label="x")
    y = (x * 2.0).tanh()
    frames = backward_steps(y)
    a = frames[-1].analysis
    i = a.names.index("x")
    assert frames[-1].grads[i] == pytest.approx(2 * (1 - math.tanh(1.0) ** 2), rel=1e-12)
    assert x.grad == 0.0  # untouched


# -- check_backward on a learner's graph ---------------------------------------------------------


def test_check_backward_passes_a_correct_learner_graph() -> None:
    x, w = Lecture(0.7, label="x"), Lecture(-1.3, label="w")
    y = ((x * w + x * x) ** 2).tanh().exp()
    check = check_backward(y)
    assert check, str(check)
    assert check.source is y


def test_check_backward_blames_the_planted_tanh_edge() -> None:
    n = PlantedTanh(0.5, label="n")
    o = n.tanh() * 2.0  # Lecture's ops make Lectures: the planted tanh is the leaf's
    check = check_backward(o)
    first = check.first
    assert first is not None
    assert first.op.name == "tanh"
    assert first.yours == pytest.approx(1 - 0.5**2)  # the planted 1 - n² at n = 0.5
    assert first.numeric == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-6)
    assert "expected 1 - tanh" in str(check)
    assert "yours 0" in draw_dot(o, blame=check).source


# -- check_value_class -----------------------------------------------------------------------------


def test_lecture_value_passes() -> None:
    check = check_value_class(Lecture, trials=60)
    assert check.ok, check.message
    assert check.bug == ""
    assert {"add", "mul", "tanh", "exp", "pow2"} <= set(check.ops)
    assert bool(check)
    assert check.mirror is None
    assert check.notes
    assert "micrograd" in check.notes[0]  # its second pass double counts


def test_micrograd_passes() -> None:
    check = check_value_class(micrograd_value())
    assert check.ok, check.message
    assert "tanh" not in check.ops
    assert "relu" in check.ops  # micrograd 0.1.0 has no tanh
    assert check._repr_mimebundle_()["text/plain"] == check.message


def test_planted_overwrite_is_named_on_the_value_used_twice() -> None:
    check = check_value_class(PlantedOverwrite)
    assert check.bug == "overwrites_grad", check.message
    assert check.mirror is not None
    assert check.node is not None
    assert check.yours != check.expected
    assert "`=`" in check.message
    assert "`+=`" in check.message


def test_planted_tanh_is_named() -> None:
    check = check_value_class(PlantedTanh)
    assert check.bug == "tanh_uses_input"
    assert "1 - x²" in check.message
    assert check.edge is not None
    assert check.edge.first.op.name == "tanh"


@pytest.mark.parametrize("bug", sorted(zoo.MUTANTS))
def test_each_zoo_mutant_is_found_and_named(bug: str) -> None:
    check = check_value_class(zoo.MUTANTS[bug], seed=3)
    assert not check.ok
    assert check.bug == bug, check.message
    assert check.message
    assert check.node is not None
    assert check.mirror is not None
    # the marked node's grad differs from microgradnn's, and microgradnn's is the oracle's:
    assert not math.isclose(check.yours, check.expected)


def test_zoo_correct_value_passes() -> None:
    assert check_value_class(zoo.Value).ok


def test_the_verdict_is_the_same_for_a_seed() -> None:
    a = check_value_class(zoo.NoTopoOrder, seed=5)
    b = check_value_class(zoo.NoTopoOrder, seed=5)
    assert (a.bug, a.node) == (b.bug, b.node)


@needs_dot
def test_picture_marks_the_first_differing_node() -> None:
    check = check_value_class(zoo.AssignGrad)
    source = check.picture().source
    assert f"expected {check.expected:.4g}" in source
    assert "check_value_class:" in source
    assert "image/svg+xml" in check._repr_mimebundle_()


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="the class itself"):
        check_value_class(Lecture(1.0))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="micrograd-style"):
        check_value_class(float)
    with pytest.raises(ValueError, match="trials"):
        check_value_class(Lecture, trials=-1)


# -- the side-by-side stepper ------------------------------------------------------------------


def expression(cls: type) -> Any:
    x, y = cls(0.7, label="x"), cls(-1.2, label="y")
    a = x * y
    a.label = "a"
    n = a * 1.5 + a * -0.5 + x
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def test_compare_a_correct_class_finds_no_difference() -> None:
    c = compare_backward(expression(Lecture))
    assert c.first_difference is None
    assert len(c.yours) == len(c.correct)
    assert c.page_data()["stop"] is None


def test_compare_stops_where_the_planted_tanh_closure_ran() -> None:
    o = expression(zoo.TanhUsesInput)
    c = compare_backward(o)
    f = c.first_difference
    assert f is not None
    a = c.correct[0].analysis
    assert a.names[c.yours[f].node_index] == "o"  # the tanh node's closure: the planted bug
    assert c.differing[f] == (a.names.index("n"),)
    assert all(not d for d in c.differing[:f])
    data = c.page_data()
    assert data["stop"] == f
    assert data["differing"][f] == [f"v{a.names.index('n')}grad"]
    assert o.grad == 0.0  # the learner's grads are put back


def test_compare_second_pass_of_stale_interior_parts_at_the_seed() -> None:
    c = compare_backward(expression(zoo.StaleInterior), passes=2)
    assert c.first_difference == 0
    a = c.correct[0].analysis
    stale = {a.names[i] for i in c.differing[0]}
    assert "n" in stale
    assert "x" not in stale  # interior kept its grad, the leaves were zeroed


@needs_dot
def test_compare_page_embeds_both_steppers_and_its_script() -> None:
    page = compare_backward(expression(zoo.NoTopoOrder)).page()
    assert page.count('class="mg-stepper"') == 2
    assert "mg-compare-data" in page
    assert "first difference" in page


def test_the_no_topological_order_message_is_the_same_every_run() -> None:
    """The lecture's _prev is a set, ordered by memory address: the mutant walks the operands in
    the order its closure names them, so the sentence (and a notebook's output) does not churn."""
    from microgradnn.zoo import NoTopoOrder

    messages = {check_value_class(NoTopoOrder).message for _ in range(6)}
    assert len(messages) == 1
    assert "before (a*c)'s, which uses a" in messages.pop()


def test_a_comparison_shows_itself_in_jupyter_with_its_message() -> None:
    x = zoo.AssignGrad(1.5, label="x")
    loss = x * x + x
    comparison = compare_backward(loss)
    bundle = comparison._repr_mimebundle_()
    assert "x.grad is 1.5 in yours, 4 in microgradnn's" in bundle["text/plain"]
    assert 'class="mg-compare"' in bundle["text/html"]
    assert "x.grad is 1.5" in repr(comparison)
