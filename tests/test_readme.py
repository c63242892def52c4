"""README.md stays true: its Python snippets run as written, and the files it shows exist."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_python_snippets_run_in_order(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except Exception as err:
            if "graphviz" in type(err).__module__ or "ExecutableNotFound" in repr(err):
                pytest.skip(f"graphviz's dot is not installed ({err})")
            raise


def test_first_example_prints_the_stated_gradients(capsys):
    block = re.findall(r"```python\n(.*?)```", README, re.S)[0]
    exec(block, {})
    a_grad, b_grad = map(float, capsys.readouterr().out.split())
    assert a_grad == pytest.approx(-3.0 + 1.0 - 0.964027580075817**2, rel=1e-12)
    assert b_grad == 2.0


def test_pictures_and_links_exist():
    targets = re.findall(r"\]\(((?:docs|notebooks)/[^)#]+)\)", README)
    assert targets, "README shows no pictures or notebook links"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing


def test_make_targets_in_readme_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z-]+):", makefile, re.M))
    shown = set(re.findall(r"`make ([a-z-]+)`", README))
    assert shown <= targets, shown - targets


def test_every_op_of_the_table_has_a_row_in_the_readme_op_table():
    from microgradnn import OPS

    section = README[README.index("## The ops") : README.index("Numerics follow IEEE")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    written = " ".join(row.split("|")[1] for row in rows)
    for op in OPS.values():
        if op.infix is not None:
            shown = f"a {op.infix} b"
        elif op.prefix is not None:
            shown = f"{op.prefix}a"
        elif op.variadic:
            shown = f"Value.{op.method}("
        else:
            shown = f".{op.method}(" if op.method != "abs" else "abs(a)"
        assert shown in written, f"README's op table has no row for {op.name} ({shown})"
    assert len(rows) == len(OPS)


def test_where_is_x_names_every_package_module():
    section = README[README.index("## Where is X") : README.index("## Development")]
    package = ROOT / "microgradnn"
    modules = [
        p.relative_to(ROOT).as_posix()
        for p in sorted(package.rglob("*.py"))
        if p.name not in ("__init__.py", "__main__.py")
    ]
    missing = [m for m in modules if f"`{m}`" not in section]
    assert not missing, f"README's Where is X table lacks {missing}"
