"""Issue 11, the Dockerfile row (no Docker engine here, so the files are checked as text):
dependencies in a layer before the code, a non-root user, EXPOSE and HEALTHCHECK, no
database left in the image, a .dockerignore that lets in exactly what the COPY lines use;
compose.yaml runs two replicas on PostgreSQL. The build steps themselves are replayed by
hand (README, "Operating it")."""

from __future__ import annotations

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


def test_dependencies_are_installed_before_the_code_is_copied():
    steps = instructions()
    deps = index_of("COPY", "pyproject.toml")
    install = index_of("RUN", "-r /tmp/requirements.txt")
    first_code = min(index_of("COPY", name) for name in ("core", "bots", "config"))
    assert steps[deps][1].split()[:-1] == ["pyproject.toml"]  # nothing else in that layer
    assert deps < install < first_code
    assert "--no-deps" in steps[index_of("RUN", "pip install --no-cache-dir --no-deps .")][1]


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
    assert copied == allowed == {"pyproject.toml", "README.md", "config", "core", "bots"}


def test_compose_runs_two_replicas_on_postgresql():
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    bot = compose["services"]["bot"]
    assert bot["deploy"]["replicas"] == 2
    assert bot["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])
