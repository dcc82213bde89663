"""A throw-away PostgreSQL server for the storage tests, when the machine has one.

Starts `initdb` + `postgres` (from PATH, or Debian's /usr/lib/postgresql/*/bin) as the
`postgres` user when run as root, in a temporary folder, on a free port of 127.0.0.1;
`TEST_POSTGRES_URL` in the environment points the tests at an existing server instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin_dirs() -> list[str]:
    """Where the server's programs may be: PATH, then Debian's versioned folders."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    return [*os.environ.get("PATH", "").split(os.pathsep), *debian]


def _tool(name: str) -> str | None:
    return shutil.which(name, path=os.pathsep.join(_bin_dirs()))


def available() -> str | None:
    """Why a server cannot be started here, or None when it can."""
    if os.environ.get("TEST_POSTGRES_URL"):
        return None
    for tool in ("initdb", "pg_ctl", "postgres"):
        if _tool(tool) is None:
            return f"{tool} not found on PATH or in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="supportbot-pg-"))
    data = folder / "data"
    if as_user:
        shutil.chown(folder, "postgres")
    port = _free_port()
    subprocess.run(
        [
            *as_user,
            str(_tool("initdb")),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(_tool("pg_ctl")),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        for _ in range(50):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(_tool("pg_ctl")), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
