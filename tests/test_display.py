"""Every picture displays everywhere: mime bundles, text lines, no exceptions, GitHub's view.

Graph pictures, the stepper and the training plots each carry what every front-end needs:
SVG and PNG (an untrusted JupyterLab, GitHub and nbviewer show the PNG), the stepper's HTML with
a PNG ``<img>`` inside that survives sanitizing, and a ``text/plain`` that says what the picture
is. Without graphviz's ``dot`` the display is that text and how to install graphviz, never an
exception. The "GitHub check" strips every HTML output of the committed notebooks as GitHub's
sanitizer does (scripts, styles, event handlers and unknown tags go) and requires an image to
remain in every picture output. The browser side (JupyterLab, trusted and untrusted) is in
``tests/test_jupyterlab.py``.
"""

from __future__ import annotations

import base64
import html
import json
import pickle
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import graphviz
import pytest

from microgradnn import Value
from microgradnn.viz import BackwardStepper, GraphPicture, draw_dot
from microgradnn.viz.display import (
    INSTALL_HINT,
    GraphvizNotFoundError,
    PictureFacts,
    mime_bundle,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SVG, PNG, HTML, TEXT = "image/svg+xml", "image/png", "text/html", "text/plain"
ADDRESS = re.compile(r"<[\w.]+ (object )?at 0x[0-9a-fA-F]+>")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz `dot` not installed")


def neuron() -> Value:
    """micrograd's neuron: o = tanh(x1*w1 + x2*w2 + b), 10 Values and 5 ops."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return o


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def shell_format(obj: object) -> dict[str, Any]:
    """What IPython (a Jupyter kernel) would send the front-end for ``obj``."""
    interactiveshell = pytest.importorskip("IPython.core.interactiveshell")
    shell = interactiveshell.InteractiveShell.instance()
    try:
        data, _ = shell.display_formatter.format(obj)
    finally:
        interactiveshell.InteractiveShell.clear_instance()
    return dict(data)


@pytest.fixture
def no_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """graphviz's ``dot`` is not on PATH (as on a fresh laptop after ``pip install``)."""
    monkeypatch.setenv("PATH", str(tmp_path))


# -- graph pictures -------------------------------------------------------------------------------


@needs_dot
def test_graph_bundle_has_svg_png_and_a_useful_text_line() -> None:
    o = neuron()
    order = o.topological_order()
    values, ops = len(order), sum(1 for v in order if v._op is not None)
    assert (values, ops) == (10, 5)
    before = shell_format(draw_dot(o))
    assert set(before) == {SVG, PNG, TEXT}
    assert before[SVG].lstrip().startswith("<?xml")
    assert before[TEXT] == (
        f"graph of o (forward view): {values} values, {ops} ops; "
        "grads not computed yet: call o.backward()"
    )
    o.backward()
    after = shell_format(draw_dot(o, "backward"))
    assert after[TEXT] == f"graph of o (backward view): {values} values, {ops} ops; grads computed"
    # the PNG is the same picture as the SVG (its natural size in the viewBox, in pt; a wide one
    # fits the output's width): dot draws 1 pt as 96/72 px
    m = re.search(r'<svg width="[^"]+"[^>]*?viewBox="0\.00 0\.00 ([\d.]+) ([\d.]+)"', after[SVG])
    assert m is not None
    width, height = png_size(after[PNG])
    assert abs(width - float(m.group(1)) * 96 / 72) <= 2
    assert abs(height - float(m.group(2)) * 96 / 72) <= 2


def test_text_line_counts_what_is_drawn_and_says_what_to_do() -> None:
    g = draw_dot(neuron(), hide_constants=True)
    assert not ADDRESS.search(repr(g))
    assert repr(g) == f"<GraphPicture: {g.summary}>"
    g.facts = PictureFacts(root="x1*w1 + b", view="forward", grads_computed=False)
    assert g.summary.endswith("grads not computed yet: call backward() on the output")
    g.facts = None
    assert g.summary == "graph picture: 10 values, 5 ops"
    assert GraphPicture().summary == "graph picture: 0 DOT statements"


@needs_dot
def test_each_format_is_rendered_once_until_the_graph_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    pipe = graphviz.Digraph.pipe

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("format", ""))
        return pipe(self, *args, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "pipe", counting)
    g = draw_dot(neuron())
    first = g._repr_mimebundle_()
    assert sorted(calls) == ["png", "svg"]
    again = g._repr_mimebundle_()
    assert sorted(calls) == ["png", "svg"]  # nothing rendered twice
    assert again == first
    g.node("extra", label="a node added after drawing")  # a Digraph stays mutable
    changed = g._repr_mimebundle_()
    assert sorted(calls) == ["png", "png", "svg", "svg"]
    assert "a node added after drawing" in changed[SVG]
    assert g._repr_mimebundle_(include=[PNG]).keys() == {PNG}
    assert g._repr_mimebundle_(exclude=[SVG, PNG]).keys() == {TEXT}
    assert len(calls) == 4


@pytest.mark.usefixtures("no_dot")
def test_without_dot_display_is_text_only_and_never_raises() -> None:
    o = neuron()
    g = draw_dot(o)
    data = shell_format(g)
    assert set(data) == {TEXT}
    text = data[TEXT]
    assert text.startswith("graph of o (forward view): 10 values, 5 ops")
    assert INSTALL_HINT in text
    assert f"{len(g.source):,} characters" in text
    stepper = BackwardStepper(o)
    data = shell_format(stepper)
    assert set(data) == {TEXT}
    assert data[TEXT].startswith("BackwardStepper of o: ")
    assert data[TEXT].splitlines()[-1] == f"No picture: {INSTALL_HINT}"
    assert stepper._repr_html_() is None


def test_a_graph_dot_cannot_draw_displays_dots_error() -> None:
    g = draw_dot(neuron())
    g.body.append("\tthis is { not DOT\n")
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed")
    data = shell_format(g)
    assert set(data) == {TEXT}
    assert "No picture: graphviz's `dot` failed: Error" in data[TEXT]


def test_mime_bundle_falls_back_to_text_saying_why() -> None:
    def missing() -> bytes:
        raise GraphvizNotFoundError(INSTALL_HINT)

    def failing() -> bytes:
        raise subprocess.CalledProcessError(1, ["dot"], stderr=b"Error: syntax error in line 3\n")

    assert mime_bundle({PNG: lambda: b"png"}, "what it is") == {PNG: b"png", TEXT: "what it is"}
    assert mime_bundle({PNG: lambda: b"png"}, "what it is", include=[TEXT]) == {TEXT: "what it is"}
    assert mime_bundle({SVG: lambda: "<svg/>", PNG: missing}, "it", no_picture="Save it.") == {
        TEXT: f"it\nNo picture: {INSTALL_HINT} Save it."
    }
    assert mime_bundle({PNG: failing}, "it") == {
        TEXT: "it\nNo picture: graphviz's `dot` failed: Error: syntax error in line 3"
    }


# -- the stepper ----------------------------------------------------------------------------------


@needs_dot
def test_stepper_bundle_is_html_with_a_picture_inside_plus_png_and_text() -> None:
    stepper = BackwardStepper(neuron())
    data = shell_format(stepper)
    assert set(data) == {HTML, PNG, TEXT}
    n = len(stepper.frames)
    assert data[TEXT].startswith("BackwardStepper of o: backward() one chain-rule step at a time")
    assert f"{n} frames (the seed, {n - 2} steps, done)" in data[TEXT]
    assert ".save(" in data[TEXT]
    fragment = data[HTML]
    assert fragment == stepper.html == stepper._repr_html_()
    # the still picture inside the HTML is the bundle's PNG: the last frame
    imgs = re.findall(r'<img class="mg-still"[^>]* src="data:image/png;base64,([^"]+)"', fragment)
    assert len(imgs) == 1
    assert base64.b64decode(imgs[0]) == data[PNG]
    width, height = png_size(data[PNG])
    assert width > 300
    assert height > 100
    # where scripts are stripped, the live controls and SVG stay hidden (they would be a wall
    # of text once a sanitizer drops <svg>); the script un-hides them
    assert re.search(r'<div class="mg-controls" hidden="hidden">', fragment)
    assert re.search(r'<div class="mg-svg" hidden="hidden"><svg', fragment)
    assert "e.hidden = false" in fragment


@needs_dot
def test_stepper_note_says_how_to_trust_in_each_front_end() -> None:
    note = re.search(r'<div class="mg-note">(.*?)</div>', BackwardStepper(neuron()).html, re.S)
    assert note is not None
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", "", note.group(1))).split())
    assert "JupyterLab: run Trust Notebook from the command palette" in text
    assert "(View > Activate Command Palette, or Ctrl+Shift+C)" in text
    assert "Jupyter Notebook 7: File > Trust Notebook" in text
    assert "VS Code: trust the notebook when it asks" in text
    assert "JupyterLab's HTML viewer: click Trust HTML" in text
    assert "open it in a web browser" in text
    # JupyterLab 4 has no File > Trust Notebook: the old advice, and its re-run, are gone
    assert "JupyterLab: File" not in text
    assert "re-run" not in text


@needs_dot
def test_standalone_page_needs_no_image_and_shows_its_svg(tmp_path: Path) -> None:
    stepper = BackwardStepper(neuron())
    page = stepper.page()
    assert "<img" not in page  # a browser runs the script; without it the SVG still shows
    assert 'hidden="hidden"' not in page
    assert page.count("<script>") == 1
    assert "Trust HTML" in page
    assert stepper.save(tmp_path / "s.html").read_text(encoding="utf-8") == page


# -- training plots -------------------------------------------------------------------------------


@pytest.fixture
def agg() -> Any:
    matplotlib = pytest.importorskip("matplotlib", reason="plots need matplotlib")
    plt = pytest.importorskip("matplotlib.pyplot")
    old = matplotlib.get_backend()
    plt.switch_backend("agg")
    yield plt
    plt.close("all")
    plt.switch_backend(old)


def test_figures_carry_png_and_text_and_render_once(
    agg: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microgradnn.train import History
    from microgradnn.viz import plot_loss

    fig = plot_loss(History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], train_acc=[0.5, 0.9]))
    assert agg.get_fignums() == []  # not pyplot's: a notebook shows it once, as the cell's output
    data = shell_format(fig)
    assert set(data) >= {PNG, TEXT}
    width, height = png_size(data[PNG])
    assert width > 600
    assert height > 250
    assert data[TEXT] == "figure (2 panels: loss, accuracy); save it with fig.savefig('plot.png')"
    assert not ADDRESS.search(repr(fig))
    saves: list[int] = []
    savefig = type(fig).savefig

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        saves.append(1)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(type(fig), "savefig", counting)
    first = fig._repr_mimebundle_()
    assert fig._repr_mimebundle_() == first
    assert first[PNG] == data[PNG]
    assert saves == []  # drawn once, by the first display
    fig.axes[0].set_title("loss, retitled")
    retitled = fig._repr_mimebundle_()
    assert saves == [1]
    assert retitled[PNG] != first[PNG]
    assert "loss, retitled" in retitled[TEXT]
    assert type(pickle.loads(pickle.dumps(fig))).__name__ == "PlotFigure"


def test_plt_show_shows_the_figures_in_a_script_with_a_window_backend() -> None:
    plt = pytest.importorskip("matplotlib.pyplot", reason="plots need matplotlib")
    pytest.importorskip("tornado", reason="the webagg backend needs tornado")
    from microgradnn.viz import plot_loss

    old = plt.get_backend()
    plt.switch_backend("webagg")  # a backend that opens windows (in a browser), no display needed
    try:
        fig = plot_loss([1.0, 0.5, 0.25])
        assert fig.number in plt.get_fignums()  # what plt.show() shows
        assert plt.gcf() is fig
    finally:
        plt.close("all")
        plt.switch_backend(old)


# -- GitHub's view of the committed notebooks -----------------------------------------------------

# GitHub's HTML sanitizer (html-pipeline's allow-list, as its notebook renderer applies it to
# outputs): scripts and styles go with their content, other unknown tags go but leave their text,
# event handlers and style attributes go; <img> keeps a src.
_ALLOWED_TAGS = (
    "a abbr b bdo blockquote br caption cite code dd del details dfn div dl dt em figcaption "
    "figure h1 h2 h3 h4 h5 h6 hr i img input ins kbd li mark ol p pre q rp rt ruby s samp small "
    "span strike strong sub summary sup table tbody td tfoot th thead time tr tt ul var wbr"
)
_ALLOWED = set(_ALLOWED_TAGS.split())
_DROPPED_WITH_CONTENT = {"script", "style"}
# nbconvert's display priority, which GitHub and nbviewer follow: the first entry present shows.
_PRIORITY = ("text/html", "image/svg+xml", "image/png", "image/jpeg", "text/plain")


class GitHubSanitizer(HTMLParser):
    """Keeps what GitHub's sanitizer keeps of an HTML output: allowed tags, their text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.kept: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self._dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping += 1
        elif not self._dropping and tag in _ALLOWED:
            clean = {k: v or "" for k, v in attrs if not k.startswith("on") and k != "style"}
            self.kept.append((tag, clean))

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED_WITH_CONTENT:
            self._dropping = max(0, self._dropping - 1)

    def handle_data(self, data: str) -> None:
        if not self._dropping:
            self.text.append(data)


def sanitized_images(fragment: str) -> list[str]:
    """The ``src`` of each image left in ``fragment`` after GitHub-like sanitizing."""
    parser = GitHubSanitizer()
    parser.feed(fragment)
    parser.close()
    return [a["src"] for tag, a in parser.kept if tag == "img" and a.get("src", "").strip()]


def _joined(value: str | list[str]) -> str:
    return value if isinstance(value, str) else "".join(value)


def picture_problems(nb: dict[str, Any]) -> list[str]:
    """Why a picture output would show no image on GitHub (empty: every picture shows)."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            text = _joined(data.get("text/plain", ""))
            if ADDRESS.search(text):
                problems.append(f"cell {i}: shown as {ADDRESS.search(text).group(0)}")  # type: ignore[union-attr]
            shown = next((m for m in _PRIORITY if m in data), None)
            if shown == "text/html":
                fragment = _joined(data["text/html"])
                looks_like_picture = "<svg" in fragment or "<img" in fragment
                images = [s for s in sanitized_images(fragment) if s.startswith("data:image/")]
                if looks_like_picture and not images:
                    problems.append(f"cell {i}: its HTML has no image left once sanitized")
            elif shown in ("image/png", "image/jpeg"):
                raw = base64.b64decode(_joined(data[shown]))
                if not raw:
                    problems.append(f"cell {i}: empty {shown}")
            elif shown == "image/svg+xml" and "<svg" not in _joined(data[shown]):
                problems.append(f"cell {i}: its SVG entry holds no <svg>")
    return problems


def test_the_github_check_catches_what_github_would_not_show() -> None:
    svg = '<svg width="10pt" height="10pt"><text>grad 0.5</text></svg>'
    old_stepper = {"text/html": f'<div class="mg-stepper"><div class="mg-svg">{svg}</div></div>'}
    with_img = {"text/html": '<div><img src="data:image/png;base64,iVBORw0KGgo="></div>'}
    in_script = {
        "text/html": '<script>document.write("<img src=data:image/png;base64,x>")</script>'
    }
    address = {"text/plain": "<microgradnn.viz.graph.GraphPicture at 0x7f3a2c1d0e50>"}

    def nb(*datas: dict[str, str]) -> dict[str, Any]:
        outputs = [{"output_type": "display_data", "data": d, "metadata": {}} for d in datas]
        return {"cells": [{"cell_type": "code", "outputs": outputs}]}

    assert picture_problems(nb(with_img)) == []
    assert picture_problems(nb(old_stepper)) == [
        "cell 0: its HTML has no image left once sanitized"
    ]
    assert picture_problems(nb(address)) == [
        "cell 0: shown as <microgradnn.viz.graph.GraphPicture at 0x7f3a2c1d0e50>"
    ]
    assert sanitized_images(in_script["text/html"]) == []
    assert sanitized_images('<p onclick="x()"><img src="data:image/png;base64,AA" onload="y()">')


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_picture_output_still_shows_an_image_on_github(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert picture_problems(nb) == []


@needs_dot
def test_a_freshly_displayed_stepper_and_graph_pass_the_github_check() -> None:
    o = neuron()
    o.backward()
    datas = [shell_format(draw_dot(o)), shell_format(BackwardStepper(o))]
    outputs = [
        {
            "output_type": "display_data",
            "data": {
                k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in d.items()
            },
            "metadata": {},
        }
        for d in datas
    ]
    assert picture_problems({"cells": [{"cell_type": "code", "outputs": outputs}]}) == []
    images = sanitized_images(datas[1][HTML])
    assert len(images) == 1
    assert images[0].startswith("data:image/png;base64,")


def test_notebook_1_uses_plain_draw_dot_and_shows_the_stepper_inline() -> None:
    source = (ROOT / "notebooks" / "src" / "01_value_and_chain_rule.py").read_text(encoding="utf-8")
    assert "IPython.display" not in source
    assert "pipe(format" not in source
    assert re.search(r"^draw_dot\(z\)$", source, re.M)
    assert re.search(r"^BackwardStepper\(L\b.*\)$", source, re.M)
    nb = json.loads((ROOT / "notebooks" / "01_value_and_chain_rule.ipynb").read_text("utf-8"))
    kinds = [
        frozenset(out.get("data", {}))
        for cell in nb["cells"]
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    ]
    assert kinds.count(frozenset({SVG, PNG, TEXT})) >= 5  # the graphs
    assert kinds.count(frozenset({HTML, PNG, TEXT})) == 1  # the stepper


@needs_dot
def test_graph_png_is_a_small_palette_image_on_white() -> None:
    image_module = pytest.importorskip("PIL.Image", reason="reads the PNG back with Pillow")
    import io

    png = draw_dot(neuron()).rendered("png")
    image = image_module.open(io.BytesIO(png))
    assert image.mode == "P"  # 256 colours: a third of a true-colour PNG's size
    rgb = image.convert("RGB")
    count, background = max(rgb.getcolors(maxcolors=256) or [(0, None)])
    assert background == (255, 255, 255)  # not gd's (252, 254, 252)
    assert count > rgb.width * rgb.height / 2
