"""Regenerate the pictures in ``docs/images/`` (``make images``).

Run ``python tools/make_images.py [OUT_DIR]`` from the repository. Needs graphviz's ``dot``;
matplotlib for the training plots; headless Chromium, chromedriver and selenium for the
stepper screenshot (skipped with a note when missing). Everything is seeded, so re-running
gives the same files.
"""

# ruff: noqa: N806  (X is the data matrix, as in the lectures)
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

# Run as a script, this file's folder is on sys.path but the repository is not: add it, so that
# `tools.browser` imports the same way here as in the tests.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from microgradnn.engine import Value  # noqa: E402  (after the sys.path line above)
from microgradnn.viz import BackwardStepper, draw_dot, render  # noqa: E402
from tools.browser import available, headless_chromium  # noqa: E402

MAX_BYTES = 200_000


def micrograd_neuron() -> Value:
    """The micrograd lecture's neuron o = tanh(x1*w1 + x2*w2 + b), after backward()."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    n = Value.sum([x1w1, x2w2, b])
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o


def used_twice() -> Value:
    """The graph of y = x*x + 2*x at x = 3, where x.grad = 8 = 2 + 3 + 3."""
    x = Value(3.0, label="x")
    y = x * x + 2 * x
    y.label = "y"
    y.backward()
    return y


def _graphs(out: Path) -> list[Path]:
    from microgradnn.nn import MLP

    written = []
    o = micrograd_neuron()
    written.append(render(draw_dot(o, "forward"), out / "forward.svg"))
    written.append(render(draw_dot(o, "backward"), out / "backward.svg"))
    written.append(render(draw_dot(used_twice(), "backward"), out / "used_twice.svg"))
    small = MLP(2, [2, 1], activation="tanh", seed=0)
    xs = [Value(1.0, label="x0"), Value(-2.0, label="x1")]
    y = small(xs)
    assert isinstance(y, Value)
    y.backward()
    g = draw_dot(y, "forward", model=small, cluster="neuron", collapse=False, legend=False)
    written.append(render(g, out / "mlp_neuron_boxes.svg"))
    model = MLP(2, [4, 4, 1], activation="tanh", seed=0)
    pred = model([0.5, -1.0])
    assert isinstance(pred, Value)
    loss = (pred - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    g = draw_dot(loss, "backward", model=model, cluster="neuron", rankdir="LR")
    written.append(render(g, out / "mlp_neurons.svg"))
    big = MLP(2, [16, 16, 1], activation="tanh", seed=0)
    pred = big([0.5, -1.0])
    assert isinstance(pred, Value)
    loss = (pred - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    written.append(render(draw_dot(loss, model=big, cluster="layer"), out / "mlp_layers.svg"))
    return written


def _plots(out: Path) -> list[Path]:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("note: matplotlib missing, no training plots", file=sys.stderr)
        return []
    from microgradnn.data import make_moons, make_regression_1d
    from microgradnn.nn import MLP
    from microgradnn.train import fit
    from microgradnn.viz.plots import (
        GradientMonitor,
        plot_decision_boundary,
        plot_grad_magnitudes,
        plot_loss,
        plot_regression_fit,
    )

    written = []
    meta = {"Software": None}
    X, y = make_moons(n=100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="relu", seed=0)
    history = fit(
        model,
        X,
        y * 2 - 1,
        loss="hinge",
        optimizer="adam",
        lr=0.05,
        epochs=30,
        batch_size=20,
        progress=False,
        validation_data=(X, y * 2 - 1),
    )
    fig = plot_decision_boundary(model, X, y, neuron_lines=True, resolution=150, loss="hinge")
    fig.savefig(out / "decision_boundary.png", dpi=80, metadata=meta)
    written.append(out / "decision_boundary.png")
    plot_loss(history).savefig(out / "loss.png", dpi=70, metadata=meta)
    written.append(out / "loss.png")
    Xr, yr = make_regression_1d(seed=0)
    reg = MLP(1, [5, 1], activation="sigmoid", seed=0)
    fit(reg, Xr, yr, loss="mse", optimizer="adam", lr=0.05, epochs=150, progress=False)
    plot_regression_fit(reg, Xr, yr).savefig(out / "regression_units.png", dpi=80, metadata=meta)
    written.append(out / "regression_units.png")
    rng = np.random.default_rng(0)
    Xd = rng.normal(size=(64, 2))
    yd = (Xd[:, 0] * Xd[:, 1] > 0).astype(float)
    runs = {}
    for act in ("sigmoid", "relu"):
        monitor = GradientMonitor()
        net = MLP(2, [8, 8, 8, 8, 1], activation=act, seed=1)
        fit(net, Xd, yd, epochs=10, batch_size=16, lr=0.1, progress=False, callbacks=[monitor])
        runs[act] = monitor
    plot_grad_magnitudes(runs, smooth=4).savefig(out / "grad_magnitudes.png", dpi=70, metadata=meta)
    written.append(out / "grad_magnitudes.png")
    return written


def _stepper_screenshot(out: Path) -> list[Path]:
    if not available():
        print(
            "note: chromium, chromedriver or selenium missing: no stepper screenshot",
            file=sys.stderr,
        )
        return []
    tmp = Path(tempfile.mkdtemp(prefix="mg-images-"))
    try:
        page = BackwardStepper(micrograd_neuron()).save(tmp / "steps.html")
        driver = headless_chromium(tmp / "profile", "1400,600")
        try:
            driver.get(page.resolve().as_uri() + "#step=4")
            path = out / "stepper.png"
            driver.save_screenshot(str(path))
        finally:
            driver.quit()
        return [path]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Write every picture into the folder given (default ``docs/images``)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/images")
    out.mkdir(parents=True, exist_ok=True)
    written = _graphs(out) + _plots(out) + _stepper_screenshot(out)
    too_big = []
    for path in written:
        size = path.stat().st_size
        print(f"{path}  {size / 1000:.0f} kB")
        if size > MAX_BYTES:
            too_big.append(path)
    if too_big:
        print(f"error: larger than {MAX_BYTES // 1000} kB: {too_big}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
