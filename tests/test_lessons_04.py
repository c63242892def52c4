"""Notebook 04 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel calls the notebook's functions on the logits it shows and on random
logits drawn with seeds 0, 1 and 2, and runs each exercise's check cell three times with the
solution filled in (and once with a wrong answer).
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
    cell_output,
    code_cell,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


SOLUTION_LSE = "m = max(zs)\n    return m + math.log(sum(math.exp(z - m) for z in zs))"
NAIVE_LSE = "return math.log(sum(math.exp(z) for z in zs))"
# (a line of the check cell, the answer that replaces it, a wrong answer)
EXERCISES = {
    "ex1": ("my_answer = None", "my_answer = math.log(4)", "my_answer = 1.0"),
    "ex2": (
        "my_slope_at_half = None\nmy_slope_at_minus_two = None",
        "my_slope_at_half = 1\nmy_slope_at_minus_two = 0",
        "my_slope_at_half = -1\nmy_slope_at_minus_two = 0",
    ),
    "ex3": ("return None  # your code here", SOLUTION_LSE, NAIVE_LSE),
}


def _filled(nb: Any, name: str, answer: str) -> str:
    marker = EXERCISES[name][0]
    return str(code_cell(nb, marker).source.replace(marker, answer, 1))


def _random_logits(seed: int, scale: float, k: int = 5) -> str:
    return f"[float(v) for v in np.random.default_rng({seed}).normal(0, {scale}, {k})]"


def _huge_logits(seed: int) -> str:
    """1000 and four logits in (-2000, 2000): e^z overflows for at least one of them."""
    return f"[1000.0] + [float(v) for v in np.random.default_rng({seed}).uniform(-2e3, 2e3, 4)]"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path("04"), as_version=4)
    lessons = {"helper": f"exec({VERDICTS!r}, globals()) or 'ok'"}
    for seed in SEEDS:
        huge, small = _huge_logits(seed), _random_logits(seed, 3.0)
        lessons[f"huge_{seed}"] = (
            f"[(naive_cross_entropy(z, t), fused_cross_entropy(z, t)) for z in [{huge}]"
            " for t in range(5)]"
        )
        lessons[f"small_{seed}"] = (
            f"[(naive_cross_entropy(z, t)['loss'], fused_cross_entropy(z, t)['loss'])"
            f" for z in [{small}] for t in range(5)]"
        )
        lessons[f"sigmoid_{seed}"] = f"softmax_vs_sigmoid({_random_logits(seed, 10.0, 20)})"
    for name, (_, right, wrong) in EXERCISES.items():
        lessons[f"{name}_right"] = f"_verdicts({_filled(committed, name, right)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({_filled(committed, name, wrong)!r}, times=1)"
    return run_notebook("04", Path(tmp_path_factory.mktemp("nb04")), lessons)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+\.\d+(?:e[-+]?\d+)?", text)]


def test_cross_entropy_gradient_is_p_minus_t(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    rows = cell_output(nb, "one_hot = [").splitlines()
    assert len(rows) == 3
    for row in rows:
        grad, p_minus_t = _numbers(row)
        assert grad == p_minus_t
    # the Predict prompt: only the true class's logit has a negative gradient
    assert [_numbers(r)[0] < 0 for r in rows] == [True, False, False]


def test_softmax_of_x_and_0_is_sigmoid(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "def softmax_vs_sigmoid(")
    shown = float(text.rsplit(":", 1)[1])
    assert shown < 1e-12, "the prose: the identity holds up to rounding"
    for seed in SEEDS:
        assert results[f"sigmoid_{seed}"] < 1e-12


def test_naive_cross_entropy_breaks_at_1000(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "def naive_cross_entropy(")
    assert "exp(z):      [inf, 1.0]" in text
    assert "naive p:     [nan, 0.0]" in text
    assert "naive loss:  inf" in text
    assert "naive grads: [nan, nan]" in text


def test_fused_cross_entropy_is_right_at_1000(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "def fused_cross_entropy(")
    assert "fused loss:  1000.0" in text
    assert "fused grads: [1.0, -1.0]" in text
    naive, fused = _numbers(text.splitlines()[-1])[-2:]
    assert abs(naive - fused) < 1e-12, "the prose: at ordinary logits they agree"


def test_naive_fails_and_fused_holds_on_random_huge_logits(
    run: tuple[Any, dict[str, Any]],
) -> None:
    _, results = run
    for seed in SEEDS:
        for naive, fused in results[f"huge_{seed}"]:
            broken = not math.isfinite(naive["loss"]) or any(map(math.isnan, naive["grads"]))
            assert broken, "an overflowing e^z must break the naive recipe"
            assert math.isfinite(fused["loss"])
            assert fused["loss"] >= 0
            assert all(math.isfinite(g) for g in fused["grads"])
            assert abs(sum(fused["grads"])) < 1e-9, "p - t sums to 0"


def test_naive_and_fused_agree_on_ordinary_logits(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for seed in SEEDS:
        for naive, fused in results[f"small_{seed}"]:
            assert math.isclose(naive, fused, rel_tol=1e-12, abs_tol=1e-12)


def test_clamped_bce_loses_the_gradient_and_logits_keep_it(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, _ = run
    text = cell_output(nb, "for logit in (5.0, 40.0):")
    at_40 = text.split("logit 40.0")[1]
    clamped, fused = re.findall(r"= (\S+), d/dz = (\S+)", at_40)
    assert float(clamped[1]) == 0.0
    assert float(fused[0]) == 40.0
    assert float(fused[1]) == 1.0
    assert float(clamped[0]) < 30, "the clamp caps the loss well below the true 40"


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
    import nbformat

    committed = nbformat.read(notebook_path("04"), as_version=4)
    cell = code_cell(committed, EXERCISES[name][0])
    assert [o.output_type for o in cell.outputs] == ["stream"]
    assert cell_output(committed, EXERCISES[name][0]).startswith("Replace")
