"""No reference cycles anywhere in a training loop, and flat memory over many steps.

The README promises that a graph holds no cycles (nodes do not point back, one shared backward
per op), so a dropped graph is freed by reference counting at once, even with the cycle
collector off; ``fit`` relies on it, pausing the collector during every step. A former bug
(a recursive closure in ``Module.named_modules``) left a cycle behind on every ``parameters()``,
``zero_grad()`` and ``train()`` call, and the README's loop grew from 37 to 97 MB over 10,000
steps with the collector off.

Two checks hold the line: every call of the training loop, after a warm-up, leaves nothing for
the collector (``gc.collect() == 0``); and whole runs of 10,000 steps with the collector off
keep a flat footprint. The last test sabotages the library in-process, to show that both checks
catch the old bug and micrograd's own cycle (a closure that points back at the graph).
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

from __future__ import annotations

import gc
import operator
import os
import re
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from microgradnn import (
    ACTIVATIONS,
    MLP,
    OPS,
    SGD,
    Adam,
    AdamW,
    CosineAnnealingLR,
    Dropout,
    EarlyStopping,
    ExponentialLR,
    LinearLR,
    Module,
    Neuron,
    Op,
    RMSProp,
    StepLR,
    Value,
    accuracy,
    clip_grad_norm_,
    clip_grad_value_,
    compile_model,
    evaluate,
    fit,
    l2_regularization,
    log_softmax,
    logsumexp,
    make_moons,
    mse_loss,
    no_grad,
    predict,
    softmax,
)
from microgradnn.compile import trace
from microgradnn.losses import LOSS_INFO, Loss

Call = Callable[[], object]

# -- the cycle check ---------------------------------------------------------------------------


@contextmanager
def collector_off() -> Iterator[None]:
    """The cyclic collector off (after one collection), then back to its previous state."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _what(obj: object) -> str:
    """A garbage object, named well enough to find where it was made."""
    if isinstance(obj, types.CellType):
        try:
            return f"cell holding {type(obj.cell_contents).__name__}"
        except ValueError:
            return "empty cell"
    name = getattr(obj, "__qualname__", None)
    if callable(obj) and isinstance(name, str):
        return f"{type(obj).__name__} {name}"
    return type(obj).__name__


def collect() -> tuple[int, list[str]]:
    """Collect now (the collector may be off): how many objects were in cycles, and what."""
    start = len(gc.garbage)
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep what it finds in gc.garbage, to say what it was
    try:
        found = gc.collect()
        names = [_what(obj) for obj in gc.garbage[start:]]
    finally:
        gc.set_debug(0)
        del gc.garbage[start:]
    if found:
        gc.collect()  # now free what DEBUG_SAVEALL kept
    return found, names


def cycles_left_by(call: Call) -> tuple[int, list[str]]:
    """What ``call`` (after a warm-up call) leaves in reference cycles, with the collector off.

    The warm-up matters: a first call may import modules (tqdm imports socket, whose enums are
    cyclic; ``np.unique`` imports ``numpy.ma``, whose import makes ``inspect`` closures) and
    those leave garbage once, not per call.
    """
    call()
    with collector_off():
        call()
        return collect()


def _listing(names: list[str]) -> str:
    return ", ".join(f"{n} {what}" for what, n in Counter(names).most_common(8))


def assert_no_cycles(call: Call) -> None:
    found, names = cycles_left_by(call)
    assert found == 0, f"{found} objects left in reference cycles: {_listing(names)}"


# -- the calls of a training loop --------------------------------------------------------------

X4 = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
XOR_PM1 = [-1.0, 1.0, 1.0, -1.0]

INFIX: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
PREFIX: dict[str, Callable[[Any], Any]] = {"-": operator.neg}


def _nodes_of(op: Op, a: Value, b: Value) -> list[Value]:
    """Nodes that apply ``op``: on two Values, and with a plain number on either side."""
    if op.infix is not None:
        f = INFIX[op.infix]
        return [f(a, b), f(a, 2.0), f(2.0, b)]
    if op.prefix is not None:
        return [PREFIX[op.prefix](a)]
    assert op.method is not None
    if op.variadic:
        return [getattr(Value, op.method)([a, b, 2.0, a])]
    method = getattr(a, op.method)
    more = op.arity - 1
    nodes = [method(*[b] * more), method(*[0.5] * more)] if more else [method()]
    if op.defaults:
        nodes.append(getattr(b, op.method)())
    return nodes


def graph_of(op: Op) -> Call:
    def call() -> None:
        a, b = Value(0.7, label="a"), Value(-1.3, label="b")
        nodes = _nodes_of(op, a, b)
        assert all(n._op is op for n in nodes)
        loss = Value.sum([n * a for n in nodes])
        loss.backward()
        loss.backward()  # a second pass too (leaves accumulate)

    return call


def a_deep_graph_with_reuse() -> None:
    x, w = Value(0.3), Value(-0.2)
    v = x
    for _ in range(200):
        v = (v * v + w).tanh() * x  # every node read twice
    (v + logsumexp([v, x, w]) + Value.logsumexp([x, 1.0])).backward()


def the_functional_helpers() -> None:
    xs = [Value(1.0), Value(-2.0), Value(0.5)]
    Value.sum([*softmax(xs), *log_softmax(xs), logsumexp(xs)]).backward()


def model_call(model: Module) -> Call:
    def call() -> None:
        out = model([0.5, -0.25])
        Value.sum(out if isinstance(out, list) else [out]).backward()

    return call


def a_model_call_under_no_grad() -> None:
    model = _mlp()
    with no_grad():
        model([0.5, -0.25])


def _mlp(**kwargs: Any) -> MLP:
    return MLP(2, [4, 1], activation="tanh", seed=0, **kwargs)


def _with_grads(model: Module) -> Module:
    model_call(model)()
    return model


def loss_call(row: Loss) -> Call:
    """The loss, plus L2, on a model's outputs for targets of the kind the row declares."""
    classes = row.targets == "classes"
    model = MLP(2, [4, 3 if classes else 1], seed=0, output_activation=row.output_activation)
    targets = {
        "reals": [0.5, -1.0, 2.0, 0.0],
        "probabilities": [0.0, 1.0, 1.0, 0.0],
        "classes": [0, 2, 1, 2],
        "signs": XOR_PM1,
    }[row.targets]

    def call() -> None:
        loss = row.function([model(x) for x in X4], targets)
        (loss + l2_regularization(model, 1e-3)).backward()

    return call


def _optimizer_calls() -> dict[str, Call]:
    calls: dict[str, Call] = {}
    makers: dict[str, Callable[[list[Value]], Any]] = {
        "SGD(momentum=0.9)": lambda ps: SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-4),
        "SGD(nesterov=True)": lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        "RMSProp": lambda ps: RMSProp(ps, lr=0.01, momentum=0.5, centered=True),
        "Adam": lambda ps: Adam(ps, lr=0.01, amsgrad=True),
        "AdamW": lambda ps: AdamW(ps, lr=0.01),
    }
    for name, make in makers.items():
        model = _with_grads(_mlp())
        opt = make(model.parameters())
        calls[f"{name}.step"] = opt.step
        calls[f"{name}.zero_grad"] = opt.zero_grad
        calls[f"{name}.state_dict"] = opt.state_dict
        calls[f"{name}.load_state_dict"] = lambda opt=opt: opt.load_state_dict(opt.state_dict())
    return calls


def _schedule_calls() -> dict[str, Call]:
    makers: dict[str, Callable[[SGD], Any]] = {
        "StepLR": lambda opt: StepLR(opt, step_size=2, gamma=0.5),
        "ExponentialLR": lambda opt: ExponentialLR(opt, gamma=0.9),
        "LinearLR": lambda opt: LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=5),
        "CosineAnnealingLR": lambda opt: CosineAnnealingLR(opt, T_max=5),
    }
    return {
        f"{name}.step": make(SGD(_mlp().parameters(), lr=0.1)).step for name, make in makers.items()
    }


def _predict_calls() -> dict[str, Call]:
    X, y = make_moons(n=30, seed=0)
    model = _mlp(dropout=0.2)
    return {
        "predict": lambda: predict(model, X),
        "predict(compiled=True)": lambda: predict(model, X, compiled=True),
        "evaluate": lambda: evaluate(model, X, y, loss="bce_logits"),
        "accuracy": lambda: accuracy(model, X, y, loss="bce_logits"),
    }


def _compiled_calls() -> dict[str, Call]:
    X, y = make_moons(n=30, seed=0)
    Y = y.reshape(-1, 1).astype(float)
    model = _mlp()
    params = model.parameters()

    def per_example(xs: list[Value], ys: list[Value]) -> Value:
        return mse_loss([model(xs)], [ys[0]])

    graph = trace(per_example, 2, 1, params)
    outputs = compile_model(model, None, 2)
    return {
        "trace": lambda: trace(per_example, 2, 1, params),
        "compile_model": lambda: compile_model(model, "bce_logits", 2),
        "CompiledGraph.loss_and_grad": lambda: graph.loss_and_grad(X, Y),
        "CompiledGraph.forward": lambda: outputs.forward(X),
    }


def whole_fit(compiled: bool) -> Call:
    X, y = make_moons(n=40, seed=0)
    Xv, yv = make_moons(n=20, seed=1)
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = StepLR(opt, step_size=2, gamma=0.5)
    stopper = EarlyStopping(patience=2, restore_best=True)

    def call() -> None:
        fit(
            model,
            X,
            y,
            loss="bce_logits",
            optimizer=opt,
            epochs=4,
            batch_size=8,
            validation_data=(Xv, yv),
            schedule=schedule,
            callbacks=[stopper],
            l2=1e-4,
            clip_grad_norm=1.0,
            progress=False,
            compiled=compiled,
        )

    return call


class Learners(Module):
    """A module of one's own: weights in nested lists and dicts, sub-modules in a tuple."""

    def __init__(self) -> None:
        self.W = [[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]
        self.b = {"first": Value(0.5), "second": Value(-0.5)}
        self.parts = (Neuron(2, seed=0), [Dropout(0.5, seed=0)])


def _module_calls() -> dict[str, Call]:
    mlp = _with_grads(MLP(2, [8, 8, 1], dropout=0.1, seed=0))
    calls: dict[str, Call] = {}
    for label, model in (("MLP", mlp), ("Learners", Learners())):
        state = model.state_dict()
        calls.update(
            {
                f"{label}.parameters": model.parameters,
                f"{label}.named_parameters": model.named_parameters,
                f"{label}.named_modules": model.named_modules,
                f"{label}.modules": model.modules,
                f"{label}.zero_grad": model.zero_grad,
                f"{label}.train": model.train,
                f"{label}.eval": model.eval,
                f"{label}.state_dict": model.state_dict,
                f"{label}.load_state_dict": lambda m=model, s=state: m.load_state_dict(s),
                f"{label}.repr": lambda m=model: repr(m),
            }
        )
    calls["MLP(...)"] = lambda: MLP(2, [8, 8, 1], dropout=0.1, activation="prelu", seed=0)
    calls["Learners()"] = Learners
    calls["clip_grad_norm_"] = lambda: clip_grad_norm_(mlp.parameters(), max_norm=0.1)
    calls["clip_grad_value_"] = lambda: clip_grad_value_(mlp.parameters(), clip_value=0.1)
    return calls


def _all_calls() -> dict[str, Call]:
    calls: dict[str, Call] = {f"op {name}": graph_of(op) for name, op in OPS.items()}
    calls["a deep graph with reuse"] = a_deep_graph_with_reuse
    calls["softmax, log_softmax, logsumexp"] = the_functional_helpers
    for act in ACTIVATIONS:
        calls[f"MLP(activation={act!r})"] = model_call(MLP(2, [3, 2], activation=act, seed=0))
    calls["Dropout, training"] = model_call(_mlp(dropout=0.5))
    calls["Dropout, eval"] = model_call(_mlp(dropout=0.5).eval())
    calls["a model call under no_grad"] = a_model_call_under_no_grad
    calls.update(_module_calls())
    calls.update(_optimizer_calls())
    calls.update(_schedule_calls())
    calls.update({f"loss {name}": loss_call(row) for name, row in LOSS_INFO.items()})
    calls.update(_predict_calls())
    calls.update(_compiled_calls())
    calls["fit"] = whole_fit(compiled=False)
    calls["fit(compiled=True)"] = whole_fit(compiled=True)
    return calls


CALLS = _all_calls()


@pytest.mark.parametrize("name", list(CALLS))
def test_no_reference_cycles(name: str) -> None:
    assert_no_cycles(CALLS[name])


def test_every_op_of_the_table_is_checked() -> None:
    assert {name for name in CALLS if name.startswith("op ")} == {f"op {n}" for n in OPS}
    assert {f"loss {n}" for n in LOSS_INFO} <= set(CALLS)
    assert {f"MLP(activation={a!r})" for a in ACTIVATIONS} <= set(CALLS)


# -- flat memory over many steps, with the collector off ---------------------------------------

RSS_BOUND = 8 << 20
"""Resident memory may grow by less than 8 MB over a measured run (the old bug: 60 MB).

A coarse second check: in a test worker that ran other modules first, the allocator's arenas
and other threads move resident memory by a megabyte or so (1.3 MB seen once in CI-like runs).
The exact checks are the counts of live blocks and tracked objects."""


def _rss() -> int | None:
    """This process's resident set size in bytes (Linux; None elsewhere)."""
    statm = Path("/proc/self/statm")
    if not statm.exists():
        return None
    return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Footprint:
    """What the process holds, measured without slowing it down (tracemalloc would, 7x).

    Attributes:
        blocks: Small-object blocks in use (``sys.getallocatedblocks()``): every Value, tuple,
            float, list and closure under 512 bytes, counted exactly.
        objects: Objects the cycle collector tracks (every container, of any size): a
            reference cycle can only be made of these.
        rss: Resident memory in bytes, for large allocations too (None off Linux).
        held: Blocks the run is meant to keep (e.g. fit's History entries).
    """

    blocks: int
    objects: int
    rss: int | None
    held: int = 0

    @classmethod
    def now(cls, held: int = 0) -> Footprint:
        objects = len(gc.get_objects())
        return cls(sys.getallocatedblocks(), objects, _rss(), held)


class Meter:
    """Footprints at the end of a warm-up and after the measured steps, the collector off."""

    def __init__(self) -> None:
        self.before: Footprint | None = None
        self.after: Footprint | None = None
        self.found = 0
        self.names: list[str] = []

    def start(self, held: int = 0) -> None:
        # No collection here: it would also empty CPython's free lists (up to 2,000 tuples of
        # each length), which the next steps would refill, a growth of thousands of blocks
        # that is no leak. So the final collection also sees the warm-up's cycles.
        self.before = Footprint.now(held)

    def stop(self, held: int = 0) -> None:
        self.after = Footprint.now(held)
        self.found, self.names = collect()

    def problems(self, steps: int) -> list[str]:
        """What grew over ``steps`` measured steps: empty when the footprint stayed flat."""
        a, b = self.before, self.after
        assert a is not None, "the meter was not started"
        assert b is not None, "the meter was not stopped"
        blocks = (b.blocks - a.blocks) - (b.held - a.held)
        objects = b.objects - a.objects
        out = []
        if self.found:
            out.append(f"{self.found} objects in reference cycles: {_listing(self.names)}")
        if blocks > steps // 100:
            out.append(f"{blocks} more blocks after {steps} steps (bound {steps // 100})")
        if objects > 16:
            out.append(f"{objects} more objects tracked after {steps} steps (bound 16)")
        if a.rss is not None and b.rss is not None and b.rss - a.rss >= RSS_BOUND:
            out.append(f"resident memory grew by {(b.rss - a.rss) / 2**20:.1f} MB")
        return out


class ReadmeLoop:
    """README.md's "Optimizers and schedules" loop, line for line, stepped on demand."""

    def __init__(self) -> None:
        self.model = MLP(2, [4, 1], activation="tanh", seed=0)
        self.opt = SGD(self.model.parameters(), lr=0.2, momentum=0.9)
        self.sched = LinearLR(self.opt, start_factor=1.0, end_factor=0.1, total_iters=100)

    def run(self, steps: int) -> float:
        model, opt, sched = self.model, self.opt, self.sched
        loss = Value(0.0)
        for _ in range(steps):
            opt.zero_grad()
            loss = mse_loss([model(x) for x in X4], XOR_PM1)
            loss.backward()
            clip_grad_norm_(model.parameters(), max_norm=5.0)
            opt.step()
            sched.step()
        return loss.data


def readme_loop_problems(warmup: int, steps: int) -> list[str]:
    ReadmeLoop().run(1)  # first use, as every measured run has one
    loop, meter = ReadmeLoop(), Meter()
    with collector_off():
        loop.run(warmup)
        meter.start()
        loss = loop.run(steps)
        meter.stop()
    assert loss < 0.05, "the loop did not train"
    return meter.problems(steps)


@pytest.mark.slow
def test_the_readme_loop_stays_flat_for_10000_steps() -> None:
    # 10,000 steps, as in the report of the old bug, take 4-8 s on this project's 2-core machine.
    problems = readme_loop_problems(warmup=1_000, steps=10_000)
    assert not problems, "; ".join(problems)


def _history_entries(history: Any) -> int:
    """Numbers a History holds (each a float object: a block it is meant to keep)."""
    lists = [history.train_loss, history.val_loss, history.train_acc, history.val_acc]
    lists += [history.lr, history.epoch_time]
    return sum(1 for values in lists for v in values if v is not None)


class Measure:
    """A fit callback: the meter starts at the end of one epoch and stops at another's."""

    def __init__(self, meter: Meter, start: int, stop: int) -> None:
        self.meter, self.start, self.stop = meter, start, stop

    def on_epoch_end(self, epoch: int, model: object, history: Any) -> None:
        if epoch == self.start:
            self.meter.start(_history_entries(history))
        elif epoch == self.stop:
            self.meter.stop(_history_entries(history))


@pytest.mark.slow
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_fit_stays_flat_for_10000_steps(compiled: bool) -> None:
    # 1,000 examples one at a time: a warm-up epoch of 1,000 steps, then 10 epochs measured.
    X, y = make_moons(n=1_000, seed=0)
    # First use: imports (tqdm; numpy.ma, from np.unique) leave import-time cycles once.
    fit(_mlp(), X[:10], y[:10], epochs=1, progress=False, compiled=compiled)
    model = _mlp()
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    meter = Meter()
    with collector_off():
        history = fit(
            model,
            X,
            y,
            loss="bce_logits",
            optimizer=opt,
            epochs=11,
            batch_size=1,
            validation_data=make_moons(n=100, seed=1),
            schedule=StepLR(opt, step_size=3, gamma=0.5),
            callbacks=[EarlyStopping(patience=20), Measure(meter, start=0, stop=10)],
            progress=False,
            compiled=compiled,
        )
    assert history.steps == 11_000
    problems = meter.problems(10_000)
    assert not problems, "; ".join(problems)


# -- the checks can fail ------------------------------------------------------------------------


def _recursive_named_modules(original: Callable[[Module], Any]) -> Callable[[Module], Any]:
    """``named_modules`` as it was: a walk by a closure that calls itself, so holds itself."""

    def named_modules(self: Module) -> list[tuple[str, Module]]:
        found = original(self)
        out: list[tuple[str, Module]] = []

        def visit(i: int) -> None:
            if i < len(found):
                out.append(found[i])
                visit(i + 1)

        visit(0)
        return out

    return named_modules


def _backward_with_a_closure(original: Callable[..., None]) -> Callable[..., None]:
    """``backward`` making what micrograd's ``_backward`` closures are: one holding its node."""

    def backward(self: Value, gradient: float = 1.0) -> None:
        def again() -> object:  # refers to itself and to the graph's root: a cycle
            return again, self

        original(self, gradient)

    return backward


SABOTAGE: dict[str, tuple[type, str, Callable[[Any], Any], str, list[str]]] = {
    "named_modules walks with a recursive closure (the old bug)": (
        Module,
        "named_modules",
        _recursive_named_modules,
        "function .*named_modules.<locals>.visit",
        [
            "MLP.parameters",
            "MLP.zero_grad",
            "MLP.train",
            "Learners.state_dict",
            "fit(compiled=True)",
        ],
    ),
    "backward keeps a closure that points back at the graph (micrograd's cycle)": (
        Value,
        "backward",
        _backward_with_a_closure,
        "function .*backward.<locals>.again",
        ["op add", "op logsumexp", "MLP(activation='prelu')", "loss hinge", "fit"],
    ),
}


@pytest.mark.parametrize("sabotage", list(SABOTAGE))
def test_the_checks_catch_a_reference_cycle(monkeypatch: pytest.MonkeyPatch, sabotage: str) -> None:
    owner, name, make, culprit, calls = SABOTAGE[sabotage]
    monkeypatch.setattr(owner, name, make(getattr(owner, name)))
    for call in calls:
        with pytest.raises(AssertionError, match=f"objects left in reference cycles: .*{culprit}"):
            assert_no_cycles(CALLS[call])
    problems = "; ".join(readme_loop_problems(warmup=100, steps=1_000))
    assert re.search(f"objects in reference cycles: .*{culprit}", problems), problems
    assert re.search(r"\d+ more blocks after 1000 steps \(bound 10\)", problems), problems
    assert gc.isenabled()
