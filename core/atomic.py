"""Files in `DATA_DIR` written safely while other processes use the same folder.

`write_atomically(path, data)` writes to a temporary file of its own (a unique name from
`tempfile`, in the same folder) and renames it into place: a reader sees the old file or
the new one, never half of one, and two writers never share a temporary name.
`remove_stale(paths, older_than)` removes files no process has written or opened for a
while: a reader opens a file before touching it (`touch_open`), so a file in use is never
older than the grace period.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

TEMP_SUFFIX = ".partial"


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
    """Remove each of `paths` not modified within `older_than` seconds."""
    now = time.time() if now is None else now
    for path in paths:
        with contextlib.suppress(OSError):  # gone already, or another process removed it
            if now - path.stat().st_mtime > older_than:
                path.unlink()


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files of `write_atomically` left behind by a process that died mid-write."""
    return list(folder.glob(f".*{TEMP_SUFFIX}"))
