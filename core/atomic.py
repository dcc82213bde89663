"""Files in `DATA_DIR` written safely while other processes use the same folder.

`write_atomically(path, data)` writes to a temporary file of its own (a unique name from
`tempfile`, in the same folder) and renames it into place: a reader sees the old file or
the new one, never half of one, and two writers never share a temporary name.
`remove_stale(paths, older_than)` removes files no process has written or opened for a
while: a reader opens a file before touching it (`touch_open`), so a file in use is never
older than the grace period. Ages are read on the filesystem's own clock (the time it
stamps a new file with), never the process's: the two differ on a network filesystem, or
when the process's clock is set apart (a test's fake time).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

TEMP_SUFFIX = ".partial"
PROBE_SUFFIX = ".probe"


def write_atomically(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` in one rename (the folder is created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_and_touch(path: Path) -> bytes:
    """The file's bytes; its modification time is set to now first (through the open
    file, so a cleanup that runs meanwhile cannot take it away half-read)."""
    with path.open("rb") as handle:
        with contextlib.suppress(OSError):
            os.utime(handle.fileno())
        return handle.read()


def remove_stale(paths: Iterable[Path], older_than: float, now: float | None = None) -> None:
    """Remove each of `paths` not modified within `older_than` seconds (`now`: the
    filesystem's time, read from a new file in each folder when not given)."""
    clocks: dict[Path, float] = {}
    for path in paths:
        with contextlib.suppress(OSError):  # gone already, or another process removed it
            if now is None and path.parent not in clocks:
                clocks[path.parent] = filesystem_now(path.parent)
            current = now if now is not None else clocks[path.parent]
            if current - path.stat().st_mtime > older_than:
                path.unlink()


def filesystem_now(folder: Path) -> float:
    """The time the filesystem of `folder` stamps a file with now (a probe file made and
    removed at once)."""
    fd, probe = tempfile.mkstemp(dir=folder, prefix=".clock.", suffix=PROBE_SUFFIX)
    try:
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(probe)


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files of `write_atomically` left behind by a process that died mid-write."""
    return list(folder.glob(f".*{TEMP_SUFFIX}"))
