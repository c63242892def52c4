"""Tests for microgradnn.lr_scheduler. Oracles: torch.optim.lr_scheduler, and closed forms."""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import microgradnn
import microgradnn.lr_scheduler
import microgradnn.optim
from microgradnn import Value
from microgradnn.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LinearLR,
    LRScheduler,
    StepLR,
)
from microgradnn.optim import SGD, Adam, Optimizer

REL = 1e-12


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


SCHEDULE_CASES: list[tuple[type[LRScheduler], str, dict[str, Any]]] = [
    (StepLR, "StepLR", {"step_size": 3, "gamma": 0.5}),
    (StepLR, "StepLR", {"step_size": 1}),
    (ExponentialLR, "ExponentialLR", {"gamma": 0.9}),
    (LinearLR, "LinearLR", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 100}),
    (LinearLR, "LinearLR", {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 10}),
    (LinearLR, "LinearLR", {"start_factor": 0.8, "end_factor": 0.0, "total_iters": 12}),
    (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 10, "eta_min": 0.01}),
    (CosineAnnealingLR, "CosineAnnealingLR", {"T_max": 7}),
]


@pytest.mark.torch
@pytest.mark.parametrize(("ours", "theirs", "kwargs"), SCHEDULE_CASES)
def test_schedule_matches_torch(
    torch: Any, ours: type[LRScheduler], theirs: str, kwargs: dict[str, Any]
) -> None:
    base_lr = 0.3
    opt = SGD([Value(0.0)], lr=base_lr)
    sched = ours(opt, **kwargs)
    t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([t], lr=base_lr)
    tsched = getattr(torch.optim.lr_scheduler, theirs)(topt, **kwargs)
    tol = {"rel": REL, "abs": REL * base_lr}
    for _ in range(30):
        expected = tsched.get_last_lr()[0]
        assert sched.get_last_lr() == pytest.approx(expected, **tol)
        assert opt.lr == pytest.approx(topt.param_groups[0]["lr"], **tol)
        t.grad = torch.zeros(1, dtype=torch.float64)
        topt.step()  # torch warns when the schedule steps before the optimizer
        sched.step()
        tsched.step()


def test_linear_lr_reproduces_micrograds_demo_schedule() -> None:
    opt = SGD([Value(0.0)], lr=1.0)
    sched = LinearLR(opt)  # defaults: start 1.0, end 0.1 over 100 steps
    for k in range(100):
        assert opt.lr == pytest.approx(1.0 - 0.9 * k / 100, rel=1e-15)
        sched.step()
    for _ in range(5):
        assert opt.lr == pytest.approx(0.1, rel=1e-15)
        sched.step()


@pytest.mark.parametrize(
    ("make", "closed_form"),
    [
        (lambda o: StepLR(o, 4, gamma=0.3), lambda k: 2.0 * 0.3 ** (k // 4)),
        (lambda o: ExponentialLR(o, 0.95), lambda k: 2.0 * 0.95**k),
        (
            lambda o: CosineAnnealingLR(o, T_max=8, eta_min=0.5),
            lambda k: 0.5 + 1.5 * (1 + math.cos(math.pi * k / 8)) / 2,
        ),
    ],
)
def test_schedule_closed_forms(
    make: Callable[[Optimizer], LRScheduler], closed_form: Callable[[int], float]
) -> None:
    opt = SGD([Value(0.0)], lr=2.0)
    sched = make(opt)
    for k in range(20):
        assert opt.lr == pytest.approx(closed_form(k), rel=1e-13, abs=1e-15)
        assert sched.lr_at(k) == opt.lr
        sched.step()


SCHEDULES: list[Callable[[Optimizer], LRScheduler]] = [
    lambda o: CosineAnnealingLR(o, T_max=12, eta_min=0.01),
    lambda o: LinearLR(o, start_factor=0.5, end_factor=1.0, total_iters=10),
    lambda o: StepLR(o, step_size=3, gamma=0.5),
]


@pytest.mark.parametrize("make", SCHEDULES)
@pytest.mark.parametrize("optimizer_first", [True, False])
def test_schedule_state_dict_resumes_identically(
    make: Callable[[Optimizer], LRScheduler], optimizer_first: bool
) -> None:
    def run(resume_at: int | None) -> list[float]:
        opt = Adam([Value(0.0)], lr=0.4)
        sched = make(opt)
        lrs = []
        for epoch in range(20):
            if epoch == resume_at:
                saved_opt = json.loads(json.dumps(opt.state_dict()))
                saved = json.loads(json.dumps(sched.state_dict()))
                opt = Adam([Value(0.0)], lr=123.0)
                if optimizer_first:
                    opt.load_state_dict(saved_opt)
                    sched = make(opt)
                else:
                    sched = make(opt)
                    opt.load_state_dict(saved_opt)
                sched.load_state_dict(saved)
            lrs.append(opt.lr)
            sched.step()
        return lrs

    assert run(7) == run(None)


def test_schedule_repr() -> None:
    sched = StepLR(SGD([Value(0.0)], lr=0.5), step_size=2)
    assert repr(sched) == "StepLR(step_size=2, gamma=0.1, base_lr=0.5, last_epoch=0, lr=0.5)"


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda o: StepLR(o, step_size=0),
            ValueError,
            "step_size: expected an integer >= 1, got 0",
        ),
        (lambda o: StepLR(o, step_size=1.5), TypeError, "step_size: .*got float"),
        (lambda o: StepLR(o, 2, gamma=0.0), ValueError, "gamma: expected a number > 0, got 0.0"),
        (lambda o: ExponentialLR(o, gamma=-0.5), ValueError, "gamma: .*got -0.5"),
        (lambda o: LinearLR(o, start_factor=0.0), ValueError, r"start_factor: .*\(0, 1\], got 0.0"),
        (lambda o: LinearLR(o, start_factor=1.5), ValueError, "start_factor: .*got 1.5"),
        (lambda o: LinearLR(o, end_factor=1.1), ValueError, r"end_factor: .*\[0, 1\], got 1.1"),
        (lambda o: LinearLR(o, total_iters=0), ValueError, "total_iters: .*got 0"),
        (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max: .*got 0"),
        (lambda o: CosineAnnealingLR(o, 5, eta_min=-0.1), ValueError, "eta_min: .*got -0.1"),
        (
            lambda o: StepLR("opt", 2),
            TypeError,
            r"StepLR: expected an optimizer \(an object with a settable lr\), got str 'opt'",
        ),
    ],
)
def test_bad_schedule_arguments(
    make: Callable[[Any], LRScheduler], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make(SGD([Value(1.0)], lr=0.1))


def test_bad_schedule_state_dicts() -> None:
    opt = SGD([Value(1.0)], lr=0.1)
    sd = StepLR(opt, 3).state_dict()
    with pytest.raises(ValueError, match="expected a ExponentialLR state, got 'StepLR'"):
        ExponentialLR(opt, 0.5).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected settings"):
        StepLR(opt, 4).load_state_dict(sd)
    with pytest.raises(ValueError, match="last_epoch: expected an integer >= 0, got -3"):
        StepLR(opt, 3).load_state_dict({**sd, "last_epoch": -3})


# -- independence from optim -------------------------------------------------------------------


class HasLR:
    """Not an Optimizer: just the settable lr a schedule needs."""

    def __init__(self, lr: float) -> None:
        self.lr = lr


@pytest.mark.parametrize(
    ("make", "closed_form"),
    [
        (lambda o: StepLR(o, 2, gamma=0.5), lambda k: 0.8 * 0.5 ** (k // 2)),
        (lambda o: ExponentialLR(o, 0.9), lambda k: 0.8 * 0.9**k),
        (
            lambda o: LinearLR(o, start_factor=0.5, end_factor=1.0, total_iters=4),
            lambda k: 0.8 * (0.5 + 0.5 * min(k, 4) / 4),
        ),
        (
            lambda o: CosineAnnealingLR(o, T_max=6),
            lambda k: 0.8 * (1 + math.cos(math.pi * k / 6)) / 2,
        ),
    ],
)
def test_schedules_drive_any_object_with_an_lr(
    make: Callable[[Any], LRScheduler], closed_form: Callable[[int], float]
) -> None:
    holder = HasLR(0.8)
    sched = make(holder)
    assert sched.base_lr == 0.8
    for k in range(10):
        assert holder.lr == pytest.approx(closed_form(k), rel=1e-14, abs=1e-15)
        sched.step()


@pytest.mark.parametrize("bad", [None, 3, object()])
def test_an_object_without_lr_is_refused(bad: object) -> None:
    with pytest.raises(TypeError, match=r"ExponentialLR: expected an optimizer \(an object with"):
        ExponentialLR(bad, 0.5)  # type: ignore[arg-type]


def test_an_lr_that_is_not_a_number_is_refused() -> None:
    with pytest.raises(TypeError, match=r"optimizer\.lr: expected a number >= 0, got str 'fast'"):
        StepLR(HasLR("fast"), 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"optimizer\.lr: expected a number >= 0, got -1\.0"):
        StepLR(HasLR(-1.0), 2)


def test_lr_scheduler_imports_nothing_above_it() -> None:
    # optim sits above lr_scheduler and re-exports it, so the schedules must not import optim.
    tree = ast.parse(Path(microgradnn.lr_scheduler.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    ours = {name for name in imported if name.startswith("microgradnn")}
    assert ours == {"microgradnn._checks"}


@pytest.mark.parametrize("name", microgradnn.lr_scheduler.__all__)
def test_schedule_names_are_re_exported_by_optim_and_the_package(name: str) -> None:
    cls = getattr(microgradnn.lr_scheduler, name)
    assert getattr(microgradnn.optim, name) is cls
    assert name in microgradnn.optim.__all__
    assert getattr(microgradnn, name) is cls
    assert cls.__module__ == "microgradnn.lr_scheduler"


def test_bad_load_leaves_the_schedule_and_lr_unchanged() -> None:
    opt = SGD([Value(1.0)], lr=0.4)
    sched = StepLR(opt, 2, gamma=0.5)
    sched.step()
    sched.step()
    before = (sched.base_lr, sched.last_epoch, opt.lr)
    sd = sched.state_dict()
    with pytest.raises(ValueError, match=r"base_lr: expected a number >= 0, got -1\.0"):
        sched.load_state_dict({**sd, "base_lr": -1.0, "last_epoch": 5})
    with pytest.raises(TypeError, match=r"last_epoch: expected an integer >= 0, got float 1\.5"):
        sched.load_state_dict({**sd, "last_epoch": 1.5})
    with pytest.raises(ValueError, match=r"missing keys \['base_lr'\], unexpected keys \['x'\]"):
        sched.load_state_dict({**{k: v for k, v in sd.items() if k != "base_lr"}, "x": 1})
    with pytest.raises(TypeError, match="state_dict: expected a dict, got list"):
        sched.load_state_dict([])  # type: ignore[arg-type]
    assert (sched.base_lr, sched.last_epoch, opt.lr) == before == (0.4, 2, 0.2)


def test_linear_lr_defaults_are_micrograds_demo_not_torchs():
    from microgradnn import SGD, Value

    sched = LinearLR(SGD([Value(0.0)], lr=1.0))
    assert (sched.start_factor, sched.end_factor, sched.total_iters) == (1.0, 0.1, 100)
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.zeros(1))
    theirs = torch.optim.lr_scheduler.LinearLR(torch.optim.SGD([p], lr=1.0))
    assert (theirs.start_factor, theirs.end_factor, theirs.total_iters) != (1.0, 0.1, 100)
