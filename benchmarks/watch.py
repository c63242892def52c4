"""TrainingView's budgets: recording a step, the page's size, a frame in Chromium (``make bench``).

The issue's budgets, for a 2-8-8-1 tanh MLP on 100 two-moons points, gradient descent:
recording one step costs under 100 ms beyond the training step itself; a 200-step page is under
5 MB; showing a recorded frame (the scrub slider, or one phase) takes under 50 ms in Chromium.
It also measures what the two other ways to draw the graph frames would cost, to say why the page
lays the graph out once in Python and rewrites its numbers frame by frame.

    python benchmarks/watch.py            # measures, prints, rewrites its section of README.md
    python benchmarks/watch.py --smoke    # 10 steps, prints only (tests/test_bench_watch.py)

Medians over every step (recording) and over 40 frames (Chromium). No budget is asserted by a
test: the table says whether each is met.
"""

# ruff: noqa: N806  (X is the data matrix)
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from microgradnn.data import make_moons  # noqa: E402
from microgradnn.nn import MLP  # noqa: E402
from microgradnn.viz import TrainingView  # noqa: E402

README = ROOT / "benchmarks" / "README.md"
START, END = "<!-- watch:start -->", "<!-- watch:end -->"
BUDGET_RECORD_MS = 100.0
BUDGET_PAGE_MB = 5.0
BUDGET_FRAME_MS = 50.0

_FRAME_TIMES = """
var root = document.querySelector('.mw-view'), scrub = root.querySelector('.mw-scrub');
var n = parseInt(scrub.max, 10) + 1, out = {scrub: [], phase: []};
for (var k = 0; k < arguments[0]; k++) {
  var f = (k * 7919) % n;
  var t0 = performance.now();
  scrub.value = f; scrub.dispatchEvent(new Event('input'));
  void document.body.offsetHeight;
  out.scrub.push(performance.now() - t0);
  var t1 = performance.now();
  root.querySelector('button[data-act=next]').click();
  void document.body.offsetHeight;
  out.phase.push(performance.now() - t1);
}
return out;
"""


def measure(steps: int, frames: int) -> dict[str, Any]:
    X, y = make_moons(n=100, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)
    view = TrainingView(model, X, y, loss="bce_logits", optimizer="sgd", lr=0.5)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    view.train(steps)
    train_cpu, train_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    record = statistics.median(view.record_seconds) * 1000
    step = train_wall / steps * 1000
    out: dict[str, Any] = {"steps": steps, "record_ms": record, "step_ms": step}
    out["train_cpu_s"] = train_cpu
    folder = Path(tempfile.mkdtemp(prefix="mg-watch-bench-"))
    page = folder / "watch.html"
    t0 = time.perf_counter()
    view.save_html(page)
    out["save_s"] = time.perf_counter() - t0
    out["page_mb"] = page.stat().st_size / 1e6
    text = page.read_text(encoding="utf-8")
    svg = text[text.index("<svg") : text.index("</svg>") + 6]
    out["svg_kb"] = len(svg.encode()) / 1e3
    out["svg_per_frame_mb"] = len(svg.encode()) * steps / 1e6
    out.update(_chromium(page, frames))
    return out


def _chromium(page: Path, frames: int) -> dict[str, Any]:
    from tools.browser import available, headless_chromium

    if not available():
        return {"frame_ms": None, "phase_ms": None, "load_ms": None}
    driver = headless_chromium(Path(tempfile.mkdtemp(prefix="mg-chromium-")), "1280,900")
    try:
        t0 = time.perf_counter()
        driver.get(page.resolve().as_uri())
        end = time.monotonic() + 30
        while not driver.execute_script(
            "var r = document.querySelector('.mw-view'); return r && r.dataset.ready;"
        ):
            if time.monotonic() > end:
                raise SystemExit("error: the page's script did not run in 30 s")
            time.sleep(0.02)
        load = (time.perf_counter() - t0) * 1000
        times = driver.execute_script(_FRAME_TIMES, frames)
    finally:
        driver.quit()
    return {
        "frame_ms": statistics.median(times["scrub"]),
        "frame_max_ms": max(times["scrub"]),
        "phase_ms": statistics.median(times["phase"]),
        "load_ms": load,
    }


def report(r: dict[str, Any]) -> str:
    def ok(value: float | None, budget: float) -> str:
        if value is None:
            return "not measured (no Chromium)"
        return "met" if value < budget else "**not met**"

    frame = "n/a" if r["frame_ms"] is None else f"{r['frame_ms']:.1f} ms"
    phase = "n/a" if r["phase_ms"] is None else f"{r['phase_ms']:.1f} ms"
    return "\n".join(
        [
            f"A 2-8-8-1 tanh MLP on 100 two-moons points, gradient descent, {r['steps']} steps "
            "(`python benchmarks/watch.py`):",
            "",
            "| what | measured (median) | budget | |",
            "|---|---|---|---|",
            f"| recording one step, beyond the training step itself | {r['record_ms']:.1f} ms "
            f"(the whole step: {r['step_ms']:.1f} ms) | < {BUDGET_RECORD_MS:.0f} ms | "
            f"{ok(r['record_ms'], BUDGET_RECORD_MS)} |",
            f"| the {r['steps']}-step page | {r['page_mb']:.2f} MB (written in "
            f"{r['save_s']:.1f} s) | < {BUDGET_PAGE_MB:.0f} MB | "
            f"{ok(r['page_mb'], BUDGET_PAGE_MB)} |",
            f"| showing a recorded frame in Chromium (scrub) | {frame} | "
            f"< {BUDGET_FRAME_MS:.0f} ms | {ok(r['frame_ms'], BUDGET_FRAME_MS)} |",
            f"| one phase forward (the step button) | {phase} | < {BUDGET_FRAME_MS:.0f} ms | "
            f"{ok(r['phase_ms'], BUDGET_FRAME_MS)} |",
            "",
            "Why the graph is laid out once, by graphviz in Python: its structure is the same at "
            "every step, so the page carries one SVG "
            f"({r['svg_kb']:.0f} kB) and each frame's changed texts, and a frame rewrites texts "
            "only. One SVG per frame would carry "
            f"{r['svg_per_frame_mb']:.0f} MB of SVG for these {r['steps']} steps; laying the "
            "graph out in the browser would vendor a WebAssembly Graphviz (npm `@viz-js/viz`, "
            "about 1.4 MB) and run a layout per frame, for the same picture.",
        ]
    )


def write(section: str, path: Path = README) -> bool:
    text = path.read_text(encoding="utf-8")
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{section}\n{END}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="10 steps, print only")
    args = parser.parse_args(argv)
    r = measure(10 if args.smoke else 200, 10 if args.smoke else 40)
    section = report(r)
    print(section)
    if not args.smoke:
        print("wrote benchmarks/README.md" if write(section) else "README.md has no section")
    return 0


if __name__ == "__main__":
    sys.exit(main())
