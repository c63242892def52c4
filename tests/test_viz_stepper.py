"""Tests for microgradnn.viz.stepper: backward one chain-rule step at a time.

The browser tests drive the HTML page in headless Chromium through selenium, offline: the
chromedriver path is given explicitly (tools/browser.py), so Selenium Manager downloads
nothing. They skip cleanly without chromium, chromedriver or selenium (CI: apt install
chromium chromium-driver; pip install selenium). The page's script is also parsed by
``node --check`` when node is installed.
"""

from __future__ import annotations

import html
import json
import math
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from microgradnn import Value, mse_loss
from microgradnn.nn import MLP
from microgradnn.viz import (
    BackwardStepper,
    backward_html,
    backward_steps,
    save_backward_html,
)
from microgradnn.viz.stepper import page_asset
from tests.browser_harness import chromium

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")

B = 6.8813735870195432
O_DATA = math.tanh(2.0 * -3.0 + B)
DO_DN = 1.0 - O_DATA**2


def neuron() -> tuple[Value, dict[str, Value]]:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(B, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n}


# Closed form: o = tanh(x1 w1 + x2 w2 + b), do/dn = 1 - o^2.
EXPECTED_LEAF_GRADS = {
    "x1": -3.0 * DO_DN,
    "w1": 2.0 * DO_DN,
    "x2": 1.0 * DO_DN,
    "w2": 0.0,
    "b": DO_DN,
}


def g4(x: float) -> str:
    return format(0.0 if x == 0 else x, ".4g")


# -- frames ---------------------------------------------------------------------------------------


def test_one_frame_per_backward_call_in_reversed_topological_order() -> None:
    o, _ = neuron()
    order = o.topological_order()
    frames = backward_steps(o)
    steps = [f for f in frames if f.kind == "step"]
    expected = [i for i in reversed(range(len(order))) if order[i]._op is not None]
    assert [f.node_index for f in steps] == expected
    assert [f.kind for f in frames] == ["seed"] + ["step"] * len(expected) + ["done"]
    assert [f.index for f in frames] == list(range(len(frames)))
    assert all(f.node is order[f.node_index] for f in steps if f.node_index is not None)


def test_final_frame_holds_the_closed_form_gradients() -> None:
    o, vs = neuron()
    frames = backward_steps(o)
    order = o.topological_order()
    last = frames[-1].grads
    for name, expected in EXPECTED_LEAF_GRADS.items():
        assert last[order.index(vs[name])] == pytest.approx(expected, abs=1e-12)
    assert frames[0].grads[-1] == 1.0
    assert all(g == 0.0 for g in frames[0].grads[:-1])
    for name in EXPECTED_LEAF_GRADS:
        assert f"{name}.grad = {g4(EXPECTED_LEAF_GRADS[name])}" in frames[-1].caption


def test_each_step_records_local_times_upstream() -> None:
    x = Value(3.0, label="x")
    y = x * x
    y.label = "y"
    frames = backward_steps(y, gradient=2.0)
    (step,) = [f for f in frames if f.kind == "step"]
    c1, c2 = step.contributions
    assert (c1.position, c1.local, c1.upstream, c1.amount, c1.grad_after) == (0, 3.0, 2.0, 6.0, 6.0)
    assert (c2.position, c2.local, c2.upstream, c2.amount, c2.grad_after) == (
        1,
        3.0,
        2.0,
        6.0,
        12.0,
    )
    assert "x.grad += 2 × 3 (∂y/∂x = x) = 6  →  x.grad = 6" in step.caption
    assert "→  x.grad = 12" in step.caption


def test_tanh_step_caption() -> None:
    o, _ = neuron()
    frames = backward_steps(o)
    assert frames[1].caption.splitlines() == [
        "Step 1 of 5: o = tanh(n), and o.grad = 1",
        f"  n.grad += 1 × {g4(DO_DN)} (∂o/∂n = 1 - o²) = {g4(DO_DN)}  →  n.grad = {g4(DO_DN)}",
    ]


def test_user_grads_are_restored() -> None:
    o, _ = neuron()
    order = o.topological_order()
    for k, v in enumerate(order):
        v.grad = 0.25 * k
    before = [v.grad for v in order]
    backward_steps(o)
    assert [v.grad for v in order] == before


def test_frame_graph_highlights_the_node_that_ran() -> None:
    o, _ = neuron()
    frames = backward_steps(o)
    src = frames[1].graph().source
    assert "#e8590c" in src  # the highlight colour
    assert "dir=back" in src
    assert f"1 × {g4(DO_DN)} = {g4(DO_DN)}" in src
    assert src.count("…") >= 4  # edges not used yet


def test_bad_inputs() -> None:
    with pytest.raises(TypeError, match=r"root: expected a Value, got float 1\.0"):
        backward_steps(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="gradient: expected a finite number, got str '1'"):
        backward_steps(Value(1.0), gradient="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rankdir: expected one of 'LR'"):
        BackwardStepper(Value(1.0), rankdir="diagonal")
    with pytest.raises(TypeError, match="root: expected a Value, got str 'x'"):
        BackwardStepper("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_nodes: expected an integer >= 1, got 0"):
        BackwardStepper(Value(1.0), max_nodes=0)
    big = Value(1.0, label="x")
    for _ in range(200):
        big = big * 1.0
    with pytest.raises(ValueError, match="max_nodes=300"):
        BackwardStepper(big).html  # noqa: B018


# -- the HTML page --------------------------------------------------------------------------------


def page_data(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" class="mg-data">(.*?)</script>', page, re.S)
    assert m is not None
    data: dict[str, Any] = json.loads(m.group(1))
    return data


@needs_dot
def test_html_has_one_frame_per_step_and_is_self_contained(tmp_path: Path) -> None:
    o, _ = neuron()
    page = backward_html(o)
    data = page_data(page)
    order = o.topological_order()
    n_ops = sum(1 for v in order if v._op is not None)
    assert data["n"] == n_ops + 2 == len(data["frames"])
    frames = backward_steps(o)
    assert [f["caption"] for f in data["frames"]] == [f.explanation for f in frames]
    assert [f["counter"] for f in data["frames"]] == [f.counter for f in frames]
    assert "prev" in page
    assert "next" in page
    assert 'type="range"' in page
    # nothing to fetch: no external scripts, styles, images or fonts
    assert not re.search(r"<(link|img|iframe)\b", page)
    assert not re.search(r"\bsrc=", page)
    assert "@import" not in page
    assert "url(" not in page
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    path = save_backward_html(o, tmp_path / "steps.html")
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _page_script(page: str) -> str:
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert len(scripts) == 1
    return scripts[0]


def test_page_assets_are_package_data() -> None:
    folder = resources.files("microgradnn.viz")
    for name in ("stepper.js", "stepper.css"):
        assert page_asset(name) == folder.joinpath(name).read_text(encoding="utf-8")
        assert "</" not in page_asset(name)  # would end the inline <script>/<style> early
    css = page_asset("stepper.css")
    assert css.count("{") == css.count("}") > 10
    with pytest.raises(ValueError, match=r"name: expected one of 'stepper\.js', 'stepper\.css'"):
        page_asset("../__init__.py")


@needs_dot
def test_page_embeds_the_script_and_style_files() -> None:
    o, _ = neuron()
    page = backward_html(o)
    cid = re.search(r'<div class="mg-stepper" id="(\w+)"', page)
    assert cid is not None
    style = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert style == [page_asset("stepper.css")]
    script = _page_script(page)
    assert script == page_asset("stepper.js").rstrip() + f'("{cid.group(1)}");'


@needs_dot
def test_page_script_parses(tmp_path: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed")
    o, _ = neuron()
    path = tmp_path / "stepper.js"
    path.write_text(_page_script(backward_html(o)), encoding="utf-8")
    done = subprocess.run(
        [node, "--check", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    broken = tmp_path / "broken.js"
    broken.write_text(path.read_text(encoding="utf-8")[:-10], encoding="utf-8")
    failed = subprocess.run(
        [node, "--check", str(broken)], capture_output=True, text=True, timeout=60, check=False
    )
    assert failed.returncode != 0  # node --check does reject a script cut short


@needs_dot
def test_html_text_slots_follow_the_frames() -> None:
    o, vs = neuron()
    stepper = BackwardStepper(o)
    page = stepper.html
    data = page_data(page)
    order = o.topological_order()
    i = order.index(vs["x1"])
    slot = next(s for s in data["slots"] if s.endswith(f"_v{i}grad"))
    assert f'id="{slot}"' in page  # the SVG text element the page rewrites
    timeline = data["slots"][slot]
    assert timeline[0][:2] == [0, "grad 0"]
    assert timeline[-1][1] == f"grad {g4(EXPECTED_LEAF_GRADS['x1'])}"
    # x1 gets its gradient in the last step (the product x1*w1 is processed last)
    assert timeline[-1][0] == len(stepper.frames) - 2


@needs_dot
def test_repr_html_for_jupyter_and_unique_ids() -> None:
    o, _ = neuron()
    a, b = BackwardStepper(o), BackwardStepper(o)
    fa, fb = a._repr_html_(), b._repr_html_()
    assert fa.startswith('<div class="mg-stepper"')
    assert "<html" not in fa
    ida = re.search(r'id="(mg\w+_)stepper"', fa)
    idb = re.search(r'id="(mg\w+_)stepper"', fb)
    assert ida
    assert idb
    assert ida.group(1) != idb.group(1)
    assert "trust the notebook" in html.unescape(fa).lower()


# -- in a real browser ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium("1400,900")


def _text(driver: Any, css: str) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def _svg_text(driver: Any, element_id: str) -> str:
    return str(driver.execute_script(f"return document.getElementById('{element_id}').textContent"))


def _click(driver: Any, act: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, f"button[data-act={act}]").click()


@pytest.mark.browser
def test_browser_next_button_steps_through_backward(browser: Any, tmp_path: Path) -> None:
    o, vs = neuron()
    stepper = BackwardStepper(o)
    path = stepper.save(tmp_path / "steps.html")
    browser.get(path.resolve().as_uri())
    data = page_data(path.read_text(encoding="utf-8"))
    order = o.topological_order()
    slot = {
        name: next(s for s in data["slots"] if s.endswith(f"_v{order.index(v)}grad"))
        for name, v in vs.items()
    }
    assert _text(browser, ".mg-caption").startswith("backward() sets every grad to 0")
    assert _text(browser, ".mg-counter") == "Start"
    assert _svg_text(browser, slot["x1"]) == "grad 0"
    assert _svg_text(browser, slot["n"]) == "grad 0"
    seen = [_text(browser, ".mg-caption")]
    for k in range(1, len(stepper.frames)):
        _click(browser, "next")
        assert _text(browser, ".mg-counter") == (
            "Done" if k == len(stepper.frames) - 1 else f"Step {k} of {len(stepper.frames) - 2}"
        )
        seen.append(_text(browser, ".mg-caption"))
        if k == 1:  # after tanh's step, n holds do/dn, x1 still nothing
            assert _svg_text(browser, slot["n"]) == f"grad {g4(DO_DN)}"
            assert _svg_text(browser, slot["x1"]) == "grad 0"
            used = browser.execute_script(
                "return Array.from(document.querySelectorAll('.mg-used')).map(e => e.id)"
            )
            assert len(used) == 1
    assert len(set(seen)) == len(stepper.frames)  # every frame has its own caption
    assert seen[1].startswith("o = tanh(n)")
    final = seen[-1]
    assert final.startswith("every grad is final")
    for name, grad in EXPECTED_LEAF_GRADS.items():
        assert f"{name}.grad = {g4(grad)}" in final
        assert _svg_text(browser, slot[name]) == f"grad {g4(grad)}"
    assert browser.find_element("css selector", "button[data-act=next]").get_attribute("disabled")
    # no resource was fetched by the page
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_the_page_puts_the_legend_in_a_group_of_its_own() -> None:
    svg = re.search(r"<svg.*</svg>", BackwardStepper(neuron()[0]).html, re.DOTALL)
    assert svg is not None
    legend = re.search(r'<g class="mg-legend">(.*?)</g>', svg.group(0), re.DOTALL)
    assert legend is not None
    assert "backward view: gradients flow from o back to the inputs" in legend.group(1)
    assert "<g " not in legend.group(1)  # the legend alone: no node or edge went in with it
    from microgradnn.viz import draw_dot
    from microgradnn.viz.stepper import _svg_body

    bare = draw_dot(neuron()[0], "backward", legend=False).pipe(format="svg").decode()
    assert _svg_body(bare).count("<g ") == bare[bare.index("<svg") :].count("<g ")


@pytest.mark.browser
def test_browser_a_wide_picture_keeps_its_legend_in_view(browser: Any, tmp_path: Path) -> None:
    """Scrolled sideways to the node that runs, the picture still shows its legend at the left
    of what is visible, in the legend's own band above the graph (over no node)."""
    o, _ = neuron()
    path = BackwardStepper(o).save(tmp_path / "steps.html")
    browser.set_window_size(1000, 900)
    try:
        browser.get(path.resolve().as_uri() + "#step=1")  # tanh's step: o and n, at the right
        where = """
            var box = document.querySelector('.mg-svg').getBoundingClientRect();
            var t = document.querySelector('.mg-legend text').getBoundingClientRect();
            var top = Math.min.apply(null, Array.from(document.querySelectorAll('g.node'))
                .map(function (e) { return e.getBoundingClientRect().top; }));
            return [document.querySelector('.mg-svg').scrollLeft, box.left, box.right,
                    t.left, t.right, t.bottom, top];
        """
        scrolled, left, right, t_left, t_right, t_bottom, nodes_top = browser.execute_script(where)
        assert scrolled > 100  # the picture is wider than the window, scrolled to the right
        assert left <= t_left < left + 40  # the title in view, at the visible part's left
        assert t_right <= right
        assert t_bottom < nodes_top
        browser.execute_script(
            "var b = document.querySelector('.mg-svg'); b.scrollLeft = 0;"
            "b.dispatchEvent(new Event('scroll'));"
        )
        moved = browser.execute_script(
            "return document.querySelector('.mg-legend').getAttribute('transform')"
        )
        assert moved == "translate(0 0)"  # back at the picture's left end, where graphviz put it
    finally:
        browser.set_window_size(1400, 900)


@pytest.mark.browser
def test_browser_the_legend_sits_beside_a_picture_where_there_is_room(
    browser: Any, tmp_path: Path
) -> None:
    """A top-to-bottom picture scrolls down to the output; where the stepper has room, its
    legend sits beside the picture (out of the scrolling box, the band cut off the picture),
    and without room it goes back into its band, the picture whole again."""
    o, _ = neuron()
    page = BackwardStepper(o, rankdir="TB").save(tmp_path / "steps.html")
    source = re.search(r'<svg[^>]*viewBox="([^"]+)"', page.read_text(encoding="utf-8"))
    assert source is not None
    layout = """
        var box = document.querySelector('.mg-svg'), svg = box.querySelector('svg');
        var own = document.querySelector('.mg-legend-svg');
        var r = function (e) { var q = e.getBoundingClientRect();
                               return [q.left, q.top, q.right, q.bottom]; };
        var rects = Array.from(svg.querySelectorAll('g.node, g.edge')).map(function (e) {
            return e.getBoundingClientRect(); });
        var edge = function (k, f) { return f.apply(null, rects.map(function (q) {
            return q[k]; })); };
        return {box: r(box), svg: r(svg), own: own && document.contains(own) ? r(own) : null,
                title: r(document.querySelector('.mg-legend text')),
                inside: !!box.querySelector('.mg-legend'), top: edge('top', Math.min),
                left: edge('left', Math.min), right: edge('right', Math.max),
                viewBox: svg.getAttribute('viewBox'), height: innerHeight};
    """
    browser.set_window_size(1400, 600)
    try:
        browser.get(page.resolve().as_uri())
        wide = browser.execute_script(layout)
        assert wide["own"] is not None
        assert not wide["inside"]
        assert wide["own"][2] <= wide["box"][0]  # beside the box, to its left
        assert wide["own"][1] <= wide["title"][1]
        assert wide["title"][3] <= wide["height"]
        assert wide["viewBox"] != source.group(1)  # the band is cut off the picture ...
        assert wide["top"] >= wide["svg"][1]  # ... and no node or edge with it, nor at the sides
        assert wide["svg"][0] - 1 <= wide["left"]
        assert wide["right"] <= wide["svg"][2] + 1
        browser.set_window_size(700, 600)
        deadline = time.monotonic() + 5  # the page's resize observer moves it back
        narrow = browser.execute_script(layout)
        while narrow["own"] is not None and time.monotonic() < deadline:
            time.sleep(0.1)
            narrow = browser.execute_script(layout)
        assert narrow["own"] is None
        assert narrow["inside"]
        assert narrow["viewBox"] == source.group(1)  # the picture whole, as graphviz drew it
    finally:
        browser.set_window_size(1400, 900)


@pytest.mark.browser
def test_browser_keyboard_slider_and_hash(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    x = Value(3.0, label="x")
    y = x * x + 2 * x
    y.label = "y"
    stepper = BackwardStepper(y)
    path = stepper.save(tmp_path / "xx.html")
    n = len(stepper.frames)
    browser.get(path.resolve().as_uri() + "#step=2")
    steps = n - 2
    assert _text(browser, ".mg-counter") == f"Step 2 of {steps}"
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.END)
    assert _text(browser, ".mg-counter") == "Done"
    data = page_data(path.read_text(encoding="utf-8"))
    sum_slot = next(s for s in data["slots"] if s.endswith("_v0sum"))
    assert _svg_text(browser, sum_slot) == "= 2 + 3 + 3"  # dy/dx = 2x + 2 at x = 3
    body.send_keys(Keys.ARROW_LEFT)
    assert _text(browser, ".mg-counter") == f"Step {steps} of {steps}"
    body.send_keys(Keys.HOME)
    assert _text(browser, ".mg-counter") == "Start"
    assert _svg_text(browser, sum_slot) == "= … + … + …"
    browser.execute_script(
        "var s = document.querySelector('input[type=range]'); s.value = 2;"
        "s.dispatchEvent(new Event('input'));"
    )
    assert _text(browser, ".mg-counter") == f"Step 2 of {steps}"
    assert _svg_text(browser, sum_slot) == "= 2 + … + …"


@pytest.mark.browser
def test_browser_steppers_on_one_page_are_independent(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    o, _ = neuron()
    a, b = BackwardStepper(o), BackwardStepper(o)
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        f"{a.html}{b.html}{a.html}</body></html>"
    )
    path = tmp_path / "two.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.resolve().as_uri())
    first, second, again = browser.find_elements(By.CSS_SELECTOR, ".mg-stepper")
    first.find_element(By.CSS_SELECTOR, "button[data-act=next]").click()
    again.find_element(By.CSS_SELECTOR, "button[data-act=last]").click()
    assert first.find_element(By.CSS_SELECTOR, ".mg-counter").text == "Step 1 of 5"
    assert second.find_element(By.CSS_SELECTOR, ".mg-counter").text == "Start"
    assert again.find_element(By.CSS_SELECTOR, ".mg-counter").text == "Done"
    for stepper in (first, second, again):  # every copy's script ran
        assert not stepper.find_element(By.CSS_SELECTOR, ".mg-note").is_displayed()


@pytest.mark.browser
def test_browser_a_hostile_label_does_not_break_the_page(browser: Any, tmp_path: Path) -> None:
    x = Value(2.0, label="<!--<script>")
    y = x * x
    y.label = "</script><b>&amp;"
    stepper = BackwardStepper(y)
    page = stepper.page()
    assert "<!--<script>" not in page  # neither raw in the JSON nor in the SVG
    assert page_data(page)["n"] == len(stepper.frames)
    path = tmp_path / "hostile.html"
    path.write_text(page, encoding="utf-8")
    browser.get(path.resolve().as_uri())
    assert _text(browser, ".mg-counter") == "Start"
    _click(browser, "next")
    assert _text(browser, ".mg-counter") == "Step 1 of 1"
    assert "</script><b>&amp;" in _text(browser, ".mg-caption")
    assert browser.execute_script("return document.querySelectorAll('b').length") == 0


# -- stepping a network neuron by neuron ----------------------------------------------------------


def mlp_241() -> tuple[MLP, Value, list[float]]:
    model = MLP(2, [4, 1], activation="tanh", seed=0)
    x = [0.5, -1.0]
    out = model(x)
    assert isinstance(out, Value)
    loss = (out - 1.0) ** 2
    loss.label = "loss"
    loss.backward()
    return model, loss, x


def numpy_241(model: MLP, x: list[float]) -> dict[str, Any]:
    """Forward and backward of the 2-4-1 net and loss (out - 1)**2 by hand, with numpy."""
    w1 = np.array([[w.data for w in n.w] for n in model.layers[0].neurons])
    b1 = np.array([n.b.data for n in model.layers[0].neurons])
    w2 = np.array([w.data for w in model.layers[1].neurons[0].w])
    a1 = np.tanh(w1 @ np.array(x) + b1)
    out = float(w2 @ a1 + model.layers[1].neurons[0].b.data)
    z2_grad = 2.0 * (out - 1.0)
    a1_grad = z2_grad * w2
    z1_grad = a1_grad * (1.0 - a1**2)
    return {
        "a1": a1,
        "a1_grad": a1_grad,
        "z1_grad": z1_grad,
        "w2": w2,
        "z2_grad": z2_grad,
        "w1_grad": np.outer(z1_grad, x),
        "w2_grad": z2_grad * a1,
    }


def neuron_nodes(order: list[Value], neuron: Any) -> list[int]:
    """A neuron's op nodes, found here by structure alone: the products reading its weights,
    the Σ they feed and the activation reading that Σ (if any)."""
    index = {id(v): i for i, v in enumerate(order)}
    prods = [i for i, v in enumerate(order) if any(p is w for w in neuron.w for p in v._prev)]
    (z,) = {i for i, v in enumerate(order) if any(index.get(id(p)) in prods for p in v._prev)}
    acts = [i for i, v in enumerate(order) if any(p is order[z] for p in v._prev)]
    mine = [*prods, z]
    if neuron.activation_name != "linear":
        mine.append(acts[0])
    return sorted(mine)


def test_a_2_4_1_mlp_steps_neuron_by_neuron_in_a_handful_of_frames() -> None:
    model, loss, x = mlp_241()
    ref = numpy_241(model, x)
    order = loss.topological_order()
    before = [v.grad for v in order]
    frames = backward_steps(loss, model=model, cluster="neuron")
    assert [v.grad for v in order] == before  # your grads are untouched
    node_by_node = backward_steps(loss)
    assert len(node_by_node) == 25
    assert [f.counter for f in frames] == ["Start"] + [f"Step {k} of 7" for k in range(1, 8)] + [
        "Done"
    ]
    # the loss's two ops, then the output neuron, then the hidden neurons in index order
    neurons = [model.layers[1].neurons[0], *model.layers[0].neurons]
    for f, neuron_ in zip(frames[3:8], neurons, strict=True):
        assert sorted(f.nodes) == neuron_nodes(order, neuron_)
    assert frames[3].explanation.startswith("neuron L1.N0 (linear)")
    for i in range(4):
        assert frames[3 + 1 + i].explanation.startswith(f"neuron L0.N{i} (tanh)")
    # after the output neuron's step, each hidden neuron's output has its whole grad
    outs = [neuron_nodes(order, n)[-1] for n in model.layers[0].neurons]
    assert [frames[3].grads[i] for i in outs] == pytest.approx(list(ref["a1_grad"]), rel=1e-12)
    assert all(frames[2].grads[i] == 0.0 for i in outs)
    for i in range(4):
        assert (
            f"L0.N{i}: out.grad += {g4(ref['z2_grad'])} × {g4(ref['w2'][i])} (w{i}) = "
            f"{g4(ref['a1_grad'][i])}" in frames[3].explanation
        )
    # the last frame holds numpy's gradients for every weight
    last = frames[-1].grads
    for j, neuron_ in enumerate(model.layers[0].neurons):
        got = [last[order.index(w)] for w in neuron_.w]
        assert got == pytest.approx(list(ref["w1_grad"][j]), rel=1e-12)
        assert f"z.grad = {g4(ref['a1_grad'][j])} × " in frames[4 + j].explanation
    got = [last[order.index(w)] for w in model.layers[1].neurons[0].w]
    assert got == pytest.approx(list(ref["w2_grad"]), rel=1e-12)
    by_layer = backward_steps(loss, model=model, cluster="layer")
    assert [f.counter for f in by_layer] == ["Start"] + [f"Step {k} of 4" for k in range(1, 5)] + [
        "Done"
    ]
    assert by_layer[3].explanation.startswith("layer 1 (1 × linear)")
    assert by_layer[4].explanation.startswith("layer 0 (4 × tanh)")
    assert by_layer[-1].grads == pytest.approx(frames[-1].grads, rel=1e-12)


def test_stepping_a_network_needs_its_model_and_one_example() -> None:
    model, loss, _ = mlp_241()
    with pytest.raises(ValueError, match=r"cluster='neuron' needs model="):
        backward_steps(loss, cluster="neuron")
    with pytest.raises(ValueError, match="cluster: expected one of None, 'neuron', 'layer'"):
        BackwardStepper(loss, model=model, cluster="block")
    X = [[0.5, -1.0], [1.0, 0.2], [-0.3, 0.8]]  # noqa: N806
    batch = mse_loss([model(x) for x in X], [1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"calls each neuron 3 times \(a loss over 3 examples\)"):
        backward_steps(batch, model=model, cluster="neuron")


@needs_dot
def test_the_page_has_one_counter() -> None:
    o, _ = neuron()
    model, loss, _ = mlp_241()
    for page in (backward_html(o), backward_html(loss, model=model, cluster="neuron")):
        assert page.count('class="mg-counter"') == 1
        assert not re.search(r"frame \d+ / \d+", page)
        data = page_data(page)
        for f in data["frames"]:
            assert not re.match(r"(Step \d+ of \d+|Start|Done)\b", f["caption"])
        assert len({f["counter"] for f in data["frames"]}) == data["n"]


@pytest.mark.browser
def test_browser_steps_a_network_neuron_by_neuron(browser: Any, tmp_path: Path) -> None:
    model, loss, x = mlp_241()
    ref = numpy_241(model, x)
    stepper = BackwardStepper(loss, model=model, cluster="neuron")
    path = stepper.save(tmp_path / "net.html")
    page = path.read_text(encoding="utf-8")
    data = page_data(page)
    prefix = re.search(r'id="(mg\w+_)stepper"', page).group(1)  # type: ignore[union-attr]
    order = loss.topological_order()
    outs = [neuron_nodes(order, n)[-1] for n in model.layers[0].neurons]
    zs = [neuron_nodes(order, n)[-2] for n in model.layers[0].neurons]
    browser.get(path.resolve().as_uri())
    assert _text(browser, ".mg-counter") == "Start"
    for _ in range(2):
        _click(browser, "next")
    assert _text(browser, ".mg-counter") == "Step 2 of 7"
    amounts = [s for s in data["slots"] if s.endswith("amount")]
    assert len(amounts) == 4  # z.grad × w beside each of the output neuron's weights
    assert {_svg_text(browser, s) for s in amounts} == {"← …"}
    _click(browser, "next")
    assert _text(browser, ".mg-counter") == "Step 3 of 7"
    assert _text(browser, ".mg-caption").startswith("neuron L1.N0 (linear)")
    cur = browser.execute_script(
        "return Array.from(document.querySelectorAll('.mg-cur')).map(e => e.id)"
    )
    assert cur == [prefix + "n4"]  # the output neuron's box
    used = browser.execute_script(
        "return Array.from(document.querySelectorAll('.mg-used')).map(e => e.id)"
    )
    assert len(used) == 4  # the edges from the four hidden neurons
    texts = sorted(_svg_text(browser, s) for s in amounts)
    assert texts == sorted(f"← {g4(ref['z2_grad'] * w)}" for w in ref["w2"])
    for i, o in enumerate(outs):
        assert _svg_text(browser, f"{prefix}v{o}grad") == f"out.grad {g4(ref['a1_grad'][i])}"
        assert _svg_text(browser, f"{prefix}v{zs[i]}grad") == "z.grad 0"  # not its step yet
    for i in range(4):
        _click(browser, "next")
        assert _text(browser, ".mg-caption").startswith(f"neuron L0.N{i} (tanh)")
        assert _svg_text(browser, f"{prefix}v{zs[i]}grad") == f"z.grad {g4(ref['z1_grad'][i])}"
    _click(browser, "next")
    assert _text(browser, ".mg-counter") == "Done"
    assert browser.find_elements("css selector", ".mg-pending") == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0


@pytest.mark.browser
def test_browser_compare_page_drives_both_steppers_and_marks_the_difference(
    browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    from microgradnn import zoo
    from microgradnn.viz.stepper import compare_backward

    x, y = zoo.TanhUsesInput(0.7, label="x"), zoo.TanhUsesInput(-1.2, label="y")
    a = x * y
    n = a * 1.5 + a * -0.5 + x
    n.label = "n"
    o = n.tanh()  # its planted bug: the tanh closure uses the input, not the output
    comparison = compare_backward(o)
    stop = comparison.first_difference
    assert stop is not None
    path = comparison.save(tmp_path / "compare.html")
    browser.get(path.resolve().as_uri())
    root = browser.find_element(By.CSS_SELECTOR, ".mg-compare")

    def frame() -> int:
        return int(root.get_attribute("data-frame"))

    def panes() -> list[int]:
        sliders = root.find_elements(By.CSS_SELECTOR, ".mg-pane .mg-stepper input[type=range]")
        return [int(s.get_attribute("value")) for s in sliders]

    def marked() -> list[str]:
        return [e.get_attribute("id") for e in root.find_elements(By.CSS_SELECTOR, ".mg-diff")]

    def press(act: str) -> None:
        root.find_element(By.CSS_SELECTOR, f".mg-compare-controls [data-act={act}]").click()

    counter = root.find_element(By.CSS_SELECTOR, ".mg-compare-counter")
    # it opens at the first difference, the differing grad marked in both panes
    assert frame() == stop
    assert counter.text == f"frame {stop}: the first difference"
    assert panes() == [stop, stop]
    names = comparison.correct[0].analysis.names
    want = sorted(f"v{i}grad" for i in comparison.differing[stop])
    assert [names[i] for i in comparison.differing[stop]] == ["n"]
    assert sorted(m.split("_")[-1] for m in marked()) == sorted(want * 2)
    press("first")  # every grad agrees before the bug's step: nothing is marked
    assert (frame(), panes(), marked()) == (0, [0, 0], [])
    assert counter.text == f"frame 0 of {comparison.page_data()['n'] - 1}"
    press("next")
    assert (frame(), panes()) == (1, [1, 1])
    press("difference")
    assert (frame(), len(marked())) == (stop, 2)
    press("first")
    press("play")  # play stops by itself at the first difference
    assert root.find_element(By.CSS_SELECTOR, "[data-act=play]").text == "pause"
    deadline = time.monotonic() + 1.2 * stop + 5  # a frame every 1.2 s
    while time.monotonic() < deadline:
        if root.find_element(By.CSS_SELECTOR, "[data-act=play]").text == "play":
            break
        time.sleep(0.2)
    assert frame() == stop
    assert root.find_element(By.CSS_SELECTOR, "[data-act=play]").text == "play"
    # One set of controls drives both: a pane shows only its zoom button and its own counter.
    for controls in root.find_elements(By.CSS_SELECTOR, ".mg-pane .mg-controls"):
        shown = [
            e.get_attribute("data-act") or e.get_attribute("class")
            for e in controls.find_elements(By.XPATH, "./*")
            if e.is_displayed()
        ]
        assert shown == ["zoom", "mg-counter"]
