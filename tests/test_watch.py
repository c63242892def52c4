"""TrainingView: what it records, checked against independent oracles.

The parameters after k recorded steps against a plain training loop and against ``fit``; each
example's contribution against that example's own backward pass; the optimizer's state against
``torch.optim``; the example graphs against a fresh backward; then the page, the mime bundle,
the command and the errors.
"""

# ruff: noqa: N806  (X is the data matrix)
from __future__ import annotations

import copy
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from microgradnn.cli import main
from microgradnn.data import batches, make_moons
from microgradnn.losses import get_loss, l2_regularization
from microgradnn.nn import MLP
from microgradnn.optim import SGD, get_optimizer
from microgradnn.train import evaluate, fit
from microgradnn.viz import TrainingView

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def _data(n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    return make_moons(n=n, noise=0.1, seed=1)


def _view(
    optimizer: str = "adam", batch_size: int | None = 7, l2: float = 1e-3, steps: int = 6, **kw: Any
) -> TrainingView:
    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    view = TrainingView(
        model,
        X,
        y,
        loss="bce_logits",
        optimizer=optimizer,
        lr=0.1,
        batch_size=batch_size,
        l2=l2,
        seed=5,
        **kw,
    )
    view.train(steps)
    return view


def _plain_loop(optimizer: str, batch_size: int | None, l2: float, steps: int) -> list[float]:
    """The lecture's loop, written out: same model seed, optimizer, batches and seed."""
    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    opt = get_optimizer(optimizer, model.parameters(), lr=0.1)
    rng = np.random.default_rng(5)
    done = 0
    while done < steps:
        for Xb, yb in batches(X, y, batch_size, shuffle=True, rng=rng):
            if done == steps:
                break
            model.zero_grad()
            loss = get_loss("bce_logits")([model(list(x)) for x in Xb.tolist()], yb.tolist())
            if l2:
                loss = loss + l2_regularization(model.parameters(), l2)
            loss.backward()
            opt.step()
            done += 1
    return [p.data for p in model.parameters()]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_parameters_after_k_steps_equal_a_plain_loop(optimizer: str, batch_size: int | None):
    view = _view(optimizer, batch_size, steps=6)
    expected = _plain_loop(optimizer, batch_size, 1e-3, 6)
    assert [p.data for p in view.model.parameters()] == expected
    assert view.frames[-1].after.tolist() == expected


def test_whole_epochs_equal_fit():
    view = _view("adam", 7, steps=8)  # 24 rows in batches of 7: 4 steps an epoch
    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    fit(
        model,
        X,
        y,
        loss="bce_logits",
        optimizer="adam",
        lr=0.1,
        epochs=2,
        batch_size=7,
        seed=5,
        l2=1e-3,
        progress=False,
    )
    assert [p.data for p in view.model.parameters()] == [p.data for p in model.parameters()]
    assert [f.epoch for f in view.frames] == [0, 0, 0, 0, 1, 1, 1, 1]
    assert [len(f.batch) for f in view.frames[:4]] == [7, 7, 7, 3]
    assert sorted(np.concatenate([f.batch for f in view.frames[:4]]).tolist()) == list(range(24))


def test_a_schedule_steps_once_per_epoch_as_in_fit():
    from microgradnn.lr_scheduler import StepLR

    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    view = TrainingView(model, X, y, loss="bce_logits", optimizer="momentum", lr=0.1,
                        batch_size=7, l2=1e-3, seed=5,
                        schedule=lambda opt: StepLR(opt, step_size=1, gamma=0.5))  # fmt: skip
    view.train(12)  # three epochs of 4 steps
    assert [f.lr for f in view.frames] == [0.1] * 4 + [0.05] * 4 + [0.025] * 4
    theirs = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    fit(theirs, X, y, loss="bce_logits", optimizer="momentum", lr=0.1, epochs=3, batch_size=7,
        seed=5, l2=1e-3, schedule=lambda opt: StepLR(opt, step_size=1, gamma=0.5),
        progress=False)  # fmt: skip
    assert [p.data for p in model.parameters()] == [p.data for p in theirs.parameters()]
    other = get_optimizer("sgd", MLP(2, [2, 1], seed=0).parameters())
    with pytest.raises(ValueError, match="bound to another optimizer"):
        TrainingView(MLP(2, [2, 1], seed=0), X, y, loss="bce_logits", schedule=StepLR(other, 1))
    with pytest.raises(TypeError, match="schedule: expected a schedule"):
        TrainingView(MLP(2, [2, 1], seed=0), X, y, loss="bce_logits", schedule=0.5)


def test_training_in_pieces_equals_training_at_once():
    whole = _view("momentum", 5, steps=7)
    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    view = TrainingView(
        model, X, y, loss="bce_logits", optimizer="momentum", lr=0.1, batch_size=5, l2=1e-3, seed=5
    )
    for k in (2, 0, 1, 4):
        view.train(k)
    assert [p.data for p in model.parameters()] == [p.data for p in whole.model.parameters()]


def test_a_frame_holds_the_step_before_and_after():
    view = _view("sgd", None, l2=0.0, steps=3)
    for f, g in zip(view.frames, view.frames[1:], strict=False):
        assert g.before.tolist() == f.after.tolist()
    f = view.frames[1]
    assert np.allclose(f.after, f.before - 0.1 * f.grad, rtol=0, atol=1e-15)
    assert view.frames[0].before.tolist() == view.initial.tolist()
    X, y = _data()
    assert view.frames[-1].train_loss == pytest.approx(
        evaluate(view.model, X, y, loss="bce_logits")["loss"], abs=1e-12
    )


@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_contributions_sum_to_the_batch_gradient(l2: float):
    view = _view("adam", 7, l2=l2, steps=5)
    for f in view.frames:
        total = f.contributions.sum(axis=0) + f.l2_grad
        assert np.max(np.abs(total - f.grad)) <= 1e-12
        assert np.allclose(f.l2_grad, 2 * l2 * f.before, rtol=0, atol=1e-15)


def test_each_contribution_is_that_examples_own_gradient_over_the_batch_size():
    view = _view("sgd", 7, steps=3)
    X, y = _data()
    f = view.frames[2]
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    for p, v in zip(model.parameters(), f.before.tolist(), strict=True):
        p.data = v
    for k, i in enumerate(f.batch.tolist()):
        model.zero_grad()
        get_loss("bce_logits")([model(X[i].tolist())], [float(y[i])]).backward()
        own = np.array([p.grad for p in model.parameters()])
        assert np.allclose(f.contributions[k], own / len(f.batch), rtol=1e-12, atol=1e-15)


def test_example_graphs_equal_a_fresh_backward():
    view = _view("adam", 7, steps=4, example=3, examples=[3, 10])
    X, y = _data()
    f = view.frames[3]
    assert sorted(f.examples) == [3, 10]
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    for p, v in zip(model.parameters(), f.before.tolist(), strict=True):
        p.data = v
    for i in (3, 10):
        loss = get_loss("bce_logits")([model(X[i].tolist())], [float(y[i])])
        model.zero_grad()
        loss.backward()
        order = loss.topological_order()
        g = f.examples[i]
        assert g.data.tolist() == [v.data for v in order]
        assert g.grad.tolist() == [v.grad for v in order]
        assert g.loss == loss.data


@pytest.mark.torch
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_optimizer_state_equals_torch_optim(optimizer: str):
    torch = pytest.importorskip("torch")
    view = _view(optimizer, 7, steps=6)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in view.initial]
    if optimizer == "adam":
        opt = torch.optim.Adam(params, lr=0.1)
    else:
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    for f in view.frames:
        for p, g in zip(params, f.grad.tolist(), strict=True):
            p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        got = np.array([p.item() for p in params])
        assert np.allclose(got, f.after, rtol=1e-12, atol=1e-14)
        names = ["exp_avg", "exp_avg_sq"] if optimizer == "adam" else ["momentum_buffer"]
        assert sorted(f.state) == sorted(names)
        for name in names:
            ref = np.array([opt.state[p][name].item() for p in params])
            assert np.allclose(f.state[name], ref, rtol=1e-12, atol=1e-16)


def test_per_layer_grads_and_dead_relus():
    X, y = _data()
    model = MLP(2, [3, 1], activation="relu", seed=0)
    model.layers[0].neurons[1].b.data = -100.0
    view = TrainingView(model, X, y, loss="bce_logits", lr=0.1)
    view.train(2)
    f = view.frames[-1]
    assert f.dead == (1, None)
    first = [p for n in model.layers[0].neurons for p in (*n.w, n.b)]
    idx = [i for i, p in enumerate(model.parameters()) if any(p is q for q in first)]
    assert f.layer_grad[0] == pytest.approx(np.mean(np.abs(f.grad[idx])), abs=1e-15)


def test_the_boundary_grid_is_the_models_output():
    view = _view("sgd", None, steps=2)
    from microgradnn.train import predict

    gx, gy = np.meshgrid(*view.grid_axes)
    grid = predict(view.model, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    assert np.allclose(view.frames[-1].grid, grid, rtol=0, atol=1e-12)


# -- the page and the mime bundle ----------------------------------------------------------------


def _page_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" class="mw-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


@needs_dot
def test_the_page_is_self_contained_and_holds_the_frames(tmp_path: Path):
    view = _view("adam", 7, steps=4)
    path = view.save_html(tmp_path / "watch.html")
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "<script src" not in page
    assert "<link" not in page
    data = _page_data(page)
    assert data["n"] == 4
    values = np.frombuffer(__import__("base64").b64decode(data["values"]), "<f4").reshape(5, -1)
    assert np.allclose(values[-1], view.frames[-1].after, rtol=1e-6, atol=1e-7)
    assert data["graph"]["ok"]
    assert data["graph"]["ids"]
    assert all(f'id="{i}"' in page for i in data["graph"]["ids"])
    assert data["batch"][0] == view.frames[0].batch.tolist()


def test_mime_bundle_is_static_safe():
    pytest.importorskip("matplotlib")
    view = _view("sgd", None, steps=2)
    bundle = view._repr_mimebundle_()
    assert bundle["text/plain"].startswith("TrainingView: 2 steps of SGD")
    assert bundle["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    if shutil.which("dot") is not None:
        fragment = bundle["text/html"]
        assert '<img class="mw-still"' in fragment
        assert "data:image/png;base64," in fragment
        assert re.search(r'class="mw-live" hidden', fragment)
    only_text = view._repr_mimebundle_(include=["text/plain"])
    assert list(only_text) == ["text/plain"]


def test_an_empty_view_shows_text_only():
    X, y = _data()
    view = TrainingView(MLP(2, [2, 1], seed=0), X, y, loss="bce_logits")
    assert list(view._repr_mimebundle_()) == ["text/plain"]
    with pytest.raises(ValueError, match="train"):
        view.page()


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"X": np.zeros((24, 3))}, ValueError, "expects 2 input features"),
        ({"X": np.zeros(24)}, ValueError, "expected 2-D"),
        ({"y": np.zeros(5)}, ValueError, "expected 24 rows"),
        ({"y": np.full(24, 3.0)}, ValueError, "between 0 and 1"),
        ({"example": 24}, ValueError, "example"),
        ({"examples": list(range(9))}, ValueError, "1 to 8 rows"),
        ({"example": 2, "examples": [0, 1]}, ValueError, "must be one of"),
        ({"optimizer": "adagrad"}, ValueError, "optimizer"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"l2": -1}, ValueError, "l2"),
        ({"loss": "nope"}, ValueError, "loss"),
        ({"model": "mlp"}, TypeError, "model"),
    ],
)
def test_bad_input_gets_a_clear_error(change: dict[str, Any], error: type, match: str):
    X, y = _data()
    args: dict[str, Any] = {"model": MLP(2, [2, 1], seed=0), "X": X, "y": y}
    kwargs: dict[str, Any] = {"loss": "bce_logits"}
    for k, v in change.items():
        (args if k in args else kwargs)[k] = v
    with pytest.raises(error, match=match):
        TrainingView(args["model"], args["X"], args["y"], **kwargs)


def test_an_optimizer_object_and_its_errors():
    X, y = _data()
    model = MLP(2, [2, 1], seed=0)
    view = TrainingView(model, X, y, loss="bce_logits", optimizer=SGD(model.parameters(), 0.2))
    view.train(1)
    assert view.frames[0].lr == 0.2
    with pytest.raises(ValueError, match="lr was given"):
        TrainingView(model, X, y, loss="bce_logits", optimizer=SGD(model.parameters()), lr=0.1)
    other = MLP(2, [2, 1], seed=1)
    with pytest.raises(ValueError, match=r"model\.parameters"):
        TrainingView(model, X, y, loss="bce_logits", optimizer=SGD(other.parameters()))
    with pytest.raises(ValueError, match="steps"):
        view.train(-1)


def test_dropout_is_refused():
    X, y = _data()
    with pytest.raises(ValueError, match=r"dropout=0\.0"):
        TrainingView(MLP(2, [2, 1], dropout=0.5, seed=0), X, y, loss="bce_logits")


def test_recording_a_copy_leaves_the_original_model_alone():
    X, y = _data()
    model = MLP(2, [2, 1], seed=0)
    before = [p.data for p in model.parameters()]
    view = TrainingView(copy.deepcopy(model), X, y, loss="bce_logits", lr=0.5)
    view.train(2)
    assert [p.data for p in model.parameters()] == before
    assert not math.isclose(view.frames[-1].after[0], before[0])


# -- the command ----------------------------------------------------------------------------------


@needs_dot
def test_watch_command_writes_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "moons.html"
    status = main(["watch", "--n", "20", "--layers", "3", "--steps", "3", "-o", str(out)])
    assert status == 0
    said = capsys.readouterr().out
    assert "recording 3 steps" in said
    assert f"wrote {out}" in said
    assert _page_data(out.read_text(encoding="utf-8"))["n"] == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--steps", "0"], "--steps"),
        (["--example", "500"], "--example 500: the data has 100 points"),
        (["--lr", "-1"], "--lr"),
        (["--layers", "8,x"], "--layers"),
    ],
)
def test_watch_command_refuses_bad_arguments(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert main(["watch", *argv, "-o", str(tmp_path / "w.html")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("error:") == 1
    assert not (tmp_path / "w.html").exists()


def test_watch_command_refuses_a_network_too_large(tmp_path: Path, capsys: pytest.CaptureFixture):
    assert main(["watch", "--layers", "64,64", "-o", str(tmp_path / "w.html")]) == 1
    assert "parameters" in capsys.readouterr().err


def test_watch_help_shows_the_defaults(capsys: pytest.CaptureFixture[str]):
    assert main(["watch", "--help"]) == 0
    text = capsys.readouterr().out
    assert "default 200" in text
    assert "defaults per data set" in text


def test_a_multiclass_page_draws_the_graphs_that_fit_its_one_layout(tmp_path: Path) -> None:
    """Cross-entropy picks the target's term, so examples of another class have another graph:
    the page draws the examples whose graph has the first one's shape, and no other."""
    import json
    import re

    from microgradnn.data import make_blobs

    X, y = make_blobs(n=30, centers=3, seed=0)
    view = TrainingView(
        MLP(2, [4, 3], activation="tanh", seed=0), X, y, loss="cross_entropy", lr=0.5
    )
    view.train(3)
    page = view.save_html(tmp_path / "blobs.html").read_text(encoding="utf-8")
    m = re.search(r'class="mw-data">(.*?)</script>', page, re.S)
    assert m is not None
    data = json.loads(m.group(1))
    assert data["n"] == 3
    drawn = {int(i) for i in data["graph"]["texts"]}
    same_class = {i for i in view.watched if y[i] == y[view.example]}
    assert drawn == same_class
    assert view.example in drawn


def test_each_examples_nodes_are_found_once_and_a_shared_node_falls_back() -> None:
    from microgradnn.engine import Value
    from microgradnn.viz.watch import _nodes_by_example

    w = Value(0.5, label="w")
    outs = [[(w * x).tanh()] for x in (1.0, 2.0, 3.0)]
    loss = Value.sum([o[0] for o in outs]) * 0.5
    nodes = _nodes_by_example(loss, outs)
    assert nodes is not None
    for row, own in zip(outs, nodes, strict=True):
        expected = [n for n in reversed(row[0].topological_order()) if n._op is not None]
        assert {id(n) for n in own} == {id(n) for n in expected}
        assert own[0] is row[0]  # consumers first: the output, then what it was made from
    shared = w * 2.0
    outs = [[(shared * x).tanh()] for x in (1.0, 2.0)]
    loss = outs[0][0] + outs[1][0]
    assert _nodes_by_example(loss, outs) is None


def test_a_multiclass_boundary_is_the_models_argmax_on_the_grid(tmp_path: Path) -> None:
    import base64

    from microgradnn.data import make_blobs

    X, y = make_blobs(n=30, centers=3, seed=1)
    model = MLP(2, [5, 3], activation="tanh", seed=0)
    view = TrainingView(model, X, y, loss="cross_entropy", optimizer="adam", lr=0.05)
    view.train(2)
    grid = view.frames[-1].grid
    assert grid is not None
    assert grid.shape == (32, 32, 3)
    assert view.grid_axes is not None
    gx, gy = np.meshgrid(*view.grid_axes)
    corner = [float(gx[0, -1]), float(gy[0, -1])]  # the model's own outputs there, now
    assert np.allclose(grid[0, -1], [o.data for o in model(corner)], rtol=1e-12, atol=1e-12)
    page = view.save_html(tmp_path / "blobs.html").read_text(encoding="utf-8")
    m = re.search(r'class="mw-data">(.*?)</script>', page, re.S)
    assert m is not None
    data = json.loads(m.group(1))["grid"]
    assert data["classes"] == 3
    classes = np.frombuffer(base64.b64decode(data["q"][-1]), dtype=np.int8).reshape(32, 32)
    assert (classes == np.argmax(grid, axis=2)).all()
    sure = np.frombuffer(base64.b64decode(data["sure"][-1]), dtype=np.int8)
    assert sure.min() >= 0
    assert sure.max() <= 127


def test_several_outputs_that_are_not_classes_draw_no_boundary() -> None:
    X = np.random.default_rng(0).normal(size=(12, 2))
    view = TrainingView(MLP(2, [3, 2], seed=0), X, X * 2.0, loss="mse", lr=0.1)
    view.train(1)
    assert view.grid_axes is None
    assert view.frames[0].grid is None


def test_a_bundle_renders_its_png_once_and_again_after_more_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = _view("sgd", None, l2=0.0, steps=2)
    calls: list[int] = []
    real = TrainingView.png
    monkeypatch.setattr(TrainingView, "png", lambda self: calls.append(1) or real(self))
    first = view._repr_mimebundle_()
    assert len(calls) == 1
    assert first["image/png"] == view._png()
    view.train(1)
    view._repr_mimebundle_()
    assert len(calls) == 2


def test_clipping_scales_the_step_as_in_fit_and_each_frame_says_by_how_much():
    X, y = _data()
    model = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    view = TrainingView(model, X, y, loss="bce_logits", optimizer="sgd", lr=0.5, batch_size=7,
                        l2=1e-3, seed=5, clip_grad_norm=0.6)  # fmt: skip
    view.train(8)
    theirs = MLP(2, [4, 3, 1], activation="tanh", seed=3)
    fit(theirs, X, y, loss="bce_logits", optimizer="sgd", lr=0.5, epochs=2, batch_size=7,
        seed=5, l2=1e-3, clip_grad_norm=0.6, progress=False)  # fmt: skip
    assert [p.data for p in model.parameters()] == [p.data for p in theirs.parameters()]
    clipped = 0
    for f in view.frames:
        unclipped = f.contributions.sum(axis=0) + f.l2_grad  # backward's grad, before clipping
        norm = float(np.sqrt(np.sum(unclipped**2)))
        assert f.grad_norm == pytest.approx(norm, rel=1e-12)
        assert f.clip_scale == pytest.approx(min(1.0, 0.6 / (norm + 1e-6)), rel=1e-12)
        np.testing.assert_allclose(f.grad, unclipped * f.clip_scale, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(f.after, f.before - 0.5 * f.grad, rtol=1e-12, atol=1e-15)
        clipped += f.clip_scale < 1
    assert 0 < clipped < len(view.frames), "some steps clipped, some not: both are tested"
    plain = TrainingView(MLP(2, [4, 3, 1], activation="tanh", seed=3), X, y, loss="bce_logits")
    plain.train(1)
    assert (plain.frames[0].grad_norm, plain.frames[0].clip_scale) == (None, 1.0)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        TrainingView(MLP(2, [2, 1], seed=0), X, y, loss="bce_logits", clip_grad_norm=0.0)
