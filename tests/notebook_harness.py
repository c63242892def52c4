"""Execute a course notebook once and read the numbers its lessons rest on.

A notebook's experiments are functions of a seed defined in its cells (``dead_relus(seed)``,
say). :func:`run_notebook` executes a temporary copy of the committed notebook top to bottom with
nbclient and then, in the same kernel, extra cells that call those functions for several seeds
and print their results as JSON; the committed notebook is never touched. A lessons test then
asserts the lesson on those numbers ("the dead-ReLU network ends worse than the leaky one", for
seeds 0-2), so a later change of defaults cannot silently reverse what the prose says.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NEEDS = {"08": ("sklearn",)}  # beyond matplotlib; torch is optional (the cell skips itself)
MARK = "__lesson__"

SEEDS = (0, 1, 2)
"""The seeds every lesson must hold for, not only the one a notebook shows."""

VERDICTS = """
def _verdicts(src, times=3):
    out = []
    for _ in range(times):
        try:
            exec(src, globals())
            out.append("pass")
        except AssertionError:
            out.append("fail")
    return out
"""
"""Kernel code for ``_verdicts(src, times=3)``: runs an exercise's check cell ``times`` times in
the notebook's namespace and returns each run's verdict, ``"pass"`` or ``"fail"``; a check
that changes its verdict on a rerun shows as a mixed list. Define it with the lesson
``f"exec({VERDICTS!r}, globals()) or 'ok'"``."""


VERDICTS_PRINTED = """
import contextlib as _contextlib
import io as _io


def _verdicts_printed(src, times=3):
    out, text = [], ""
    for _ in range(times):
        buffer = _io.StringIO()
        try:
            with _contextlib.redirect_stdout(buffer):
                exec(src, globals())
            out.append("pass")
        except AssertionError:
            out.append("fail")
        text = buffer.getvalue()
    return {"verdicts": out, "printed": text}
"""
"""Kernel code for ``_verdicts_printed(src, times=3)``: as ``_verdicts``, and what the check
printed on its last run, as ``{"verdicts": [...], "printed": "..."}``."""


def notebook_path(stem: str) -> Path:
    """The committed notebook whose name starts with ``stem`` (e.g. ``"06"``)."""
    found = sorted(NB_DIR.glob(f"{stem}*.ipynb"))
    assert len(found) == 1, f"expected one notebook starting {stem!r}, found {found}"
    return found[0]


def skip_unless_runnable(stem: str) -> None:
    """Skip the calling test unless nbclient, a python3 kernel, matplotlib and dot are there."""
    pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    pytest.importorskip("nbclient", reason="needs the 'notebooks' extra")
    pytest.importorskip("ipykernel", reason="needs the 'notebooks' extra")
    pytest.importorskip("matplotlib", reason="the notebooks plot: needs the 'notebooks' extra")
    for module in NEEDS.get(stem[:2], ()):
        pytest.importorskip(module, reason=f"notebook {stem} needs {module}")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no 'python3' Jupyter kernel (python -m ipykernel install --user)")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's 'dot' program is not installed (the notebooks draw graphs)")


def run_notebook(
    stem: str, tmp_path: Path, lessons: Mapping[str, str] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Execute notebook ``stem`` and then each lesson expression; return (notebook, results).

    Args:
        stem: The notebook's number, e.g. ``"06"``.
        tmp_path: Where the temporary copy runs (its working folder).
        lessons: Name -> a Python expression evaluated in the notebook's kernel after the last
            cell, e.g. ``{"dead": "[dead_relus(s) for s in (0, 1, 2)]"}``; its value must be
            JSON-ready.

    Returns:
        The executed notebook (nbformat) and ``{name: value}`` for every lesson.
    """
    skip_unless_runnable(stem)
    import nbclient
    import nbformat

    path = notebook_path(stem)
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    names = list(lessons or {})
    for name in names:
        code = f"import json as _j\nprint({MARK!r}, _j.dumps({(lessons or {})[name]}))"
        nb.cells.append(nbformat.v4.new_code_cell(code))
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors[0].get("evalue") if errors else ""
    results: dict[str, Any] = {}
    extra = nb.cells[len(nb.cells) - len(names) :] if names else []
    for name, cell in zip(names, extra, strict=True):
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        line = next(ln for ln in text.splitlines() if ln.startswith(MARK))
        results[name] = json.loads(line[len(MARK) + 1 :])
    return nb, results


def code_cell(nb: Any, marker: str) -> Any:
    """The first code cell of ``nb`` whose source contains ``marker``."""
    return next(c for c in nb.cells if c.cell_type == "code" and marker in c.source)


def assert_no_answer_shown(stem: str, marker: str, prompt: str) -> None:
    """The committed notebook ``stem``'s exercise cell (holding ``marker``) printed its prompt
    and nothing else: no picture, no value, nothing that gives the answer away."""
    nbformat = pytest.importorskip("nbformat", reason="needs the 'notebooks' extra")
    committed = nbformat.read(notebook_path(stem), as_version=4)
    cell = code_cell(committed, marker)
    kinds = [o.output_type for o in cell.outputs]
    assert kinds == ["stream"], f"{marker!r}: only the prompt, no picture or value; got {kinds}"
    assert cell_output(committed, marker).startswith(prompt)


def committed_cell_source(stem: str, marker: str) -> str:
    """The source of the committed notebook ``stem``'s first code cell containing ``marker``."""
    import nbformat

    return str(code_cell(nbformat.read(notebook_path(stem), as_version=4), marker).source)


def cell_output(nb: Any, marker: str) -> str:
    """The text a code cell printed, for the first cell whose source contains ``marker``."""
    for cell in nb.cells:
        if cell.cell_type == "code" and marker in cell.source:
            return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    raise AssertionError(f"no code cell contains {marker!r}")
