"""Notebook 06 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. The notebook
itself runs its experiments for seeds 0, 1 and 2 (it prints them in tables); after its last
cell the same kernel hands those results back, calls the one experiment it shows for seed 0
only (training with and without gradient clipping) for seeds 1 and 2, and runs each exercise's
check cell three times with the solution filled in (and once with a wrong answer).
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

SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)


SIGMOID_PRIME = "sig = 1 / (1 + np.exp(-s))\n    return sig * (1 - sig)"
CLIP = (
    "norm = math.sqrt(sum(g * g for g in grads))\n"
    "    if norm <= max_norm:\n"
    "        return list(grads)\n"
    "    return [g * max_norm / norm for g in grads]"
)
# (a line of the check cell, answers that replace it, a wrong answer)
EXERCISES = {
    "ex1": (
        "my_product = None",
        ("my_product = 9.5e-7", "my_product = 0.25**10"),
        "my_product = 0.25",
    ),
    "ex2": ("return None  # your formula here", (SIGMOID_PRIME,), "return 1 - np.tanh(s) ** 2"),
    "ex3": ("return None  # your code here", (CLIP,), "return list(grads)"),
}

# Sweep rows without the per-layer profiles and the signals (not JSON, and not needed).
SWEEPS = (
    "{s: [{k: r[k] for k in ('scale', 'saturated', 'mean_tanh_prime', 'ratio')}"
    " for r in sweeps[s]] for s in sweeps}"
)


def _filled(nb: Any, name: str, answer: str) -> str:
    marker = EXERCISES[name][0]
    source = code_cell(nb, marker).source
    assert marker in source
    return str(source.replace(marker, answer, 1))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path("06"), as_version=4)
    lessons = {
        "helper": f"exec({VERDICTS!r}, globals()) or 'ok'",
        "vanishing": "vanishing",
        "sweeps": SWEEPS,
        "cures": "cures",
        "clipping": "clipping",
        "training": f"{{s: clipped_training(s) for s in {SEEDS}}}",
        "dead": "dead_runs",
        "gentle": (
            "{'dead': count_dead_relus(gentle, X),"
            " 'loss': evaluate(gentle, X, y, loss='bce_logits')['loss']}"
        ),
        "tanh_prime": "float(np.mean(1 - np.tanh(profiles['tanh']['s']) ** 2))",
    }
    for name, (_, rights, wrong) in EXERCISES.items():
        for i, right in enumerate(rights):
            lessons[f"{name}_right{i}"] = f"_verdicts({_filled(committed, name, right)!r})"
        lessons[f"{name}_wrong"] = f"_verdicts({_filled(committed, name, wrong)!r}, times=1)"
    return run_notebook("06", Path(tmp_path_factory.mktemp("nb06")), lessons)


def _by_seed(results: dict[str, Any], name: str) -> dict[int, Any]:
    """JSON turned the seed keys into strings."""
    return {int(seed): value for seed, value in results[name].items()}


def test_saturated_tanh_passes_no_gradient(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    lines = cell_output(nb, "for x in (18.0, -10.0, -3.0):").splitlines()
    assert lines[0].endswith("d out / d w = 0"), "tanh(42) = 1: the gradient is exactly 0"
    assert abs(float(lines[1].rsplit("=", 1)[1])) < 1e-9
    assert float(lines[2].rsplit("=", 1)[1]) == -3.0, "unsaturated: d out / d w = x"


def test_delta_recursion_matches_backward(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "deltas, by_hand = delta_recursion(")
    assert text.strip().endswith("agree on every weight and bias")


def test_sigmoid_vanishes_tanh_and_relu_do_not(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    vanishing = _by_seed(results, "vanishing")
    assert sorted(vanishing) == list(SEEDS)
    for seed, acts in vanishing.items():
        # "about a ten-millionth"
        assert 1e-8 < acts["sigmoid"]["ratio"] < 1e-6, seed
        assert acts["sigmoid"]["spread"] > 1e6, seed
        for act in ("tanh", "relu"):
            # "within a factor of a few, at most a few tens, of each other"
            assert acts[act]["spread"] < 50, (seed, act)
            assert acts[act]["ratio"] > 1e-2, (seed, act)
            assert acts[act]["ratio"] > 1e4 * acts["sigmoid"]["ratio"], (seed, act)


def test_init_scale_sweep_vanishes_small_explodes_large(
    run: tuple[Any, dict[str, Any]],
) -> None:
    _, results = run
    for seed, rows in _by_seed(results, "sweeps").items():
        assert [r["scale"] for r in rows] == list(SCALES)
        ratios = [r["ratio"] for r in rows]
        assert ratios == sorted(ratios), f"seed {seed}: the ratio grows with the scale"
        by_scale = {r["scale"]: r for r in rows}
        for small in (0.25, 0.5):  # vanishing although nothing saturates
            assert by_scale[small]["saturated"] == 0.0, seed
            assert by_scale[small]["mean_tanh_prime"] > 0.95, seed
            assert by_scale[small]["ratio"] < 1e-2, seed
        assert 5e-8 < by_scale[0.25]["ratio"] < 1e-6, seed  # "about 1e-7"
        assert 0.25 <= by_scale[1.0]["ratio"] <= 4, seed  # "within a factor of about 4 of 1"
        assert by_scale[2.0]["ratio"] > 1, seed  # exploding
        big = by_scale[4.0]
        assert big["saturated"] > 0.5, seed  # "more than half of the units are saturated"
        assert 0.15 < big["mean_tanh_prime"] < 0.35, seed  # "about a quarter"
        assert 100 <= big["ratio"] < 1000, seed  # "a hundred to a few hundred times"


def test_cures_lift_the_sigmoid_ratio(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    for seed, c in _by_seed(results, "cures").items():
        plain = c["plain"]
        wide, skip, norm = c["4× wider init"], c["skip connections"], c["normalisation"]
        assert 1e-8 < plain < 1e-6, seed
        # "from about 1e-7 to a few thousandths: four to five orders of magnitude"
        assert 1e-3 < wide < 1e-2, seed
        assert 1e4 <= wide / plain < 1e6, seed
        assert 1 < skip < 10, seed  # "a few (3 to 6)"
        assert 10 < norm < 100, seed  # "some tens"
        distance = {
            name: abs(math.log10(c[name]))
            for name in ("4× wider init", "skip connections", "normalisation")
        }
        assert min(distance, key=distance.get) == "skip connections", seed
        # "mean slope about 0.55 of the maximum, against 0.95 for tanh"
        assert 0.45 < c["slope 4×"] < 0.65, seed
    assert results["tanh_prime"] > 0.9


def test_one_clipped_step_lowers_the_loss_unclipped_raises_it(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    clipping = _by_seed(results, "clipping")
    for seed, c in clipping.items():
        assert c["ratio"] > 1, f"seed {seed}: the ReLU net at 1.5 × He's weights explodes"
        assert c["unclipped"] > c["before"] > c["clipped"], seed
        # "the delta grows by a factor of about 1.1 to 1.4 per layer (less than the weights'
        # 1.5)", "3 to 30 times larger at the first hidden layer"
        assert 1.05 < c["ratio"] ** (1 / 11) < 1.45, seed
        assert 2.5 < c["ratio"] < 35, seed
    factors = [c["ratio"] ** (1 / 11) for c in clipping.values()]
    assert len(set(round(f, 2) for f in factors)) == len(factors), "different for every seed"
    rows = cell_output(nb, "clipping = {seed: clipping_experiment(seed)").splitlines()[2:]
    shown = [float(row.split()[2]) for row in rows]
    assert shown == [round(f, 2) for f in factors], "the table's per-layer column"
    assert all(1.1 <= f <= 1.4 for f in shown), "about 1.1 to 1.4"
    ratio = clipping[0]["unclipped"] / clipping[0]["before"]
    assert 1e7 < ratio < 4e7, "seed 0: 'about twenty million times'"


def test_fit_with_clipping_trains_without_it_overflows(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    training = _by_seed(results, "training")
    for seed, t in training.items():
        unclipped, clipped = t["unclipped"], t["clipped"]
        assert any(math.isnan(v) or v > 1e18 for v in unclipped), seed
        assert all(math.isfinite(v) for v in clipped), seed
        assert max(clipped) <= clipped[0], f"seed {seed}: never above where it started"
        assert clipped[-1] < clipped[0], seed
    seed0 = training[0]
    assert max(v for v in seed0["unclipped"] if math.isfinite(v)) > 1e70
    assert math.isnan(seed0["unclipped"][-1])
    assert seed0["clipped"][-1] < 1, "seed 0: 'ends below 1'"
    shown = cell_output(nb, "training = clipped_training(seed=0)").splitlines()
    assert shown[0].split(":")[1].split()[-1] == "nan"


def test_dead_relu_network_ends_worse_than_the_leaky_one(
    run: tuple[Any, dict[str, Any]],
) -> None:
    _, results = run
    dead = _by_seed(results, "dead")
    gentle = results["gentle"]
    assert gentle["dead"] == 0, "at lr 0.05 no unit dies (seed 0)"
    for seed, d in dead.items():
        assert d["relu_loss"] > d["leaky_loss"], f"seed {seed}: ReLU must end worse than leaky"
        assert sum(d["per_layer"]) == d["dead"]
        assert d["dead"] >= 10, seed
    assert dead[0]["dead"] > 16, "seed 0: most of the 32 units die"
    assert dead[0]["relu_loss"] > 2 * gentle["loss"], "seed 0: a much higher loss"
    assert dead[0]["leaky_loss"] < 0.01, "leaky ReLU fits almost perfectly"
    assert dead[1]["dead"] < dead[0]["dead"], "the other seeds kill fewer units"
    assert dead[2]["dead"] < dead[0]["dead"], "the other seeds kill fewer units"
    assert dead[2]["dead"] == 15, "the prose names seed 2's 15 dead units"
    assert abs(dead[2]["relu_loss"] - gentle["loss"]) < 0.05, "seed 2: about as well as gentle"


def test_prelu_learns_slopes_on_both_sides(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, 'activation="prelu", seed=0)')
    low, high = map(float, re.search(r"from (\S+) to (\S+):", text).groups())
    assert low < 0 < 1 < high, "some slopes above 1 and some below 0"


def test_notebook_structure(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    markdown = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert "Lectures:" in markdown[0]
    assert "**Goal:**" in markdown[0]
    assert markdown[-1].startswith("## Summary")
    assert sum(m.count("**Predict:**") for m in markdown) >= 6
    assert sum(m.count("<summary>Solution</summary>") for m in markdown) == len(EXERCISES)


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    for i in range(len(EXERCISES[name][1])):
        assert results[f"{name}_right{i}"] == ["pass"] * 3, i
    assert results[f"{name}_wrong"] == ["fail"]


@pytest.mark.parametrize("name", EXERCISES)
def test_no_answer_in_a_committed_exercise_output(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    assert_no_answer_shown("06", EXERCISES[name][0], "Fill in")
