"""benchmarks/watch.py (TrainingView's budgets): its smoke run measures every budget and reports.

No timing is asserted: the smoke run checks that each budget is measured and given a verdict,
and that it leaves benchmarks/README.md alone.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "watch.py"


@pytest.mark.slow
def test_the_smoke_run_measures_each_budget_and_writes_nothing() -> None:
    readme = ROOT / "benchmarks" / "README.md"
    before = readme.read_bytes()
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")][1:]
    assert [r.split("|")[1].strip().split(" ")[0] for r in rows] == [
        "recording",
        "the",
        "showing",
        "one",
    ]
    for row in rows:
        verdict = row.rstrip(" |").rsplit("|", 1)[1].strip()
        assert verdict in ("met", "**not met**", "not measured (no Chromium)"), row
    assert "One SVG per frame would carry" in proc.stdout
    assert readme.read_bytes() == before
