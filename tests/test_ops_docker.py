"""Issues 11 and 20, the Dockerfile and compose as text: the base pinned to an exact tag
(or a BASE_IMAGE argument), dependencies from the lock file in a layer before the code, a
non-root user, EXPOSE and HEALTHCHECK, no database left in the image, a .dockerignore that
lets in exactly what the COPY lines use; compose runs one long-polling replica on
PostgreSQL whose password must be given; the lock pins every dependency of pyproject.toml
within its range, and the Makefile and the image install from it. The image itself is
built and run by `tests/test_ops_image.py` where a Docker engine runs."""

from __future__ import annotations

import os
import re

import yaml
from conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", DOCKERFILE)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def index_of(keyword: str, contains: str = "") -> int:
    return next(
        i for i, (k, rest) in enumerate(instructions()) if k == keyword and contains in rest
    )


def test_base_image_is_pinned_or_given():
    steps = instructions()
    assert steps[0][0] == "ARG" and steps[1] == ("FROM", "${BASE_IMAGE}")
    name, _, default = steps[0][1].partition("=")
    assert name == "BASE_IMAGE"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", default)


def test_dependencies_are_installed_from_the_lock_before_the_code_is_copied():
    steps = instructions()
    deps = index_of("COPY", "requirements.lock")
    install = index_of("RUN", "--require-hashes -r requirements.lock")
    first_code = min(index_of("COPY", name) for name in ("core", "bots", "config"))
    assert steps[deps][1].split()[:-1] == ["requirements.lock"]  # nothing else in that layer
    assert deps < install < first_code
    assert "pip install --no-deps ." in steps[index_of("RUN", "--no-deps")][1]


def test_runs_as_an_unprivileged_user():
    users = [rest for keyword, rest in instructions() if keyword == "USER"]
    assert users == ["10001:10001"]
    assert index_of("USER") < index_of("RUN", "supportbot train")  # the model is theirs
    assert index_of("USER") < index_of("ENTRYPOINT")


def test_ports_healthcheck_and_entrypoint():
    exposed = {rest for keyword, rest in instructions() if keyword == "EXPOSE"}
    assert exposed == {"8080 8081 8090"}
    [healthcheck] = [rest for keyword, rest in instructions() if keyword == "HEALTHCHECK"]
    assert healthcheck.endswith('CMD ["python", "-m", "bots.health"]')
    assert "HEALTH_PORT=8090" in DOCKERFILE and "DATA_DIR=/app/data" in DOCKERFILE


def test_no_database_in_the_image():
    [train] = [rest for keyword, rest in instructions() if "supportbot train" in rest]
    assert train.startswith("DATABASE_URL=sqlite:////tmp/build.db supportbot train --quiet")
    assert "rm -f /tmp/build.db /tmp/build.db-wal /tmp/build.db-shm" in train


def test_dockerignore_lets_in_exactly_what_is_copied():
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**"  # everything else (.env, data/, .venv/, tests/) stays out
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for keyword, rest in instructions()
        if keyword == "COPY"
        for source in rest.split()[:-1]
    }
    assert copied == allowed
    assert allowed == {"requirements.lock", "pyproject.toml", "README.md", "config", "core", "bots"}


def test_compose_runs_one_polling_replica_on_postgresql():
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    compose = yaml.safe_load(text)
    bot = compose["services"]["bot"]
    assert "deploy" not in bot and "replicas" not in str(bot)  # one process polls
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["volumes"] == ["bot-data:/app/data"]
    assert bot["build"]["args"]["BASE_IMAGE"].startswith("${BASE_IMAGE:-python:3.11.")
    assert re.fullmatch(r"postgres:\d+\.\d+-bookworm", compose["services"]["postgres"]["image"])
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])


def test_compose_requires_the_postgres_password():
    """No silent default: `${POSTGRES_PASSWORD:?…}` stops compose when it is unset."""
    text = (REPO / "compose.yaml").read_text(encoding="utf-8")
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert len(uses) == 2 and all(use.startswith(":?") for use in uses), uses


def locked() -> dict[str, str]:
    """name → version of every package pinned in requirements.lock (Python 3.11's)."""
    pins = {}
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;\\]+)(?: ; (.*?))?(?: \\)?$", line)
        if match and (match[3] is None or "< '3.12'" in match[3]):
            pins[match[1].lower().replace("_", "-")] = match[2]
    return pins


def test_lock_pins_every_dependency_within_its_range():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["postgres"]
    pins = locked()
    for line in wanted:
        requirement = Requirement(line)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not in requirements.lock"
        assert requirement.specifier.contains(pins[name]), (line, pins[name])
    assert all("--hash=sha256:" in chunk for chunk in _entries("requirements.lock"))


def _entries(name: str) -> list[str]:
    text = (REPO / name).read_text(encoding="utf-8")
    return [chunk for chunk in re.split(r"\n(?=[A-Za-z])", text) if "==" in chunk]


def test_the_dev_lock_holds_the_image_lock():
    dev = {chunk.split(" ")[0] for chunk in _entries("requirements-dev.lock")}
    image = {chunk.split(" ")[0] for chunk in _entries("requirements.lock")}
    assert image <= dev


def test_make_and_ci_install_from_the_lock():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert "make lint" in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def compose_command() -> list[str] | None:
    import shutil
    import subprocess

    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_compose_reads_the_file_and_refuses_without_a_password(tmp_path):
    """compose itself (Debian's docker-compose, or the docker plugin) parses the file."""
    import shutil
    import subprocess

    import pytest

    command = compose_command()
    if command is None:
        pytest.skip("no docker compose here (.ci/run installs Debian's docker-compose)")
    shutil.copy(REPO / "compose.yaml", tmp_path / "compose.yaml")
    env_file = tmp_path / ".env"
    env_file.write_text("TELEGRAM_BOT_TOKEN=123:abc\nOPERATORS_CHAT_ID=-1001\n", encoding="utf-8")
    clean = {k: v for k, v in os.environ.items() if k not in ("POSTGRES_PASSWORD", "BASE_IMAGE")}

    def config() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, "-f", "compose.yaml", "config"],
            cwd=tmp_path,
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )

    refused = config()
    assert refused.returncode != 0 and "set POSTGRES_PASSWORD in .env" in refused.stderr
    env_file.write_text(env_file.read_text() + "POSTGRES_PASSWORD=s3cretWord\n", encoding="utf-8")
    resolved = config()
    assert resolved.returncode == 0, resolved.stderr
    rendered = yaml.safe_load(resolved.stdout)
    bot = rendered["services"]["bot"]
    url = "postgresql://supportbot:s3cretWord@postgres:5432/supportbot"
    assert bot["environment"]["DATABASE_URL"] == url
    assert bot["build"]["args"]["BASE_IMAGE"].startswith("python:3.11.")
    assert "deploy" not in bot
