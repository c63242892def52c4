"""The example assignment (examples/assignment): nbgrader's and Otter's forms of one notebook.

Oracles: the hidden tests (central differences computed when they run) must pass on the
reference solution and fail on planted wrong solutions whose slip is known (the chain rule's
upstream factor left out in question 1, ``1 - o`` for ``1 - o²`` in question 2), and the student
version (solutions stripped as nbgrader strips them) must not pass; the tests' text must hold
none of the answers. nbgrader and Otter themselves are not needed: the cells run with ``exec``.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest

from tests.scripts import load_script

HERE = Path(__file__).resolve().parents[1] / "examples" / "assignment"
NBGRADER = HERE / "backprop.ipynb"
OTTER = HERE / "otter" / "backprop.ipynb"
SOLUTION = re.compile(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION\n?", re.M | re.S)
HIDDEN = re.compile(r"^### BEGIN HIDDEN TESTS\n.*?^### END HIDDEN TESTS\n?", re.M | re.S)

# The answers of question 1, worked out here from the lecture's rule tanh' = 1 - tanh².
_O = math.tanh(0.5 * -1.5 + 0.25)
KEY = {"n": 1 - _O**2, "b": 1 - _O**2, "w*x": 1 - _O**2, "x": 0.5 * (1 - _O**2)}
KEY["w"] = -1.5 * (1 - _O**2)

WRONG_Q1 = 'answers = {"n": %r, "b": %r, "w*x": %r, "x": 0.5, "w": -1.5}\n' % (  # noqa: UP031
    KEY["n"],
    KEY["b"],
    KEY["w*x"],
)
WRONG_Q2 = """def neuron_backward(w1, x1, w2, x2, b):
    out = math.tanh(w1 * x1 + w2 * x2 + b)
    dn = 1 - out
    return {"w1": x1 * dn, "x1": w1 * dn, "w2": x2 * dn, "x2": w2 * dn, "b": dn}
"""


def _nb(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def _build_module() -> Any:
    return load_script(HERE / "build.py", "assignment_build")


def _grade_id(cell: Any) -> str:
    return str(cell.metadata["nbgrader"]["grade_id"])


def _run(cells: list[tuple[str, str]]) -> dict[str, BaseException | None]:
    """Run code cells in order in one namespace; per cell name, the exception it raised."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    outcome: dict[str, BaseException | None] = {}
    for name, source in cells:
        try:
            exec(compile(source, name, "exec"), namespace)
        except Exception as err:  # a failing test cell is an outcome, not an error here
            outcome[name] = err
        else:
            outcome[name] = None
    return outcome


def _nbgrader_cells(replace: dict[str, str] | None = None, hidden: bool = True) -> list[Any]:
    cells = []
    for cell in _nb(NBGRADER).cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        gid = _grade_id(cell)
        if replace and gid in replace:
            source = replace[gid]
        if not hidden:
            source = HIDDEN.sub("", source)
        cells.append((gid, source))
    return cells


def _student_version(source: str) -> str:
    """A solution cell as nbgrader releases it: the solution replaced by a stub."""
    return SOLUTION.sub(
        lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()\n",
        source,
    )


# -- structure ------------------------------------------------------------------------------------


def test_the_committed_notebooks_are_built_from_the_source() -> None:
    assert _build_module().main(["--check"]) == 0


def test_nbgrader_metadata_marks_every_cell() -> None:
    nb = _nb(NBGRADER)
    ids = [_grade_id(c) for c in nb.cells]
    assert len(ids) == len(set(ids))
    points = 0
    for cell in nb.cells:
        meta = cell.metadata["nbgrader"]
        assert meta["schema_version"] == 3
        assert set(meta) >= {"grade", "grade_id", "locked", "solution", "task"}
        if cell.cell_type == "code":
            assert not cell.outputs
            assert cell.execution_count is None
        if meta["solution"]:
            assert not meta["locked"]
            assert not meta["grade"]
            assert SOLUTION.search(cell.source), meta["grade_id"]
        elif meta["grade"]:
            assert meta["locked"]
            assert meta["points"] > 0
            assert HIDDEN.search(cell.source), meta["grade_id"]
            points += meta["points"]
        else:
            assert meta["locked"]
    assert points == 5
    assert [i for i in ids if i.endswith("_tests")] == ["q1_tests", "q2_tests"]


def test_otters_form_has_one_block_per_question_with_the_same_points() -> None:
    cells = _nb(OTTER).cells
    assert cells[0].cell_type == "raw"
    assert cells[0].source.startswith("# ASSIGNMENT CONFIG")
    assert "ok_format: false" in cells[0].source
    raws = [c.source.splitlines()[0] for c in cells if c.cell_type == "raw"][1:]
    block = ["# BEGIN QUESTION", "# BEGIN SOLUTION", "# END SOLUTION", "# BEGIN TESTS"]
    block += ["# END TESTS", "# END QUESTION"]
    assert raws == block * 2
    questions = [c.source for c in cells if c.source.startswith("# BEGIN QUESTION")]
    assert questions == [
        "# BEGIN QUESTION\nname: q1\npoints: 2",
        "# BEGIN QUESTION\nname: q2\npoints: 3",
    ]
    tests = _otter_tests(cells)
    assert len(tests) == 4
    hidden = [t for t in tests if "hidden: true" in t]
    assert len(hidden) == 2
    for test in tests:  # Otter's exception-based tests: one function and its call
        body = ast.parse(test).body
        body = [
            n for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))
        ]
        assert [type(n) for n in body] == [ast.FunctionDef, ast.Expr]
    solutions = [
        c.source for c in cells if c.cell_type == "code" and "# BEGIN SOLUTION" in c.source
    ]
    assert len(solutions) == 2
    assert not any("###" in s for s in solutions)


def _otter_tests(cells: list[Any]) -> list[str]:
    tests, inside = [], False
    for c in cells:
        if c.cell_type == "raw":
            inside = c.source.startswith("# BEGIN TESTS") or (
                inside and not c.source.startswith("# END TESTS")
            )
        elif inside:
            tests.append(c.source)
    return tests


def test_the_tests_hold_no_answer() -> None:
    texts = [c.source for c in _nb(NBGRADER).cells if c.metadata["nbgrader"]["grade"]]
    texts += _otter_tests(_nb(OTTER).cells)
    for text in texts:
        for value in KEY.values():
            for digits in (2, 3, 4):
                assert f"{value:.{digits}f}" not in text
                assert f"{abs(value):.{digits}f}".lstrip("0") not in text


# -- running the cells ----------------------------------------------------------------------------


def test_the_reference_solution_passes_every_test() -> None:
    outcome = _run(_nbgrader_cells())
    assert outcome == dict.fromkeys(outcome)  # no cell raised


def test_the_reference_answers_are_the_lectures() -> None:
    namespace: dict[str, Any] = {}
    for name, source in _nbgrader_cells():
        if name in ("setup", "q1_answers"):
            exec(compile(source, name, "exec"), namespace)
    assert namespace["answers"] == pytest.approx(KEY)


def test_planted_wrong_solutions_fail_the_hidden_tests_only() -> None:
    wrong = {"q1_answers": WRONG_Q1, "q2_code": WRONG_Q2}
    outcome = _run(_nbgrader_cells(wrong))
    assert isinstance(outcome["q1_tests"], AssertionError)
    assert "w is wrong" in str(outcome["q1_tests"])  # w, the first one the test tries
    assert isinstance(outcome["q2_tests"], AssertionError)
    assert str(outcome["q2_tests"]).startswith("d/dw1 at")
    public = _run(_nbgrader_cells(wrong, hidden=False))
    assert public["q1_tests"] is None
    assert public["q2_tests"] is None


def test_the_student_version_does_not_pass() -> None:
    cells = _nbgrader_cells()
    stubbed = [(n, _student_version(s)) for n, s in cells]
    assert sum("raise NotImplementedError()" in s for _, s in stubbed) == 2
    outcome = _run(stubbed)
    assert isinstance(outcome["q1_answers"], NotImplementedError)
    assert outcome["q1_tests"] is not None
    assert outcome["q2_tests"] is not None


@pytest.mark.parametrize("planted", [False, True])
def test_otters_cells_grade_the_same_way(planted: bool) -> None:
    cells = []
    for k, c in enumerate(_nb(OTTER).cells):
        if c.cell_type != "code":
            continue
        source = c.source
        if planted and source.startswith("answers = {}"):
            source = WRONG_Q1
        if planted and source.startswith("def neuron_backward"):
            source = WRONG_Q2
        cells.append((f"cell{k}", source))
    outcome = _run(cells)
    failed = [name for name, err in outcome.items() if err is not None]
    hidden = [f"cell{k}" for k, c in enumerate(_nb(OTTER).cells) if "hidden: true" in c.source]
    assert failed == (hidden if planted else [])
