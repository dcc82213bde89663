"""The Callback API option: VK POSTs every community event to our HTTP endpoint.

* {"type": "confirmation"} → the confirmation string (VK_CALLBACK_CONFIRMATION) as plain
  text: this is how VK checks the address when it is added in the community settings.
* Every other request must carry the right "secret" (VK_CALLBACK_SECRET), else 403.
* Events are stored first (`accept`, the same path as long poll) and answered "ok" only
  then; if they cannot be stored the answer is 503 and VK repeats the event (a repeated
  event_id is applied once).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024


class CallbackServer:
    def __init__(
        self,
        accept: Callable[[list[Any]], Awaitable[None]],
        *,
        confirmation: str,
        secret: str,
        group_id: int | None = None,
        host: str = "0.0.0.0",
        port: int = 8081,
        path: str = "/vk/callback",
    ) -> None:
        if not confirmation or not secret:
            raise ValueError(
                "the VK Callback API needs VK_CALLBACK_CONFIRMATION and VK_CALLBACK_SECRET"
            )
        self.accept = accept
        self.confirmation = confirmation
        self.secret = secret
        self.group_id = group_id
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else "/" + path
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.handle)
        return app

    async def start(self) -> str:
        """Listen; returns the local URL (with the real port when `port` was 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        address = self._runner.addresses[0]
        self.port = int(address[1])
        return f"http://{address[0]}:{self.port}{self.path}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.text())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="bad request")
        if not isinstance(body, dict):
            return web.Response(status=400, text="bad request")
        if self.group_id is not None and str(body.get("group_id", "")) != str(self.group_id):
            log.warning("VK callback for another group: %r", body.get("group_id"))
            return web.Response(status=403, text="forbidden")
        if body.get("type") == "confirmation":
            return web.Response(text=self.confirmation, content_type="text/plain")
        secret = str(body.pop("secret", ""))
        if not hmac.compare_digest(secret.encode(), self.secret.encode()):
            log.warning("VK callback with a wrong secret from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            await self.accept([body])
        except Exception as exc:  # not stored: VK sends it again
            log.warning("VK callback event not stored: %r", exc)
            return web.Response(status=503, text="try again")
        return web.Response(text="ok", content_type="text/plain")
