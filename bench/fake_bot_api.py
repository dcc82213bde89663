"""The fake Bot API (`tests/fakes/telegram_api.py`) as a process of its own, for
`bench/process_bench.py`: the bot under test long-polls it as it would Telegram.

    .venv/bin/python bench/fake_bot_api.py [--ops-chat -1009000000001]

Prints one JSON line, `{"url": ..., "token": ...}`, then serves on 127.0.0.1 until SIGTERM
or SIGINT. Besides the Bot API it answers the driver (JSON bodies and answers); every time
is `time.monotonic()` of this process, which on Linux is the system-wide monotonic clock,
so the driver may compare it with its own:

- `POST /bench/inject {"messages": [[chat, text], ...]}`: queue those private messages at
  once, in that order; answers `{"at": t}`.
- `POST /bench/wait {"expect": {chat: n, ...}, "timeout": s}`: answers when every chat
  named has at least n replies (`"done": false` when the timeout came first), with
  `"injected"` and `"replies"`: the times of each named chat's messages and replies.
- `POST /bench/settle {"chat": c, "count": n, "quiet": s, "timeout": s}`: answers once chat
  c has at least n replies and then none for `quiet` seconds: `{"count": replies, "at":
  [the time of each reply]}`.
- `POST /bench/first_poll {"timeout": s}`: the time of the first getUpdates, `{"at": t}`.
- `POST /bench/update {"chat": c, "text": t}`: a private message's update, not queued (for
  a driver that posts it to a webhook itself): `{"update": {...}}`.
- `POST /bench/calls {"method": m, "count": n, "timeout": s}`: answers once the bot has
  called `m` at least n times (`"done": false` when the timeout came first).

Replies are the bot's sendMessage calls to private chats (positive chat ids). getUpdates
is held open up to its timeout, like Telegram (the tests' fake caps it at 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fakes.telegram_api import FakeTelegramAPI, Params

TOKEN = "123456789:AAH-process_bench-token-00000000000"


class BenchFake(FakeTelegramAPI):
    long_poll_cap = 30.0

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.injected: dict[int, list[float]] = defaultdict(list)
        self.replies: dict[int, list[float]] = defaultdict(list)
        self.first_poll: float | None = None
        self._polled = asyncio.Event()
        self._replied = asyncio.Event()  # set on every reply, then replaced
        self._expect: dict[int, int] = {}
        self._missing = 0
        self._complete = asyncio.Event()

    def _app(self) -> web.Application:
        app = super()._app()
        app.router.add_post("/bench/inject", self._inject)
        app.router.add_post("/bench/wait", self._wait)
        app.router.add_post("/bench/settle", self._settle)
        app.router.add_post("/bench/first_poll", self._first_poll)
        app.router.add_post("/bench/update", self._update_only)
        app.router.add_post("/bench/calls", self._calls)
        return app

    # ------------------------------------------------------------------ the Bot API side
    async def _api_getupdates(self, p: Params) -> list[Params]:
        if self.first_poll is None:
            self.first_poll = time.monotonic()
            self._polled.set()
        return await super()._api_getupdates(p)

    def _api_sendmessage(self, p: Params) -> Params:
        result = super()._api_sendmessage(p)
        chat = result["chat"]["id"]
        if chat > 0:
            replies = self.replies[chat]
            replies.append(time.monotonic())
            if self._expect.get(chat) == len(replies):
                self._missing -= 1
                if self._missing == 0:
                    self._complete.set()
            self._replied.set()
            self._replied = asyncio.Event()
        return result

    # ------------------------------------------------------------------ the driver's side
    async def _inject(self, request: web.Request) -> web.Response:
        body = await request.json()
        at = time.monotonic()
        for chat, text in body["messages"]:
            self.injected[int(chat)].append(at)
            self.private_message(int(chat), str(text))
        return web.json_response({"at": at})

    async def _wait(self, request: web.Request) -> web.Response:
        body = await request.json()
        expect = {int(chat): int(n) for chat, n in body["expect"].items()}
        self._expect = expect
        self._missing = sum(1 for chat, n in expect.items() if len(self.replies[chat]) < n)
        self._complete = asyncio.Event()
        if self._missing == 0:
            self._complete.set()
        try:
            await asyncio.wait_for(self._complete.wait(), float(body["timeout"]))
            done = True
        except TimeoutError:
            done = False
        self._expect = {}
        return web.json_response(
            {
                "done": done,
                "injected": {chat: self.injected[chat] for chat in expect},
                "replies": {chat: self.replies[chat] for chat in expect},
            }
        )

    async def _settle(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat, count = int(body["chat"]), int(body["count"])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(body["timeout"])
        while (remaining := deadline - loop.time()) > 0:
            seen = len(self.replies[chat])
            wait = remaining if seen < count else min(float(body["quiet"]), remaining)
            try:
                await asyncio.wait_for(self._replied.wait(), wait)
            except TimeoutError:
                if seen >= count:  # no reply at all for `quiet` seconds
                    break
        return web.json_response({"count": len(self.replies[chat]), "at": self.replies[chat]})

    async def _update_only(self, request: web.Request) -> web.Response:
        body = await request.json()
        chat = int(body["chat"])
        self.injected[chat].append(time.monotonic())
        return web.json_response(
            {"update": self.private_message(chat, str(body["text"]), push=False)}
        )

    async def _calls(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await self.wait_for(
                str(body["method"]), count=int(body["count"]), timeout=float(body["timeout"])
            )
        except AssertionError:
            return web.json_response({"done": False})
        return web.json_response({"done": True})

    async def _first_poll(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            await asyncio.wait_for(self._polled.wait(), float(body["timeout"]))
        except TimeoutError:
            return web.json_response({"at": None})
        return web.json_response({"at": self.first_poll})


async def serve(ops_chat: int | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with BenchFake() as fake:
        if ops_chat is not None:
            fake.add_chat(ops_chat, is_forum=True)
        print(json.dumps({"url": fake.base_url, "token": fake.token}), flush=True)
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ops-chat", type=int, help="an operators' forum group to know")
    asyncio.run(serve(parser.parse_args().ops_chat))


if __name__ == "__main__":
    main()
