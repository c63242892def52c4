"""Notebook 10 teaches what its text says, and each exercise's check passes its own solution.

One execution of the committed notebook (a temporary copy) serves every test here. The
committed notebook runs with every exercise still a stub, so each check cell printed
``not yet: ...``. After its last cell, the same kernel replays each step: the solutions of the
earlier steps (read from the notebook's folded ``<details>`` blocks), then the step's stub and
its check (still ``not yet``), then the step's solution and its check three times (``Correct!``
every time), and a planted wrong solution (the classic bug of that step, which the check must
name). Then, with every solution in place, it calls the notebook's experiments for seeds 0, 1
and 2: the hand-written training loop on the learner's class, microgradnn's Value and the
lecture's class, and the two-passes table of each convention.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from tests.notebook_harness import SEEDS, cell_output, code_cell, notebook_path, run_notebook

pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

MAX_BYTES = 320_000
"""Notebook 10's share of the notebooks' size budget."""

# Per step: the class its exercise cell defines, and a line of its check cell.
STEPS = {
    1: ("Value1", "report(step1_problem(Value1)"),
    2: ("Value2", "report(class_problem(Value2"),
    3: ("Value3", "report(class_problem(Value3"),
    4: ("Value4", "report(class_problem(Value4"),
    5: ("Value5", "report(step5_problem(Value5)"),
    6: ("MyValue", "report(step6_problem(MyValue)"),
}

# Per step: a planted bug (an edit of one step's solution: step, old text, new text) and words
# the check's sentence must contain.
WRONG = {
    1: (
        1,
        "self.grad += other.data * out.grad",
        "self.grad += self.data * out.grad",
        "first wrong edge: * -> a",
    ),
    2: (
        2,
        "in reversed(self.topological_order())",
        "in self.topological_order()",
        "backward() needs a topological order",
    ),
    3: (1, ".grad += ", ".grad = ", "instead of adding to it (`+=`)"),
    4: (4, "(1 - t**2)", "(1 - self.data**2)", "tanh's _backward uses 1 - x²"),
    5: (
        5,
        "            if node._prev:",
        "            if False:",
        "reset every interior node's grad",
    ),
    6: (6, "k * self.data ** (k - 1)", "k * self.data**k", "the wrong local derivative: ** -> a"),
}
STALE = (
    5,
    "            if node._prev:",
    "            if not node._prev:",
    "interior gradients not reset between two passes",
)

HELPERS = """
import contextlib as _contextlib
import io as _io


def _run(src):
    buffer = _io.StringIO()
    with _contextlib.redirect_stdout(buffer):
        exec(src, globals())
    return buffer.getvalue()


def _scenario(sources, check, times=1):
    for src in sources:
        _run(src)
    return [_run(check) for _ in range(times)]
"""


def _solutions(nb: Any) -> dict[int, str]:
    """Each step's solution: the Python block of a folded Solution that defines its class."""
    found: dict[int, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "<summary>Solution</summary>" not in cell.source:
            continue
        for block in re.findall(r"```python\n(.*?)```", cell.source, flags=re.S):
            for step, (name, _) in STEPS.items():
                if block.startswith(f"class {name}"):
                    found[step] = block
    assert sorted(found) == list(STEPS), f"solutions found for steps {sorted(found)}"
    return found


def _planted(solutions: dict[int, str], bug: tuple[Any, ...]) -> list[str]:
    step, old, new = bug[:3]
    assert old in solutions[step], f"step {step}'s solution has no {old!r}"
    return [
        solutions[s].replace(old, new) if s == step else solutions[s] for s in sorted(solutions)
    ]


@pytest.fixture(scope="module")
def committed() -> Any:
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    return nbformat.read(notebook_path("10"), as_version=4)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, committed: Any) -> tuple[Any, dict[str, Any]]:
    solutions = _solutions(committed)
    lessons = {"helpers": f"exec({HELPERS!r}, globals()) or 'ok'"}
    for step, (name, marker) in STEPS.items():
        stub = code_cell(committed, f"class {name}(" if step > 1 else "class Value1:").source
        check = code_cell(committed, marker).source
        earlier = [solutions[s] for s in range(1, step)]
        lessons[f"stub{step}"] = f"_scenario({[*earlier, stub]!r}, {check!r})"
        lessons[f"solved{step}"] = f"_scenario({[*earlier, solutions[step]]!r}, {check!r}, 3)"
        wrong = _planted(solutions, WRONG[step])[:step]
        lessons[f"wrong{step}"] = f"_scenario({wrong!r}, {check!r})"
    stale = _planted(solutions, STALE)[:5]
    check5 = code_cell(committed, STEPS[5][1]).source
    lessons["stale5"] = f"_scenario({stale!r}, {check5!r})"
    everything = [solutions[s] for s in sorted(solutions)]
    training = code_cell(committed, "engine = MyValue if").source
    lessons["training"] = f"_scenario({everything!r}, {training!r})"
    lessons["losses"] = (
        f"[[train_neuron(cls, s) for s in {SEEDS}] for cls in (MyValue, microgradnn.Value, "
        "zoo.Value)]"
    )
    lessons["passes"] = (
        "{cls.__name__: two_passes(cls) for cls in (Value5, zoo.Value, zoo.StaleInterior)}"
    )
    lessons["compare"] = (
        "{'first': comparison.first_difference, 'frames': len(comparison.yours),"
        " 'message': comparison.message}"
    )
    lessons["mutants"] = (
        "{name: check_value_class(cls).bug for name, cls in zoo.MUTANTS.items()}"
        " | {'Value': check_value_class(zoo.Value).bug}"
    )
    return run_notebook("10", Path(tmp_path_factory.mktemp("nb10")), lessons)


def test_every_committed_check_says_not_yet(committed: Any) -> None:
    for step, (_, marker) in STEPS.items():
        text = cell_output(committed, marker)
        assert text.startswith("not yet:"), f"step {step}: {text!r}"
        assert "Correct" not in text
        cell = code_cell(committed, marker)
        assert all(o.output_type == "stream" for o in cell.outputs), "no picture, no value"
    # the stub of step 1 stops at __mul__; the later checks wait for step 1
    assert "a * b raised NotImplementedError" in cell_output(committed, STEPS[1][1])
    for step in range(2, 7):
        assert "step 1 first: a * b raised" in cell_output(committed, STEPS[step][1])


@pytest.mark.parametrize("step", STEPS)
def test_the_stub_is_not_yet_and_the_solution_is_correct_every_run(
    run: tuple[Any, dict[str, Any]], step: int
) -> None:
    _, results = run
    stub = results[f"stub{step}"][0]
    assert stub.startswith("not yet:"), stub
    assert "step 1 first" not in stub, "with the earlier solutions in, the stub itself is blamed"
    assert "NotImplementedError" in stub or "found no" in stub, stub
    solved = results[f"solved{step}"]
    assert all(s.startswith("Correct!") for s in solved), solved
    assert len(set(solved)) == 1, "the same verdict and text every run"


@pytest.mark.parametrize("step", STEPS)
def test_the_check_names_the_planted_bug(run: tuple[Any, dict[str, Any]], step: int) -> None:
    _, results = run
    text = results[f"wrong{step}"][0]
    assert text.startswith("not yet:"), text
    assert WRONG[step][3] in text, text


def test_step_1_closures_by_hand(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    assert "a.grad = -3.0, b.grad = 2.0, c.grad = 1.0" in results["solved1"][0]


def test_resetting_only_the_leaves_is_named(run: tuple[Any, dict[str, Any]]) -> None:
    _, results = run
    assert STALE[3] in results["stale5"][0]


def test_the_zoo_mutants_are_named_in_the_cells(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    assert results["mutants"] == {name: name for name in results["mutants"] if name != "Value"} | {
        "Value": ""
    }
    assert cell_output(nb, "no_order = check_value_class").startswith("not_topological\n")
    text = cell_output(nb, "a = zoo.AssignGrad(3.0")
    assert text.startswith("AssignGrad: d(a + a)/da = 1.0\noverwrites_grad\n")
    text = cell_output(nb, "for mutant in (zoo.TanhUsesInput")
    assert "TanhUsesInput: tanh_uses_input" in text
    assert "ExpUsesInput: exp_uses_input" in text
    # the prose: 0.64 = 1 - 0.6² where the central difference gives 0.7116, about 10% off
    assert "yours 0.64, numeric 0.7116 at a = 0.6" in text
    assert abs(0.64 / 0.7116 - 0.9) < 0.01
    assert cell_output(nb, "blame = check_backward(o)").startswith("first wrong edge: tanh -> n")


def test_two_passes_per_convention(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    p = results["passes"]
    for once, _ in p.values():
        assert once == {"x": -9.0, "m": 4.5, "n": 3.0}, "one pass: the same for all"
    assert p["Value5"][1] == {"x": -18.0, "m": 4.5, "n": 3.0}, "PyTorch: leaves 2x, interior 1x"
    assert p["Value"][1] == {"x": -36.0, "m": 13.5, "n": 6.0}, "micrograd: x 4x"
    assert p["StaleInterior"][1] == {"x": -27.0, "m": 13.5, "n": 6.0}, "leaves reset: x 3x"
    assert "two passes x.grad = -36, m.grad = 13.5, n.grad = 6" in cell_output(
        nb, "show_two_passes(zoo.Value)"
    )
    assert cell_output(nb, "show_two_passes(zoo.StaleInterior)").split("\n")[2] == (
        "interior_not_reset"
    )


def test_the_neuron_trains_on_every_class_alike(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    mine, reference, lecture = results["losses"]
    for seed, losses in zip(SEEDS, mine, strict=True):
        assert len(losses) == 31
        assert all(b < a for a, b in itertools.pairwise(losses)), f"seed {seed}: falls every step"
        assert losses[-1] < 0.1 * losses[0], f"seed {seed}"
        for other in (reference[seed], lecture[seed]):
            assert max(abs(p - q) for p, q in zip(losses, other, strict=True)) < 1e-12
    text = results["training"][0]
    assert text.startswith("training with your MyValue\n")
    committed = cell_output(nb, "engine = MyValue if")
    assert committed.startswith("training with zoo.Value, the lecture's class")
    for printed in (text, committed):
        assert "rises: 0 of 30 steps" in printed
        assert "to 1e-12: True" in printed
        # the prose: from 4.65 to 0.05
        assert printed.split("\n")[1].startswith("loss: 4.651 ")
        assert printed.split("\n")[1].split("  ")[6] == "0.054"
    assert round(mine[0][0], 2) == 4.65
    assert round(mine[0][-1], 2) == 0.05


def test_compare_backward_stops_where_the_prose_says(run: tuple[Any, dict[str, Any]]) -> None:
    nb, results = run
    c = results["compare"]
    assert (c["first"], c["frames"]) == (2, 4)
    assert c["message"].startswith("the passes part step 2 of 2")
    assert "x.grad is 1.5 in yours, 4 in microgradnn's" in c["message"]
    assert cell_output(nb, "comparison = compare_backward(L)").startswith(c["message"])
    caption = cell_output(nb, "frame = comparison.yours[")
    assert "x.grad: 1 → 1.5 (changed by 0.5)" in caption, "the prose: from 1 to 1.5"


def test_the_pictures_and_the_size(committed: Any) -> None:
    for marker in ("draw_dot(d, show_grad=False", "blame.picture(", "frame.graph("):
        mimes = {m for o in code_cell(committed, marker).outputs for m in o.get("data", {})}
        assert "image/png" in mimes, marker
    html = code_cell(committed, "comparison  # both passes").outputs
    assert [set(o.data) for o in html] == [{"text/html", "text/plain"}]
    # where no script runs (GitHub, untrusted), each pane shows its last frame as a PNG
    assert html[0].data["text/html"].count('src="data:image/png;base64,') == 2
    assert notebook_path("10").stat().st_size < MAX_BYTES
