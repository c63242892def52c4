"""The model-file format: standard JSON, written atomically, read with bounds and checks.

A model file is one JSON object::

    {"format": "microgradnn", "version": 1,
     "model": {"type": "MLP", "nin": 2, "sizes": [16, 1], ...},
     "state": {"layers.0.neurons.0.w.0": 0.123, ...}}

Each parameter in ``state`` is written with ``repr``, so loading gives back the identical bits
(-0.0 and subnormals too). JSON has no nan or infinity, so a parameter that is not finite is
written as one of the strings ``"nan"``, ``"inf"`` and ``"-inf"``; every nan reads back as
``float("nan")`` (a nan's sign and payload are not kept). So the file is standard JSON that
``jq``, browsers and other languages read. Files written by microgradnn 0.1.0, which wrote bare
``NaN``, ``Infinity`` and ``-Infinity``, still load.

Never pickle: a model file holds only data, so opening one cannot run code. Reading is bounded,
so a broken or hostile file cannot make the loader allocate without limit. A model file is at
most :data:`MAX_FILE_BYTES` long, nests at most :data:`MAX_DEPTH` levels deep, holds integers of
at most :data:`MAX_INT_DIGITS` digits and floats within a float's range, and describes at most
:data:`MAX_PARAMETERS` parameters; :func:`load_model` counts the parameters a description implies
(:func:`~microgradnn.nn.mlp_num_parameters`) and compares them with the file's before it builds
anything. Each refusal is a ValueError that starts with the file's path, and :func:`save`
refuses up front to write a file that loading would refuse.

Saving writes ``.{name}.{pid}.{random}.tmp`` next to the file, fsyncs it and renames it over
the file, so a save that is killed, even with SIGKILL, leaves the old file whole. Each save
removes the temporary files that earlier saves of the same file left when their process died.
Saving through a symlink writes the file it points to (the link stays a link); an existing
file keeps its permission bits, and a new one gets the default mode (the umask applies).

>>> import json, math, os, tempfile
>>> from microgradnn.nn import MLP
>>> model = MLP(1, [1], seed=0)
>>> model.layers[0].neurons[0].w[0].data = -math.inf
>>> path = os.path.join(tempfile.mkdtemp(), "model.json")
>>> model.save(path)
>>> with open(path) as f:
...     json.load(f)["state"]
{'layers.0.neurons.0.w.0': '-inf', 'layers.0.neurons.0.b': 0.0}
>>> load_model(path).layers[0].neurons[0].w[0].data
-inf
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any

import numpy as np

from microgradnn._files import atomic_write
from microgradnn.module import Module
from microgradnn.nn import MLP, describe_config, mlp_num_parameters

__all__ = [
    "FILE_FORMAT",
    "FILE_VERSION",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INT_DIGITS",
    "MAX_PARAMETERS",
    "load_into",
    "load_model",
    "read",
    "save",
]

FILE_FORMAT = "microgradnn"
FILE_VERSION = 1

MAX_FILE_BYTES = 256 * 2**20
"""The longest model file :func:`read` opens (256 MiB); its size is checked before reading."""

MAX_PARAMETERS = 4_000_000
"""The most parameters a model file holds: 4 million at ~55 bytes each fit in 256 MiB."""

MAX_DEPTH = 32
"""How deep a model file's arrays and objects may nest (a saved MLP needs 3)."""

MAX_INT_DIGITS = 20
"""The most digits of an integer in a model file (a layer width, or a whole-number weight)."""

_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}

_BUILT_TO_NAME_KEYS = 10_000
"""load_model builds a model that does not match the file only up to this size, to name keys."""


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``model``'s architecture and parameters to ``path`` (see the module docstring).

    The write is atomic: a temporary file in the same folder is written, flushed, fsync'ed and
    renamed over ``path``; if anything fails, ``path`` is left as it was and the temporary file
    is removed.

    Raises:
        ValueError: The model has more than :data:`MAX_PARAMETERS` parameters, the file would
            be longer than :data:`MAX_FILE_BYTES`, or ``model.config()`` holds a number JSON
            cannot (nan, inf); nothing is written.
        TypeError: ``model.config()`` holds something JSON cannot (a set, an object).
    """
    where = os.fspath(path)
    state = model.state_dict()
    if len(state) > MAX_PARAMETERS:
        raise ValueError(
            f"{where}: {_clip(repr(model))} has {len(state):,} parameters, more than the "
            f"{MAX_PARAMETERS:,} a model file may hold"
        )
    config = model.config()
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"{where}: {type(model).__name__}.config() cannot be written as JSON ({exc})"
        ) from None
    data = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "model": config,
        "state": {name: _encode(x) for name, x in state.items()},
    }
    _atomic_write_json(where, data)


def _encode(x: float) -> float | str:
    """A parameter as JSON can hold it: the float itself, or "nan", "inf", "-inf"."""
    if math.isfinite(x):
        return x
    return "nan" if x != x else "inf" if x > 0 else "-inf"


def _atomic_write_json(where: str, data: object) -> None:
    text = json.dumps(data, indent=1, allow_nan=False) + "\n"
    size = len(text)  # json.dumps writes ASCII: one byte per character
    if size > MAX_FILE_BYTES:
        raise ValueError(
            f"{where}: the model file would be {size:,} bytes, larger than the "
            f"{_size(MAX_FILE_BYTES)} a model file may be"
        )
    atomic_write(where, text)


class _RefusedNumberError(ValueError):
    """A number in a model file that the reader refuses (too many digits, too large)."""


def _parse_int(text: str) -> int:
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        raise _RefusedNumberError(
            f"an integer in the file has more than {MAX_INT_DIGITS} digits ({_clip(text, 30)})"
        )
    return int(text)


def _parse_float(text: str) -> float:
    x = float(text)
    if math.isinf(x):
        raise _RefusedNumberError(f"the number {_clip(text, 30)} is too large for a float")
    return x


_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STRING = re.compile(rb'"[^"]*"')
_CHUNK = 1 << 20


def _nesting(raw: bytes) -> int:
    """How deep the arrays and objects of JSON text nest (brackets inside strings not counted).

    Linear and in bounded memory, so it can run before :func:`json.loads`, whose parser recurses
    once per level (a RecursionError near 1,000 levels). Escaped backslashes and quotes go
    first, then everything but quotes and brackets, then the strings; what is left is the
    brackets outside strings.
    """
    skeleton = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = np.frombuffer(_STRING.sub(b"", skeleton), dtype=np.uint8)
    deepest = level = 0
    for start in range(0, len(brackets), _CHUNK):
        chunk = brackets[start : start + _CHUNK]
        steps = np.where((chunk == ord("[")) | (chunk == ord("{")), 1, -1)
        running = level + np.cumsum(steps)
        deepest = max(deepest, int(running.max()))
        level = int(running[-1])
        if deepest > MAX_DEPTH:
            break
    return deepest


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (config, state) stored in a model file, or a ValueError saying what is wrong.

    The state's ``"nan"``, ``"inf"`` and ``"-inf"`` come back as floats.

    Raises:
        ValueError: The file is too long, too deeply nested, holds a number out of range or
            more than :data:`MAX_PARAMETERS` parameters, is not (valid) JSON or not a model
            file of this version. The message starts with ``path``.
        OSError: The file cannot be opened (FileNotFoundError, PermissionError).
    """
    where = os.fspath(path)
    with open(where, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        raw = b"" if size > MAX_FILE_BYTES else f.read(MAX_FILE_BYTES + 1)
    if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        shown = f" ({size:,} bytes)" if size > MAX_FILE_BYTES else ""
        raise ValueError(
            f"{where}: the file is larger than the {_size(MAX_FILE_BYTES)} a model file may "
            f"be{shown}"
        )
    if _nesting(raw) > MAX_DEPTH:
        raise ValueError(
            f"{where}: not a valid microgradnn model file (its arrays and objects nest deeper "
            f"than {MAX_DEPTH} levels); it may be truncated or corrupted"
        )
    try:
        data = json.loads(raw.decode("utf-8"), parse_int=_parse_int, parse_float=_parse_float)
    except _RefusedNumberError as exc:
        raise ValueError(f"{where}: {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(
            f"{where}: not a valid microgradnn model file ({exc}); it may be truncated or corrupted"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise ValueError(
            f"{where}: not a microgradnn model file (expected a JSON object with "
            f'"format": "{FILE_FORMAT}")'
        )
    version = data.get("version")
    if type(version) is not int or version != FILE_VERSION:
        raise ValueError(
            f"{where}: model file version {_clip(repr(version))} is not supported "
            f"(this microgradnn reads version {FILE_VERSION})"
        )
    config, state = data.get("model"), data.get("state")
    if not isinstance(config, dict) or not isinstance(config.get("type"), str):
        raise ValueError(f"{where}: the model description is missing or malformed")
    if not isinstance(state, dict):
        raise ValueError(f"{where}: the parameters ('state') are missing or malformed")
    if len(state) > MAX_PARAMETERS:
        raise ValueError(
            f"{where}: the file holds {len(state):,} parameters, more than the "
            f"{MAX_PARAMETERS:,} a model file may hold"
        )
    decoded = {k: _NON_FINITE.get(v, v) if type(v) is str else v for k, v in state.items()}
    return config, decoded


def load_into(model: Module, path: str | os.PathLike[str], strict: bool = True) -> None:
    """Load the parameters saved in ``path`` into ``model`` (see :meth:`Module.load`)."""
    where = os.fspath(path)
    config, state = read(path)
    if strict and config != model.config():
        raise ValueError(f"{where}: expected {model!r}, file has {_clip(describe_config(config))}")
    _load_state(model, state, where, strict)


def _load_state(model: Module, state: dict[str, Any], where: str, strict: bool) -> None:
    """``model.load_state_dict(state)``, its error prefixed with the file (and the counts).

    ``load_state_dict`` compares the names, and so the counts, before it reads any value.
    """
    try:
        model.load_state_dict(state, strict=strict)
    except ValueError as exc:
        count = model.num_parameters()
        counts = ""
        if strict and len(state) != count:
            counts = f"; the file holds {_parameters(len(state))}, the model has {count:,}"
        raise ValueError(f"{where}: {exc}{counts}") from None


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` by :meth:`Module.save`, weights and all.

    The parameters the description implies are counted first and compared with the file's, so
    a short file cannot make it build a big model: it builds a model that does not match only
    when that model is small (to name the keys that differ) or no bigger than the file's state.
    """
    config, state = read(path)
    where = os.fspath(path)
    described = _clip(describe_config(config))
    if config["type"] != "MLP":
        raise ValueError(
            f"{where} holds a {described}; load_model rebuilds MLPs: build the "
            "module yourself and call its .load(path)"
        )
    try:
        count = mlp_num_parameters(config)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if count > MAX_PARAMETERS:
        raise ValueError(
            f"{where}: {described} has {count:,} parameters, more than the "
            f"{MAX_PARAMETERS:,} a model file may hold"
        )
    if count != len(state) and count > max(len(state), _BUILT_TO_NAME_KEYS):
        raise ValueError(
            f"{where}: {described} has {count:,} parameters, but the file holds "
            f"{len(state):,}; it may be truncated or edited"
        )
    try:
        model = MLP.from_config(config)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    _load_state(model, state, where, strict=True)
    return model


def _parameters(n: int) -> str:
    return f"{n:,} parameter" + ("" if n == 1 else "s")


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n:,} bytes"


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
