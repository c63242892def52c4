"""Writing a file so that it is either the old one or the whole new one, never half of each.

Every file the package writes (model files, pictures, stepper pages) goes through
:func:`atomic_write`: the content goes into a temporary file beside the target, is flushed to
disk, and is renamed over the target in one step. A write that fails or is killed leaves the
earlier file as it was; a symbolic link stays a link (the file it points to is replaced) and an
existing file keeps its permissions.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(where: str | Path, content: bytes | str) -> Path:
    """Write ``content`` (text as UTF-8) to ``where`` atomically; returns ``where`` as a Path.

    Temporary files that killed writes of the same file left behind are removed first.

    Raises:
        OSError: The folder cannot be written (the target is left as it was).
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    target = os.path.realpath(where)  # through symlinks to the file, so a link stays a link
    folder, name = os.path.split(target)
    _remove_abandoned_temp_files(folder, name)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            with contextlib.suppress(FileNotFoundError):
                os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
            f.write(data)
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
    return Path(where)


_TEMP_TAIL = re.compile(r"(\d{1,10})\.[0-9a-f]{8}")


def _remove_abandoned_temp_files(folder: str, name: str) -> None:
    """Delete ``.{name}.{pid}.{random}.tmp`` files whose writing process no longer exists.

    A write killed midway (SIGKILL, out of memory) cannot remove its temporary file, so the
    next write of the same file does. Files of live processes, of this process (another thread
    may be writing) and of other files are left alone. POSIX only: on Windows ``os.kill(pid,
    0)`` would end the process instead of asking about it.
    """
    if os.name != "posix":
        return
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    prefix = f".{name}."
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        tail = _TEMP_TAIL.fullmatch(entry[len(prefix) : -len(".tmp")])
        if tail is None:
            continue
        pid = int(tail[1])
        if pid != os.getpid() and not _process_exists(pid):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, run by another user
        return True
    return True
