"""The live Jupyter widget of a :class:`~microgradnn.viz.watch.TrainingView` (needs anywidget).

The front-end holds every recorded step, so play, pause, the four phases, a click on a point and
scrubbing need no kernel (they keep working after the kernel stops); only "train N more steps"
(with a learning rate) goes to Python, which records the steps and sends the view again. The
widget ships one ES module through `anywidget <https://anywidget.dev>`_, which JupyterLab 4,
Notebook 7, VS Code and Colab load without an extension build. It is the optional extra
``pip install 'microgradnn[widget]'``: ``import microgradnn.viz`` does not import this module.

A saved notebook keeps the widget's PNG and a still HTML picture beside it, which GitHub,
nbviewer and an untrusted JupyterLab show; a live view needs its kernel (run the cell again).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from microgradnn.viz.display import HTML, PNG
from microgradnn.viz.watch import page_asset

if TYPE_CHECKING:
    from microgradnn.viz.watch import TrainingView

__all__ = ["MAX_STEPS_PER_REQUEST", "TrainingWidget"]

MAX_STEPS_PER_REQUEST = 1000
"""The most steps one "train" click may ask for (each is recorded in full)."""

_RENDER = """
export default {
  render({ model, el }) {
    let view = null;
    function draw() {
      el.innerHTML = model.get("html");
      const root = el.querySelector(".mw-view");
      view = root ? watch(root, { train(steps, lr) { model.send({ train: steps, lr }); } })
                  : null;
    }
    function answer(msg) { if (view && msg && msg.error) { view.say(msg.error); } }
    draw();
    model.on("change:html", draw);
    model.on("msg:custom", answer);
    return () => { model.off("change:html", draw); model.off("msg:custom", answer); };
  },
};
"""


def _esm() -> str:
    return "const watch = " + page_asset("watch.js").rstrip() + ";\n" + _RENDER


class TrainingWidget(anywidget.AnyWidget):
    """A :class:`TrainingView` as a Jupyter widget; ``view.widget()`` makes one.

    The view stays the one place where steps are recorded: ``view.train(50)`` in a cell and the
    widget's train button both add frames, and every widget of the view shows them.
    """

    _esm = traitlets.Unicode(_esm()).tag(sync=True)
    html = traitlets.Unicode("").tag(sync=True)

    def __init__(self, view: TrainingView) -> None:
        super().__init__()
        self.view = view
        self.refresh()
        self.on_msg(self._on_message)

    def __repr__(self) -> str:
        return f"<TrainingWidget: {self.view.summary}>"

    def refresh(self) -> None:
        """Send the view's recorded steps to the front-end (after new steps)."""
        self.html = self.view.live_html() if self.view.frames else ""

    def _on_message(self, _: Any, content: Any, buffers: Any) -> None:
        try:
            self.handle(content)
        except (TypeError, ValueError) as err:
            self.send({"error": str(err)})

    def handle(self, content: Any) -> None:
        """Act on a front-end message ``{"train": steps, "lr": lr}``: set lr, record the steps."""
        if not isinstance(content, dict) or "train" not in content:
            raise ValueError(f"expected a message {{'train': steps, 'lr': lr}}, got {content!r}")
        steps = content["train"]
        if (
            isinstance(steps, bool)
            or not isinstance(steps, int)
            or not (1 <= steps <= MAX_STEPS_PER_REQUEST)
        ):
            raise ValueError(
                f"steps: expected a whole number from 1 to {MAX_STEPS_PER_REQUEST}, got {steps!r}"
            )
        lr = content.get("lr")
        if lr is not None:
            if (
                isinstance(lr, bool)
                or not isinstance(lr, int | float)
                or not (math.isfinite(lr) and lr >= 0)
            ):
                raise ValueError(f"lr: expected a finite number of at least 0, got {lr!r}")
            self.view.optimizer.lr = float(lr)
        self.view.train(steps)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, meta = bundle if isinstance(bundle, tuple) else (bundle, {})
        still = self.view.still()
        if still is not None:
            png, html = still
            data[PNG] = png
            data[HTML] = html
        return data, meta
