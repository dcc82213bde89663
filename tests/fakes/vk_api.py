"""Local fake of the VK API (community-bot side) for tests and benchmarks.

An ``aiohttp.web`` server on 127.0.0.1 (free port) speaking enough of VK API 5.199 for a
vkbottle-4 bot: Bots Long Poll, ``messages.*``, ``users.get``, ``groups.*`` and the
photo/doc upload chains.  Every response is VK-shaped: ``{"response": ...}`` or
``{"error": {"error_code", "error_msg", "request_params"}}`` with HTTP 200.

Pointing vkbottle at the fake (checked against vkbottle 4.11 sources)::

    url = await fake.start()                 # "http://127.0.0.1:PORT/method/"
    api = API(fake.token, http_client=AiohttpClient())
    api.API_URL = url                        # API.request POSTs to self.API_URL + method
    bot = Bot(api=api, labeler=labeler, polling=StatelessBotPolling())

That instance attribute is the only override: the long-poll server and upload URLs come
from the fake's own ``groups.getLongPollServer`` / ``*.get*UploadServer`` answers.  Don't
set ``API.API_URL`` on the class (it would redirect every API object in the process).

vkbottle quirks found while building this:

* State file: ``BotPolling.save_server_ts`` writes ``Path.cwd()/.vkbottle/bot-polling/
  <group_id>.json`` after *every* long-poll answer, even with ``skip_old_events=True``;
  no option disables it.  Use ``StatelessBotPolling`` below (no-op ``save_server_ts``),
  override ``ts_state_path`` to relocate it, or ``monkeypatch.chdir(tmp_path)``.
* Group id: without ``group_id`` ``BotPolling``/uploaders call ``groups.getById`` and read
  the *new* shape ``response["groups"][0]["id"]`` - the fake answers that shape.
* The bot long-poll request is a **POST** with query params ``act, key, ts, wait,
  rps_delay``; the fake takes GET or POST and caps ``wait`` at ``lp_max_wait`` (1 s), so
  ``bot.polling.stop()`` + awaiting the ``bot.run_polling()`` task ends within ~1 s.
* Errors: the error dict minus ``error_code`` becomes kwargs of ``VKAPIError[code]``
  (``.code``, ``.error_msg``, ``.request_params`` as a dict; 5 is ``APIAuthError``);
  other keys would be logged as "extra kwargs", so the fake sends exactly those.
* ``Message.answer()`` sends ``peer_ids=<peer>``, ``random_id=0``.  With ``peer_ids`` the
  answer is a list of ``{"peer_id", "message_id", "conversation_message_id"}`` and a
  per-peer failure is an item ``{"peer_id", "error": {"code", "description"}}`` (shape seen
  in public VK client tests, not in official docs); vkbottle's typed ``messages.send``
  requires ``message_id`` in every item, so ``answer()`` to a user with messages
  forbidden raises pydantic ``ValidationError``, not ``VKAPIError[901]``.  ``peer_id`` /
  ``user_id`` sends return an int and raise ``VKAPIError[901]``.
* ``SingleAiohttpClient`` (the default) is a process-wide singleton; a per-test
  ``AiohttpClient()`` + ``await client.close()`` avoids sessions bound to dead loops.

Long-poll deviation from VK (on purpose, avoids start-up races in tests):
``groups.getLongPollServer`` returns the highest ``ts`` any client has already polled
with, so events pushed before the bot connected are still delivered once.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web
from vkbottle import BotPolling

API_VERSION = "5.199"
CHAT_PEER_OFFSET = 2_000_000_000
MAX_MESSAGE_LEN = 4096
RANDOM_ID_TTL = 3600.0
ERROR_MESSAGES: dict[int, str] = {
    1: "Unknown error occurred",
    3: "Unknown method passed",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    7: "Permission to perform this action is denied",
    9: "Flood control",
    10: "Internal server error",
    15: "Access denied",
    100: "One of the parameters specified was missing or invalid",
    901: "Can't send messages for users without permission",
    914: "Message is too long",
}
INVALID = "One of the parameters specified was missing or invalid: "
BUTTON_ACTIONS = [
    "text",
    "vkpay",
    "open_app",
    "location",
    "open_link",
    "callback",
    "intent_subscribe",
    "intent_unsubscribe",
]
FILE_FIELDS = ("photo", "file", "file1")
Params = dict[str, str]


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny, grey) PNG image, built with the stdlib only."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SAMPLE_PHOTO = _png()
SAMPLE_DOC = b"hello from fake VK\n"


class StatelessBotPolling(BotPolling):
    """vkbottle ``BotPolling`` that never writes ``./.vkbottle/bot-polling/<id>.json``."""

    def save_server_ts(self, server: dict[str, Any]) -> None:
        pass


class VKError(Exception):
    """Raised inside handlers; rendered as a VK ``{"error": ...}`` body."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(code)
        self.code, self.msg = code, msg or ERROR_MESSAGES.get(code, "Unknown error occurred")


class FakeVKAPI:
    """In-process VK API fake. Use ``async with FakeVKAPI() as fake`` or start()/stop()."""

    lp_max_wait: float = 1.0

    def __init__(self, group_id: int = 1001, token: str = "vk-test-token") -> None:
        self.group_id, self.token = group_id, token
        self.group_name = "Test Community"
        self.requests: list[tuple[str, Params]] = []  # (method, params) for every API call
        self._by_method: dict[str, list[Params]] = {}
        self.sent: list[dict[str, Any]] = []  # delivered messages, all peers, in order
        self.edits: list[dict[str, Any]] = []  # messages.edit params
        self.event_answers: list[Params] = []  # messages.sendMessageEventAnswer params
        self.uploads: list[bytes] = []  # uploaded photo bytes
        self.doc_uploads: list[bytes] = []
        self.events: list[dict[str, Any]] = []  # long-poll updates; events[i] has ts i+2
        self.lp_key = secrets.token_hex(20)
        self.base_url = ""
        self._users: dict[int, tuple[str, str]] = {}
        self._cannot_message: set[int] = set()
        self._failures: dict[str, list[tuple[int, str | None]]] = {}
        self._dedup: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}  # (peer, rid)
        self._cmid: dict[int, int] = {}
        self._msg_ids = itertools.count(1)
        self._item_ids = itertools.count(457239017)
        self._files: dict[str, tuple[bytes, str]] = {}
        self._pending_uploads: dict[str, tuple[str, bytes, str]] = {}  # token -> kind,data,name
        self._event_ids: set[str] = set()
        self._acked_ts = 1
        self._lp_polls = 0
        self._wakeup = asyncio.Event()  # replaced on every push / request
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[Params], Any]] = {
            "groups.getLongPollServer": self._groups_get_long_poll_server,
            "groups.getById": self._groups_get_by_id,
            "groups.setLongPollSettings": lambda p: 1,
            "messages.send": self._messages_send,
            "messages.sendMessageEventAnswer": self._messages_send_event_answer,
            "messages.edit": self._messages_edit,
            "messages.getConversationsById": self._messages_get_conversations_by_id,
            "users.get": self._users_get,
            "photos.getMessagesUploadServer": lambda p: {
                "upload_url": f"{self.base_url}/upload/photo",
                "album_id": -64,
                "group_id": self.group_id,
                "user_id": 0,
            },
            "photos.saveMessagesPhoto": self._photos_save_messages_photo,
            "docs.getMessagesUploadServer": lambda p: {"upload_url": f"{self.base_url}/upload/doc"},
            "docs.save": self._docs_save,
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        """Start listening on 127.0.0.1:<free port>; return ``http://127.0.0.1:PORT/method/``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/method/{method}", self._handle_method)
        app.router.add_route("*", "/lp", self._handle_lp)
        app.router.add_post("/upload/{kind}", self._handle_upload)
        app.router.add_get("/files/{name}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.api_url

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeVKAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/method/"

    # ------------------------------------------------------------------ test controls
    def calls(self, method: str) -> list[Params]:
        return list(self._by_method.get(method, ()))

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Params], bool] | None = None,
        timeout: float = 20.0,  # noqa: ASYNC109 (API from the brief)
        count: int = 1,
    ) -> list[Params]:
        """Wait until ``count`` calls of ``method`` (matching ``predicate``) were received."""
        scanned, matched = 0, list[Params]()

        def enough() -> bool:  # scans each call once: waiting in long benchmarks stays O(n)
            nonlocal scanned
            calls = self._by_method.get(method, [])
            matched.extend(p for p in calls[scanned:] if predicate is None or predicate(p))
            scanned = len(calls)
            return len(matched) >= count

        await self._wait_until(
            enough, timeout, lambda: f"{count} x {method} (matched {len(matched)})"
        )
        return matched

    async def wait_polling(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Wait until some client has issued a long-poll ``a_check`` request."""
        await self._wait_until(lambda: self._lp_polls > 0, timeout, lambda: "a long-poll request")

    async def _wait_until(
        self, check: Callable[[], bool], limit: float, what: Callable[[], str]
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            signal = self._wakeup  # taken before checking, so no notification is missed
            if check():
                return
            if (remaining := deadline - loop.time()) <= 0:
                recent = "\n".join(f"  {m} {p}" for m, p in self.requests[-15:]) or "  (none)"
                raise AssertionError(
                    f"timed out after {limit}s waiting for {what()}; recent calls:\n{recent}"
                )
            try:
                await asyncio.wait_for(signal.wait(), remaining)
            except TimeoutError:
                pass

    def push_message(
        self,
        from_id: int,
        text: str = "",
        *,
        payload: dict[str, Any] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        photo: bool | bytes = False,
        doc: bool | bytes = False,
        sticker: bool = False,
    ) -> dict[str, Any]:
        """Enqueue a ``message_new`` update from user ``from_id`` (private chat).

        ``photo``/``doc`` may be ``True`` (sample bytes) or the bytes to serve at the URL.
        Returns the event's ``object`` (``{"message": ..., "client_info": ...}``).
        """
        now = int(time.time())
        atts: list[dict[str, Any]] = []
        if photo:
            data = photo if isinstance(photo, bytes) else SAMPLE_PHOTO
            atts.append({"type": "photo", "photo": self._photo_object(from_id, data, now)})
        if doc:
            data = doc if isinstance(doc, bytes) else SAMPLE_DOC
            atts.append({"type": "doc", "doc": self._doc_object(from_id, data, "file.txt", now)})
        if sticker:
            url = self.add_file("sticker_9_128.png", SAMPLE_PHOTO, "image/png")
            images = [{"url": url, "width": 128, "height": 128}]
            atts.append(
                {
                    "type": "sticker",
                    "sticker": {
                        "product_id": 1,
                        "sticker_id": 9,
                        "images": images,
                        "images_with_background": images,
                    },
                }
            )
        atts.extend(attachments or [])
        message: dict[str, Any] = {
            "id": next(self._msg_ids),
            "date": now,
            "peer_id": from_id,
            "from_id": from_id,
            "text": text,
            "out": 0,
            "conversation_message_id": self._next_cmid(from_id),
            "attachments": atts,
            "fwd_messages": [],
            "important": False,
            "is_hidden": False,
            "random_id": 0,
            "version": 1,
        }
        if payload is not None:
            message["payload"] = json.dumps(payload, ensure_ascii=False)
        obj = {
            "message": message,
            "client_info": {
                "button_actions": list(BUTTON_ACTIONS),
                "keyboard": True,
                "inline_keyboard": True,
                "carousel": True,
                "lang_id": 0,
            },
        }
        self._push("message_new", obj)
        return obj

    def push_event(
        self, user_id: int, payload: dict[str, Any], *, conversation_message_id: int = 1
    ) -> dict[str, Any]:
        """Enqueue a ``message_event`` (callback button press); returns its ``object``."""
        event_id = secrets.token_hex(6)
        self._event_ids.add(event_id)
        obj = {
            "user_id": user_id,
            "peer_id": user_id,
            "event_id": event_id,
            "payload": payload,
            "conversation_message_id": conversation_message_id,
        }
        self._push("message_event", obj)
        return obj

    def set_user(self, user_id: int, first_name: str, last_name: str) -> None:
        self._users[user_id] = (first_name, last_name)

    def fail_next(
        self, method: str, *, code: int = 6, msg: str | None = None, times: int = 1
    ) -> None:
        """Make the next ``times`` calls of ``method`` return VK error ``code``."""
        self._failures.setdefault(method, []).extend([(code, msg)] * times)

    def set_cannot_message(self, user_id: int, flag: bool = True) -> None:
        """``messages.send`` to ``user_id`` fails with 901 (user forbade messages)."""
        (self._cannot_message.add if flag else self._cannot_message.discard)(user_id)

    def expire_lp_key(self) -> None:
        """Rotate the long-poll key: the next a_check with the old key gets ``{"failed": 2}``."""
        self.lp_key = secrets.token_hex(20)

    def sent_messages(self, peer_id: int) -> list[dict[str, Any]]:
        """Messages actually delivered to ``peer_id`` (after random_id dedup), oldest first.

        Each: ``id, peer_id, conversation_message_id, message`` (= ``text``), ``keyboard``
        (parsed JSON or None), ``attachment`` (str or None), ``payload``, ``random_id``,
        ``date`` and the raw ``params``.
        """
        return [m for m in self.sent if m["peer_id"] == peer_id]

    def add_file(
        self, name: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> str:
        """Serve ``data`` at ``/files/<name>``; returns the absolute URL."""
        self._files[name] = (data, content_type)
        return f"{self.base_url}/files/{name}"

    # ------------------------------------------------------------------ internals
    def _notify(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def _push(self, kind: str, obj: dict[str, Any]) -> None:
        self.events.append(
            {
                "type": kind,
                "object": obj,
                "group_id": self.group_id,
                "event_id": secrets.token_hex(20),
                "v": API_VERSION,
            }
        )
        self._notify()

    @property
    def _last_ts(self) -> int:
        return len(self.events) + 1

    def _next_cmid(self, peer_id: int) -> int:
        self._cmid[peer_id] = self._cmid.get(peer_id, 0) + 1
        return self._cmid[peer_id]

    def _photo_object(self, owner_id: int, data: bytes, date: int) -> dict[str, Any]:
        pid = next(self._item_ids)
        ext = "png" if data.startswith(b"\x89PNG") else "jpg"
        ctype = "image/png" if ext == "png" else "image/jpeg"
        url = self.add_file(f"photo{owner_id}_{pid}.{ext}", data, ctype)
        sizes = [
            {"type": t, "url": url, "width": w, "height": w}
            for t, w in (("s", 75), ("m", 130), ("x", 604), ("y", 807), ("z", 1080))
        ]
        return {
            "id": pid,
            "album_id": -3,
            "owner_id": owner_id,
            "date": date,
            "sizes": sizes,
            "text": "",
            "has_tags": False,
            "access_key": secrets.token_hex(9),
        }

    def _doc_object(self, owner_id: int, data: bytes, title: str, date: int) -> dict[str, Any]:
        did = next(self._item_ids)
        ext = title.rsplit(".", 1)[-1] if "." in title else "bin"
        url = self.add_file(f"doc{owner_id}_{did}.{ext}", data)
        return {
            "id": did,
            "owner_id": owner_id,
            "title": title,
            "size": len(data),
            "ext": ext,
            "url": url,
            "date": date,
            "type": 1,
            "access_key": secrets.token_hex(9),
        }

    @staticmethod
    def _json(body: Any) -> web.Response:
        return web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    @staticmethod
    async def _params(request: web.Request) -> Params:
        """Query string merged with the urlencoded POST body (how VK clients send params)."""
        params: Params = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def _handle_method(self, request: web.Request) -> web.Response:
        method, params = request.match_info["method"], await self._params(request)
        token = params.pop("access_token", None)
        self.requests.append((method, params))
        self._by_method.setdefault(method, []).append(params)
        self._notify()
        try:
            if token != self.token:
                raise VKError(
                    5, None if token else "User authorization failed: no access_token passed."
                )
            handler = self._handlers.get(method)
            if handler is None:
                raise VKError(3)
            queue = self._failures.get(method)
            if queue:
                raise VKError(*queue.pop(0))
            return self._json({"response": handler(params)})
        except VKError as e:
            request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
            request_params += [{"key": k, "value": v} for k, v in params.items()]
            return self._json(
                {
                    "error": {
                        "error_code": e.code,
                        "error_msg": e.msg,
                        "request_params": request_params,
                    }
                }
            )

    async def _handle_lp(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        if params.get("key") != self.lp_key:
            return self._json({"failed": 2})
        ts = int(params["ts"]) if params.get("ts", "").isdigit() else 0
        if not 1 <= ts <= self._last_ts:
            return self._json({"failed": 1, "ts": str(self._last_ts)})
        self._acked_ts = max(self._acked_ts, ts)
        self._lp_polls += 1
        self._notify()
        wait = min(float(params.get("wait") or 25), self.lp_max_wait)
        deadline = asyncio.get_running_loop().time() + wait
        while self._last_ts <= ts and not self._closing:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        updates = self.events[ts - 1 :]  # events[i] has ts i+2, so ts > given starts at i=ts-1
        return self._json({"ts": str(self._last_ts if updates else ts), "updates": updates})

    async def _handle_upload(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        data, name = b"", "file"
        async for part in await request.multipart():
            if isinstance(part, BodyPartReader) and (part.filename or part.name in FILE_FIELDS):
                data, name = bytes(await part.read()), part.filename or name
                break
        token = secrets.token_hex(16)
        self._pending_uploads[token] = (kind, data, name)
        if kind == "photo":
            self.uploads.append(data)
            photo = json.dumps(
                [
                    {
                        "markers_restarted": True,
                        "photo": token,
                        "sizes": [],
                        "kid": secrets.token_hex(8),
                    }
                ]
            )
            return self._json({"server": 1, "photo": photo, "hash": "abc"})
        self.doc_uploads.append(data)
        return self._json({"file": token})

    async def _handle_file(self, request: web.Request) -> web.Response:
        item = self._files.get(request.match_info["name"])
        if item is None:
            raise web.HTTPNotFound()
        return web.Response(body=item[0], content_type=item[1])

    # ------------------------------------------------------------------ methods
    def _groups_get_long_poll_server(self, p: Params) -> dict[str, Any]:
        if p.get("group_id") and p["group_id"].lstrip("-") != str(self.group_id):
            raise VKError(100, INVALID + "group_id is invalid")
        return {"key": self.lp_key, "server": f"{self.base_url}/lp", "ts": str(self._acked_ts)}

    def _groups_get_by_id(self, p: Params) -> dict[str, Any]:
        return {
            "groups": [
                {
                    "id": self.group_id,
                    "name": self.group_name,
                    "screen_name": f"club{self.group_id}",
                    "is_closed": 0,
                    "type": "group",
                    "photo_50": "",
                    "photo_100": "",
                    "photo_200": "",
                }
            ],
            "profiles": [],
        }

    def _messages_send(self, p: Params) -> Any:
        multi = "peer_ids" in p or "user_ids" in p
        if multi:
            peers = [int(x) for x in (p.get("peer_ids") or p["user_ids"]).split(",") if x]
        elif p.get("peer_id") or p.get("user_id"):
            peers = [int(p.get("peer_id") or p["user_id"])]
        elif p.get("chat_id"):
            peers = [CHAT_PEER_OFFSET + int(p["chat_id"])]
        else:
            raise VKError(
                100,
                INVALID + "you should specify peer_id, user_id, domain, chat_id or user_ids param",
            )
        if "random_id" not in p:
            raise VKError(100, INVALID + "random_id is a required parameter")
        text = p.get("message", "")
        if not (
            text
            or p.get("attachment")
            or p.get("sticker_id")
            or p.get("forward_messages")
            or p.get("forward")
        ):
            raise VKError(100, INVALID + "message is empty or invalid")
        if len(text) > MAX_MESSAGE_LEN:
            raise VKError(914)
        random_id = int(p["random_id"])
        results: list[dict[str, Any]] = []
        for peer in peers:
            if peer in self._cannot_message:
                if not multi:
                    raise VKError(901)
                results.append(
                    {"peer_id": peer, "error": {"code": 901, "description": ERROR_MESSAGES[901]}}
                )
                continue
            msg = self._deliver(peer, p, text, random_id)
            results.append(
                {
                    "peer_id": peer,
                    "message_id": msg["id"],
                    "conversation_message_id": msg["conversation_message_id"],
                }
            )
        return results if multi else results[0]["message_id"]

    def _deliver(self, peer: int, p: Params, text: str, random_id: int) -> dict[str, Any]:
        now = time.time()
        if random_id:
            seen = self._dedup.get((peer, random_id))
            if seen is not None and now - seen[0] < RANDOM_ID_TTL:
                return seen[1]
        msg: dict[str, Any] = {
            "id": next(self._msg_ids),
            "peer_id": peer,
            "conversation_message_id": self._next_cmid(peer),
            "message": text,
            "text": text,
            "keyboard": json.loads(p["keyboard"]) if p.get("keyboard") else None,
            "attachment": p.get("attachment") or None,
            "payload": p.get("payload"),
            "random_id": random_id,
            "date": int(now),
            "params": dict(p),
        }
        if random_id:
            self._dedup[(peer, random_id)] = (now, msg)
        self.sent.append(msg)
        return msg

    def _messages_send_event_answer(self, p: Params) -> int:
        if p.get("event_id") not in self._event_ids:
            raise VKError(100, INVALID + "event_id is invalid")
        self.event_answers.append(p)
        return 1

    def _messages_edit(self, p: Params) -> int:
        peer = int(p.get("peer_id", 0))
        key, value = (
            ("id", p["message_id"])
            if p.get("message_id")
            else ("conversation_message_id", p.get("conversation_message_id"))
        )
        for msg in self.sent:
            if msg["peer_id"] == peer and str(msg[key]) == str(value):
                if "message" in p:
                    msg["message"] = msg["text"] = p["message"]
                if "keyboard" in p:
                    msg["keyboard"] = json.loads(p["keyboard"]) if p["keyboard"] else None
                if "attachment" in p:
                    msg["attachment"] = p["attachment"] or None
        self.edits.append(p)
        return 1

    def _messages_get_conversations_by_id(self, p: Params) -> dict[str, Any]:
        items = []
        for peer in (int(x) for x in p.get("peer_ids", "").split(",") if x):
            is_chat = peer > CHAT_PEER_OFFSET
            items.append(
                {
                    "peer": {
                        "id": peer,
                        "type": "chat" if is_chat else "user",
                        "local_id": peer - CHAT_PEER_OFFSET if is_chat else peer,
                    },
                    "in_read": 0,
                    "out_read": 0,
                    "last_message_id": 0,
                    "can_write": {"allowed": peer not in self._cannot_message},
                }
            )
        return {"count": len(items), "items": items}

    def _users_get(self, p: Params) -> list[dict[str, Any]]:
        fields = set(filter(None, p.get("fields", "").split(",")))
        users = []
        for uid in (int(x) for x in p.get("user_ids", "").split(",") if x.strip().isdigit()):
            first, last = self._users.get(uid, ("User", str(uid)))
            user: dict[str, Any] = {
                "id": uid,
                "first_name": first,
                "last_name": last,
                "can_access_closed": True,
                "is_closed": False,
            }
            user.update({f: f"id{uid}" for f in fields & {"domain", "screen_name"}})
            user.update(
                {
                    f: self.add_file("avatar.png", SAMPLE_PHOTO, "image/png")
                    for f in fields
                    if f.startswith("photo_")
                }
            )
            users.append(user)
        return users

    def _take_upload(self, token: str, kind: str) -> tuple[bytes, str]:
        item = self._pending_uploads.pop(token, None)
        if item is None or item[0] != kind:
            raise VKError(100, INVALID + f"{kind} is undefined")
        return item[1], item[2]

    def _photos_save_messages_photo(self, p: Params) -> list[dict[str, Any]]:
        try:
            token = json.loads(p.get("photo", ""))[0]["photo"]
        except (ValueError, LookupError, TypeError):
            token = ""
        data, _ = self._take_upload(token, "photo")
        return [self._photo_object(-self.group_id, data, int(time.time()))]

    def _docs_save(self, p: Params) -> dict[str, Any]:
        data, name = self._take_upload(p.get("file", ""), "doc")
        doc = self._doc_object(-self.group_id, data, p.get("title") or name, int(time.time()))
        return {"type": "doc", "doc": doc}
