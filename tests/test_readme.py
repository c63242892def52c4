"""README.md stays true: its Python snippets run as written, and the files it shows exist.

Its pictures are made by the code printed beside them: each snippet before a picture ends with
the line that writes it, running the snippets in order writes every picture README.md shows,
and those files are the ones in docs/images/ (``make images`` copies them there). Each picture
is also legible where GitHub shows it, in a column 830 px wide: every text at least 11 px tall
there.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tools.make_images import (
    COLUMN,
    STEPPER_PAGE,
    STEPPER_SHOT,
    readme_blocks,
    readme_pictures,
    run_blocks,
)

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
IMAGES = ROOT / "docs" / "images"
SMALLEST_PX = 11.0
"""The smallest text a README picture may show, in CSS pixels, in GitHub's column."""


@dataclass
class ReadmeRun:
    """What running README.md's Python blocks in order left in a fresh folder."""

    folder: Path
    saved: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Per PNG a figure was saved to: (its smallest text in pt, the dpi it was saved at)."""


def _record_figure_saves(saved: dict[str, tuple[float, float]]) -> Any:
    """A stand-in for ``Figure.savefig`` that notes each figure's smallest text and dpi."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    original = Figure.savefig

    def savefig(self: Any, fname: Any, *args: Any, **kwargs: Any) -> Any:
        dpi = kwargs.get("dpi") or matplotlib.rcParams["savefig.dpi"]
        dpi = self.dpi if dpi == "figure" else float(dpi)
        texts = [
            t
            for t in self.findobj(Text)
            if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
        ]
        if isinstance(fname, (str, Path)):
            saved[Path(fname).name] = (min(t.get_fontsize() for t in texts), dpi)
        return original(self, fname, *args, **kwargs)

    return savefig


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> ReadmeRun:
    """README.md's Python blocks run once, in order, in a fresh folder, as a reader would."""
    pytest.importorskip("matplotlib")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (the README draws graphs)")
    from matplotlib.figure import Figure

    run = ReadmeRun(tmp_path_factory.mktemp("readme"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", _record_figure_saves(run.saved))
        run_blocks(readme_blocks(README), run.folder)
    return run


@pytest.mark.slow
def test_python_snippets_run_in_order(readme_run: ReadmeRun) -> None:
    assert len(readme_blocks(README)) >= 5
    written = {p.name for p in readme_run.folder.iterdir()}
    assert {"model.json", STEPPER_PAGE} <= written


def test_first_example_prints_the_stated_gradients(capsys):
    block = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    exec(block, {})
    a_grad, b_grad = map(float, capsys.readouterr().out.split())
    assert a_grad == pytest.approx(-3.0 + 1.0 - 0.964027580075817**2, rel=1e-12)
    assert b_grad == 2.0


def test_pictures_and_links_exist():
    targets = re.findall(r"\]\(((?:docs|notebooks)/[^)#]+)\)", README)
    assert targets, "README shows no pictures or notebook links"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing


def test_make_targets_in_readme_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    shown = set(re.findall(r"`make ([a-z-]+)`", README))
    assert shown <= targets, shown - targets


def test_every_op_of_the_table_has_a_row_in_the_readme_op_table():
    from microgradnn import OPS

    section = README[README.index("## The ops") : README.index("Numerics follow IEEE")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    written = " ".join(row.split("|")[1] for row in rows)
    for op in OPS.values():
        if op.infix is not None:
            shown = f"a {op.infix} b"
        elif op.prefix is not None:
            shown = f"{op.prefix}a"
        elif op.variadic:
            shown = f"Value.{op.method}("
        else:
            shown = f".{op.method}(" if op.method != "abs" else "abs(a)"
        assert shown in written, f"README's op table has no row for {op.name} ({shown})"
    assert len(rows) == len(OPS)


def test_where_is_x_names_every_package_module():
    section = README[README.index("## Where is X") : README.index("## Development")]
    package = ROOT / "microgradnn"
    modules = [
        p.relative_to(ROOT).as_posix()
        for p in sorted(package.rglob("*.py"))
        if p.name not in ("__init__.py", "__main__.py")
    ]
    missing = [m for m in modules if f"`{m}`" not in section]
    assert not missing, f"README's Where is X table lacks {missing}"


# -- the pictures: made by the code beside them, committed as made, legible in GitHub's column ----


def test_each_picture_is_written_by_the_snippet_just_before_it() -> None:
    pictures = list(re.finditer(r"!\[[^\]]*\]\(docs/images/([^)#\s]+)\)", README))
    assert [m.group(1) for m in pictures] == readme_pictures(README)
    assert len(pictures) >= 8
    last = 0
    for m in pictures:
        between = README[last : m.start()]
        blocks = re.findall(r"```python\n(.*?)```", between, re.S)
        assert blocks, f"{m.group(1)}: no Python snippet between it and the picture before"
        final = blocks[-1].strip().splitlines()[-1]
        name = STEPPER_PAGE if m.group(1) == STEPPER_SHOT else m.group(1)
        assert f'"{name}"' in final, f"{m.group(1)}: its snippet ends with {final!r}"
        last = m.end()


def _dot_version() -> str:
    out = subprocess.run(["dot", "-V"], capture_output=True, text=True, check=True)
    return (out.stderr or out.stdout).strip()


def _svg_texts(svg: str) -> list[str]:
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]


def _pixels(path: Path) -> Any:
    import numpy as np
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=float)


def _close_images(made: Path, committed: Path) -> None:
    """Same size, and pixel by pixel nearly the same (anti-aliasing may differ a little)."""
    import numpy as np

    a, b = _pixels(made), _pixels(committed)
    assert a.shape == b.shape, f"{committed.name}: {a.shape[:2]} here, {b.shape[:2]} committed"
    diff = np.abs(a - b).max(axis=2)
    assert diff.mean() < 2.0, f"{committed.name}: mean difference {diff.mean():.2f} of 255"
    assert (diff > 64).mean() < 0.01, f"{committed.name}: {(diff > 64).mean():.1%} pixels differ"


@pytest.mark.slow
def test_the_pictures_the_snippets_write_are_the_committed_ones(readme_run: ReadmeRun) -> None:
    for name in readme_pictures(README):
        if name == STEPPER_SHOT:
            continue  # a screenshot of the page the snippet writes: the browser test below
        made, committed = readme_run.folder / name, IMAGES / name
        assert made.is_file(), f"the README's code wrote no {name}"
        if name.endswith(".svg"):
            new, old = made.read_text("utf-8"), committed.read_text("utf-8")
            version = re.search(r"<!-- Generated by (graphviz version [^\n]*?) -->", old)
            if version is not None and version.group(1) in _dot_version():
                assert new == old, f"{name} differs from what the README's code draws"
            else:
                # another graphviz lays the same source out a little differently
                assert _svg_texts(new) == _svg_texts(old), name
        else:
            _close_images(made, committed)


def legible_svg(svg: str, column: float = COLUMN) -> list[tuple[str, float]]:
    """Each text of a graphviz SVG with its height in px when shown ``column`` px wide.

    graphviz sizes an SVG in pt (1 pt = 4/3 px) with one user unit per pt, scaled by the
    graph's transform; an ``<img>`` wider than the column is shrunk to fit it.
    """
    width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
    scale = re.search(r'class="graph" transform="scale\(([\d.]+)', svg)
    unit = float(scale.group(1)) if scale else 1.0
    shrink = min(1.0, column / (width * 4 / 3))
    return [
        (html.unescape(text), float(size) * unit * 4 / 3 * shrink)
        for size, text in re.findall(
            r'<text[^>]* font-size="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S
        )
    ]


def test_the_legibility_check_sees_small_text() -> None:
    svg = (
        '<svg width="1660pt" height="10pt"><g class="graph" transform="scale(1 1)">'
        '<text font-size="10.00">small</text><text font-size="22.00">big</text></g></svg>'
    )
    # 1660 pt = 2213 px, shrunk 0.375 times into the column: 10 pt = 5 px, 22 pt = 11 px
    assert legible_svg(svg) == [("small", pytest.approx(5.0)), ("big", pytest.approx(11.0))]


def test_readme_graphs_are_legible_in_the_column() -> None:
    svgs = [n for n in readme_pictures(README) if n.endswith(".svg")]
    assert len(svgs) >= 4
    for name in svgs:
        texts = legible_svg((IMAGES / name).read_text(encoding="utf-8"))
        assert texts, name
        small = [(t, round(px, 1)) for t, px in texts if px < SMALLEST_PX]
        assert not small, f"{name}: texts under {SMALLEST_PX} px in the column: {small[:5]}"


@pytest.mark.slow
def test_readme_plots_are_legible_in_the_column(readme_run: ReadmeRun) -> None:
    from PIL import Image

    pngs = [n for n in readme_pictures(README) if n.endswith(".png") and n != STEPPER_SHOT]
    assert len(pngs) >= 3
    for name in pngs:
        smallest, dpi = readme_run.saved[name]
        with Image.open(readme_run.folder / name) as im:
            width = im.size[0]
        px = smallest * dpi / 72 * min(1.0, COLUMN / width)
        assert px >= SMALLEST_PX, f"{name}: its smallest text is {px:.1f} px in the column"


@pytest.mark.slow
@pytest.mark.browser
def test_stepper_screenshot_is_legible_and_current(readme_run: ReadmeRun, tmp_path: Path) -> None:
    from tools.browser import available, headless_chromium
    from tools.make_images import stepper_screenshot

    if not available():
        pytest.skip("needs Chromium, chromedriver and selenium")
    page = readme_run.folder / STEPPER_PAGE
    shot = stepper_screenshot(page, tmp_path / STEPPER_SHOT, tmp_path / "profile")
    _close_images(shot, IMAGES / STEPPER_SHOT)
    from PIL import Image

    with Image.open(shot) as im:
        assert im.size[0] <= COLUMN  # shown at its own size in the column
    driver = headless_chromium(tmp_path / "profile2", f"{COLUMN},1000")
    try:
        driver.get(page.resolve().as_uri())
        heights = driver.execute_script(
            "return Array.from(document.querySelectorAll('.mg-svg text')).map((t) =>"
            " parseFloat(t.getAttribute('font-size')) * t.getScreenCTM().a)"
            ".concat(Array.from(document.querySelectorAll('.mg-controls, .mg-caption'))"
            ".map((e) => parseFloat(getComputedStyle(e).fontSize)))"
        )
    finally:
        driver.quit()
    assert len(heights) > 20
    assert min(heights) >= SMALLEST_PX, sorted(heights)[:5]


def _command_lines() -> list[tuple[list[str], int]]:
    """The README's ``microgradnn`` commands that state a result, with the percent stated."""
    section = README[README.index("## Command line") :]
    start = section.index("```bash\n") + len("```bash\n")
    block = section[start : section.index("```", start)]
    found = []
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        stated = re.search(r"(\d+)% on the training set", comment)
        if command.startswith("microgradnn ") and stated:
            found.append((command.split()[1:], int(stated.group(1))))
    return found


@pytest.mark.slow
@pytest.mark.parametrize(("words", "percent"), _command_lines(), ids=lambda v: str(v))
def test_command_line_examples_reach_the_result_they_state(
    words: list[str], percent: int, tmp_path: Path
) -> None:
    import json
    import os
    import sys

    if "digits" in words:
        pytest.importorskip("sklearn", reason="the digits data set needs the 'digits' extra")
    proc = subprocess.run(
        [sys.executable, "-m", "microgradnn", *words, "--no-progress", "--out", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert round(100 * summary["final_train_acc"]) >= percent, proc.stdout


def test_the_readme_states_a_result_for_each_training_command() -> None:
    assert {words[0] for words, _ in _command_lines()} == {"demo", "train"}
    assert len(_command_lines()) >= 4


def test_the_notebook_table_is_the_same_in_both_readmes() -> None:
    """README.md and notebooks/README.md describe each notebook in the same words."""

    def rows(text: str, prefix: str) -> dict[str, str]:
        found = re.findall(
            r"^\| \[(\d\d_\w+)\]\(" + prefix + r"\1\.ipynb\) \| (.+) \|$", text, re.M
        )
        return dict(found)

    here = rows(README, "notebooks/")
    there = rows((ROOT / "notebooks" / "README.md").read_text(encoding="utf-8"), "")
    committed = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(here) == committed
    assert here == there
