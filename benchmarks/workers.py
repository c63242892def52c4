"""One implementation of one workload, timed in its own process; prints one JSON line.

Run by ``benchmarks/run.py`` (never imported by it, so each implementation starts from a clean
interpreter):

    python benchmarks/workers.py WORKLOAD IMPLEMENTATION CONFIG.json

Every implementation of a workload starts from the same weights and data (in the config file)
and reports its per-step times and its losses, so run.py can check that they computed the same
thing before comparing how fast they did it.
"""

# X, Y, W: data and weight matrices, as in the literature.
# ruff: noqa: N806

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

Config = dict[str, Any]
Result = dict[str, Any]


def lr_at(k: int) -> float:
    """micrograd's demo schedule: 1.0 - 0.9 * k / 100."""
    return 1.0 - 0.9 * k / 100


def timed_steps(step: Callable[[int], float], steps: int, gc_off: bool) -> Result:
    """Wall-clock and CPU seconds of each step, and the loss it computed."""
    times, cpu_times, losses = [], [], []
    for k in range(steps):
        if gc_off:
            gc.disable()
        c, t = time.process_time(), time.perf_counter()
        loss = step(k)
        times.append(time.perf_counter() - t)
        cpu_times.append(time.process_time() - c)
        if gc_off:
            gc.enable()
        losses.append(float(loss))
    return {"times": times, "cpu_times": cpu_times, "losses": losses}


# -- W1: micrograd's demo step (100 two-moons points, MLP 2-16-16-1, hinge + 1e-4 L2, SGD) --------


def demo_loop(value: Any, model: Any, cfg: Config, gc_off: bool) -> Result:
    """micrograd's demo notebook loop, as a learner writes it, with ``value`` and ``model``.

    Python's ``sum`` of Values, the L2 term over a generator, ``model.zero_grad()``,
    ``p.data -= lr * p.grad``: the same code runs micrograd 0.1.0 and microgradnn.
    """
    X, y = cfg["X"], [int(v) for v in cfg["y"]]

    def step(k: int) -> float:
        # The demo notebook's loss(), verbatim apart from plain lists instead of numpy rows.
        inputs = [list(map(value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        model.zero_grad()
        total_loss.backward()
        learning_rate = lr_at(k)
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        return total_loss.data

    return timed_steps(step, cfg["steps"], gc_off)


def w1_micrograd(cfg: Config, gc_off: bool = False) -> Result:
    from micrograd.engine import Value
    from micrograd.nn import MLP

    model = MLP(2, [16, 16, 1])
    for layer, (ws, bs) in zip(model.layers, cfg["weights"], strict=True):
        for neuron, w, b in zip(layer.neurons, ws, bs, strict=True):
            for p, v in zip(neuron.w, w, strict=True):
                p.data = v
            neuron.b.data = b
    return demo_loop(Value, model, cfg, gc_off)


def w1_learner(cfg: Config) -> Result:
    """The same demo loop on microgradnn's Value and MLP, the collector on, as a learner runs it."""
    from microgradnn import Value

    return demo_loop(Value, _our_mlp(cfg["weights"], [16, 16, 1], 2), cfg, gc_off=False)


def _our_mlp(weights: list[Any], sizes: list[int], nin: int) -> Any:
    from microgradnn.nn import MLP

    model = MLP(nin, sizes, activation="relu", seed=0)
    layers = [layer for layer in model.layers if hasattr(layer, "neurons")]
    for layer, (ws, bs) in zip(layers, weights, strict=True):
        for neuron, w, b in zip(layer.neurons, ws, bs, strict=True):
            for p, v in zip(neuron.w, w, strict=True):
                p.data = v
            neuron.b.data = b
    return model


def w1_eager(cfg: Config, gc_off: bool = True) -> Result:
    from microgradnn.losses import hinge_loss, l2_regularization

    model = _our_mlp(cfg["weights"], [16, 16, 1], 2)
    params = model.parameters()
    X, y = cfg["X"], cfg["y"]

    def step(k: int) -> float:
        scores = [model(x) for x in X]
        loss = hinge_loss(scores, y) + l2_regularization(params, 1e-4)
        model.zero_grad()
        loss.backward()
        lr = lr_at(k)
        for p in params:
            p.data -= lr * p.grad
        return loss.data

    # As fit() does: the graph has no reference cycles, so the cycle collector is paused.
    return timed_steps(step, cfg["steps"], gc_off)


def w1_compiled(cfg: Config) -> Result:
    import numpy as np

    from microgradnn.compile import compile_model
    from microgradnn.losses import hinge_loss

    model = _our_mlp(cfg["weights"], [16, 16, 1], 2)
    params = model.parameters()
    X, Y = np.array(cfg["X"]), np.array(cfg["y"]).reshape(-1, 1)
    t = time.perf_counter()
    graph = compile_model(model, hinge_loss, 2, 1)
    compile_time = time.perf_counter() - t

    def step(k: int) -> float:
        model.zero_grad()
        loss = graph.loss_and_grad(X, Y)
        # The L2 penalty is the same for every example: added once, as fit(l2=...) does.
        penalty = 0.0
        for p in params:
            penalty += p.data * p.data
            p.grad += 2e-4 * p.data
        lr = lr_at(k)
        for p in params:
            p.data -= lr * p.grad
        return loss + 1e-4 * penalty

    result = timed_steps(step, cfg["steps"], gc_off=True)
    result["compile_time"] = compile_time
    result["info"] = repr(graph)
    return result


def w1_python(cfg: Config) -> Result:
    """Hand-written forward and backward in plain Python loops: no graph at all."""
    layers = [([list(w) for w in ws], list(bs)) for ws, bs in cfg["weights"]]
    X, y = cfg["X"], cfg["y"]
    n = len(X)

    def step(k: int) -> float:
        grads = [([[0.0] * len(w) for w in ws], [0.0] * len(bs)) for ws, bs in layers]
        data_loss = 0.0
        for x, t in zip(X, y, strict=True):
            acts, pre = [x], []
            for i, (ws, bs) in enumerate(layers):
                a = acts[-1]
                z = [
                    b + sum(wj * aj for wj, aj in zip(w, a, strict=True))
                    for w, b in zip(ws, bs, strict=True)
                ]
                pre.append(z)
                last = i == len(layers) - 1
                acts.append(z if last else [v if v > 0.0 else 0.0 for v in z])
            margin = 1.0 - t * acts[-1][0]
            if margin <= 0.0:
                continue
            data_loss += margin
            delta = [-t / n]
            for i in range(len(layers) - 1, -1, -1):
                ws, _ = layers[i]
                gw, gb = grads[i]
                a = acts[i]
                for j, d in enumerate(delta):
                    gb[j] += d
                    row = gw[j]
                    for m, am in enumerate(a):
                        row[m] += d * am
                if i > 0:
                    back = [sum(delta[j] * ws[j][m] for j in range(len(ws))) for m in range(len(a))]
                    delta = [b if z > 0.0 else 0.0 for b, z in zip(back, pre[i - 1], strict=True)]
        reg = 0.0
        lr = lr_at(k)
        for (ws, bs), (gw, gb) in zip(layers, grads, strict=True):
            for w, g in zip(ws, gw, strict=True):
                for m in range(len(w)):
                    reg += w[m] * w[m]
                    w[m] -= lr * (g[m] + 2e-4 * w[m])
            for j in range(len(bs)):
                reg += bs[j] * bs[j]
                bs[j] -= lr * (gb[j] + 2e-4 * bs[j])
        return data_loss / n + 1e-4 * reg

    return timed_steps(step, cfg["steps"], gc_off=False)


def w1_numpy(cfg: Config) -> Result:
    """Hand-written matrix forward and backward with numpy."""
    import numpy as np

    Ws = [np.array(ws, dtype=np.float64) for ws, _ in cfg["weights"]]
    bs = [np.array(b, dtype=np.float64) for _, b in cfg["weights"]]
    X = np.array(cfg["X"], dtype=np.float64)
    y = np.array(cfg["y"], dtype=np.float64).reshape(-1, 1)
    n = len(X)

    def step(k: int) -> float:
        acts, pre = [X], []
        for i, (W, b) in enumerate(zip(Ws, bs, strict=True)):
            z = acts[-1] @ W.T + b
            pre.append(z)
            acts.append(z if i == len(Ws) - 1 else np.maximum(z, 0.0))
        margin = 1.0 - y * acts[-1]
        reg = sum(float((W * W).sum() + (b * b).sum()) for W, b in zip(Ws, bs, strict=True))
        loss = float(np.maximum(margin, 0.0).mean()) + 1e-4 * reg
        delta = np.where(margin > 0.0, -y, 0.0) / n
        lr = lr_at(k)
        for i in range(len(Ws) - 1, -1, -1):
            gW, gb = delta.T @ acts[i], delta.sum(axis=0)
            if i > 0:
                delta = (delta @ Ws[i]) * (pre[i - 1] > 0.0)
            Ws[i] -= lr * (gW + 2e-4 * Ws[i])
            bs[i] -= lr * (gb + 2e-4 * bs[i])
        return loss

    return timed_steps(step, cfg["steps"], gc_off=False)


def _torch_mlp(torch: Any, weights: list[Any], acts: int) -> Any:
    layers: list[Any] = []
    for i, (ws, bs) in enumerate(weights):
        lin = torch.nn.Linear(len(ws[0]), len(ws), dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(ws, dtype=torch.float64))
            lin.bias.copy_(torch.tensor(bs, dtype=torch.float64))
        layers.append(lin)
        if i < acts:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def w1_torch(cfg: Config) -> Result:
    import torch

    torch.set_num_threads(1)  # like every other implementation here; see README
    model = _torch_mlp(torch, cfg["weights"], 2)
    params = list(model.parameters())
    X = torch.tensor(cfg["X"], dtype=torch.float64)
    y = torch.tensor(cfg["y"], dtype=torch.float64).reshape(-1, 1)

    def step(k: int) -> float:
        scores = model(X)
        loss = torch.relu(1.0 - y * scores).mean() + 1e-4 * sum((p * p).sum() for p in params)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= lr_at(k) * p.grad
        return loss.item()

    result = timed_steps(step, cfg["steps"], gc_off=False)
    result["info"] = torch_info(torch)
    return result


def torch_info(torch: Any) -> str:
    return (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )


# -- W2: backward through a deep chain ------------------------------------------------------------


def chain_ladder(build_and_backward: Callable[[int], float], depths: list[int]) -> Result:
    """Time backward at each depth until one fails; print progress so a crash still reports."""
    ok: dict[str, float] = {}
    error = None
    for depth in depths:
        try:
            seconds = build_and_backward(depth)
        except (RecursionError, MemoryError) as err:
            error = f"{type(err).__name__} at depth {depth}"
            break
        ok[str(depth)] = seconds
        print(json.dumps({"progress": ok}), flush=True)
    return {"backward_seconds": ok, "error": error}


def w2_eager(cfg: Config) -> Result:
    from microgradnn import Value

    def run(depth: int) -> float:
        gc.disable()
        try:
            x = Value(0.5)
            y = x
            for _ in range(depth):
                y = y * 1.0001
            t = time.perf_counter()
            y.backward()
            return time.perf_counter() - t
        finally:
            gc.enable()

    return chain_ladder(run, cfg["depths"])


def w2_micrograd(cfg: Config) -> Result:
    from micrograd.engine import Value

    def run(depth: int) -> float:
        x = Value(0.5)
        y = x
        for _ in range(depth):
            y = y * 1.0001
        t = time.perf_counter()
        y.backward()
        return time.perf_counter() - t

    result = chain_ladder(run, cfg["depths"])
    # Then the exact largest depth, by bisection between the last success and the failure
    # (called from this frame: a deeper caller would leave fewer frames to micrograd's recursion).
    done = [int(d) for d in result["backward_seconds"]]
    lo = max(done, default=1)
    hi = next((d for d in cfg["depths"] if d > lo), lo)
    seconds = {lo: result["backward_seconds"].get(str(lo), 0.0)}
    if result["error"]:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                seconds[mid] = run(mid)
                lo = mid
            except RecursionError:
                hi = mid
        result["max_depth"] = lo
        result["max_depth_seconds"] = seconds[lo]
    return result


def w2_torch(cfg: Config) -> Result:
    import torch

    torch.set_num_threads(1)

    def run(depth: int) -> float:
        x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(depth):
            y = y * 1.0001
        t = time.perf_counter()
        y.backward()
        return time.perf_counter() - t

    return chain_ladder(run, cfg["depths"])


# -- W3: memory per node ---------------------------------------------------------------------------


def _graph_bytes(build: Callable[[], Any], count: Callable[[Any], int]) -> tuple[float, float]:
    """Bytes per op node of the graph ``build`` returns, and the extra during backward."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    root = build()
    built = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    root.backward()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    nodes = count(root)
    return (built - before) / nodes, (peak - built) / nodes


def _count_ops(root: Any, prev: str) -> int:
    seen, stack, ops = {id(root)}, [root], 0
    while stack:
        v = stack.pop()
        children = [c for c in getattr(v, prev) if hasattr(c, "grad")]
        ops += bool(getattr(v, prev))
        for c in children:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return ops


def w3_memory(cfg: Config, which: str) -> Result:
    n = cfg["chain"]
    if which == "micrograd":
        from micrograd.engine import Value
        from micrograd.nn import MLP
    else:
        from microgradnn import Value
        from microgradnn.nn import MLP

    def chain() -> Any:
        y = Value(0.5)
        for _ in range(n):
            y = y * 1.0001
        return y

    import random

    random.seed(1337)
    model = MLP(2, [16, 16, 1]) if which == "micrograd" else MLP(2, [16, 16, 1], init="uniform")
    X = cfg["X"]

    def mlp_graph() -> Any:
        if which == "micrograd":
            scores = [model([Value(a), Value(b)]) for a, b in X]
            return sum((1 + -s).relu() for s in scores) * (1.0 / len(X))
        scores = [model(x) for x in X]
        return Value.sum([(1.0 - s).relu() for s in scores]) / len(X)

    chain_bytes, chain_backward = _graph_bytes(chain, lambda r: _count_ops(r, "_prev"))
    mlp_bytes, mlp_backward = _graph_bytes(mlp_graph, lambda r: _count_ops(r, "_prev"))
    return {
        "chain_bytes": chain_bytes,
        "chain_backward_bytes": chain_backward,
        "mlp_bytes": mlp_bytes,
        "mlp_backward_bytes": mlp_backward,
    }


# -- W4: one epoch of digits (64-32-10 MLP, minibatches of 32, SGD) --------------------------------


def _digits(cfg: Config) -> tuple[list[list[float]], list[int], list[list[int]]]:
    X, y = cfg["X"], [int(v) for v in cfg["y"]]
    order, size = cfg["order"], cfg["batch"]
    return X, y, [order[i : i + size] for i in range(0, len(order), size)]


def w4_eager(cfg: Config) -> Result:
    from microgradnn.losses import cross_entropy_loss, mse_loss

    model = _our_mlp(cfg["weights"], [32, 10], 64)
    params = model.parameters()
    X, y, batches = _digits(cfg)
    ce = cfg["loss"] == "cross_entropy"
    eye = [[float(i == j) for j in range(10)] for i in range(10)]
    lr = cfg["lr"]

    def epoch(_: int) -> float:
        total = 0.0
        for idx in batches:
            preds = [model(X[i]) for i in idx]
            targets = [y[i] for i in idx] if ce else [eye[y[i]] for i in idx]
            loss = (cross_entropy_loss if ce else mse_loss)(preds, targets)
            model.zero_grad()
            loss.backward()
            for p in params:
                p.data -= lr * p.grad
            total += loss.data * len(idx)
        return total / len(X)

    return timed_steps(epoch, cfg["epochs"], gc_off=True)


def w4_compiled(cfg: Config) -> Result:
    import numpy as np

    from microgradnn.compile import compile_model

    model = _our_mlp(cfg["weights"], [32, 10], 64)
    params = model.parameters()
    Xl, y, batches = _digits(cfg)
    X, Y = np.array(Xl), np.eye(10)[y]
    lr = cfg["lr"]
    t = time.perf_counter()
    graph = compile_model(model, cfg["loss"], 64, 10)
    compile_time = time.perf_counter() - t
    index = [np.array(idx) for idx in batches]

    def epoch(_: int) -> float:
        total = 0.0
        for idx in index:
            model.zero_grad()
            total += graph.loss_and_grad(X[idx], Y[idx]) * len(idx)
            for p in params:
                p.data -= lr * p.grad
        return total / len(X)

    result = timed_steps(epoch, cfg["epochs"], gc_off=True)
    result["compile_time"] = compile_time
    result["info"] = repr(graph)
    return result


def w4_torch(cfg: Config) -> Result:
    import torch

    torch.set_num_threads(1)  # like every other implementation here; see README
    model = _torch_mlp(torch, cfg["weights"], 1)
    params = list(model.parameters())
    Xl, y, batches = _digits(cfg)
    X = torch.tensor(Xl, dtype=torch.float64)
    labels = torch.tensor(y)
    Y = torch.nn.functional.one_hot(labels, 10).to(torch.float64)
    ce = cfg["loss"] == "cross_entropy"
    index = [torch.tensor(idx) for idx in batches]
    lr = cfg["lr"]

    def epoch(_: int) -> float:
        total = 0.0
        for idx in index:
            out = model(X[idx])
            if ce:
                loss = torch.nn.functional.cross_entropy(out, labels[idx])
            else:
                loss = torch.nn.functional.mse_loss(out, Y[idx])
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
            total += loss.item() * len(idx)
        return total / len(Xl)

    result = timed_steps(epoch, cfg["epochs"], gc_off=False)
    result["info"] = torch_info(torch)
    return result


# -- T1/T2: whole training runs through each system's public API (the targets) ----------


def whole_runs(run: Callable[[Config, int], list[float]], cfg: Config) -> Result:
    """CPU and wall seconds of whole runs, one per model size, each repeated ``repeats`` times.

    Every size first runs once for 2 steps (imports, first-call costs), then is timed whole.
    """
    out: dict[str, Any] = {}
    for size in cfg["sizes"]:
        key = "-".join(map(str, size["sizes"]))
        run(size, 2)
        cpu, wall, losses = [], [], []
        for _ in range(cfg["repeats"]):
            c, t = time.process_time(), time.perf_counter()
            losses = run(size, size["steps"])
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
        out[key] = {"cpu": cpu, "wall": wall, "losses": losses}
    return {"sizes": out}


def _fit_model(size: Config) -> Any:
    widths = size["sizes"]
    return _our_mlp(size["weights"], widths[1:], widths[0])


def t1_fit_compiled(cfg: Config) -> Result:
    """W1 as ``fit(compiled=True)``: full batch, hinge + L2, SGD with micrograd's schedule."""
    import numpy as np

    from microgradnn import fit
    from microgradnn.lr_scheduler import LinearLR
    from microgradnn.optim import SGD

    def run(size: Config, steps: int) -> list[float]:
        model = _fit_model(size)
        X, y = np.array(size["X"]), np.array(size["y"])
        opt = SGD(model.parameters(), lr=1.0)
        # lr at step k: 1.0 - 0.9 k / 100, as micrograd's demo (stepped once per epoch).
        sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
        history = fit(
            model, X, y, loss="hinge", optimizer=opt, epochs=steps, batch_size=None,
            shuffle=False, l2=1e-4, schedule=sched, progress=False, compiled=True,
        )  # fmt: skip
        return [float(v) for v in history.train_loss]

    return whole_runs(run, cfg)


def t1_torch(cfg: Config) -> Result:
    import torch

    torch.set_num_threads(1)

    def run(size: Config, steps: int) -> list[float]:
        model = _torch_mlp(torch, size["weights"], len(size["sizes"]) - 2)
        params = list(model.parameters())
        X = torch.tensor(size["X"], dtype=torch.float64)
        y = torch.tensor(size["y"], dtype=torch.float64).reshape(-1, 1)
        losses = []
        for k in range(steps):
            loss = torch.relu(1.0 - y * model(X)).mean() + 1e-4 * sum((p * p).sum() for p in params)
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr_at(k) * p.grad
            losses.append(loss.item())
        return losses

    result = whole_runs(run, cfg)
    result["info"] = torch_info(torch)
    return result


def t1_numpy(cfg: Config) -> Result:
    def run(size: Config, steps: int) -> list[float]:
        return w1_numpy({**size, "steps": steps})["losses"]

    return whole_runs(run, cfg)


def t2_fit_compiled(cfg: Config) -> Result:
    """One digits epoch as ``fit(compiled=True)``: batches of 32 in order, cross-entropy, SGD."""
    import numpy as np

    from microgradnn import fit
    from microgradnn.optim import SGD

    def run(size: Config, steps: int) -> list[float]:
        model = _fit_model(size)
        n = min(len(size["X"]), steps * size["batch"])
        X, y = np.array(size["X"][:n]), np.array(size["y"][:n])
        opt = SGD(model.parameters(), lr=size["lr"])
        history = fit(
            model, X, y, loss="cross_entropy", optimizer=opt, epochs=1,
            batch_size=size["batch"], shuffle=False, progress=False, compiled=True,
        )  # fmt: skip
        return [float(v) for v in history.train_loss]

    return whole_runs(run, cfg)


def t2_torch(cfg: Config) -> Result:
    import torch

    torch.set_num_threads(1)

    def run(size: Config, steps: int) -> list[float]:
        model = _torch_mlp(torch, size["weights"], len(size["sizes"]) - 2)
        params = list(model.parameters())
        n = min(len(size["X"]), steps * size["batch"])
        X = torch.tensor(size["X"][:n], dtype=torch.float64)
        labels = torch.tensor(size["y"][:n])
        total, lr, b = 0.0, size["lr"], size["batch"]
        for i in range(0, n, b):
            loss = torch.nn.functional.cross_entropy(model(X[i : i + b]), labels[i : i + b])
            model.zero_grad()
            loss.backward()
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
            total += loss.item() * len(labels[i : i + b])
        return [total / n]

    result = whole_runs(run, cfg)
    result["info"] = torch_info(torch)
    return result


def numpy_info() -> str:
    """numpy's version and the OpenBLAS kernel it picked (what OPENBLAS_CORETYPE changes)."""
    import ctypes

    import numpy as np

    core = "unknown"
    try:
        from numpy._core import _multiarray_umath as mu

        lib = ctypes.CDLL(mu.__file__)
        for name in (
            "scipy_openblas_get_corename64_",
            "openblas_get_corename64_",
            "openblas_get_corename",
        ):
            fn = getattr(lib, name, None)
            if fn is not None:
                fn.restype = ctypes.c_char_p
                core = fn().decode()
                break
    except (ImportError, OSError):
        pass
    return f"numpy {np.__version__}, OpenBLAS core {core}"


WORKERS: dict[str, dict[str, Callable[[Config], Result]]] = {
    "w1": {
        "micrograd": w1_micrograd,
        "micrograd_gc_off": lambda cfg: w1_micrograd(cfg, gc_off=True),
        "learner": w1_learner,
        "eager": w1_eager,
        "compiled": w1_compiled,
        "python": w1_python,
        "numpy": w1_numpy,
        "torch": w1_torch,
    },
    "w2": {"micrograd": w2_micrograd, "eager": w2_eager, "torch": w2_torch},
    "w3": {
        "micrograd": lambda cfg: w3_memory(cfg, "micrograd"),
        "eager": lambda cfg: w3_memory(cfg, "eager"),
    },
    "w4": {"eager": w4_eager, "compiled": w4_compiled, "torch": w4_torch},
    "t1": {"fit_compiled": t1_fit_compiled, "torch": t1_torch, "numpy": t1_numpy},
    "t2": {"fit_compiled": t2_fit_compiled, "torch": t2_torch},
}


def main() -> None:
    workload, impl, path = sys.argv[1:4]
    with open(path) as f:
        cfg = json.load(f)
    result = WORKERS[workload][impl](cfg)
    if impl == "numpy":
        result["info"] = numpy_info()
    result["python"] = sys.version.split()[0]
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
