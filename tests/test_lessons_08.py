"""Notebook 08 teaches what its text says: the numbers come from its own cells and functions.

One execution of the committed notebook (a temporary copy) serves every test here. After its
last cell, the same kernel trains the softmax classifier and the MLP again with seeds 1 and 2
through the notebook's own ``train_digits`` (seed 0 is the notebook's run, read from its
cells), and runs each exercise's check cell with the solution filled in (three times where
that is cheap) and once with a wrong answer.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.notebook_harness import VERDICTS, cell_output, code_cell, notebook_path, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

EXTRA_SEEDS = (1, 2)


PAIR = (
    "mlp_1, _ = train_digits([32, 10], seed=1)\n"
    "mistakes = np.zeros((10, 10), dtype=int)\n"
    "np.add.at(mistakes, (y_test, predict(mlp_1, X_test).argmax(axis=1)), 1)\n"
    "np.fill_diagonal(mistakes, 0)\n"
    "my_pair = tuple(int(i) for i in np.unravel_index(mistakes.argmax(), mistakes.shape))"
)
# Training is deterministic (same arguments and seed, bit-identical weights), so after the
# notebook's last cell the kernel remembers each training: the seed lessons, the exercise 3
# solution and its check then share one seed-1 run instead of training it again and again.
HELPERS = (
    VERDICTS
    + """
_train_digits_once = {}
_train_digits_afresh = train_digits


def train_digits(sizes, seed=0, epochs=20):
    key = (tuple(sizes), seed, epochs)
    if key not in _train_digits_once:
        _train_digits_once[key] = _train_digits_afresh(sizes, seed=seed, epochs=epochs)
    return _train_digits_once[key]


def _tiny_colours():
    where = tiny_replay.locate(tiny_loss)
    first = tiny.layers[0]
    weights = {id(w) for n in first.neurons for w in n.w}
    products = [v for v in tiny_loss.topological_order() if v._op is not None
                and v._op.name == "mul" and any(id(p) in weights for p in v._prev)]
    sums = [v for v in tiny_loss.topological_order() if v._op is not None
            and v._op.name == "sum" and any(id(p) in weights for q in v._prev
            for p in getattr(q, "_prev", ()))]
    return {"products": len(products), "sums": len(sums),
            "ops": sorted({where[id(v)] for v in products + sums}),
            "in_op_0": sum(1 for k in where.values() if k == 0)}


def _eager_op_nodes():
    target = [Value(float(v)) for v in one_hot(y_train[:1], 10)[0]]
    loss = cross_entropy_loss([mlp(list(X_train[0]))], [target])
    return sum(1 for v in loss.topological_order() if v._op is not None)


def _most_confused(model):
    counts = np.zeros((10, 10), dtype=int)
    np.add.at(counts, (y_test, predict(model, X_test).argmax(axis=1)), 1)
    np.fill_diagonal(counts, 0)
    return [int(counts.max()), [[int(i), int(j)] for i, j in np.argwhere(counts == counts.max())]]
"""
)
# (the line of the check cell to replace, the right answer, a wrong answer, runs when right)
EXERCISES = {
    "ex1": ("my_count = None", "my_count = 2410", "my_count = 2400", 3),
    "ex2": (
        "my_inputs = None\nmy_params = None",
        "my_inputs = 256\nmy_params = 8554",
        "my_inputs = 256\nmy_params = 8544",
        3,
    ),
    "ex3": ("my_pair = None", PAIR, "my_pair = (8, 1)", 3),  # wrong: seed 0's pair
    "ex4": (
        "my_wider_is_better = None",
        "my_wider_is_better = True",
        "my_wider_is_better = False",
        1,
    ),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any]]:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path("08"), as_version=4)
    lessons = {"helper": f"exec({HELPERS!r}, globals()) or 'ok'"}
    for seed in EXTRA_SEEDS:
        lessons[f"seed_{seed}"] = (
            f"{{name: [h.train_acc[-1], h.val_acc[-1]] for name, h in"
            f" (('softmax', train_digits([10], seed={seed})[1]),"
            f" ('mlp', train_digits([32, 10], seed={seed})[1]))}}"
        )
    lessons["confused"] = "[_most_confused(m) for m in (mlp, train_digits([32, 10], seed=1)[0])]"
    lessons["tiny"] = "_tiny_colours()"
    lessons["eager_nodes"] = "_eager_op_nodes()"
    for name, (marker, right, wrong, times) in EXERCISES.items():
        src = code_cell(committed, marker).source
        lessons[f"{name}_right"] = f"_verdicts({src.replace(marker, right, 1)!r}, times={times})"
        if name == "ex4":  # what the check trained, for the solution's words
            lessons["wider"] = "[wider_hist.train_acc[-1], wider_hist.val_acc[-1], mlp_test_acc]"
        lessons[f"{name}_wrong"] = f"_verdicts({src.replace(marker, wrong, 1)!r}, times=1)"
    return run_notebook("08", Path(tmp_path_factory.mktemp("nb08")), lessons)


def _accuracies(text: str) -> tuple[float, float]:
    train, test = re.findall(r"train accuracy (\d\.\d+), test accuracy (\d\.\d+)", text)[0]
    return float(train), float(test)


def test_the_mlp_beats_the_softmax_classifier_on_test_accuracy(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    softmax = _accuracies(cell_output(nb, "softmax_clf, softmax_hist = train_digits([10])"))
    mlp_text = cell_output(nb, "mlp, hist = train_digits([32, 10])")
    mlp = _accuracies(mlp_text)
    assert mlp[1] > softmax[1], "seed 0, as printed"
    gained = int(re.search(r"gets (\d+) more of the 450", mlp_text).group(1))  # type: ignore[union-attr]
    assert gained == round((mlp[1] - softmax[1]) * 450)
    assert gained >= 3
    for seed in EXTRA_SEEDS:
        r = results[f"seed_{seed}"]
        assert r["mlp"][1] > r["softmax"][1], f"seed {seed}"
        assert r["mlp"][0] > r["softmax"][0], f"seed {seed}: the MLP also fits the training set"


def test_the_compiled_epoch_is_much_faster(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "for compiled in (False, True):")
    eager, compiled = (float(t) for t in re.findall(r"one epoch took (\d+\.\d+) s", text))
    assert eager > 3 * compiled, "loose on purpose: timings are noisy"
    shown = int(re.search(r"compiled is (\d+) times faster", text).group(1))  # type: ignore[union-attr]
    assert shown > 3


def test_the_counts_the_notebook_prints(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    assert "train (1347, 64), test (450, 64)" in cell_output(nb, "train_test_split(X, y")
    assert cell_output(nb, "probe = MLP(64, [10], seed=0)\none_loss").startswith("650 parameters")
    text = cell_output(nb, "y_pred = logits.argmax(axis=1)")
    accuracy, wrong = re.search(r"test accuracy (\d\.\d+): (\d+) of 450 wrong", text).groups()  # type: ignore[union-attr]
    assert abs(float(accuracy) - (450 - int(wrong)) / 450) < 1e-3
    mlp = _accuracies(cell_output(nb, "mlp, hist = train_digits([32, 10])"))
    assert float(accuracy) == mlp[1], "the confusion matrix is of the model trained above"


def test_pytorch_gives_the_same_digits(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "seq = mlp.to_torch()")
    if "PyTorch is not installed" in text:
        pytest.skip("torch is not installed")
    assert "same predicted digits: True" in text
    difference = float(re.search(r"largest logit difference: (\S+)", text).group(1))  # type: ignore[union-attr]
    assert 0 < difference < 1e-10, "the prose: the logits differ only by rounding"


def test_the_replay_makes_each_layer_one_matmul_of_pytorchs_shape(
    run: tuple[Any, dict[str, Any]],
) -> None:
    nb, results = run
    text = cell_output(nb, "replay = compile_model(mlp")
    nodes, ops, matmuls = map(
        int,
        re.search(
            r"(\d+) scalar nodes -> (\d+) array ops per replay \((\d+) matmuls\)", text
        ).groups(),  # type: ignore[union-attr]
    )
    assert nodes == results["eager_nodes"] == 2459, (
        "the eager engine's own count, as the prose says"
    )
    assert ops == 11, "the prose: eleven numpy calls forward"
    assert matmuls == 2
    # closed forms: a layer of n_out neurons over n_in inputs is n_out × n_in products, n_out Σ
    assert "layer 1's W·x + b (W 32×64): 2080 nodes (2048 ×, 32 Σ) -> one 64×64 @ 64×32" in text
    assert "layer 2's W·x + b (W 10×32): 330 nodes (320 ×, 10 Σ)" in text
    assert "32 relu nodes -> one relu on 64×32" in text
    if "PyTorch's first Linear" in text:
        assert (
            "the first matmul's W is 32×64; PyTorch's first Linear holds a weight of shape (32, 64)"
            in text
        )
    tiny = results["tiny"]
    # the picture's prose: the six products and three Σ of the first layer share one colour
    assert (tiny["products"], tiny["sums"], tiny["ops"], tiny["in_op_0"]) == (6, 3, [0], 9)
    assert "20 scalar op nodes -> 7 array ops (2 matmuls)" in cell_output(
        nb, "tiny = MLP(2, [3, 1]"
    )


def test_exercise_3_asks_about_a_model_no_output_shows(
    run: tuple[Any, dict[str, Any]],
) -> None:
    _, results = run
    (count_0, pairs_0), (count_1, pairs_1) = results["confused"]
    # the solution: for seed 1 it is (9, 8), three times, not seed 0's 8 -> 1 (the figure's)
    assert pairs_1 == [[9, 8]]
    assert count_1 == 3
    assert pairs_0 == [[8, 1]]
    assert count_0 == 3
    assert results["ex3_right"] == ["pass"] * 3


def test_the_wider_network_answer(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    train, test, mlp_test = results["wider"]
    assert test > mlp_test, "the solution says True for seed 0"
    assert round((test - mlp_test) * 450) == 6, "... by 6 test images"
    assert f"{test:.3f}" == "0.973"
    assert f"{mlp_test:.3f}" == "0.960"
    # "about what another seed changes: the 32-unit MLP itself gets 0.971 with seed 2"
    seed_2 = results["seed_2"]["mlp"][1]
    assert f"{seed_2:.3f}" == "0.971"
    assert round((seed_2 - mlp_test) * 450) >= 4
    assert train > 0.99, "... and both fit the training images almost perfectly"


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_check_gives_the_same_verdict_every_run(
    run: tuple[Any, dict[str, Any]], name: str
) -> None:
    _, results = run
    assert results[f"{name}_right"] == ["pass"] * EXERCISES[name][3]
    assert results[f"{name}_wrong"] == ["fail"]


def test_no_answer_is_printed_before_its_question(run: tuple[Any, dict[str, Any]]) -> None:
    import nbformat

    committed = nbformat.read(notebook_path("08"), as_version=4)
    printed = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in committed.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    for answer in ("2410", "2,410", "8554", "8,554"):
        assert answer not in printed
    for marker, *_ in EXERCISES.values():
        cell = code_cell(committed, marker)
        assert [o.output_type for o in cell.outputs] == ["stream"]
        assert cell_output(committed, marker).startswith("Replace")


def test_the_network_as_a_function_of_one_vector(run: tuple[Any, dict[str, Any]]) -> None:
    nb, _ = run
    text = cell_output(nb, "theta = replay.param_vector()")
    found = re.search(
        r"batch loss (\d\.\d+) \(backward's graph: (\d\.\d+)\); largest "
        r"gradient difference (\S+)\nafter 20 steps on theta: batch loss (\d\.\d+)",
        text,
    )
    assert found, text
    before, eager, difference, after = found.groups()
    assert before == eager, "the prose: the same numbers"
    assert float(difference) < 1e-12
    assert float(after) < float(before), "the prose: the batch's loss falls"
    assert "the model's own weights moved: False" in text
