"""One headless Chromium per test module, for the pages' browser tests.

A module's fixture is ``yield from chromium("1280,900")``: it skips the module's tests without
Chromium, chromedriver, selenium or graphviz's ``dot`` (the pages draw graphs), and quits the
browser and removes its profile at the end.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tools.browser import available, headless_chromium


def chromium(window_size: str) -> Iterator[Any]:
    """A headless Chromium driver with a fresh profile, or a skip saying what is missing."""
    if not available():
        pytest.skip("headless Chromium, chromedriver and selenium are not all installed")
    if shutil.which("dot") is None:
        pytest.skip("graphviz `dot` not installed")
    profile = tempfile.mkdtemp(prefix="mg-chromium-")
    driver = headless_chromium(Path(profile), window_size)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
