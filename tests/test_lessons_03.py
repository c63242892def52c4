"""Notebook 03 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel calls the notebook's experiment functions for seeds 0, 1 and 2 and
runs each exercise's check cell three times with the solution filled in (and once with a wrong
answer), so a check that changes its verdict on a rerun, or a lesson that holds for one seed
only, fails here.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests.notebook_harness import (
    SEEDS,
    VERDICTS,
    assert_no_answer_shown,
    cell_output,
    code_cell,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

LN2 = math.log(2)
THREE_MERGED = (3 * math.log(3) - 2 * math.log(2)) / 4


# (a line of the check cell, the answer that replaces it, a wrong answer); the loop exercise's
# answer is the solution folded in the notebook's own markdown (see _loop_answers).
EXERCISES = {
    "nand": ("my_w, my_b = None, None", "my_w, my_b = [-1, -1], 1.5", "my_w, my_b = [1, 1], -1.5"),
    "xnor": (
        "my_out_w, my_out_b = None, None",
        "my_out_w, my_out_b = [-1, -1], 0.5",
        "my_out_w, my_out_b = [1, 1], -0.5",
    ),
    "relus": ("my_relus = None", "my_relus = 4", "my_relus = 3"),
}
PROMPTS = {"nand": "Fill in", "xnor": "Fill in", "relus": "Fill in", "loop": "Write the loop"}

# Kernel code for _band(model): the shape of a trained XOR net's decision boundary in the input
# plane, as the markdown under "Where did the trained hidden layer" describes it.
BAND = """
def _band(model):
    t = np.linspace(-0.5, 1.5, 401)
    def signs(points):
        out = predict(model, points, compiled=True).ravel() > 0
        return [bool(v) for v in out[np.r_[True, out[1:] != out[:-1]]]]
    crossings = []
    for c in np.linspace(-0.5, 1.5, 21):
        xs = np.linspace(-3, 4, 7001)
        out = predict(model, np.column_stack([xs, np.full_like(xs, c)]), compiled=True).ravel()
        crossings.append(xs[1:][np.sign(out[1:]) != np.sign(out[:-1])].tolist())
    lines = []
    if all(len(cr) == 2 for cr in crossings):
        c = np.linspace(-0.5, 1.5, 21)
        for k in range(2):
            x1 = np.array([cr[k] for cr in crossings])
            fit = np.polyfit(c, x1, 1)
            lines.append({"slope": float(fit[0]),
                          "residual": float(np.abs(np.polyval(fit, c) - x1).max())})
    return {"diagonal": signs(np.column_stack([t, t])),
            "across": signs(np.column_stack([t, 1 - t])),
            "crossings": [len(cr) for cr in crossings], "lines": lines}
"""


def _loop_answers(nb: Any) -> tuple[str, str]:
    """The loop check cell with the notebook's folded solution, and with zero_grad left out."""
    text = next(
        c.source for c in nb.cells if c.cell_type == "markdown" and "the loop inside" in c.source
    )
    solution = re.search(r"```python\n(.*?)\n```", text, re.S)
    assert solution, "the loop exercise has no folded Python solution"
    body = solution.group(1)
    assert "zero_grad()" in body
    cell = code_cell(nb, "def train_by_hand(")
    loop = r" {4}for _ in range\(epochs\):\n {8}\.\.\.  # your code:.*"
    placeholder = re.search(loop, cell.source)
    assert placeholder, "the loop exercise lost its placeholder line"
    right = cell.source.replace(placeholder.group(0), body, 1)
    wrong = right.replace("        model.zero_grad()\n", "", 1)
    assert wrong != right
    return right, wrong


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path("03"), as_version=4)
    lessons = {
        "helper": f"exec({VERDICTS!r}, globals()) or 'ok'",
        "band_helper": f"exec({BAND!r}, globals()) or 'ok'",
        "band": "_band(runs[solved[0]][0])",
        "band_seed": "solved[0]",
    }
    for seed in SEEDS:
        lessons[f"matrix_{seed}"] = f"matrix_form({seed})"
        lessons[f"stuck_{seed}"] = f"stuck_analysis({seed})"
        lessons[f"collapse_{seed}"] = f"linear_collapse({seed})"
        lessons[f"equal_{seed}"] = f"equal_init({seed})"
        lessons[f"pieces_{seed}"] = f"deep_vs_fat({seed})"
    for name, (marker, right, wrong) in EXERCISES.items():
        source = code_cell(committed, marker).source
        lessons[f"{name}_right"] = f"_verdicts({source.replace(marker, right, 1)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({source.replace(marker, wrong, 1)!r}, times=1)"
    right, wrong = _loop_answers(committed)
    lessons["loop_right"] = f"_verdicts({right!r})"
    lessons["loop_wrong"] = f"_verdicts({wrong!r}, times=1)"
    return run_notebook("03", Path(tmp_path_factory.mktemp("nb03")), lessons)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text)]


def test_no_step_neuron_computes_xor(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    assert "best score on XOR: 3 of 4" in cell_output(nb, "np.meshgrid(values")


def test_a_layer_is_w_x_plus_b_in_both_lectures_notations(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    assert "lecture 2's W [4, 2], lecture 4's matrix [3, 4]" in cell_output(nb, "form = matrix_")
    for seed in SEEDS:
        form = results[f"matrix_{seed}"]
        assert form["W_shape"] == [4, 2], "one row per neuron, one column per input"
        assert form["lecture4_shape"] == [3, 4], "(1 + inputs) rows, one column per neuron"
        assert form["diff_Wx"] < 1e-12
        assert form["diff_WTx"] < 1e-12
        assert form["diff_batch"] < 1e-12
        assert any(b != 0 for b in form["b"]), "the biases take part in the comparison"


def test_the_learned_boundary_is_two_nearly_parallel_lines_around_the_0s(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    seed = results["band_seed"]
    assert f"seed {seed}: logits" in cell_output(nb, "runs = {seed: train_xor(seed)")
    band = results["band"]
    assert band["diagonal"] == [False], "the diagonal through (0,0) and (1,1): all class 0"
    assert band["across"] == [True, False, True], "across the band: a 1, the band, a 1"
    assert band["crossings"] == [2] * 21, "two boundary lines over the whole plot"
    first, second = band["lines"]
    assert max(first["residual"], second["residual"]) < 0.05, "straight"
    # each line is x1 = slope × x2 + c: their directions differ by under 10 degrees
    angles = [math.degrees(math.atan(line["slope"])) for line in (first, second)]
    assert abs(angles[0] - angles[1]) < 10, f"nearly parallel: {angles}"


def test_stuck_seeds_sit_at_the_floor_of_their_merged_points(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    table = cell_output(nb, "for seed in runs:").splitlines()
    rows = [r for r in table if re.match(r"\s+\d+\s+\|", r)]
    assert len(rows) == 10
    stuck = 0
    for row in rows:
        loss, floor = _numbers(row)[:2]
        assert abs(loss - floor) < 5e-3, row
        if floor > 0:
            stuck += 1
            assert abs(loss - floor) < 1e-3, "the prose: within a thousandth of the floor"
            assert min(abs(floor - LN2 / 2), abs(floor - THREE_MERGED)) < 1e-4, row
    assert stuck >= 1, "the prose explains stuck seeds: the table must show one"
    shown = cell_output(nb, "for seed in runs:")
    assert f"{LN2 / 2:.4f}" in shown
    assert f"{THREE_MERGED:.4f}" in shown
    for seed in SEEDS:
        a = results[f"stuck_{seed}"]
        assert abs(a["loss"] - a["floor"]) < 5e-3, (seed, a)
        if a["accuracy"] < 1.0:
            assert a["mixed"], "a stuck seed has merged points of both classes"
            assert a["max_tanh_slope_merged"] < 1e-2, "its tanh units are saturated there"
            assert a["floor"] > 0.3
        else:
            assert not a["mixed"]
    assert any(results[f"stuck_{s}"]["accuracy"] < 1.0 for s in SEEDS)
    assert any(results[f"stuck_{s}"]["accuracy"] == 1.0 for s in SEEDS)


def test_the_first_stuck_seed_is_saturated(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "first = stuck[0]")
    slope = float(text.rsplit(":", 1)[1])
    assert slope < 1e-2


def test_wider_hidden_layers_get_stuck_less(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "wider = [")
    wide, narrow = (int(v) for v in re.findall(r"(\d+) of 10", text))
    assert wide > narrow
    _assert_predict_before(nb, "wider = [")


def _assert_predict_before(nb: Any, marker: str) -> None:
    """The markdown cell just before the experiment asks to predict it."""
    index = nb.cells.index(code_cell(nb, marker))
    assert "**Predict:**" in nb.cells[index - 1].source


def test_linear_layers_collapse_and_stay_at_chance(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "lin = linear_collapse(")
    assert "linear 2-8-8-1: loss 0.6931 (ln 2 = 0.6931)" in text
    for seed in SEEDS:
        r = results[f"collapse_{seed}"]
        assert r["collapse_diff"] < 1e-12, "the network is the one map W x + b"
        assert abs(r["linear"]["loss"] - LN2) < 1e-3
        assert r["linear"]["accuracy"] <= 0.75, "a line gets at most 3 of 4 XOR points"
        assert max(abs(v) for v in [*r["W"], *r["b"]]) < 1e-3, "the best line says nothing"
        assert r["tanh"]["loss"] < 0.01
        assert r["tanh"]["accuracy"] == 1.0


def test_equal_initial_weights_keep_hidden_units_clones(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    text = cell_output(nb, "eq = equal_init(")
    assert "largest difference between hidden units 0;" in text
    for seed in SEEDS:
        r = results[f"equal_{seed}"]
        equal, rand = r["equal"], r["random"]
        assert equal["spread"] == 0.0, "identical clones, to the last bit"
        assert equal["accuracy"] <= 0.75
        assert abs(equal["loss"] - THREE_MERGED) < 5e-3
        assert abs(equal["loss"] - equal["floor"]) < 5e-3
        assert rand["accuracy"] == 1.0
        assert rand["loss"] < 0.01
        assert rand["spread"] > 0.1


def test_deep_multiplies_pieces_and_fat_adds_them(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "for row in deep_vs_fat(")
    rows = [[int(v) for v in re.findall(r"\d+", r)] for r in text.splitlines()[1:]]
    assert [r[2] for r in rows] == [2**k for k in range(1, 7)]
    assert all(r[3] <= r[1] + 1 for r in rows), "as shown: one layer of H, at most H + 1"
    _assert_predict_before(nb, "for row in deep_vs_fat(")
    before = nb.cells[nb.cells.index(code_cell(nb, "for row in deep_vs_fat(")) - 1].source
    for answer in ("2^k", "H + 1"):
        assert answer not in before, "the answer comes after the Predict"
    for seed in SEEDS:
        for row in results[f"pieces_{seed}"]:
            k = row["k"]
            assert row["deep"] == 2**k
            assert row["fat"] <= row["relus"] + 1, "one layer of H ReLUs: at most H + 1 pieces"
            if k >= 3:
                assert row["deep"] > row["fat"]


@pytest.mark.parametrize("name", [*EXERCISES, "loop"])
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    assert results[f"{name}_right"] == ["pass"] * 3
    assert results[f"{name}_wrong"] == ["fail"]


@pytest.mark.parametrize("name", [*EXERCISES, "loop"])
def test_no_answer_in_a_committed_exercise_output(name: str) -> None:
    marker = "def train_by_hand(" if name == "loop" else EXERCISES[name][0]
    assert_no_answer_shown("03", marker, PROMPTS[name])
