# The bot in one image: `docker build -t supportbot .`
#   Console chat: docker run -it --rm -v supportbot-data:/app/data supportbot chat
#   Messengers:   docker run -d --env-file .env -v supportbot-data:/app/data -p 8090:8090 supportbot
# Runs as an unprivileged user; everything it writes goes to /app/data (DATA_DIR, a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/app/data \
    MPLCONFIGDIR=/tmp/matplotlib \
    HEALTH_PORT=8090
WORKDIR /app

# 1) Dependencies in a layer of their own: rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# 2) The code, installed without touching the dependencies again.
COPY README.md ./
COPY config ./config
COPY core ./core
COPY bots ./bots
RUN pip install --no-cache-dir --no-deps . \
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
