"""Build the assignment's notebooks from src/backprop.py (jupytext's percent format).

- ``backprop.ipynb``: nbgrader's source notebook, each cell with its ``nbgrader`` metadata
  (``nbgrader generate_assignment`` strips the solutions and the hidden tests from it);
- ``otter/backprop.ipynb``: Otter-Grader's master notebook, the same cells in Otter's raw-cell
  form (``# ASSIGNMENT CONFIG``, ``# BEGIN QUESTION``, ``# BEGIN SOLUTION``, ``# BEGIN TESTS``;
  hidden tests carry ``hidden: true``), for ``otter assign``.

Usage: ``python examples/assignment/build.py`` (``--check``: exit 1 if a notebook is stale).
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat

from microgradnn._files import atomic_write

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "src" / "backprop.py"
NBGRADER = HERE / "backprop.ipynb"
OTTER = HERE / "otter" / "backprop.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
OTTER_CONFIG = """# ASSIGNMENT CONFIG
name: backprop
check_all_cell: false
export_cell: false
run_tests: true
tests:
  ok_format: false"""


def source_cells() -> list[Any]:
    """The source's cells, without the file's docstring."""
    nb = jupytext.read(SOURCE, fmt="py:percent")
    cells = list(nb.cells)
    first = cells[0]
    if first.cell_type == "code":
        tree = ast.parse(first.source)
        if len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr):
            cells = cells[1:]
    return cells


def _notebook(cells: list[Any]) -> Any:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    return nb


def nbgrader_notebook() -> Any:
    """The source notebook for nbgrader: the cells as written, ids from their grade_id."""
    cells = []
    for cell in source_cells():
        meta = {"nbgrader": dict(cell.metadata["nbgrader"])}
        make = (
            nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell
        )
        new = make(cell.source, metadata=meta)
        new.id = meta["nbgrader"]["grade_id"]
        cells.append(new)
    return _notebook(cells)


def split_hidden(source: str) -> tuple[str, str]:
    """A test cell's public part and its hidden tests."""
    if HIDDEN_BEGIN not in source:
        return source.strip(), ""
    public, _, rest = source.partition(HIDDEN_BEGIN)
    hidden, _, after = rest.partition(HIDDEN_END)
    return (public + after).strip(), hidden.strip()


def otter_notebook() -> Any:
    """Otter's master notebook: questions, solutions and tests as Otter's raw-cell blocks."""
    raw, code, md = (
        nbformat.v4.new_raw_cell,
        nbformat.v4.new_code_cell,
        nbformat.v4.new_markdown_cell,
    )
    cells = [raw(OTTER_CONFIG)]
    question: str | None = None
    for cell in source_cells():
        meta = cell.metadata["nbgrader"]
        gid = meta["grade_id"]
        if cell.cell_type == "markdown":
            if gid.endswith("_text"):
                question = gid.removesuffix("_text")
                points = _points(question)
                cells.append(raw(f"# BEGIN QUESTION\nname: {question}\npoints: {points}"))
            cells.append(md(cell.source))
        elif meta["solution"]:
            body = cell.source.replace("### BEGIN SOLUTION", "# BEGIN SOLUTION")
            body = body.replace("### END SOLUTION", "# END SOLUTION")
            cells += [raw("# BEGIN SOLUTION"), code(body), raw("# END SOLUTION")]
        elif meta["grade"]:
            public, hidden = split_hidden(cell.source)
            cells += [raw("# BEGIN TESTS"), code(public)]
            if hidden:
                config = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG\n'
                cells.append(code(config + hidden))
            cells += [raw("# END TESTS"), raw("# END QUESTION")]
            question = None
        else:
            cells.append(code(cell.source))
    for k, c in enumerate(cells):
        c.id = f"cell-{k:02d}"
    return _notebook(cells)


def _points(question: str) -> int:
    for cell in source_cells():
        meta = cell.metadata["nbgrader"]
        if meta["grade"] and meta["grade_id"] == f"{question}_tests":
            return int(meta["points"])
    raise ValueError(f"question {question!r} has no graded test cell")


def main(argv: list[str] | None = None) -> int:
    """Write both notebooks, or with ``--check`` say which one is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, nb in ((NBGRADER, nbgrader_notebook()), (OTTER, otter_notebook())):
        text = nbformat.writes(nb) + "\n"
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text)
    if stale:
        print(f"stale: {', '.join(stale)}; run python examples/assignment/build.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
