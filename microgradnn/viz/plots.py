r"""Training pictures: loss, decision boundaries, fits as sums of units, gradients, dead ReLUs.

Every function returns a matplotlib ``Figure`` built without pyplot (so it works with any
backend, on servers too) and accepts ``ax=`` to draw into your own axes; save with
``fig.savefig("loss.png")``. In a notebook the returned figure is the cell's output, as a PNG
that shows untrusted too and on GitHub (``plt.show()`` is not needed there, and does not show
it: pyplot does not manage it, or it would show twice). In a script, import
``matplotlib.pyplot`` before plotting and ``plt.show()`` opens the figures in windows.
matplotlib is optional: ``pip install 'microgradnn[plot]'``.

The model's outputs on thousands of grid points come from the package's one batched prediction
path, :func:`microgradnn.train.predict` with ``compiled=True`` (the model's graph for one example
replayed over the batch with numpy, in eval mode). Pictures of single units (a regression's hidden
units, dead ReLUs) trace the neurons' own outputs with :mod:`microgradnn.compile`, the neurons
found by :mod:`microgradnn.viz.clusters`.

>>> from microgradnn.nn import MLP
>>> from microgradnn.train import History
>>> fig = plot_loss(History(train_loss=[1.0, 0.5, 0.25], val_loss=[1.1, 0.6, 0.4]))
>>> [line.get_label() for line in fig.axes[0].lines]
['train', 'validation']
"""

# ruff: noqa: N803, N806  (X is the data matrix, as in the lectures and scikit-learn)
from __future__ import annotations

import functools
import importlib
import io
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from microgradnn._checks import describe, flag, integer, number, optional_number
from microgradnn.compile import trace
from microgradnn.engine import Value
from microgradnn.losses import LossFunction, loss_info
from microgradnn.module import Module, eval_mode, io_sizes
from microgradnn.train import predict
from microgradnn.viz.clusters import ModelInfo, assign_groups, graph_order, model_info
from microgradnn.viz.display import PNG, mime_bundle

__all__ = [
    "DeadReluReport",
    "GradientMonitor",
    "batch_forward",
    "count_dead_relus",
    "dead_relus",
    "plot_dead_relus",
    "plot_decision_boundary",
    "plot_grad_magnitudes",
    "plot_history",
    "plot_loss",
    "plot_regression_fit",
]

_INSTALL = "plots need matplotlib: pip install 'microgradnn[plot]'"


def _figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] = (6.0, 4.0)) -> Any:
    """A new :class:`PlotFigure` with a grid of axes, managed by pyplot only where that shows it.

    In a Jupyter kernel the figure is the cell's output (its mime bundle), so pyplot must not
    also show it at the end of the cell; in a script with pyplot imported and a window backend,
    pyplot manages it, so ``plt.show()`` opens it; elsewhere (servers, tests, the ``agg``
    backend) it stays out of pyplot, so figures made in a loop are freed when dropped.
    """
    try:
        importlib.import_module("matplotlib.figure")  # the class below is made once per session
        figure_class = _plot_figure_class()
    except ImportError as err:
        raise ImportError(_INSTALL) from err
    if _pyplot_shows_windows():
        plt: Any = sys.modules["matplotlib.pyplot"]
        fig = plt.figure(FigureClass=figure_class, figsize=size, layout="constrained")
    else:
        fig = figure_class(figsize=size, layout="constrained")
    fig.subplots(nrows, ncols, squeeze=False)
    return fig


def _in_jupyter_kernel() -> bool:
    ipython_mod = sys.modules.get("IPython")
    shell = ipython_mod.get_ipython() if ipython_mod is not None else None
    return getattr(shell, "kernel", None) is not None


def _pyplot_shows_windows() -> bool:
    """Whether pyplot is imported, outside a Jupyter kernel, with a backend that opens windows."""
    if "matplotlib.pyplot" not in sys.modules or _in_jupyter_kernel():
        return False
    import matplotlib

    try:
        backends: Any = importlib.import_module("matplotlib.backends.registry")
        windows = backends.backend_registry.list_builtin(backends.BackendFilter.INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        windows = importlib.import_module("matplotlib.rcsetup").interactive_bk
    return str(matplotlib.get_backend()).lower() in [w.lower() for w in windows]


@functools.cache
def _plot_figure_class() -> type:
    """:class:`PlotFigure`, made on first use so that importing this module needs no matplotlib."""
    from matplotlib.figure import Figure

    class PlotFigure(Figure):
        """A matplotlib ``Figure`` that shows as PNG wherever a notebook is read.

        Jupyter, GitHub and nbviewer show its PNG (even in an untrusted notebook) and a
        terminal its text line, ``figure (1 panel: loss); save it with
        fig.savefig('plot.png')``. The PNG is drawn once and kept until the figure changes.
        """

        def _repr_mimebundle_(
            self,
            include: Iterable[str] | None = None,
            exclude: Iterable[str] | None = None,
            **_: Any,
        ) -> dict[str, Any]:
            return mime_bundle({PNG: self._png}, self.summary, include, exclude)

        def _png(self) -> bytes:
            cached: bytes | None = self.__dict__.get("_mg_png")
            if cached is None or self.stale:
                out = io.BytesIO()
                self.savefig(out, format="png", bbox_inches="tight")
                cached = out.getvalue()
                self.__dict__["_mg_png"] = cached
                self.stale = False  # savefig(bbox_inches="tight") leaves it stale; any edit sets it
            return cached

        @property
        def summary(self) -> str:
            """What the figure shows, from its panels' titles."""
            titles = [
                ax.get_title() or "untitled" for ax in self.axes if ax.get_label() != "<colorbar>"
            ]
            panels = f"{len(titles)} panel{'s' if len(titles) != 1 else ''}"
            return f"figure ({panels}: {', '.join(titles)}); save it with fig.savefig('plot.png')"

        def __repr__(self) -> str:
            return f"<PlotFigure: {self.summary}>"

    PlotFigure.__module__ = __name__
    PlotFigure.__qualname__ = "PlotFigure"
    return PlotFigure


def __getattr__(name: str) -> Any:
    if name == "PlotFigure":  # made on first use; named here so that figures can be pickled
        return _plot_figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_ax(ax: Any) -> None:
    if ax is not None and not hasattr(ax, "plot"):
        raise TypeError(f"ax: expected a matplotlib Axes, got {describe(ax)}")


# -- evaluating the model on a batch --------------------------------------------------------------


def _as_matrix(X: Any, name: str = "X") -> np.ndarray:
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(
            f"{name}: expected a 2-D array of shape (N, d) with N >= 1, got shape {arr.shape}"
        )
    return arr


def batch_forward(model: Any, X: Any) -> np.ndarray:
    """The model's outputs for every row of ``X`` at numpy speed, shape ``(N, n_outputs)``.

    :func:`microgradnn.train.predict` with ``compiled=True`` (eval mode, so dropout is off),
    with one column per output even for a model with one output. Equal to calling the model
    row by row.

    >>> from microgradnn.nn import MLP
    >>> model = MLP(2, [3, 1], activation="tanh", seed=0)
    >>> X = np.array([[0.5, -1.0], [2.0, 0.0]])
    >>> bool(np.allclose(batch_forward(model, X)[:, 0], [model(list(x)).data for x in X]))
    True
    """
    out = predict(model, _as_matrix(X), compiled=True)
    return out[:, None] if out.ndim == 1 else out


@dataclass
class _Units:
    """Each neuron's output for a batch (None for a neuron the model's graph does not use)."""

    info: ModelInfo
    outputs: list[np.ndarray | None]
    activated: list[bool]
    """Per neuron, whether its output is its activation's node (False: its Σ, or unused)."""


def _n_inputs(model: Any, X: np.ndarray) -> int:
    nin, _ = io_sizes(model)
    return X.shape[1] if nin is None else nin


def _unit_outputs(model: Any, X: np.ndarray) -> _Units:
    """Trace the model once and replay each neuron's output node (activation, else Σ) on ``X``."""
    if not isinstance(model, Module) or not callable(model):
        raise TypeError(f"model: expected a Module such as an MLP, got {describe(model)}")
    nin = _n_inputs(model, X)
    if X.shape[1] != nin:
        raise ValueError(f"the model expects {nin} input features, got {X.shape[1]} columns")
    info = model_info(model)
    found: list[bool] = []
    activated: list[bool] = []

    def units(xs: list[Value], ys: list[Value]) -> list[Value]:
        out = model(xs)
        outputs = [out] if type(out) is Value else list(out)
        order = graph_order(outputs)
        nodes = assign_groups(order, info)
        picks = [nodes.output(k) for k in range(len(info.neurons))]
        found[:] = [p is not None for p in picks]
        activated[:] = [bool(a) for a in nodes.activations]
        return [order[p] for p in picks if p is not None]

    if not info.neurons:
        return _Units(info, [], [])
    with eval_mode(model):
        cols = trace(units, nin, 0, model.parameters()).forward(X)
    columns = iter(cols.T)
    return _Units(info, [next(columns) if ok else None for ok in found], activated)


# -- loss curves ----------------------------------------------------------------------------------


def _series(history: Any, key: str) -> list[float]:
    raw = history.get(key, []) if isinstance(history, Mapping) else getattr(history, key, [])
    return [math.nan if x is None else float(x) for x in (raw or [])]


def plot_loss(
    history: Any, *, ax: Any = None, log_scale: bool = False, title: str | None = None
) -> Any:
    """Training (and validation) loss per epoch; accuracy in a second panel when recorded.

    Args:
        history: A :class:`~microgradnn.train.History`, its ``to_dict()``, or a list of losses.
        ax: Draw the loss into these axes (accuracy is then left out).
        log_scale: Logarithmic loss axis (useful when the loss spans decades).
        title: Title for the loss panel.

    Returns:
        The Figure: ``fig.axes[0]`` has the lines ``train`` and ``validation`` (if any),
        ``fig.axes[1]`` (if accuracy was recorded) ``train`` and ``validation`` accuracy.
    """
    _check_ax(ax)
    if isinstance(history, (list, tuple, np.ndarray)):
        history = {"train_loss": list(history)}
    elif not isinstance(history, Mapping) and not hasattr(history, "train_loss"):
        raise TypeError(
            "history: expected a History, a dict from History.to_dict() or a list of losses, "
            f"got {describe(history)}"
        )
    train, val = _series(history, "train_loss"), _series(history, "val_loss")
    if not train and not val:
        raise ValueError("history has no losses to plot (train_loss is empty)")
    tacc, vacc = _series(history, "train_acc"), _series(history, "val_acc")
    has_acc = any(not math.isnan(a) for a in tacc + vacc)
    if ax is None:
        # 8.3 in: at 100 dpi the 830 px of a README column, so its 10 pt texts show at 14 px
        fig = _figure(1, 2 if has_acc else 1, (8.3 if has_acc else 6.0, 3.8))
        ax_loss = fig.axes[0]
        ax_acc = fig.axes[1] if has_acc else None
    else:
        fig, ax_loss, ax_acc = ax.figure, ax, None
    for name, ys in (("train", train), ("validation", val)):
        if ys:
            ax_loss.plot(range(1, len(ys) + 1), ys, label=name, marker="." if len(ys) < 30 else "")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    if log_scale and any(y > 0 for y in train + val):
        ax_loss.set_yscale("log", nonpositive="mask")
    ax_loss.set_title(title or "loss")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend()
    if ax_acc is not None:
        for name, ys in (("train", tacc), ("validation", vacc)):
            if ys and any(not math.isnan(a) for a in ys):
                ax_acc.plot(range(1, len(ys) + 1), ys, label=name)
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("accuracy")
        ax_acc.set_ylim(-0.02, 1.02)
        ax_acc.set_title("accuracy")
        ax_acc.grid(alpha=0.3)
        ax_acc.legend()
    return fig


plot_history = plot_loss
"""Alias of :func:`plot_loss`."""


# -- decision boundary ----------------------------------------------------------------------------


def _labels(y: Any, n: int) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim == 2:
        arr = np.argmax(arr, axis=1)
    if arr.shape != (n,):
        raise ValueError(f"y: expected one label per row of X, shape ({n},), got shape {arr.shape}")
    arr = arr.astype(float)
    if arr.min() < 0:
        arr = (arr > 0).astype(float)
    return arr.astype(int)


def _threshold(out_node: Value) -> float:
    """0.5 for an output that reads as a probability (a sigmoid's), else 0."""
    op = out_node._op
    return 0.5 if op is not None and op.probability else 0.0


def _output_node(model: Any, row: np.ndarray) -> Value:
    """The model's (first) output node for one example, to read the op that made it."""
    with eval_mode(model):
        out = model(row.tolist())
    node = out if type(out) is Value else next(iter(out), None)
    if type(node) is not Value:
        raise TypeError(f"the model must return a Value or a list of Values, got {describe(out)}")
    return node


def _decision_threshold(
    model: Any, row: np.ndarray, threshold: float | None, loss: str | LossFunction | None
) -> float:
    """``threshold`` if given, else the loss row's, else by the output's op (0.5 or 0)."""
    if threshold is not None:
        return threshold
    if loss is not None:
        info = loss_info(loss)
        if info is not None and info.threshold is not None:
            return info.threshold
    return _threshold(_output_node(model, row))


def plot_decision_boundary(
    model: Any,
    X: Any,
    y: Any,
    *,
    ax: Any = None,
    resolution: int = 200,
    neuron_lines: bool = False,
    margin: float = 0.5,
    threshold: float | None = None,
    loss: str | LossFunction | None = None,
    title: str | None = None,
) -> Any:
    """A 2-D classifier's decision regions as a heatmap, with the data points on top.

    One output: the heatmap is the output score, and the boundary (black line) is where the
    score crosses the decision threshold: ``threshold`` if given, else the one the ``loss``
    the model was trained with declares (0.5 for ``"bce"``, 0 for ``"hinge"`` or
    ``"bce_logits"``), else 0.5 when the output is a probability (a sigmoid's) and 0 otherwise.
    The colour scale is linear and symmetric about that threshold (a
    ``matplotlib.colors.CenteredNorm``), so equal colours on either side mean equal distances
    from the boundary: red below, blue above, white on it. A probability spans 0 to 1; a score
    spans ± the largest distance of a data point's score from the threshold, and is drawn at
    its darkest beyond (the colour bar's arrows), where no data are. Several outputs: each
    region is coloured by the argmax class. A legend names each class of points, the boundary
    and (``neuron_lines``) the first layer's zero lines.

    Args:
        model: A model with 2 inputs (e.g. ``MLP(2, [16, 16, 1])``).
        X: Shape ``(N, 2)``.
        y: Labels (0/1, -1/+1, 0..K-1, or one-hot rows).
        ax: Axes to draw into.
        resolution: Grid points per side.
        neuron_lines: Also draw each first-layer neuron's zero line w·x + b = 0 (dashed): the
            half-planes the network combines.
        margin: Extra room around the data.
        threshold: The decision threshold for one output.
        loss: The loss the model was trained with (a name or a loss function): its row in
            :mod:`microgradnn.losses` gives the threshold when ``threshold`` is not given.
        title: Axes title.

    Returns:
        The Figure. ``ax.lines`` holds one line per first-layer neuron when ``neuron_lines``;
        ``ax.get_legend()`` names the classes, the boundary and the zero lines.
    """
    _check_ax(ax)
    Xa = _as_matrix(X)
    if Xa.shape[1] != 2:
        raise ValueError(
            f"X: expected shape (N, 2) (plot_decision_boundary draws 2-D inputs), got {Xa.shape}"
        )
    labels = _labels(y, Xa.shape[0])
    names = _class_names(y, labels)
    resolution = integer("resolution", resolution, low=2)
    neuron_lines = flag("neuron_lines", neuron_lines)
    margin = number("margin", margin, low=0.0)
    threshold = optional_number("threshold", threshold)
    nin = _n_inputs(model, Xa)
    if nin != 2:
        raise ValueError(f"plot_decision_boundary needs a model with 2 inputs, got one with {nin}")
    x0, x1 = Xa[:, 0].min() - margin, Xa[:, 0].max() + margin
    y0, y1 = Xa[:, 1].min() - margin, Xa[:, 1].max() + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    scores = batch_forward(model, grid)
    if ax is None:
        fig = _figure(size=(6.0, 5.2))
        ax = fig.axes[0]
    fig = ax.figure
    from matplotlib import colormaps
    from matplotlib.lines import Line2D

    handles: list[Any] = []
    boundary = None
    if scores.shape[1] == 1:
        thr = _decision_threshold(model, grid[0], threshold, loss)
        s = scores[:, 0].reshape(gx.shape)
        # the scores where the data are: at each point's nearest grid node
        col = np.rint((Xa[:, 0] - x0) / (x1 - x0 or 1.0) * (resolution - 1)).astype(int)
        row = np.rint((Xa[:, 1] - y0) / (y1 - y0 or 1.0) * (resolution - 1)).astype(int)
        norm, extend = _centered_norm(s, s[row, col], thr)
        mesh = ax.pcolormesh(gx, gy, s, cmap="RdBu", norm=norm, alpha=0.55, shading="auto")
        finite = s[np.isfinite(s)]
        if finite.size and finite.min() < thr < finite.max():
            ax.contour(gx, gy, s, levels=[thr], colors="k", linewidths=1.5)
            boundary = Line2D([], [], color="k", lw=1.5, label=f"boundary: output = {thr:g}")
        bar = fig.colorbar(mesh, ax=ax, extend=extend)
        bar.set_label(f"model output (red < {thr:g} < blue)")
        cmap = colormaps["RdBu"]
        colors = [cmap(0.1), cmap(0.9)] + [cmap(0.9)] * (len(names) - 2)
    else:
        cls = np.argmax(scores, axis=1).reshape(gx.shape)
        ax.pcolormesh(gx, gy, cls, cmap="tab10", vmin=0, vmax=9, alpha=0.35, shading="auto")
        cmap = colormaps["tab10"]
        colors = [cmap(k % 10) for k in range(len(names))]
    ax.scatter(
        Xa[:, 0],
        Xa[:, 1],
        c=[colors[k] for k in labels],
        edgecolors="k",
        linewidths=0.6,
        s=28,
        zorder=3,
    )
    for k, name in enumerate(names):
        if np.any(labels == k):
            handles.append(
                Line2D([], [], ls="", marker="o", mfc=colors[k], mec="k", mew=0.6, label=name)
            )
    if boundary is not None:
        handles.append(boundary)
    if neuron_lines:
        drawn = 0
        for n in (n for n in model_info(model).neurons if n.layer == 0):
            if len(n.w) != 2:
                continue
            w0, w1 = n.w[0].data, n.w[1].data
            b = n.b.data if n.b is not None else 0.0
            if w0 == 0.0 and w1 == 0.0:
                continue
            if abs(w1) >= abs(w0):
                xs = np.array([x0, x1])
                ys = -(w0 * xs + b) / w1
            else:
                ys = np.array([y0, y1])
                xs = -(w1 * ys + b) / w0
            ax.plot(xs, ys, "--", lw=1.0, color="0.25", alpha=0.8, label=f"{n.short} zero line")
            drawn += 1
        if drawn:
            handles.append(
                Line2D(
                    [], [], ls="--", lw=1.0, color="0.25", label="a layer-0 neuron's w·x + b = 0"
                )
            )
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_title(title or "decision boundary")
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncols=2,
        frameon=False,
        fontsize=9,
    )
    return fig


def _class_names(y: Any, labels: np.ndarray) -> list[str]:
    """The legend's name of each class in ``labels``: ``y = -1`` and ``y = +1`` for -1/+1."""
    arr = np.asarray(y)
    k = max(2, int(labels.max()) + 1)
    if arr.ndim == 1 and arr.size and float(np.min(arr.astype(float))) < 0:
        return ["y = -1", "y = +1"]
    return [f"y = {c}" if arr.ndim == 1 else f"class {c}" for c in range(k)]


def _centered_norm(grid: np.ndarray, data: np.ndarray, thr: float) -> tuple[Any, str]:
    """A linear colour scale symmetric about ``thr``, and which ends the grid runs past.

    Probabilities (every value in [0, 1] with the threshold 0.5) span 0 to 1; other scores
    span ± the distance from the threshold that three in four data points' scores stay within
    (the grid's largest, if the data all sit on it), so that the colours near the data differ;
    scores beyond it take the end colours (the colour bar's arrows).
    """
    from matplotlib.colors import CenteredNorm

    finite = grid[np.isfinite(grid)]
    near = np.abs(data[np.isfinite(data)] - thr)
    if thr == 0.5 and finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
        half = 0.5
    elif near.size and np.percentile(near, 75) > 0:
        half = float(np.percentile(near, 75))
    elif finite.size and np.abs(finite - thr).max() > 0:
        half = float(np.abs(finite - thr).max())
    else:
        half = 1.0
    low = bool(finite.size and finite.min() < thr - half)
    high = bool(finite.size and finite.max() > thr + half)
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max"}
    return CenteredNorm(vcenter=thr, halfrange=half), extend.get((low, high), "both")


# -- regression as a sum of units -----------------------------------------------------------------


def plot_regression_fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    show_units: bool | None = None,
    ax: Any = None,
    resolution: int = 400,
    title: str | None = None,
) -> Any:
    """A 1-D regression fit; for ``MLP(1, [H, 1])`` also each hidden unit's contribution.

    The lecture's picture: y = b + Σ_i c_i · act(w_i x + b_i). Each dashed curve is one term
    c_i · act(w_i x + b_i) (c_i is the output neuron's weight i), the dotted line is the
    output bias b, and their sum is the model (solid).

    Args:
        model: A model with one input and one output.
        X: Inputs, shape ``(N,)`` or ``(N, 1)``.
        y: Targets, shape ``(N,)``.
        show_units: Draw the hidden units' terms: None (default) when the model is an
            ``MLP(1, [H, 1])``, True to require it, False never.
        ax: Axes to draw into.
        resolution: Points along x for the curves.
        title: Axes title.

    Returns:
        The Figure; ``ax.lines`` = [model, unit 0 .. unit H-1, bias] with units shown.
    """
    _check_ax(ax)
    Xa = _as_matrix(X)
    if Xa.shape[1] != 1:
        raise ValueError(
            "X: expected shape (N,) or (N, 1) (plot_regression_fit draws 1-D inputs), got "
            f"{Xa.shape}"
        )
    ya = np.asarray(y, dtype=float).reshape(-1)
    if ya.shape[0] != Xa.shape[0]:
        raise ValueError(f"y: expected one target per row of X ({Xa.shape[0]}), got {ya.shape[0]}")
    if show_units is not None:
        show_units = flag("show_units", show_units)
    resolution = integer("resolution", resolution, low=2)
    lo, hi = float(Xa.min()), float(Xa.max())
    pad = 0.05 * (hi - lo or 1.0)
    xs = np.linspace(lo - pad, hi + pad, resolution)
    outputs = batch_forward(model, xs[:, None])
    if outputs.shape[1] != 1:
        raise ValueError(
            f"plot_regression_fit needs a model with one output, got {outputs.shape[1]}"
        )
    fit = outputs[:, 0]
    info = model_info(model) if isinstance(model, Module) and show_units is not False else None
    neurons = info.neurons if info is not None else []
    layers = sorted({n.layer for n in neurons})
    shallow = len(layers) == 2 and sum(1 for n in neurons if n.layer == 1) == 1
    unit_outputs: list[np.ndarray | None] = []
    if shallow:
        unit_outputs = _unit_outputs(model, xs[:, None]).outputs
        shallow = all(u is not None for u in unit_outputs)
    if show_units and not shallow:
        sizes = [sum(1 for n in neurons if n.layer == layer) for layer in layers]
        raise ValueError(
            "show_units draws the hidden units of an MLP(1, [H, 1]); this model has layer "
            f"sizes {sizes}; pass show_units=False"
        )
    units = shallow if show_units is None else show_units
    if ax is None:
        fig = _figure(size=(7.0, 4.5))
        ax = fig.axes[0]
    fig = ax.figure
    ax.scatter(Xa[:, 0], ya, s=14, color="0.3", alpha=0.7, label="data", zorder=3)
    ax.plot(xs, fit, color="C3", lw=2.5, label="model = bias + Σ units", zorder=4)
    if units:
        out = next(n for n in neurons if n.layer == 1)
        hidden = [(n, unit_outputs[k]) for k, n in enumerate(neurons) if n.layer == 0]
        for i, (n, unit) in enumerate(hidden):
            assert unit is not None
            c = out.w[i].data
            term = c * unit
            ax.plot(xs, term, "--", lw=1.1, alpha=0.85, label=f"{c:.3g}·{n.activation}({n.short})")
        b = out.b.data if out.b is not None else 0.0
        ax.plot(xs, np.full_like(xs, b), ":", color="k", lw=1.2, label=f"bias {b:.3g}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or ("regression fit: a sum of units" if units else "regression fit"))
    if units and len(ax.lines) > 12:
        ax.legend(handles=ax.lines[:1] + ax.lines[-1:], fontsize=9)
    else:
        ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    return fig


# -- gradient magnitudes --------------------------------------------------------------------------


class GradientMonitor:
    """A training callback that records each layer's mean |grad| of its weights.

    Pass it to ``fit(..., callbacks=[monitor])``: after each batch's backward (before the
    optimizer step) it stores mean(|∂L/∂w|) over every weight of each layer, the number that
    shows vanishing gradients (sigmoid/tanh layers far from the output get tiny values).

    Args:
        every: Record every ``every``-th batch.
        include_bias: Include biases in the mean.

    Attributes:
        steps: The batch numbers recorded (continuing across repeated ``fit`` calls).
        layer_names: One name per layer with neurons.
        values: Per recorded step, one mean |grad| per layer.

    >>> from microgradnn.nn import MLP
    >>> model = MLP(2, [4, 1], seed=0)
    >>> monitor = GradientMonitor()
    >>> model([1.0, 2.0]).backward()
    >>> monitor.on_batch_end(0, model)
    >>> monitor.layer_names, len(monitor.values[0])
    (['layers.0', 'layers.1'], 2)
    """

    def __init__(self, every: int = 1, include_bias: bool = False) -> None:
        self.every = integer("every", every, low=1)
        self.include_bias = flag("include_bias", include_bias)
        self.steps: list[int] = []
        self.layer_names: list[str] = []
        self.values: list[list[float]] = []
        self._offset = 0

    def on_train_begin(self, model: Any) -> None:
        """Continue numbering after any earlier training run."""
        self._offset = self.steps[-1] + 1 if self.steps else 0

    def on_batch_end(self, step: int, model: Any) -> None:
        """Record each layer's mean |grad| (called after backward, before the update)."""
        if step % self.every:
            return
        info = model_info(model)
        if not info.neurons:
            raise TypeError(
                f"GradientMonitor needs a model with layers of neurons, got {describe(model)}"
            )
        per_layer: dict[int, list[float]] = {}
        for n in info.neurons:
            ps = list(n.w) + ([n.b] if self.include_bias and n.b is not None else [])
            per_layer.setdefault(n.layer, []).extend(abs(p.grad) for p in ps)
        self.layer_names = list(info.layer_names)
        self.steps.append(self._offset + step)
        self.values.append(
            [math.fsum(g) / len(g) if g else 0.0 for _, g in sorted(per_layer.items())]
        )

    def as_array(self) -> np.ndarray:
        """The records as an array of shape ``(n_records, n_layers)``."""
        return np.array(self.values, dtype=float).reshape(len(self.values), -1)


def plot_grad_magnitudes(
    monitor: GradientMonitor | Mapping[str, GradientMonitor],
    *,
    ax: Any = None,
    log_scale: bool = True,
    smooth: int = 1,
) -> Any:
    """Mean |grad| of each layer's weights over training, one line per layer.

    Pass ``{"sigmoid": m1, "relu": m2}`` to compare runs side by side (shared y axis): with
    sigmoid the first layers' gradients are orders of magnitude smaller (vanishing
    gradients); with ReLU they stay comparable.

    Args:
        monitor: A :class:`GradientMonitor` after training, or a dict of them by run name.
        ax: Axes to draw into (one monitor only).
        log_scale: Logarithmic y axis (steps where a gradient is exactly 0 leave gaps).
        smooth: Average each line over a window of this many records (1: raw values).

    Returns:
        The Figure, one axes per monitor, one line per layer.
    """
    _check_ax(ax)
    smooth = integer("smooth", smooth, low=1)
    log_scale = flag("log_scale", log_scale)
    runs = dict(monitor) if isinstance(monitor, Mapping) else {"": monitor}
    for name, m in runs.items():
        if not isinstance(m, GradientMonitor):
            raise TypeError(f"expected a GradientMonitor, got {type(m).__name__} for {name!r}")
        if not m.values:
            raise ValueError(
                f"the GradientMonitor{' ' + repr(name) if name else ''} recorded nothing: pass it "
                "to fit(..., callbacks=[monitor]) first"
            )
    if ax is not None:
        if len(runs) != 1:
            raise ValueError("ax= works with one monitor; pass ax=None to compare several")
        axes = [ax]
        fig = ax.figure
    else:
        # two runs side by side in 8.3 in: at 100 dpi the 830 px of a README column
        fig = _figure(1, len(runs), (5.5 if len(runs) == 1 else 4.15 * len(runs), 4.0))
        axes = list(fig.axes)
        for other in axes[1:]:
            other.sharey(axes[0])
    for a, (name, m) in zip(axes, runs.items(), strict=True):
        arr = m.as_array()
        steps = np.asarray(m.steps, dtype=float)
        if smooth > 1 and len(arr) >= smooth:
            kernel = np.ones(smooth) / smooth
            arr = np.stack(
                [np.convolve(arr[:, k], kernel, mode="valid") for k in range(arr.shape[1])], 1
            )
            steps = steps[smooth - 1 :]
        for k, lname in enumerate(m.layer_names):
            a.plot(steps, arr[:, k], label=lname)
        if log_scale and np.any(arr > 0):
            a.set_yscale("log", nonpositive="mask")
        a.set_xlabel("batch")
        a.set_ylabel("mean |∂L/∂w|")
        a.set_title(f"{name}: gradient per layer" if name else "gradient per layer")
        a.grid(alpha=0.3)
        a.legend(fontsize=9)
    return fig


# -- dead ReLUs -----------------------------------------------------------------------------------


@dataclass
class DeadReluReport:
    """Which ReLU neurons output 0 for every input.

    "ReLU neurons" are those whose activation's row in
    :data:`~microgradnn.activations.ACTIVATIONS` says ``can_die``: a unit that can get stuck at
    output 0 with gradient 0 for every input.

    Attributes:
        dead: Names of the dead neurons (``layers.0.neurons.3``).
        per_layer: ``(layer name, dead, ReLU neurons)`` per layer.
        active_fraction: Per ReLU neuron, the fraction of inputs where its output is > 0.
    """

    dead: list[str] = field(default_factory=list)
    per_layer: list[tuple[str, int, int]] = field(default_factory=list)
    active_fraction: dict[str, float] = field(default_factory=dict)

    @property
    def count(self) -> int:
        """How many neurons are dead."""
        return len(self.dead)

    def __int__(self) -> int:
        return self.count


def dead_relus(model: Any, X: Any) -> DeadReluReport:
    """Find the ReLU neurons whose output is 0 for every row of ``X``.

    Such a neuron is "dead": no gradient reaches its weights, so it never recovers.

    >>> from microgradnn.nn import MLP
    >>> model = MLP(1, [3, 1], activation="relu", seed=0)
    >>> for neuron, bias in zip(model.layers[0].neurons, [0.5, -100.0, 0.5]):
    ...     neuron.w[0].data, neuron.b.data = 1.0, bias
    >>> dead_relus(model, [[0.0], [1.0], [2.0]]).dead
    ['layers.0.neurons.1']
    """
    units = _unit_outputs(model, _as_matrix(X))
    report = DeadReluReport()
    counts: dict[int, list[int]] = {}
    for n, out, is_act in zip(units.info.neurons, units.outputs, units.activated, strict=True):
        if out is None or not is_act or n.row is None or not n.row.can_die:
            continue
        frac = float(np.mean(out > 0.0))
        report.active_fraction[n.name] = frac
        c = counts.setdefault(n.layer, [0, 0])
        c[1] += 1
        if frac == 0.0:
            report.dead.append(n.name)
            c[0] += 1
    report.per_layer = [(units.info.layer_names[k], d, t) for k, (d, t) in sorted(counts.items())]
    return report


def count_dead_relus(model: Any, X: Any) -> int:
    """The number of ReLU neurons that output 0 for every row of ``X`` (see :func:`dead_relus`)."""
    return dead_relus(model, X).count


def plot_dead_relus(model: Any, X: Any, *, ax: Any = None) -> Any:
    """Bars: each ReLU neuron's fraction of inputs where it is active; dead ones in red.

    One bar per ReLU neuron, layer by layer.
    """
    _check_ax(ax)
    report = dead_relus(model, X)
    if not report.active_fraction:
        raise ValueError("the model has no ReLU neurons (no activation that can die)")
    if ax is None:
        fig = _figure(size=(max(5.0, 0.25 * len(report.active_fraction) + 2.0), 3.5))
        ax = fig.axes[0]
    fig = ax.figure
    names = list(report.active_fraction)
    fracs = [report.active_fraction[n] for n in names]
    dead = set(report.dead)
    colors = ["#c0392b" if n in dead else "#1c5fb8" for n in names]
    ax.bar(range(len(names)), fracs, color=colors)
    for i, n in enumerate(names):
        if n in dead:
            ax.plot([i], [0.02], marker="x", color="#c0392b", ms=8)
    ticks = [n.replace("layers.", "L").replace(".neurons.", ".N") for n in names]
    ax.set_xticks(range(len(names)), ticks, rotation=90, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("fraction of inputs active")
    summary = ", ".join(f"{name}: {d}/{t} dead" for name, d, t in report.per_layer)
    ax.set_title(f"ReLU activity ({summary})", fontsize=10)
    return fig
