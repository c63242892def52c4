"""Benchmarks: microgradnn's eager engine and compiled path against micrograd, PyTorch and numpy.

    python benchmarks/run.py           # full run (a few minutes); rewrites benchmarks/README.md
    python benchmarks/run.py --smoke   # tiny sizes, no install, < 20 s (CI runs this)

The full run creates ``benchmarks/.venv-bench`` (gitignored) with the pinned anchors from
``benchmarks/requirements.txt`` plus this package (``-e .``), then runs every implementation of
every workload in its own subprocess (``benchmarks/workers.py``), interleaving the rounds, and
reports medians:

- W1  micrograd's demo training step: s/step and speed-up over micrograd 0.1.0, with a check that
      every implementation's loss trajectory agrees (same data, same starting weights);
- W2  backward through a deep chain: the largest depth each system handles, time per node;
- W3  memory per graph node (tracemalloc);
- W4  one epoch of the digits data set (64-32-10 MLP, minibatches of 32): eager vs compiled vs
      PyTorch.

The numpy and PyTorch anchors run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from their
environment (a forced, slower OpenBLAS kernel is not what a user gets); the table says which
kernel numpy ran. Everything else inherits the environment as it is.
"""

# X, Y, W: data and weight matrices, as in the literature.
# ruff: noqa: N806

from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-bench"
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
ANCHOR_ENV_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
ANCHORS = {"numpy", "torch"}

NAMES = {
    "micrograd": "micrograd 0.1.0",
    "micrograd_gc_off": "micrograd 0.1.0, cycle collector off",
    "learner": "microgradnn eager, a learner's own loop",
    "eager": "microgradnn eager",
    "fit_compiled": "microgradnn `fit(compiled=True)`",
    "compiled": "microgradnn compiled",
    "python": "hand-written Python loops",
    "numpy": "hand-written numpy matrices",
    "torch": "PyTorch CPU float64",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- environment -----------------------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    """Create or refresh benchmarks/.venv-bench with the pinned anchors and this package."""
    stamp = VENV / ".installed"
    digest = hashlib.sha256(
        (HERE / "requirements.txt").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and venv_python().exists():
        return venv_python()
    log(f"setting up {VENV.relative_to(ROOT)} (micrograd 0.1.0, numpy, torch 2.13.0, -e .)")
    if not venv_python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-r", str(HERE / "requirements.txt")], check=True)
    subprocess.run([*pip, "-e", str(ROOT)], check=True)
    stamp.write_text(digest)
    return venv_python()


def has_module(python: Path, name: str) -> bool:
    if Path(python) == Path(sys.executable):
        return importlib.util.find_spec(name) is not None
    code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({name!r}) is None)"
    return subprocess.run([str(python), "-c", code], capture_output=True).returncode == 0


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    env = ", ".join(f"{k}={os.environ[k]}" for k in ANCHOR_ENV_DROP if k in os.environ)
    return {
        "date": datetime.date.today().isoformat(),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "openblas_env": env or "not set",
    }


# -- running workers -------------------------------------------------------------------------------


class Runner:
    def __init__(self, python: Path, timeout: float) -> None:
        self.python = python
        self.timeout = timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="microgradnn-bench-"))

    def run(self, workload: str, impl: str, cfg: dict[str, Any]) -> dict[str, Any]:
        path = self.tmp / f"{workload}-{impl}.json"
        path.write_text(json.dumps(cfg))
        env = dict(os.environ)
        if impl in ANCHORS:
            for key in ANCHOR_ENV_DROP:
                env.pop(key, None)
        cmd = [str(self.python), str(HERE / "workers.py"), workload, impl, str(path)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=self.timeout, cwd=ROOT
            )
        except subprocess.TimeoutExpired as err:
            partial = _last_json(err.stdout.decode() if isinstance(err.stdout, bytes) else "")
            return {"error": f"timed out after {self.timeout:.0f} s", **_progress(partial)}
        result = _last_json(proc.stdout)
        if proc.returncode != 0 or "progress" in result or not result:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"error": f"exit {proc.returncode}: {tail[:160]}", **_progress(result)}
        return result


def _last_json(text: str) -> dict[str, Any]:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return {}


def _progress(result: dict[str, Any]) -> dict[str, Any]:
    """A crashed chain run still reports the depths it finished."""
    if "progress" in result:
        return {"backward_seconds": result["progress"]}
    return {}


def interleaved(
    runner: Runner, workload: str, impls: list[str], cfgs: dict[str, dict[str, Any]], rounds: int
) -> dict[str, list[dict[str, Any]]]:
    results: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
    for r in range(rounds):
        for impl in impls:
            log(f"  {workload} round {r + 1}/{rounds}: {NAMES.get(impl, impl)}")
            results[impl].append(runner.run(workload, impl, cfgs[impl]))
    return results


def median_step(runs: list[dict[str, Any]], skip_first: bool = True) -> float | None:
    """Median over every timed step of every round (the first step of a run is warm-up)."""
    times = [t for run in runs for t in run.get("times", [])[1 if skip_first else 0 :]]
    if not times:
        times = [t for run in runs for t in run.get("times", [])]
    return statistics.median(times) if times else None


def error_of(runs: list[dict[str, Any]]) -> str | None:
    errors = [run["error"] for run in runs if run.get("error")]
    return errors[0] if errors else None


def agreement(results: dict[str, list[dict[str, Any]]], reference: str) -> tuple[float, int]:
    """Largest relative difference between any implementation's losses and the reference's."""
    ref = next((run["losses"] for run in results.get(reference, []) if "losses" in run), None)
    if ref is None:
        return float("nan"), 0
    worst, steps = 0.0, len(ref)
    for runs in results.values():
        for run in runs:
            losses = run.get("losses")
            if not losses:
                continue
            n = min(len(losses), len(ref))
            steps = min(steps, n)
            for a, b in zip(losses[:n], ref[:n], strict=True):
                worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst, steps


# -- workloads -------------------------------------------------------------------------------------


def micrograd_weights(sizes: list[int], seed: int) -> list[list[Any]]:
    """micrograd's own initialisation (w ~ U(-1, 1), b = 0), drawn in its order."""
    rng = random.Random(seed)
    layers = []
    for nin, nout in itertools.pairwise(sizes):
        ws = [[rng.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)]
        layers.append([ws, [0.0] * nout])
    return layers


def uniform_weights(sizes: list[int], seed: int) -> list[list[Any]]:
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) weights, zero biases."""
    rng = random.Random(seed)
    layers = []
    for nin, nout in itertools.pairwise(sizes):
        r = nin**-0.5
        layers.append(
            [[[rng.uniform(-r, r) for _ in range(nin)] for _ in range(nout)], [0.0] * nout]
        )
    return layers


def moons(n: int) -> tuple[list[list[float]], list[float]]:
    from microgradnn.data import make_moons, to_pm1

    X, y = make_moons(n=n, noise=0.1, seed=1337)
    return X.tolist(), [float(v) for v in to_pm1(y)]


def digits(smoke: bool) -> tuple[list[list[float]], list[int], str]:
    if not smoke:
        try:
            from microgradnn.data import load_digits

            X, y = load_digits()
            return X.tolist(), [int(v) for v in y], "scikit-learn's digits"
        except ImportError:
            log("  scikit-learn missing: W4 runs on random digits-shaped data")
    rng = random.Random(0)
    n = 64 if smoke else 1797
    return (
        [[rng.random() for _ in range(64)] for _ in range(n)],
        [i % 10 for i in range(n)],
        ("random digits-shaped data"),
    )


def digits_loss() -> str:
    """Cross-entropy when the compiled path can replay it, else MSE on one-hot targets."""
    from microgradnn.compile import CompileError, compile_model
    from microgradnn.nn import MLP

    try:
        compile_model(MLP(4, [3], seed=0), "cross_entropy", 4, 3)
    except CompileError as err:
        log(f"  cross-entropy does not compile ({str(err)[:80]}...): W4 uses MSE on one-hot")
        return "mse"
    return "cross_entropy"


def run_w1(runner: Runner, smoke: bool, rounds: int, have: set[str]) -> dict[str, Any]:
    X, y = moons(20 if smoke else 100)
    base = {"X": X, "y": y, "weights": micrograd_weights([2, 16, 16, 1], 1337)}
    steps = {
        "micrograd": 2 if smoke else 6,
        "micrograd_gc_off": 2 if smoke else 10,
        "learner": 3 if smoke else 12,
        "eager": 3 if smoke else 20,
        "compiled": 5 if smoke else 300,
        "python": 3 if smoke else 50,
        "numpy": 5 if smoke else 1000,
        "torch": 5 if smoke else 300,
    }
    impls = [i for i in steps if _available(i, have)]
    cfgs = {impl: {**base, "steps": steps[impl]} for impl in impls}
    results = interleaved(runner, "w1", impls, cfgs, rounds)
    reference = "micrograd" if "micrograd" in impls else "numpy"
    worst, n = agreement(results, reference)
    return {"results": results, "agreement": (worst, n, reference), "points": len(X)}


def run_w2(runner: Runner, smoke: bool, rounds: int, have: set[str]) -> dict[str, Any]:
    depths = [100, 1000] if smoke else [1000, 10_000, 100_000, 1_000_000]
    cfgs = {
        "micrograd": {"depths": [100, 1000] if smoke else [100, 1000, 10_000]},
        "eager": {"depths": depths},
        "torch": {"depths": depths},
    }
    impls = [i for i in cfgs if _available(i, have)]
    return {"results": interleaved(runner, "w2", impls, cfgs, rounds), "depths": depths}


def run_w3(runner: Runner, smoke: bool, have: set[str]) -> dict[str, Any]:
    X, _ = moons(20 if smoke else 100)
    # micrograd's recursive backward stops near 500 ops: a chain it can still differentiate.
    cfg = {"chain": 200 if smoke else 400, "X": X}
    impls = [i for i in ("micrograd", "eager") if _available(i, have)]
    return {"results": interleaved(runner, "w3", impls, {i: cfg for i in impls}, 1)}


def run_w4(runner: Runner, smoke: bool, rounds: int, have: set[str]) -> dict[str, Any]:
    X, y, source = digits(smoke)
    order = list(range(len(X)))
    random.Random(0).shuffle(order)
    loss = digits_loss()
    cfg = {
        "X": X,
        "y": y,
        "order": order,
        "batch": 16 if smoke else 32,
        "lr": 0.1,
        "epochs": 1,
        "loss": loss,
        "weights": uniform_weights([64, 32, 10], 7),
    }
    impls = [i for i in ("eager", "compiled", "torch") if _available(i, have)]
    results = interleaved(runner, "w4", impls, {i: cfg for i in impls}, rounds)
    reference = "torch" if "torch" in impls else "eager"
    worst, n = agreement(results, reference)
    return {
        "results": results,
        "agreement": (worst, n, reference),
        "loss": loss,
        "source": source,
        "n": len(X),
        "batch": cfg["batch"],
    }


W1_SIZES = [[2, 16, 16, 1], [2, 32, 32, 1], [2, 64, 64, 1], [2, 128, 128, 1]]
DIGITS_SIZES = [[64, 32, 10], [64, 64, 64, 10], [64, 128, 128, 10], [64, 256, 256, 10]]


def run_t1(runner: Runner, smoke: bool, rounds: int, have: set[str]) -> dict[str, Any]:
    """W1 as whole 100-step runs: fit(compiled=True) vs PyTorch's loop vs numpy, by size."""
    X, y = moons(20 if smoke else 100)
    sizes = [[2, 4, 4, 1], [2, 8, 8, 1]] if smoke else W1_SIZES
    configs = [
        {
            "sizes": s,
            "X": X,
            "y": y,
            "steps": 5 if smoke else 100,
            # micrograd's own weights for W1 itself; fan-in-scaled ones for the wider models.
            "weights": micrograd_weights(s, 1337) if i == 0 else uniform_weights(s, 1337 + i),
        }
        for i, s in enumerate(sizes)
    ]
    cfg = {"sizes": configs, "repeats": 1 if smoke else 3}
    impls = [i for i in ("fit_compiled", "torch", "numpy") if _available(i, have)]
    if smoke:  # PyTorch's import alone is seconds of the smoke run's budget; W1 and W4 cover it
        impls = [i for i in impls if i != "torch"]
    results = interleaved(runner, "t1", impls, {i: cfg for i in impls}, rounds)
    return {"results": results, "sizes": sizes, "steps": configs[0]["steps"]}


def run_t2(runner: Runner, smoke: bool, rounds: int, have: set[str]) -> dict[str, Any]:
    """One digits epoch, batches of 32 in order: fit(compiled=True) vs PyTorch's loop, by size."""
    X, y, source = digits(smoke)
    sizes = [[64, 8, 10]] if smoke else DIGITS_SIZES
    configs = [
        {
            "sizes": s,
            "X": X,
            "y": y,
            "batch": 32,
            "lr": 0.1,
            "steps": -(-len(X) // 32),
            "weights": uniform_weights(s, 7 + i),
        }
        for i, s in enumerate(sizes)
    ]
    cfg = {"sizes": configs, "repeats": 1 if smoke else 3}
    impls = [i for i in ("fit_compiled", "torch") if _available(i, have) and not smoke]
    impls = impls or ["fit_compiled"]  # the smoke run: see run_t1
    results = interleaved(runner, "t2", impls, {i: cfg for i in impls}, rounds)
    return {"results": results, "sizes": sizes, "source": source, "n": len(X)}


def whole_run_seconds(runs: list[dict[str, Any]], key: str) -> float | None:
    """Median CPU seconds of one whole run of the model ``key`` over every round's repeats."""
    times = [t for run in runs for t in run.get("sizes", {}).get(key, {}).get("cpu", [])]
    return statistics.median(times) if times else None


def whole_run_agreement(results: dict[str, list[dict[str, Any]]], reference: str) -> float:
    """Largest relative difference of any run's losses from the reference's, over all sizes."""
    worst = 0.0
    ref_run = next((r for r in results.get(reference, []) if "sizes" in r), None)
    if ref_run is None:
        return float("nan")
    for runs in results.values():
        for run in runs:
            for key, size in run.get("sizes", {}).items():
                ref = ref_run["sizes"].get(key, {}).get("losses", [])
                for a, b in zip(size["losses"], ref, strict=False):
                    worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst


def verdict(ratio: float | None, bound: float, at_most: bool) -> str:
    """Whether a measured ratio meets its target: ``ratio <= bound`` or ``ratio >= bound``."""
    if ratio is None:
        return "not measured"
    met = ratio <= bound if at_most else ratio >= bound
    return "met" if met else "not met"


def _available(impl: str, have: set[str]) -> bool:
    if impl.startswith("micrograd"):
        return "micrograd" in have
    if impl == "torch":
        return "torch" in have
    return True


# -- report ----------------------------------------------------------------------------------------


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def fmt_ratio(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}x" if x >= 10 else f"{x:.2g}x"


def report(data: dict[str, Any], info: dict[str, str], smoke: bool) -> tuple[str, str]:
    lines: list[str] = []
    short: list[str] = []
    add = lines.append
    add(
        f"Measured {info['date']} by "
        f"`{'python benchmarks/run.py --smoke' if smoke else 'make bench'}`"
        f"{' (SMOKE: tiny sizes, not representative)' if smoke else ''}."
    )
    add("")
    add(
        f"Machine: {info['nproc']} cores, {info['cpu']}, {info['os']}; Python {info['python']}; "
        f"{info['versions']}. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the environment: "
        f"{info['openblas_env']} (removed for the numpy and PyTorch anchors only)."
    )
    add("")

    if "w1" in data:
        w1 = data["w1"]
        res = w1["results"]
        base = median_step(res.get("micrograd", []))
        add(
            f"### W1: micrograd's demo training step ({w1['points']} two-moons points, "
            "MLP 2-16-16-1, hinge + 1e-4 L2, full-batch SGD)"
        )
        add("")
        add("| implementation | time per step (median) | speed-up vs micrograd 0.1.0 | notes |")
        add("|---|---|---|---|")
        short.append("| implementation | W1 time per step | vs micrograd 0.1.0 |")
        short.append("|---|---|---|")
        for impl, runs in res.items():
            t = median_step(runs)
            ratio = base / t if base and t else None
            notes = []
            if impl == "eager":
                notes.append("cycle collector paused during the step, as `fit` does")
            if impl == "compiled":
                ct = [r["compile_time"] for r in runs if "compile_time" in r]
                if ct:
                    notes.append(f"one-off trace: {fmt_time(statistics.median(ct))}")
                notes.append("L2 added outside the graph, as `fit(l2=...)` does")
            if impl in ANCHORS or impl == "compiled":
                infos = {r.get("info") for r in runs if r.get("info")}
                notes.extend(sorted(i for i in infos if i))
            err = error_of(runs)
            if err:
                notes.append(f"error: {err}")
            add(f"| {NAMES[impl]} | {fmt_time(t)} | {fmt_ratio(ratio)} | {'; '.join(notes)} |")
            if impl != "micrograd_gc_off":
                short.append(f"| {NAMES[impl]} | {fmt_time(t)} | {fmt_ratio(ratio)} |")
        worst, n, ref = w1["agreement"]
        add("")
        add(
            f"Loss check: over the first {n} steps every implementation's loss equals "
            f"{NAMES.get(ref, ref)}'s to a relative {worst:.1e}."
        )
        add("")

    if "w2" in data:
        w2 = data["w2"]
        add("### W2: backward through a deep chain (`y = y * 1.0001`, repeated)")
        add("")
        add(f"Depths tried: {', '.join(f'{d:,}' for d in w2['depths'])}.")
        add("")
        add("| implementation | largest depth handled | backward time per node | notes |")
        add("|---|---|---|---|")
        per_depth = 100_000 if 100_000 in w2["depths"] else w2["depths"][-1]
        for impl, runs in w2["results"].items():
            ok: dict[str, list[float]] = {}
            for run in runs:
                for d, s in run.get("backward_seconds", {}).items():
                    ok.setdefault(d, []).append(s)
            largest = max((int(d) for d in ok), default=0)
            notes = []
            max_depth = next((r["max_depth"] for r in runs if "max_depth" in r), None)
            if max_depth is not None:
                largest = max_depth
                secs = [r["max_depth_seconds"] for r in runs if "max_depth_seconds" in r]
                at, per = max_depth, statistics.median(secs) / max_depth
            elif str(per_depth) in ok:
                at, per = per_depth, statistics.median(ok[str(per_depth)]) / per_depth
            elif ok:
                at = largest
                per = statistics.median(ok[str(largest)]) / largest
            else:
                at, per = 0, None
            err = error_of(runs)
            if err:
                notes.append(err)
            depth_text = f"{largest:,}" if largest else "none"
            per_text = f"{fmt_time(per)} (at {at:,})" if per is not None else "n/a"
            add(f"| {NAMES[impl]} | {depth_text} | {per_text} | {'; '.join(notes)} |")
        add("")

    if "w3" in data:
        add("### W3: memory per graph node (tracemalloc)")
        add("")
        add(
            "| implementation | bytes per op node, chain | + during backward | "
            "bytes per op node, W1 forward graph | + during backward |"
        )
        add("|---|---|---|---|---|")
        for impl, runs in data["w3"]["results"].items():
            r = runs[0]
            if r.get("error"):
                add(f"| {NAMES[impl]} | error: {r['error']} | | | |")
                continue
            add(
                f"| {NAMES[impl]} | {r['chain_bytes']:.0f} | {r['chain_backward_bytes']:.0f} | "
                f"{r['mlp_bytes']:.0f} | {r['mlp_backward_bytes']:.0f} |"
            )
        add("")
        add(
            "micrograd wraps every plain-number constant in a Value; microgradnn keeps it as a "
            "float in `_prev`. PyTorch's memory is outside tracemalloc's view."
        )
        add("")

    if "w4" in data:
        w4 = data["w4"]
        res = w4["results"]
        eager = median_step(res.get("eager", []), skip_first=False)
        add(
            f"### W4: one epoch of digits ({w4['n']:,} images from {w4['source']}, MLP 64-32-10 "
            f"ReLU, {w4['loss']} loss, minibatches of {w4['batch']}, SGD)"
        )
        add("")
        add("| implementation | time per epoch (median) | speed-up vs eager | notes |")
        add("|---|---|---|---|")
        for impl, runs in res.items():
            t = median_step(runs, skip_first=False)
            notes = []
            if impl == "compiled":
                ct = [r["compile_time"] for r in runs if "compile_time" in r]
                if ct:
                    notes.append(f"one-off trace: {fmt_time(statistics.median(ct))}")
            infos = {r.get("info") for r in runs if r.get("info")}
            notes.extend(sorted(i for i in infos if i))
            err = error_of(runs)
            if err:
                notes.append(f"error: {err}")
            ratio = eager / t if eager and t else None
            add(f"| {NAMES[impl]} | {fmt_time(t)} | {fmt_ratio(ratio)} | {'; '.join(notes)} |")
            short.append(f"| {NAMES[impl]}, one digits epoch (W4) | {fmt_time(t)} | |")
        worst, n, ref = w4["agreement"]
        add("")
        add(
            f"Loss check: every implementation's mean epoch loss equals {NAMES.get(ref, ref)}'s "
            f"to a relative {worst:.1e}."
        )
        add("")
    if "t1" in data or "t2" in data or "w1" in data:
        _report_targets(data, add)
    return "\n".join(lines), "\n".join(short)


def median_cpu_step(runs: list[dict[str, Any]]) -> float | None:
    """Median CPU seconds per step over every round (the first step of a run is warm-up)."""
    times = [t for run in runs for t in run.get("cpu_times", [])[1:]]
    return statistics.median(times) if times else None


def _report_targets(data: dict[str, Any], add: Callable[[str], None]) -> None:
    """The issue's targets as measured ratios, then how the cost grows with the model's size."""
    rows: list[tuple[str, str, str, str]] = []

    def target(what: str, a: float | None, b: float | None, wanted: str) -> None:
        """One row: the ratio a / b against ``wanted``, "<= 1.0x" or ">= 25x"."""
        r = a / b if a and b else None
        at_most, bound = wanted.startswith("<="), float(wanted[3:-1])
        rows.append(
            (what, f"{fmt_time(a)} / {fmt_time(b)} = {_x(r)}", wanted, verdict(r, bound, at_most))
        )

    t1 = data.get("t1")
    if t1:
        res, key = t1["results"], "-".join(map(str, t1["sizes"][0]))
        fit_t = whole_run_seconds(res.get("fit_compiled", []), key)
        target(
            f"W1, {t1['steps']} steps as one `fit(compiled=True)` call (trace included, "
            "progress off) / PyTorch's eager loop",
            fit_t,
            whole_run_seconds(res.get("torch", []), key),
            "<= 1.0x",
        )
        target(
            "the same `fit` call / hand-written numpy",
            fit_t,
            whole_run_seconds(res.get("numpy", []), key),
            "<= 3x",
        )
    t2 = data.get("t2")
    if t2:
        res, key = t2["results"], "-".join(map(str, t2["sizes"][0]))
        target(
            f"digits {key}, one epoch in batches of 32 as one `fit(compiled=True)` call / "
            "PyTorch's loop",
            whole_run_seconds(res.get("fit_compiled", []), key),
            whole_run_seconds(res.get("torch", []), key),
            "<= 1.0x",
        )
    w1 = data.get("w1")
    if w1 and "learner" in w1["results"]:
        target(
            "W1, the demo notebook's loop by hand (collector on): micrograd 0.1.0 / "
            "microgradnn, per step",
            median_cpu_step(w1["results"].get("micrograd", [])),
            median_cpu_step(w1["results"]["learner"]),
            ">= 25x",
        )
    if rows:
        add("### Targets (issue 15), as ratios of CPU time measured in this run")
        add("")
        add("| target | measured | wanted | |")
        add("|---|---|---|---|")
        for row in rows:
            add(f"| {' | '.join(row)} |")
        add("")
    for name, t, impls in (("t1", t1, ("fit_compiled", "torch", "numpy")), ("t2", t2, None)):
        if not t:
            continue
        impls = impls or ("fit_compiled", "torch")
        what = (
            f"W1's run ({t['steps']} full-batch steps)"
            if name == "t1"
            else f"one digits epoch ({t['n']:,} images, batches of 32)"
        )
        add(f"### How the cost grows: {what}, one whole run, CPU time")
        add("")
        head = " | ".join(NAMES[i] for i in impls)
        add(f"| model | parameters | {head} | `fit` / PyTorch |")
        add("|---|---|" + "---|" * len(impls) + "---|")
        for size in t["sizes"]:
            key = "-".join(map(str, size))
            secs = [whole_run_seconds(t["results"].get(i, []), key) for i in impls]
            n_params = sum((a + 1) * b for a, b in itertools.pairwise(size))
            r = secs[0] / secs[1] if secs[0] and secs[1] else None
            cells = " | ".join(fmt_time(x) for x in secs)
            add(f"| {key} | {n_params:,} | {cells} | {_x(r)} |")
        reference = "numpy" if name == "t1" else "torch"
        if reference not in t["results"]:
            reference = "fit_compiled"
        worst = whole_run_agreement(t["results"], reference)
        errors = [e for i in impls if (e := error_of(t["results"].get(i, [])))]
        add("")
        add(
            f"Loss check: every run's losses equal {NAMES[reference]}'s to a relative "
            f"{worst:.1e}." + (f" Errors: {'; '.join(errors)}." if errors else "")
        )
        add("")


def _x(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}x"


def write_readme(path: Path, body: str, start: str = START, end: str = END) -> None:
    """Replace the text between the ``start`` and ``end`` markers (or append the block)."""
    block = f"{start}\n{body}\n{end}"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n## Results\n\n"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, no install, < 20 s")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved repeats (3)")
    parser.add_argument("--only", default="w1,w2,w3,w4,t1,t2", help="workloads, e.g. w1,t1")
    parser.add_argument("--out", type=Path, default=None, help="README to update")
    parser.add_argument(
        "--python", type=Path, default=None, help="interpreter for the workers (skips the venv)"
    )
    args = parser.parse_args(argv)

    if args.python is not None:
        python = args.python
    elif args.smoke:
        python = Path(sys.executable)
    else:
        python = ensure_venv()
    rounds = args.rounds or (1 if args.smoke else 3)
    have = {m for m in ("micrograd", "torch", "numpy") if has_module(python, m)}
    info = machine()
    versions_code = (
        "import sys, importlib.metadata as m\n"
        "out = []\n"
        "for d in ('numpy', 'torch', 'micrograd', 'microgradnn'):\n"
        "    try: out.append(f'{d} {m.version(d)}')\n"
        "    except m.PackageNotFoundError: out.append(f'{d} not installed')\n"
        "print(sys.version.split()[0]); print(', '.join(out))\n"
    )
    probe = subprocess.run([str(python), "-c", versions_code], capture_output=True, text=True)
    lines = probe.stdout.strip().splitlines() or ["?", "?"]
    info["python"], info["versions"] = lines[0], lines[-1]

    runner = Runner(python, timeout=60 if args.smoke else 1800)
    wanted = set(args.only.split(","))
    data: dict[str, Any] = {}
    log(f"workers run with {python}")
    try:
        if "w1" in wanted:
            data["w1"] = run_w1(runner, args.smoke, rounds, have)
        if "w2" in wanted:
            data["w2"] = run_w2(runner, args.smoke, rounds, have)
        if "w3" in wanted:
            data["w3"] = run_w3(runner, args.smoke, have)
        if "w4" in wanted:
            data["w4"] = run_w4(runner, args.smoke, rounds, have)
        if "t1" in wanted:
            data["t1"] = run_t1(runner, args.smoke, rounds, have)
        if "t2" in wanted:
            data["t2"] = run_t2(runner, args.smoke, rounds, have)
    finally:
        shutil.rmtree(runner.tmp, ignore_errors=True)

    body, short = report(data, info, args.smoke)
    print(body)
    print("\nShort table for the main README:\n")
    print(short)
    out = args.out if args.out is not None else (None if args.smoke else README)
    if out is not None:
        write_readme(out, body)
        log(f"results written to {out}")
    ok = all(not data[w]["agreement"][0] > 1e-9 for w in ("w1", "w4") if w in data)
    ok = ok and all(
        not whole_run_agreement(data[t]["results"], ref) > 1e-9
        for t, ref in (("t1", "numpy" if "numpy" in have else "fit_compiled"), ("t2", "torch"))
        if t in data and ref in data[t]["results"]
    )
    if not ok:
        log("LOSS CHECK FAILED: the implementations computed different losses")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
