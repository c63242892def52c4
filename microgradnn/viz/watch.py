r"""Watch it learn: record whole training steps and replay them in an offline page.

:class:`TrainingView` trains a model with the package's own pieces (the model, the loss, the
optimizer, :func:`~microgradnn.data.batches`) one optimizer step at a time and records a
:class:`StepFrame` per step: the batch, the losses, every parameter's value before, grad and
value after, the optimizer's state, per-layer gradient sizes and dead ReLUs, the graph of a few
chosen examples (data and grad of every node), the decision boundary on a coarse grid, and what
each example of the batch contributed to each parameter's gradient.

The numbers are the engine's: the step is ``model.zero_grad()``, the batch's mean loss (plus
the L2 penalty), ``loss.backward()`` and ``optimizer.step()``, as in :func:`~microgradnn.fit`,
on your model. Recording happens between ``backward()`` and ``step()`` and puts every grad back
before the step, so it does not change what training does.

Each example's contribution is the engine's own backward pass through that example's part of
the batch graph, seeded with the grad the batch pass gave its output: ``d(loss)/d(out_i) ×
d(out_i)/dp``. The contributions and the L2 term add up to the batch gradient.

:meth:`TrainingView.save_html` writes a page that needs no network (its script and style are
the package data files ``watch.js`` and ``watch.css``, inlined): play, pause, step through the
four phases of a step (forward, loss, backward, update), scrub through the steps, the decision
boundary with the first layer's zero lines, the loss curve, the example's graph by neuron and
the update table. The graph is laid out once by graphviz (its structure is the same at every
step) and the page rewrites its numbers frame by frame.

>>> from microgradnn.data import make_moons
>>> from microgradnn.nn import MLP
>>> X, y = make_moons(n=20, noise=0.1, seed=0)
>>> model = MLP(2, [4, 1], activation="tanh", seed=0)
>>> view = TrainingView(model, X, y, loss="bce_logits", lr=0.5)
>>> view.train(3)
>>> [f.step for f in view.frames], view.frames[-1].epoch
([0, 1, 2], 2)
"""

# X (capital) is the data matrix, as in the math and in scikit-learn.
# ruff: noqa: N803, N806

from __future__ import annotations

import base64
import copy
import hashlib
import html
import io
import json
import math
import re
import subprocess
import sys
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from microgradnn import _checks as check
from microgradnn._files import atomic_write
from microgradnn.compile import CompileError, trace
from microgradnn.data import batches
from microgradnn.engine import Value, no_grad
from microgradnn.losses import Loss, get_loss, l2_regularization, labels_of, loss_info
from microgradnn.module import eval_mode, io_sizes
from microgradnn.nn import Dropout
from microgradnn.optim import Optimizer, clip_coefficient, clip_grad_norm_, get_optimizer
from microgradnn.train import Predictor, resolve_schedule
from microgradnn.viz.analysis import analyze, short_name
from microgradnn.viz.clusters import model_info
from microgradnn.viz.display import HTML, PNG, GraphvizNotFoundError, mime_bundle, standalone_page
from microgradnn.viz.graph import DrawOptions, build_picture
from microgradnn.viz.stepper import json_for_script

__all__ = ["ExampleGraph", "StepFrame", "TrainingView"]

GRID = 32
"""The decision boundary is recorded on a GRID x GRID grid of points."""
MAX_WATCHED = 8
"""The most examples whose whole graph is recorded at every step (each costs page size)."""
DEFAULT_WATCHED = 3
"""Examples whose graph is recorded when ``examples`` is not given: ``example`` and 2 more."""
PHASES = ("forward", "loss", "backward", "update")
_BACKWARD_KINDS = frozenset({"grad", "sum", "prod", "amount", "uses", "range", "wmean"})
_counter = iter(range(1, 1 << 62))


@dataclass(frozen=True)
class ExampleGraph:
    """One example's own graph at one step: its loss ``loss([model(x)], [y])``, forward and back.

    Attributes:
        index: The example's row in ``X``.
        loss: Its loss with the weights before the step.
        data: Every node's data, in the graph's topological order (the loss last).
        grad: Every node's grad after ``loss.backward()`` on this graph alone.
    """

    index: int
    loss: float
    data: np.ndarray = field(repr=False)
    grad: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class StepFrame:
    """Everything one optimizer step did, as the engine computed it.

    Attributes:
        step: The step's number, from 0.
        epoch: The epoch it belongs to, from 0.
        batch: The rows of ``X`` in the batch, in the order the loss saw them.
        batch_loss: The batch's mean loss plus the L2 penalty: what ``backward()`` started from.
        train_loss: The loss (plus penalty) over the whole training set after the update.
        val_loss: The same on ``validation_data`` (None without it).
        lr: The learning rate of the step.
        before: Every parameter's value before the step (order of ``model.parameters()``).
        grad: Every parameter's grad, the batch's, as ``optimizer.step()`` saw it (after
            clipping, with ``clip_grad_norm``).
        after: Every parameter's value after the step.
        state: The optimizer's per-parameter state after the step (``exp_avg``, ``exp_avg_sq``
            for Adam, ``momentum_buffer`` for momentum); empty for plain SGD.
        contributions: Shape ``(len(batch), n_params)``: what each batch example added to each
            parameter's data-loss gradient (its share of the mean included).
        l2_grad: What the L2 penalty added to each parameter's gradient.
        layer_grad: Per layer, the mean |grad| of its parameters (backward's, before any
            clipping).
        dead: Per layer, how many ReLU-like neurons output 0 on every training row after the
            update (None for a layer without such neurons).
        examples: The recorded examples' graphs, by row of ``X``.
        grid: The model's output on the boundary grid after the update, ``(GRID, GRID)`` for
            one output, ``(GRID, GRID, K)`` for K classes (None unless 2-D inputs).
        grad_norm: With ``clip_grad_norm``, the gradient's norm before clipping (else None).
        clip_scale: What clipping multiplied every grad by (1.0 when it did not clip).
    """

    step: int
    epoch: int
    batch: np.ndarray = field(repr=False)
    batch_loss: float
    train_loss: float
    val_loss: float | None
    lr: float
    before: np.ndarray = field(repr=False)
    grad: np.ndarray = field(repr=False)
    after: np.ndarray = field(repr=False)
    state: dict[str, np.ndarray] = field(repr=False)
    contributions: np.ndarray = field(repr=False)
    l2_grad: np.ndarray = field(repr=False)
    layer_grad: tuple[float, ...] = field(repr=False)
    dead: tuple[int | None, ...] = field(repr=False)
    examples: dict[int, ExampleGraph] = field(repr=False)
    grid: np.ndarray | None = field(repr=False)
    grad_norm: float | None = None
    clip_scale: float = 1.0


def _matrix(X: ArrayLike, what: str, nin: int | None) -> np.ndarray:
    Xa = np.asarray(X)
    if Xa.dtype.kind not in "iufb":
        raise TypeError(f"{what}: expected numbers, got dtype {Xa.dtype}")
    Xa = Xa.astype(np.float64)
    if Xa.ndim != 2 or len(Xa) == 0:
        raise ValueError(f"{what}: expected 2-D (N examples, d features), got shape {Xa.shape}")
    if nin is not None and Xa.shape[1] != nin:
        raise ValueError(f"the model expects {nin} input features, got {Xa.shape[1]} columns")
    if not np.all(np.isfinite(Xa)):
        raise ValueError(f"{what} contains NaN or infinite values")
    return Xa


def _targets(y: ArrayLike, n: int, what: str, row: Loss | None, nout: int | None) -> np.ndarray:
    ya = np.asarray(y)
    if ya.dtype.kind not in "iufb":
        raise TypeError(f"{what}: expected numbers, got dtype {ya.dtype}")
    if ya.ndim not in (1, 2) or len(ya) != n:
        raise ValueError(f"{what}: expected {n} rows (one per example), got shape {ya.shape}")
    if row is not None:
        row.check_targets(ya, nout)
    return ya


def _python(y: np.ndarray, row: Loss | None) -> list[Any]:
    if row is not None:
        return row.as_python(y)
    if y.ndim == 2:
        return [list(map(float, r)) for r in y.tolist()]
    return [float(v) for v in y.tolist()]


def _outputs(out: Any) -> list[Value]:
    return [out] if type(out) is Value else list(out)


def _loss_of(fn: Any, out: np.ndarray, targets: list[Any]) -> float:
    with no_grad():
        preds: list[Any] = (
            [Value(v) for v in out.tolist()]
            if out.ndim == 1
            else [[Value(v) for v in r] for r in out.tolist()]
        )
        return float(fn(preds, targets).data)


def _nodes_by_example(loss: Value, outs: list[list[Value]]) -> list[list[Value]] | None:
    """Each example's interior nodes, consumers first; None if two examples share one."""
    owner: dict[int, int] = {}
    for i, row in enumerate(outs):
        for o in row:
            if owner.setdefault(id(o), i) != i:
                return None
    nodes: list[list[Value]] = [[] for _ in outs]
    for node in reversed(loss.topological_order()):
        k = owner.get(id(node))
        if k is None or node._op is None:
            continue
        nodes[k].append(node)
        for child in node._prev:
            if (
                type(child) is Value
                and child._op is not None
                and owner.setdefault(id(child), k) != k
            ):
                return None
    return nodes


def _spread(n: int, first: int, count: int) -> list[int]:
    """``first`` and ``count - 1`` more rows spread evenly over ``range(n)``."""
    picked = dict.fromkeys([first] + [(first + round(k * n / count)) % n for k in range(count)])
    return list(picked)[: min(count, n)]


class TrainingView:
    """Train a model step by step and record everything each step does, to replay it later.

    Args:
        model: The model (an :class:`~microgradnn.nn.MLP` or any Module taking one row of X).
        X: Training inputs, shape ``(N, d)``.
        y: Targets, as :func:`~microgradnn.fit` takes them.
        loss: A loss name (``bce_logits``, ``hinge``, ...) or a function ``(preds, targets)``.
        optimizer: An optimizer name (``sgd``, ``momentum``, ``adam``, ...) or an optimizer
            built on ``model.parameters()``.
        lr: The learning rate of an optimizer given by name (None: that optimizer's default).
        batch_size: Examples per step; None is gradient descent (all), 1 is SGD. Batches are
            :func:`~microgradnn.data.batches` of a fresh permutation per epoch drawn from
            ``numpy.random.default_rng(seed)``, as in ``fit``.
        l2: The L2 penalty coefficient (the loss gains ``l2 * sum(p**2)``).
        schedule: A learning-rate schedule bound to ``optimizer``, or a function ``optimizer ->
            schedule`` (the form to use with an optimizer given by name, e.g. ``lambda opt:
            StepLR(opt, step_size=10)``); stepped once per epoch, as in ``fit``. Each frame
            records the lr its step used.
        clip_grad_norm: If set, rescale the gradient to at most this norm before each update
            (:func:`~microgradnn.optim.clip_grad_norm_`, as ``fit`` does); each frame records
            the norm and the scale.
        seed: Seed of the shuffling.
        validation_data: ``(X_val, y_val)``, whose loss is recorded after every step.
        example: The row of ``X`` whose graph the page shows first.
        examples: The rows whose whole graph is recorded at every step (at most
            :data:`MAX_WATCHED`; default: ``example`` and 2 rows spread over ``X``).

    Attributes:
        frames: One :class:`StepFrame` per recorded step.
        initial: The parameters' values before the first step.
        record_seconds: Per step, the seconds spent recording beyond the training step itself.
    """

    def __init__(
        self,
        model: Any,
        X: ArrayLike,
        y: ArrayLike,
        *,
        loss: Any,
        optimizer: Optimizer | str = "sgd",
        lr: float | None = None,
        batch_size: int | None = None,
        l2: float = 0.0,
        schedule: Any = None,
        clip_grad_norm: float | None = None,
        seed: int = 0,
        validation_data: tuple[ArrayLike, ArrayLike] | None = None,
        example: int = 0,
        examples: Sequence[int] | None = None,
    ) -> None:
        if not callable(model) or not hasattr(model, "parameters"):
            raise TypeError(f"model: expected a Module such as an MLP, got {check.describe(model)}")
        nin, nout = io_sizes(model)
        self.model = model
        self.fn = get_loss(loss)
        self.row = loss_info(self.fn)
        self.X = _matrix(X, "X", nin)
        n = len(self.X)
        self.y = _targets(y, n, "y", self.row, nout)
        self.targets = _python(self.y, self.row)
        self.val: tuple[np.ndarray, np.ndarray, list[Any]] | None = None
        if validation_data is not None:
            if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
                raise ValueError("validation_data: expected a pair (X_val, y_val)")
            Xv = _matrix(validation_data[0], "X_val", nin)
            yv = _targets(validation_data[1], len(Xv), "y_val", self.row, nout)
            self.val = (Xv, yv, _python(yv, self.row))
        self.batch_size = (
            None if batch_size is None else check.integer("batch_size", batch_size, low=1)
        )
        self.l2 = check.number("l2", l2, low=0.0)
        self.clip = check.optional_number("clip_grad_norm", clip_grad_norm, low=0.0, low_open=True)
        self.seed = check.integer("seed", seed)
        self.example = check.integer("example", example, low=0, high=n - 1)
        if examples is None:
            watched = _spread(n, self.example, DEFAULT_WATCHED)
        else:
            if isinstance(examples, str | bytes) or not isinstance(examples, Iterable):
                raise TypeError(f"examples: expected rows of X, got {check.describe(examples)}")
            watched = [check.integer("examples[i]", i, low=0, high=n - 1) for i in examples]
            watched = list(dict.fromkeys(watched))
            if not 1 <= len(watched) <= MAX_WATCHED:
                raise ValueError(
                    f"examples: expected 1 to {MAX_WATCHED} rows (each one's graph is recorded "
                    f"at every step), got {len(watched)}"
                )
            if self.example not in watched:
                raise ValueError(f"example {self.example} must be one of examples {watched}")
        self.watched = watched
        if any(isinstance(m, Dropout) and m.p > 0 for m in model.modules()):
            raise ValueError(
                "TrainingView replays every step exactly, which a random Dropout mask would not "
                "allow: use dropout=0.0"
            )
        self.params: list[Value] = list(model.parameters())
        if isinstance(optimizer, str):
            kwargs = {} if lr is None else {"lr": check.number("lr", lr, low=0.0)}
            self.optimizer: Optimizer = get_optimizer(optimizer, self.params, **kwargs)
        elif isinstance(optimizer, Optimizer):
            if lr is not None:
                raise ValueError("lr was given with an optimizer object; set lr on the optimizer")
            if [id(p) for p in optimizer.params] != [id(p) for p in self.params]:
                raise ValueError("optimizer: expected one built on model.parameters()")
            self.optimizer = optimizer
        else:
            raise TypeError(
                f"optimizer: expected a name or an Optimizer, got {check.describe(optimizer)}"
            )
        self.schedule = resolve_schedule(schedule, self.optimizer)
        info = model_info(model)
        self.info = info
        names = dict(model.named_parameters()) if hasattr(model, "named_parameters") else {}
        by_id = {id(p): short_name(k) for k, p in names.items()}
        self.names = [by_id.get(id(p), f"p{i}") for i, p in enumerate(self.params)]
        position = {id(p): i for i, p in enumerate(self.params)}
        layers: dict[int, list[int]] = {}
        for neuron in info.neurons:
            layers.setdefault(neuron.layer, []).extend(
                position[id(p)] for p in neuron.parameters if id(p) in position
            )
        self.layers = [layers[k] for k in sorted(layers)] or [list(range(len(self.params)))]
        self.first_layer = [
            [position[id(p)] for p in (*nr.w, nr.b) if p is not None]
            for nr in info.neurons
            if nr.layer == 0
        ]
        self.predict = Predictor(model, compiled=True)
        self.classes = 1 if nout is None else int(nout)
        classes = self.classes == 1 or (self.row is not None and self.row.targets == "classes")
        self.grid_axes = self._grid_axes() if self.X.shape[1] == 2 and classes else None
        self._units = self._unit_replay()
        self.frames: list[StepFrame] = []
        self.record_seconds: list[float] = []
        self.initial = np.array([p.data for p in self.params])
        self.initial_loss = self._full_loss(self.X, self.targets)
        self.initial_grid = self._grid()
        self._rng = np.random.default_rng(self.seed)
        self._epoch = 0
        self._batches: Iterator[tuple[np.ndarray, np.ndarray]] | None = None
        self._html: str | None = None
        self._clones: dict[int, tuple[Value, Any, Any]] = {}
        self._still_png: tuple[int, bytes | None] | None = None
        self._widgets: weakref.WeakSet[Any] = weakref.WeakSet()
        self._texts: dict[int, list[dict[str, list[str]]]] = {}

    # -- recording ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.frames)

    def _next_batch(self) -> np.ndarray:
        n = len(self.X)
        while True:
            if self._batches is None:
                rows = np.arange(n)
                self._batches = batches(rows[:, None], rows, self.batch_size, True, self._rng)
            got = next(self._batches, None)
            if got is not None:
                return got[1]
            self._batches = None
            self._epoch += 1
            if self.schedule is not None:  # at each epoch's end, as fit steps it
                self.schedule.step()

    def train(self, steps: int = 1) -> None:
        """Run ``steps`` optimizer steps on the model, one batch each, recording every one."""
        steps = check.integer("steps", steps, low=0)
        was_training = self.model.training
        self.model.train()
        try:
            for _ in range(steps):
                self._step()
        finally:
            self.model.train(was_training)
            self._html = None
        for w in list(self._widgets):
            w.refresh()

    def _step(self) -> None:
        model, params = self.model, self.params
        rows = self._next_batch()
        epoch = self._epoch
        Xb = self.X[rows]
        targets = [self.targets[i] for i in rows.tolist()]
        start = time.perf_counter()
        model.zero_grad()
        preds = [model(x) for x in Xb.tolist()]
        loss = self.fn(preds, targets)
        penalty = l2_regularization(params, self.l2) if self.l2 > 0 else None
        if penalty is not None:
            loss = loss + penalty
        loss.backward()
        trained = time.perf_counter() - start

        grad = np.array([p.grad for p in params])
        before = np.array([p.data for p in params])
        contributions = self._contributions(preds, loss)
        l2_grad = np.zeros(len(params))
        if penalty is not None:
            for p in params:
                p.grad = 0.0
            penalty.backward(penalty.grad)
            l2_grad = np.array([p.grad for p in params])
        graphs = {i: self._example_graph(i) for i in self.watched}
        for p, g in zip(params, grad.tolist(), strict=True):
            p.grad = g
        recorded = time.perf_counter() - start - trained

        step_start = time.perf_counter()
        norm: float | None = None
        used, scale = grad, 1.0
        if self.clip is not None:
            norm = clip_grad_norm_(params, self.clip)
            used = np.array([p.grad for p in params])
            scale = clip_coefficient(norm, self.clip)
        lr = float(self.optimizer.lr)
        self.optimizer.step()
        trained += time.perf_counter() - step_start

        record_start = time.perf_counter()
        saved = self.optimizer.state_dict()["state"]
        state = {k: np.array(v) for k, v in saved.items() if v is not None and self._used(k)}
        layer_grad = tuple(
            math.fsum(abs(grad[i]) for i in idx) / max(len(idx), 1) for idx in self.layers
        )
        val_loss = None if self.val is None else self._full_loss(self.val[0], self.val[2])
        self.frames.append(
            StepFrame(
                step=len(self.frames),
                epoch=epoch,
                batch=rows.copy(),
                batch_loss=float(loss.data),
                train_loss=self._full_loss(self.X, self.targets),
                val_loss=val_loss,
                lr=lr,
                before=before,
                grad=used,
                after=np.array([p.data for p in params]),
                state=state,
                contributions=contributions,
                l2_grad=l2_grad,
                layer_grad=layer_grad,
                dead=self._dead(),
                examples=graphs,
                grid=self._grid(),
                grad_norm=norm,
                clip_scale=scale,
            )
        )
        self.record_seconds.append(recorded + time.perf_counter() - record_start)

    def _used(self, name: str) -> bool:
        """Whether an optimizer state list is in use (RMSProp keeps unused ones at 0)."""
        opt: Any = self.optimizer
        if name == "grad_avg":
            return bool(getattr(opt, "centered", False))
        if name == "max_exp_avg_sq":
            return bool(getattr(opt, "amsgrad", False))
        if name == "momentum_buffer":
            return bool(getattr(opt, "momentum", 0.0))
        return True

    def _contributions(self, preds: list[Any], loss: Value) -> np.ndarray:
        """Per batch example, the engine's backward through its part of the batch graph.

        After the batch's ``backward()`` each output holds d(loss)/d(output); the chain-rule
        steps of that example's own nodes, seeded with it, give the example's share of every
        parameter's grad. Each example's nodes are found once, from the batch graph's order
        (one traversal instead of one per example); a node shared by two examples (a model
        that reuses a Value across calls) makes each example run its own ``backward()``.
        """
        params = self.params
        outs = [_outputs(o) for o in preds]
        seeds = [[o.grad for o in row] for row in outs]
        found = np.zeros((len(preds), len(params)))
        nodes = _nodes_by_example(loss, outs)
        for i, (row, seed) in enumerate(zip(outs, seeds, strict=True)):
            for p in params:
                p.grad = 0.0
            if nodes is None:
                for o, s in zip(row, seed, strict=True):
                    o.backward(s)
            else:
                own = nodes[i]
                for node in own:
                    node.grad = 0.0
                for o, s in zip(row, seed, strict=True):
                    o.grad = s
                for node in own:
                    node._backward()
            found[i] = [p.grad for p in params]
        return found

    def _example_graph(self, i: int) -> ExampleGraph:
        """Row ``i``'s own loss graph with the weights before the step, forward and backward."""
        for p in self.params:
            p.grad = 0.0
        root = self.fn([self.model(self.X[i].tolist())], [self.targets[i]])
        root.backward()
        order = root.topological_order()
        return ExampleGraph(
            index=i,
            loss=float(root.data),
            data=np.array([v.data for v in order]),
            grad=np.array([v.grad for v in order]),
        )

    def _full_loss(self, X: np.ndarray, targets: list[Any]) -> float:
        penalty = self.l2 * math.fsum(p.data * p.data for p in self.params) if self.l2 else 0.0
        try:
            out = self.predict(X)
        except CompileError:
            self.predict = Predictor(self.model)
            out = self.predict(X)
        return _loss_of(self.fn, out, targets) + penalty

    def _grid_axes(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.X.min(axis=0), self.X.max(axis=0)
        pad = 0.1 * (hi - lo) + 0.25
        return (
            np.linspace(lo[0] - pad[0], hi[0] + pad[0], GRID),
            np.linspace(lo[1] - pad[1], hi[1] + pad[1], GRID),
        )

    def _grid(self) -> np.ndarray | None:
        if self.grid_axes is None:
            return None
        gx, gy = np.meshgrid(*self.grid_axes)
        out = np.asarray(self.predict(np.column_stack([gx.ravel(), gy.ravel()])), np.float64)
        if self.classes > 1:
            return out.reshape(GRID, GRID, self.classes)
        return out.reshape(GRID, GRID)

    def _unit_replay(self) -> Any:
        """The neurons' outputs over all rows, traced once (for the dead-ReLU counts)."""
        neurons = [nr for nr in self.info.neurons if nr.row is not None and nr.row.can_die]
        layers = getattr(self.model, "layers", None)
        if not neurons or not isinstance(layers, list):
            return None

        def units(xs: list[Value], ys: list[Value]) -> list[Value]:
            found: list[Value] = []
            h: Any = xs
            for layer in layers:
                h = layer(h)
                found.extend(_outputs(h))
            return found

        try:
            with eval_mode(self.model):
                return trace(units, self.X.shape[1], 0, self.params)
        except (CompileError, TypeError, ValueError):
            return None

    def _example_clone(self, i: int) -> tuple[Value, Any, Any]:
        """A copy of the model and example ``i``'s graph on it, analysed once, for the pictures."""
        if i not in self._clones:
            clone = copy.deepcopy(self.model)
            root = self.fn([clone(self.X[i].tolist())], [self.targets[i]])
            root.label = "loss"
            root.backward()
            info = model_info(clone)
            self._clones[i] = (root, info, analyze(root, info.param_names))
        return self._clones[i]

    def _dead(self) -> tuple[int | None, ...]:
        if self._units is None:
            return tuple(None for _ in self.layers)
        out = self._units.forward(self.X)
        counts: dict[int, int] = {}
        for k, nr in enumerate(self.info.neurons):
            if nr.row is not None and nr.row.can_die:
                counts[nr.layer] = counts.get(nr.layer, 0) + int(not np.any(out[:, k] > 0.0))
        return tuple(counts.get(layer) for layer in range(len(self.layers)))

    # -- the page ----------------------------------------------------------------------------

    @property
    def summary(self) -> str:
        """What the view holds, in words (its ``text/plain``)."""
        n = len(self.frames)
        last = self.frames[-1] if self.frames else None
        loss = f", training loss {self.initial_loss:.4g}"
        if last is not None:
            loss += f" -> {last.train_loss:.4g}"
        return (
            f"TrainingView: {n} step{'' if n == 1 else 's'} of {type(self.optimizer).__name__} "
            f"on {len(self.X)} examples (batch {self.batch_size or 'all'}){loss}; "
            "view.train(50) records more, view.save_html('watch.html') writes the page"
        )

    def __repr__(self) -> str:
        return f"<{self.summary}>"

    def page_data(self) -> dict[str, Any]:
        """What the page's script shows, as JSON-ready data (see :mod:`microgradnn.viz.watch`)."""
        return _PageBuilder(self, "").data()

    def _fragment(self, still: bool, kernel: bool = False) -> str:
        if not self.frames:
            raise ValueError("nothing recorded yet: call view.train(steps) first")
        digest = hashlib.sha1(self.summary.encode()).hexdigest()[:6]
        prefix = f"mw{digest}{next(_counter)}_"
        builder = _PageBuilder(self, prefix)
        data = builder.data()
        svg = builder.svg()
        data["graph"] = builder.graph_data() if svg is not None else {"ok": False}
        lr = self.optimizer.lr if kernel else None
        return _layout(prefix, data, svg, self._png() if still else None, lr)

    def live_html(self) -> str:
        """The view for the Jupyter widget: with its "train more steps" controls, no script."""
        return self._fragment(still=False, kernel=True)

    def still(self) -> tuple[bytes, str] | None:
        """The last frame as a PNG and as a small HTML picture, for where no script runs."""
        png = self._png() if self.frames else None
        if png is None:
            return None
        n = len(self.frames)
        alt = f"decision boundary and loss after step {n}"
        return png, (
            f'<div class="mw-view">{_img(png, alt)}<br>\n'
            f"<small>{LIVE_NOTE.format(n=n)}</small></div>"
        )

    def widget(self) -> Any:
        """This view as a live Jupyter widget (needs ``pip install 'microgradnn[widget]'``).

        Its front-end plays, steps and scrubs without the kernel; its "train" button records
        more steps in Python. ``view.train(n)`` updates every widget of the view.
        """
        try:
            from microgradnn.viz.widget import TrainingWidget
        except ImportError as err:
            raise ImportError(
                "the live view needs anywidget: pip install 'microgradnn[widget]' (or use "
                "view.save_html('watch.html'), which needs nothing)"
            ) from err
        w = TrainingWidget(self)
        self._widgets.add(w)
        return w

    def page(self, title: str = "microgradnn: watch it learn") -> str:
        """The view as a complete standalone HTML document (no network needed)."""
        return standalone_page(title, self._fragment(still=False), "mw-standalone")

    def save_html(self, path: str | Path) -> Path:
        """Write the standalone page to ``path`` (replaced in one step); returns the path."""
        return atomic_write(path, self.page())

    @property
    def html(self) -> str:
        """The view as a notebook fragment: the last frame as a PNG until the script runs."""
        if self._html is None:
            self._html = self._fragment(still=True)
        return self._html

    def _png(self) -> bytes | None:
        """:meth:`png`, or None without matplotlib: rendered once per recorded step count.

        A notebook bundle shows the PNG twice (its own entry and inside the still HTML).
        """
        n = len(self.frames)
        if self._still_png is None or self._still_png[0] != n:
            try:
                self._still_png = (n, self.png())
            except ImportError:
                self._still_png = (n, None)
        return self._still_png[1]

    def png(self) -> bytes:
        """The last frame as a PNG, :meth:`figure` at 80 dpi (needs matplotlib)."""
        buf = io.BytesIO()
        self.figure().savefig(buf, format="png", dpi=80)
        return buf.getvalue()

    def figure(self) -> Any:
        """The last frame as a matplotlib Figure (needs matplotlib).

        The decision boundary (2-D inputs, one output) with the first layer's zero lines, and
        the loss curve, train and validation.
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError(
                "the picture needs matplotlib: pip install 'microgradnn[plot]'"
            ) from err
        fig = Figure(figsize=(9.0, 3.6), layout="constrained")
        axes = fig.subplots(1, 2)
        last = self.frames[-1] if self.frames else None
        grid = last.grid if last is not None else self.initial_grid
        if grid is not None and self.grid_axes is not None:
            from matplotlib import colormaps

            ax = axes[0]
            thr = _threshold(self.row)
            gx, gy = self.grid_axes
            if self.classes > 1:
                ax.pcolormesh(
                    gx, gy, np.argmax(grid, axis=2), cmap="tab10", vmin=0, vmax=9, alpha=0.35
                )
            else:
                ax.contourf(gx, gy, grid - thr, levels=20, cmap="RdBu", alpha=0.6)
                ax.contour(gx, gy, grid - thr, levels=[0.0], colors="k", linewidths=1.5)
            values = last.after if last is not None else self.initial
            for row in self.first_layer:
                if len(row) == 3:  # w0 x + w1 y + b = 0
                    w0, w1, b = (float(values[i]) for i in row)
                    if abs(w1) > 1e-12:
                        ax.plot(gx, -(w0 * gx + b) / w1, "k--", lw=0.8, alpha=0.7)
                    elif abs(w0) > 1e-12:
                        ax.axvline(-b / w0, color="k", ls="--", lw=0.8, alpha=0.7)
            ax.set_xlim(gx[0], gx[-1])
            ax.set_ylim(gy[0], gy[-1])
            labels = labels_of(self.y)
            if self.classes > 1:
                cmap = colormaps["tab10"]
                colors = [cmap(k % 10) for k in range(self.classes)]
                what = "the predicted class"
            else:
                cmap = colormaps["RdBu"]
                colors = [cmap(0.1), cmap(0.9)]
                what = f"red < {thr:g} < blue"
            ax.scatter(
                *self.X.T,
                c=[colors[min(k, len(colors) - 1)] for k in labels],
                edgecolors="k",
                s=18,
                zorder=3,
            )
            ax.set_title(
                f"after step {len(self.frames)}: {what}; dashed: first-layer zero lines",
                fontsize=10,
            )
        else:
            axes[0].set_axis_off()
        ax = axes[1]
        steps = np.arange(0, len(self.frames) + 1)
        ax.plot(steps, [self.initial_loss] + [f.train_loss for f in self.frames], label="train")
        if self.val is not None and self.frames:
            ax.plot(steps[1:], [f.val_loss for f in self.frames], label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.legend()
        ax.set_title("loss")
        return fig

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **_: Any
    ) -> Any:
        if self.frames and _live_widgets():
            return self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        renderers: dict[str, Any] = {}
        if self.frames:
            renderers[HTML] = lambda: self.html
            if self._png() is not None:
                renderers[PNG] = self._png
        return mime_bundle(renderers, self.summary, include, exclude)


def _live_widgets() -> bool:
    """True inside a Jupyter kernel that has anywidget: a displayed view is then a live widget."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if getattr(shell, "kernel", None) is None:
        return False
    try:
        import microgradnn.viz.widget  # noqa: F401
    except ImportError:
        return False
    return True


def _sureness(scores: np.ndarray, logits: bool) -> np.ndarray:
    """Per grid cell of K outputs (logits or probabilities): the top class's probability.

    Rescaled from 1/K..1 (no preference .. sure) to 0..1.
    """
    if logits:
        z = scores - scores.max(axis=-1, keepdims=True)
        top = 1.0 / np.exp(z).sum(axis=-1)
    else:
        top = scores.max(axis=-1)
    k = scores.shape[-1]
    return np.asarray(np.clip((top - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0))


def _threshold(row: Loss | None) -> float:
    return 0.0 if row is None or row.threshold is None else float(row.threshold)


# ---------------------------------------------------------------------------------------------
# The page: JSON frames, the graph laid out once, the HTML around them.


def _f32(a: np.ndarray) -> str:
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode("ascii")


def _i8(a: np.ndarray) -> str:
    return base64.b64encode(np.asarray(a, dtype=np.int8).tobytes()).decode("ascii")


_GROUP = re.compile(r'<g id="([^"]+)" class="(?:node|edge)[^"]*">')
_TEXT = re.compile(r"<text([^>]*)>(.*?)</text>", re.DOTALL)


_TEXT_OPTIONS = DrawOptions(view="backward", cluster="neuron", max_nodes=None, legend=False)
"""How the frames' texts are built: the page's picture without its legend (texts only)."""


class _PageBuilder:
    """Turns a view's frames into the page's data, and lays out the example graph once."""

    def __init__(self, view: TrainingView, prefix: str) -> None:
        self.v = view
        self.prefix = prefix
        self.opts = DrawOptions(
            view="backward", cluster="neuron", max_nodes=None, id_prefix=prefix, legend=True
        )
        self._texts: dict[int, list[dict[str, list[str]]]] = {}
        self._pictures: dict[int, Any] = {}
        self._slots: set[tuple[str, int]] = set()
        self._loss_elements: list[str] = []

    def data(self) -> dict[str, Any]:
        v = self.v
        frames = v.frames
        thr = _threshold(v.row)
        out: dict[str, Any] = {
            "n": len(frames),
            "names": v.names,
            "optimizer": type(v.optimizer).__name__,
            "hypers": {k: str(x) for k, x in v.optimizer.hyperparameters().items()},
            "lr": [f.lr for f in frames],
            "clip": v.clip,
            "gradNorm": [f.grad_norm for f in frames],
            "clipScale": [f.clip_scale for f in frames],
            "epoch": [f.epoch for f in frames],
            "batch": [f.batch.tolist() for f in frames],
            "batchLoss": [f.batch_loss for f in frames],
            "trainLoss": [v.initial_loss] + [f.train_loss for f in frames],
            "valLoss": None if v.val is None else [f.val_loss for f in frames],
            "values": _f32(np.stack([v.initial] + [f.after for f in frames])),
            "grads": _f32(np.stack([f.grad for f in frames])) if frames else "",
            "state": {
                k: _f32(np.stack([f.state[k] for f in frames]))
                for k in (frames[-1].state if frames else {})
            },
            "layers": [f"layer {k}" for k in range(len(v.layers))],
            "layerGrad": [list(f.layer_grad) for f in frames],
            "dead": [list(f.dead) for f in frames],
            "firstLayer": v.first_layer,
            "loss": v.row.name if v.row is not None else "your loss",
            "l2": v.l2,
            "watched": v.watched,
            "example": v.example,
            "exampleLoss": {str(i): [f.examples[i].loss for f in frames] for i in v.watched},
        }
        out["contrib"] = self._contrib()
        X = v.X
        out["points"] = X.tolist() if X.shape[1] == 2 else None
        out["labels"] = labels_of(v.y).tolist() if v.y.ndim == 1 or v.y.shape[1] > 1 else None
        if v.grid_axes is not None:
            grids = [g for g in [v.initial_grid] + [f.grid for f in frames] if g is not None]
            out["grid"] = {
                "n": GRID,
                "x": [float(v.grid_axes[0][0]), float(v.grid_axes[0][-1])],
                "y": [float(v.grid_axes[1][0]), float(v.grid_axes[1][-1])],
                "threshold": thr,
                "classes": v.classes,
            }
            if v.classes > 1:
                # per cell: the predicted class, and how sure (softmax's top share, 1/K..1)
                out["grid"]["q"] = [_i8(np.argmax(g, axis=2)) for g in grids]
                logits = v.row is None or v.row.applies == "softmax"
                out["grid"]["sure"] = [_i8(np.round(127 * _sureness(g, logits))) for g in grids]
            else:
                k = 1.0 if thr == 0.0 else 4.0
                out["grid"]["q"] = [_i8(np.round(127 * np.tanh(k * (g - thr)))) for g in grids]
        else:
            out["grid"] = None
        out["graph"] = {"ok": False}
        return out

    def _contrib(self) -> dict[str, Any]:
        """First-layer parameters only: int8 bars per batch example, exact sums beside them."""
        v = self.v
        shown = [i for row in v.first_layer for i in row] or list(range(min(8, len(v.params))))
        scale, bars, l2 = [], [], []
        for f in v.frames:
            c = f.contributions[:, shown]
            top = np.max(np.abs(c), axis=0) if len(c) else np.zeros(len(shown))
            top = np.where(top > 0, top, 1.0)
            scale.append(top)
            bars.append(_i8(np.round(127 * c / top).T))
            l2.append(f.l2_grad[shown])
        return {
            "params": shown,
            "scale": _f32(np.array(scale)) if scale else "",
            "q": bars,
            "l2": _f32(np.array(l2)) if l2 else "",
        }

    # -- the graph ---------------------------------------------------------------------------

    def _frame_texts(self) -> bool:
        """Per watched example and frame, every text the picture shows; False if none can."""
        v = self.v
        ref_len = None
        shape: dict[str, int] | None = None
        for i in v.watched:
            root, info, a = v._example_clone(i)
            order = a.order
            if ref_len is None:
                ref_len = len(order)
                self._root0 = (root, info, a)
            if len(order) != ref_len or any(len(f.examples[i].data) != ref_len for f in v.frames):
                continue
            texts = v._texts.setdefault(i, [])
            for f in v.frames[len(texts) :]:
                g = f.examples[i]
                for node, d, gr in zip(order, g.data.tolist(), g.grad.tolist(), strict=True):
                    node._data = d
                    node.grad = gr
                a.local_grads[:] = [node.local_grads() for node in order]
                texts.append(build_picture(root, _TEXT_OPTIONS, info, None, None, a).texts)
            if shape is None:
                shape = _shape(texts[0])
            # another target can give the loss another shape (cross-entropy picks its class):
            # such an example's numbers do not fit the one layout, so its graph is not shown
            if all(_shape(t) == shape for t in texts):
                self._texts[i] = texts
        return bool(self._texts)

    def svg(self) -> str | None:
        """The example graph laid out once, every text tagged ``{prefix}{element}_t{k}``."""
        v = self.v
        if not v.frames or not self._frame_texts():
            return None
        first = next(iter(self._texts))
        texts = self._texts[first]
        widest = max(
            range(len(texts)), key=lambda f: sum(len(t) for x in texts[f].values() for t in x)
        )
        root, info, a = self._root0
        g = v.frames[widest].examples[first]
        for node, d, gr in zip(a.order, g.data.tolist(), g.grad.tolist(), strict=True):
            node._data = d
            node.grad = gr
        a.local_grads[:] = [node.local_grads() for node in a.order]
        built = build_picture(root, self.opts, info, None, None, a)
        try:
            raw = built.graph.pipe(format="svg", encoding="utf-8")
        except (GraphvizNotFoundError, subprocess.CalledProcessError):
            return None
        self._slots = {(s.element, s.position) for s in built.slots if s.kind in _BACKWARD_KINDS}
        svg, tagged = self._tag(raw[raw.index("<svg") :], built.texts)
        self._tagged = tagged
        loss_ids: list[str] = []
        for j in range(len(a.order)):
            group = built.elements.get(j, [])
            if a.kinds[j] in ("value", "output") and not any(e.startswith("n") for e in group):
                loss_ids.extend(self.prefix + e for e in group)
        self._loss_elements = list(dict.fromkeys(loss_ids))
        return re.sub(r"<!--.*?-->\n?", "", svg, flags=re.DOTALL)

    def _tag(self, svg: str, texts: dict[str, list[str]]) -> tuple[str, list[tuple[str, int]]]:
        pieces, last, tagged = [], 0, []
        groups = list(_GROUP.finditer(svg))
        for n, m in enumerate(groups):
            element = html.unescape(m.group(1))[len(self.prefix) :]
            expected = texts.get(element)
            end = groups[n + 1].start() if n + 1 < len(groups) else len(svg)
            block = svg[m.end() : end]
            found = list(_TEXT.finditer(block))
            if expected is None or len(found) != len(expected):
                continue
            out, prev = [], 0
            for k, t in enumerate(found):
                out.append(block[prev : t.start()])
                out.append(
                    f'<text id="{self.prefix}{element}_t{k}"{t.group(1)}>{t.group(2)}</text>'
                )
                prev = t.end()
                tagged.append((element, k))
            out.append(block[prev:])
            pieces.append(svg[last : m.end()])
            pieces.append("".join(out))
            last = end
        pieces.append(svg[last:])
        return "".join(pieces), tagged

    def graph_data(self) -> dict[str, Any]:
        """Per watched example, per tagged text that changes, its text at every frame."""
        ids = []
        per_example: dict[str, list[list[str | int]]] = {}
        changing = [
            (el, k)
            for el, k in self._tagged
            if any(
                len({fr[el][k] for fr in texts if el in fr and k < len(fr[el])}) > 1
                for texts in self._texts.values()
            )
            or len({texts[0][el][k] for texts in self._texts.values()}) > 1
        ]
        prefixes = []
        for el, k in changing:
            ids.append(f"{self.prefix}{el}_t{k}")
            seen = [fr[el][k] for texts in self._texts.values() for fr in texts]
            prefixes.append(_common_prefix(seen))
        for i, texts in self._texts.items():
            rows: list[list[str | int]] = []
            for (el, k), head in zip(changing, prefixes, strict=True):
                series: list[str | int] = []
                prev = None
                for fr in texts:
                    t = fr[el][k]
                    series.append(0 if t == prev else t[len(head) :])
                    prev = t
                rows.append(series)
            per_example[str(i)] = rows
        backward = [f"{self.prefix}{el}_t{k}" for el, k in self._tagged if (el, k) in self._slots]
        return {
            "ok": True,
            "ids": ids,
            "prefix": prefixes,
            "texts": per_example,
            "backward": backward,
            "loss": self._loss_elements,
        }


def _shape(texts: dict[str, list[str]]) -> dict[str, int]:
    """How many texts each element of a picture shows: equal for pictures of one layout."""
    return {el: len(t) for el, t in texts.items()}


def _common_prefix(texts: list[str]) -> str:
    """The longest start all ``texts`` share, cut after its last space or ``=``."""
    if not texts:
        return ""
    lo, hi = min(texts), max(texts)
    k = 0
    while k < min(len(lo), len(hi)) and lo[k] == hi[k]:
        k += 1
    head = lo[:k]
    cut = max(head.rfind(" "), head.rfind("="))
    return head[: cut + 1]


@cache
def page_asset(name: str) -> str:
    """The text of one of the page's package data files, ``watch.js`` or ``watch.css``."""
    name = check.choice("name", name, ("watch.js", "watch.css"))
    return resources.files("microgradnn.viz").joinpath(name).read_text(encoding="utf-8")


_SHOW_LIVE = (
    "(function (s) { var r = s && s.parentNode;"
    " if (r && r.getAttribute('data-ready')) {"
    " r.querySelectorAll('.mw-live').forEach(function (e) { e.hidden = false; });"
    " } })(document.currentScript);"
)

TRUST_NOTE = (
    "Shown: the last recorded step. To play, step and scrub, the view's script must run: trust "
    "the notebook (JupyterLab: <em>Trust Notebook</em> in the command palette; Notebook 7: "
    "File &gt; Trust Notebook; VS Code: when it asks), or open the page that "
    "<code>view.save_html('watch.html')</code> writes in a browser."
)


LIVE_NOTE = (
    "Shown: step {n}, the last one recorded when the cell ran. This view was live in its kernel: "
    "run the cell again to play, step and scrub it, or open the page that "
    "view.save_html('watch.html') writes."
)


def _img(png: bytes, alt: str, cls: str = "") -> str:
    """An ``<img>`` holding ``png`` itself, shrunk to fit its column."""
    src = base64.b64encode(png).decode("ascii")
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<img{klass} style="max-width:100%;height:auto" alt="{html.escape(alt)}" '
        f'src="data:image/png;base64,{src}">'
    )


def _layout(
    prefix: str, data: dict[str, Any], svg: str | None, png: bytes | None, lr: float | None = None
) -> str:
    """The view's HTML: controls, panels, graph, the JSON data and the script.

    ``lr`` (the widget's): add the "train more steps" controls, starting at that rate.
    """
    cid = prefix + "view"
    hidden = ' hidden="hidden"' if png is not None else ""
    still = ""
    if png is not None:
        alt = "decision boundary and loss after the last step"
        still = f'<div class="mw-note">{_img(png, alt, "mw-still")}<br>\n{TRUST_NOTE}</div>\n'
    graph = (
        svg
        if svg is not None
        else (
            '<p class="mw-nograph">No graph: graphviz\'s <code>dot</code> program is not installed '
            "(apt install graphviz, brew install graphviz or conda install graphviz).</p>"
        )
    )
    last = data["n"] - 1
    show = f"<script>{_SHOW_LIVE}</script>\n" if png is not None else ""
    return (
        f'<div class="mw-view" id="{cid}" tabindex="0">\n'
        f"<style>{page_asset('watch.css')}</style>\n{still}"
        f'<div class="mw-live"{hidden}>\n'
        '<div class="mw-controls">'
        '<button type="button" data-act="reset" title="back to step 1, forward (Home)">'
        "reset</button>"
        '<button type="button" data-act="prev" title="previous phase (←)">◀ back</button>'
        '<button type="button" data-act="play" title="play / pause (space)">play</button>'
        '<button type="button" data-act="next" title="next phase (→)">step ▶</button>'
        '<label title="phases per second">speed <input type="range" class="mw-speed" '
        'min="1" max="30" value="8"></label>'
        '<label title="play every phase, or whole steps"><input type="checkbox" '
        'class="mw-phased" checked> phases</label>'
        f'<input type="range" class="mw-scrub" min="0" max="{last}" value="{last}" '
        'aria-label="step">'
        '<span class="mw-counter"></span></div>\n'
        + (
            ""
            if lr is None
            else '<div class="mw-controls mw-kernel">train <input type="number" '
            'class="mw-more" min="1" max="1000" step="1" value="50" aria-label="steps"> more '
            'steps with lr <input type="number" class="mw-lr" min="0" step="any" '
            f'value="{lr:g}" aria-label="learning rate"> <button type="button" '
            'data-act="train" title="record more steps in the kernel">train</button> '
            '<span class="mw-status"></span></div>\n'
        )
        + '<div class="mw-phases">'
        + "".join(
            f'<span class="mw-phase" data-phase="{k}">{k + 1} {name}</span>'
            for k, name in enumerate(PHASES)
        )
        + "</div>\n"
        '<div class="mw-caption"></div>\n'
        '<div class="mw-row">\n'
        '<div class="mw-panel"><div class="mw-title">decision boundary</div>'
        '<canvas class="mw-boundary" width="340" height="340"></canvas>'
        '<div class="mw-legend mw-boundary-legend"></div></div>\n'
        '<div class="mw-panel"><div class="mw-title">loss</div>'
        '<canvas class="mw-loss" width="400" height="190"></canvas>'
        '<div class="mw-legend mw-loss-legend"></div>'
        '<div class="mw-title">mean |grad| per layer <span class="mw-dead"></span></div>'
        '<canvas class="mw-grads" width="400" height="130"></canvas>'
        '<div class="mw-legend mw-grads-legend"></div></div>\n'
        '<div class="mw-panel mw-wide"><div class="mw-title">one weight\'s gradient, example by '
        'example <select class="mw-param"></select></div>'
        '<canvas class="mw-contrib" width="420" height="200"></canvas>'
        '<div class="mw-legend mw-contrib-legend"></div></div>\n'
        "</div>\n"
        '<div class="mw-title">update: each parameter, sorted by |new - old| '
        '<span class="mw-hint">(click a first-layer row to see its bars)</span></div>'
        '<div class="mw-table"></div>\n'
        '<div class="mw-title">the example\'s graph by neuron (backward view) '
        '<span class="mw-example"></span><button type="button" class="mw-zoom" '
        'data-act="zoom">fit width</button></div>'
        f'<div class="mw-graph">{graph}</div>\n'
        "</div>\n"
        f'<script type="application/json" class="mw-data">{json_for_script(data)}</script>\n'
        f"<script>{page_asset('watch.js').rstrip()}({json.dumps(cid)});</script>\n"
        f"{show}</div>"
    )
