"""Notebook 09 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel reads the recorded frames of section 1, calls the notebook's
batching, learning-rate and saturation experiments for seeds 0, 1 and 2 (seed 0 is the run the
notebook printed) and runs each exercise's check cell several times with the solution filled in
(and once with a wrong answer), so a check that changes its verdict on a rerun, or a lesson that
holds for one seed only, fails here.
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
    VERDICTS_PRINTED,
    assert_no_answer_shown,
    cell_output,
    code_cell,
    committed_cell_source,
    notebook_path,
    run_notebook,
)

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

MAX_BYTES = 600_000
"""Notebook 09's share of the notebooks' size budget (it holds one recorded view)."""

HELPERS = (
    VERDICTS_PRINTED
    + """


def _first_step():
    f0 = view.frames[0]
    k = view.names.index("L0.N0.w0")
    return {
        "steps": len(view.frames),
        "batch": len(f0.batch),
        "batch_loss": f0.batch_loss,
        "initial_loss": view.initial_loss,
        "train_loss": f0.train_loss,
        "grad": float(f0.grad[k]),
        "moved": float(f0.after[k] - f0.before[k]),
        "update_gap": float(max(
            abs(fr.after - (fr.before - fr.lr * fr.grad)).max() for fr in view.frames)),
        "sum_gap": float(max(
            abs(fr.contributions.sum(axis=0) - fr.grad).max() for fr in view.frames)),
        "positive": int((f0.contributions[:, k] > 0).sum()),
        "negative": int((f0.contributions[:, k] < 0).sum()),
        "curve": [float(v) for v in losses(view)],
    }


def _batching(seed):
    runs = batching if seed == 0 else batching_experiment(seed)
    return {name: {key: value for key, value in r.items() if key != "batches"}
            | {"sizes": [len(b) for b in r["batches"]]} for name, r in runs.items()}


def _lr(seed):
    runs = lr_runs if seed == 0 else lr_experiment(seed)
    return {str(lr): r for lr, r in runs.items()}


def _saturation(seed):
    if seed == 0:
        return {"saturated": saturated, "fixed": fixed}
    return {"saturated": saturation_experiment(seed, 5.0),
            "fixed": saturation_experiment(seed, 0.0)}
"""
)

# Exercise check cells (found by a line they contain): the solution's answer, a wrong one, and
# how many times the right answer is checked (exercise 2 trains a network each time).
EXERCISES = {
    "ex1": (
        "my_steps_per_epoch = None\nmy_last_batch = None",
        "my_steps_per_epoch = 4\nmy_last_batch = 4",
        "my_steps_per_epoch = 4\nmy_last_batch = 32",
        3,
    ),
    "ex2": ("my_lr = None", "my_lr = 1.0", "my_lr = 1.5", 2),
}

GD, SGD, MINI = "GD (all 100)", "SGD (1)", "mini-batch (16)"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    lessons = {
        "helpers": f"exec({HELPERS!r}, globals()) or 'ok'",
        "first_step": "_first_step()",
        "batching": f"[_batching(s) for s in {SEEDS}]",
        "lr": f"[_lr(s) for s in {SEEDS}]",
        "saturation": f"[_saturation(s) for s in {SEEDS}]",
    }
    for name, (marker, right, wrong, times) in EXERCISES.items():
        src = committed_cell_source("09", marker)
        lessons[f"{name}_right"] = f"_verdicts_printed({src.replace(marker, right, 1)!r}, {times})"
        lessons[f"{name}_wrong"] = f"_verdicts_printed({src.replace(marker, wrong, 1)!r}, times=1)"
    return run_notebook("09", Path(tmp_path_factory.mktemp("nb09")), lessons)


def test_one_step_read_from_its_frame(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    r = results["first_step"]
    assert r["steps"] == 15, "the view shows 15 steps"
    assert r["batch"] == 100, "gradient descent: all 100 examples"
    assert r["batch_loss"] == r["initial_loss"], "the same number twice on line 2"
    assert r["train_loss"] < r["initial_loss"], "the update lowered it"
    assert r["grad"] < 0 < r["moved"], "a negative gradient moves the weight up"
    assert r["update_gap"] == 0.0, "new = old - lr × grad exactly, at every step"
    assert r["sum_gap"] < 1e-12, "the contributions add up to the batch gradient"
    assert r["positive"] > 10, "the examples disagree"
    assert r["negative"] > 10, "the examples disagree"
    assert all(b < a for a, b in itertools.pairwise(r["curve"])), "the view's curve falls"
    text = cell_output(nb, 'i = view.names.index("L0.N0.w0")')
    assert "over all 105 parameters: 0.0e+00" in text
    assert f"the training loss is now {r['train_loss']:.4f}" in cell_output(nb, "view.train(1)")


def test_gd_sgd_and_mini_batches_per_step(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for per_seed in results["batching"]:
        gd, sgd, mini = per_seed[GD], per_seed[SGD], per_seed[MINI]
        steps = len(gd["curve"]) - 1
        assert steps == 40
        assert gd["rises"] == 0, "GD's curve falls at every step"
        assert sgd["rises"] > steps / 2, "SGD: the loss went up at more than half its steps"
        assert 0 < mini["rises"] < sgd["rises"], "mini-batches in between"
        assert gd["end"] < min(sgd["end"], mini["end"]), "GD ends lowest"
        # per example used: SGD and mini-batches get there with far less work
        assert mini["examples used"] == 580
        assert mini["end"] < gd["curve"][5], "580 examples: below GD's after 500"
        assert min(sgd["curve"]) < gd["curve"][5], "SGD touches what GD needs 500 examples for"
        assert [gd["epochs"], sgd["epochs"], mini["epochs"]] == [40, 1, 6]
        assert [gd["examples used"], sgd["examples used"]] == [4000, 40]
        assert mini["sizes"][:7] == [16] * 6 + [4], "an epoch is 7 steps, the last of 4"


def test_an_epoch_visits_every_example_once(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, 'mini = batching["mini-batch (16)"]["batches"]')
    assert "batch sizes [16, 16, 16, 16, 16, 16, 4], 100 rows, each of 0-99 once: True" in text


def test_a_learning_rate_too_large(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for per_seed in results["lr"]:
        small, four, forty = per_seed["0.5"], per_seed["2.0"], per_seed["20.0"]
        assert small["rises"] == 0, "lr 0.5: the loss falls at every step"
        assert small["largest move"] < 0.1
        assert four["after 1"] < small["after 1"], "lr 2: faster at first"
        assert four["rises"] > 0, "lr 2: then the loss goes up at some steps"
        assert abs(four["end"] - small["end"]) < 0.05, "lr 2 only wobbles"
        assert forty["after 1"] > forty["start"], "lr 20: the first step goes uphill"
        assert forty["end"] > forty["start"], "lr 20: ends above its start"
        assert forty["max"] > 10 * forty["start"]
        assert forty["rises"] >= 5, "lr 20: up and down"
        assert forty["largest move"] > 10
    seed0 = results["lr"][0]
    assert seed0["20.0"]["max"] > 60 * seed0["20.0"]["start"], "more than 60 times the start"
    assert 50 < seed0["20.0"]["largest move"] < 200, "about 100"
    assert seed0["0.5"]["largest move"] < 0.05, "never more than 0.05 at lr 0.5"


def test_saturated_units_starve_the_first_layer(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    for per_seed in results["saturation"]:
        sat, fixed = per_seed["saturated"], per_seed["fixed"]
        assert sat["saturated"] > 0.5, "most hidden outputs start saturated"
        assert fixed["saturated"] < 0.01, "hardly any with biases 0"
        grads0 = sat["grads"][0]
        assert grads0[0] < grads0[-1] / 100, "less than a hundredth at step 0"
        assert sat["first/output at step 0"] < 0.01
        assert sat["first/output, mean"] < 0.1
        assert abs(sat["end"] - math.log(2)) < 0.1, "the loss ends near ln 2"
        assert fixed["first/output at step 0"] > 0.3, "the fix: about as much gradient"
        assert fixed["first/output, mean"] > 0.5
        assert fixed["end"] < 0.35, "and the loss falls"
        assert fixed["end"] < sat["end"] - 0.3
    seed0 = results["saturation"][0]["saturated"]
    grads0 = seed0["grads"][0]
    assert all(a < b for a, b in itertools.pairwise(grads0)), "shrinks layer by layer going back"
    assert 0.02 < seed0["first/output, mean"] < 0.1, "a few hundredths on average"
    assert abs(seed0["end"] - math.log(2)) < 0.02
    text = cell_output(nb, "saturated = saturation_experiment(seed=0, bias_range=5.0)")
    assert f"training loss {seed0['start']:.3f} -> {seed0['end']:.3f}" in text


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    times = EXERCISES[name][3]
    assert results[f"{name}_right"]["verdicts"] == ["pass"] * times
    assert results[f"{name}_wrong"]["verdicts"] == ["fail"]


def test_the_solution_of_exercise_2(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    printed = results["ex2_right"]["printed"]
    end = float(re.search(r"-> (\d\.\d+)", printed).group(1))  # type: ignore[union-attr]
    assert "up at 0 of 20 steps" in printed
    assert end < results["lr"][0]["0.5"]["end"], "ends below 0.5's"
    assert "up at 0 of" not in results["ex2_wrong"]["printed"], "1.5 goes up"


@pytest.mark.parametrize("name", EXERCISES)
def test_no_answer_in_a_committed_exercise_output(name: str) -> None:
    assert_no_answer_shown("09", EXERCISES[name][0], "Fill in")


def test_the_view_reads_without_a_kernel_and_stays_small() -> None:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    path = notebook_path("09")
    committed = nbformat.read(path, as_version=4)
    shown = code_cell(committed, "view.train(14)")
    mimes = {m for o in shown.outputs for m in o.get("data", {})}
    assert "image/png" in mimes, "the picture GitHub and an untrusted notebook show"
    assert path.stat().st_size < MAX_BYTES
