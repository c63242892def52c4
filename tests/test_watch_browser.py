"""The saved TrainingView page in headless Chromium, offline: controls, phases, scrub, click.

The browser is driven through selenium with the chromedriver path given explicitly
(tools/browser.py), so nothing is downloaded; the tests skip cleanly without Chromium,
chromedriver, selenium or graphviz's ``dot``.
"""

# ruff: noqa: N806  (X is the data matrix)
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from microgradnn.data import make_moons
from microgradnn.nn import MLP
from microgradnn.viz import TrainingView
from tests.browser_harness import chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def view() -> TrainingView:
    X, y = make_moons(n=30, noise=0.1, seed=2)
    model = MLP(2, [4, 3, 1], activation="tanh", seed=1)
    v = TrainingView(
        model,
        X,
        y,
        loss="bce_logits",
        optimizer="adam",
        lr=0.05,
        batch_size=8,
        l2=1e-3,
        examples=[0, 7, 21],
    )
    v.train(6)
    return v


@pytest.fixture(scope="module")
def page(view: TrainingView, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("watch") / "watch.html"
    view.save_html(path)
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium("1280,900")


@pytest.fixture
def loaded(browser: Any, page: str) -> Any:
    browser.get(page)
    _wait(lambda: _state(browser)["ready"] == "1")
    return browser


def _wait(ok: Any, seconds: float = 5.0) -> None:
    end = time.monotonic() + seconds
    while not ok():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.02)


def _state(driver: Any) -> dict[str, str]:
    return dict(
        driver.execute_script(
            "var r = document.querySelector('.mw-view');"
            "return {ready: r.getAttribute('data-ready'), frame: r.getAttribute('data-frame'),"
            " phase: r.getAttribute('data-phase'), example: r.getAttribute('data-example')};"
        )
    )


def _click(driver: Any, act: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"button[data-act={act}]").click()


def _number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def test_the_page_loads_offline_at_the_last_step(loaded: Any, view: TrainingView) -> None:
    assert _state(loaded) == {
        "ready": "1",
        "frame": str(len(view) - 1),
        "phase": "update",
        "example": "0",
    }
    resources = loaded.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert resources == []
    counter = loaded.execute_script("return document.querySelector('.mw-counter').textContent")
    assert counter.startswith(f"step {len(view)} of {len(view)}")


def test_step_goes_through_the_four_phases(loaded: Any) -> None:
    _click(loaded, "reset")
    grad_id = loaded.execute_script(
        "var D = JSON.parse(document.querySelector('.mw-data').textContent);"
        "return D.graph.backward.filter(function (i) { return document.getElementById(i); })[0];"
    )

    def grad_text() -> str:
        return str(
            loaded.execute_script(f"return document.getElementById('{grad_id}').textContent")
        )

    seen = []
    for _ in range(4):
        st = _state(loaded)
        seen.append((st["frame"], st["phase"], grad_text() == "…"))
        _click(loaded, "next")
    assert seen == [
        ("0", "forward", True),
        ("0", "loss", True),
        ("0", "backward", False),
        ("0", "update", False),
    ]
    assert _state(loaded)["frame"] == "1"
    assert _state(loaded)["phase"] == "forward"
    _click(loaded, "prev")
    assert (_state(loaded)["frame"], _state(loaded)["phase"]) == ("0", "update")


def test_play_advances_and_pause_stops(loaded: Any) -> None:
    _click(loaded, "reset")
    loaded.execute_script("document.querySelector('.mw-speed').value = 10;")
    _click(loaded, "play")
    _wait(lambda: int(_state(loaded)["frame"]) >= 1)
    _click(loaded, "play")
    stopped = _state(loaded)
    time.sleep(0.3)
    assert _state(loaded) == stopped
    assert (
        loaded.execute_script("return document.querySelector('.mw-view').dataset.playing") is None
    )


def test_scrubbing_shows_the_recorded_frames_numbers(loaded: Any, view: TrainingView) -> None:
    k = 3
    loaded.execute_script(
        f"var s = document.querySelector('.mw-scrub'); s.value = {k};"
        "s.dispatchEvent(new Event('input'));"
    )
    assert (_state(loaded)["frame"], _state(loaded)["phase"]) == (str(k), "update")
    rows = loaded.execute_script(
        "return Array.prototype.map.call(document.querySelectorAll('.mw-table tr[data-param]'),"
        " function (r) { return [parseInt(r.dataset.param, 10)].concat("
        "Array.prototype.map.call(r.cells, function (c) { return c.textContent; })); });"
    )
    f = view.frames[k]
    assert len(rows) == len(view.params)
    state = [f.state["exp_avg"], f.state["exp_avg_sq"]]
    for i, name, old, grad, lr, m, v, new, _ in rows:
        assert name == view.names[i]
        for shown, recorded in [
            (old, f.before[i]),
            (grad, f.grad[i]),
            (lr, f.lr),
            (m, state[0][i]),
            (v, state[1][i]),
            (new, f.after[i]),
        ]:
            assert _number(shown) == pytest.approx(recorded, rel=1e-3, abs=1e-12)
    moves = [abs(f.after[i] - f.before[i]) for i, *_ in rows]
    assert moves == sorted(moves, reverse=True) or np.allclose(
        moves, sorted(moves, reverse=True), rtol=1e-5
    )


def test_a_click_on_a_ringed_point_changes_the_example(loaded: Any, view: TrainingView) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    canvas = loaded.find_element(By.CSS_SELECTOR, ".mw-boundary")
    loaded.execute_script("arguments[0].scrollIntoView({block: 'center'});", canvas)
    assert view.grid_axes is not None
    gx, gy = view.grid_axes
    x, y = view.X[21]
    width = canvas.size["width"]
    height = canvas.size["height"]
    px = (x - gx[0]) / (gx[-1] - gx[0]) * width
    py = height - (y - gy[0]) / (gy[-1] - gy[0]) * height
    ActionChains(loaded).move_to_element_with_offset(
        canvas, int(px - width / 2), int(py - height / 2)
    ).click().perform()
    assert _state(loaded)["example"] == "21"
    label = loaded.execute_script("return document.querySelector('.mw-example').textContent")
    assert label.startswith("example 21")


def test_a_clipped_step_says_so_in_its_captions_and_table(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    X, y = make_moons(n=30, noise=0.1, seed=2)
    model = MLP(2, [4, 3, 1], activation="tanh", seed=1)
    v = TrainingView(model, X, y, loss="bce_logits", lr=0.5, batch_size=8, clip_grad_norm=0.01)
    v.train(3)
    last = v.frames[-1]
    assert last.clip_scale < 1
    path = tmp_path_factory.mktemp("clipped") / "watch.html"
    v.save_html(path)
    browser.get(path.resolve().as_uri())
    _wait(lambda: _state(browser)["ready"] == "1")

    def caption() -> str:
        script = "return document.querySelector('.mw-caption').textContent"
        return str(browser.execute_script(script))

    header = browser.execute_script(
        "return Array.from(document.querySelectorAll('.mw-table th')).map(e => e.textContent)"
    )
    assert "grad (clipped)" in header
    assert _state(browser)["phase"] == "update"
    shown_scale = f"{last.clip_scale:.4g}"
    assert f"its grads are the clipped ones, × {shown_scale}" in caption()
    _click(browser, "prev")  # the backward phase of the same step
    assert _state(browser)["phase"] == "backward"
    assert f"is over clip_grad_norm 0.01: every grad is scaled by {shown_scale}" in caption()
