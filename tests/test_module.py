"""Module: parameters found in attributes, lists, tuples and dicts; modes; no reference cycles."""

from __future__ import annotations

import gc

import pytest

from microgradnn import Value
from microgradnn.module import Module, eval_mode, io_sizes
from microgradnn.nn import MLP, Dropout, Layer, Neuron
from microgradnn.optim import SGD


class Matrix(Module):
    """A learner's layer: W as a list of lists of Values, b as a dict, a sub-module in a tuple."""

    def __init__(self) -> None:
        self.W = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
        self.b = {"first": Value(0.5), "second": Value(-0.5)}
        self.parts = (Neuron(2, seed=0), [Dropout(0.5, seed=0)])
        self._hidden = Value(9.0)  # private: never a parameter
        self.scale = 2.0  # a plain number: not a parameter

    def __call__(self, x: list[float]) -> list[Value]:
        rows = [Value.sum([w * xi for w, xi in zip(row, x, strict=True)]) for row in self.W]
        return [r + bias for r, bias in zip(rows, self.b.values(), strict=True)]


def test_nested_containers_are_found_with_dotted_names() -> None:
    m = Matrix()
    names = [name for name, _ in m.named_parameters()]
    assert names == [
        "W.0.0",
        "W.0.1",
        "W.1.0",
        "W.1.1",
        "b.first",
        "b.second",
        "parts.0.w.0",
        "parts.0.w.1",
        "parts.0.b",
    ]
    assert [name for name, _ in m.named_modules()] == ["", "parts.0", "parts.1.0"]
    assert m.parts[0].name == "parts.0"
    assert m.num_parameters() == 9


def test_zero_grad_and_optimizers_reach_every_nested_parameter() -> None:
    m = Matrix()
    out = m([1.0, -1.0])
    Value.sum(out).backward()
    assert m.W[1][1].grad == -1.0
    assert m.b["second"].grad == 1.0
    opt = SGD(m.parameters(), lr=0.1)
    opt.step()
    assert m.W[1][1].data == pytest.approx(4.1)
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


def test_a_value_reachable_twice_is_listed_once_under_its_first_name() -> None:
    shared = Value(1.0)

    class Twice(Module):
        def __init__(self) -> None:
            self.a = shared
            self.more = [shared, {"again": shared}]

    assert [n for n, _ in Twice().named_parameters()] == ["a"]
    assert Twice().parameters() == [shared]


def test_parameters_are_the_named_parameters_in_the_same_order() -> None:
    m = Matrix()
    m.extra = {"deep": [(Value(7.0), m.W[0][0]), {"x": Value(8.0)}], "empty": []}
    m.blocks = [Layer(2, 2, seed=1), [Neuron(1, seed=2), m.parts[0]]]
    named = [p for _, p in m.named_parameters()]
    assert len(named) == 9 + 2 + 6 + 2
    assert [id(p) for p in m.parameters()] == [id(p) for p in named]


def test_train_eval_reach_nested_modules_and_check_their_argument() -> None:
    m = Matrix()
    m.eval()
    assert not m.parts[1][0].training
    m.train()
    assert m.parts[1][0].training
    with pytest.raises(TypeError, match="mode: expected True or False, got str 'no'"):
        m.train("no")  # type: ignore[arg-type]


def test_eval_mode_restores_the_previous_mode_even_after_an_error() -> None:
    model = MLP(2, [3, 1], dropout=0.5, seed=0)
    seen = []

    def fail_in_eval_mode() -> None:
        with eval_mode(model):
            seen.extend([model.training, model.layers[1].training])
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_in_eval_mode()
    assert seen == [False, False]
    assert model.training
    assert model.layers[1].training
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training
    with eval_mode(object()):  # anything without train/eval passes through
        pass


def test_io_sizes() -> None:
    assert io_sizes(MLP(3, [4, 2], seed=0)) == (3, 2)
    assert io_sizes(Layer(5, 7, seed=0)) == (5, 7)
    assert io_sizes(Neuron(4, seed=0)) == (4, 1)
    assert io_sizes(Matrix()) == (None, None)


@pytest.mark.parametrize("call", ["parameters", "named_modules", "zero_grad", "train", "eval"])
def test_the_module_api_creates_no_reference_cycles(call: str) -> None:
    model = MLP(2, [8, 8, 1], dropout=0.1, seed=0)
    getattr(model, call)()  # warm up (first calls may cache)
    gc.collect()
    gc.disable()
    try:
        getattr(model, call)()
        assert gc.collect() == 0
    finally:
        gc.enable()
