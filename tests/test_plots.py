"""Tests for microgradnn.viz.plots: figures are built, and the data in them is right.

No pixel comparisons: each test reads the lines, points and meshes back from the axes and
compares them with numpy formulas from the weights or with the scalar engine.
"""

# ruff: noqa: N803, N806  (X is the data matrix)
from __future__ import annotations

import math
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (extra 'plot')")

from microgradnn import Value
from microgradnn.nn import MLP
from microgradnn.train import History, fit
from microgradnn.viz.plots import (
    GradientMonitor,
    batch_forward,
    count_dead_relus,
    dead_relus,
    plot_dead_relus,
    plot_decision_boundary,
    plot_grad_magnitudes,
    plot_history,
    plot_loss,
    plot_regression_fit,
)


def scalar_outputs(model: MLP, X: np.ndarray) -> np.ndarray:
    rows = []
    for x in X:
        out = model(list(x))
        outs = out if isinstance(out, list) else [out]
        rows.append([o.data for o in outs])
    return np.array(rows)


# -- loss curves ----------------------------------------------------------------------------------


def test_plot_loss_lines_hold_the_history() -> None:
    h = History(
        train_loss=[1.0, 0.5, 0.25],
        val_loss=[1.2, 0.7, 0.4],
        train_acc=[0.5, 0.75, 1.0],
        val_acc=[0.4, None, 0.9],
    )
    fig = plot_loss(h)
    loss_ax, acc_ax = fig.axes[:2]
    assert [ln.get_label() for ln in loss_ax.lines] == ["train", "validation"]
    assert list(loss_ax.lines[0].get_xdata()) == [1, 2, 3]
    assert list(loss_ax.lines[0].get_ydata()) == h.train_loss
    assert list(loss_ax.lines[1].get_ydata()) == h.val_loss
    assert len(acc_ax.lines) == 2
    val_acc = acc_ax.lines[1].get_ydata()
    assert val_acc[0] == 0.4
    assert math.isnan(val_acc[1])
    assert val_acc[2] == 0.9
    assert plot_history is plot_loss


def test_plot_loss_regression_history_list_and_dict() -> None:
    fig = plot_loss(History(train_loss=[3.0, 2.0], train_acc=[None, None]))
    assert len(fig.axes) == 1
    assert len(fig.axes[0].lines) == 1
    fig2 = plot_loss([4.0, 1.0, 0.5], log_scale=True)
    assert fig2.axes[0].get_yscale() == "log"
    assert list(fig2.axes[0].lines[0].get_ydata()) == [4.0, 1.0, 0.5]
    fig3 = plot_loss({"train_loss": [1.0], "val_loss": [2.0]})
    assert len(fig3.axes[0].lines) == 2


def test_plot_loss_into_given_axes() -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    assert plot_loss([1.0, 0.5], ax=ax) is fig
    assert len(ax.lines) == 1


def test_plot_loss_bad_input() -> None:
    with pytest.raises(TypeError, match=r"history: expected a History.*got int 3"):
        plot_loss(3)
    with pytest.raises(ValueError, match="no losses to plot"):
        plot_loss(History())
    with pytest.raises(TypeError, match="ax: expected a matplotlib Axes, got str 'left'"):
        plot_loss([1.0], ax="left")


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install 'microgradnn\[plot\]'"):
        plot_loss([1.0])


# -- batch evaluation -----------------------------------------------------------------------------


def test_batch_forward_equals_the_scalar_engine() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    for model in (
        MLP(3, [5, 4, 2], activation="tanh", seed=1),
        MLP(3, [4, 1], activation="leaky_relu", seed=2),
        MLP(3, [4, 1], activation="prelu", seed=3),
        MLP(3, [4, 1], activation="relu", seed=4, dropout=0.5),  # dropout off, as in eval
    ):
        got = batch_forward(model, X)
        if model.dropout:
            model.eval()
        expected = scalar_outputs(model, X)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        model.train()
    with pytest.raises(ValueError, match="the model expects 3 input features, got 2 columns"):
        batch_forward(MLP(3, [1], seed=0), np.zeros((2, 2)))


@pytest.mark.torch
def test_batch_forward_equals_torch() -> None:
    torch = pytest.importorskip("torch")
    model = MLP(2, [6, 6, 1], activation="sigmoid", seed=5)
    X = np.random.default_rng(1).normal(size=(50, 2))
    expected = model.to_torch()(torch.tensor(X, dtype=torch.float64)).detach().numpy()
    np.testing.assert_allclose(batch_forward(model, X), expected, rtol=1e-10, atol=1e-12)


# -- decision boundary ----------------------------------------------------------------------------


def test_decision_boundary_points_heatmap_and_neuron_lines() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLP(2, [5, 1], activation="tanh", seed=0)
    fig = plot_decision_boundary(model, X, y, resolution=25, neuron_lines=True)
    ax = fig.axes[0]
    assert len(ax.lines) == 5  # one zero line per first-layer neuron
    points = next(c for c in ax.collections if c.get_offsets().shape == (30, 2))
    np.testing.assert_array_equal(np.asarray(points.get_offsets()), X)
    mesh = next(c for c in ax.collections if hasattr(c, "get_coordinates"))
    values = np.asarray(mesh.get_array()).reshape(25, 25)
    gx = np.linspace(X[:, 0].min() - 0.5, X[:, 0].max() + 0.5, 25)  # the default margin
    gy = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 25)
    for i, j in [(0, 0), (3, 17), (24, 24), (12, 5)]:
        x0, x1 = float(gx[j]), float(gy[i])
        assert values[i, j] == pytest.approx(model([x0, x1]).data, rel=1e-12, abs=1e-12)
    # each dashed line satisfies w·x + b = 0 for its neuron
    for line, neuron in zip(ax.lines, model.layers[0].neurons, strict=True):
        xs, ys = line.get_xdata(), line.get_ydata()
        w0, w1, b = neuron.w[0].data, neuron.w[1].data, neuron.b.data
        np.testing.assert_allclose(w0 * np.asarray(xs) + w1 * np.asarray(ys) + b, 0, atol=1e-9)


def test_decision_boundary_multiclass_and_pm1_labels() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(12, 2))
    y = np.arange(12) % 3
    fig = plot_decision_boundary(MLP(2, [4, 3], seed=0), X, y, resolution=10)
    mesh = next(c for c in fig.axes[0].collections if hasattr(c, "get_coordinates"))
    classes = np.asarray(mesh.get_array())
    assert set(np.unique(classes)) <= {0, 1, 2}
    fig2 = plot_decision_boundary(MLP(2, [3, 1], seed=0), X, np.where(y > 0, 1, -1), resolution=10)
    assert len(fig2.axes[0].lines) == 0


def test_decision_boundary_bad_input() -> None:
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"X: expected shape \(N, 2\) .*got \(4, 3\)"):
        plot_decision_boundary(model, np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(
        ValueError, match=r"y: expected one label per row of X, shape \(4,\), got shape \(3,\)"
    ):
        plot_decision_boundary(model, np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="model with 2 inputs, got one with 3"):
        plot_decision_boundary(MLP(3, [1], seed=0), np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="resolution: expected an integer >= 2, got 1"):
        plot_decision_boundary(model, np.zeros((4, 2)), np.zeros(4), resolution=1)
    with pytest.raises(ValueError, match="loss: expected one of mse, bce"):
        plot_decision_boundary(model, np.zeros((4, 2)), np.zeros(4), loss="hingee")


def _mesh(fig: object) -> object:
    ax = fig.axes[0]  # type: ignore[attr-defined]
    return next(c for c in ax.collections if hasattr(c, "get_coordinates"))


def test_decision_threshold_follows_the_loss_row_then_the_output_op() -> None:
    from matplotlib.contour import ContourSet

    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(int)
    linear = MLP(2, [3, 1], activation="tanh", seed=0)
    sigmoid = MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)

    def own_loss(preds: list[Value], targets: list[float]) -> Value:
        return preds[0] * 0.0

    cases: list[tuple[MLP, dict[str, object], float]] = [
        (linear, {}, 0.0),  # a score: decide at 0
        (sigmoid, {}, 0.5),  # a probability: decide at 0.5
        (linear, {"loss": "bce"}, 0.5),  # the loss row decides over the output op
        (sigmoid, {"loss": "bce_logits"}, 0.0),
        (sigmoid, {"loss": "hinge"}, 0.0),
        (sigmoid, {"loss": "cross_entropy"}, 0.5),  # no threshold in that row: the op's
        (linear, {"loss": own_loss}, 0.0),  # a loss of your own has no row
        (sigmoid, {"loss": "bce_logits", "threshold": 0.3}, 0.3),  # given: it wins
    ]
    for model, kwargs, expected in cases:
        fig = plot_decision_boundary(model, X, y, resolution=12, **kwargs)  # type: ignore[arg-type]
        assert _mesh(fig).norm.vcenter == expected, kwargs  # type: ignore[attr-defined]
        contours = [c for c in fig.axes[0].collections if isinstance(c, ContourSet)]
        assert all(list(c.levels) == [expected] for c in contours)
    fig = plot_decision_boundary(sigmoid, X, y, resolution=12)
    (contour,) = [c for c in fig.axes[0].collections if isinstance(c, ContourSet)]
    assert list(contour.levels) == [0.5]


def test_decision_colours_are_linear_symmetric_and_spread_over_the_data() -> None:
    """One far outlier must not wash the colours near the boundary out to white."""
    rng = np.random.default_rng(4)
    X = np.vstack([rng.normal(size=(40, 2)), [[40.0, 40.0]]])
    y = (X[:, 0] > 0).astype(int)
    model = MLP(2, [1], activation="linear", seed=0)
    fig = plot_decision_boundary(model, X, y, loss="hinge", resolution=16)
    norm = _mesh(fig).norm  # type: ignore[attr-defined]
    scores = np.array([model(list(x)).data for x in X])
    half = np.percentile(np.abs(scores), 75)
    assert norm.vcenter == 0.0
    assert norm.halfrange == pytest.approx(half, rel=0.2)  # scores read off the grid
    assert half < np.abs(scores).max() / 5
    for score in (0.3 * half, 0.9 * half, 3.0 * half):
        assert norm(score) - 0.5 == pytest.approx(0.5 - norm(-score), abs=1e-12)
    assert norm(0.9 * half) - 0.5 == pytest.approx(3 * (norm(0.3 * half) - 0.5))


def test_plots_evaluate_through_the_one_prediction_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import microgradnn.train as train

    calls: list[tuple[bool, tuple[int, ...]]] = []
    original = train.Predictor.__call__

    def spy(self: train.Predictor, X: np.ndarray) -> np.ndarray:
        calls.append((self.compiled, X.shape))
        return original(self, X)

    monkeypatch.setattr(train.Predictor, "__call__", spy)
    X = np.random.default_rng(3).normal(size=(10, 2))
    plot_decision_boundary(MLP(2, [3, 1], seed=0), X, X[:, 0] > 0, resolution=9)
    assert calls == [(True, (81, 2))]
    calls.clear()
    Xr = np.linspace(-1.0, 1.0, 6)
    plot_regression_fit(MLP(1, [3, 1], seed=0), Xr, Xr**2, resolution=30)
    assert calls == [(True, (30, 1))]


# -- regression as a sum of units -----------------------------------------------------------------


def test_regression_fit_shows_each_unit_and_they_sum_to_the_model() -> None:
    X = np.linspace(-2, 2, 15)
    y = np.sin(X)
    model = MLP(1, [4, 1], activation="tanh", seed=3)
    fig = plot_regression_fit(model, X, y, resolution=50)
    ax = fig.axes[0]
    assert len(ax.lines) == 4 + 2  # model, 4 units, bias
    xs = np.asarray(ax.lines[0].get_xdata())
    fit_line = np.asarray(ax.lines[0].get_ydata())
    for k in (0, 17, 49):
        assert fit_line[k] == pytest.approx(model([float(xs[k])]).data, rel=1e-12, abs=1e-12)
    out = model.layers[1].neurons[0]
    total = np.full_like(xs, out.b.data)
    for i, neuron in enumerate(model.layers[0].neurons):
        unit = np.asarray(ax.lines[1 + i].get_ydata())
        expected = out.w[i].data * np.tanh(neuron.w[0].data * xs + neuron.b.data)
        np.testing.assert_allclose(unit, expected, rtol=1e-12, atol=1e-12)
        total += unit
    np.testing.assert_allclose(np.asarray(ax.lines[-1].get_ydata()), out.b.data)
    np.testing.assert_allclose(total, fit_line, rtol=1e-12, atol=1e-12)
    points = ax.collections[0]
    np.testing.assert_array_equal(np.asarray(points.get_offsets()), np.column_stack([X, y]))


def test_regression_fit_units_of_prelu_neurons() -> None:
    X = np.linspace(-2, 2, 11)
    model = MLP(1, [3, 1], activation="prelu", seed=4)
    for k, neuron in enumerate(model.layers[0].neurons):
        neuron.activation.alpha.data = 0.1 * (k + 1)  # each unit its own slope
    fig = plot_regression_fit(model, X, np.cos(X), resolution=40)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 + 2
    xs = np.asarray(ax.lines[0].get_xdata())
    out = model.layers[1].neurons[0]
    total = np.full_like(xs, out.b.data)
    for i, neuron in enumerate(model.layers[0].neurons):
        z = neuron.w[0].data * xs + neuron.b.data
        expected = out.w[i].data * np.where(z > 0, z, neuron.activation.alpha.data * z)
        unit = np.asarray(ax.lines[1 + i].get_ydata())
        np.testing.assert_allclose(unit, expected, rtol=1e-12, atol=1e-12)
        total += unit
    np.testing.assert_allclose(total, ax.lines[0].get_ydata(), rtol=1e-12, atol=1e-12)


def test_regression_fit_deeper_model() -> None:
    X = np.linspace(-1, 1, 8)[:, None]
    deep = MLP(1, [3, 3, 1], seed=0)
    fig = plot_regression_fit(deep, X, X[:, 0] ** 2)
    assert len(fig.axes[0].lines) == 1
    with pytest.raises(
        ValueError, match=r"MLP\(1, \[H, 1\]\); this model has layer sizes \[3, 3, 1\]"
    ):
        plot_regression_fit(deep, X, X[:, 0], show_units=True)
    with pytest.raises(ValueError, match=r"X: expected shape \(N,\) or \(N, 1\) .*got \(8, 2\)"):
        plot_regression_fit(deep, np.zeros((8, 2)), np.zeros(8))
    with pytest.raises(ValueError, match=r"y: expected one target per row of X \(8\), got 7"):
        plot_regression_fit(deep, X, np.zeros(7))


# -- gradient magnitudes --------------------------------------------------------------------------


def test_gradient_monitor_records_mean_abs_weight_grad_per_layer() -> None:
    model = MLP(2, [3, 2, 1], activation="tanh", seed=0)
    monitor = GradientMonitor()
    out = model([0.5, -2.0])
    assert isinstance(out, Value)
    (out * out).backward()
    monitor.on_batch_end(0, model)
    assert monitor.layer_names == ["layers.0", "layers.1", "layers.2"]
    expected = [
        np.mean([abs(w.grad) for n in layer.neurons for w in n.w]) for layer in model.layers
    ]
    np.testing.assert_allclose(monitor.values[0], expected, rtol=1e-12)
    monitor.on_batch_end(1, model)
    assert monitor.steps == [0, 1]
    assert monitor.as_array().shape == (2, 3)


def test_gradient_monitor_in_fit_and_plot() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 2))
    y = (X[:, 0] > 0).astype(float)
    runs = {}
    for act in ("sigmoid", "relu"):
        model = MLP(2, [4, 4, 1], activation=act, seed=0)
        monitor = GradientMonitor(every=2)
        fit(model, X, y, epochs=3, batch_size=4, lr=0.1, progress=False, callbacks=[monitor])
        assert monitor.steps == list(range(0, 12, 2))  # 3 epochs x 4 batches, every 2nd
        runs[act] = monitor
    fig = plot_grad_magnitudes(runs)
    assert len(fig.axes) == 2
    for ax, monitor in zip(fig.axes, runs.values(), strict=True):
        assert [ln.get_label() for ln in ax.lines] == monitor.layer_names
        assert list(ax.lines[0].get_xdata()) == monitor.steps
        np.testing.assert_array_equal(ax.lines[1].get_ydata(), monitor.as_array()[:, 1])
    smooth = plot_grad_magnitudes(runs["relu"], smooth=3).axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(smooth[0], runs["relu"].as_array()[:3, 0].mean())
    # a second fit continues the step numbers
    fit(
        MLP(2, [4, 4, 1], seed=0),
        X,
        y,
        epochs=1,
        batch_size=8,
        progress=False,
        callbacks=[runs["relu"]],
    )
    assert runs["relu"].steps[-1] == 10 + 1 + 0


def test_grad_magnitudes_bad_input() -> None:
    with pytest.raises(ValueError, match="recorded nothing"):
        plot_grad_magnitudes(GradientMonitor())
    with pytest.raises(TypeError, match="expected a GradientMonitor, got dict"):
        plot_grad_magnitudes({"a": {}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="every: expected an integer >= 1, got 0"):
        GradientMonitor(every=0)


# -- dead ReLUs -----------------------------------------------------------------------------------


def test_dead_relus_on_a_constructed_network() -> None:
    model = MLP(2, [4, 3, 1], activation="relu", seed=0)
    X = np.random.default_rng(0).uniform(-1, 1, size=(40, 2))
    for neuron in model.layers[0].neurons:
        neuron.b.data = 5.0  # alive for every input in [-1, 1]^2 ...
        for w in neuron.w:
            w.data = 0.5
    model.layers[0].neurons[2].b.data = -100.0  # ... except this one: dead
    for neuron in model.layers[1].neurons:
        neuron.b.data = 1.0
        for w in neuron.w:
            w.data = 0.1
    model.layers[1].neurons[0].b.data = -100.0
    report = dead_relus(model, X)
    assert report.dead == ["layers.0.neurons.2", "layers.1.neurons.0"]
    assert report.per_layer == [("layers.0", 1, 4), ("layers.1", 1, 3)]
    assert report.active_fraction["layers.0.neurons.0"] == 1.0
    assert count_dead_relus(model, X) == 2 == int(report)
    fig = plot_dead_relus(model, X)
    bars = fig.axes[0].patches
    assert len(bars) == 7
    assert [b.get_height() for b in bars] == [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0]


def test_only_activations_that_can_die_are_counted() -> None:
    X = np.random.default_rng(1).uniform(-1, 1, size=(30, 2))
    for act, dead in (("relu", ["layers.0.neurons.1"]), ("leaky_relu", []), ("prelu", [])):
        model = MLP(2, [3, 1], activation=act, seed=0)
        for neuron in model.layers[0].neurons:
            neuron.b.data = 5.0
        model.layers[0].neurons[1].b.data = -100.0  # negative for every input
        report = dead_relus(model, X)
        assert report.dead == dead, act
        if act == "relu":
            assert report.per_layer == [("layers.0", 1, 3)]
        else:
            assert report.active_fraction == {}
            with pytest.raises(ValueError, match="no ReLU neurons"):
                plot_dead_relus(model, X)


def test_no_relus() -> None:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    assert count_dead_relus(model, np.zeros((3, 2))) == 0
    with pytest.raises(ValueError, match="no ReLU neurons"):
        plot_dead_relus(model, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"X: expected a 2-D array of shape \(N, d\)"):
        dead_relus(model, np.zeros((2, 2, 2)))


def test_figures_display_in_ipython() -> None:
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    try:
        fig = plot_loss([1.0, 0.5])
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        interactiveshell.InteractiveShell.clear_instance()
