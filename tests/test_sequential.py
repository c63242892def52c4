"""Sequential, Dense and Activation: the lecture's Keras slide, on microgradnn.

Oracles: an MLP built with the same weights (outputs, gradients, picture groups), central
differences on every parameter, closed forms (parameter counts, -log p), PyTorch (to_torch,
NLLLoss of log p) and a Layer built with the same seed (initialization).
"""

# X (capital) is the data matrix, as in the package.
# ruff: noqa: N806

from __future__ import annotations

import math
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from microgradnn import (
    MLP,
    Activation,
    Dense,
    Dropout,
    Layer,
    Sequential,
    Value,
    accuracy,
    categorical_crossentropy_loss,
    cross_entropy_loss,
    evaluate,
    fit,
    no_grad,
    predict,
)
from microgradnn.data import make_blobs
from microgradnn.functional import softmax
from microgradnn.losses import LOSS_INFO, loss_info
from microgradnn.nn import final_activation
from microgradnn.train import check_loss
from microgradnn.viz.clusters import assign_groups, graph_order, model_info

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")

N, H, K = 4, 5, 3


@pytest.fixture
def torch() -> Any:
    return pytest.importorskip("torch")


def slide(seed: int = 0) -> Sequential:
    """The lecture's five lines, verbatim, after seeding the global generator (as micrograd)."""
    random.seed(seed)
    model = Sequential()
    model.add(Dense(H, input_dim=N))  # weight matrix dim [N * H]
    model.add(Activation("tanh"))
    model.add(Dense(K))  # weight matrix dim [H x K]
    model.add(Activation("softmax"))
    return model


def same_mlp(model: Sequential) -> MLP:
    """An MLP N-H-K (tanh, linear output) holding the Sequential's weights."""
    mlp = MLP(N, [H, K], activation="tanh", seed=123)
    dense = [layer for layer in model.layers if isinstance(layer, Dense)]
    for theirs, ours in zip(mlp.layers, dense, strict=True):
        assert isinstance(theirs, Layer)
        for a, b in zip(theirs.neurons, ours.neurons, strict=True):
            for wa, wb in zip(a.w, b.w, strict=True):
                wa.data = wb.data
            assert a.b is not None
            assert b.b is not None
            a.b.data = b.b.data
    return mlp


def examples(n: int = 6, seed: int = 1) -> tuple[list[list[float]], list[int]]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, N)).tolist(), rng.integers(0, K, size=n).tolist()


# -- the slide -----------------------------------------------------------------------------------


def test_the_slide_runs_as_written() -> None:
    model = slide()
    assert len(model) == 4
    assert (model.nin, model.nout) == (N, K)
    assert (model[0].nin, model[2].nin) == (N, H)  # the second Dense read H from the first
    assert model.num_parameters() == N * H + H + H * K + K
    out = model([0.5, -1.0, 2.0, 0.0])
    assert isinstance(out, list)
    assert len(out) == K
    assert all(0.0 < p.data < 1.0 for p in out)
    assert math.isclose(sum(p.data for p in out), 1.0, abs_tol=1e-15)


def test_parameter_names_follow_the_layers() -> None:
    names = [name for name, _ in slide().named_parameters()]
    assert names[:3] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.w.2",
    ]
    assert names[N] == "layers.0.neurons.0.b"
    assert names[-1] == "layers.2.neurons.2.b"
    assert len(names) == len(set(names))
    assert not any(name.startswith(("layers.1", "layers.3")) for name in names)  # no parameters


def test_outputs_and_gradients_equal_an_mlp_with_the_same_weights() -> None:
    model = slide()
    mlp = same_mlp(model)
    X, y = examples()
    probs = [model(x) for x in X]
    logits = [mlp(x) for x in X]
    for p, z in zip(probs, logits, strict=True):
        expected = [v.data for v in softmax(z)]
        assert [v.data for v in p] == pytest.approx(expected, rel=1e-14, abs=1e-16)
    ours = categorical_crossentropy_loss(probs, y)
    theirs = cross_entropy_loss(logits, y)  # -log softmax(z)_y, fused: the same number
    assert ours.data == pytest.approx(theirs.data, rel=1e-12)
    ours.backward()
    theirs.backward()
    for (name, p), (_, q) in zip(model.named_parameters(), mlp.named_parameters(), strict=True):
        assert p.grad == pytest.approx(q.grad, rel=1e-9, abs=1e-12), name


def test_gradients_equal_central_differences() -> None:
    model = slide(3)
    X, y = examples(4, seed=2)

    def loss() -> Value:
        return categorical_crossentropy_loss([model(x) for x in X], y)

    loss().backward()
    h = 1e-6
    for name, p in model.named_parameters():
        start = p.data
        with no_grad():
            p.data = start + h
            up = loss().data
            p.data = start - h
            down = loss().data
        p.data = start
        assert p.grad == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-8), name


# -- initialization and seeding: a Layer's ------------------------------------------------------


def test_dense_draws_the_weights_a_layer_draws_with_the_same_seed() -> None:
    dense = Dense(3, input_dim=2, seed=7)
    layer = Layer(2, 3, seed=7)
    assert dense.state_dict() == layer.state_dict()
    built_later = Sequential(Dense(2, input_dim=5), Dense(3, seed=7))  # 2 inputs, drawn on add
    assert built_later[1].state_dict() == layer.state_dict()
    assert Dense(3, input_dim=2, seed=8).state_dict() != layer.state_dict()
    assert Dense(3, input_dim=2, init="he", seed=7).state_dict() == (
        Layer(2, 3, init="he", seed=7).state_dict()
    )


def test_global_seed_reproduces_the_slide() -> None:
    assert slide(0).state_dict() == slide(0).state_dict()
    assert slide(0).state_dict() != slide(1).state_dict()


# -- the Module API --------------------------------------------------------------------------------


def test_state_dict_round_trip_and_save_load(tmp_path: Path) -> None:
    a, b = slide(0), slide(1)
    x = [0.1, 0.2, -0.3, 0.4]
    assert [v.data for v in a(x)] != [v.data for v in b(x)]
    b.load_state_dict(a.state_dict())
    assert [v.data for v in a(x)] == [v.data for v in b(x)]
    path = tmp_path / "model.json"
    a.save(path)
    c = slide(2)
    c.load(path)
    assert c.state_dict() == a.state_dict()
    with pytest.raises(ValueError, match="expected Sequential"):
        Sequential(Dense(2, input_dim=N)).load(path)


def test_repr_rebuilds_the_same_architecture() -> None:
    model = Sequential(
        [Dense(3, input_dim=2, use_bias=False), Activation("relu"), Dense(2, activation="softmax")]
    )
    text = repr(model)
    assert text == (
        "Sequential([\n    Dense(3, use_bias=False, input_dim=2),\n    Activation('relu'),\n"
        "    Dense(2, activation='softmax', input_dim=3),\n])"
    )
    namespace = {"Sequential": Sequential, "Dense": Dense, "Activation": Activation}
    assert eval(text, namespace).config() == model.config()
    assert repr(Dense(3)) == "Dense(3)"
    assert repr(Sequential(Dense(2, input_dim=1))) == "Sequential([Dense(2, input_dim=1)])"


def test_len_indexing_and_iteration() -> None:
    model = slide()
    assert [type(m).__name__ for m in model] == ["Dense", "Activation", "Dense", "Activation"]
    assert model[-1] is model.layers[3]
    with pytest.raises(IndexError, match="index 4 out of range: the model has 4 layers"):
        model[4]
    with pytest.raises(TypeError, match="index: expected an int, got str"):
        model["0"]  # type: ignore[index]


def test_train_and_eval_reach_every_layer() -> None:
    model = Sequential(Dense(8, input_dim=2, seed=0), Activation("tanh"), Dropout(0.5, seed=0))
    model.add(Dense(1, seed=1))
    x = [1.0, -1.0]
    model.eval()
    assert not any(m.training for m in model.modules())
    assert model(x).data == model(x).data  # dropout off: deterministic
    model.train()
    assert all(m.training for m in model.modules())
    assert len({model(x).data for _ in range(5)}) > 1  # dropout on: a fresh mask each call


def test_a_dense_can_end_in_softmax_and_a_sequential_can_nest() -> None:
    inner = Sequential(Dense(3, input_dim=2, seed=0), Activation("tanh"))
    model = Sequential(inner, Dense(4, activation="softmax", seed=1))
    assert model[1].nin == 3
    out = model([0.3, 0.7])
    hidden = [v.data for v in inner([0.3, 0.7])]
    dense = model[1]
    assert isinstance(dense, Dense)
    z = [sum(w.data * h for w, h in zip(n.w, hidden, strict=True)) for n in dense.neurons]
    expected = [math.exp(v) / sum(math.exp(u) for u in z) for v in z]
    assert [p.data for p in out] == pytest.approx(expected, rel=1e-12)


# -- training --------------------------------------------------------------------------------------


def test_fit_trains_the_slide_on_three_blobs() -> None:
    X, y = make_blobs(n=150, centers=3, seed=0)
    random.seed(0)
    model = Sequential()
    model.add(Dense(8, input_dim=2))
    model.add(Activation("tanh"))
    model.add(Dense(3))
    model.add(Activation("softmax"))
    start = time.perf_counter()
    history = fit(
        model,
        X,
        y,
        loss="categorical_crossentropy",
        optimizer="adam",
        lr=0.05,
        epochs=40,
        batch_size=32,
        progress=False,
        compiled=True,
    )
    assert time.perf_counter() - start < 20
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    labels = np.argmax(predict(model, X), axis=1)
    assert np.mean(labels == y) >= 0.95  # the argmax of the probabilities, by hand
    assert accuracy(model, X, y, loss="categorical_crossentropy") == np.mean(labels == y)
    assert evaluate(model, X, y, loss="sparse_categorical_crossentropy")["loss"] == (
        pytest.approx(history.train_loss[-1], rel=0.5)
    )


def test_compiled_and_eager_training_agree() -> None:
    X, y = make_blobs(n=60, centers=3, seed=1)
    runs = []
    for compiled in (False, True):
        model = Sequential(Dense(H, input_dim=2, seed=5), Activation("tanh"), Dense(K, seed=6))
        model.add(Activation("softmax"))
        history = fit(
            model,
            X,
            y,
            loss="categorical_crossentropy",
            optimizer="sgd",
            lr=0.5,
            epochs=4,
            batch_size=16,
            progress=False,
            compiled=compiled,
        )
        runs.append((history.train_loss, model.state_dict(), predict(model, X, compiled=compiled)))
    (eager_loss, eager_state, eager_out), (comp_loss, comp_state, comp_out) = runs
    assert comp_loss == pytest.approx(eager_loss, rel=1e-10)
    for key, value in eager_state.items():
        assert comp_state[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    np.testing.assert_allclose(comp_out, eager_out, rtol=1e-10)


# -- the refusal: softmax twice --------------------------------------------------------------------


def test_fit_refuses_a_logits_loss_on_a_softmax_model_naming_both_fixes() -> None:
    model = slide()
    X, y = make_blobs(n=30, centers=3, dim=N, seed=0)
    before = model.state_dict()
    for loss in ("cross_entropy", "ce", "CE"):
        with pytest.raises(ValueError, match="ends in softmax") as err:
            fit(model, X, y, loss=loss, epochs=1, progress=False)
        text = str(err.value)
        assert "this model ends in softmax (layers.3, Activation('softmax'))" in text
        assert "loss 'cross_entropy' applies softmax itself" in text
        assert "use loss='categorical_crossentropy'" in text
        assert "drop the final Activation('softmax')" in text
    with pytest.raises(ValueError, match="ends in softmax"):
        evaluate(model, X, y, loss="cross_entropy")
    with pytest.raises(ValueError, match="ends in softmax"):
        fit(model, X, y, loss=cross_entropy_loss, epochs=1, progress=False, compiled=True)
    assert model.state_dict() == before  # refused before any step


def test_the_claim_in_the_refusal_softmax_twice_cannot_reach_zero() -> None:
    perfect = [[Value(1.0), Value(0.0), Value(0.0)]]  # a softmax output sure of class 0
    floor = cross_entropy_loss(perfect, [0]).data
    assert floor == pytest.approx(math.log(1 + (K - 1) / math.e), rel=1e-12)
    assert floor > 0.5


@pytest.mark.parametrize(
    ("model", "where", "undo"),
    [
        (
            Sequential(Dense(3, input_dim=2), Dense(3, activation="softmax")),
            "layers.1, Dense(3, activation='softmax', input_dim=3)",
            "build the last Dense without activation='softmax'",
        ),
        (
            Sequential(Dense(3, input_dim=2), Activation("softmax"), Dropout(0.2)),
            "layers.1, Activation('softmax')",
            "drop the final Activation('softmax')",
        ),
        (
            MLP(2, [4, 3], output_activation="softmax", seed=0),
            "MLP(2, [4, 3], activation='relu', output_activation='softmax')",
            "build the MLP without output_activation='softmax'",
        ),
    ],
)
def test_every_way_to_end_in_softmax_is_found(model: Any, where: str, undo: str) -> None:
    found = final_activation(model)
    assert found is not None
    assert (found.name, found.where, found.undo) == ("softmax", where, undo)
    with pytest.raises(ValueError, match="use loss='categorical_crossentropy'"):
        check_loss(model, "cross_entropy")
    check_loss(model, "categorical_crossentropy")  # the right pair passes


def test_the_binary_analogue_sigmoid_then_bce_logits_is_refused() -> None:
    X, y = make_blobs(n=20, centers=2, seed=0)
    models = [
        Sequential(Dense(1, input_dim=2, seed=0), Activation("sigmoid")),
        MLP(2, [3, 1], output_activation="sigmoid", seed=0),
    ]
    for model in models:
        with pytest.raises(ValueError, match="ends in sigmoid") as err:
            fit(model, X, y, loss="bce_logits", epochs=1, progress=False)
        assert "applies sigmoid itself" in str(err.value)
        assert "use loss='bce'" in str(err.value)
        fit(model, X, y, loss="bce", epochs=1, progress=False)


def test_raw_outputs_and_other_losses_are_not_refused() -> None:
    logits = Sequential(Dense(3, input_dim=2, seed=0), Activation("tanh"), Dense(3, seed=1))
    assert final_activation(logits) == final_activation(logits)
    found = final_activation(logits)
    assert found is not None
    assert found.name == "linear"
    check_loss(logits, "cross_entropy")
    check_loss(slide(), "mse")  # on probabilities, a (poor) loss that applies nothing
    check_loss(slide(), lambda preds, targets: Value(0.0))  # a loss of your own: no row
    assert final_activation(object()) is None


# -- the loss on probabilities ---------------------------------------------------------------------


@pytest.mark.torch
def test_categorical_crossentropy_matches_torch_nll_of_log_p(torch: Any) -> None:
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(K), size=7)
    y = rng.integers(0, K, size=7)
    for reduction in ("mean", "sum"):
        ours = [[Value(v) for v in row] for row in p.tolist()]
        loss = categorical_crossentropy_loss(ours, y.tolist(), reduction=reduction)
        loss.backward()
        tp = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        theirs = torch.nn.NLLLoss(reduction=reduction)(torch.log(tp), torch.tensor(y))
        theirs.backward()
        assert loss.data == pytest.approx(theirs.item(), rel=1e-12)
        grads = np.array([[v.grad for v in row] for row in ours])
        np.testing.assert_allclose(grads, tp.grad.numpy(), rtol=1e-10)
    one_hot = np.eye(K)[y].tolist()
    assert categorical_crossentropy_loss(
        [[Value(v) for v in row] for row in p.tolist()], one_hot
    ).data == pytest.approx(-np.mean(np.log(p[np.arange(7), y])), rel=1e-12)


def test_categorical_crossentropy_closed_form_and_clamp() -> None:
    assert categorical_crossentropy_loss([[Value(0.25), Value(0.75)]], [1]).data == (
        pytest.approx(-math.log(0.75), rel=1e-12)
    )
    zero = categorical_crossentropy_loss([[Value(1.0), Value(0.0)]], [1])
    assert zero.data == pytest.approx(-math.log(1e-12), rel=1e-9)  # finite, not inf


def test_categorical_crossentropy_refuses_logits() -> None:
    with pytest.raises(ValueError, match=r"summing to 1 .*sum 3\b.*use cross_entropy_loss"):
        categorical_crossentropy_loss([[Value(2.0), Value(1.0), Value(0.0)]], [0])
    with pytest.raises(ValueError, match="each in \\[0, 1\\]"):
        categorical_crossentropy_loss([[Value(1.5), Value(-0.5)]], [0])
    with pytest.raises(ValueError, match=r"at least 2 probabilities per example.*use bce_loss"):
        categorical_crossentropy_loss([[Value(1.0)]], [0])
    with pytest.raises(ValueError, match="3 probabilities, class index 3 out of range"):
        categorical_crossentropy_loss([[Value(0.2), Value(0.3), Value(0.5)]], [3])


def test_the_loss_row_says_it_wants_softmax() -> None:
    row = LOSS_INFO["categorical_crossentropy"]
    assert (row.targets, row.output_activation, row.applies) == ("classes", "softmax", None)
    assert loss_info("sparse_categorical_crossentropy") is row
    assert loss_info("categorical_cross_entropy_loss") is row
    assert loss_info("cross_entropy").applies == "softmax"  # type: ignore[union-attr]


# -- to_torch -------------------------------------------------------------------------------------


@pytest.mark.torch
def test_to_torch_is_the_same_network_with_the_same_gradients(torch: Any) -> None:
    model = slide(4)
    seq = model.to_torch()
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear", "Softmax"]
    assert tuple(seq[0].weight.shape) == (H, N)  # torch stores [out x in]: the slide's N * H
    X, y = examples(5, seed=3)
    ours = [model(x) for x in X]
    loss = categorical_crossentropy_loss(ours, y)
    loss.backward()
    probs = seq(torch.tensor(X, dtype=torch.float64))
    np.testing.assert_allclose(
        probs.detach().numpy(), [[v.data for v in row] for row in ours], rtol=1e-13
    )
    theirs = torch.nn.NLLLoss()(torch.log(probs), torch.tensor(y))
    theirs.backward()
    assert loss.data == pytest.approx(theirs.item(), rel=1e-12)
    for ours_dense, linear in ((model[0], seq[0]), (model[2], seq[2])):
        assert isinstance(ours_dense, Dense)
        w = [[p.grad for p in n.w] for n in ours_dense.neurons]
        b = [n.b.grad for n in ours_dense.neurons if n.b is not None]
        np.testing.assert_allclose(w, linear.weight.grad.numpy(), rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(b, linear.bias.grad.numpy(), rtol=1e-9, atol=1e-13)


def every_layer_kind() -> Sequential:
    """Dense with several activations, a shared PReLU, Dropout, ops torch lacks, softmax."""
    shared = Activation("prelu")
    shared.activation.alpha.data = 0.1
    return Sequential(
        Dense(4, input_dim=3, activation="leaky_relu", seed=0),
        shared,
        Dropout(0.3, seed=0),
        Dense(4, activation="hard_sigmoid", seed=1),
        Activation("sign"),
        Dense(2, activation="softmax", seed=2),
    )


@pytest.mark.torch
def test_to_torch_of_every_layer_kind(torch: Any) -> None:
    model = every_layer_kind().eval()
    seq = model.to_torch()
    kinds = [type(m).__name__ for m in seq]
    assert kinds == [
        "Linear",
        "LeakyReLU",
        "PReLU",
        "Dropout",
        "Linear",
        "MicrogradnnActivation",
        "MicrogradnnActivation",
        "Linear",
        "Softmax",
    ]
    assert not seq.training
    X = np.random.default_rng(4).normal(size=(6, 3))
    ours = [[v.data for v in model(x)] for x in X.tolist()]
    np.testing.assert_allclose(seq(torch.tensor(X)).detach().numpy(), ours, rtol=1e-12)


@pytest.mark.torch
def test_an_mlp_with_a_softmax_output_goes_to_torch_and_back(torch: Any) -> None:
    mlp = MLP(2, [4, 3], activation="tanh", output_activation="softmax", seed=0)
    seq = mlp.to_torch()
    assert type(seq[-1]).__name__ == "Softmax"
    back = MLP.from_torch(seq)
    assert back.config() == mlp.config()
    assert back.state_dict() == mlp.state_dict()
    with pytest.raises(ValueError, match="softmax only after its last Linear"):
        MLP.from_torch(
            torch.nn.Sequential(
                torch.nn.Linear(2, 3), torch.nn.Softmax(dim=-1), torch.nn.Linear(3, 2)
            )
        )


@pytest.mark.torch
def test_a_torch_network_an_mlp_cannot_hold_comes_back_as_a_sequential(torch: Any) -> None:
    # Another activation after each layer, dropout in the middle, a layer without biases,
    # per-output PReLU slopes, a nested Sequential: torch's own outputs are the oracle.
    nn_ = torch.nn
    torch.manual_seed(0)
    theirs = nn_.Sequential(
        nn_.Linear(3, 5),
        nn_.Tanh(),
        nn_.Dropout(0.2),
        nn_.Linear(5, 4, bias=False),
        nn_.PReLU(4),
        nn_.Sequential(nn_.Linear(4, 4), nn_.ReLU(), nn_.Identity()),
        nn_.Linear(4, 4),
        nn_.PReLU(),
        nn_.Linear(4, 3),
        nn_.Softmax(dim=-1),
    ).double()
    with torch.no_grad():
        theirs[4].weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.05]))
        theirs[7].weight.fill_(0.4)
    theirs.eval()
    with pytest.raises(ValueError, match=r"Sequential\.from_torch keeps each layer's own"):
        MLP.from_torch(theirs)
    ours = Sequential.from_torch(theirs)
    assert [repr(layer) for layer in ours] == [
        "Dense(5, input_dim=3)",
        "Activation('tanh')",
        "Dropout(p=0.2)",
        "Dense(4, activation='prelu', use_bias=False, input_dim=5)",
        "Dense(4, input_dim=4)",
        "Activation('relu')",
        "Dense(4, input_dim=4)",
        "Activation('prelu')",
        "Dense(3, input_dim=4)",
        "Activation('softmax')",
    ]
    assert not ours.training
    X = np.random.default_rng(1).normal(size=(7, 3))
    got = [[v.data for v in ours(x)] for x in X.tolist()]
    np.testing.assert_allclose(got, theirs(torch.tensor(X)).detach().numpy(), rtol=1e-12)
    # ... and it goes back to the same torch network, weights and all.
    again = ours.to_torch().eval()
    assert [type(m).__name__ for m in again] == [
        type(m).__name__
        for m in theirs.modules()
        if not isinstance(m, nn_.Sequential | nn_.Identity)
    ]
    np.testing.assert_allclose(
        again(torch.tensor(X)).detach().numpy(),
        theirs(torch.tensor(X)).detach().numpy(),
        rtol=1e-12,
    )


@pytest.mark.torch
def test_every_layer_kind_goes_to_torch_and_back_unchanged(torch: Any) -> None:
    model = every_layer_kind()
    back = Sequential.from_torch(model.to_torch())
    assert back.training
    back.eval()
    model.eval()
    X = np.random.default_rng(4).normal(size=(6, 3)).tolist()
    assert [[v.data for v in back(x)] for x in X] == [[v.data for v in model(x)] for x in X]


@pytest.mark.torch
def test_sequential_from_torch_refuses_what_it_cannot_rebuild(torch: Any) -> None:
    nn_ = torch.nn
    cases = [
        (nn_.Sequential(nn_.ReLU(), nn_.Linear(2, 1)), "expects a torch.nn.Linear first"),
        (nn_.Sequential(), "got nothing"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.GELU()), "does not know GELU"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.LeakyReLU(0.2)), "slope 0.2"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.Softmax(dim=0)), r"Softmax\(dim=0\)"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.ReLU(), nn_.PReLU(3)), "PReLU with 3 slopes"),
        (nn_.Sequential(nn_.Linear(2, 4), nn_.PReLU(3)), "a Linear of 3 outputs"),
        (nn_.Sequential(nn_.Linear(2, 3), nn_.Linear(4, 1)), "takes 4 inputs"),
    ]
    for seq, message in cases:
        with pytest.raises(ValueError, match=message):
            Sequential.from_torch(seq)
    with pytest.raises(TypeError, match=r"expected a torch\.nn\.Sequential"):
        Sequential.from_torch("Linear(2, 3)")


# -- pictures: clustered by neuron, as the MLP ---------------------------------------------------


def test_pictures_group_the_nodes_as_for_the_same_mlp() -> None:
    model = slide(2)
    mlp = MLP(N, [H, K], activation="tanh", output_activation="softmax", seed=9)
    mlp.load_state_dict(
        dict(
            zip(
                [name for name, _ in mlp.named_parameters()],
                model.state_dict().values(),
                strict=True,
            )
        )
    )
    x = [0.5, -0.25, 1.0, 0.0]
    graphs = []
    for m in (model, mlp):
        loss = categorical_crossentropy_loss([m(x)], [2])
        order = graph_order([loss])
        info = model_info(m)
        groups = assign_groups(order, info)
        graphs.append((info, groups))
    (info_s, groups_s), (info_m, groups_m) = graphs
    assert [n.activation for n in info_s.neurons] == [n.activation for n in info_m.neurons]
    assert info_s.layer_names == ["layers.0", "layers.2"]
    assert [n.short for n in info_s.neurons][:1] + [n.short for n in info_s.neurons][H : H + 1] == [
        "L0.N0",
        "L2.N0",  # the names of the parameters: layers.2.neurons.0.w.0 -> L2.N0.w0
    ]
    assert groups_s.groups == groups_m.groups  # the same nodes in the same neurons
    assert groups_s.activations == groups_m.activations
    assert all(len(a) == 1 for a in groups_s.activations[:H])  # each hidden tanh found


@needs_dot
def test_draw_dot_of_the_slide_clustered_by_neuron() -> None:
    from microgradnn import draw_dot

    model = slide()
    loss = categorical_crossentropy_loss([model([1.0, 0.0, -1.0, 0.5])], [0])
    loss.backward()
    svg = draw_dot(loss, model=model, cluster="neuron").pipe(format="svg").decode()
    for title in ("L0.N0", "L0.N4", "L2.N0", "L2.N2"):
        assert title in svg
    assert svg.count(">tanh<") >= H


# -- bad input -------------------------------------------------------------------------------------


def test_bad_arguments_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="units: expected an integer >= 1, got 0"):
        Dense(0)
    with pytest.raises(TypeError, match="units: expected an integer >= 1, got str 'a'"):
        Dense("a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="units: expected an integer >= 1, got float"):
        Dense(2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input_dim: expected an integer >= 1, got -1"):
        Dense(2, input_dim=-1)
    with pytest.raises(ValueError, match="input_dim or input_shape, not both"):
        Dense(2, input_dim=3, input_shape=(3,))
    with pytest.raises(ValueError, match=r"input_shape: expected one number of inputs, as \(N,\)"):
        Dense(2, input_shape=(3, 4))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"softmax over a single output is always 1\.0"):
        Dense(1, activation="softmax")
    with pytest.raises(TypeError, match="use_bias: expected True or False"):
        Dense(2, use_bias="no")  # type: ignore[arg-type]


def test_an_unknown_activation_lists_the_known_names() -> None:
    with pytest.raises(ValueError, match="activation: expected one of") as err:
        Activation("nope")
    text = str(err.value)
    for name in ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "prelu", "softmax"):
        assert name in text
    assert text.endswith("got 'nope'")
    with pytest.raises(TypeError, match=r"activation: expected a name .* got int 3"):
        Activation(3)  # type: ignore[arg-type]
    assert Activation("Softmax").activation_name == "softmax"
    assert Activation("logistic").activation_name == "sigmoid"


def test_building_mistakes_get_clear_errors() -> None:
    with pytest.raises(
        ValueError, match=r"first layer .* Dense\(4, input_dim=N\) .* without input_dim"
    ):
        Sequential().add(Dense(4))
    with pytest.raises(ValueError, match=r"first layer .* got Activation\('tanh'\)"):
        Sequential(Activation("tanh"))
    with pytest.raises(TypeError, match=r"the class itself: did you mean Dense\(...\)"):
        Sequential().add(Dense)  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"layer 1 .* takes 5 inputs, but the layer before gives 3"
    ):
        Sequential(Dense(3, input_dim=2), Dense(4, input_dim=5))
    with pytest.raises(ValueError, match="softmax over a single output"):
        Sequential(Dense(1, input_dim=2), Activation("softmax"))
    model = Sequential(Dense(2, input_dim=2))
    with pytest.raises(ValueError, match="cannot contain itself"):
        model.add(model)
    with pytest.raises(ValueError, match="Dense\\(3\\) does not know its number of inputs yet"):
        Dense(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="has no layers yet"):
        Sequential()([1.0])
    with pytest.raises(ValueError, match="expected 4 inputs, got 3"):
        slide()([1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="input 1: expected a number or a Value, got str"):
        slide()([1.0, "2", 3.0, 4.0])
