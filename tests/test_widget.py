"""The live Jupyter widget of a TrainingView: messages, refreshes, bundles, and the extra.

The widget's front-end is tested in JupyterLab (tests/test_watch_jupyterlab.py); here the Python
side: a "train" message records steps on the view (the frames are the view's, checked against
the parameters the model ends with), every widget of a view follows ``view.train``, bad
messages answer with an error instead of raising in the kernel, a displayed view becomes the
widget inside a kernel only, and nothing imports anywidget until a widget is asked for.
"""

# ruff: noqa: N806  (X is the data matrix)
from __future__ import annotations

import json
import re
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest

from microgradnn.data import make_moons
from microgradnn.nn import MLP
from microgradnn.viz import TrainingView

anywidget = pytest.importorskip("anywidget", reason="the widget extra (anywidget) is not installed")

from microgradnn.viz.widget import MAX_STEPS_PER_REQUEST, TrainingWidget  # noqa: E402

WIDGET = "application/vnd.jupyter.widget-view+json"


def _view(steps: int = 3) -> TrainingView:
    X, y = make_moons(n=24, noise=0.1, seed=0)
    view = TrainingView(MLP(2, [3, 1], activation="tanh", seed=0), X, y, loss="bce_logits", lr=0.5)
    view.train(steps)
    return view


def _data(html: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" class="mw-data">(.*?)</script>', html, re.S)
    assert m is not None, "no data script in the widget's view"
    return dict(json.loads(m.group(1)))


def test_a_train_message_records_steps_with_the_new_lr_and_resends_the_view() -> None:
    view = _view(3)
    w = view.widget()
    assert isinstance(w, TrainingWidget)
    assert _data(w.html)["n"] == 3
    w.handle({"train": 2, "lr": 0.125})
    assert len(view.frames) == 5
    assert [f.lr for f in view.frames] == [0.5, 0.5, 0.5, 0.125, 0.125]
    data = _data(w.html)
    assert data["n"] == 5
    assert data["lr"][-1] == 0.125
    # The last frame's values are the model's parameters now: what the widget shows is the model.
    after = np.frombuffer(__import__("base64").b64decode(data["values"]), dtype="<f4")
    last = after.reshape(6, -1)[-1]
    np.testing.assert_allclose(last, [p.data for p in view.params], rtol=1e-6)


def test_every_widget_of_a_view_follows_view_train() -> None:
    view = _view(2)
    a, b = view.widget(), view.widget()
    view.train(3)
    assert _data(a.html)["n"] == 5
    assert _data(b.html)["n"] == 5


def test_the_widget_shows_train_controls_the_saved_page_does_not() -> None:
    view = _view(2)
    assert 'data-act="train"' in view.widget().html
    assert 'value="0.5"' in view.widget().html  # starts at the optimizer's lr
    assert 'data-act="train"' not in view.page()


@pytest.mark.parametrize(
    ("message", "wanted"),
    [
        ({"train": 0}, "steps: expected a whole number from 1"),
        ({"train": MAX_STEPS_PER_REQUEST + 1}, "steps: expected"),
        ({"train": True}, "steps: expected"),
        ({"train": "5"}, "steps: expected"),
        ({"train": 2, "lr": -1.0}, "lr: expected a finite number"),
        ({"train": 2, "lr": float("nan")}, "lr: expected a finite number"),
        ({"go": 1}, "expected a message"),
        ("train", "expected a message"),
    ],
)
def test_a_bad_message_answers_with_an_error_and_changes_nothing(
    message: Any, wanted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = _view(2)
    w = view.widget()
    sent: list[Any] = []
    monkeypatch.setattr(w, "send", sent.append)
    w._on_message(w, message, [])
    assert len(view.frames) == 2
    assert view.optimizer.lr == 0.5
    assert len(sent) == 1
    assert wanted in sent[0]["error"]


def test_the_widgets_bundle_carries_its_png_and_a_still_picture() -> None:
    view = _view(3)
    data, _ = view.widget()._repr_mimebundle_()
    assert WIDGET in data
    assert data["image/png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in data["text/html"]
    assert "data:image/png;base64," in data["text/html"]
    assert "step 3" in data["text/html"]


def _fake_kernel(monkeypatch: pytest.MonkeyPatch, kernel: object | None) -> None:
    fake = types.ModuleType("IPython")
    shell = types.SimpleNamespace(kernel=kernel)
    fake.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", fake)


def test_a_displayed_view_is_the_widget_in_a_kernel_and_html_elsewhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = _view(2)
    plain = view._repr_mimebundle_()
    assert WIDGET not in plain
    assert "<script" in plain["text/html"]
    _fake_kernel(monkeypatch, kernel=None)  # IPython in a terminal: no comms
    assert WIDGET not in view._repr_mimebundle_()
    _fake_kernel(monkeypatch, kernel=object())
    data, _ = view._repr_mimebundle_()
    assert WIDGET in data
    assert "image/png" in data


def test_without_anywidget_the_view_stays_html_and_widget_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = _view(2)
    _fake_kernel(monkeypatch, kernel=object())
    monkeypatch.setitem(sys.modules, "anywidget", None)
    monkeypatch.delitem(sys.modules, "microgradnn.viz.widget")
    assert WIDGET not in view._repr_mimebundle_()
    with pytest.raises(ImportError, match=r"microgradnn\[widget\]"):
        view.widget()


def test_importing_the_package_and_viz_does_not_import_anywidget() -> None:
    code = (
        "import sys, microgradnn, microgradnn.viz\n"
        "print(sorted({'anywidget', 'ipywidgets', 'traitlets'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
