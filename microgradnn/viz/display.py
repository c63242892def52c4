"""Showing pictures: rendering with graphviz's ``dot``, and what a picture shows where.

A graph picture is a :class:`GraphPicture` (a ``graphviz.Digraph``); :func:`render` writes one to
a file. Rendering needs graphviz's ``dot`` program, which pip cannot install: without it,
rendering raises :class:`GraphvizNotFoundError`, which says how to install it, and the DOT source
(``.source``) still works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import graphviz

from microgradnn._checks import choice, describe

__all__ = ["INSTALL_HINT", "GraphPicture", "GraphvizNotFoundError", "dot_errors", "render"]

RENDER_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "dot", "gv")

INSTALL_HINT = (
    "graphviz's `dot` program is needed to render pictures (pip cannot install it). "
    "Install it with `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/ "
    "(Windows: add its bin folder to PATH). The DOT source (`graph.source`) works without it."
)


class GraphvizNotFoundError(RuntimeError):
    """Raised when a picture must be rendered but graphviz's ``dot`` program is not installed."""


@contextmanager
def dot_errors() -> Iterator[None]:
    """Turn graphviz's ``ExecutableNotFound`` into a :class:`GraphvizNotFoundError`."""
    try:
        yield
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err


class GraphPicture(graphviz.Digraph):  # type: ignore[misc]  # graphviz ships no type hints
    """A ``graphviz.Digraph`` that says how to install graphviz when ``dot`` is missing.

    Rendering raises :class:`GraphvizNotFoundError` instead of graphviz's bare
    ``ExecutableNotFound``.

    Everything else is graphviz's own API: ``.source`` (DOT text, no ``dot`` needed),
    ``.pipe(format="svg")``, ``.render(...)``, inline display in Jupyter.
    """

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """Render with ``dot`` and return the bytes (or str with ``encoding=``)."""
        with dot_errors():
            return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        """Graphviz's ``render`` (writes the DOT source *and* ``<file>.<format>``)."""
        with dot_errors():
            return super().render(*args, **kwargs)


def render(graph: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:
    """Write ``graph`` to exactly ``path`` (graphviz's own ``.render`` also writes the DOT file).

    Args:
        graph: A picture from :func:`draw_dot` (or any graphviz graph).
        path: Output file; its suffix picks the format unless ``format`` is given: ``.svg``,
            ``.png``, ``.pdf``, ``.jpg``, or ``.dot``/``.gv`` for the DOT source (no ``dot``
            program needed).
        format: Override the format.

    Returns:
        The path written.

    Raises:
        GraphvizNotFoundError: Rendering needs graphviz's ``dot`` program and it is missing.
        ValueError: Unknown format.
    """
    if not isinstance(graph, (graphviz.Digraph, graphviz.Graph, graphviz.Source)):
        raise TypeError(f"graph: expected a graphviz graph (from draw_dot), got {describe(graph)}")
    path = Path(path)
    fmt = choice("format", (format or path.suffix.lstrip(".") or "svg").lower(), RENDER_FORMATS)
    if fmt in ("dot", "gv"):
        path.write_text(graph.source, encoding="utf-8")
        return path
    with dot_errors():
        data = graph.pipe(format=fmt)
    path.write_bytes(data)
    return path
