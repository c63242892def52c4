# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N806

import gc
import math

import numpy as np
import pytest

from microgradnn import Value
from microgradnn.data import make_moons, make_spirals, make_xor, one_hot, to_pm1
from microgradnn.nn import MLP
from microgradnn.optim import SGD, LinearLR, StepLR
from microgradnn.train import Callback, EarlyStopping, History, accuracy, evaluate, fit, predict


def identity_model(nin, nout):
    """A linear MLP whose outputs equal its inputs (nin == nout) or sum them (nout == 1)."""
    model = MLP(nin, [nout], seed=0)
    state = {}
    for name in model.state_dict():
        parts = name.split(".")
        if parts[-1] == "b":
            state[name] = 0.0
        else:
            neuron, weight = int(parts[3]), int(parts[-1])
            state[name] = 1.0 if (nout == 1 or neuron == weight) else 0.0
    model.load_state_dict(state)
    return model


def torch_params_flat(seq):
    """torch Linear weights in microgradnn's parameter order: per neuron its weights, then b."""
    import torch

    out = []
    for module in seq:
        if isinstance(module, torch.nn.Linear):
            w = module.weight.detach().tolist()
            b = module.bias.detach().tolist()
            for row, bias in zip(w, b, strict=True):
                out.extend([*row, bias])
    return out


class Recorder(Callback):
    def __init__(self):
        self.events = []
        self.snapshots = []
        self.gc_during_step = []

    def on_train_begin(self, model):
        self.events.append("begin")

    def on_batch_end(self, step, model):
        self.events.append(("batch", step))
        self.snapshots.append([(p.data, p.grad) for p in model.parameters()])
        self.gc_during_step.append(gc.isenabled())

    def on_epoch_end(self, epoch, model, history):
        self.events.append(("epoch", epoch, history.epochs))

    def on_train_end(self, model, history):
        self.events.append("end")


# -- PyTorch as the oracle for the whole loop ------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize(
    ("batch_size", "shuffle"), [(None, False), (7, False), (7, True), (1, True)]
)
def test_fit_matches_a_torch_sgd_loop_with_hinge_and_l2(batch_size, shuffle):
    torch = pytest.importorskip("torch")
    X, y = make_moons(n=20, noise=0.2, seed=1)
    y = to_pm1(y)
    model = MLP(2, [5, 1], activation="tanh", seed=3)
    seq = model.to_torch()
    lr, l2, epochs, seed = 0.3, 1e-3, 4, 11
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer="sgd",
        lr=lr,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        l2=l2,
        progress=False,
    )

    opt = torch.optim.SGD(seq.parameters(), lr=lr)
    Xt = torch.tensor(X, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    n = len(X)
    size = n if batch_size is None else batch_size
    rng = np.random.default_rng(seed)  # fit's documented epoch order
    losses = []
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        total = 0.0
        for start in range(0, n, size):
            idx = torch.tensor(order[start : start + size])
            opt.zero_grad()
            out = seq(Xt[idx]).squeeze(1)
            loss = torch.relu(1 - yt[idx] * out).mean()
            loss = loss + l2 * sum((p**2).sum() for p in seq.parameters())
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / n)

    np.testing.assert_allclose(history.train_loss, losses, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(
        [p.data for p in model.parameters()], torch_params_flat(seq), rtol=1e-11, atol=1e-13
    )
    assert history.steps == epochs * math.ceil(n / size)


@pytest.mark.torch
def test_fit_matches_torch_adam_cross_entropy_minibatches_with_validation():
    torch = pytest.importorskip("torch")
    X, y = make_spirals(n=30, classes=3, seed=2)
    Xv, yv = make_spirals(n=12, classes=3, seed=5)
    model = MLP(2, [6, 3], activation="relu", seed=4)
    seq = model.to_torch()
    history = fit(
        model,
        X,
        y,
        loss="cross_entropy",
        optimizer="adam",
        lr=0.02,
        epochs=3,
        batch_size=8,
        seed=6,
        validation_data=(Xv, yv),
        progress=False,
    )
    opt = torch.optim.Adam(seq.parameters(), lr=0.02)
    ce = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.tensor(X), torch.tensor(y)
    rng = np.random.default_rng(6)
    val_losses, val_accs = [], []
    for _ in range(3):
        order = rng.permutation(len(X))
        for start in range(0, len(X), 8):
            idx = torch.tensor(order[start : start + 8])
            opt.zero_grad()
            ce(seq(Xt[idx]), yt[idx]).backward()
            opt.step()
        with torch.no_grad():
            logits = seq(torch.tensor(Xv))
            val_losses.append(ce(logits, torch.tensor(yv)).item())
            val_accs.append((logits.argmax(1).numpy() == yv).mean())
    np.testing.assert_allclose(history.val_loss, val_losses, rtol=1e-10)
    assert history.val_acc == pytest.approx(val_accs)
    np.testing.assert_allclose(
        [p.data for p in model.parameters()], torch_params_flat(seq), rtol=1e-9, atol=1e-12
    )


# -- updates per epoch, callbacks, order of the step ------------------------------------------


class CountingSGD(SGD):
    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.calls = 0

    def step(self, closure=None):
        self.calls += 1
        return super().step(closure)


@pytest.mark.parametrize(
    ("n", "batch_size", "updates"),
    [(10_000, 10, 1000), (1000, 100, 10), (1000, None, 1), (7, 1, 7), (7, 3, 3), (7, 50, 1)],
)
def test_updates_per_epoch_are_ceil_n_over_b(n, batch_size, updates):
    X = np.linspace(-1.0, 1.0, n).reshape(-1, 1)
    y = 2.0 * X[:, 0]
    model = MLP(1, [1], seed=0)
    opt = CountingSGD(model.parameters(), lr=0.01)
    history = fit(model, X, y, optimizer=opt, epochs=1, batch_size=batch_size, progress=False)
    assert opt.calls == updates
    assert history.steps == updates


def test_callbacks_order_and_gradients_seen_before_the_update():
    X, y = make_moons(n=12, seed=0)
    model = MLP(2, [3, 1], seed=0)
    rec = Recorder()
    lr = 0.1
    fit(
        model,
        X,
        y,
        loss="bce_logits",
        lr=lr,
        epochs=2,
        batch_size=5,
        callbacks=[rec],
        progress=False,
    )
    batches = [e for e in rec.events if isinstance(e, tuple) and e[0] == "batch"]
    assert rec.events[0] == "begin"
    assert rec.events[-1] == "end"
    assert [b[1] for b in batches] == list(range(6))
    assert rec.events[4] == ("epoch", 0, 1)
    assert rec.events[-2] == ("epoch", 1, 2)
    # SGD: the next batch starts from p - lr * (the gradient this batch's callback saw).
    for before, after in zip(rec.snapshots, rec.snapshots[1:], strict=False):
        for (data, grad), (next_data, _) in zip(before, after, strict=True):
            assert next_data == pytest.approx(data - lr * grad, abs=1e-15)
    assert any(g != 0.0 for _, g in rec.snapshots[0])


def test_a_callback_without_every_hook_and_stopping_early():
    class StopAtTwo:
        def on_epoch_end(self, epoch, model, history):
            return epoch == 1

    X, y = make_xor()
    history = fit(
        MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=50, callbacks=[StopAtTwo()], progress=False
    )
    assert history.epochs == 2
    assert len(history.lr) == len(history.epoch_time) == 2


def test_gc_is_paused_during_steps_and_restored_after():
    X, y = make_xor()
    rec = Recorder()
    assert gc.isenabled()
    fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=2, callbacks=[rec], progress=False)
    assert rec.gc_during_step == [False, False]
    assert gc.isenabled()
    gc.disable()
    try:
        fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=2, progress=False)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_is_restored_when_a_step_raises():
    class Boom:
        def on_batch_end(self, step, model):
            raise RuntimeError("boom")

    X, y = make_xor()
    with pytest.raises(RuntimeError, match="boom"):
        fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=1, callbacks=[Boom()], progress=False)
    assert gc.isenabled()


def test_the_graph_is_freed_after_each_step():
    X, y = make_moons(n=20, seed=0)
    model = MLP(2, [4, 1], seed=0)

    def live_values():
        return sum(1 for o in gc.get_objects() if type(o) is Value)

    gc.collect()
    before = live_values()
    fit(model, X, y, loss="bce_logits", lr=0.1, epochs=3, batch_size=4, progress=False)
    gc.collect()
    assert live_values() == before


def test_fit_restores_the_training_mode():
    X, y = make_xor()
    model = MLP(2, [2, 1], seed=0, dropout=0.2).eval()
    fit(model, X, y, lr=0.1, epochs=1, progress=False)
    assert model.training is False


# -- reproducibility -----------------------------------------------------------------------


def _run(seed, fit_seed):
    X, y = make_moons(n=30, seed=seed)
    model = MLP(2, [6, 6, 1], seed=seed, dropout=0.2)
    history = fit(
        model,
        X,
        to_pm1(y),
        loss="hinge",
        optimizer="momentum",
        lr=0.05,
        epochs=4,
        batch_size=7,
        seed=fit_seed,
        l2=1e-3,
        validation_data=(X[:10], to_pm1(y[:10])),
        schedule=lambda opt: StepLR(opt, step_size=2, gamma=0.5),
        progress=False,
    )
    return history, model.state_dict()


def test_same_seed_bit_identical_history_and_weights():
    h1, w1 = _run(0, 5)
    h2, w2 = _run(0, 5)
    for key in ("train_loss", "val_loss", "train_acc", "val_acc", "lr"):
        assert getattr(h1, key) == getattr(h2, key)
    assert w1 == w2
    h3, w3 = _run(0, 6)
    assert h3.train_loss != h1.train_loss
    assert w3 != w1


# -- history, schedules, validation ------------------------------------------------------------


def test_history_lists_and_to_dict():
    X, y = make_xor()
    history = fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=3, progress=False)
    assert history.epochs == 3
    assert len(history.train_loss) == len(history.train_acc) == 3
    assert history.val_loss == []
    assert history.val_acc == []
    d = history.to_dict()
    assert d["epochs"] == 3
    assert d["steps"] == 3
    assert d["train_loss"] == history.train_loss
    assert isinstance(History().to_dict()["train_loss"], list)


def test_schedule_sets_the_lr_of_each_epoch_like_micrograd():
    X, y = make_xor()
    history = fit(
        MLP(2, [2, 1], seed=0),
        X,
        y,
        optimizer="sgd",
        lr=1.0,
        epochs=5,
        schedule=lambda opt: LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100),
        progress=False,
    )
    assert history.lr == pytest.approx([1.0 - 0.9 * k / 100 for k in range(5)], abs=1e-15)


def test_schedule_object_bound_to_the_given_optimizer():
    X, y = make_xor()
    model = MLP(2, [2, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.5)
    sched = StepLR(opt, step_size=1, gamma=0.5)
    history = fit(model, X, y, optimizer=opt, epochs=3, schedule=sched, progress=False)
    assert history.lr == [0.5, 0.25, 0.125]


def test_validation_loss_and_accuracy_match_torch_after_the_last_epoch():
    torch = pytest.importorskip("torch")
    X, y = make_moons(n=40, seed=0)
    Xv, yv = make_moons(n=16, noise=0.3, seed=9)
    model = MLP(2, [8, 1], seed=1)
    history = fit(
        model, X, y, loss="bce_logits", lr=0.5, epochs=3, validation_data=(Xv, yv), progress=False
    )
    with torch.no_grad():
        logits = model.to_torch()(torch.tensor(Xv)).squeeze(1)
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.tensor(yv, dtype=torch.float64)
        ).item()
        expected_acc = ((logits > 0).numpy() == yv).mean()
    assert history.val_loss[-1] == pytest.approx(expected, rel=1e-12)
    assert history.val_acc[-1] == pytest.approx(expected_acc)
    assert evaluate(model, Xv, yv, "bce_logits")["loss"] == pytest.approx(expected, rel=1e-12)


def test_l2_penalty_is_part_of_train_and_val_loss():
    X, y = make_xor()
    model = MLP(2, [2, 1], seed=0)
    penalty = 0.5 * sum(p.data**2 for p in model.parameters())
    data_loss = evaluate(model, X, y, "mse")["loss"]
    frozen = SGD(model.parameters(), lr=0.0)
    history = fit(
        model, X, y, optimizer=frozen, epochs=1, l2=0.5, validation_data=(X, y), progress=False
    )
    assert history.train_loss[0] == pytest.approx(data_loss + penalty, rel=1e-12)
    assert history.val_loss[0] == pytest.approx(data_loss + penalty, rel=1e-12)


def test_train_accuracy_of_gradient_descent_is_the_accuracy_before_the_update():
    X, y = make_moons(n=20, seed=0)
    model = MLP(2, [4, 1], seed=2)
    before = accuracy(model, X, y, "bce_logits")
    history = fit(model, X, y, loss="bce_logits", lr=0.1, epochs=1, progress=False)
    assert history.train_acc[0] == before


# -- EarlyStopping -------------------------------------------------------------------------


def test_early_stopping_counts_epochs_without_improvement():
    stopper = EarlyStopping(patience=2, min_delta=0.1, monitor="train_loss")
    history = History()
    decisions = []
    for epoch, loss in enumerate([1.0, 0.5, 0.45, 0.3, 0.35, 0.31]):
        history.train_loss.append(loss)
        decisions.append(stopper.on_epoch_end(epoch, None, history))
    # 0.45 is within min_delta of 0.5 (a stall), 0.3 improves on 0.5 by 0.2, then two stalls.
    assert decisions == [False, False, False, False, False, True]
    assert stopper.best == 0.3
    assert stopper.best_epoch == 3
    assert stopper.stopped_epoch == 5


def test_early_stopping_on_accuracy_maximises():
    stopper = EarlyStopping(patience=1, monitor="val_acc")
    history = History()
    out = []
    for acc in [0.5, 0.7, 0.7]:
        history.val_acc.append(acc)
        out.append(stopper.on_epoch_end(len(out), None, history))
    assert out == [False, False, True]


def test_early_stopping_in_fit_restores_the_best_weights():
    X, y = make_xor()
    model = MLP(2, [2, 1], seed=0)
    snapshots = []

    class Snap:
        def on_epoch_end(self, epoch, model, history):
            snapshots.append(model.state_dict())

    # A learning rate this large makes the loss bounce, so the best epoch is not the last.
    stopper = EarlyStopping(patience=3, monitor="train_loss", restore_best=True)
    history = fit(model, X, y, lr=3.0, epochs=200, callbacks=[Snap(), stopper], progress=False)
    assert history.epochs < 200
    assert stopper.stopped_epoch == history.epochs - 1
    assert history.epochs - 1 - stopper.best_epoch == 3
    assert model.state_dict() == snapshots[stopper.best_epoch]


def test_early_stopping_errors():
    X, y = make_xor()
    with pytest.raises(
        ValueError, match=r"'val_loss', which is empty \(fit got no validation_data\)"
    ):
        fit(MLP(2, [1], seed=0), X, y, epochs=2, callbacks=[EarlyStopping()], progress=False)
    reg_y = np.array([0.1, 0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="accuracy does not apply"):
        fit(
            MLP(2, [1], seed=0),
            X,
            reg_y,
            epochs=2,
            progress=False,
            callbacks=[EarlyStopping(monitor="train_acc")],
        )
    with pytest.raises(ValueError, match=r"monitor: expected one of .* got 'loss'"):
        EarlyStopping(monitor="loss")
    with pytest.raises(ValueError, match="patience: expected an integer >= 1, got 0"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="min_delta: expected a number >= 0, got -1"):
        EarlyStopping(min_delta=-1)


# -- accuracy rules, predict, evaluate ----------------------------------------------------------


SCORES = np.array([[-2.0], [0.3], [0.7], [-0.1], [0.0]])


@pytest.mark.parametrize(
    ("loss", "targets", "expected"),
    [
        ("hinge", [-1, 1, -1, -1, -1], 4 / 5),  # sign: 0.0 counts as -1
        ("logistic", [1, 1, 1, 1, 1], 2 / 5),
        ("bce_logits", [0, 1, 1, 0, 1], 4 / 5),  # logit > 0
        ("mse", [-2, 0, 1, 0, 0], 1.0),  # rounded output
        ("mse", [0.5, 0.5, 0.5, 0.5, 0.5], None),  # regression: no accuracy
    ],
)
def test_accuracy_rule_follows_the_loss(loss, targets, expected):
    model = identity_model(1, 1)
    assert accuracy(model, SCORES, np.array(targets), loss) == expected


def test_accuracy_bce_threshold_half_and_cross_entropy_argmax():
    model = identity_model(1, 1)
    probs = np.array([[0.2], [0.6], [0.5], [0.9]])
    assert accuracy(model, probs, np.array([0, 1, 1, 1]), "bce") == 3 / 4
    model2 = identity_model(3, 3)
    logits = np.array([[1.0, 2.0, 0.0], [5.0, -1.0, 0.0], [0.0, 0.0, 3.0]])
    labels = np.array([1, 0, 0])
    assert accuracy(model2, logits, labels, "cross_entropy") == 2 / 3
    assert accuracy(model2, logits, one_hot(labels, 3), "ce") == 2 / 3
    assert accuracy(model2, logits, one_hot(labels, 3), "mse") == 2 / 3
    assert accuracy(model2, logits, labels, lambda p, t: Value(0.0)) is None


def test_predict_shapes_and_values():
    X = np.array([[1.0, 2.0], [3.0, -4.0]])
    np.testing.assert_array_equal(predict(identity_model(2, 1), X), [3.0, -1.0])
    np.testing.assert_array_equal(predict(identity_model(2, 2), X), X)


def test_predict_and_evaluate_use_eval_mode_and_build_no_graph():
    model = MLP(2, [8, 1], seed=0, dropout=0.5)
    X, y = make_moons(n=10, seed=0)
    first = predict(model, X)
    np.testing.assert_array_equal(first, predict(model, X))
    assert model.training is True
    result = evaluate(model, X, y, "bce_logits")
    assert set(result) == {"loss", "acc"}
    assert all(p.grad == 0.0 for p in model.parameters())


# -- bad input ----------------------------------------------------------------------------------


def test_fit_rejects_inconsistent_data():
    X, y = make_moons(n=10, seed=0)
    model = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="X has 10, y has 9"):
        fit(model, X, y[:9], progress=False)
    with pytest.raises(ValueError, match="the model expects 2 input features, got 3 columns"):
        fit(model, np.ones((10, 3)), y, progress=False)
    with pytest.raises(ValueError, match=r"X: expected 2-D .*got shape \(10,\).*reshape"):
        fit(model, X[:, 0], y, progress=False)
    with pytest.raises(ValueError, match="NaN or infinite"):
        fit(model, np.full((10, 2), np.nan), y, progress=False)
    with pytest.raises(ValueError, match="X_val has 3, y has 2"):
        fit(model, X, y, validation_data=(X[:3], y[:2]), progress=False)
    with pytest.raises(ValueError, match="the model expects 2 input features, got 1 columns"):
        fit(model, X, y, validation_data=(X[:3, :1], y[:3]), progress=False)
    with pytest.raises(TypeError, match="X: expected numbers"):
        fit(model, np.array([["a", "b"]]), [1], progress=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"epochs": -1}, ValueError, "epochs: expected an integer >= 0, got -1"),
        ({"epochs": 2.5}, TypeError, "epochs: expected an integer >= 0, got float 2.5"),
        ({"batch_size": 0}, ValueError, "batch_size: expected an integer >= 1, got 0"),
        ({"lr": -1.0}, ValueError, "lr: expected a number >= 0, got -1.0"),
        ({"lr": math.nan}, ValueError, "lr: expected a number >= 0, got nan"),
        ({"l2": -0.1}, ValueError, "l2: expected a number >= 0, got -0.1"),
        ({"clip_grad_norm": 0.0}, ValueError, "clip_grad_norm: expected a number > 0, got 0.0"),
        ({"loss": "nope"}, ValueError, "loss: expected one of mse, .*, got 'nope'"),
        ({"optimizer": "nope"}, ValueError, "optimizer.*'nope'"),
        (
            {"validation_data": (1, 2, 3)},
            ValueError,
            r"validation_data: expected a pair \(X_val, y_val\)",
        ),
        ({"shuffle": "yes"}, TypeError, "shuffle: expected True or False, got str 'yes'"),
        ({"compiled": 1}, TypeError, "compiled: expected True or False, got int 1"),
        ({"seed": 1.5}, TypeError, "seed: expected an integer, got float 1.5"),
    ],
)
def test_fit_rejects_bad_hyperparameters(kwargs, error, match):
    X, y = make_xor()
    with pytest.raises(error, match=match):
        fit(MLP(2, [1], seed=0), X, y, progress=False, **kwargs)


def test_fit_rejects_targets_the_loss_cannot_take():
    X, y = make_xor()
    with pytest.raises(ValueError, match=r"hinge loss expects targets -1 or \+1, got 0 .*to_pm1"):
        fit(MLP(2, [1], seed=0), X, y, loss="hinge", progress=False)
    with pytest.raises(ValueError, match="bce loss expects targets between 0 and 1, got -1"):
        fit(MLP(2, [1], seed=0), X, to_pm1(y), loss="bce", progress=False)
    with pytest.raises(
        ValueError, match=r"the model has 2 outputs, so classes 0\.\.1, got class 2"
    ):
        fit(MLP(2, [2], seed=0), X, np.array([0, 1, 2, 0]), loss="ce", progress=False)
    with pytest.raises(ValueError, match="cross_entropy loss expects class indices"):
        fit(MLP(2, [2], seed=0), X, np.array([0.5, 1, 1, 0]), loss="ce", progress=False)


def test_fit_optimizer_and_schedule_misuse():
    X, y = make_xor()
    model = MLP(2, [1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr was given together with an optimizer object"):
        fit(model, X, y, optimizer=opt, lr=0.5, progress=False)
    other = StepLR(SGD(model.parameters(), lr=0.1), step_size=1)
    with pytest.raises(ValueError, match="schedule is bound to another optimizer"):
        fit(model, X, y, lr=0.1, schedule=other, progress=False)
    with pytest.raises(TypeError, match="optimizer: expected a name or an Optimizer, got int"):
        fit(model, X, y, optimizer=3, progress=False)
    with pytest.raises(TypeError, match="schedule: expected a schedule or a function"):
        fit(model, X, y, lr=0.1, schedule=3, progress=False)


def test_predict_and_evaluate_reject_bad_input():
    model = MLP(2, [1], seed=0)
    with pytest.raises(ValueError, match="the model expects 2 input features, got 3 columns"):
        predict(model, np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"X: expected 2-D"):
        predict(model, np.ones(2))
    with pytest.raises(ValueError, match="X has 4, y has 3"):
        evaluate(model, np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="X has 4, y has 3"):
        accuracy(model, np.ones((4, 2)), np.ones(3))


# -- progress bar ---------------------------------------------------------------------------------


def test_progress_bar_on_stderr_with_loss_and_accuracy(capsys):
    X, y = make_xor()
    fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=2, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "fit" in captured.err
    assert "loss=" in captured.err
    assert "acc=" in captured.err
    fit(MLP(2, [2, 1], seed=0), X, y, lr=0.1, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


# -- compiled ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "sizes", "targets"),
    [
        ("hinge", [6, 1], "pm1"),
        ("bce_logits", [6, 1], "01"),
        ("mse", [6, 2], "onehot"),
        ("logistic", [6, 1], "pm1"),
    ],
)
def test_compiled_matches_eager(loss, sizes, targets):
    X, y = make_moons(n=24, seed=3)
    yy = {"pm1": to_pm1(y), "01": y, "onehot": one_hot(y)}[targets]
    runs = []
    for compiled in (False, True):
        model = MLP(2, sizes, activation="tanh", seed=1)
        history = fit(
            model,
            X,
            yy,
            loss=loss,
            optimizer="adam",
            lr=0.05,
            epochs=3,
            batch_size=5,
            l2=1e-3,
            validation_data=(X[:6], yy[:6]),
            compiled=compiled,
            progress=False,
        )
        runs.append((history, [p.data for p in model.parameters()]))
    (h1, w1), (h2, w2) = runs
    np.testing.assert_allclose(h2.train_loss, h1.train_loss, rtol=1e-10)
    np.testing.assert_allclose(h2.val_loss, h1.val_loss, rtol=1e-10)
    assert h2.train_acc == h1.train_acc
    assert h2.steps == h1.steps
    np.testing.assert_allclose(w2, w1, rtol=1e-9, atol=1e-12)


def test_compiled_rejects_active_dropout():
    X, y = make_xor()
    with pytest.raises(ValueError, match="compiled=True cannot replay Dropout"):
        fit(MLP(2, [4, 1], seed=0, dropout=0.3), X, y, compiled=True, progress=False)


# -- the course's checks ------------------------------------------------------------------------

# Observed with this loss/optimizer/epoch budget: the 2-2-1 network gets stuck in a local
# minimum from seed 7 (of 0..9; from 7, 17 and 18 of 0..19); the 2-4-1 network solves XOR from
# all of 0..19.
XOR_SETTINGS = {"loss": "mse", "optimizer": "sgd", "lr": 0.2, "epochs": 500, "progress": False}


def _xor_solved(hidden, seed):
    X, y = make_xor()
    y = to_pm1(y)
    model = MLP(2, [hidden, 1], activation="tanh", seed=seed)
    fit(model, X, y, seed=seed, **XOR_SETTINGS)
    return accuracy(model, X, y, "hinge") == 1.0


def test_xor_2_2_1_tanh_solves_xor_from_most_seeds():
    solved = [seed for seed in range(10) if _xor_solved(2, seed)]
    assert len(solved) >= 7, f"solved only from seeds {solved}"


def test_xor_2_4_1_tanh_solves_xor_from_every_seed():
    failed = [seed for seed in range(10) if not _xor_solved(4, seed)]
    assert failed == []


def test_two_moons_demo_defaults_reach_97_percent():
    # compiled=True replays the same arithmetic (test_compiled_matches_eager) in a fraction of
    # the time; tests/test_cli.py runs the eager demo end to end.
    X, y = make_moons(n=100, noise=0.1, seed=0)
    y = to_pm1(y)
    model = MLP(2, [16, 16, 1], activation="relu", seed=0)
    history = fit(
        model,
        X,
        y,
        loss="hinge",
        optimizer="sgd",
        lr=1.0,
        epochs=100,
        l2=1e-4,
        schedule=lambda opt: LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100),
        progress=False,
        compiled=True,
    )
    assert accuracy(model, X, y, "hinge") >= 0.97
    assert history.train_loss[-1] < history.train_loss[0]
