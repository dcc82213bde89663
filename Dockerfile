# The bot in one container: `docker build -t supportbot .`
# Console chat:  docker run -it --rm -v supportbot-data:/app/data supportbot
# Messengers:    docker run -d --env-file .env -v supportbot-data:/app/data supportbot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY core ./core
COPY bots ./bots
COPY config ./config
RUN pip install ".[postgres]"

# Train the intent model at build time so the container is ready at once.
RUN supportbot train --quiet
VOLUME ["/app/data"]
CMD ["supportbot"]
