"""The model-file format: plain JSON, written atomically, read with checks.

A model file is one JSON object::

    {"format": "microgradnn", "version": 1,
     "model": {"type": "MLP", "nin": 2, "sizes": [16, 1], ...},
     "state": {"layers.0.neurons.0.w.0": 0.123, ...}}

Floats are written with ``repr``, so loading gives back the identical bits. Never pickle: a
model file holds only data, so opening one cannot run code.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from typing import Any

from microgradnn.module import Module
from microgradnn.nn import MLP, describe_config

__all__ = ["FILE_FORMAT", "FILE_VERSION", "load_into", "load_model", "read", "save"]

FILE_FORMAT = "microgradnn"
FILE_VERSION = 1


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s architecture and parameters to ``path``.

    The write is atomic: a temporary file in the same folder is written, flushed, fsync'ed and
    renamed over ``path``; if anything fails, ``path`` is left as it was and the temporary file
    is removed.
    """
    _atomic_write_json(
        path,
        {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "model": model.config(),
            "state": model.state_dict(),
        },
    )


def _atomic_write_json(path: str | os.PathLike[str], data: object) -> None:
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    tmp = os.path.join(folder, f".{os.path.basename(target)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if os.name == "posix":  # make the rename itself durable
        with contextlib.suppress(OSError):
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (config, state) stored in a model file, or a ValueError saying what is wrong."""
    where = os.fspath(path)
    with open(where, "rb") as f:
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{where}: not a valid microgradnn model file ({exc}); it may be truncated or corrupted"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise ValueError(
            f"{where}: not a microgradnn model file (expected a JSON object with "
            f'"format": "{FILE_FORMAT}")'
        )
    if data.get("version") != FILE_VERSION:
        raise ValueError(
            f"{where}: model file version {data.get('version')!r} is not supported "
            f"(this microgradnn reads version {FILE_VERSION})"
        )
    config, state = data.get("model"), data.get("state")
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"{where}: the model description is missing or malformed")
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the parameters ('state') are missing or malformed")
    return config, state


def load_into(model: Module, path: str | os.PathLike[str], strict: bool = True) -> None:
    """Load the parameters saved in ``path`` into ``model`` (see :meth:`Module.load`)."""
    config, state = read(path)
    if strict and config != model.config():
        raise ValueError(
            f"{os.fspath(path)}: expected {model!r}, file has {describe_config(config)}"
        )
    try:
        model.load_state_dict(state, strict=strict)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` by :meth:`Module.save`, weights and all."""
    config, state = read(path)
    where = os.fspath(path)
    if config["type"] != "MLP":
        raise ValueError(
            f"{where} holds a {describe_config(config)}; load_model rebuilds MLPs: build the "
            "module yourself and call its .load(path)"
        )
    try:
        model = MLP.from_config(config)
        model.load_state_dict(state)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    return model
