"""Build the course notebooks from their readable sources and execute them in place.

Each notebook is written as a plain Python file ``notebooks/src/NN_name.py`` in jupytext's
"percent" format, which editors (VS Code, PyCharm, Spyder) and JupyterLab with jupytext open as a
notebook:

    # %% [markdown]
    # # A title
    # Some *markdown*, each line behind "# ".

    # %%
    x = 1 + 1
    x

jupytext reads the cells; a first cell that is only a string is the file's docstring, for whoever
reads the source, not a notebook cell. This script writes ``notebooks/NN_name.ipynb`` with
deterministic cell ids (so a rebuild does not churn the diff) and, unless ``--no-execute``, runs
it top to bottom with nbclient in the ``python3`` kernel of the current interpreter, saving the
outputs. ``notebooks/jupytext.toml`` pairs each source with its notebook for JupyterLab.

Usage:
    python notebooks/_build.py                 # build and execute every notebook
    python notebooks/_build.py 01 05           # only notebooks whose name starts so
    python notebooks/_build.py --no-execute    # build without running (outputs dropped)
    python notebooks/_build.py --check         # exit 1 if a committed notebook is stale
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import io
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
SOURCE_FORMAT = "py:percent"
KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python"}
# Cell metadata jupytext keeps to write the same blank lines and markers back into the .py; it
# describes the source file, not the notebook.
LAYOUT_METADATA = ("cell_marker", "lines_to_next_cell", "lines_to_end_of_cell_marker")


def _need(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"_build.py needs {module!r}: pip install -e '.[notebooks]' (or: make notebooks)")


def is_docstring(cell: Any) -> bool:
    """Whether ``cell`` is a code cell holding nothing but a string literal."""
    if cell.cell_type != "code":
        return False
    try:
        body = ast.parse(cell.source).body
    except SyntaxError:
        return False
    return (
        len(body) == 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )


def read_cells(text: str) -> list[Any]:
    """The notebook cells of a percent-format source, read by jupytext.

    A leading docstring is dropped, whether it stands before the first ``# %%`` (as the sources
    are written) or behind one (as jupytext saves it from JupyterLab), so that saving a source
    from JupyterLab does not change the notebook it builds. The jupytext layout metadata
    (:data:`LAYOUT_METADATA`) is dropped too.
    """
    jupytext = _need("jupytext")
    cells = list(jupytext.reads(text, fmt=SOURCE_FORMAT).cells)
    if cells and is_docstring(cells[0]):
        cells = cells[1:]
    for cell in cells:
        for key in LAYOUT_METADATA:
            cell.metadata.pop(key, None)
    return cells


def parse_source(text: str) -> list[tuple[str, str]]:
    """``[(kind, text)]`` of the cells of a source; kind is "markdown", "code" or "raw"."""
    return [(cell.cell_type, cell.source) for cell in read_cells(text)]


def cell_id(stem: str, index: int) -> str:
    """The id of cell ``index`` of notebook ``stem``: the same on every build."""
    digest = hashlib.sha1(f"{stem}:{index}".encode()).hexdigest()[:8]
    return f"{stem[:2]}-{index:02d}-{digest}"


def build_notebook(src: Path) -> Any:
    """The unexecuted notebook for one source file."""
    nbformat = _need("nbformat")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(read_cells(src.read_text(encoding="utf-8"))):
        cell["id"] = cell_id(src.stem, i)
        nb.cells.append(cell)
    return nb


def execute(nb: Any, cwd: Path, timeout: int = 600) -> None:
    """Run ``nb`` top to bottom in place with nbclient (raises CellExecutionError on error)."""
    nbclient = _need("nbclient")
    _need("ipykernel")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    except NoSuchKernel:
        sys.exit(
            "no 'python3' Jupyter kernel: run `python -m ipykernel install --user` with this "
            "interpreter"
        )
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )
    client.execute()


def shrink_png(data: bytes) -> bytes:
    """The same picture as a 256-colour palette PNG (plots and graphs use few colours).

    Matplotlib and graphviz write 32-bit PNGs; a palette image is about a third of the size and
    looks the same, which keeps the committed notebooks small. Without Pillow, returns ``data``.
    """
    try:
        from PIL import Image
    except ImportError:
        return data
    image: Image.Image = Image.open(io.BytesIO(data))
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        image = Image.new("RGBA", rgba.size, "white")
        image.alpha_composite(rgba)
    palette = image.convert("RGB").quantize(
        colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def shrink_images(nb: Any) -> None:
    """Replace every PNG output of ``nb`` by its :func:`shrink_png` version."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                small = shrink_png(base64.b64decode(png))
                output["data"]["image/png"] = base64.b64encode(small).decode("ascii")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_widgets(nb: Any) -> None:
    """Keep a live widget's static pictures (PNG, HTML), not the widget itself.

    A widget output points at a model that lives in the kernel; without the kernel, or without
    the widget's whole state saved (for TrainingView: every recorded step again), JupyterLab
    shows "Error displaying widget: model not found" instead of the PNG beside it.
    """
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)


def coalesce_streams(nb: Any) -> None:
    """Join consecutive stdout (or stderr) outputs of a cell into one.

    How printed text is split into outputs depends on timing; joined, a rebuild that prints
    the same text saves the same JSON.
    """
    for cell in nb.cells:
        merged: list[Any] = []
        for output in cell.get("outputs", []):
            last = merged[-1] if merged else None
            if (
                last is not None
                and output.output_type == "stream"
                and last.output_type == "stream"
                and last.name == output.name
            ):
                last.text += output.text
            else:
                merged.append(output)
        if "outputs" in cell:
            cell.outputs = merged


def source_cells(nb: Any) -> list[tuple[str, str]]:
    """``[(kind, text)]`` of a notebook, to compare a committed notebook with its source."""
    return [(c.cell_type, c.source) for c in nb.cells]


def sources(patterns: list[str]) -> list[Path]:
    """The source files to build, sorted; ``patterns`` filter by name prefix."""
    found = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if patterns:
        found = [p for p in found if any(p.stem.startswith(pat) for pat in patterns)]
    return found


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="name prefixes, e.g. 01 07_two")
    parser.add_argument("--no-execute", action="store_true", help="build only, no outputs")
    parser.add_argument("--check", action="store_true", help="fail if a notebook is stale")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    nbformat = _need("nbformat")

    srcs = sources(args.names)
    if not srcs:
        print(f"no sources match {args.names} in {SRC}", file=sys.stderr)
        return 1
    if args.check:
        stale = []
        for src in srcs:
            target = HERE / f"{src.stem}.ipynb"
            if not target.exists():
                stale.append(f"{target.name}: missing")
                continue
            committed = nbformat.read(target, as_version=4)
            built = build_notebook(src)
            if source_cells(committed) != source_cells(built):
                stale.append(f"{target.name}: cells differ from src/{src.name}")
            elif [c.id for c in committed.cells] != [c.id for c in built.cells]:
                stale.append(f"{target.name}: cell ids are not the build's (saved from Jupyter?)")
            elif any(c.cell_type == "code" and c.execution_count is None for c in committed.cells):
                stale.append(f"{target.name}: not executed")
        for line in stale:
            print(line, file=sys.stderr)
        if stale:
            print("run `make notebooks` to rebuild", file=sys.stderr)
        return 1 if stale else 0

    total = 0.0
    for src in srcs:
        target = HERE / f"{src.stem}.ipynb"
        nb = build_notebook(src)
        if not args.no_execute:
            start = time.perf_counter()
            execute(nb, HERE, args.timeout)
            took = time.perf_counter() - start
            total += took
            print(f"{target.name}: executed in {took:.1f} s", flush=True)
            coalesce_streams(nb)
            drop_widgets(nb)
            shrink_images(nb)
        nbformat.validate(nb)
        nbformat.write(nb, target)
        size = target.stat().st_size
        print(f"  wrote {target.relative_to(HERE.parent)} ({size / 1024:.0f} KiB)", flush=True)
    if not args.no_execute:
        print(f"all {len(srcs)} notebooks executed in {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
