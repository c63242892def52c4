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
    assert_no_answer_shown,
    cell_output,
    code_cell,
    committed_cell_source,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]


# The Shallow networks lecture's Keras slide, copied character for character.
SLIDE = """model = Sequential()
model.add(Dense(H, input_dim=N)) # weight matrix dim [N * H]
model.add(Activation("tanh"))
model.add(Dense(K)) # weight matrix dim [H x K]
model.add(Activation("softmax"))"""
FRESH_SLIDE = (
    "Sequential([Dense(H, input_dim=N), Activation('tanh'), Dense(K), Activation('softmax')])"
)
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
        lessons[f"slide_{seed}"] = f"(random.seed({seed}), train_and_score({FRESH_SLIDE}))[1]"
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
    assert_no_answer_shown("04", EXERCISES[name][0], "Replace")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_keras_slide_runs_as_written(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    assert SLIDE in committed_cell_source("04", "model = Sequential()")
    text = cell_output(nb, "model = Sequential()")
    counted = re.search(r"parameters: (\d+) = (\d+)×(\d+) \+ (\d+) \+ (\d+)×(\d+) \+ (\d+)", text)
    assert counted is not None
    total, n, h, h_bias, h2, k, k_bias = map(int, counted.groups())
    assert (h_bias, h2, k_bias) == (h, h, k)
    assert total == n * h + h + h * k + k, "weights N x H and H x K, one bias per unit"
    assert "Dense(3, input_dim=8)" in text, "the second Dense read its input size from the first"
    probs = _numbers(text.split("outputs for x = [0, 0]:")[1])
    assert len(probs) == k
    assert math.isclose(sum(probs), 1.0, abs_tol=1e-3)


def test_the_slide_learns_the_blobs(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "scores = train_and_score(model)")
    (loss0, acc0), (loss1, acc1) = re.findall(r"loss (\d+\.\d+), accuracy (\d+\.\d+)", text)
    assert 0.2 <= float(acc0) <= 0.45, "the prose: untrained, right on about a third"
    assert float(acc1) == 1.0, "the prose: trained, it separates the three blobs"
    assert float(loss1) < 0.05 < float(loss0), "the prose: its loss is close to 0"
    for seed in SEEDS:
        after = results[f"slide_{seed}"]["after"]
        assert after["acc"] >= 0.95, f"seed {seed}: the slide's model learns the blobs"
        assert after["loss"] < 0.1


def test_fit_refuses_softmax_twice_and_names_both_fixes(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = _one_line(cell_output(nb, "floor = cross_entropy_loss("))
    floor = float(re.search(r"-log p\[0\]: (\d+\.\d+)", text)[1])  # type: ignore[index]
    assert math.isclose(floor, math.log(1 + 2 / math.e), abs_tol=1e-4)
    assert round(floor, 2) == 0.55, "the prose: a perfect model would keep a loss of 0.55"
    assert "fit refused: this model ends in softmax" in text
    assert "use loss='categorical_crossentropy'" in text
    assert "drop the final Activation('softmax')" in text


def test_both_fixes_train_alike(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "logits_model = Sequential(")
    assert "accuracy 1.00" in text
    gap = float(text.rsplit(":", 1)[1])
    assert gap < 1e-9, "the prose: the two models train alike, to rounding"
