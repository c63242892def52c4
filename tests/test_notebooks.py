"""The course notebooks: committed, up to date with their sources, small, and runnable.

Each notebook is executed top to bottom by its lessons test (``tests/test_lessons_NN.py``, from a
temporary copy: the committed file is never touched), where any cell that raises fails it; a
test here checks that every notebook has one. The other tests read
the committed JSON only: each notebook matches its source in ``notebooks/src`` as jupytext reads
it (so nobody edited one without the other) with the ids ``notebooks/_build.py`` gives, was
executed, shows at least one picture, holds no error or warning output, and the whole set stays
small enough to read on the web. Others check the jupytext pairing JupyterLab uses: each source
pairs with its notebook, and saving a source unedited leaves it as it is.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import jupytext
import pytest
from jupytext.cli import jupytext as jupytext_cli
from jupytext.config import load_jupytext_config

from tests.scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
SOURCES = sorted((NB_DIR / "src").glob("[0-9][0-9]_*.py"))
NOTEBOOKS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
MAX_TOTAL_BYTES = 2_500_000

pytestmark = pytest.mark.notebooks


@pytest.fixture(scope="module")
def build() -> ModuleType:
    """``notebooks/_build.py`` as a module (it is a script, not part of the package)."""
    return load_script(NB_DIR / "_build.py", "notebooks_build")


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _text(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def _outputs(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]


def test_every_source_has_a_committed_notebook() -> None:
    assert SOURCES, "no notebook sources in notebooks/src"
    assert [p.stem for p in SOURCES] == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_matches_its_source(src: Path, build: ModuleType) -> None:
    expected = build.parse_source(src.read_text(encoding="utf-8"))
    assert expected, f"jupytext reads no cells from src/{src.name}"
    nb = _read(NB_DIR / f"{src.stem}.ipynb")
    got = [(c["cell_type"], _text(c["source"])) for c in nb["cells"]]
    assert got == expected, f"{src.stem}.ipynb is stale: run `make notebooks`"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_notebook_has_the_deterministic_cell_ids(src: Path, build: ModuleType) -> None:
    nb = _read(NB_DIR / f"{src.stem}.ipynb")
    ids = [c["id"] for c in nb["cells"]]
    assert ids == [build.cell_id(src.stem, i) for i in range(len(ids))], (
        f"{src.stem}.ipynb has cell ids the build does not give (saved from JupyterLab?): "
        "run `make notebooks`"
    )


def test_cell_ids_are_fixed_and_distinct(build: ModuleType) -> None:
    assert build.cell_id("01_value_and_chain_rule", 0) == "01-00-c97558fe"
    ids = {build.cell_id(src.stem, i) for src in SOURCES for i in range(100)}
    assert len(ids) == 100 * len(SOURCES)


def test_a_leading_docstring_is_not_a_cell(build: ModuleType) -> None:
    body = "# %% [markdown]\n# # Title\n\n# %%\nx = 1\nx\n"
    cells = [("markdown", "# Title"), ("code", "x = 1\nx")]
    assert build.parse_source(body) == cells
    assert build.parse_source('"""Doc."""\n\n' + body) == cells
    assert build.parse_source('# %%\n"""Doc."""\n\n' + body) == cells
    first = build.parse_source('# %%\n"""Doc."""\nx = 2\n\n' + body)[0]
    assert first == ("code", '"""Doc."""\nx = 2'), "a cell that does more is a cell"


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_jupytext_pairs_source_and_notebook(
    src: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    notebook = f"notebooks/{src.stem}.ipynb"
    source = f"notebooks/src/{src.name}"
    jupytext_cli(["--paired-paths", source])
    assert capsys.readouterr().out.split() == [notebook]
    jupytext_cli(["--paired-paths", notebook])
    assert capsys.readouterr().out.split() == [source]


@pytest.mark.parametrize("src", SOURCES, ids=lambda p: p.stem)
def test_jupytext_writes_a_source_back_as_it_reads_it(src: Path, build: ModuleType) -> None:
    config = load_jupytext_config(str(src))
    assert config is not None, "no jupytext configuration found for the sources"
    text = src.read_text(encoding="utf-8")
    saved = jupytext.writes(
        jupytext.reads(text, fmt="py:percent", config=config), fmt="py:percent", config=config
    )
    # jupytext reads the docstring as a first code cell, so it writes a marker above it.
    has_docstring = not text.startswith("# %%")
    assert saved == ("# %%\n" + text if has_docstring else text)
    assert build.parse_source(saved) == build.parse_source(text)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_was_executed_cleanly(path: Path) -> None:
    nb = _read(path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["execution_count"] is not None for c in code), "not executed: make notebooks"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run once, top to bottom"
    for out in _outputs(nb):
        assert out["output_type"] != "error", f"error output: {out.get('ename')}"
        if out["output_type"] == "stream" and out["name"] == "stderr":
            pytest.fail(f"stderr output (a warning?) in {path.name}: {_text(out['text'])[:300]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_shows_a_png_picture(path: Path) -> None:
    outputs = _outputs(_read(path))
    pngs = [o["data"]["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert pngs, "no PNG picture (SVG alone does not show in an untrusted notebook)"
    for png in pngs:
        assert base64.b64decode(png).startswith(b"\x89PNG")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebook_holds_no_widget_without_its_state(path: Path) -> None:
    """A widget output whose model state is not saved shows "model not found", not its PNG."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    widgets = nb["metadata"].get("widgets")
    state = (widgets or {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    assert widgets is None or state, "widget metadata without state: run `make notebooks`"
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
            assert view is None or view["model_id"] in state, (
                f"a widget output without its state in {path.name}: run `make notebooks`"
            )


def test_the_build_keeps_a_widgets_pictures_and_drops_the_widget(build: ModuleType) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("view")
    data = {
        "text/plain": "<TrainingWidget>",
        "image/png": "iVBORw0KGgo=",
        "text/html": "<div>still</div>",
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2},
    }
    cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    build.drop_widgets(nb)
    assert "widgets" not in nb.metadata
    assert set(nb.cells[0].outputs[0]["data"]) == {"text/plain", "image/png", "text/html"}


def test_notebooks_are_small() -> None:
    total = sum(p.stat().st_size for p in NOTEBOOKS)
    assert total < MAX_TOTAL_BYTES, f"notebooks total {total:,} bytes, over {MAX_TOTAL_BYTES:,}"


def test_every_notebook_is_executed_by_its_lessons_test() -> None:
    """Each notebook runs top to bottom, without an error, in tests/test_lessons_NN.py.

    There its lessons are asserted on the numbers its cells compute (for several seeds), in the
    same kernel, so each notebook is executed once.
    """
    for path in NOTEBOOKS:
        lessons = ROOT / "tests" / f"test_lessons_{path.stem[:2]}.py"
        assert lessons.exists(), f"{path.name} has no lessons test ({lessons.name})"
        assert "run_notebook(" in lessons.read_text(encoding="utf-8")
