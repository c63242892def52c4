"""Showing pictures: rendering with graphviz's ``dot``, and what a picture shows where.

A graph picture is a :class:`GraphPicture` (a ``graphviz.Digraph``); :func:`render` writes one to
a file. Rendering needs graphviz's ``dot`` program, which pip cannot install: without it,
rendering raises :class:`GraphvizNotFoundError`, which says how to install it, and the DOT source
(``.source``) still works.

Where a learner looks decides what survives (see :func:`mime_bundle`): a trusted JupyterLab
shows SVG; an untrusted one (a notebook someone sent you), GitHub and nbviewer show PNG and
drop SVG or scripts; a terminal shows text. So a picture offers all three, SVG, PNG and a line
of text that says what it is, and displaying one never raises: without ``dot`` the text says
how to install it.
"""

from __future__ import annotations

import html
import re
import subprocess
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from microgradnn._checks import choice, describe
from microgradnn._files import atomic_write

__all__ = [
    "FIT_WIDTH",
    "INSTALL_HINT",
    "GraphPicture",
    "GraphvizNotFoundError",
    "PictureFacts",
    "dot_errors",
    "fit_width",
    "mime_bundle",
    "render",
    "standalone_page",
]

RENDER_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "dot", "gv")

INSTALL_HINT = (
    "graphviz's `dot` program is needed to render pictures (pip cannot install it). "
    "Install it with `apt install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS), "
    "`conda install -c conda-forge graphviz`, or from https://graphviz.org/download/ "
    "(Windows: add its bin folder to PATH). The DOT source (`graph.source`) works without it."
)

SVG = "image/svg+xml"
PNG = "image/png"
HTML = "text/html"
TEXT = "text/plain"


class GraphvizNotFoundError(RuntimeError):
    """Raised when a picture must be rendered but graphviz's ``dot`` program is not installed."""


@contextmanager
def dot_errors() -> Iterator[None]:
    """Turn graphviz's ``ExecutableNotFound`` into a :class:`GraphvizNotFoundError`."""
    try:
        yield
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(INSTALL_HINT) from err


def _wanted(mime: str, include: Iterable[str] | None, exclude: Iterable[str] | None) -> bool:
    return (include is None or mime in set(include)) and mime not in set(exclude or ())


def mime_bundle(
    renderers: Mapping[str, Callable[[], Any]],
    text: str,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    no_picture: str = "",
) -> dict[str, Any]:
    """The ``_repr_mimebundle_`` of a picture: every format it can show, or text saying why not.

    Jupyter front-ends pick the richest entry they trust: JupyterLab shows ``text/html`` (which
    it sanitizes when the notebook is untrusted, dropping ``<script>``, ``<style>`` and
    ``<svg>``), then ``image/svg+xml`` only when trusted, then ``image/png``; GitHub and
    nbviewer show HTML, SVG or PNG; a terminal shows ``text/plain``. Offering all of them is
    what lets one saved output show everywhere.

    Args:
        renderers: Per mime type, a function that renders it. Rendering errors that mean "no
            picture here" (graphviz's ``dot`` missing or failing) leave the bundle with the
            text alone, never an exception inside the front-end's display.
        text: The ``text/plain`` entry: what the picture is.
        include: Only these mime types (IPython's argument; ``None``: all).
        exclude: Not these mime types.
        no_picture: Added to the text when nothing could be rendered: what still works.

    Returns:
        The bundle, mime type to data.
    """
    bundle: dict[str, Any] = {}
    try:
        for mime, make in renderers.items():
            if _wanted(mime, include, exclude):
                bundle[mime] = make()
    except GraphvizNotFoundError:
        bundle = {}
        text = f"{text}\nNo picture: {INSTALL_HINT}"
        text += f" {no_picture}" if no_picture else ""
    except subprocess.CalledProcessError as err:
        bundle = {}
        stderr = err.stderr or b""
        if isinstance(stderr, bytes):
            stderr = stderr.decode("utf-8", "replace")
        detail = stderr.strip().splitlines()
        text = f"{text}\nNo picture: graphviz's `dot` failed" + (f": {detail[0]}" if detail else "")
        text += f". {no_picture}" if no_picture else ""
    if _wanted(TEXT, include, exclude):
        bundle[TEXT] = text
    return bundle


@dataclass(frozen=True)
class PictureFacts:
    """What a graph picture shows that its DOT source does not say plainly.

    :func:`~microgradnn.viz.draw_dot` records them on the :class:`GraphPicture` it returns, so
    that the picture's text line (for a terminal, or a front-end that shows no images) can say
    which output it is of and whether ``backward()`` has run.

    Attributes:
        root: The output's name, as the picture shows it.
        view: ``"forward"`` or ``"backward"``.
        grads_computed: Whether the grads shown are results of a ``backward()``.
    """

    root: str
    view: str
    grads_computed: bool


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _white_palette(png: bytes) -> bytes:
    """``png`` with its near-white palette entries made white.

    gd's palette turns graphviz's white background into (252, 254, 252): a tinted box on a
    white page. Only the PLTE chunk changes (and its CRC); a PNG without one is returned as is.
    """
    at = png.find(b"PLTE")
    if at < 4:
        return png
    length = int.from_bytes(png[at - 4 : at], "big")
    colors = bytearray(png[at + 4 : at + 4 + length])
    for k in range(0, length - 2, 3):
        if min(colors[k : k + 3]) >= 250:
            colors[k : k + 3] = b"\xff\xff\xff"
    crc = zlib.crc32(b"PLTE" + colors).to_bytes(4, "big")
    return png[: at + 4] + bytes(colors) + crc + png[at + 8 + length :]


FIT_WIDTH = 800
"""A graph's SVG wider than this many CSS pixels fills the width of the notebook's output instead.

JupyterLab 4 shows an SVG output as an ``<img>`` and limits the width of SVG elements only, so a
wide picture runs off the right edge of the output, cut off. An SVG whose width is ``100%``
(its viewBox keeps the shape) takes the output's width: shrunk in a narrow output, at about its
own size in a wide one. Narrower pictures keep their own size, so a small graph is not blown up.
"""

_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def fit_width(svg: str, most: float = FIT_WIDTH) -> str:
    """``svg`` (graphviz's, sized in pt) made to fit its output's width when wider than ``most`` px.

    Its ``width`` becomes ``100%`` and its ``height`` goes (the ``viewBox`` keeps the aspect
    ratio); the natural size stays in the ``viewBox``, in pt. Anything else is returned as is.
    The files :func:`render` writes keep their natural size: a README or a browser scales an
    ``<img>`` to its column itself.

    >>> fit_width('<svg width="1200pt" height="300pt" viewBox="0.00 0.00 1200.00 300.00">')
    '<svg width="100%" viewBox="0.00 0.00 1200.00 300.00">'
    >>> fit_width('<svg width="300pt" height="100pt" viewBox="0.00 0.00 300.00 100.00">')
    '<svg width="300pt" height="100pt" viewBox="0.00 0.00 300.00 100.00">'
    """
    m = _SVG_SIZE.search(svg)
    if m is None or "viewBox=" not in svg[m.start() : svg.find(">", m.start())]:
        return svg
    if float(m.group(1)) * 4 / 3 <= most:
        return svg
    return f'{svg[: m.start()]}<svg width="100%"{svg[m.end() :]}'


_NODE_CLASS = re.compile(r'\bclass="?mg-(value|op|group)\b')
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


class GraphPicture(graphviz.Digraph):  # type: ignore[misc]  # graphviz ships no type hints
    """A ``graphviz.Digraph`` that shows everywhere and says how to install graphviz.

    In Jupyter it displays as SVG and PNG (an untrusted notebook, GitHub and nbviewer show the
    PNG; a picture wider than :data:`FIT_WIDTH` fits the output's width, see :func:`fit_width`)
    with a text line such as ``graph of o (forward view): 10 values, 5 ops; grads
    computed``; each format is rendered once and kept until the graph changes. Without
    graphviz's ``dot`` it displays that line and how to install graphviz, and rendering raises
    :class:`GraphvizNotFoundError` instead of graphviz's bare ``ExecutableNotFound``.

    Everything else is graphviz's own API: ``.source`` (DOT text, no ``dot`` needed),
    ``.pipe(format="svg")``, ``.render(...)``.

    Attributes:
        facts: What the picture is of (set by :func:`~microgradnn.viz.draw_dot`), or None.
    """

    facts: PictureFacts | None = None

    def pipe(self, *args: Any, **kwargs: Any) -> Any:
        """Render with ``dot`` and return the bytes (or str with ``encoding=``)."""
        with dot_errors():
            return super().pipe(*args, **kwargs)

    def render(self, *args: Any, **kwargs: Any) -> Any:
        """Graphviz's ``render`` (writes the DOT source *and* ``<file>.<format>``)."""
        with dot_errors():
            return super().render(*args, **kwargs)

    @property
    def summary(self) -> str:
        """One line saying what the picture shows, e.g. ``graph of o (forward view): 3 values``.

        The counts are of what is drawn (collapsed neurons and layers count as boxes).
        """
        found = [m.group(1) for m in _NODE_CLASS.finditer(self.source)]
        counts = [
            _plural(found.count(kind), word)
            for kind, word in (("value", "value"), ("op", "op"), ("group", "box"))
            if kind in found
        ]
        drawn = ", ".join(counts) if counts else f"{_plural(len(self.body), 'DOT statement')}"
        f = self.facts
        if f is None:
            return f"graph picture: {drawn}"
        if f.grads_computed:
            grads = "grads computed"
        elif _IDENTIFIER.fullmatch(f.root):
            grads = f"grads not computed yet: call {f.root}.backward()"
        else:
            grads = "grads not computed yet: call backward() on the output"
        return f"graph of {f.root} ({f.view} view): {drawn}; {grads}"

    def rendered(self, format: str) -> Any:
        """The picture as ``"svg"`` (str) or ``"png"`` (bytes), rendered once per graph state.

        A Digraph can still change after it is drawn (``.node()``, ``.attr()``), so the cache
        is keyed on the DOT source and the layout engine. The PNG is a palette image (cairo's
        antialiased drawing, stored by gd with 256 colours: a third of the size, the same
        look) where the installed graphviz has gd, a plain PNG otherwise.

        Raises:
            GraphvizNotFoundError: ``dot`` is not installed.
        """
        format = choice("format", format, ("svg", "png"))
        key = (self.source, self.engine)
        cache: dict[str, tuple[tuple[str, str], Any]] = self.__dict__.setdefault("_rendered", {})
        hit = cache.get(format)
        if hit is not None and hit[0] == key:
            return hit[1]
        if format == "svg":
            data = self.pipe(format="svg", encoding="utf-8")
        else:
            try:
                data = _white_palette(
                    self.pipe(format="png", renderer="cairo", formatter="gd", quiet=True)
                )
            except subprocess.CalledProcessError:  # a graphviz built without gd
                data = self.pipe(format="png")
        cache[format] = (key, data)
        return data

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None, **_: Any
    ) -> dict[str, Any]:
        return mime_bundle(
            {SVG: lambda: fit_width(self.rendered("svg")), PNG: lambda: self.rendered("png")},
            self.summary,
            include,
            exclude,
            no_picture=f"This picture's DOT source is {len(self.source):,} characters long.",
        )

    def __repr__(self) -> str:
        return f"<GraphPicture: {self.summary}>"


def render(graph: graphviz.Digraph, path: str | Path, format: str | None = None) -> Path:
    """Write ``graph`` to exactly ``path`` (graphviz's own ``.render`` also writes the DOT file).

    The file is replaced in one step: an earlier picture stays whole if rendering fails.

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
        return atomic_write(path, graph.source)
    with dot_errors():
        data = graph.pipe(format=fmt)
    return atomic_write(path, data)


def standalone_page(title: str, body: str, marker: str) -> str:
    """``body`` as a complete HTML document: UTF-8, a viewport for phones, ``title`` as heading.

    ``marker`` names a ``data-`` attribute set on ``<body>`` so the page's script knows it runs
    standalone (not inside a notebook output).
    """
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'</head>\n<body data-{marker}="1">\n'
        f'<h3 style="font-family:Helvetica,Arial,sans-serif;margin:6px 0">'
        f"{html.escape(title)}</h3>\n{body}\n</body>\n</html>\n"
    )
