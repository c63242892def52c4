"""Notebook 1's pictures in a real JupyterLab 4, trusted and untrusted, read from the DOM.

One JupyterLab server (a free localhost port, a token, fresh config, data and settings folders)
serves two copies of ``notebooks/01_value_and_chain_rule.ipynb`` executed here by nbclient: one
signed with the server's notary secret (trusted: what its author sees), one unsigned (what a
student who was sent it, or cloned it, sees). Headless Chromium opens each, waits for the outputs
to render, and checks every picture output's *rendered DOM*: an ``<img>`` that has loaded
(naturalWidth > 0) or an ``<svg>`` with a nonzero box, visible on the page. A PNG merely present in
the saved bundle does not count. It also checks which entry JupyterLab chose (SVG when trusted,
PNG when not, the stepper's HTML in both), that the trusted stepper steps, and that the untrusted
one shows its picture and a note naming JupyterLab's "Trust Notebook" command instead of a wall
of SVG text.

Screenshots of the window go to ``$MG_SCREENSHOTS`` (then also one per picture output) or to a
temporary folder. Skips, saying why,
without JupyterLab, nbclient/ipykernel, graphviz's ``dot``, or Chromium with chromedriver and
selenium.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import lab_harness

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_value_and_chain_rule.ipynb"
PICTURE_MIMES = ("text/html", "image/svg+xml", "image/png")

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]


def picture_outputs(nb: dict[str, Any]) -> dict[int, list[str]]:
    """Per cell index, the kind of each picture output: "graph", "stepper" or "figure"."""
    found: dict[int, list[str]] = {}
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if not any(m in data for m in PICTURE_MIMES):
                continue
            text = "".join(data.get("text/plain", ""))
            kind = "stepper" if "text/html" in data else "graph" if "graph" in text else "figure"
            found.setdefault(i, []).append(kind)
    return found


def _execute(target_dir: Path) -> dict[str, Any]:
    """Notebook 1 executed from scratch by nbclient, in ``target_dir`` (as JSON)."""
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(target_dir)}}
    ).execute()
    return json.loads(nbformat.writes(nb))


@dataclass
class Lab:
    """A running JupyterLab with the two copies, and a browser."""

    server: lab_harness.Lab
    nb: dict[str, Any]
    shots: Path
    every_output: bool
    """Also screenshot each picture output on its own (when ``$MG_SCREENSHOTS`` is set)."""

    @property
    def driver(self) -> Any:
        return self.server.driver

    def api(self, path: str) -> Any:
        return self.server.api(path)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    why = lab_harness.missing()
    if why:
        pytest.skip(why)
    import nbformat

    base = tmp_path_factory.mktemp("jupyterlab")
    shots = Path(os.environ.get("MG_SCREENSHOTS") or base / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    home = lab_harness.folders(base)
    nb = _execute(home["work"])
    # nbformat 4 keeps signatures in the notary's database, keyed by the notebook's content, so
    # the unsigned copy must differ from the signed one: by a marker in its metadata.
    for name in ("trusted", "untrusted"):
        copy = nbformat.from_dict(json.loads(json.dumps(nb)))
        copy.metadata["microgradnn_test_copy"] = name
        if name == "trusted":
            lab_harness.sign(home, copy)
        nbformat.write(copy, home["work"] / f"{name}.ipynb")
    for server in lab_harness.jupyterlab(base, home):
        yield Lab(server, nb, shots, every_output="MG_SCREENSHOTS" in os.environ)


# Per picture output, in the page: which entry JupyterLab rendered, whether a loaded <img> or an
# <svg> with a box is visible in it, and its visible text.
_READ_OUTPUTS = """
const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-Cell'));
const shown = (e) => { const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'; };
return cells.map((cell) => Array.from(cell.querySelectorAll('.jp-OutputArea-output'))
  .filter((o) => arguments[0].includes(o.getAttribute('data-mime-type')))
  .map((o) => ({
    mime: o.getAttribute('data-mime-type'),
    width: Math.round(o.getBoundingClientRect().width),
    img: Array.from(o.querySelectorAll('img')).filter((i) => i.complete && i.naturalWidth > 0
      && shown(i)).map((i) => [i.naturalWidth, Math.round(i.getBoundingClientRect().width)]),
    svg: Array.from(o.querySelectorAll('svg')).filter(shown).length,
    text: o.innerText,
    note: Array.from(o.querySelectorAll('.mg-note')).filter(shown).length,
  })));
"""


def _open(lab: Lab, name: str) -> list[list[dict[str, Any]]]:
    """Open ``name`` in JupyterLab and read its outputs once every picture has rendered."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver = lab.driver
    lab.server.open(name)
    expected = picture_outputs(lab.nb)
    n_cells = len(lab.nb["cells"])

    def ready(d: Any) -> Any:
        cells = d.execute_script(_READ_OUTPUTS, list(PICTURE_MIMES))
        if len(cells) != n_cells:
            return False
        for i, kinds in expected.items():
            if len(cells[i]) != len(kinds) or not all(o["img"] or o["svg"] for o in cells[i]):
                return False
        return cells

    try:
        return WebDriverWait(driver, 45, poll_frequency=0.25).until(ready)  # type: ignore[no-any-return]
    except Exception:
        driver.save_screenshot(str(lab.shots / f"{Path(name).stem}-timeout.png"))
        cells = driver.execute_script(_READ_OUTPUTS, list(PICTURE_MIMES))
        pytest.fail(f"{name}: the pictures did not all render in 45 s; saw {cells!r:.3000}")


def _screenshots(lab: Lab, stem: str) -> None:
    """The stepper's cell in view, and each picture output on its own."""
    from selenium.webdriver.common.by import By

    driver = lab.driver
    stepper = driver.find_elements(
        By.CSS_SELECTOR, ".jp-OutputArea-output[data-mime-type='text/html']"
    )
    if stepper:
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", stepper[0])
    driver.save_screenshot(str(lab.shots / f"{stem}.png"))
    if not lab.every_output:
        return
    # Each output whole: the same width, a window tall enough for the tallest.
    driver.set_window_size(1280, 2400)
    try:
        outputs = driver.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output[data-mime-type]")
        pictures = [o for o in outputs if o.get_attribute("data-mime-type") in PICTURE_MIMES]
        for k, out in enumerate(pictures):
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'})", out)
            out.screenshot(str(lab.shots / f"{stem}-output{k}.png"))
    finally:
        driver.set_window_size(1280, 900)


def _check_pictures(lab: Lab, cells: list[list[dict[str, Any]]], trusted: bool) -> None:
    expected = picture_outputs(lab.nb)
    assert expected, "notebook 1 has no picture outputs: was it executed?"
    assert sum(len(k) for k in expected.values()) >= 6
    want = {
        "graph": "image/svg+xml" if trusted else "image/png",
        "stepper": "text/html",
        "figure": "image/png",
    }
    for i, kinds in expected.items():
        for kind, out in zip(kinds, cells[i], strict=True):
            where = f"cell {i} ({kind}, {'trusted' if trusted else 'untrusted'})"
            assert out["mime"] == want[kind], f"{where}: JupyterLab rendered {out['mime']}"
            assert out["img"] or out["svg"], f"{where}: no image in the rendered output"
            for natural, shown in out["img"]:
                # Nothing runs off the output's right edge, and nothing narrow is blown up.
                assert shown <= out["width"] + 1, f"{where}: {shown} px in {out['width']} px"
                assert shown >= min(natural, out["width"]) * 0.5, f"{where}: shrunk to {shown}"
            assert "object at 0x" not in out["text"]
            assert "GraphPicture at" not in out["text"]


def _trusted(lab: Lab) -> None:
    """The signed copy: SVG graphs, and the stepper's script runs and steps."""

    contents = lab.api("/api/contents/trusted.ipynb?content=1")
    code = [c for c in contents["content"]["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"].get("trusted") for c in code), "the signed copy is not trusted"
    cells = _open(lab, "trusted.ipynb")
    _check_pictures(lab, cells, trusted=True)
    (stepper,) = [o for cell in cells for o in cell if o["mime"] == "text/html"]
    assert stepper["svg"] == 2  # the interactive picture, and its legend beside it (tall picture)
    assert not stepper["img"]  # the still PNG went with the note
    assert stepper["note"] == 0
    _screenshots(lab, "trusted")
    _steps(lab)
    lab.driver.save_screenshot(str(lab.shots / "trusted-stepper-frame2.png"))


def _steps(lab: Lab) -> None:
    """The stepper's script runs: it starts at the seed, and *next* moves to step 1."""
    from selenium.webdriver.common.by import By

    root = lab.driver.find_element(By.CSS_SELECTOR, ".mg-stepper")
    assert root.get_attribute("data-frame") == "0", "the stepper's script did not run"
    caption = root.find_element(By.CSS_SELECTOR, ".mg-caption").text
    root.find_element(By.CSS_SELECTOR, "button[data-act=next]").click()
    assert root.get_attribute("data-frame") == "1"
    assert root.find_element(By.CSS_SELECTOR, ".mg-caption").text != caption


def _untrusted(lab: Lab) -> None:
    """The unsigned copy: PNG graphs, and the stepper's PNG with a note that says what to do."""
    contents = lab.api("/api/contents/untrusted.ipynb?content=1")
    code = [c for c in contents["content"]["cells"] if c["cell_type"] == "code"]
    assert not any(c["metadata"].get("trusted") for c in code), "the unsigned copy is trusted"
    cells = _open(lab, "untrusted.ipynb")
    _check_pictures(lab, cells, trusted=False)
    (stepper,) = [o for cell in cells for o in cell if o["mime"] == "text/html"]
    assert stepper["img"], "the untrusted stepper shows no picture"
    assert stepper["svg"] == 0  # the sanitizer dropped the inline SVG (and the script) ...
    assert stepper["note"] == 1
    text = " ".join(stepper["text"].split())
    assert "Trust Notebook" in text
    assert "command palette" in text
    assert "File > Trust Notebook" in text  # for Notebook 7, named as such
    assert len(text) < 1200, f"... but must not show its text as a wall: {text[-300:]}"
    assert "prev" not in text  # nor buttons that do nothing
    _screenshots(lab, "untrusted")


def _trust_command(lab: Lab) -> None:
    """The note's advice works: Ctrl+Shift+C, *Trust Notebook*, confirm, and the stepper steps."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver = lab.driver
    lab_harness.command(driver, "Trust Notebook")
    accept = WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".jp-Dialog .jp-mod-accept")
    )
    assert accept.text == "Trust"
    accept.click()
    WebDriverWait(driver, 20).until(
        lambda d: d.execute_script(
            "var r = document.querySelector('.mg-stepper'); return r && r.dataset.ready"
        )
    )
    _steps(lab)
    driver.save_screenshot(str(lab.shots / "untrusted-after-trust-notebook.png"))


def test_notebook_pictures_in_jupyterlab_trusted_untrusted_and_after_trusting(lab: Lab) -> None:
    """One server, one browser: the three cases in turn (a few seconds each)."""
    _trusted(lab)
    _untrusted(lab)
    _trust_command(lab)
