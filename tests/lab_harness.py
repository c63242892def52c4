"""A real JupyterLab 4 server and a headless Chromium on it, for the notebook browser tests.

:func:`jupyterlab` starts one server on a free localhost port with a token and fresh config,
data, runtime and settings folders (no news or update toasts; every cell rendered, not only those
in view), serving ``work`` (a folder the caller fills first), and yields a :class:`Lab`. The
notary of that data folder signs notebooks so that they open trusted (:func:`sign`).
:func:`missing` says why such a test cannot run here, or None.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tools.browser import available, headless_chromium

FOLDERS = ("config", "data", "runtime", "settings", "work")


def missing(*modules: tuple[str, str]) -> str | None:
    """Why the test cannot run here (JupyterLab, nbclient, ipykernel, Chromium, dot), or None."""
    for module, what in (
        ("jupyterlab", "JupyterLab 4 (pip install jupyterlab)"),
        ("nbclient", "nbclient (the 'notebooks' extra)"),
        ("ipykernel", "ipykernel (the 'notebooks' extra)"),
        *modules,
    ):
        if importlib.util.find_spec(module) is None:
            return f"needs {what}"
    if not available():
        return "needs Chromium, chromedriver and selenium (apt install chromium chromium-driver)"
    if shutil.which("dot") is None:
        return "needs graphviz's `dot` program (the notebooks draw graphs)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab and a browser."""

    url: str
    token: str
    driver: Any
    home: dict[str, Path]
    """The server's folders, by name (see FOLDERS); ``work`` is the one it serves."""

    def api(self, path: str, method: str = "GET") -> Any:
        req = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def open(self, name: str) -> None:
        """Open the notebook ``name`` (in ``work``) in a fresh workspace."""
        self.driver.get(f"{self.url}/lab/tree/{name}?reset&token={self.token}")


def command(driver: Any, name: str) -> None:
    """Run a JupyterLab command from the command palette (Ctrl+Shift+C), as a user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.CSS_SELECTOR, ".jp-Notebook").click()
    keys = ActionChains(driver).key_down(Keys.CONTROL).key_down(Keys.SHIFT).send_keys("c")
    keys.key_up(Keys.SHIFT).key_up(Keys.CONTROL).perform()
    palette = WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".lm-CommandPalette-input")
    )
    palette.send_keys(name)
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".lm-CommandPalette-item.lm-mod-active")
    )
    palette.send_keys(Keys.ENTER)


def folders(base: Path) -> dict[str, Path]:
    """The server's fresh folders under ``base``, with the quiet settings written."""
    home = {name: base / name for name in FOLDERS}
    for folder in home.values():
        folder.mkdir(exist_ok=True)
    for plugin, values in (
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
        ("notebook-extension/tracker", {"windowingMode": "none"}),
    ):
        path = home["settings"] / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values), encoding="utf-8")
    return home


def sign(home: dict[str, Path], nb: Any) -> None:
    """Sign ``nb`` (an nbformat notebook) with this server's notary: it opens trusted."""
    from nbformat.sign import NotebookNotary

    notary = NotebookNotary(data_dir=str(home["data"]))
    notary.sign(nb)
    notary.store.close()


def _wait_for_server(url: str, token: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            req = urllib.request.Request(
                f"{url}/api/status", headers={"Authorization": f"token {token}"}
            )
            with urllib.request.urlopen(req, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    pytest.fail(f"JupyterLab did not answer within 60 s:\n{log.read_text()[-3000:]}")


def jupyterlab(base: Path, home: dict[str, Path], window: str = "1280,900") -> Iterator[Lab]:
    """Serve ``home["work"]`` with JupyterLab and drive it with headless Chromium."""
    port, token = free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(home["config"]),
        JUPYTER_DATA_DIR=str(home["data"]),
        JUPYTER_RUNTIME_DIR=str(home["runtime"]),
        JUPYTERLAB_SETTINGS_DIR=str(home["settings"]),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={home['work']}",
        "--LabApp.news_url=",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI containers run as root
    log = base / "jupyterlab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    driver = None
    try:
        _wait_for_server(url, token, proc, log)
        (base / "server-command.txt").write_text(" ".join(command), encoding="utf-8")
        driver = headless_chromium(base / "chromium", window)
        yield Lab(url, token, driver, home)
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base / "chromium", ignore_errors=True)
