"""Pictures that let you watch the chain rule.

- :func:`draw_dot`: the computation graph, forward (values, local derivatives) or backward
  (each edge's ``grad(out) × local``, and how a Value used twice sums its grad); clusters by
  neuron or layer for whole networks. :func:`render` writes it to a file.
- :func:`backward_steps`, :class:`BackwardStepper`, :func:`save_backward_html`: backward, one
  ``_backward()`` at a time, as frames or as an interactive offline HTML page.
- :func:`compare_backward`: your own micrograd-style ``backward()`` beside microgradnn's, step
  by step, stopped at the first step where a number differs.
- :func:`parse_expression`: build a graph from text such as ``"tanh(x*w + b)"`` (the
  ``microgradnn graph`` command, in :mod:`microgradnn.cli`, draws one from the command line).
- :func:`worksheet`, :func:`grade`: a backprop worksheet (values shown, numbered empty gradient
  boxes, printable, with its answer key) and the marks of a student's answers.
- :class:`TrainingView`: record whole training steps (forward, loss, backward, update) and
  replay them in an offline page, ``view.save_html("watch.html")``.
- :mod:`microgradnn.viz.plots`: loss curves, decision boundaries, regression fits as sums of
  units, gradient magnitudes per layer, dead ReLUs (needs matplotlib).

Underneath: :mod:`~microgradnn.viz.analysis` (what a picture says about each node and edge,
shared by the graph pictures and the stepper), :mod:`~microgradnn.viz.clusters` (which neuron and
layer each node belongs to) and :mod:`~microgradnn.viz.text` (number formatting, escaping).

>>> from microgradnn import Value
>>> from microgradnn.viz import draw_dot
>>> x = Value(2.0, label="x")
>>> draw_dot(x.tanh()).source.startswith("digraph")
True
"""

from typing import Any

from microgradnn.viz.expr import ExpressionError, moved_to_cli, parse_expression
from microgradnn.viz.graph import GraphPicture, GraphvizNotFoundError, draw_dot, render
from microgradnn.viz.plots import (
    GradientMonitor,
    count_dead_relus,
    dead_relus,
    plot_dead_relus,
    plot_decision_boundary,
    plot_grad_magnitudes,
    plot_history,
    plot_loss,
    plot_regression_fit,
)
from microgradnn.viz.stepper import (
    BackwardFrame,
    BackwardStepper,
    backward_html,
    backward_steps,
    compare_backward,
    save_backward_html,
)
from microgradnn.viz.watch import TrainingView
from microgradnn.viz.worksheet import Grade, Worksheet, grade, load_worksheet, worksheet

__all__ = [
    "BackwardFrame",
    "BackwardStepper",
    "ExpressionError",
    "Grade",
    "GradientMonitor",
    "GraphPicture",
    "GraphvizNotFoundError",
    "TrainingView",
    "Worksheet",
    "backward_html",
    "backward_steps",
    "compare_backward",
    "count_dead_relus",
    "dead_relus",
    "draw_dot",
    "grade",
    "load_worksheet",
    "parse_expression",
    "plot_dead_relus",
    "plot_decision_boundary",
    "plot_grad_magnitudes",
    "plot_history",
    "plot_loss",
    "plot_regression_fit",
    "render",
    "save_backward_html",
    "worksheet",
]


def __getattr__(name: str) -> Any:
    if name in ("add_graph_arguments", "cli_graph"):
        return moved_to_cli(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
