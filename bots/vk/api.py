"""The VK API client of the adapter: vkbottle's `API`, rate limited and failing fast.

* Every API method call waits for the shared `RateLimiter` first (long-poll and upload
  requests go to other hosts and are not API calls).
* The base URL comes from settings (`VK_API_URL`), set on the instance only — never on
  the `API` class, which would redirect every API object in the process.
* vkbottle retries a non-JSON answer (an HTML error page from a proxy) forever, with
  growing sleeps; here it raises `VKBadResponse` instead, so the delivery worker's own
  backoff handles it and the long-poll loop keeps running.
"""

from __future__ import annotations

from typing import Any

import aiohttp
from vkbottle import API, AiohttpClient
from vkbottle.api.request_rescheduler import ABCRequestRescheduler
from vkbottle.http import ABCHTTPClient

from bots.vk.ratelimit import RateLimiter

API_TIMEOUT = 35.0  # seconds for one API call; long polls pass their own timeout


class VKBadResponse(Exception):
    """VK (or a proxy in front of it) answered something that is not JSON."""


class _FailFast(ABCRequestRescheduler):
    async def reschedule(
        self, ctx_api: Any, method: str, data: dict[str, Any], recent_response: Any
    ) -> dict[str, Any]:
        raise VKBadResponse(f"{method}: VK answered {str(recent_response)[:200]!r}")


class LimitedAPI(API):
    """`API` whose every method call first waits for the rate limiter."""

    def __init__(
        self,
        token: str,
        limiter: RateLimiter,
        *,
        http_client: ABCHTTPClient,
        api_url: str,
    ) -> None:
        super().__init__(token, http_client=http_client, request_rescheduler=_FailFast())
        self.limiter = limiter
        self.API_URL = api_url if api_url.endswith("/") else api_url + "/"

    async def request(
        self, method: str, data: dict[str, Any], version: str | None = None
    ) -> dict[str, Any]:
        await self.limiter.acquire()
        return await super().request(method, data, version)


def make_http_client() -> AiohttpClient:
    """A client of our own (not vkbottle's process-wide singleton), closed by `stop()`."""
    return AiohttpClient(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT))


def error_code(exc: BaseException) -> int | None:
    """The VK error code of a vkbottle `VKAPIError`, else None."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None
