"""A shop's order API over HTTP on 127.0.0.1, as the README's contract describes it:
`GET /orders/{number}` and `POST /orders/{number}/actions/{action}` with an
`Idempotency-Key` header.

The shop keeps its own record of keys: a key seen before gets the first answer again and
nothing is done twice. What the shop allows is decided by a rule book (the demo order
service's rules, the same a shop would apply); `performed` lists what was really done.
Faults are scripted per request: `hang_next` (the request never gets an answer: the
client times out, nothing is done), `fail_next` (an HTTP error before acting) and
`lose_answer_next` (the shop acts, records the result, then the answer is lost — a 502);
`fail_get_next` (an HTTP error for a look-up).
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from core.clock import Clock
from core.orders import actions as act
from core.orders.demo import DemoOrderService, order_to_json
from core.orders.service import OrderNotFound


class FakeOrderAPI:
    def __init__(self, orders: list[dict[str, Any]], clock: Clock, token: str = "") -> None:
        self.rules = DemoOrderService(raw=orders, clock=clock)
        self.token = token
        self.requests: list[dict[str, Any]] = []  # every request, in order
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}  # key → first answer
        self.hang_next = 0
        self.fail_next: list[int] = []
        self.fail_get_next: list[int] = []  # HTTP errors for the next look-ups of an order
        self.lose_answer_next = 0
        self._release = asyncio.Event()
        self._server: TestServer | None = None
        self.url = ""

    @property
    def performed(self) -> list[tuple[str, str, dict[str, str]]]:
        return self.rules.performed

    def update(self, number: str, **fields: Any) -> None:
        """The order changes on the shop's side (it ships, arrives…)."""
        self.rules._raw[number].update(fields)
        self.rules._raw[number].pop("actions", None)

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/orders/{number}", self._get)
        app.router.add_post("/api/orders/{number}/actions/{action}", self._post)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        self.url = str(self._server.make_url("/api"))
        return self.url

    async def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeOrderAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _authorised(self, request: web.Request) -> bool:
        return not self.token or request.headers.get("Authorization") == f"Bearer {self.token}"

    async def _get(self, request: web.Request) -> web.Response:
        number = request.match_info["number"]
        self.requests.append({"method": "GET", "number": number})
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        if self.fail_get_next:
            return web.json_response({"error": "down"}, status=self.fail_get_next.pop(0))
        try:
            order = await self.rules.get(number)
        except OrderNotFound:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(order_to_json(order))

    async def _post(self, request: web.Request) -> web.Response:
        number, action = request.match_info["number"], request.match_info["action"]
        key = request.headers.get("Idempotency-Key", "")
        body = await request.json() if request.can_read_body else {}
        self.requests.append(
            {"method": "POST", "number": number, "action": action, "key": key, "body": body}
        )
        if not self._authorised(request):
            return web.json_response({"error": "unauthorised"}, status=401)
        if not key:
            return web.json_response({"code": "no_key", "reason": "нужен ключ"}, status=422)
        if key in self.answers:  # a retry: the first answer, nothing done again
            status, answer = self.answers[key]
            return web.json_response(answer, status=status)
        if self.hang_next:
            self.hang_next -= 1
            await self._release.wait()  # released at shutdown; the client gave up long ago
            return web.json_response({"error": "too late"}, status=504)
        if self.fail_next:
            return web.json_response({"error": "down"}, status=self.fail_next.pop(0))
        try:
            result = await self.rules.act(number, action, dict(body), key)
        except OrderNotFound:
            return web.json_response({"error": "not found"}, status=404)
        if result.outcome == act.DONE:
            status = 200
            answer: dict[str, Any] = {"message": result.message}
            if result.order is not None:
                answer["order"] = order_to_json(result.order)
        else:
            status, answer = 409, {"code": result.code, "reason": result.reason}
        self.answers[key] = (status, answer)
        if self.lose_answer_next:
            self.lose_answer_next -= 1
            return web.json_response({"error": "bad gateway"}, status=502)
        return web.json_response(answer, status=status)
