import math
import random

import numpy as np
import pytest

from microgradnn.engine import Value
from microgradnn.losses import (
    LOSSES,
    bce_loss,
    bce_with_logits_loss,
    cross_entropy_loss,
    get_loss,
    hinge_loss,
    l2_regularization,
    logistic_loss,
    mse_loss,
)
from microgradnn.nn import MLP


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def values(data):
    """Leaf Values shaped like ``data`` (a list of numbers or of lists)."""
    return [[Value(x) for x in row] if isinstance(row, list) else Value(row) for row in data]


def grads(preds):
    return [[v.grad for v in row] if isinstance(row, list) else row.grad for row in preds]


def check(ours, theirs, preds_data, targets, torch_targets=None, tol=1e-12):
    """Compare a loss and its gradient w.r.t. the predictions with a torch function."""
    import torch

    preds = values(preds_data)
    loss = ours(preds, targets)
    loss.backward()
    t = torch.tensor(preds_data, dtype=torch.float64, requires_grad=True)
    tt = torch_targets if torch_targets is not None else torch.tensor(targets, dtype=torch.float64)
    tloss = theirs(t, tt)
    tloss.backward()
    assert loss.data == pytest.approx(tloss.item(), rel=tol, abs=tol)
    expected = t.grad.tolist()
    assert np.allclose(np.array(grads(preds)), np.array(expected), rtol=tol, atol=tol)
    return loss


def randoms(shape, lo=-3.0, hi=3.0, seed=0):
    rng = random.Random(seed)
    if len(shape) == 1:
        return [rng.uniform(lo, hi) for _ in range(shape[0])]
    return [[rng.uniform(lo, hi) for _ in range(shape[1])] for _ in range(shape[0])]


# -- each loss against PyTorch ------------------------------------------------------------------


@pytest.mark.torch
def test_mse_against_torch(torch):
    check(mse_loss, torch.nn.MSELoss(), randoms([7]), randoms([7], seed=1))
    check(mse_loss, torch.nn.MSELoss(), randoms([5, 3]), randoms([5, 3], seed=1))
    check(
        lambda p, t: mse_loss(p, t, reduction="sum"),
        torch.nn.MSELoss(reduction="sum"),
        randoms([5, 3]),
        randoms([5, 3], seed=1),
    )


@pytest.mark.torch
def test_bce_against_torch(torch):
    probs = randoms([8], 0.02, 0.98)
    check(bce_loss, torch.nn.BCELoss(), probs, [float(i % 2) for i in range(8)])
    check(bce_loss, torch.nn.BCELoss(), probs, randoms([8], 0.0, 1.0, seed=3))
    check(bce_loss, torch.nn.BCELoss(), randoms([4, 3], 0.05, 0.95), randoms([4, 3], 0, 1, 2))


def test_bce_clamps_saturated_probabilities():
    for p, t in ((0.0, 1.0), (1.0, 0.0)):
        pred = Value(p)
        loss = bce_loss([pred], [t])
        loss.backward()
        assert loss.data == pytest.approx(-math.log(1e-12), rel=1e-6)
        assert pred.grad == 0.0
    pred = Value(1.0)
    loss = bce_loss([pred], [1.0])
    loss.backward()
    assert loss.data == pytest.approx(0.0, abs=1e-11)
    assert math.isfinite(pred.grad)


@pytest.mark.torch
def test_bce_with_logits_against_torch(torch):
    check(
        bce_with_logits_loss,
        torch.nn.BCEWithLogitsLoss(),
        [*randoms([6]), 50.0, -50.0, 1000.0, -1000.0],
        [1.0, 0.0, 0.3, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0],
    )
    check(
        bce_with_logits_loss,
        torch.nn.BCEWithLogitsLoss(),
        randoms([3, 4]),
        [[float((i + j) % 2) for j in range(4)] for i in range(3)],
    )


@pytest.mark.torch
def test_cross_entropy_class_indices_against_torch(torch):
    logits = randoms([6, 4])
    labels = [0, 3, 1, 2, 2, 0]
    targets = torch.tensor(labels)
    check(cross_entropy_loss, torch.nn.CrossEntropyLoss(), logits, labels, targets)
    check(cross_entropy_loss, torch.nn.CrossEntropyLoss(), logits, np.array(labels), targets)
    check(
        lambda p, t: cross_entropy_loss(p, t, reduction="sum"),
        torch.nn.CrossEntropyLoss(reduction="sum"),
        logits,
        labels,
        targets,
    )


@pytest.mark.torch
def test_cross_entropy_one_hot_and_probabilities_against_torch(torch):
    logits = randoms([5, 3])
    one_hot = [[1.0 if j == i % 3 else 0.0 for j in range(3)] for i in range(5)]
    check(cross_entropy_loss, torch.nn.CrossEntropyLoss(), logits, one_hot)
    soft = [[0.2, 0.5, 0.3], [0.0, 0.1, 0.9], [1 / 3, 1 / 3, 1 / 3], [0.7, 0.3, 0.0], [0, 0, 1]]
    check(cross_entropy_loss, torch.nn.CrossEntropyLoss(), logits, soft)
    unnormalised = [[0.5, 0.5, 0.5], [2.0, 0.0, 0.0], [0, 0, 0], [0.1, 0, 0], [1, 1, 0]]
    check(cross_entropy_loss, torch.nn.CrossEntropyLoss(), logits, unnormalised)


@pytest.mark.torch
def test_cross_entropy_stable_for_huge_logits(torch):
    logits = [[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0], [-1000.0, 1000.0, 0.0]]
    loss = check(
        cross_entropy_loss,
        torch.nn.CrossEntropyLoss(),
        logits,
        [2, 0, 1],
        torch.tensor([2, 0, 1]),
    )
    assert math.isfinite(loss.data)
    assert loss.data == pytest.approx((2000 + math.log(2 + math.exp(-1))) / 3)


@pytest.mark.torch
def test_hinge_against_torch(torch):
    scores = [s for s in randoms([9]) if abs(abs(s) - 1.0) > 1e-3]
    labels = [1.0 if i % 3 else -1.0 for i in range(len(scores))]
    check(
        hinge_loss,
        lambda f, y: torch.clamp(1 - y * f, min=0).mean(),
        scores,
        labels,
    )


@pytest.mark.torch
def test_logistic_against_torch(torch):
    check(
        logistic_loss,
        lambda f, y: torch.nn.functional.softplus(-y * f).mean(),
        [*randoms([6]), 800.0, -800.0],
        [1, -1, -1, 1, 1, -1, -1, -1],
    )


@pytest.mark.torch
def test_l2_against_torch(torch):
    model = MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.data += 0.1
    reg = l2_regularization(model, 1e-2)
    reg.backward()
    t = torch.tensor([p.data for p in model.parameters()], dtype=torch.float64, requires_grad=True)
    treg = 1e-2 * (t**2).sum()
    treg.backward()
    assert reg.data == pytest.approx(treg.item(), rel=1e-13)
    assert [p.grad for p in model.parameters()] == pytest.approx(t.grad.tolist(), rel=1e-13)
    assert l2_regularization(model.parameters(), 1e-2).data == reg.data
    assert l2_regularization([], 0.5).data == 0.0


# -- closed forms (no torch needed) -------------------------------------------------------------


def test_closed_forms():
    f = Value(0.3)
    assert bce_with_logits_loss(f, 1.0).data == pytest.approx(math.log1p(math.exp(-0.3)))
    assert logistic_loss(f, -1).data == pytest.approx(math.log1p(math.exp(0.3)))
    assert hinge_loss(f, -1).data == pytest.approx(1.3)
    assert bce_loss(Value(0.25), 0.0).data == pytest.approx(-math.log(0.75))
    assert mse_loss(Value(3.0), 1).data == 4.0
    logits = [Value(1.0), Value(2.0), Value(3.0)]
    loss = cross_entropy_loss(logits, 2)
    lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    assert loss.data == pytest.approx(lse - 3.0)
    loss.backward()
    softmax = [math.exp(x - lse) for x in (1.0, 2.0, 3.0)]
    assert [v.grad for v in logits] == pytest.approx([softmax[0], softmax[1], softmax[2] - 1])


def test_value_targets_give_the_same_loss_and_gradient():
    logits = [[0.3, -1.2, 2.0], [0.5, 0.5, -0.1]]
    cases = [
        (mse_loss, [0.2, -0.7], [0.1, 0.4]),
        (bce_loss, [0.2, 0.7], [1.0, 0.0]),
        (bce_with_logits_loss, [0.2, -0.7], [1.0, 0.0]),
        (hinge_loss, [0.2, -0.7], [1.0, -1.0]),
        (logistic_loss, [0.2, -0.7], [1.0, -1.0]),
        (cross_entropy_loss, logits, [[0.0, 0.0, 1.0], [0.2, 0.8, 0.0]]),
    ]
    for loss_fn, preds_data, targets in cases:
        plain = values(preds_data)
        as_numbers = loss_fn(plain, targets)
        as_numbers.backward()
        traced = values(preds_data)
        as_values = loss_fn(traced, values(targets))
        as_values.backward()
        assert as_values.data == pytest.approx(as_numbers.data, rel=1e-14), loss_fn.__name__
        assert grads(traced) == grads(plain), loss_fn.__name__


def test_batch_of_one_and_numpy_inputs():
    assert mse_loss(Value(2.0), 0.0).data == 4.0
    assert mse_loss(Value(2.0), np.float64(0.0)).data == 4.0
    preds = [Value(1.0), Value(2.0), Value(3.0)]
    assert mse_loss(preds, np.array([1, 2, 5])).data == pytest.approx(4 / 3)
    assert mse_loss(preds, np.array([[1], [2], [5]])).data == pytest.approx(4 / 3)
    assert hinge_loss(preds, np.array([1, -1, 1])).data == pytest.approx(1.0)
    logits = [[Value(0.0), Value(0.0)]]
    assert cross_entropy_loss(logits, np.array([1])).data == pytest.approx(math.log(2))
    assert cross_entropy_loss(logits, np.array([[0.0, 1.0]])).data == pytest.approx(math.log(2))
    assert mse_loss([0.5], [0.0]).data == 0.25


# -- bad input ----------------------------------------------------------------------------------


def test_shape_mismatch_names_both_shapes():
    three = [Value(0.1), Value(0.2), Value(0.3)]
    for loss_fn in (mse_loss, bce_loss, bce_with_logits_loss, hinge_loss, logistic_loss):
        with pytest.raises(ValueError, match="preds has 3 examples, targets has 2"):
            loss_fn(three, [1, 1])
    with pytest.raises(ValueError, match="example 1: preds has 2 values, targets has 3"):
        mse_loss([[0.0, 1.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0, 2.0]])
    logits = [[Value(0.0)] * 3] * 3
    with pytest.raises(ValueError, match="preds has 3 examples, targets has 2"):
        cross_entropy_loss(logits, [0, 1])
    with pytest.raises(ValueError, match="example 0: 3 logits, 2 target probabilities"):
        cross_entropy_loss(logits, [[0.5, 0.5]] * 3)


def test_cross_entropy_bad_targets():
    logits = [[Value(0.0)] * 10]
    with pytest.raises(ValueError, match="example 0: 10 logits, class index 12 out of range"):
        cross_entropy_loss(logits, [12])
    with pytest.raises(ValueError, match="class index -1 out of range"):
        cross_entropy_loss(logits, [-1])
    with pytest.raises(TypeError, match=r"expected an integer class index, got float 1\.5"):
        cross_entropy_loss(logits, [1.5])
    with pytest.raises(ValueError, match="at least 2 logits per example, example 0 has 1"):
        cross_entropy_loss([Value(1.0), Value(2.0)], [0, 1])
    with pytest.raises(TypeError, match="plain int, not a Value; pass one-hot targets"):
        cross_entropy_loss(logits, [Value(3.0)])
    with pytest.raises(TypeError, match="class index or a list of 10 probabilities"):
        cross_entropy_loss(logits, [{"a": 1}])


def test_pm1_losses_reject_01_targets():
    for loss_fn in (hinge_loss, logistic_loss):
        with pytest.raises(ValueError, match=r"targets in \{-1, \+1\}, got 0\.0.*to_pm1"):
            loss_fn([Value(0.5), Value(-0.5)], [1, 0])


def test_bce_rejects_values_outside_01():
    with pytest.raises(ValueError, match=r"probabilities in .*got 1\.7.*bce_with_logits_loss"):
        bce_loss([Value(1.7)], [1.0])
    with pytest.raises(ValueError, match=r"targets in \[0, 1\], got 2\.0"):
        bce_loss([Value(0.5)], [2.0])


def test_bad_types_and_options():
    with pytest.raises(ValueError, match="preds is empty"):
        mse_loss([], [])
    with pytest.raises(TypeError, match="preds: expected a list of Values or numbers, got str"):
        mse_loss("abc", [1, 2, 3])
    with pytest.raises(
        TypeError,
        match=r"targets\[1\]: expected a number, a Value or a non-empty list of them, got str",
    ):
        mse_loss([Value(1.0), Value(2.0)], [1.0, "x"])
    with pytest.raises(TypeError, match=r"preds\[0\]: expected a number, a Value or a non-empty"):
        mse_loss([[]], [[]])
    with pytest.raises(ValueError, match="reduction: expected one of 'mean', 'sum', got 'avg'"):
        mse_loss(Value(1.0), 0.0, reduction="avg")
    with pytest.raises(ValueError, match="alpha: expected a number >= 0"):
        l2_regularization([Value(1.0)], -1.0)
    with pytest.raises(TypeError, match="alpha: expected a number >= 0, got str"):
        l2_regularization([Value(1.0)], "0.1")
    with pytest.raises(TypeError, match="parameter 1: expected a Value, got float"):
        l2_regularization([Value(1.0), 2.0], 0.1)


def test_get_loss():
    assert set(LOSSES) == {
        "mse",
        "bce",
        "bce_logits",
        "bce_with_logits",
        "binary_cross_entropy_with_logits",
        "cross_entropy",
        "ce",
        "hinge",
        "logistic",
        "categorical_crossentropy",
        "categorical_cross_entropy",
        "sparse_categorical_crossentropy",
    }
    assert get_loss("mse") is mse_loss
    assert get_loss("CE") is cross_entropy_loss
    assert get_loss("cross-entropy") is cross_entropy_loss
    assert get_loss("hinge_loss") is hinge_loss
    assert get_loss("bce_with_logits") is bce_with_logits_loss

    def custom(preds, targets):
        return Value(0.0)

    assert get_loss(custom) is custom
    with pytest.raises(
        ValueError,
        match=(
            "loss: expected one of mse, bce, bce_logits, cross_entropy, categorical_crossentropy, "
            "hinge, logistic, got 'huber'"
        ),
    ):
        get_loss("huber")
    with pytest.raises(TypeError, match="loss: expected a name"):
        get_loss(42)


def test_hinge_gradient_at_the_margin_is_relus_not_torchs_clamp():
    f = Value(1.0)
    hinge_loss([f], [1.0]).backward()
    assert f.grad == 0.0  # relu'(0) = 0: the margin is met
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0], dtype=torch.float64, requires_grad=True)
    torch.clamp(1 - t, min=0).mean().backward()
    assert t.grad.item() == -1.0  # torch's clamp passes the gradient at the boundary
