"""atomic_write: a file is the old one or the whole new one; links, modes and strays handled."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from microgradnn._files import atomic_write
from microgradnn.engine import Value
from microgradnn.viz import draw_dot, render, save_backward_html


def test_writes_text_as_utf8_and_bytes_as_given(tmp_path: Path) -> None:
    assert atomic_write(tmp_path / "a.txt", "∂L/∂w = 2") == tmp_path / "a.txt"
    assert (tmp_path / "a.txt").read_bytes() == "∂L/∂w = 2".encode()
    atomic_write(tmp_path / "b.bin", b"\x00\xff")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]  # no temp left


def test_a_failed_write_leaves_the_earlier_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "picture.svg"
    path.write_text("earlier", encoding="utf-8")

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        atomic_write(path, "new " * 1000)
    assert path.read_text(encoding="utf-8") == "earlier"
    assert [p.name for p in tmp_path.iterdir()] == ["picture.svg"]


@pytest.mark.skipif(os.name != "posix", reason="symlinks and modes as POSIX has them")
def test_a_link_stays_a_link_and_the_mode_is_kept(tmp_path: Path) -> None:
    real = tmp_path / "real.html"
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.html"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="asks POSIX whether a process exists")
def test_temp_files_of_killed_writes_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stray = tmp_path / f".out.svg.{int(dead.stdout)}.0123abcd.tmp"
    mine = tmp_path / f".out.svg.{os.getpid()}.0123abcd.tmp"  # another thread's, perhaps
    other = tmp_path / f".other.svg.{int(dead.stdout)}.0123abcd.tmp"
    for p in (stray, mine, other):
        p.write_text("partial", encoding="utf-8")
    atomic_write(tmp_path / "out.svg", "<svg/>")
    assert not stray.exists()
    assert mine.exists()
    assert other.exists()


def test_render_and_the_stepper_replace_their_files_in_one_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = Value(2.0, label="x")
    y = (x * x).tanh()
    y.backward()
    dot_file, page = tmp_path / "g.dot", tmp_path / "steps.html"
    render(draw_dot(y), dot_file)  # DOT source: no dot program needed
    assert dot_file.read_text(encoding="utf-8").startswith("digraph")
    save_backward_html(y, page)
    before = page.read_text(encoding="utf-8")
    assert "<script" in before

    import microgradnn._files as files

    def interrupted(src: object, dst: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(files.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_backward_html(x * 3, page)
    with pytest.raises(KeyboardInterrupt):
        render(draw_dot(x * 3), dot_file)
    assert page.read_text(encoding="utf-8") == before
    assert dot_file.read_text(encoding="utf-8").startswith("digraph")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.dot", "steps.html"]
