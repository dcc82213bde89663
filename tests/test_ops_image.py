"""Issue 20, Deployment: the image built for real, started, and asked `/healthz`.

Runs where a Docker engine answers (`.ci/run` installs Debian's docker.io and starts
`dockerd`); skipped elsewhere, saying why. No registry can be reached here, so the base is
made locally: Debian bookworm from `debootstrap` (with Python 3.11 and its venv module),
turned into an image with `docker import`, and passed as the `BASE_IMAGE` build argument.
The machine's CA bundle goes into that base, so that pip inside the build trusts what the
machine trusts. `SUPPORTBOT_BASE_IMAGE` names another base instead (e.g. the Dockerfile's
default, where a registry is reachable).

The container runs `supportbot run` against the fake Bot API on 127.0.0.1 (host network:
no traffic leaves the loopback), as uid 10001: /healthz and /readyz answer 200, a
customer's message is answered, `python -m bots.health` (the HEALTHCHECK) exits 0, and
`docker stop` ends it with exit code 0 and no traceback in its log. Every docker command
has a time limit.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import aiohttp
import pytest
from conftest import REPO

from tests.fakes.telegram_api import FakeTelegramAPI

# Building a base with debootstrap and the image may take far longer than the suite's
# default timeout; every docker command has its own limit.
pytestmark = pytest.mark.timeout(3000)

BASE = "supportbot-test-base:bookworm"
IMAGE = "supportbot:test"
OPS = -1004000000020
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
MIRROR = "http://deb.debian.org/debian"


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=check
    )


def engine_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker command"
    try:
        info = docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "docker info did not answer in 30 s"
    return None if info.returncode == 0 else f"no Docker engine ({info.stderr.strip()[:200]})"


def make_base() -> str:
    """A Debian bookworm base made here, unless one exists or is named."""
    named = os.environ.get("SUPPORTBOT_BASE_IMAGE")
    if named:
        return named
    if docker("image", "inspect", BASE, check=False).returncode == 0:
        return BASE
    if shutil.which("debootstrap") is None:
        pytest.skip("no debootstrap to make a base image (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="supportbot-base-") as folder:
        root = Path(folder) / "rootfs"
        include = "--include=python3,python3-venv,ca-certificates"
        subprocess.run(
            ["debootstrap", "--variant=minbase", include, "bookworm", str(root), MIRROR],
            capture_output=True,
            timeout=900,
            check=True,
        )
        if CA_BUNDLE.is_file():  # this machine's trust, for pip inside the build
            shutil.copy(CA_BUNDLE, root / "etc/ssl/certs/ca-certificates.crt")
            (root / "etc/pip.conf").write_text(f"[global]\ncert = {CA_BUNDLE}\n")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-", BASE],
            stdin=tar.stdout,
            capture_output=True,
            timeout=300,
            check=True,
        )
        tar.wait(timeout=60)
    return BASE


@pytest.fixture(scope="module")
def image() -> str:
    problem = engine_problem()
    if problem:
        pytest.skip(f"the image is not built here: {problem}")
    base = make_base()
    build = docker(
        "build", "--network", "host", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, str(REPO),
        timeout=1500,
        check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return IMAGE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def answer(url: str) -> int:
    try:
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            return response.status
    except aiohttp.ClientError:
        return 0


async def until_status(url: str, status: int, limit: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while await answer(url) != status:
        assert asyncio.get_running_loop().time() < deadline, f"{url} never answered {status}"
        await asyncio.sleep(0.2)


async def test_image_starts_serves_and_stops(image):
    port = free_port()
    name = f"supportbot-test-{uuid.uuid4().hex[:8]}"
    async with FakeTelegramAPI() as fake:
        fake.add_chat(OPS, is_forum=True)
        settings = {
            "TELEGRAM_BOT_TOKEN": fake.token,
            "TELEGRAM_API_URL": fake.base_url,
            "OPERATORS_CHAT_ID": str(OPS),
            "HEALTH_HOST": "127.0.0.1",
            "HEALTH_PORT": str(port),
            "WORK_HOURS_START": "00:00",
            "WORK_HOURS_END": "00:00",
        }
        flags = [arg for key, value in settings.items() for arg in ("-e", f"{key}={value}")]
        await asyncio.to_thread(
            docker, "run", "-d", "--name", name, "--network", "host", *flags, image
        )
        try:
            await until_status(f"http://127.0.0.1:{port}/healthz", 200)
            await until_status(f"http://127.0.0.1:{port}/readyz", 200)
            fake.private_message(5550020, "где мой заказ")
            await fake.wait_for("sendMessage", lambda p: p["chat_id"] == 5550020, timeout=120)
            user = await asyncio.to_thread(docker, "exec", name, "id", "-u")
            assert user.stdout.strip() == "10001"
            probe = await asyncio.to_thread(
                docker, "exec", "-e", f"HEALTH_PORT={port}", name, "python", "-m", "bots.health"
            )
            assert probe.returncode == 0
            await asyncio.to_thread(docker, "stop", "--time", "30", name, timeout=90)
            state = await asyncio.to_thread(
                docker, "inspect", "--format", "{{.State.ExitCode}}", name
            )
            logs = await asyncio.to_thread(docker, "logs", name)
            assert state.stdout.strip() == "0", logs.stderr[-3000:]
            assert "Traceback" not in logs.stdout + logs.stderr
            assert fake.token not in logs.stdout + logs.stderr
        finally:
            await asyncio.to_thread(docker, "rm", "-f", "-v", name, check=False)
