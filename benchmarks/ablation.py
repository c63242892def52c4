"""What each eager-engine optimization buys, measured on W1 (micrograd's demo step).

    benchmarks/.venv-bench/bin/python benchmarks/ablation.py [--rounds 5]

Each variant undoes one optimization of ``microgradnn/engine.py`` by monkeypatching the engine
back to how it was written before (the code below is that earlier version), then times the W1
training step (CPU time) in its own process; rounds are interleaved and the medians compared.
Every variant must produce the same losses: the optimizations change speed, never results.
"""

# ruff: noqa: N806

from __future__ import annotations

import argparse
import gc
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

VARIANTS = {
    "all": "today's engine (every optimization)",
    "old_make": "without the node-construction fast path (operators and op methods)",
    "old_backward": "without the unrolled one/two-child _backward (one generic loop)",
    "old_topo": "without the iterator-based topological sort",
    "none": "none of the three (the engine before this work)",
    "none_chain": "none of the three, and neurons summed with chained + (micrograd)",
    "all_chain": "today's engine, neurons summed with chained + instead of Value.sum",
    "all_gc_on": "today's engine with the cycle collector running",
    "learner": "today's engine, the demo loop as a learner writes it (collector on)",
    "learner_tuple": "the same loop, each node's inputs in a tuple of their own (before)",
    "learner_sum_local": "the same loop, Σ's chain rule through its local derivatives (before)",
    "micrograd": "micrograd 0.1.0",
    "micrograd_gc_off": "micrograd 0.1.0 with the cycle collector off",
}


# -- the engine as it was before each optimization ---------------------------------------------


def old_make() -> None:
    """Nodes built by one generic make() that loops over the inputs to collect their numbers."""
    import numbers

    from microgradnn import engine
    from microgradnn.ops import OPS

    Value = engine.Value

    def _is_number(x: object) -> bool:
        return type(x) is float or type(x) is int or isinstance(x, numbers.Real)

    def _num(x: Any) -> Any:
        if type(x) is Value or type(x) is float:
            return x
        return float(x)

    def make(op: Any, prev: tuple[Any, ...]) -> Any:
        xs = tuple([p.data if type(p) is Value else p for p in prev])
        out = Value.__new__(Value)
        out.data = op.forward(xs) if op.variadic else op.forward(*xs)
        out.grad = 0.0
        out.label = ""
        # Stored as today's engine stores them (see engine._node and engine._node_n).
        if not engine.is_grad_enabled():
            out._a, out._b, out._op = (), ..., None
        elif op.variadic or len(prev) > 2:
            out._a, out._b, out._op = prev, ..., op
        elif len(prev) == 2:
            out._a, out._b, out._op = prev[0], prev[1], op
        else:
            out._a, out._b, out._op = prev[0], None, op
        return out

    def binary(op: Any) -> tuple[Any, Any]:
        def forward(self: Any, other: Any) -> Any:
            if type(other) is not Value and not _is_number(other):
                return NotImplemented
            return make(op, (self, _num(other)))

        def reflected(self: Any, other: Any) -> Any:
            if not _is_number(other):
                return NotImplemented
            return make(op, (_num(other), self))

        return forward, reflected

    for name, key in [("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div")]:
        forward, reflected = binary(OPS[key])
        setattr(Value, f"__{name}__", forward)
        setattr(Value, f"__r{name}__", reflected)
    forward, reflected = binary(OPS["pow"])
    Value.__pow__, Value.__rpow__ = forward, reflected
    Value.__neg__ = lambda self: make(OPS["neg"], (self,))
    for name in ("exp", "log", "tanh", "sigmoid", "softplus", "relu", "abs", "step", "sign"):
        setattr(Value, name, lambda self, op=OPS[name]: make(op, (self,)))
    Value.leaky_relu = lambda self, slope=0.01: make(OPS["leaky_relu"], (self, float(slope)))

    def value_sum(values: Any) -> Any:
        prev = tuple(v if type(v) is Value else float(v) for v in values)
        return make(OPS["sum"], prev) if prev else Value(0.0)

    Value.sum = staticmethod(value_sum)
    import microgradnn.nn

    microgradnn.nn._MUL = Value.__mul__  # nn keeps its own reference to the operator


def per_node(step: Any) -> None:
    """backward() as the engine before one loop did it: ``step(node)``, one call per node."""
    from microgradnn import engine

    def chain_rule(nodes: Any) -> None:
        for node in nodes:
            step(node)

    engine._chain_rule = chain_rule
    engine.Value._backward = step


def old_backward() -> None:
    """One generic chain-rule step: build the children's numbers, zip them with the locals."""
    from microgradnn.engine import Value

    def _backward(self: Any) -> None:
        op = self._op
        if op is None:
            return
        prev = self._prev
        xs = tuple([p.data if type(p) is Value else p for p in prev])
        locals_ = op.local(xs, self.data) if op.variadic else op.local(*xs, self.data)
        for child, local in zip(prev, locals_, strict=True):
            if type(child) is Value:
                child.grad += local * self.grad

    per_node(_backward)


def old_topo() -> None:
    """Depth-first search with a stack of (node, expanded) pairs."""
    from microgradnn.engine import Value

    def topological_order(self: Any) -> list[Any]:
        order: list[Any] = []
        seen: set[Any] = set()
        stack: list[tuple[Any, bool]] = [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for child in reversed(node._prev):
                if type(child) is Value and child not in seen:
                    stack.append((child, False))
        return order

    Value.topological_order = topological_order


def sum_through_local() -> None:
    """Σ's chain-rule step through ``local`` and a multiply, as for any other variadic op."""
    from microgradnn.ops import OPS

    object.__setattr__(OPS["sum"], "passes_grad", False)  # a frozen row: this process only


def tuple_inputs() -> None:
    """Every node's inputs in a tuple of their own (_prev a slot), as before the two slots.

    The nodes are built as today, with the tuple in ``_a`` (``_b = ...``, which ``_prev`` and
    the topological sort read as "the tuple is in _a"), and ``_backward`` is the one of that
    engine: unrolled for one and two inputs, on the tuple.
    """
    from microgradnn import engine

    Value, new = engine.Value, object.__new__

    def node(op: Any, prev: tuple[Any, ...], data: float) -> Any:
        out = new(Value)
        out._data, out.grad, out.label = data, 0.0, ""
        if engine._no_grad_contexts == 0 or engine.is_grad_enabled():
            out._a, out._b, out._op = prev, ..., op
        else:
            out._a, out._b, out._op = (), ..., None
        return out

    engine._node = lambda op, a, b, data: node(op, (a,) if b is None else (a, b), data)

    def _backward(out: Any) -> None:
        op = out._op
        if op is None:
            return
        prev = out._a
        if not op.plain:
            if op.masked is not True or op.arity != 1:
                engine._careful_backward(out, op)
                return
            (a,) = prev
            if type(a) is Value:
                (local_a,) = op.local(a._data, out._data)
                if local_a:
                    a.grad += local_a * out.grad
            return
        arity = op.arity
        if arity == 2:
            a, b = prev
            local_a, local_b = op.local(
                a._data if type(a) is Value else a, b._data if type(b) is Value else b, out._data
            )
            if type(a) is Value:
                a.grad += local_a * out.grad
            if type(b) is Value:
                b.grad += local_b * out.grad
        elif arity == 1:
            (a,) = prev
            if type(a) is Value:
                (local_a,) = op.local(a._data, out._data)
                a.grad += local_a * out.grad
        else:
            xs = tuple([p._data if type(p) is Value else p for p in prev])
            locals_ = op.local(xs, out._data) if op.variadic else op.local(*xs, out._data)
            g = out.grad
            for child, local in zip(prev, locals_, strict=True):
                if type(child) is Value:
                    child.grad += local * g

    per_node(_backward)


def chained_neuron_sums() -> None:
    """Neurons sum b + w1 x1 + ... + wn xn with chained +, as micrograd does."""
    from microgradnn.nn import Neuron

    def _forward(self: Any, x: Any) -> Any:
        z = self.b
        for w, xi in zip(self.w, x, strict=True):
            z = z + w * xi
        act = self._act
        return z if act is None else act(z)

    Neuron._forward = _forward


def worker(variant: str, cfg: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    import workers

    if variant.startswith("micrograd"):
        return workers.w1_micrograd(cfg, gc_off=variant.endswith("gc_off"))
    if variant in ("old_make", "none", "none_chain"):
        old_make()
    if variant in ("old_backward", "none", "none_chain"):
        old_backward()
    if variant in ("old_topo", "none", "none_chain"):
        old_topo()
    if variant.endswith("_chain"):
        chained_neuron_sums()
    if variant == "all_gc_on":
        gc.enable()
        return workers.w1_eager(cfg, gc_off=False)
    if variant.startswith("learner"):
        if variant == "learner_tuple":
            tuple_inputs()
        if variant == "learner_sum_local":
            sum_through_local()
        return workers.w1_learner(cfg)
    return workers.w1_eager(cfg)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--out", type=Path, default=None, help="README to write the table into")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        cfg = json.loads(Path(args.config).read_text())
        print(json.dumps(worker(args.variant, cfg)))
        return 0

    sys.path.insert(0, str(HERE))
    import run

    X, y = run.moons(100)
    cfg = {"X": X, "y": y, "weights": run.micrograd_weights([2, 16, 16, 1], 1337)}
    tmp = Path(tempfile.mkdtemp(prefix="microgradnn-ablation-"))
    path = tmp / "ablation.json"
    variants = list(VARIANTS)
    if not run.has_module(Path(sys.executable), "micrograd"):
        variants = [v for v in variants if not v.startswith("micrograd")]
    times: dict[str, list[float]] = {v: [] for v in variants}
    losses: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for v in variants:
            steps = 3 if v == "micrograd" else args.steps
            path.write_text(json.dumps({**cfg, "steps": steps}))
            cmd = [sys.executable, __file__, "--variant", v, "--config", str(path)]
            out = json.loads(subprocess.run(cmd, capture_output=True, check=True).stdout)
            times[v].extend(out["cpu_times"][1:])
            losses[v] = out["losses"]
            print(
                f"round {r + 1}: {v:18s} {statistics.median(out['cpu_times'][1:]) * 1e3:8.1f} ms",
                file=sys.stderr,
            )
    shutil.rmtree(tmp, ignore_errors=True)
    ref = losses["all"]
    before = statistics.median(times["none"])
    mg = statistics.median(times["micrograd"]) if "micrograd" in times else None
    worst = 0.0
    rows = [
        "| engine | CPU time per W1 step (median) | vs micrograd 0.1.0 | vs the engine before |",
        "|---|---|---|---|",
    ]
    for v in variants:
        t = statistics.median(times[v])
        n = min(len(ref), len(losses[v]))
        pairs = zip(losses[v][:n], ref[:n], strict=True)
        worst = max([worst] + [abs(a - b) / abs(b) for a, b in pairs])
        vs_mg = f"{mg / t:.1f}x" if mg else "n/a"
        rows.append(f"| {VARIANTS[v]} | {t * 1e3:.1f} ms | {vs_mg} | {before / t:.2f}x |")
    if worst > 1e-9:
        raise SystemExit(
            f"a variant's losses differ from today's engine's by a relative {worst:.1e}: it "
            "computes something else, so its time means nothing"
        )
    info = run.machine()
    rows += [
        "",
        f"Measured {info['date']} as CPU time (this process only, so other programs running "
        f"on the machine do not count), {args.rounds} interleaved rounds of {args.steps} steps, on "
        f"{info['nproc']} cores ({info['cpu']}), Python {sys.version.split()[0]}; every "
        f"variant's losses equal today's engine's to a relative {worst:.1e}.",
    ]
    table = "\n".join(rows)
    print(table)
    if args.out is not None:
        run.write_readme(args.out, table, "<!-- ablation:start -->", "<!-- ablation:end -->")
    return 0


if __name__ == "__main__":
    sys.exit(main())
