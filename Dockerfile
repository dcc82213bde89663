# The bot in one image: `docker build -t supportbot .`
#   Console chat: docker run -it --rm -v supportbot-data:/app/data supportbot chat
#   Messengers:   docker run -d --env-file .env -v supportbot-data:/app/data -p 8090:8090 supportbot
# Runs as an unprivileged user; everything it writes goes to /app/data (DATA_DIR, a volume).
#
# The base is pinned to an exact tag. Any Debian-like image with Python 3.11+ and its venv
# module will do instead: `docker build --build-arg BASE_IMAGE=my-base:tag .` (the tests
# build on a Debian bookworm made with debootstrap and `docker import`).
ARG BASE_IMAGE=python:3.11.13-slim-bookworm
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DATA_DIR=/app/data \
    MPLCONFIGDIR=/tmp/matplotlib \
    HEALTH_PORT=8090
WORKDIR /app

# 1) Dependencies in a layer of their own, exactly as locked (versions and hashes): rebuilt
#    only when the lock file changes.
COPY requirements.lock ./
RUN python3 -m venv /opt/venv \
    && pip install --require-hashes -r requirements.lock

# 2) The code, installed without touching the dependencies again.
COPY pyproject.toml README.md ./
COPY config ./config
COPY core ./core
COPY bots ./bots
RUN pip install --no-deps . \
    && groupadd --system --gid 10001 supportbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin supportbot \
    && mkdir -p /app/data \
    && chown supportbot:supportbot /app/data

USER 10001:10001
# 3) The intent model, trained at build time into DATA_DIR/models (a new named volume is
#    filled from it). The database used for training is thrown away: none is in the image.
RUN DATABASE_URL=sqlite:////tmp/build.db supportbot train --quiet \
    && rm -f /tmp/build.db /tmp/build.db-wal /tmp/build.db-shm

VOLUME ["/app/data"]
# 8080 Telegram webhook, 8081 VK Callback API, 8090 /healthz, /readyz, /metrics.
EXPOSE 8080 8081 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bots.health"]
ENTRYPOINT ["supportbot"]
CMD ["run"]
