"""Notebook 01 teaches what its text says: the numbers come from its own cells and functions.

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
    committed_cell_source,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

HIDDEN = (4, 16, 64)
S_NUM = 1 / (1 + math.exp(-(0.8 * 1.5 - 0.5)))  # the worked neuron's output


# Exercise check cells (found by a line they contain) and how to fill in an answer.
EXERCISES = {
    "ex1": ("my_dC_db = None", "my_dC_db = 2 * (s_num - y_true) * s_num * (1 - s_num)"),
    "ex2": ("my_df_du = None", "my_df_du = 7"),
    "ex3": ("my_u_grad_after_two_calls = None", "my_u_grad_after_two_calls = 14"),
    "ex4": ("def my_tanh(x):", "e = (2 * x).exp()\n    return (e - 1) / (e + 1)"),
    "ex5": ("def cube_derivative(a):", "return 3 * a**2"),
}
WRONG = {
    "ex1": "my_dC_db = 2 * (s_num - y_true) * s_num * (1 - s_num) * x_in",
    "ex2": "my_df_du = 6",
    "ex3": "my_u_grad_after_two_calls = 7",
    "ex4": "e = x.exp()\n    return (e - 1) / (e + 1)",
    "ex5": "return 2 * a",
}
FORMULA = re.compile(r"return None  # your formula here.*")


def _cell_source(marker: str) -> str:
    return committed_cell_source("01", marker)


def _filled(name: str, answer: str) -> str:
    marker, _ = EXERCISES[name]
    src = _cell_source(marker)
    if marker.startswith("def "):
        assert FORMULA.search(src), f"{name}: no 'return None  # your formula here' line"
        return FORMULA.sub(lambda _: answer, src, count=1)
    return src.replace(marker, answer, 1)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    lessons = {
        "helper": f"exec({VERDICTS!r}, globals()) or 'ok'",
        "cost": f"[[gradient_cost(h, seed=s) for h in {HIDDEN}] for s in {SEEDS}]",
        "tanh_right": "tanh_differences(lambda x: ((2 * x).exp() - 1) / ((2 * x).exp() + 1))",
        "tanh_wrong": "tanh_differences(lambda x: (x.exp() - 1) / (x.exp() + 1))",
        "tanh_400": "[(lambda e: ((e - 1) / (e + 1)).data)((2 * Value(400.0)).exp()),"
        " Value(400.0).tanh().data]",
        "cube_right": "[bool(r) for r in cube_gradcheck(lambda a: 3 * a**2)]",
        "cube_wrong": "[bool(r) for r in cube_gradcheck(lambda a: 2 * a)]",
        "cube_left_behind": "'cube' in ops.OPS",
    }
    for name, (_, answer) in EXERCISES.items():
        lessons[f"{name}_right"] = f"_verdicts({_filled(name, answer)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({_filled(name, WRONG[name])!r}, times=1)"
    return run_notebook("01", Path(tmp_path_factory.mktemp("nb01")), lessons)


def test_backward_gives_the_calculus_answers(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    assert cell_output(nb, "z.backward()").splitlines() == [
        "dz/dx = -3.0",
        "dz/dw = 2.0",
        "dz/db = 1.0",
    ]
    # The prose: dL/dw is negative (raise w), and equals 2 (z - y) x = 2 (-9) 2 = -36.
    text = cell_output(nb, "L.backward()")
    assert "L = 81.0, dL/dw = -36.0" in text


def test_worked_sigmoid_gradient_matches_by_hand(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    numbers = re.findall(r"dC/dw = (\S+)", cell_output(nb, "by_hand = 2 *"))
    assert len(numbers) == 2
    assert numbers[0] == numbers[1]


def test_the_walk_prints_grad_times_local(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "order = L.topological_order()")
    # the prose and the pictures: the node's gradient × the local derivative, in that order
    assert "L (pow): z - y.grad += 1 × -18" in text
    assert "wx (mul): w.grad += -18 × 2, x.grad += -18 × -3" in text
    assert text.rstrip().endswith("dL/dw = -36.0")


def test_finite_differences_agree_to_about_ten_digits(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "result = gradcheck(")
    rows = [re.findall(r"-?\d+\.\d+(?:e-?\d+)?", line) for line in text.splitlines()[:2]]
    assert "all match: True" in text
    assert [len(r) for r in rows] == [1, 1], "dC/dw only"
    for analytic, numerical in zip(*rows, strict=True):
        rel = abs(float(analytic) - float(numerical)) / abs(float(analytic))
        assert 1e-13 < rel < 1e-8, "the prose says: about 10 digits, not all 16"


def test_exercise_1_answer_is_not_printed_before_it(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    # dC/db at the worked point is the answer exercise 1 checks: no cell may print it
    dc_db = 2 * (S_NUM - 1.0) * S_NUM * (1 - S_NUM)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        for digits in re.findall(r"-?\d+\.\d{4,}", text):
            assert not math.isclose(float(digits), dc_db, rel_tol=1e-3), cell.source[:60]


def test_finite_differences_need_2n_forward_passes(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for per_seed in results["cost"]:
        for hidden, r in zip(HIDDEN, per_seed, strict=True):
            n = r["parameters"]
            assert n == 4 * hidden + 1
            assert r["fd_forward_passes"] == 2 * n
            assert r["bp_forward_passes"] == 1
            assert r["largest_difference"] < 1e-7
        # the clock agrees, loosely (timings are noisy): more parameters, a larger ratio
        assert per_seed[-1]["slower"] > 2 * per_seed[0]["slower"]
        assert per_seed[-1]["slower"] > 20


def test_the_printed_table_shows_the_counts(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    rows = cell_output(nb, "def gradient_cost(").splitlines()[1:]
    assert len(rows) == len(HIDDEN)
    for hidden, row in zip(HIDDEN, rows, strict=True):
        n = 4 * hidden + 1
        assert re.match(
            rf"\s*{hidden}\s+{n}\s+{2 * n} forward passes\s+1 forward \+ 1 backward", row
        )
        assert row.rstrip().endswith("×"), "times as ×, not the letter x"


def test_tanh_from_exp_matches_to_1e12(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    assert max(results["tanh_right"]) < 1e-12
    assert max(results["tanh_wrong"]) > 1e-3
    from_exp, tanh = results["tanh_400"]
    assert math.isnan(from_exp), "the solution says: inf / inf = nan at x = 400"
    assert tanh == 1.0


def test_cube_gradcheck_tells_right_from_wrong(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    assert all(results["cube_right"])
    assert not any(results["cube_wrong"])
    assert results["cube_left_behind"] is False


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    assert results[f"{name}_right"] == ["pass"] * 3
    assert results[f"{name}_wrong"] == ["fail"]


@pytest.mark.parametrize("name", EXERCISES)
def test_no_answer_in_a_committed_exercise_output(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    assert_no_answer_shown("01", EXERCISES[name][0], "Replace None")


def test_the_question_picture_hides_the_gradients() -> None:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")

    nb = nbformat.read(notebook_path("01"), as_version=4)
    cell = next(c for c in nb.cells if "draw_dot(f, show_grad=False" in c.source)
    svg = "".join(o.get("data", {}).get("image/svg+xml", "") for o in cell.outputs)
    assert svg, "exercise 2's graph picture is shown"
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "data 3" in texts
    assert not any(re.fullmatch(r"grad -?[\d.]+", t) for t in texts), "no gradient shown"
