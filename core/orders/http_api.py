"""Orders from the shop's own HTTP API: `GET {ORDERS_API_URL}/orders/{number}`."""

from __future__ import annotations

import json
from urllib.parse import quote

import aiohttp

from core.orders.service import Order, OrderNotFound, OrderServiceUnavailable


class HttpOrderService:
    def __init__(self, base_url: str, timeout: float = 5.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def get(self, number: str) -> Order:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        url = f"{self.base_url}/orders/{quote(number, safe='')}"
        try:
            async with self._session.get(url) as response:
                if response.status == 404:
                    raise OrderNotFound(number)
                if response.status != 200:
                    raise OrderServiceUnavailable(f"HTTP {response.status}")
                body = await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise OrderServiceUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return Order.from_json(json.loads(body))
        except (ValueError, TypeError) as exc:
            raise OrderServiceUnavailable(f"bad JSON: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
