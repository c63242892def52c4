"""The lean compiled fit: optimizers' vector rules and ``fit(compiled=True)`` on one vector.

Oracles: each optimizer's scalar rule (the vector rule must give the same floats, bit for bit),
``torch.optim`` and ``torch.nn.utils.clip_grad_norm_`` in float64, and the eager ``fit`` (a
Value graph per batch and the scalar optimizer), which the compiled fit must reproduce within
float rounding in everything a learner can observe.
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from microgradnn import Value
from microgradnn.data import make_moons, to_pm1
from microgradnn.nn import MLP
from microgradnn.optim import (
    SGD,
    Adam,
    AdamW,
    LinearLR,
    Optimizer,
    RMSProp,
    StepLR,
    VectorStep,
    clip_grad_norm_,
)
from microgradnn.train import Callback, EarlyStopping, fit

# (class, torch.optim name, hyper-parameters): every branch of every vector rule.
CASES: list[tuple[type[Optimizer], str, dict[str, Any]]] = [
    (SGD, "SGD", {"lr": 0.1}),
    (SGD, "SGD", {"lr": 0.05, "weight_decay": 0.1}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    (SGD, "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.2}),
    (RMSProp, "RMSprop", {"lr": 0.01}),
    (RMSProp, "RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    (RMSProp, "RMSprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}),
    (RMSProp, "RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "eps": 1e-3}),
    (Adam, "Adam", {"lr": 0.05}),
    (Adam, "Adam", {"lr": 0.05, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    (Adam, "Adam", {"lr": 0.1, "amsgrad": True}),
    (Adam, "Adam", {"lr": 0.1, "betas": (0.5, 0.9), "amsgrad": True, "weight_decay": 0.05}),
    (AdamW, "AdamW", {"lr": 0.05}),
    (AdamW, "AdamW", {"lr": 0.1, "weight_decay": 0.3, "amsgrad": True}),
]
IDS = [f"{cls.__name__}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for cls, _, kw in CASES]
N, STEPS = 7, 12


def gradient_sequence(seed: int) -> list[list[float]]:
    """Gradients of mixed signs and sizes (1e-4 to 10), some exact zeros, and a repeat."""
    rng = np.random.default_rng(seed)
    grads = rng.normal(size=(STEPS, N)) * 10.0 ** rng.integers(-4, 2, size=(STEPS, N))
    grads[3, 2] = 0.0
    grads[:, 5] = grads[0, 5]  # a constant gradient: centered RMSProp's s - m^2 cancels
    return grads.tolist()


START = np.random.default_rng(99).normal(size=N).tolist()


def run_scalar(cls: type[Optimizer], kwargs: dict[str, Any], new_lr_at: int) -> Any:
    params = [Value(x) for x in START]
    opt = cls(params, **kwargs)
    trail = []
    for k, g in enumerate(gradient_sequence(1)):
        if k == new_lr_at:
            opt.lr = opt.lr * 0.5
        for p, gi in zip(params, g, strict=True):
            p.grad = gi
        opt.step()
        trail.append([p.data for p in params])
    return trail, opt.state_dict()


def run_vector(cls: type[Optimizer], kwargs: dict[str, Any], new_lr_at: int) -> Any:
    opt = cls([Value(x) for x in START], **kwargs)
    vec = opt.vectorized()
    data = np.array(START)
    trail = []
    for k, g in enumerate(gradient_sequence(1)):
        if k == new_lr_at:
            opt.lr = opt.lr * 0.5
        grad = np.array(g)
        vec.step(data, grad)
        assert grad.tolist() == g, "the vector rule must not change the gradients"
        trail.append(data.tolist())
    vec.sync()
    return trail, opt.state_dict()


# -- each vector rule against its scalar rule and against torch.optim ------------------------


@pytest.mark.parametrize(("cls", "theirs", "kwargs"), CASES, ids=IDS)
def test_vector_rule_gives_the_scalar_rules_floats(
    cls: type[Optimizer], theirs: str, kwargs: dict[str, Any]
) -> None:
    scalar_trail, scalar_state = run_scalar(cls, kwargs, new_lr_at=7)
    vector_trail, vector_state = run_vector(cls, kwargs, new_lr_at=7)
    assert vector_trail == scalar_trail  # bit for bit: the same operations in the same order
    assert vector_state == scalar_state


@pytest.mark.torch
@pytest.mark.parametrize(("cls", "theirs", "kwargs"), CASES, ids=IDS)
def test_vector_rule_matches_torch_optim(
    cls: type[Optimizer], theirs: str, kwargs: dict[str, Any]
) -> None:
    torch = pytest.importorskip("torch")
    vector_trail, _ = run_vector(cls, kwargs, new_lr_at=7)
    t = torch.tensor(START, dtype=torch.float64, requires_grad=True)
    topt = getattr(torch.optim, theirs)([t], **kwargs)
    for k, g in enumerate(gradient_sequence(1)):
        if k == 7:
            topt.param_groups[0]["lr"] *= 0.5
        t.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
        np.testing.assert_allclose(
            vector_trail[k], t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"step {k + 1}"
        )


def test_a_state_saved_by_the_vector_rule_resumes_the_scalar_rule() -> None:
    kwargs = {"lr": 0.05, "betas": (0.8, 0.99), "amsgrad": True}
    scalar_trail, _ = run_scalar(Adam, kwargs, new_lr_at=-1)
    params = [Value(x) for x in START]
    opt = Adam(params, **kwargs)
    vec = opt.vectorized()
    data = np.array(START)
    grads = gradient_sequence(1)
    for g in grads[:6]:
        vec.step(data, np.array(g))
    vec.sync()
    for p, d in zip(params, data.tolist(), strict=True):
        p.data = d
    for g in grads[6:]:
        for p, gi in zip(params, g, strict=True):
            p.grad = gi
        opt.step()
    assert [p.data for p in params] == scalar_trail[-1]


def test_load_reads_state_lists_changed_outside() -> None:
    opt = SGD([Value(0.0), Value(0.0)], lr=1.0, momentum=0.5)
    vec = opt.vectorized()
    data = np.zeros(2)
    vec.step(data, np.array([1.0, 2.0]))  # buffer = g
    vec.sync()
    opt.momentum_buffer = [10.0, 20.0]
    vec.load()
    vec.step(data, np.array([0.0, 0.0]))  # buffer = 0.5 * buffer; data -= buffer
    assert data.tolist() == [-1.0 - 5.0, -2.0 - 10.0]


def test_sync_keeps_the_state_lists_it_was_given() -> None:
    opt = RMSProp([Value(1.0), Value(2.0)], lr=0.1)
    held = opt.square_avg
    vec = opt.vectorized()
    vec.step(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    vec.sync()
    assert opt.square_avg is held
    assert held == [(1 - 0.99) * 3.0 * 3.0, (1 - 0.99) * 4.0 * 4.0]


@pytest.mark.parametrize("cls", [RMSProp, Adam])
def test_eps_zero_and_no_gradient_history_divides_by_zero_in_both_rules(
    cls: type[Optimizer],
) -> None:
    params = [Value(1.0), Value(2.0)]
    opt = cls(params, lr=0.1, eps=0.0)
    with pytest.raises(ZeroDivisionError):
        opt.step()  # every grad is 0.0: sqrt(s) = 0 in the denominator
    opt = cls([Value(1.0), Value(2.0)], lr=0.1, eps=0.0)
    with pytest.raises(ZeroDivisionError, match="eps=0"):
        opt.vectorized().step(np.array([1.0, 2.0]), np.array([0.0, 1.0]))


# -- which optimizers have a vector rule -------------------------------------------------------


class SignGD(Optimizer):
    def _update(self) -> None:
        for p in self.params:
            p.data -= self.lr * ((p.grad > 0) - (p.grad < 0))


class ClippedSGD(SGD):
    """Overrides the scalar rule but inherits SGD's vector rule, which would be wrong here."""

    def _update(self) -> None:
        for p in self.params:
            p.data = p.data - self.lr * max(min(p.grad, 0.1), -0.1)


class LoggingSGD(SGD):
    steps_seen = 0

    def step(self, closure: Any = None) -> float | None:
        type(self).steps_seen += 1
        return super().step(closure)


class MySGD(SGD):
    """A subclass that changes nothing in the rule keeps the vector rule."""


def test_which_optimizers_have_a_vector_rule() -> None:
    for cls in (SGD, RMSProp, Adam, AdamW, MySGD):
        assert cls.has_vector_rule(), cls
    for cls in (SignGD, ClippedSGD, LoggingSGD):
        assert not cls.has_vector_rule(), cls
        with pytest.raises(TypeError, match="has no vector rule"):
            cls([Value(1.0)], lr=0.1).vectorized()


def test_vector_step_refuses_vectors_of_the_wrong_shape_or_type() -> None:
    vec = SGD([Value(1.0), Value(2.0)], lr=0.1).vectorized()
    good = np.zeros(2)
    with pytest.raises(
        ValueError, match=r"data: expected a float64 vector of 2 numbers, got shape"
    ):
        vec.step(np.zeros(3), good)
    with pytest.raises(ValueError, match="grad: expected a float64 vector of 2 numbers, got list"):
        vec.step(good, [0.0, 0.0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dtype int64"):
        vec.step(np.zeros(2, dtype=np.int64), good)  # type: ignore[arg-type]
    frozen = np.zeros(2)
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="writable"):
        vec.step(frozen, good)
    with pytest.raises(TypeError, match="has no vector rule"):
        VectorStep(SignGD([Value(1.0)], lr=0.1))


# -- clip_grad_norm_ on a vector -----------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_of_a_vector_gives_the_values_floats(
    norm_type: float, max_norm: float
) -> None:
    grads = np.random.default_rng(5).normal(size=40) * 3
    values = [Value(0.0) for _ in grads]
    for v, g in zip(values, grads.tolist(), strict=True):
        v.grad = g
    vector = grads.copy()
    total_values = clip_grad_norm_(values, max_norm, norm_type)
    total_vector = clip_grad_norm_(vector, max_norm, norm_type)
    assert total_vector == total_values
    assert vector.tolist() == [v.grad for v in values]
    assert (vector.tolist() == grads.tolist()) == (max_norm == 1e6)


@pytest.mark.torch
def test_clip_grad_norm_of_a_vector_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    grads = np.random.default_rng(6).normal(size=30) * 2
    t = torch.zeros(30, dtype=torch.float64, requires_grad=True)
    t.grad = torch.tensor(grads)
    expected = torch.nn.utils.clip_grad_norm_([t], 1.5)
    vector = grads.copy()
    assert clip_grad_norm_(vector, 1.5) == pytest.approx(float(expected), rel=1e-14)
    np.testing.assert_allclose(vector, t.grad.numpy(), rtol=1e-14)


def test_clip_grad_norm_refuses_an_array_it_cannot_clip_in_place() -> None:
    with pytest.raises(ValueError, match=r"shape \(2, 2\), dtype float64"):
        clip_grad_norm_(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="dtype float32"):
        clip_grad_norm_(np.zeros(3, dtype=np.float32), 1.0)


# -- fit(compiled=True) against the eager fit ------------------------------------------------------

FIT_OPTIMIZERS: list[Callable[[list[Value]], Optimizer]] = [
    lambda ps: SGD(ps, lr=0.3),
    lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda ps: RMSProp(ps, lr=0.01, momentum=0.5, centered=True),
    lambda ps: Adam(ps, lr=0.05, amsgrad=True, weight_decay=1e-3),
    lambda ps: AdamW(ps, lr=0.05),
]
FIT_IDS = ["sgd", "nesterov", "rmsprop-centered", "adam-amsgrad", "adamw"]


def moons() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_moons(n=30, noise=0.15, seed=2)
    return X, to_pm1(y)


def train(
    compiled: bool,
    make_opt: Callable[[list[Value]], Optimizer],
    epochs: int = 4,
    model: MLP | None = None,
    **kwargs: Any,
) -> tuple[Any, MLP, Optimizer]:
    X, y = moons()
    model = model or MLP(2, [6, 5, 1], activation="tanh", seed=4)
    opt = make_opt(model.parameters())
    settings: dict[str, Any] = {"loss": "hinge", "batch_size": 8, "l2": 1e-3}
    history = fit(
        model,
        X,
        y,
        optimizer=opt,
        epochs=epochs,
        compiled=compiled,
        progress=False,
        **(settings | kwargs),
    )
    return history, model, opt


def assert_close_states(got: dict[str, Any], want: dict[str, Any], rtol: float) -> None:
    assert got.keys() == want.keys()
    assert got["step_count"] == want["step_count"]
    assert got["hyperparameters"] == want["hyperparameters"]
    for name, values in want["state"].items():
        if values is None:
            assert got["state"][name] is None, name
        else:
            np.testing.assert_allclose(got["state"][name], values, rtol=rtol, atol=1e-13)


@pytest.mark.parametrize("make_opt", FIT_OPTIMIZERS, ids=FIT_IDS)
def test_compiled_fit_leaves_what_the_eager_fit_leaves(
    make_opt: Callable[[list[Value]], Optimizer],
) -> None:
    (h1, m1, o1), (h2, m2, o2) = (
        train(compiled, make_opt, clip_grad_norm=0.5, validation_data=moons())
        for compiled in (False, True)
    )
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-11)
    np.testing.assert_allclose(h2.val_loss, h1.val_loss, rtol=1e-11)
    assert h2.train_acc == h1.train_acc
    assert h2.lr == h1.lr
    assert h2.steps == h1.steps == 4 * 4
    p1, p2 = m1.parameters(), m2.parameters()
    np.testing.assert_allclose([p.data for p in p2], [p.data for p in p1], rtol=1e-9, atol=1e-12)
    # .grad: the last batch's gradient, with the L2 term and clipped, as the eager path leaves it
    np.testing.assert_allclose([p.grad for p in p2], [p.grad for p in p1], rtol=1e-9, atol=1e-12)
    assert all(type(p.data) is float and type(p.grad) is float for p in p2)
    assert_close_states(o2.state_dict(), o1.state_dict(), rtol=1e-9)


def test_a_learner_continues_with_the_eager_path_after_a_compiled_fit() -> None:
    make_opt = FIT_OPTIMIZERS[3]
    _, whole, _ = train(False, make_opt, epochs=6, shuffle=False)
    _, model, opt = train(True, make_opt, epochs=3, shuffle=False)
    X, y = moons()
    saved = opt.state_dict()
    fit(model, X, y, loss="hinge", optimizer=opt, epochs=3, batch_size=8, l2=1e-3, shuffle=False,
        progress=False)  # fmt: skip
    assert saved["step_count"] == 12
    assert opt.step_count == 24
    np.testing.assert_allclose(
        [p.data for p in model.parameters()],
        [p.data for p in whole.parameters()],
        rtol=1e-9,
        atol=1e-12,
    )


def test_the_vector_path_and_the_scalar_path_of_a_compiled_fit_agree_bit_for_bit() -> None:
    """A scalar-only optimizer (step() overridden) sends the compiled fit through the Values."""

    class ScalarOnlyAdam(Adam):
        def step(self, closure: Any = None) -> float | None:
            return super().step(closure)

    assert not ScalarOnlyAdam.has_vector_rule()
    runs = [
        train(True, lambda ps, c=cls: c(ps, lr=0.05, amsgrad=True), clip_grad_norm=0.5)
        for cls in (Adam, ScalarOnlyAdam)
    ]
    (h1, m1, o1), (h2, m2, o2) = runs
    assert h1.train_loss == h2.train_loss
    assert [p.data for p in m1.parameters()] == [p.data for p in m2.parameters()]
    assert [p.grad for p in m1.parameters()] == [p.grad for p in m2.parameters()]
    assert o1.state_dict() | {"optimizer": ""} == o2.state_dict() | {"optimizer": ""}


def test_same_seed_same_compiled_fit() -> None:
    runs = [
        train(True, FIT_OPTIMIZERS[1], shuffle=True, seed=3, clip_grad_norm=1.0) for _ in range(2)
    ]
    (h1, m1, o1), (h2, m2, o2) = runs
    assert h1.train_loss == h2.train_loss
    assert [p.data for p in m1.parameters()] == [p.data for p in m2.parameters()]
    assert o1.state_dict() == o2.state_dict()


@pytest.mark.parametrize("which", ["subset", "reversed"])
def test_an_optimizer_over_some_parameters_in_another_order(which: str) -> None:
    def make_opt(ps: list[Value]) -> Optimizer:
        chosen = ps[::2] if which == "subset" else ps[::-1]
        return Adam(chosen, lr=0.05)

    (_, m1, o1), (_, m2, o2) = (train(compiled, make_opt) for compiled in (False, True))
    np.testing.assert_allclose(
        [p.data for p in m2.parameters()], [p.data for p in m1.parameters()], rtol=1e-9
    )
    assert_close_states(o2.state_dict(), o1.state_dict(), rtol=1e-9)
    if which == "subset":
        untouched = MLP(2, [6, 5, 1], activation="tanh", seed=4).parameters()[1::2]
        assert [p.data for p in m2.parameters()[1::2]] == [p.data for p in untouched]


def test_a_model_that_lists_a_parameter_twice_trains_as_in_the_eager_fit() -> None:
    """A step of your own that steps such a Value twice: the compiled fit must do the same."""

    class Twice(MLP):
        def parameters(self) -> list[Value]:
            ps = super().parameters()
            return [*ps, ps[0]]

    class PlainStep:  # an optimizer of your own: no vector rule
        def __init__(self, params: list[Value]) -> None:
            self.params, self.lr = params, 0.2

        def step(self) -> None:
            for p in self.params:
                p.data -= self.lr * p.grad

    def sgd_once_each(ps: list[Value]) -> Any:  # ours, over the model's Values listed once
        return SGD(list({id(p): p for p in ps}.values()), lr=0.2)

    for make_opt in (PlainStep, sgd_once_each):
        runs = []
        for compiled in (False, True):
            model = Twice(2, [6, 5, 1], activation="tanh", seed=4)
            X, y = moons()
            h = fit(model, X, y, loss="hinge", optimizer=make_opt(model.parameters()), epochs=3,
                    batch_size=8, l2=1e-3, compiled=compiled, progress=False)  # fmt: skip
            runs.append((h.train_loss, [p.data for p in model.parameters()]))
        (loss1, w1), (loss2, w2) = runs
        np.testing.assert_allclose(loss2, loss1, rtol=1e-9)
        np.testing.assert_allclose(w2, w1, rtol=1e-9)


def test_an_optimizer_updating_a_value_outside_the_model() -> None:
    """The extra Value has no gradient from the loss; both paths step it as a Value."""
    extras = []

    def make_opt(ps: list[Value]) -> Optimizer:
        extras.append(Value(1.0))
        return SGD([*ps, extras[-1]], lr=0.1, weight_decay=0.5)

    (_, m1, _), (_, m2, _) = (train(compiled, make_opt) for compiled in (False, True))
    assert extras[0].data == extras[1].data
    assert extras[0].data == pytest.approx((1 - 0.1 * 0.5) ** 16, rel=1e-14)
    np.testing.assert_allclose(
        [p.data for p in m2.parameters()], [p.data for p in m1.parameters()], rtol=1e-9
    )


# -- what callbacks and schedules see and change ---------------------------------------------------


class Recorder(Callback):
    """Records what a callback can see at each hook; optionally changes things."""

    def __init__(self, opt_box: list[Optimizer]) -> None:
        self.opt_box = opt_box
        self.batches: list[tuple[list[float], list[float], float]] = []
        self.epochs: list[tuple[list[float], list[float], dict[str, Any]]] = []

    def on_batch_end(self, step: int, model: Any) -> None:
        ps = model.parameters()
        opt = self.opt_box[0]
        self.batches.append(([p.data for p in ps], [p.grad for p in ps], opt.lr))
        opt.lr = 0.05 * (1 + step % 3)  # a per-batch schedule of your own
        ps[0].grad = 0.0  # freeze one weight for this step
        if step == 5:
            ps[1].data = 0.25  # and move another by hand

    def on_epoch_end(self, epoch: int, model: Any, history: Any) -> None:
        ps = model.parameters()
        self.epochs.append(
            ([p.data for p in ps], [p.grad for p in ps], self.opt_box[0].state_dict())
        )
        if epoch == 1:
            ps[2].data = -0.5
            self.opt_box[0].load_state_dict(self.opt_box[0].state_dict() | {"step_count": 1})


@pytest.mark.parametrize("make_opt", [FIT_OPTIMIZERS[1], FIT_OPTIMIZERS[3]], ids=["sgd", "adam"])
def test_callbacks_see_and_change_what_they_would_in_the_eager_fit(
    make_opt: Callable[[list[Value]], Optimizer],
) -> None:
    seen = []
    for compiled in (False, True):
        box: list[Optimizer] = []
        recorder = Recorder(box)

        def built(ps: list[Value], box: list[Optimizer] = box) -> Optimizer:
            box.append(make_opt(ps))
            return box[0]

        _, model, _ = train(compiled, built, callbacks=[recorder], clip_grad_norm=0.5)
        seen.append((recorder, [p.data for p in model.parameters()], box[0].state_dict()))
    (r1, w1, s1), (r2, w2, s2) = seen
    assert len(r1.batches) == len(r2.batches) == 16
    for (d1, g1, lr1), (d2, g2, lr2) in zip(r1.batches, r2.batches, strict=True):
        np.testing.assert_allclose(d2, d1, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(g2, g1, rtol=1e-9, atol=1e-12)
        assert lr1 == lr2
    for (d1, g1, o1), (d2, g2, o2) in zip(r1.epochs, r2.epochs, strict=True):
        np.testing.assert_allclose(d2, d1, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(g2, g1, rtol=1e-9, atol=1e-12)
        assert_close_states(o2, o1, rtol=1e-9)
    np.testing.assert_allclose(w2, w1, rtol=1e-9, atol=1e-12)
    assert_close_states(s2, s1, rtol=1e-9)


def test_linear_schedule_steps_the_lr_of_a_compiled_fit_like_micrograd() -> None:
    X, y = moons()
    runs = []
    for compiled in (False, True):
        model = MLP(2, [8, 1], activation="relu", seed=0)
        opt = SGD(model.parameters(), lr=1.0)
        sched = LinearLR(opt, 1.0, 0.1, 10)
        history = fit(
            model, X, y, loss="hinge", optimizer=opt, schedule=sched, l2=1e-4, epochs=10,
            progress=False, compiled=compiled,
        )  # fmt: skip
        runs.append((history, [p.data for p in model.parameters()]))
    (h1, w1), (h2, w2) = runs
    assert h2.lr == h1.lr
    assert all(abs(lr - (1.0 - 0.9 * k / 10)) < 1e-15 for k, lr in enumerate(h2.lr))
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-11)
    np.testing.assert_allclose(w2, w1, rtol=1e-10, atol=1e-13)


def test_a_schedule_of_your_own_may_change_the_optimizers_state() -> None:
    class ResetMomentum:
        """Anything with step(): zeroes the momentum buffers every second epoch."""

        def __init__(self, opt: SGD) -> None:
            self.optimizer = opt
            self.calls = 0

        def step(self) -> None:
            self.calls += 1
            if self.calls % 2 == 0 and self.optimizer.momentum_buffer is not None:
                self.optimizer.momentum_buffer = [0.0] * len(self.optimizer.params)

    results = []
    for compiled in (False, True):
        X, y = moons()
        model = MLP(2, [6, 1], activation="tanh", seed=4)
        opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
        fit(model, X, y, loss="hinge", optimizer=opt, schedule=ResetMomentum(opt), epochs=5,
            batch_size=10, compiled=compiled, progress=False)  # fmt: skip
        results.append(([p.data for p in model.parameters()], opt.state_dict()))
    (w1, s1), (w2, s2) = results
    np.testing.assert_allclose(w2, w1, rtol=1e-10, atol=1e-13)
    assert_close_states(s2, s1, rtol=1e-10)


def test_early_stopping_restores_the_best_weights_of_a_compiled_fit() -> None:
    results = []
    for compiled in (False, True):
        stopper = EarlyStopping(patience=2, monitor="train_loss", restore_best=True)
        _, model, opt = train(compiled, lambda ps: SGD(ps, lr=3.0), epochs=30, callbacks=[stopper])
        results.append((stopper, [p.data for p in model.parameters()], opt.step_count))
    (s1, w1, n1), (s2, w2, n2) = results
    assert s1.stopped_epoch is not None
    assert (s2.best_epoch, s2.stopped_epoch, n2) == (s1.best_epoch, s1.stopped_epoch, n1)
    assert s2._best_state is not None
    assert w2 == list(s2._best_state.values())  # the restored epoch's weights, exactly
    np.testing.assert_allclose(w2, w1, rtol=1e-9, atol=1e-12)


def test_an_interrupted_compiled_fit_leaves_values_and_state_consistent() -> None:
    class StopError(Exception):
        pass

    class Interrupt(Callback):
        def on_batch_end(self, step: int, model: Any) -> None:
            if step == 6:
                raise StopError

    results = []
    for compiled in (False, True):
        with pytest.raises(StopError):
            train(compiled, lambda ps: results.append(Adam(ps, lr=0.05)) or results[-1],
                  callbacks=[Interrupt()])  # fmt: skip
    o1, o2 = results
    assert o1.step_count == o2.step_count == 6
    np.testing.assert_allclose(
        [p.data for p in o2.params], [p.data for p in o1.params], rtol=1e-9, atol=1e-12
    )
    assert_close_states(o2.state_dict(), o1.state_dict(), rtol=1e-9)


@pytest.mark.torch
def test_compiled_fit_with_adam_l2_and_clipping_matches_a_torch_loop() -> None:
    torch = pytest.importorskip("torch")
    X, y = moons()
    model = MLP(2, [6, 5, 1], activation="tanh", seed=4)
    seq = model.to_torch()
    lr, l2, clip, size = 0.05, 1e-3, 0.5, 8
    fit(model, X, y, loss="hinge", optimizer="adam", lr=lr, l2=l2, clip_grad_norm=clip,
        epochs=4, batch_size=size, shuffle=False, compiled=True, progress=False)  # fmt: skip
    topt = torch.optim.Adam(seq.parameters(), lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y, dtype=torch.float64)
    for _ in range(4):
        for start in range(0, len(X), size):
            topt.zero_grad()
            out = seq(Xt[start : start + size]).squeeze(1)
            loss = torch.relu(1 - yt[start : start + size] * out).mean()
            loss = loss + l2 * sum((p**2).sum() for p in seq.parameters())
            loss.backward()
            torch.nn.utils.clip_grad_norm_(seq.parameters(), clip)
            topt.step()
    theirs = []
    for module in seq:
        if isinstance(module, torch.nn.Linear):
            for w, b in zip(module.weight.tolist(), module.bias.tolist(), strict=True):
                theirs.extend([*w, b])
    np.testing.assert_allclose([p.data for p in model.parameters()], theirs, rtol=1e-9, atol=1e-12)


def test_step_count_and_state_lists_of_a_stepless_fit() -> None:
    _, _, opt = train(True, lambda ps: SGD(ps, lr=0.1, momentum=0.9), epochs=0)
    assert opt.step_count == 0
    assert opt.momentum_buffer is None


def test_step_lr_schedule_in_a_compiled_fit() -> None:
    results = []
    for compiled in (False, True):
        X, y = moons()
        model = MLP(2, [6, 1], activation="tanh", seed=4)
        opt = Adam(model.parameters(), lr=0.1)
        history = fit(model, X, y, loss="hinge", optimizer=opt,
                      schedule=lambda o: StepLR(o, 2, 0.5), epochs=5, batch_size=10,
                      compiled=compiled, progress=False)  # fmt: skip
        results.append((history.lr, [p.data for p in model.parameters()]))
    assert results[0][0] == results[1][0] == [0.1, 0.1, 0.05, 0.05, 0.025]
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-9, atol=1e-12)
