"""Regenerate the pictures in ``docs/images/`` from the code README.md shows (``make images``).

Run ``python tools/make_images.py [OUT_DIR]`` from the repository. It runs README.md's Python
blocks in order, as a reader would, in a fresh temporary folder, and copies the files they
write that README.md shows (``![...](docs/images/NAME)``) into OUT_DIR (default
``docs/images``), so that every picture comes from the code printed beside it. The one
exception, ``stepper.png``, is a screenshot of the ``steps.html`` page the README's code writes,
taken by headless Chromium at the width of GitHub's README column. Pictures in OUT_DIR that
README.md no longer shows are removed.

Needs graphviz's ``dot``, matplotlib, and for the screenshot headless Chromium, chromedriver and
selenium (without them the old screenshot stays, with a note). Everything the README runs is
seeded, so re-running gives the same files.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Run as a script, this file's folder is on sys.path but the repository is not: add it, so that
# `tools.browser` imports the same way here as in the tests.
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.browser import available, headless_chromium  # noqa: E402  (after the sys.path line)

README = ROOT / "README.md"
MAX_BYTES = 200_000
COLUMN = 830
"""The width in CSS pixels of GitHub's README column: pictures are made to be read at it."""
STEPPER_PAGE = "steps.html"
STEPPER_SHOT = "stepper.png"
STEPPER_FRAME = 1
"""The stepper's screenshot shows this frame: the first step, where backward() starts."""
PICTURE_SUFFIXES = (".svg", ".png")

_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
_PICTURE = re.compile(r"!\[[^\]]*\]\(docs/images/([^)#\s]+)\)")


def readme_blocks(text: str) -> list[str]:
    """The Python blocks of a README's text, in order."""
    return _BLOCK.findall(text)


def readme_pictures(text: str) -> list[str]:
    """The file names of the pictures a README's text shows from ``docs/images/``, in order."""
    return _PICTURE.findall(text)


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    here = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


def run_blocks(blocks: list[str], folder: Path) -> dict[str, Any]:
    """Run ``blocks`` in order in one namespace, inside ``folder``, as a README reader would.

    Returns:
        The namespace the blocks left behind.
    """
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    with _inside(folder):
        for i, block in enumerate(blocks):
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
    return namespace


def stepper_screenshot(page: Path, out: Path, profile: Path) -> Path:
    """A screenshot of the stepper in ``page`` at frame :data:`STEPPER_FRAME`, as README shows it.

    The window is :data:`COLUMN` pixels wide, so the PNG shows at its own size in the column
    (a picture that fits is drawn at 100%), and tall enough for the whole picture.
    """
    from selenium.webdriver.common.by import By

    driver = headless_chromium(profile, f"{COLUMN},2400")
    try:
        driver.get(f"{page.resolve().as_uri()}#step={STEPPER_FRAME}")
        time.sleep(0.3)
        root = driver.find_element(By.CSS_SELECTOR, ".mg-stepper")
        # the picture's box is at most a share of the window's height: make that the whole picture
        svg_height, share, page_height = driver.execute_script(
            "var box = arguments[0].querySelector('.mg-svg');"
            "return [box.querySelector('svg').getBoundingClientRect().height,"
            " parseFloat(getComputedStyle(box).maxHeight) / window.innerHeight,"
            " document.documentElement.scrollHeight];",
            root,
        )
        tall = max(svg_height / min(share, 1.0) + 200, page_height + 40)
        driver.set_window_size(COLUMN, int(tall))
        time.sleep(0.3)
        driver.execute_script("window.scrollTo(0, 0)")
        root.screenshot(str(out))
    finally:
        driver.quit()
    return out


def make(out: Path) -> list[Path]:
    """Run README.md's code in a temporary folder and copy the pictures it shows into ``out``."""
    text = README.read_text(encoding="utf-8")
    pictures = readme_pictures(text)
    tmp = Path(tempfile.mkdtemp(prefix="mg-images-"))
    try:
        work = tmp / "readme"
        work.mkdir()
        with contextlib.redirect_stdout(sys.stderr):  # what the README's code prints
            run_blocks(readme_blocks(text), work)
        written = []
        for name in pictures:
            if name == STEPPER_SHOT:
                if not available():
                    print(
                        f"note: chromium, chromedriver or selenium missing: {name} not redone",
                        file=sys.stderr,
                    )
                    continue
                shot = stepper_screenshot(work / STEPPER_PAGE, tmp / name, tmp / "profile")
                shutil.copyfile(shot, out / name)
            else:
                made = work / name
                if not made.is_file():
                    raise SystemExit(f"error: README.md shows {name}, but its code wrote no {name}")
                shutil.copyfile(made, out / name)
            written.append(out / name)
        for stale in sorted(out.iterdir()):
            if stale.suffix in PICTURE_SUFFIXES and stale.name not in pictures:
                stale.unlink()
                print(f"removed {stale} (README.md no longer shows it)")
        return written
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Write every picture README.md shows into the folder given (default ``docs/images``)."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else ROOT / "docs" / "images").resolve()
    out.mkdir(parents=True, exist_ok=True)
    too_big = []
    for path in make(out):
        size = path.stat().st_size
        print(f"{path}  {size / 1000:.0f} kB")
        if size > MAX_BYTES:
            too_big.append(path)
    if too_big:
        print(f"error: larger than {MAX_BYTES // 1000} kB: {too_big}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
