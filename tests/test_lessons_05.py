"""Notebook 05 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel calls the notebook's experiment functions for seeds 1 and 2 (seed 0
is the run the notebook shows, read from its own variables), the deterministic experiments from
a few other starting points, and each exercise's check cell three times with the solution
filled in (and once with a wrong answer).
"""

from __future__ import annotations

import itertools
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

VALLEY_STARTS = ((-9.0, 2.0), (-8.0, -1.5), (9.0, 1.0), (-5.0, 2.5))
QUADRATIC_STARTS = (0.0, -5.0, 10.0)
BUMPY_STARTS = (-2.4, -1.6, -0.8, -0.2, 0.05, 0.2, 0.6, 1.0, 1.8, 2.4)
HUMP = 0.126  # 4w^3 - 8w + 1 = 0 between the two valleys


# (the line of the check cell to replace, the right answer, a wrong answer)
EXERCISES = {
    "ex1": ("my_updates = None", "my_updates = 32", "my_updates = 31"),
    "ex2": ("my_lr = None", "my_lr = 0.2", "my_lr = 0.4"),
    "ex3": ("my_factor = None", "my_factor = -1.2", "my_factor = 1.2"),
}


def _filled(nb: Any, name: str, answer: str) -> str:
    marker = EXERCISES[name][0]
    return str(code_cell(nb, marker).source.replace(marker, answer, 1))


def _by_seed(shown: str, call: str) -> str:
    """An expression for {seed: result}: the notebook's own run for seed 0, `call` for 1, 2."""
    return f"{{0: {shown}, 1: {call.format(seed=1)}, 2: {call.format(seed=2)}}}"


def _without_paths(expr: str) -> str:
    return f"{{k: v[:2] for k, v in {expr}.items()}}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path("05"), as_version=4)
    lessons = {
        "helper": f"exec({VERDICTS!r}, globals()) or 'ok'",
        "quadratic": (
            f"{{s: {{lr: descend_quadratic(lr, s) for lr in (0.01, 0.1, 0.9, 1.02)}}"
            f" for s in {QUADRATIC_STARTS}}}"
        ),
        "line": _by_seed("line_runs", "gd_sgd_minibatch({seed})"),
        "speed": _by_seed("speed", "speed_experiment({seed})"),
        "shuffle": _by_seed("shuffled", "shuffle_experiment({seed})"),
        "schedule": _by_seed("scheduled", "schedule_experiment({seed})"),
        "sizes": _by_seed("sizes", "batch_lr_experiment({seed})"),
        "bumpy": f"{{s: descend_bumpy(s) for s in {BUMPY_STARTS}}}",
        "xor": "xor_losses",
    }
    for i, start in enumerate(VALLEY_STARTS):
        for label, args in [("10", "10"), ("100", "100"), ("turned", "100, angle=math.pi / 4")]:
            race = f"valley_race({args}, start={start})"
            lessons[f"valley_{label}_{i}"] = _without_paths(race)
    for name, (_, right, wrong) in EXERCISES.items():
        lessons[f"{name}_right"] = f"_verdicts({_filled(committed, name, right)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({_filled(committed, name, wrong)!r}, times=1)"
    return run_notebook("05", Path(tmp_path_factory.mktemp("nb05")), lessons)


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", text)]


def _seeds(results: dict[str, Any], name: str) -> list[Any]:
    by_seed = results[name]
    assert sorted(by_seed) == [str(s) for s in SEEDS]
    return [by_seed[str(s)] for s in SEEDS]


def test_learning_rate_too_small_right_too_large(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    shown = dict(
        re.findall(
            r"lr = (\S+)\s*: w after 30 steps = (\S+)", cell_output(nb, "def descend_quadratic(")
        )
    )
    assert 1 < float(shown["0.01"]) < 2, "0.01 crawls: still far from 3"
    assert abs(float(shown["0.1"]) - 3) < 0.01
    assert abs(float(shown["0.9"]) - 3) < 0.01
    assert float(shown["1.02"]) < -3, "1.02 diverges"
    for start, paths in results["quadratic"].items():
        gap = abs(float(start) - 3)
        ends = {lr: abs(path[-1] - 3) for lr, path in paths.items()}
        assert ends["0.01"] > 0.4 * gap, "too small: most of the way still to go"
        assert ends["0.1"] < 0.01 * gap
        assert ends["0.9"] < 0.01 * gap
        assert ends["1.02"] > gap, "too large: further away than at the start"
        sides = [p > 3 for p in paths["0.9"][:10]]
        assert all(a != b for a, b in itertools.pairwise(sides)), "0.9 lands on alternate sides"
        below = float(start) < 3
        assert all((p < 3) == below for p in paths["0.1"]), "0.1 never overshoots"


def test_updates_per_epoch_is_ceil_n_over_b(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "for n, b in [(10_000, 10)")
    rows = [_numbers(line.replace(",", "")) for line in text.splitlines()]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (10000, 10, 1000),
        (1000, 100, 10),
        (20, 1, 20),
        (20, 20, 1),
    ]
    assert all(r[2] == r[3] for r in rows), "batches() yields ceil(N/B) batches"
    assert "1000, B =  32" not in text.replace(",", ""), "exercise 1's answer is not shown"


def test_sgd_is_ahead_after_one_epoch_but_noisy(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "line_runs = gd_sgd_minibatch(seed=0)")
    assert "GD (B = 20)" in text
    assert "(0 of 5)" in text
    for runs in _seeds(results, "line"):
        gd, mini, sgd = (runs[k] for k in ("GD (B = 20)", "mini-batch (B = 5)", "SGD (B = 1)"))
        assert [gd["updates per epoch"], mini["updates per epoch"], sgd["updates per epoch"]] == [
            1,
            4,
            20,
        ]
        first = [r["epoch losses"][0] for r in (sgd, mini, gd)]
        assert first == sorted(first), "after one epoch: SGD < mini-batch < GD"
        assert first[0] < first[2] / 5, "SGD is far ahead of GD after one epoch"
        assert gd["rises"] == 0, "GD's loss never goes up at this learning rate"
        assert sgd["rises"] >= 20, "SGD's loss goes up after many of its 100 updates"
        losses = sgd["epoch losses"]
        assert any(b > a for a, b in itertools.pairwise(losses)), "SGD keeps jittering"


def test_sgd_epoch_costs_most_and_gd_is_furthest_behind(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    text = cell_output(nb, "speed = speed_experiment(seed=0)")
    mini_ms, sgd_ms = _numbers(text.splitlines()[-1])[-2:]
    assert mini_ms < 2 * sgd_ms, "as shown: 8 mini-batch epochs about as long as SGD's first"
    for runs in _seeds(results, "speed"):
        gd, mini, sgd = (runs[k] for k in ("GD (B = N)", "mini-batch (B = 10)", "SGD (B = 1)"))
        assert (gd["updates"], mini["updates"], sgd["updates"]) == (8, 80, 800)
        assert sgd["seconds per epoch"] > 3 * mini["seconds per epoch"]
        assert gd["seconds per epoch"] < sgd["seconds per epoch"]
        assert gd["loss"][-1] > max(mini["loss"][-1], sgd["loss"][-1]), "GD furthest behind"


def test_mini_batch_wins_per_second_too(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for runs in _seeds(results, "speed"):
        gd, mini, sgd = (runs[k] for k in ("GD (B = N)", "mini-batch (B = 10)", "SGD (B = 1)"))
        assert mini["time"][-1] < sgd["time"][1], "8 mini-batch epochs: under 2 of SGD's"
        assert mini["loss"][-1] < sgd["loss"][0], "lower than SGD after its first epoch"
        assert mini["loss"][-1] < gd["loss"][-1], "and lower than GD after its eighth"


def test_shuffling_ends_lower(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "shuffled = shuffle_experiment(seed=0)")
    assert "shuffle=True" in text
    assert "lower after every epoch: False" in text.splitlines()[0]
    assert "lower after every epoch: True" in text.splitlines()[1]
    for runs in _seeds(results, "shuffle"):
        mixed, sorted_ = runs["shuffle=True"], runs["shuffle=False"]
        assert mixed[-1] < sorted_[-1] - 0.02, "unshuffled ends higher"
        assert all(b < a for a, b in itertools.pairwise(sorted_)), "smooth, still falling at 20"
        assert mixed[4] < sorted_[-1], "by epoch 5 shuffled is below where unshuffled ends"
        rises = [b - a for a, b in itertools.pairwise(mixed[4:])]
        assert max(rises) > 0.005, "shuffled jitters up and down"
        assert max(rises) < 0.1, "by a few hundredths"


def test_schedule_fast_early_and_precise_late(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for runs in _seeds(results, "schedule"):
        big, small, step = (
            runs[k] for k in ("constant 0.3", "constant 0.03", "StepLR 0.3 -> 0.027")
        )
        assert big["after 2 epochs"] < small["after 2 epochs"], "large rate ahead early"
        assert step["after 2 epochs"] == big["after 2 epochs"], "identical until the first decay"
        assert step["last 5 epochs"] < big["last 5 epochs"] / 10, "large rate still jumps"
        assert step["last 5 epochs"] <= 1.5 * small["last 5 epochs"], "as precise as small"


def test_batch_noise_and_best_learning_rate(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    text = cell_output(nb, "sizes = batch_lr_experiment(seed=0)")
    assert "ratio" in text
    assert "spread ×" in text
    for out in _seeds(results, "sizes"):
        assert out["formula_gap"] < 1e-12, "the written-out gradient is backward()'s"
        # 1/sqrt(4), times the finite-population factor sqrt(92/98) = 0.969 for 100 points
        assert 0.45 < out["noise_ratio"] < 0.52
        spreads = list(out["spread"].values())
        assert spreads == sorted(spreads, reverse=True)
        for key in ("ratio", "centre_ratio"):
            assert 1 <= out["updates"][key] < 2, "equal updates: below sqrt(K)"
            assert 3 <= out["epochs"][key] <= 5, "equal epochs: about K = 4"
        for budget in ("updates", "epochs"):
            for size, (lo, hi) in out[budget]["near"].items():
                best = out[budget]["best_lr"][size]
                assert lo <= best <= hi
                assert 2 <= hi / lo <= 8 + 1e-9, "a broad optimum: a factor of 2 to 8"


def test_adam_and_momentum_beat_sgd_on_the_100_to_1_valley(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    text = cell_output(nb, "races = {steep: valley_race(steep)")
    steep = text.split("100:1 valley")[1]
    shown = {name: float(f) for name, f in re.findall(r"(\w+)\s+lr = \S+\s+f = (\S+)", steep)}
    assert max(shown, key=shown.get) == "SGD", "the prose: SGD ends worst on the 100:1 valley"
    for name in ("momentum", "RMSProp", "Adam"):
        assert shown[name] < shown["SGD"] / 20, "here by more than an order of magnitude"
    mild = text.split("100:1 valley")[0]
    shown = {name: float(f) for name, f in re.findall(r"(\w+)\s+lr = \S+\s+f = (\S+)", mild)}
    assert shown["SGD"] < min(shown["momentum"], shown["Adam"]), "10:1: SGD beats them"
    assert min(shown, key=shown.get) == "RMSProp", "RMSProp wins on a valley along the axes"
    for i in range(len(VALLEY_STARTS)):
        steep, mild = results[f"valley_100_{i}"], results[f"valley_10_{i}"]
        sgd = steep["SGD"][1]
        for name in ("momentum", "RMSProp", "Adam"):
            assert steep[name][1] < sgd / 2, f"{name} beats SGD on the 100:1 valley"
        assert mild["SGD"][1] < min(mild["momentum"][1], mild["Adam"][1]), "10:1: SGD beats them"
        for race in (mild, steep):
            rms = race["RMSProp"][1]
            assert all(rms < v[1] for n, v in race.items() if n != "RMSProp"), "RMSProp wins"
        turned = results[f"valley_turned_{i}"]
        for name in ("RMSProp", "Adam"):
            assert turned[name][1] >= turned["SGD"][1], f"turned, {name} loses its edge"


def test_turned_valley_as_shown(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "turned = valley_race(100, angle=math.pi / 4)")
    shown = {name: float(f) for name, f in re.findall(r"(\w+)\s+lr = \S+\s+f = (\S+)", text)}
    assert shown["momentum"] < shown["SGD"] <= min(shown["RMSProp"], shown["Adam"])


def test_gradient_descent_ends_in_the_valley_below_its_start(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    for start, end in results["bumpy"].items():
        expected = -1.473 if float(start) < HUMP else 1.347
        assert abs(end - expected) < 1e-3, (start, end)
    text = cell_output(nb, "def bumpy(w):")
    assert "best of 8 restarts: w = -1.473" in text
    assert "w = +1.347" in text, "some restarts end in the shallow valley"


def test_some_xor_seeds_are_stuck_at_merged_point_losses(
    run: tuple[Any, dict[str, Any]],
) -> None:
    _, results = run
    runs = results["xor"].values()
    stuck = [loss for loss, solved in runs if not solved]
    assert 0 < len(stuck) < 5, "most seeds solve XOR, some are stuck"
    merged = (math.log(2) / 2, (math.log(3) + 2 * math.log(1.5)) / 4)
    for loss in stuck:
        assert min(abs(loss - m) for m in merged) < 0.002, loss


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    assert results[f"{name}_right"] == ["pass"] * 3
    assert results[f"{name}_wrong"] == ["fail"]


@pytest.mark.parametrize("name", EXERCISES)
def test_no_answer_in_a_committed_exercise_output(name: str) -> None:
    assert_no_answer_shown("05", EXERCISES[name][0], "Replace")


def test_lecture_goal_and_summary(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert "*Lectures:" in text[0]
    assert "**Goal:**" in text[0]
    assert text[-1].startswith("## Summary")
    predicts = sum(s.count("**Predict:**") for s in text)
    assert predicts >= 9
