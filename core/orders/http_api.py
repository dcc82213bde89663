"""Orders from the shop's own HTTP API.

`GET {ORDERS_API_URL}/orders/{number}` looks an order up (`core.orders.service.Order`
lists the fields); `POST {ORDERS_API_URL}/orders/{number}/actions/{action}` with an
`Idempotency-Key` header performs a self-service action (`core.orders.actions` holds the
contract). A timeout, a 5xx or a body that is not JSON is `OrderServiceUnavailable` for a
lookup and a `failed` result for an action; the token is sent as a bearer token and never
logged.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import aiohttp

from core.orders import actions as act
from core.orders.actions import ActionResult
from core.orders.service import Order, OrderNotFound, OrderServiceUnavailable
from core.orders.states import StatusWords

log = logging.getLogger(__name__)


class HttpOrderService:
    def __init__(
        self,
        base_url: str,
        timeout: float = 5.0,
        token: str | None = None,
        status_words: StatusWords | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.status_words = status_words  # None: the shipped rules
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
        return self._session

    def _url(self, number: str) -> str:
        return f"{self.base_url}/orders/{quote(number, safe='')}"

    async def get(self, number: str) -> Order:
        try:
            async with self._client().get(self._url(number)) as response:
                if response.status == 404:
                    raise OrderNotFound(number)
                if response.status != 200:
                    raise OrderServiceUnavailable(f"HTTP {response.status}")
                body = await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise OrderServiceUnavailable(f"{type(exc).__name__}: {exc}") from exc
        try:
            return Order.from_json(json.loads(body), self.status_words)
        except (ValueError, TypeError) as exc:
            raise OrderServiceUnavailable(f"bad JSON: {exc}") from exc

    async def act(
        self, number: str, action: str, params: dict[str, str], idempotency_key: str
    ) -> ActionResult:
        """Perform `action`; the same `idempotency_key` again must not act twice."""
        url = f"{self._url(number)}/actions/{quote(action, safe='')}"
        headers = {"Idempotency-Key": idempotency_key}
        try:
            async with self._client().post(url, json=params, headers=headers) as response:
                status = response.status
                text = await response.text()
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("order action %s on %s failed: %s", action, number, type(exc).__name__)
            return ActionResult(act.FAILED, reason=type(exc).__name__)
        if status == 404:
            raise OrderNotFound(number)
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            if status in (200, 201, 409, 422):
                log.warning("order action %s on %s: HTTP %s, not JSON", action, number, status)
                return ActionResult(act.FAILED, reason=f"HTTP {status}, not JSON")
            body = {}
        result = ActionResult.from_json(status, body, self.status_words)
        if result.outcome == act.FAILED:
            log.warning("order action %s on %s failed: HTTP %s", action, number, status)
        return result

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
