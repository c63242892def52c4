"""The package's shape: layers import only downwards, no private names cross a module boundary.

The order below is the one in CONTRIBUTING.md and README's "Where is X": a module may import, at
module level, only modules listed before it. An import inside a function that goes upwards is
allowed only in the thin delegates listed in ``DELEGATES`` (``Module.save`` calls the model-file
format, ``MLP.to_torch`` the PyTorch bridge, old import paths of the ``graph`` command,
``TrainingView.widget`` the optional Jupyter widget). And no
module imports a ``_private`` name from another, except the shared argument checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "microgradnn"

LAYERS = [
    "_checks",
    "_files",
    "ops",
    "engine",
    "learner",
    "gradcheck",
    "value_check",
    "zoo",
    "functional",
    "module",
    "activations",
    "nn",
    "serialization",
    "torch_bridge",
    "losses",
    "lr_scheduler",
    "optim",
    "data",
    "compile",
    "train",
    "viz.text",
    "viz.analysis",
    "viz.clusters",
    "viz.display",
    "viz.graph",
    "viz.stepper",
    "viz.plots",
    "viz.watch",
    "viz.widget",
    "viz.expr",
    "viz.worksheet",
    "viz",
    "cli",
    "__init__",
    "__main__",
]

INTERNAL = {"_checks", "_files"}
"""The package's internal helper modules, imported across it by design: argument checks, and
atomic file writes."""

DELEGATES = {
    ("module", "serialization"),
    ("nn", "serialization"),
    ("nn", "torch_bridge"),
    ("viz", "cli"),
    ("viz.expr", "cli"),
    ("viz.watch", "viz.widget"),
}


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(tree: ast.Module) -> list[tuple[str, list[str], bool]]:
    """(imported microgradnn module, names taken from it, inside a function?) per import."""
    found: list[tuple[str, list[str], bool]] = []
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.ImportFrom) and child.module:
                if child.module == "microgradnn":
                    for alias in child.names:
                        found.append((alias.name, [], nested))
                elif child.module.startswith("microgradnn."):
                    names = [a.name for a in child.names]
                    found.append((child.module.removeprefix("microgradnn."), names, nested))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("microgradnn."):
                        found.append((alias.name.removeprefix("microgradnn."), [], nested))
            stack.append((child, nested))
    return found


def _layer(name: str) -> int:
    return LAYERS.index(name)


def test_every_module_has_a_layer() -> None:
    assert sorted(MODULES) == sorted(LAYERS)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_run_only_downwards(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for target, _, in_function in _imports(tree):
        if target == "__version__":
            target = "__init__"
        if target not in MODULES:  # `from microgradnn import Value` and the like
            continue
        if _layer(target) < _layer(module):
            continue
        assert in_function, f"{module} imports {target} at module level, a layer above it"
        assert (module, target) in DELEGATES or target == "__init__", (
            f"{module} imports {target} (a layer above it) inside a function that is not one of "
            "the known thin delegates"
        )


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_a_module_boundary(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for target, names, _ in _imports(tree):
        if target in INTERNAL or target.startswith("__"):  # dunders such as __version__
            continue
        assert not target.split(".")[-1].startswith("_"), f"{module} imports private {target}"
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{module} imports private {private} from {target}"


def test_the_import_scan_sees_what_it_must() -> None:
    code = "from microgradnn.engine import _node\ndef f():\n    from microgradnn import cli\n"
    assert sorted(_imports(ast.parse(code))) == [("cli", [], True), ("engine", ["_node"], False)]
