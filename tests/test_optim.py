"""Tests for microgradnn.optim. Oracles: torch.optim in float64, and closed forms."""

from __future__ import annotations

import functools
import inspect
import json
import math
import random
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microgradnn import Value
from microgradnn import _checks as check
from microgradnn.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    Hyper,
    Optimizer,
    RMSProp,
    RMSprop,
    clip_coefficient,
    clip_grad_norm_,
    clip_grad_value_,
    get_optimizer,
)
from tests.oracle import same_float

START = (0.7, -1.3, 0.4)
REL = 1e-12


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def loss_fn(w: list[Value]) -> Value:
    """A small nonconvex function of three parameters with a saddle and curved valleys."""
    w0, w1, w2 = w
    return (
        (w0 * w1 - 1) ** 2 + (w1 + w2).tanh() * w0 + 0.1 * w2**4 - 0.3 * w2**2 + (w0 - w2).sigmoid()
    )


def fill_grads(params: list[Value]) -> list[float]:
    for p in params:
        p.grad = 0.0
    loss_fn(params).backward()
    return [p.grad for p in params]


def compare_with_torch(
    torch: Any,
    ours: type[Optimizer],
    theirs: str,
    kwargs: dict[str, Any],
    steps: int = 20,
    new_lr_at: int | None = None,
    args: tuple[Any, ...] = (),
) -> None:
    """Step both optimizers with identical gradients; parameters must agree after every step.

    ``args`` go in positionally (after the parameters) to both, ``kwargs`` by name.
    """
    params = [Value(x) for x in START]
    opt = ours(params, *args, **kwargs)
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, theirs)([t], *args, **kwargs)
    for k in range(steps):
        if k == new_lr_at:
            opt.lr = opt.lr * 3
            topt.param_groups[0]["lr"] *= 3
        grads = fill_grads(params)
        opt.step()
        assert [p.grad for p in params] == grads, "step() must not change the gradients"
        t.grad = torch.tensor(grads, dtype=torch.float64)
        topt.step()
        expected = t.detach().tolist()
        got = [p.data for p in params]
        assert got == pytest.approx(expected, rel=REL, abs=REL), f"step {k + 1}"
        assert all(type(x) is float for x in got)


TORCH_CASES: list[tuple[type[Optimizer], str, dict[str, Any]]] = [
    (SGD, "SGD", {"lr": 0.05}),
    (SGD, "SGD", {"lr": 0.05, "weight_decay": 0.1}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (SGD, "SGD", {"lr": 0.02, "momentum": 0.5, "nesterov": True, "weight_decay": 0.2}),
    (RMSProp, "RMSprop", {}),
    (RMSProp, "RMSprop", {"lr": 0.02, "alpha": 0.9}),
    (RMSProp, "RMSprop", {"lr": 0.01, "centered": True}),
    (RMSProp, "RMSprop", {"lr": 0.01, "momentum": 0.9}),
    (RMSProp, "RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (RMSProp, "RMSprop", {"lr": 0.05, "eps": 1e-3, "alpha": 0.8, "weight_decay": 0.01}),
    (Adam, "Adam", {}),
    (Adam, "Adam", {"lr": 0.1, "betas": (0.8, 0.99)}),
    (Adam, "Adam", {"lr": 0.05, "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.2, "amsgrad": True}),
    (Adam, "Adam", {"lr": 0.1, "betas": (0.5, 0.9), "amsgrad": True, "weight_decay": 0.05}),
    (Adam, "Adam", {"lr": 0.05, "eps": 1e-2}),
    (AdamW, "AdamW", {}),
    (AdamW, "AdamW", {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True}),
    # lr = 0 is allowed, as in PyTorch: nothing moves (AdamW's decay is lr * weight_decay too).
    (SGD, "SGD", {"lr": 0.0, "momentum": 0.9, "weight_decay": 0.1}),
    (RMSProp, "RMSprop", {"lr": 0.0}),
    (Adam, "Adam", {"lr": 0.0}),
    (AdamW, "AdamW", {"lr": 0.0}),
]


@pytest.mark.torch
@pytest.mark.parametrize(
    ("ours", "theirs", "kwargs"),
    TORCH_CASES,
    ids=[
        f"{c[1]}-{'-'.join(f'{k}={v}' for k, v in c[2].items()) or 'defaults'}" for c in TORCH_CASES
    ],
)
def test_matches_torch(
    torch: Any, ours: type[Optimizer], theirs: str, kwargs: dict[str, Any]
) -> None:
    compare_with_torch(torch, ours, theirs, kwargs)


@pytest.mark.torch
@pytest.mark.parametrize(("ours", "theirs"), [(SGD, "SGD"), (RMSProp, "RMSprop"), (Adam, "Adam")])
def test_changing_lr_mid_run_matches_torch(torch: Any, ours: type[Optimizer], theirs: str) -> None:
    kwargs: dict[str, Any] = {"lr": 0.01, "momentum": 0.9} if ours is not Adam else {"lr": 0.01}
    compare_with_torch(torch, ours, theirs, kwargs, new_lr_at=7)


unit = st.floats(0.0, 1.0, allow_nan=False)


@pytest.mark.torch
@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(1e-4, 0.05),
    momentum=st.one_of(st.just(0.0), st.floats(0.0, 0.95)),
    dampening=st.one_of(st.just(0.0), st.floats(0.0, 0.5)),
    nesterov=st.booleans(),
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 0.1)),
)
def test_sgd_matches_torch_hypothesis(
    torch: Any, lr: float, momentum: float, dampening: float, nesterov: bool, weight_decay: float
) -> None:
    if nesterov and (momentum == 0 or dampening != 0):
        dampening = 0.0
        momentum = momentum or 0.5
    kwargs = {
        "lr": lr,
        "momentum": momentum,
        "dampening": dampening,
        "nesterov": nesterov,
        "weight_decay": weight_decay,
    }
    compare_with_torch(torch, SGD, "SGD", kwargs, steps=12)


@pytest.mark.torch
@settings(max_examples=40, deadline=None)
@given(
    lr=st.floats(1e-4, 0.05),
    alpha=st.floats(0.5, 0.999),
    eps=st.floats(1e-10, 1e-3),
    momentum=st.one_of(st.just(0.0), st.floats(0.0, 0.9)),
    centered=st.booleans(),
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 0.1)),
)
def test_rmsprop_matches_torch_hypothesis(
    torch: Any,
    lr: float,
    alpha: float,
    eps: float,
    momentum: float,
    centered: bool,
    weight_decay: float,
) -> None:
    kwargs = {
        "lr": lr,
        "alpha": alpha,
        "eps": eps,
        "momentum": momentum,
        "centered": centered,
        "weight_decay": weight_decay,
    }
    compare_with_torch(torch, RMSProp, "RMSprop", kwargs, steps=12)


@pytest.mark.torch
@settings(max_examples=40, deadline=None)
@given(
    decoupled=st.booleans(),
    lr=st.floats(1e-4, 0.2),
    beta1=st.floats(0.0, 0.95),
    beta2=st.floats(0.5, 0.9999),
    eps=st.floats(1e-10, 1e-3),
    weight_decay=st.one_of(st.just(0.0), st.floats(0.0, 0.2)),
    amsgrad=st.booleans(),
)
def test_adam_matches_torch_hypothesis(
    torch: Any,
    decoupled: bool,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    amsgrad: bool,
) -> None:
    kwargs = {
        "lr": lr,
        "betas": (beta1, beta2),
        "eps": eps,
        "weight_decay": weight_decay,
        "amsgrad": amsgrad,
    }
    ours, theirs = (AdamW, "AdamW") if decoupled else (Adam, "Adam")
    compare_with_torch(torch, ours, theirs, kwargs, steps=12)


# -- PyTorch's argument order, and the hyper-parameter table -----------------------------------

# Written from the torch.optim documentation (2.x), as an oracle that needs no torch installed.
TORCH_ORDER: dict[type[Optimizer], list[tuple[str, Any]]] = {
    SGD: [
        ("lr", 1e-3),
        ("momentum", 0),
        ("dampening", 0),
        ("weight_decay", 0),
        ("nesterov", False),
    ],
    RMSProp: [
        ("lr", 1e-2),
        ("alpha", 0.99),
        ("eps", 1e-8),
        ("weight_decay", 0),
        ("momentum", 0),
        ("centered", False),
    ],
    Adam: [
        ("lr", 1e-3),
        ("betas", (0.9, 0.999)),
        ("eps", 1e-8),
        ("weight_decay", 0),
        ("amsgrad", False),
    ],
    AdamW: [
        ("lr", 1e-3),
        ("betas", (0.9, 0.999)),
        ("eps", 1e-8),
        ("weight_decay", 1e-2),
        ("amsgrad", False),
    ],
}
TORCH_NAMES = {SGD: "SGD", RMSProp: "RMSprop", Adam: "Adam", AdamW: "AdamW"}


def positional(fn: Callable[..., object]) -> list[tuple[str, Any]]:
    """(name, default) of the positional arguments after ``self`` and ``params``."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    args = [p for p in inspect.signature(fn).parameters.values() if p.kind in kinds]
    assert [p.name for p in args[:2]] == ["self", "params"]
    return [(p.name, p.default) for p in args[2:]]


@pytest.mark.parametrize("cls", list(TORCH_ORDER))
def test_positional_order_and_defaults_are_pytorchs(cls: type[Optimizer]) -> None:
    assert positional(cls.__init__) == TORCH_ORDER[cls]
    assert [(h.name, h.default) for h in cls.hypers] == TORCH_ORDER[cls]


@pytest.mark.torch
@pytest.mark.parametrize("cls", list(TORCH_ORDER))
def test_positional_order_and_defaults_match_installed_torch(
    torch: Any, cls: type[Optimizer]
) -> None:
    ours = positional(cls.__init__)
    theirs = positional(getattr(torch.optim, TORCH_NAMES[cls]).__init__)
    assert ours == theirs[: len(ours)]
    # What torch takes positionally beyond ours are implementation switches, not update rules.
    switches = {"capturable", "foreach", "maximize", "differentiable", "fused"}
    assert {name for name, _ in theirs[len(ours) :]} <= switches


POSITIONAL_CASES: list[tuple[type[Optimizer], tuple[Any, ...]]] = [
    (SGD, (0.05, 0.9, 0.0, 0.01, True)),
    (SGD, (0.05, 0.8, 0.3, 0.02)),
    (RMSProp, (0.01, 0.9, 1e-6, 0.1, 0.5, True)),
    (Adam, (0.05, (0.8, 0.99), 1e-6, 0.1, True)),
    (AdamW, (0.05, (0.8, 0.99), 1e-6, 0.1, True)),
]


@pytest.mark.parametrize(("cls", "args"), POSITIONAL_CASES)
def test_positional_arguments_land_in_pytorchs_slots(
    cls: type[Optimizer], args: tuple[Any, ...]
) -> None:
    opt = cls([Value(1.0)], *args)
    names = [name for name, _ in TORCH_ORDER[cls]]
    expected = {name: default for name, default in TORCH_ORDER[cls]}
    expected.update(zip(names, args, strict=False))
    assert opt.hyperparameters() == expected


@pytest.mark.torch
@pytest.mark.parametrize(("cls", "args"), POSITIONAL_CASES)
def test_positional_arguments_match_torch(
    torch: Any, cls: type[Optimizer], args: tuple[Any, ...]
) -> None:
    t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    group = getattr(torch.optim, TORCH_NAMES[cls])([t], *args).param_groups[0]
    hyper = cls([Value(1.0)], *args).hyperparameters()
    assert hyper == {name: group[name] for name in hyper}
    compare_with_torch(torch, cls, TORCH_NAMES[cls], {}, steps=10, args=args)


@pytest.mark.parametrize("cls", list(TORCH_ORDER))
def test_the_table_drives_hyperparameters_state_dict_and_repr(cls: type[Optimizer]) -> None:
    names = [h.name for h in cls.hypers]
    opt = cls([Value(1.0), Value(2.0)])
    assert list(opt.hyperparameters()) == names
    assert opt.hyperparameters() == {h.name: h.default for h in cls.hypers}
    assert list(opt.state_dict()["hyperparameters"]) == names
    shown = repr(opt)
    positions = [shown.index(f"{name}=") for name in names]
    assert positions == sorted(positions)
    assert shown.endswith("params=2)")


def test_an_init_that_disagrees_with_its_table_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match=r"Swapped\.__init__: the arguments after params must be"):

        class Swapped(SGD):
            hypers: ClassVar[tuple[Hyper, ...]] = SGD.hypers

            def __init__(
                self,
                params: Iterable[Value],
                lr: float = 1e-3,
                dampening: float = 0.0,
                momentum: float = 0.0,
                weight_decay: float = 0.0,
                nesterov: bool = False,
            ) -> None:
                super().__init__(params, lr, momentum, dampening, weight_decay, nesterov)

    with pytest.raises(TypeError, match=r"OtherDefault\.__init__: .*\('lr', 0\.001\)"):

        class OtherDefault(Optimizer):
            hypers: ClassVar[tuple[Hyper, ...]] = (Hyper("lr", 1e-3, check.number),)

            def __init__(self, params: Iterable[Value], lr: float = 0.1) -> None:
                super().__init__(params, lr=lr)

            def _update(self) -> None:
                pass

    with pytest.raises(TypeError, match=r"NoLR\.hypers: expected distinct names including 'lr'"):

        class NoLR(Optimizer):
            hypers: ClassVar[tuple[Hyper, ...]] = (Hyper("eta", 1e-3, check.number),)

            def _update(self) -> None:
                pass


def test_a_subclass_that_keeps_the_table_may_have_any_init() -> None:
    class CountingSGD(SGD):
        def __init__(self, params: Iterable[Value], lr: float) -> None:
            super().__init__(params, lr=lr)
            self.calls = 0

    opt = CountingSGD([Value(1.0)], 0.5)
    assert opt.hyperparameters()["lr"] == 0.5
    assert opt.calls == 0


class SignMomentum(Optimizer):
    """A learner's optimizer: m <- beta m + (1 - beta) g; p <- p - lr sign(m)."""

    hypers: ClassVar[tuple[Hyper, ...]] = (
        Hyper("lr", 0.01, functools.partial(check.number, low=0.0)),
        Hyper("beta", 0.9, functools.partial(check.number, low=0.0, high=1.0, high_open=True)),
    )
    _state_names = ("exp_avg",)
    beta: float
    exp_avg: list[float]

    def _update(self) -> None:
        for i, p in enumerate(self.params):
            self.exp_avg[i] = self.beta * self.exp_avg[i] + (1 - self.beta) * p.grad
            p.data -= self.lr * ((self.exp_avg[i] > 0) - (self.exp_avg[i] < 0))


def test_a_learners_table_gives_checks_state_dict_and_repr() -> None:
    params = [Value(1.0), Value(-1.0)]
    opt = SignMomentum(params, beta=0.5)
    assert opt.hyperparameters() == {"lr": 0.01, "beta": 0.5}
    assert opt.exp_avg == [0.0, 0.0]
    assert repr(opt) == "SignMomentum(lr=0.01, beta=0.5, params=2)"
    params[0].grad, params[1].grad = 2.0, -4.0
    opt.step()
    assert opt.exp_avg == [1.0, -2.0]
    assert [p.data for p in params] == [0.99, -0.99]
    fresh = SignMomentum([Value(0.99), Value(-0.99)], lr=0.3)
    fresh.load_state_dict(json.loads(json.dumps(opt.state_dict())))
    assert fresh.hyperparameters() == opt.hyperparameters()
    assert fresh.exp_avg == [1.0, -2.0]
    assert fresh.step_count == 1
    with pytest.raises(ValueError, match=r"beta: expected a number in \[0, 1\), got 1\.0"):
        SignMomentum(params, beta=1)
    with pytest.raises(TypeError, match=r"SignMomentum: unexpected hyper-parameters \['betas'\]"):
        SignMomentum(params, betas=0.5)


def test_the_base_constructor_takes_the_table_order_positionally() -> None:
    params = [Value(1.0)]
    assert SignMomentum(params, 0.2, 0.5).hyperparameters() == {"lr": 0.2, "beta": 0.5}
    assert SignMomentum(params, 0.2).hyperparameters() == {"lr": 0.2, "beta": 0.9}
    with pytest.raises(TypeError, match=r"at most 2 hyper-parameters after params \(lr, beta\)"):
        SignMomentum(params, 0.2, 0.5, 0.1)
    with pytest.raises(TypeError, match=r"hyper-parameters \['lr'\] given by position and by"):
        SignMomentum(params, 0.2, lr=0.3)


@pytest.mark.parametrize("cls", list(TORCH_ORDER))
def test_lr_zero_is_accepted_and_freezes_the_parameters(cls: type[Optimizer]) -> None:
    params = [Value(x) for x in START]
    opt = cls(params, lr=0)
    assert opt.lr == 0.0
    assert type(opt.lr) is float
    for _ in range(3):
        fill_grads(params)
        opt.step()
    assert [p.data for p in params] == list(START)
    opt.lr = 0.1
    fill_grads(params)
    opt.step()
    assert [p.data for p in params] != list(START)
    opt.lr = 0
    assert opt.lr == 0.0


# -- closed forms (no torch needed) ------------------------------------------------------------


def test_gradient_descent_on_a_parabola_follows_the_closed_form() -> None:
    lr, w0 = 0.1, 0.0
    w = Value(w0)
    opt = SGD([w], lr=lr)
    expected = w0
    for k in range(1, 31):
        opt.zero_grad()
        ((w - 3) ** 2).backward()
        opt.step()
        expected = expected - lr * 2 * (expected - 3)
        assert w.data == pytest.approx(expected, rel=1e-14)
        assert w.data == pytest.approx(3 + (1 - 2 * lr) ** k * (w0 - 3), rel=1e-13)


def test_gd_and_sgd_names_are_the_same_update() -> None:
    a, b = Value(1.0), Value(1.0)
    opts = [get_optimizer("gd", [a], lr=0.3), get_optimizer("sgd", [b], lr=0.3)]
    for v, opt in zip((a, b), opts, strict=True):
        v.grad = 2.0
        opt.step()
    assert a.data == b.data == pytest.approx(1.0 - 0.3 * 2.0, rel=1e-15)


def test_heavy_ball_momentum_by_hand() -> None:
    # f(w) = w^2 / 2 has g = w: v1 = g0, then v <- mu v + g, w <- w - lr v.
    lr, mu = 0.1, 0.9
    w = Value(1.0)
    opt = SGD([w], lr=lr, momentum=mu)
    x, v = 1.0, None
    for _ in range(10):
        w.grad = w.data
        opt.step()
        g = x
        v = g if v is None else mu * v + g
        x = x - lr * v
        assert w.data == pytest.approx(x, rel=1e-14)


@pytest.mark.parametrize("g", [3.0, -0.02, 150.0])
def test_adam_first_step_has_size_lr(g: float) -> None:
    # m-hat = g and v-hat = g^2 after one step, so p1 = p0 - lr g / (|g| + eps).
    w = Value(0.5)
    opt = Adam([w], lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    w.grad = g
    opt.step()
    assert w.data == pytest.approx(0.5 - 0.01 * g / (abs(g) + 1e-8), rel=1e-14)


def test_rmsprop_first_step_closed_form() -> None:
    # s1 = (1 - alpha) g^2, so p1 = p0 - lr g / (sqrt(1 - alpha) |g| + eps).
    w = Value(0.5)
    opt = RMSProp([w], lr=0.01, alpha=0.9, eps=1e-6)
    w.grad = -4.0
    opt.step()
    assert w.data == pytest.approx(0.5 + 0.01 * 4.0 / (math.sqrt(0.1) * 4.0 + 1e-6), rel=1e-14)


def test_centered_rmsprop_survives_rounding_with_a_constant_gradient() -> None:
    # s - m^2 is exactly 0 in theory here; rounding made it -1.8e-15, and math.sqrt raised.
    w = Value(0.0)
    opt = RMSProp([w], lr=0.01, alpha=0.1, centered=True)
    for _ in range(30):
        w.grad = 2.9235552061980776
        opt.step()
    assert math.isfinite(w.data)
    assert min(s - m * m for s, m in zip(opt.square_avg, opt.grad_avg, strict=True)) < 0


def test_adamw_decays_weights_with_zero_gradient() -> None:
    w = Value(2.0)
    opt = AdamW([w], lr=0.1, weight_decay=0.5)
    for k in range(1, 6):
        opt.step()
        assert w.data == pytest.approx(2.0 * 0.95**k, rel=1e-14)


def test_rmsprop_alias() -> None:
    assert RMSprop is RMSProp


# -- the optimizer protocol ---------------------------------------------------------------------


def make_all(params: list[Value]) -> list[Optimizer]:
    return [
        SGD(params, lr=0.1),
        SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        RMSProp(params, lr=0.01, momentum=0.5, centered=True),
        Adam(params, lr=0.01, amsgrad=True, weight_decay=0.1),
        AdamW(params, lr=0.01),
    ]


def test_zero_grad_sets_float_zero() -> None:
    params = [Value(x) for x in START]
    for opt in make_all(params):
        fill_grads(params)
        assert any(p.grad != 0 for p in params)
        opt.zero_grad()
        assert all(p.grad == 0.0 and type(p.grad) is float for p in params)


def test_step_updates_data_in_place_and_keeps_leaves() -> None:
    params = [Value(x) for x in START]
    ids = [id(p) for p in params]
    opt = Adam(params, lr=0.1)
    fill_grads(params)
    opt.step()
    assert [id(p) for p in opt.params] == ids
    assert all(p.is_leaf and p._prev == () for p in params)
    assert [p.data for p in params] != list(START)


def test_accepts_any_iterable_of_values() -> None:
    params = [Value(x) for x in START]
    opt = SGD((p for p in params), lr=0.1)
    assert opt.params == params
    assert SGD(tuple(params), lr=0.1).params == params


def test_step_calls_closure_and_returns_its_loss() -> None:
    params = [Value(x) for x in START]
    opt = SGD(params, lr=0.1)

    def closure() -> Value:
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss

    expected = loss_fn([Value(x) for x in START]).data
    assert opt.step(closure) == expected
    assert opt.step() is None


def test_lr_is_mutable_and_used_by_the_next_step() -> None:
    w = Value(1.0)
    opt = SGD([w], lr=0.1)
    opt.lr = 0.5
    w.grad = 2.0
    opt.step()
    assert w.data == 0.0
    assert opt.lr == 0.5


@pytest.mark.parametrize(
    ("opt", "text"),
    [
        (
            lambda ps: SGD(ps, lr=0.1, momentum=0.9),
            "SGD(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=False, params=3)",
        ),
        (
            lambda ps: RMSProp(ps),
            "RMSProp(lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0.0, momentum=0.0, "
            "centered=False, params=3)",
        ),
        (
            lambda ps: Adam(ps),
            "Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.0, amsgrad=False, "
            "params=3)",
        ),
        (
            lambda ps: AdamW(ps),
            "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
            "params=3)",
        ),
    ],
)
def test_repr_shows_hyperparameters(opt: Callable[[list[Value]], Optimizer], text: str) -> None:
    assert repr(opt([Value(x) for x in START])) == text


# -- state dicts ---------------------------------------------------------------------------------

RESUME_CASES: list[tuple[type[Optimizer], dict[str, Any]]] = [
    (SGD, {"lr": 0.05}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    (SGD, {"lr": 0.05, "momentum": 0.7, "dampening": 0.2}),
    (RMSProp, {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (Adam, {"lr": 0.05, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.01}),
    (AdamW, {"lr": 0.05}),
]


@pytest.mark.parametrize(("cls", "kwargs"), RESUME_CASES)
@pytest.mark.parametrize("stop_at", [0, 1, 8])
def test_state_dict_round_trip_resumes_identically(
    cls: type[Optimizer], kwargs: dict[str, Any], stop_at: int
) -> None:
    total = 15
    straight = [Value(x) for x in START]
    opt = cls(straight, **kwargs)
    for _ in range(total):
        fill_grads(straight)
        opt.step()

    first = [Value(x) for x in START]
    opt1 = cls(first, **kwargs)
    for _ in range(stop_at):
        fill_grads(first)
        opt1.step()
    saved = json.loads(json.dumps(opt1.state_dict()))
    resumed = [Value(p.data) for p in first]
    # A fresh optimizer with other settings: load_state_dict must restore them.
    opt2 = cls(resumed, lr=0.5)
    opt2.load_state_dict(saved)
    assert opt2.hyperparameters() == opt1.hyperparameters()
    for _ in range(total - stop_at):
        fill_grads(resumed)
        opt2.step()
    assert [p.data for p in resumed] == [p.data for p in straight]
    assert opt2.step_count == total


def test_state_dict_is_a_copy() -> None:
    params = [Value(x) for x in START]
    opt = Adam(params, lr=0.1)
    fill_grads(params)
    opt.step()
    sd = opt.state_dict()
    sd["state"]["exp_avg"][0] = 123.0
    assert opt.exp_avg[0] != 123.0
    fresh = Adam([Value(x) for x in START])
    fresh.load_state_dict(sd)
    sd["state"]["exp_avg"][0] = 7.0
    assert fresh.exp_avg[0] == 123.0


def test_state_lists_are_aligned_with_params() -> None:
    params = [Value(x) for x in START]
    opt = RMSProp(params, lr=0.01)
    grads = fill_grads(params)
    opt.step()
    assert opt.square_avg == pytest.approx([(1 - 0.99) * g * g for g in grads], rel=1e-14)


# -- gradient clipping ---------------------------------------------------------------------------


def values_with_grads(grads: list[float]) -> list[Value]:
    out = [Value(0.0) for _ in grads]
    for v, g in zip(out, grads, strict=True):
        v.grad = g
    return out


@pytest.mark.torch
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_matches_torch(torch: Any, norm_type: float, max_norm: float) -> None:
    rng = random.Random(0)
    grads = [rng.uniform(-2, 2) for _ in range(7)]
    params = values_with_grads(grads)
    tensors = [torch.zeros((), dtype=torch.float64, requires_grad=True) for _ in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g, dtype=torch.float64)
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(tensors, max_norm, norm_type=norm_type)
    assert type(total) is float
    assert total == pytest.approx(float(expected), rel=REL)
    assert [p.grad for p in params] == pytest.approx([t.grad.item() for t in tensors], rel=REL)
    if max_norm == 1e6:
        assert [p.grad for p in params] == grads


@pytest.mark.torch
def test_clip_grad_norm_nonfinite_matches_torch(torch: Any) -> None:
    grads = [1.0, math.inf, -2.0]
    params = values_with_grads(grads)
    tensors = [torch.tensor(0.0, dtype=torch.float64, requires_grad=True) for _ in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g, dtype=torch.float64)
    total = clip_grad_norm_(params, 1.0)
    expected = torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    assert total == float(expected) == math.inf
    got = [p.grad for p in params]
    want = [t.grad.item() for t in tensors]
    assert [math.isnan(x) for x in got] == [math.isnan(x) for x in want]
    assert [x for x in got if not math.isnan(x)] == [x for x in want if not math.isnan(x)]
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(values_with_grads(grads), 1.0, error_if_nonfinite=True)


def test_clip_coefficient_is_the_factor_clip_grad_norm_applies() -> None:
    for grads, max_norm in (([3.0, 4.0], 1.0), ([0.3, 0.4], 1.0), ([math.nan, 1.0], 1.0)):
        vs = [Value(0.0) for _ in grads]
        for v, g in zip(vs, grads, strict=True):
            v.grad = g
        total = clip_grad_norm_(vs, max_norm)
        coef = clip_coefficient(total, max_norm)
        for v, g in zip(vs, grads, strict=True):
            assert same_float(v.grad, g * coef), (grads, coef)
    assert clip_coefficient(5.0, 1.0) == 1.0 / (5.0 + 1e-6)  # PyTorch's formula
    assert clip_coefficient(0.5, 1.0) == 1.0  # short enough: kept
    assert math.isnan(clip_coefficient(math.nan, 1.0))  # scaled to nan, as PyTorch


def test_clip_grad_norm_closed_form_and_edge_cases() -> None:
    a, b = values_with_grads([3.0, 4.0])
    assert clip_grad_norm_([a, b], 2.5) == 5.0
    scale = 2.5 / (5.0 + 1e-6)
    assert (a.grad, b.grad) == pytest.approx((3.0 * scale, 4.0 * scale), rel=1e-15)
    single = values_with_grads([-7.0])[0]
    assert clip_grad_norm_(single, 1.0) == 7.0
    assert single.grad == pytest.approx(-7.0 / (7.0 + 1e-6), rel=1e-15)
    assert clip_grad_norm_([], 1.0) == 0.0


@pytest.mark.torch
def test_clip_grad_value_matches_torch(torch: Any) -> None:
    grads = [-3.0, -0.5, 0.0, 0.7, 9.0]
    params = values_with_grads(grads)
    tensors = [torch.tensor(0.0, dtype=torch.float64, requires_grad=True) for _ in grads]
    for t, g in zip(tensors, grads, strict=True):
        t.grad = torch.tensor(g, dtype=torch.float64)
    clip_grad_value_(params, 0.6)
    torch.nn.utils.clip_grad_value_(tensors, 0.6)
    assert [p.grad for p in params] == [t.grad.item() for t in tensors]


def test_clip_grad_value_closed_form() -> None:
    params = values_with_grads([-3.0, -0.5, 0.7, math.nan])
    clip_grad_value_(params, 0.6)
    assert [p.grad for p in params[:3]] == [-0.6, -0.5, 0.6]
    assert math.isnan(params[3].grad)


# -- get_optimizer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "cls", "settings_"),
    [
        ("gd", SGD, {"momentum": 0.0}),
        ("sgd", SGD, {"momentum": 0.0}),
        ("SGD", SGD, {"momentum": 0.0}),
        ("momentum", SGD, {"momentum": 0.9}),
        ("rmsprop", RMSProp, {"alpha": 0.99}),
        ("adam", Adam, {"betas": (0.9, 0.999), "weight_decay": 0.0}),
        ("adamw", AdamW, {"weight_decay": 0.01}),
    ],
)
def test_get_optimizer(name: str, cls: type[Optimizer], settings_: dict[str, Any]) -> None:
    opt = get_optimizer(name, [Value(1.0)], lr=0.25)
    assert type(opt) is cls
    assert opt.lr == 0.25
    hyper = opt.hyperparameters()
    assert {k: hyper[k] for k in settings_} == settings_


def test_get_optimizer_momentum_can_be_overridden() -> None:
    opt = get_optimizer("momentum", [Value(1.0)], lr=0.1, momentum=0.5, nesterov=True)
    assert isinstance(opt, SGD)
    assert (opt.momentum, opt.nesterov) == (0.5, True)


def test_get_optimizer_unknown_name_lists_the_names() -> None:
    with pytest.raises(ValueError, match=r"optimizer: expected one of .*, got 'AdaGrad'") as info:
        get_optimizer("AdaGrad", [Value(1.0)])
    for name in ("sgd", "gd", "momentum", "rmsprop", "adam"):
        assert repr(name) in str(info.value)
    assert set(OPTIMIZERS) >= {"sgd", "gd", "momentum", "rmsprop", "adam"}
    with pytest.raises(TypeError, match=r"optimizer: expected a name \(gd, sgd, .*\), got ABCMeta"):
        get_optimizer(SGD, [Value(1.0)])  # type: ignore[arg-type]


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SGD, RMSProp, Adam, AdamW])
def test_bad_params(cls: type[Optimizer]) -> None:
    w = Value(1.0)
    with pytest.raises(TypeError, match="single Value"):
        cls(w)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected at least 1 Value, got 0"):
        cls([])
    with pytest.raises(TypeError, match=r"expected a Value at params\[1\], got float"):
        cls([w, 2.0])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not named_parameters"):
        cls([("w", w)])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"params\[1\] is the same Value as params\[0\]"):
        cls([w, w])
    with pytest.raises(ValueError, match="computed by op 'mul'"):
        cls([w * 2])
    with pytest.raises(TypeError, match="got int"):
        cls(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got dict"):
        cls({"w": w})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda ps: SGD(ps, lr=-0.1), ValueError, "lr: expected a number >= 0, got -0.1"),
        (lambda ps: SGD(ps, lr=math.nan), ValueError, "lr: expected a number >= 0, got nan"),
        (lambda ps: SGD(ps, lr=math.inf), ValueError, "lr: expected a number >= 0, got inf"),
        (lambda ps: SGD(ps, lr="0.1"), TypeError, "lr: expected a number >= 0, got str '0.1'"),
        (lambda ps: SGD(ps, lr=True), TypeError, "lr: expected a number >= 0, got bool True"),
        (lambda ps: SGD(ps, momentum=-0.5), ValueError, "momentum: .*got -0.5"),
        (lambda ps: SGD(ps, dampening=1.5), ValueError, r"dampening: .*\[0, 1\], got 1.5"),
        (lambda ps: SGD(ps, weight_decay=-1), ValueError, "weight_decay: .*got -1.0"),
        (lambda ps: SGD(ps, nesterov=True), ValueError, "Nesterov .*got momentum=0.0"),
        (
            lambda ps: SGD(ps, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "dampening=0.1",
        ),
        (lambda ps: SGD(ps, nesterov=1), TypeError, "nesterov: expected True or False, got int"),
        (lambda ps: RMSProp(ps, alpha=-0.1), ValueError, "alpha: .*got -0.1"),
        (lambda ps: RMSProp(ps, eps=-1e-8), ValueError, "eps: .*got -1e-08"),
        (lambda ps: RMSProp(ps, momentum=-1), ValueError, "momentum: .*got -1.0"),
        (lambda ps: RMSProp(ps, centered="yes"), TypeError, "centered: .*got str"),
        (lambda ps: RMSProp(ps, lr=-1), ValueError, "lr: .*got -1.0"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), ValueError, r"betas\[0\]: .*\[0, 1\), got 1.0"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), ValueError, r"betas\[1\]: .*got -0.1"),
        (lambda ps: Adam(ps, betas=(0.9,)), ValueError, "betas: expected a pair .*got 1 values"),
        (lambda ps: Adam(ps, betas=0.9), TypeError, "betas: expected a pair .*got float 0.9"),
        (lambda ps: Adam(ps, betas="ab"), TypeError, "betas: expected a pair .*got str 'ab'"),
        (lambda ps: Adam(ps, eps=-1.0), ValueError, "eps: .*got -1.0"),
        (lambda ps: Adam(ps, weight_decay=-0.1), ValueError, "weight_decay: .*got -0.1"),
        (lambda ps: Adam(ps, amsgrad=None), TypeError, "amsgrad: .*got NoneType"),
        (lambda ps: AdamW(ps, lr=-0.001), ValueError, "lr: .*got -0.001"),
    ],
)
def test_bad_hyperparameters(
    make: Callable[[list[Value]], Optimizer], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        make([Value(1.0)])


def test_bad_lr_assignment_keeps_the_old_lr() -> None:
    opt = Adam([Value(1.0)], lr=0.1)
    with pytest.raises(ValueError, match=r"lr: expected a number >= 0, got -2\.0"):
        opt.lr = -2.0
    assert opt.lr == 0.1


def test_a_bad_state_dict_changes_nothing() -> None:
    params = [Value(x) for x in START]
    source = SGD(params, lr=0.1, momentum=0.9)
    fill_grads(params)
    source.step()
    sd = json.loads(json.dumps(source.state_dict()))
    target = SGD(params, lr=0.5)
    before = (target.hyperparameters(), target.step_count, target.momentum_buffer)
    bad_state = json.loads(json.dumps(sd))
    bad_state["state"]["momentum_buffer"][1] = "x"
    with pytest.raises(TypeError, match=r"state\['momentum_buffer'\]\[1\]: .*got str 'x'"):
        target.load_state_dict(bad_state)
    bad_combination = json.loads(json.dumps(sd))
    bad_combination["hyperparameters"].update(momentum=0.0, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires momentum > 0"):
        target.load_state_dict(bad_combination)
    bad_steps = {**sd, "step_count": 1.0}
    with pytest.raises(TypeError, match="step_count: expected an integer >= 0, got float"):
        target.load_state_dict(bad_steps)
    assert (target.hyperparameters(), target.step_count, target.momentum_buffer) == before
    target.load_state_dict(sd)
    assert target.hyperparameters() == source.hyperparameters()
    assert target.momentum_buffer == source.momentum_buffer


def test_bad_state_dicts() -> None:
    params = [Value(x) for x in START]
    sd = Adam(params).state_dict()
    with pytest.raises(ValueError, match="expected a SGD state, got 'Adam'"):
        SGD(params).load_state_dict(sd)
    with pytest.raises(ValueError, match="expected a state for 2 parameters, got 3"):
        Adam(params[:2]).load_state_dict(sd)
    broken = json.loads(json.dumps(sd))
    broken["state"]["exp_avg"] = [0.0]
    with pytest.raises(ValueError, match=r"state\['exp_avg'\]: expected a list of 3 numbers"):
        Adam(params).load_state_dict(broken)
    broken = json.loads(json.dumps(sd))
    del broken["step_count"]
    with pytest.raises(ValueError, match=r"missing keys \['step_count'\]"):
        Adam(params).load_state_dict(broken)
    broken = json.loads(json.dumps(sd))
    broken["hyperparameters"]["lr"] = -1.0
    target = Adam(params, lr=0.5)
    with pytest.raises(ValueError, match=r"lr: .*got -1\.0"):
        target.load_state_dict(broken)
    assert target.lr == 0.5
    with pytest.raises(TypeError, match="expected a dict, got list"):
        Adam(params).load_state_dict([])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda ps: clip_grad_norm_(ps, -1.0), ValueError, "max_norm: .*got -1.0"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=0), ValueError, "norm_type: .*got 0.0"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type=-2), ValueError, "norm_type: .*got -2.0"),
        (lambda ps: clip_grad_norm_(ps, 1.0, norm_type="2"), TypeError, "norm_type: .*'2'"),
        (lambda ps: clip_grad_norm_([1.0], 1.0), TypeError, r"params\[0\], got float"),
        (lambda ps: clip_grad_norm_(ps, "1"), TypeError, "max_norm: .*got str"),
        (lambda ps: clip_grad_value_(ps, -0.5), ValueError, "clip_value: .*got -0.5"),
        (lambda ps: clip_grad_value_(5, 1.0), TypeError, "got int"),
    ],
)
def test_bad_clipping_arguments(
    call: Callable[[list[Value]], object], error: type[Exception], message: str
) -> None:
    params = values_with_grads([1.0, -2.0])
    with pytest.raises(error, match=message):
        call(params)
    assert [p.grad for p in params] == [1.0, -2.0]
