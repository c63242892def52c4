"""Notebook 02 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel calls the notebook's ReLU experiment for seeds 0, 1 and 2 (seed 0 is
the run the notebook printed) and runs each exercise's check cell three times with the solution
filled in (and once with a wrong answer), so a check that changes its verdict on a rerun, or a
lesson that holds for one seed only, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.notebook_harness import (
    SEEDS,
    VERDICTS,
    assert_no_answer_shown,
    cell_output,
    committed_cell_source,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


# _verdicts (see the harness), and the seed runs of the lessons.
HELPERS = (
    VERDICTS
    + """

def _relu_lesson(seed):
    if seed == 0:  # the runs the notebook printed
        zero, spread_out = at_zero, spread
    else:
        zero = relu_experiment(seed, epochs=1500)
        spread_out = relu_experiment(seed, spread_kinks=True, epochs=500)
    return {
        "start_kinks": zero["start_kinks"],
        "zero_100": zero["loss"][99],
        "zero_500": zero["loss"][499],
        "zero_1000": zero["loss"][999],
        "zero_1500": zero["loss"][-1],
        "zero_481_500": sum(zero["loss"][480:500]) / 20,
        "spread_351_400": sum(spread_out["loss"][350:400]) / 50,
        "spread_481_500": sum(spread_out["loss"][480:500]) / 20,
        "spread_final": spread_out["final_mse"],
        "spread_epochs": len(spread_out["loss"]),
    }
"""
)

# Exercise check cells (found by a line they contain): the solution's answer, a wrong one.
EXERCISES = {
    "ex1": (
        "my_number_of_pieces = None\nmy_heights = None",
        "my_number_of_pieces = 2\nmy_heights = [2, -3]",
        "my_number_of_pieces = 3\nmy_heights = [2, 0, -3]",
    ),
    "ex2": ("a, p, q = None, None, None", "a, p, q = 1 / 2, 1, 3", "a, p, q = 1, 1, 3"),
    "ex3": ("my_smallest_H = None", "my_smallest_H = 3", "my_smallest_H = 1"),
}


def _cell_source(marker: str) -> str:
    return committed_cell_source("02", marker)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    lessons = {
        "helpers": f"exec({HELPERS!r}, globals()) or 'ok'",
        "relu": f"[_relu_lesson(s) for s in {SEEDS}]",
        "line_mse": "float(line_mse)",
        "sig_mse": "float(sig_mse)",
        "sig_by_H": "[float(sigmoid_fit(h, seed=0)[1]) for h in (1, 2, 3)]",
    }
    for name, (marker, right, wrong) in EXERCISES.items():
        src = _cell_source(marker)
        lessons[f"{name}_right"] = f"_verdicts({src.replace(marker, right, 1)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({src.replace(marker, wrong, 1)!r}, times=1)"
    return run_notebook("02", Path(tmp_path_factory.mktemp("nb02")), lessons)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+", text)]


def test_hard_sigmoids_rebuild_the_curve_exactly(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "pieces = []")
    assert text.startswith("3 hard sigmoids"), "the Predict: three sloped pieces"
    assert "largest difference from the curve: 0.00e+00" in text


def test_bias_is_the_weight_of_an_always_on_input(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "z_always_on =")
    lines = text.splitlines()
    assert lines[0].startswith("w·x + b = ")
    assert lines[1].startswith("[b, w]·[1, x] = ")
    first, second = (_numbers(line)[-1] for line in lines)
    assert first == second
    assert abs(first) > 0.1, "a bias that is not 0, so the check means something"


def test_every_bias_starts_at_zero(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    rows = cell_output(nb, "model.named_parameters()").splitlines()
    biases = [float(r.split()[-1]) for r in rows if r.split()[0].endswith(".b")]
    assert biases
    assert all(b == 0.0 for b in biases)


def test_four_sigmoids_beat_the_line(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "sig_model, sig_mse = sigmoid_fit(H)")
    assert f"{results['sig_mse']:.4f}" in text
    assert f"{results['line_mse']:.4f}" in text
    assert results["line_mse"] > 0.2, "the summary: about 0.26"
    assert results["sig_mse"] < 0.01, "the Predict: below 0.01"
    assert results["sig_mse"] < 2.5 * 0.05**2, "within about twice the noise's mean square"


def test_relu_kinks_all_start_at_zero(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for r in results["relu"]:
        assert len(r["start_kinks"]) == 8
        assert all(k == 0.0 for k in r["start_kinks"])


def test_kinks_at_zero_are_slow_not_trapped(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    sigmoid = results["sig_mse"]
    for r in results["relu"]:
        # a plateau near 0.05, about ten times the sigmoids', from epoch 100 to 500 ...
        for key in ("zero_100", "zero_500"):
            assert 0.03 < r[key] < 0.08, (key, r)
        assert r["zero_500"] > 6 * sigmoid
        # ... and then it drops: to a third or less by epoch 1500
        assert r["zero_1500"] < 0.4 * r["zero_500"], r
    # the prose, about seed 0: the plateau lasts until epoch 1000
    assert 0.03 < results["relu"][0]["zero_1000"] < 0.08


def test_spread_kinks_learn_several_times_faster(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    noise = 0.05**2  # the best possible mean squared error
    for r in results["relu"]:
        assert r["spread_epochs"] == 500
        # averaged over the last 20 epochs, and the final model on all points: several times
        # lower than with every kink at 0, and not below the noise
        assert r["zero_481_500"] > 2 * r["spread_481_500"], r
        assert r["zero_481_500"] > 3 * r["spread_final"], r
        assert r["spread_final"] > noise, r
    # the prose, about seed 0: about six times lower; the final model about twice the noise;
    # the drop comes late (still near 0.05 over epochs 351-400)
    seed0 = results["relu"][0]
    assert 4 < seed0["zero_481_500"] / seed0["spread_481_500"] < 9
    assert 1.5 * noise < seed0["spread_final"] < 3 * noise
    assert 0.03 < seed0["spread_351_400"] < 0.08


def test_printed_relu_numbers_are_the_seed_0_runs(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    seed0 = results["relu"][0]
    text = cell_output(nb, "at_zero = relu_experiment(seed=0, epochs=1500)")
    assert f"after  500 epochs: {seed0['zero_500']:.4f}" in text
    assert f"after 1500 epochs: {seed0['zero_1500']:.4f}" in text
    text = cell_output(nb, "spread = relu_experiment(seed=0, spread_kinks=True")
    assert f"over epochs 351-400: {seed0['spread_351_400']:.4f}" in text
    assert (
        f"over epochs 481-500: {seed0['spread_481_500']:.4f} "
        f"(kinks at 0: {seed0['zero_481_500']:.4f})"
    ) in text
    assert f"on all 60 points:       {seed0['spread_final']:.4f}" in text
    end = _numbers(text.splitlines()[-1])
    # the prose: most kinks reached the knots, none near 1.5 yet; one far outside the data
    after = _numbers(cell_output(nb, "at_zero = relu_experiment").splitlines()[-1])
    near = [k for k in (-1.5, -0.5, 0.5) if min(abs(a - k) for a in after) < 0.15]
    assert len(near) == 3
    assert min(abs(a - 1.5) for a in after) > 0.3
    assert max(abs(a) for a in after) > 5
    assert len(end) == 8


def test_exercise_3_solution_numbers(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    one, two, three = results["sig_by_H"]
    assert 0.13 < one < 0.21, "about 0.17"
    assert one < results["line_mse"], "somewhat better than the line"
    assert two >= 0.02
    assert three < 0.02


def test_exercise_3_answer_not_hinted_before_it() -> None:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")

    nb = nbformat.read(notebook_path("02"), as_version=4)
    cells = nb.cells[: next(i for i, c in enumerate(nb.cells) if "**3.** Refit" in c.source)]
    for cell in cells:
        assert "per sloped piece" not in cell.source, cell.source[:80]
        assert "len(pieces) + 1" not in cell.source


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    assert results[f"{name}_right"] == ["pass"] * 3
    assert results[f"{name}_wrong"] == ["fail"]


@pytest.mark.parametrize("name", EXERCISES)
def test_no_answer_in_a_committed_exercise_output(name: str) -> None:
    assert_no_answer_shown("02", EXERCISES[name][0], "Fill in")
