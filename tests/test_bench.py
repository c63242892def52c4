"""The benchmark runner: its smoke mode runs end to end, and it rewrites only its own section.

No timing is asserted: the smoke run checks that every workload runs, that the implementations
agree on their losses, and that the report is written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"


def load_runner() -> ModuleType:
    return load_script(RUN, "bench_run")


def run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script as ``make bench`` does; its exit status must be 0."""
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.mark.slow
def test_smoke_run_reports_every_workload(tmp_path: Path) -> None:
    out = tmp_path / "README.md"
    out.write_text("# Benchmarks\n\nhand-written text\n")
    proc = run_script(RUN, "--smoke", "--out", str(out))
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\nhand-written text\n")
    for heading in ("### W1", "### W2", "### W3", "### W4", "### Targets", "### How the cost"):
        assert heading in text
    for row in ("| microgradnn eager |", "| microgradnn compiled |", "| hand-written numpy"):
        assert row in text
    assert "| microgradnn eager, a learner's own loop |" in text
    assert ">= 25x |" in text
    assert "<= 3x |" in text
    assert "error:" not in text
    assert "Loss check: over the first" in text
    assert "Short table for the main README" in proc.stdout


@pytest.mark.slow
def test_the_ablation_runs_every_variant_and_checks_their_losses(tmp_path: Path) -> None:
    # It puts back earlier versions of engine code: a change of the engine must keep them
    # running (and computing the same losses), or the table would silently go stale.
    out = tmp_path / "README.md"
    out.write_text("intro\n<!-- ablation:start -->\nold\n<!-- ablation:end -->\n")
    run_script(RUN.parent / "ablation.py", "--rounds", "1", "--steps", "2", "--out", str(out))
    text = out.read_text()
    for row in ("today's engine (every optimization)", "the same loop, each node's inputs"):
        assert f"| {row}" in text
    assert "old" not in text.splitlines()


def test_results_section_is_replaced_not_duplicated(tmp_path: Path) -> None:
    run = load_runner()
    path = tmp_path / "README.md"
    path.write_text(f"# B\n\nintro\n\n{run.START}\nold\n{run.END}\n\noutro\n")
    run.write_readme(path, "new table")
    run.write_readme(path, "newer table")
    text = path.read_text()
    assert text == f"# B\n\nintro\n\n{run.START}\nnewer table\n{run.END}\n\noutro\n"


def test_formatting_of_times_and_ratios() -> None:
    run = load_runner()
    assert run.fmt_time(1.234) == "1.23 s"
    assert run.fmt_time(0.0123) == "12.3 ms"
    assert run.fmt_time(3.2e-5) == "32 µs"
    assert run.fmt_time(None) == "n/a"
    assert run.fmt_ratio(1520.4) == "1,520x"
    assert run.fmt_ratio(3.14) == "3.1x"


def test_agreement_finds_the_worst_relative_difference() -> None:
    run = load_runner()
    results = {
        "ref": [{"losses": [1.0, 2.0, 4.0]}],
        "other": [{"losses": [1.0, 2.0 * (1 + 1e-12)]}, {"error": "exit 1"}],
    }
    worst, steps = run.agreement(results, "ref")
    assert steps == 2
    assert worst == pytest.approx(1e-12, rel=1e-3)


def test_unknown_workload_option_is_an_error() -> None:
    run = load_runner()
    with pytest.raises(SystemExit):
        run.main(["--rounds", "zero"])


def test_the_watch_section_survives_a_results_rewrite(tmp_path: Path) -> None:
    # Another tool fills the watch block; rewriting the results must leave it as it was.
    run = load_runner()
    path = tmp_path / "README.md"
    watch = "## Watch it learn\n\n<!-- watch:start -->\nbudgets\n<!-- watch:end -->\n"
    path.write_text(f"# B\n\n{watch}\n{run.START}\nold\n{run.END}\n")
    run.write_readme(path, "new")
    assert watch in path.read_text()
    assert "new" in path.read_text()


def test_the_repository_readme_keeps_a_watch_block_under_its_heading() -> None:
    text = (ROOT / "benchmarks" / "README.md").read_text()
    heading = text.index("## Watch it learn (TrainingView budgets)")
    start, end = text.index("<!-- watch:start -->"), text.index("<!-- watch:end -->")
    assert heading < start < end


@pytest.mark.parametrize(
    ("ratio", "bound", "at_most", "expected"),
    [
        (0.99, 1.0, True, "met"),
        (1.0, 1.0, True, "met"),
        (1.01, 1.0, True, "not met"),
        (24.9, 25.0, False, "not met"),
        (25.0, 25.0, False, "met"),
        (None, 3.0, True, "not measured"),
    ],
)
def test_targets_are_judged_on_the_right_side_of_the_bound(
    ratio: float | None, bound: float, at_most: bool, expected: str
) -> None:
    assert load_runner().verdict(ratio, bound, at_most) == expected


def test_whole_run_seconds_is_the_median_over_rounds_and_repeats() -> None:
    run = load_runner()
    runs = [
        {"sizes": {"2-4-1": {"cpu": [3.0, 1.0], "losses": [1.0]}}},
        {"sizes": {"2-4-1": {"cpu": [2.0], "losses": [1.0]}}},
        {"error": "exit 1"},
    ]
    assert run.whole_run_seconds(runs, "2-4-1") == 2.0
    assert run.whole_run_seconds(runs, "2-8-1") is None
