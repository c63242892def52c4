"""The live TrainingView widget in a real JupyterLab 4, driven by headless Chromium.

A notebook (written here, without outputs) builds a view, displays it and records two more
steps in a later cell. JupyterLab runs it in its own kernel; then the widget's front-end must:
follow ``view.train(2)`` from the later cell, play and pause, step through the four phases,
follow a click on a ringed point, record more steps with its own "train" button (the one kernel
round trip), and, with the kernel shut down, still scrub to a recorded step and show that step's
parameters and grads, compared with what the kernel wrote to ``frames.json``. Saved by
JupyterLab and reopened untrusted, the output shows its PNG picture instead of the widget.

Skips, saying why, without JupyterLab, anywidget, nbclient/ipykernel, graphviz's ``dot``, or
Chromium with chromedriver and selenium. Screenshots go to ``$MG_SCREENSHOTS`` or a temporary
folder.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import lab_harness

pytestmark = [pytest.mark.browser, pytest.mark.notebooks]

WIDGET = "application/vnd.jupyter.widget-view+json"
VIEW = ".jp-OutputArea-output .mw-view"
"""The view's root in the notebook (JupyterLab gives a widget's output no data-mime-type)."""

CELLS = [
    """\
import json

from microgradnn.data import make_moons
from microgradnn.nn import MLP
from microgradnn.viz import TrainingView

X, y = make_moons(n=30, noise=0.1, seed=2)
model = MLP(2, [4, 1], activation="tanh", seed=1)
view = TrainingView(model, X, y, loss="bce_logits", optimizer="adam", lr=0.05, batch_size=8,
                    examples=[0, 21])
view.train(4)
view""",
    "view.train(2)",
    """\
frames = [{"before": f.before.tolist(), "grad": f.grad.tolist(), "after": f.after.tolist()}
          for f in view.frames]
with open("frames.json", "w") as out:
    json.dump({"names": view.names, "frames": frames, "point": view.X[21].tolist(),
               "axes": [[float(a[0]), float(a[-1])] for a in view.grid_axes]}, out)
print("recorded", len(frames))""",
]


def _notebook() -> Any:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    return nb


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lab_harness.Lab]:
    why = lab_harness.missing(("anywidget", "anywidget (the 'widget' extra)"))
    if why:
        pytest.skip(why)
    import nbformat

    base = tmp_path_factory.mktemp("watch-lab")
    home = lab_harness.folders(base)
    nbformat.write(_notebook(), home["work"] / "watch.ipynb")
    yield from lab_harness.jupyterlab(base, home, window="1280,1000")


def _shots() -> Path:
    folder = Path(os.environ.get("MG_SCREENSHOTS") or "/tmp/mg-watch-lab-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _wait(driver: Any, ok: Any, seconds: float, what: str) -> Any:
    """Poll ``ok()`` until it is truthy; a server error while the server is busy (a kernel
    starting: HTTP 500) counts as not yet, and is named if the time runs out."""
    end = time.monotonic() + seconds
    error: Exception | None = None
    while True:
        try:
            got = ok()
        except urllib.error.HTTPError as err:
            if err.code < 500:
                raise
            got, error = None, err
        if got:
            return got
        if time.monotonic() > end:
            if error is not None:
                what = f"{what} (the server last answered {error})"
            driver.save_screenshot(str(_shots() / "watch-lab-timeout.png"))
            seen = driver.execute_script(
                "return Array.prototype.map.call(document.querySelectorAll("
                "'.jp-OutputArea-output'), function (o) { return [o.getAttribute("
                "'data-mime-type'), o.querySelectorAll('.mw-view').length]; });"
            )
            pytest.fail(f"timed out after {seconds} s waiting for {what}; outputs: {seen}")
        time.sleep(0.1)


def _state(driver: Any) -> dict[str, Any] | None:
    got = driver.execute_script(
        "var r = document.querySelector(arguments[0]);"
        "if (!r || !r.getAttribute('data-ready')) { return null; }"
        "var s = r.querySelector('.mw-scrub');"
        "return {frame: r.getAttribute('data-frame'), phase: r.getAttribute('data-phase'),"
        " example: r.getAttribute('data-example'), playing: r.hasAttribute('data-playing'),"
        " last: s.max, status: (r.querySelector('.mw-status') || {}).textContent};",
        VIEW,
    )
    return dict(got) if got else None


def _click(driver: Any, act: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"{VIEW} button[data-act={act}]").click()


def _table(driver: Any) -> list[list[Any]]:
    return list(
        driver.execute_script(
            "var r = document.querySelector(arguments[0]);"
            "return Array.prototype.map.call(r.querySelectorAll('.mw-table tr[data-param]'),"
            " function (t) { return [parseInt(t.dataset.param, 10)].concat("
            "Array.prototype.map.call(t.cells, function (c) { return c.textContent; })); });",
            VIEW,
        )
    )


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def _live(lab: lab_harness.Lab) -> dict[str, Any]:
    """Open the notebook, run every cell, and wait for the widget to show all 6 steps."""
    driver = lab.driver
    lab.open("watch.ipynb")
    _wait(driver, lambda: driver.find_elements("css selector", ".jp-Notebook"), 60, "JupyterLab")
    _wait(driver, lambda: lab.api("/api/kernels"), 60, "the kernel to start")
    lab_harness.command(driver, "Run All Cells")
    state = _wait(
        driver, lambda: (s := _state(driver)) and s["last"] == "5" and s, 120, "the widget"
    )
    recorded = _wait(
        driver,
        lambda: (work := lab.home["work"] / "frames.json").exists() and work.read_text(),
        60,
        "frames.json",
    )
    driver.save_screenshot(str(_shots() / "watch-lab-live.png"))
    assert state["frame"] == "5"
    assert state["phase"] == "update"
    mime = driver.execute_script(
        "return document.querySelector(arguments[0]).closest('.jp-OutputArea-output')"
        ".getAttribute('data-mime-type');",
        VIEW,
    )
    assert mime is None, f"JupyterLab rendered {mime}, not the widget"
    return dict(json.loads(recorded))


def _play_phases_and_click(lab: lab_harness.Lab, recorded: dict[str, Any]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    driver = lab.driver
    _click(driver, "reset")
    assert (_state(driver) or {})["frame"] == "0"
    _click(driver, "play")
    _wait(
        driver,
        lambda: (s := _state(driver)) and s["playing"] and s["phase"] != "forward",
        10,
        "play to move on",
    )
    _click(driver, "play")
    paused = _state(driver)
    assert paused is not None
    assert not paused["playing"]
    time.sleep(0.5)
    assert _state(driver) == paused  # pause stopped it
    _click(driver, "reset")
    phases = [(_state(driver) or {})["phase"]]
    for _ in range(4):
        _click(driver, "next")
        phases.append((_state(driver) or {})["phase"])
    assert phases == ["forward", "loss", "backward", "update", "forward"]
    canvas = driver.find_element(By.CSS_SELECTOR, f"{VIEW} .mw-boundary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    (x0, x1), (y0, y1) = recorded["axes"]
    x, y = recorded["point"]
    w, h = canvas.size["width"], canvas.size["height"]
    px, py = (x - x0) / (x1 - x0) * w, h - (y - y0) / (y1 - y0) * h
    ActionChains(driver).move_to_element_with_offset(
        canvas, int(px - w / 2), int(py - h / 2)
    ).click().perform()
    assert (_state(driver) or {})["example"] == "21"


def _train_button(lab: lab_harness.Lab) -> None:
    driver = lab.driver
    driver.execute_script(
        "var r = document.querySelector(arguments[0]); r.querySelector('.mw-more').value = 3;",
        VIEW,
    )
    _click(driver, "train")
    _wait(driver, lambda: (s := _state(driver)) and s["last"] == "8", 60, "3 more steps")
    driver.save_screenshot(str(_shots() / "watch-lab-trained.png"))


def _scrub_without_kernel(lab: lab_harness.Lab, recorded: dict[str, Any]) -> None:
    driver = lab.driver
    for kernel in lab.api("/api/kernels"):
        lab.api(f"/api/kernels/{kernel['id']}", method="DELETE")
    _wait(driver, lambda: not lab.api("/api/kernels"), 30, "the kernel to stop")
    k = 3
    driver.execute_script(
        "var s = document.querySelector(arguments[0]).querySelector('.mw-scrub');"
        f"s.value = {k}; s.dispatchEvent(new Event('input'));",
        VIEW,
    )
    state = _state(driver)
    assert state is not None
    assert (state["frame"], state["phase"]) == (str(k), "update")
    rows = _table(driver)
    frame = recorded["frames"][k]
    assert len(rows) == len(recorded["names"])
    for i, name, old, grad, _lr, *rest in rows:
        new = rest[-2]
        assert name == recorded["names"][i]
        assert _number(old) == pytest.approx(frame["before"][i], rel=1e-3, abs=1e-12)
        assert _number(grad) == pytest.approx(frame["grad"][i], rel=1e-3, abs=1e-12)
        assert _number(new) == pytest.approx(frame["after"][i], rel=1e-3, abs=1e-12)
    driver.save_screenshot(str(_shots() / "watch-lab-no-kernel.png"))


def _saved_untrusted(lab: lab_harness.Lab) -> None:
    """JupyterLab's saved notebook, reopened unsigned: the PNG shows, not the widget."""
    import nbformat

    driver = lab.driver
    lab_harness.command(driver, "Save Notebook")
    path = lab.home["work"] / "watch.ipynb"

    def saved() -> Any:
        nb = json.loads(path.read_text(encoding="utf-8"))
        outs = nb["cells"][0].get("outputs", [])
        return nb if any(WIDGET in o.get("data", {}) for o in outs) else None

    nb = _wait(driver, saved, 30, "the notebook to be saved with its outputs")
    (out,) = [o for o in nb["cells"][0]["outputs"] if WIDGET in o.get("data", {})]
    assert {"image/png", "text/html", "text/plain"} <= set(out["data"])
    copy = nbformat.from_dict(nb)
    copy.metadata["microgradnn_test_copy"] = "untrusted"
    nbformat.write(copy, lab.home["work"] / "untrusted.ipynb")
    lab.open("untrusted.ipynb")

    def shown() -> Any:
        return driver.execute_script(
            "var cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[0];"
            "if (!cell) { return null; }"
            "var o = cell.querySelector('.jp-OutputArea-output[data-mime-type]');"
            "if (!o) { return null; }"
            "var imgs = Array.prototype.filter.call(o.querySelectorAll('img'),"
            " function (i) { return i.complete && i.naturalWidth > 0; });"
            "return imgs.length ? {mime: o.getAttribute('data-mime-type'), text: o.innerText,"
            " width: imgs[0].getBoundingClientRect().width} : null;"
        )

    got = _wait(driver, shown, 45, "the untrusted output's picture")
    assert got["mime"] in ("text/html", "image/png"), got["mime"]
    assert got["width"] > 300
    assert "Error displaying widget" not in got["text"]
    driver.save_screenshot(str(_shots() / "watch-lab-untrusted.png"))


def test_the_widget_in_jupyterlab_plays_trains_scrubs_without_kernel_and_saves_a_png(
    lab: lab_harness.Lab,
) -> None:
    """One server, one kernel, one browser: the cases in the order a learner meets them."""
    recorded = _live(lab)
    _play_phases_and_click(lab, recorded)
    _train_button(lab)
    _scrub_without_kernel(lab, recorded)
    _saved_untrusted(lab)
