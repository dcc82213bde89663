"""Health and metrics over HTTP, for Docker's HEALTHCHECK, a load balancer and Prometheus.

* `GET /healthz` — liveness: 200 while the process serves requests at all, from the
  first second of a start (the server starts before the database and the model).
* `GET /readyz`  — readiness: 200 when the database answers and every channel has
  started; 503 with the reason otherwise ("waiting for the intent model", a database
  away).
* `GET /metrics` — Prometheus text format (`core.metrics`); the database figures are read
  when scraped, asynchronously.

In webhook mode the routes are added to the Telegram webhook server (same port); with
`HEALTH_PORT` set they are also served on a port of their own (polling mode needs that).
`python -m bots.health` asks `/healthz` on HEALTH_PORT and exits 0 or 1 (the Docker
HEALTHCHECK); it imports nothing heavy.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from core.app import Core

log = logging.getLogger(__name__)
DB_TIMEOUT = 5.0  # seconds a probe waits for the database


class Health:
    """Starts before the engine exists (`core` None): `/healthz` answers at once, and
    `/readyz` names what the start waits for (`waiting_for`) until the channels run."""

    def __init__(self, core: Core | None = None) -> None:
        self.core = core
        self.waiting_for = "the database"
        self.channels_started = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/metrics", self.metrics)

    async def start(self, host: str, port: int) -> int:
        """Serve the routes on their own port; returns the port (useful with port 0)."""
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        addresses = self._runner.addresses
        self.port = int(addresses[0][1]) if addresses else port
        log.info(
            "health and metrics on http://%s:%s (/healthz, /readyz, /metrics)", host, self.port
        )
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ handlers
    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(self, request: web.Request) -> web.Response:
        if self.core is None:
            return web.Response(status=503, text=f"not ready: waiting for {self.waiting_for}\n")
        problems = []
        if not self.channels_started:
            problems.append("channels are starting")
        try:
            await asyncio.wait_for(self.core.storage.db.fetchone("SELECT 1 AS ok"), DB_TIMEOUT)
        except Exception as exc:
            problems.append(f"database unreachable ({type(exc).__name__})")
        if problems:
            return web.Response(status=503, text="not ready: " + "; ".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def metrics(self, request: web.Request) -> web.Response:
        from core.runtime.metrics import CONTENT_TYPE, Snapshot, exposition

        if self.core is None:
            return web.Response(status=503, text=f"starting: waiting for {self.waiting_for}\n")
        try:
            snapshot = await asyncio.wait_for(
                Snapshot.read(
                    self.core.storage, self.core.classifier.fingerprint, self.core.clock.now()
                ),
                DB_TIMEOUT,
            )
        except Exception as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
            return web.Response(status=503, text="database unreachable\n")
        body = exposition(snapshot)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def check(url: str, timeout: float = 5.0) -> int:
    """0 when `url` answers 200, else 1 (with one line on stderr)."""
    from urllib.error import URLError
    from urllib.request import urlopen

    started = time.monotonic()
    try:
        with urlopen(url, timeout=timeout) as response:
            if response.status == 200:
                return 0
            print(f"{url}: HTTP {response.status}", file=sys.stderr)
    except (URLError, OSError) as exc:
        print(f"{url}: {exc} after {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    port = os.environ.get("HEALTH_PORT") or "8090"
    path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
    raise SystemExit(check(f"http://127.0.0.1:{port}{path}"))
