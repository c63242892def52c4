"""One headless-Chromium driver for the stepper screenshot and the browser tests.

Both need the same offline flags, so they live here once. Needs the system's ``chromium`` and
``chromedriver`` (Debian: ``apt install chromium chromium-driver``) and ``pip install selenium``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "available", "headless_chromium"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def available() -> bool:
    """Whether Chromium, chromedriver and selenium are all installed."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        return False
    return importlib.util.find_spec("selenium") is not None


def headless_chromium(profile: Path, window_size: str) -> Any:
    """A selenium driver for the system's headless Chromium that reaches for no network.

    The flags keep Chromium from phoning home (the closed network refuses it, many times over)
    and selenium from downloading a driver or sending usage stats: the chromedriver path is
    given explicitly, so Selenium Manager has nothing to fetch.

    Args:
        profile: A fresh folder for Chromium's user profile.
        window_size: ``"width,height"`` in pixels, e.g. ``"1400,900"``.
    """
    os.environ.setdefault("SE_AVOID_STATS", "true")
    webdriver: Any = importlib.import_module("selenium.webdriver")
    service: Any = importlib.import_module("selenium.webdriver.chrome.service")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={window_size}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=service.Service(executable_path=CHROMEDRIVER), options=options)
