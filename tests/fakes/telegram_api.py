"""In-process fake of the Telegram Bot API (aiohttp.web on 127.0.0.1) for tests and benchmarks.

Point an aiogram 3 bot at it::

    async with FakeTelegramAPI() as tg:
        api = TelegramAPIServer.from_base(tg.base_url)
        bot = Bot(tg.token, session=AiohttpSession(api=api))
        tg.private_message(111, "/start")                      # queued for getUpdates
        [call] = await tg.wait_for("sendMessage", lambda p: p["chat_id"] == 111)

* Requests: ``POST|GET {base}/bot{token}/{method}`` (urlencoded, multipart or JSON body); method
  names are case-insensitive. Every call is appended to ``requests`` as ``(method, params)`` with
  JSON values decoded (``chat_id`` -> int, ``reply_markup`` -> dict) and uploads (``attach://``)
  replaced by their bytes. Files are served at ``GET {base}/file/bot{token}/{file_path}``.
* Replies mimic Telegram: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code",
  "description"[, "parameters"]}`` with the same HTTP status, so aiogram raises its usual errors
  (429 -> TelegramRetryAfter, 403 -> TelegramForbiddenError, 400 -> TelegramBadRequest, ...).
* Realism: stored/returned text is what Telegram shows (HTML tags stripped, entities unescaped;
  the raw string is in ``calls()``). ``Message`` objects echo only inline keyboards, but
  ``sent_messages()`` keeps any reply_markup. Unknown negative chat ids give "chat not found"
  (register groups with ``add_chat``/``group_message``); positive ids are private chats. Replies
  to unknown messages give "message to be replied not found"; a reply without
  message_thread_id lands in the replied message's topic; captions over 1024 give "message
  caption is too long" (Telegram's wording).
* Builders (``private_message``/``group_message``/``callback_query``) return the Update and also
  queue it unless ``push=False``; ``push_update`` ignores an update that is already queued.
* Several bots: ``add_bot(token)`` registers another bot (a helper); its requests act as that
  bot (its own ``from``, updates queue and post limit). A button press on a message goes to
  the bot that sent the message. ``request_bots`` gives the bot id of each entry of
  ``requests``.
* Group post limit (off by default): with ``group_post_limit = N`` a bot may post at most N
  messages (sendMessage, media, copies, forwards, and createForumTopic, whose service
  message is a post) into one group per ``group_post_window`` seconds of ``clock()``; more
  get 429 with ``retry_after``, like Telegram. ``posts`` logs ``(at, bot_id, chat_id,
  method, result)`` of every accepted group post.
* Members: ``set_member`` sets what getChatMember answers (default "member");
  ``chat_member_update`` also queues the chat_member update Telegram sends to admins;
  getChatAdministrators lists creators and administrators. ``group_message(anonymous=True)``
  is an anonymous admin's message (``sender_chat`` is the group itself).
"""

from __future__ import annotations

import asyncio
import contextvars
import copy
import functools
import html
import itertools
import json
import math
import re
import secrets
import socket
import time
from collections.abc import Callable
from types import EllipsisType
from typing import Any

from aiohttp import ClientSession, web

Params = dict[str, Any]
Predicate = Callable[[Params], bool]

# Parameters that are plain strings and must never be JSON-decoded ("123" stays "123").
STRING_FIELDS = frozenset(
    "text caption parse_mode callback_query_id name title description short_description url "
    "secret_token emoji action icon_custom_emoji_id language_code business_connection_id "
    "message_effect_id inline_message_id file_id photo document voice audio video sticker "
    "animation video_note thumbnail cover custom_title first_name last_name".split()
)
HTML_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
ICON_COLORS = (7322096, 16766590, 13338331, 9367192, 16749490, 16478047)
CONTENT_KEYS = "text entities caption caption_entities photo document voice audio video sticker"
MEDIA = {  # kind -> (directory, extension, mime type)
    "photo": ("photos", "jpg", "image/jpeg"),
    "document": ("documents", "pdf", "application/pdf"),
    "voice": ("voice", "oga", "audio/ogg"),
    "audio": ("music", "mp3", "audio/mpeg"),
    "video": ("videos", "mp4", "video/mp4"),
    "sticker": ("stickers", "webp", "image/webp"),
}
SEND_MEDIA = {f"send{kind}": kind for kind in MEDIA}
POSTING = frozenset(
    "sendmessage sendphoto senddocument sendvoice sendaudio sendvideo sendsticker "
    "copymessage forwardmessage createforumtopic".split()
)
ANONYMOUS_ADMIN: Params = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
ADMIN_RIGHTS = (
    "can_manage_chat can_delete_messages can_manage_video_chats can_restrict_members "
    "can_promote_members can_change_info can_invite_users can_post_stories can_edit_stories "
    "can_delete_stories can_send_welcome_messages can_pin_messages can_manage_topics"
).split()
MEMBER_STATUSES = ("creator", "administrator", "member", "left", "kicked")
BLOCKED = "Forbidden: bot was blocked by the user"
DELETE_WINDOW = 48 * 3600  # deleteMessage: "sent less than 48 hours ago"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup of "
    "the specified message are exactly the same as a current content and reply markup of the "
    "message"
)


class ApiError(Exception):
    """Raised inside handlers; rendered as a Telegram error response."""

    def __init__(self, code: int, description: str, parameters: Params | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def utf16_len(text: str) -> int:
    """Telegram measures lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


_ENTITY_RE = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")


def parse_html(text: str) -> str:
    """Roughly validate Telegram HTML like the real server does; return the plain text."""
    stack: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "<":
            where = f"at byte offset {len(text[:i].encode())}"
            end = text.find(">", i)
            if end < 0:
                raise _bad(f"can't parse entities: Unclosed start tag {where}")
            tag = text[i + 1 : end]
            if tag.startswith("/"):
                name = tag[1:].strip().lower()
                if not stack:
                    raise _bad(f"can't parse entities: Unexpected end tag {where}")
                if stack[-1] != name:
                    raise _bad(
                        f"can't parse entities: Unmatched end tag {where}, "
                        f'expected "</{stack[-1]}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                name = re.match(r"[a-zA-Z0-9-]*", tag).group().lower()  # type: ignore[union-attr]
                if name not in HTML_TAGS or (name == "span" and "tg-spoiler" not in tag):
                    raise _bad(f'can\'t parse entities: Unsupported start tag "{name}" {where}')
                stack.append(name)
            i = end + 1
        elif text[i] == "&" and (m := _ENTITY_RE.match(text, i)):
            out.append(html.unescape(m.group()))
            i = m.end()
        else:  # a bare '&' or '>' is accepted by Telegram
            out.append(text[i])
            i += 1
    if stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return "".join(out)


class FakeTelegramAPI:
    """A stateful fake Bot API server. See the module docstring for the behaviour."""

    long_poll_cap: float = 1.0  # getUpdates holds the request at most this long
    enforce_closed_topics: bool = False  # True -> sending into a closed topic gives TOPIC_CLOSED
    group_post_limit: int | None = None  # posts per bot per group per window (None: no limit)
    group_post_window: float = 60.0

    def __init__(self, token: str = "42:TEST", bot_username: str = "support_test_bot") -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: Params = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Support Test Bot",
            "username": bot_username,
        }
        self.base_url = ""
        self.requests: list[tuple[str, Params]] = []
        self.errors: list[tuple[str, int, str]] = []  # (method, error_code, description)
        self.chats: dict[int, Params] = {}
        self.users: dict[int, Params] = {}
        self.topics: dict[int, dict[int, Params]] = {}  # chat -> thread -> {"name", "closed", ..}
        self.members: dict[tuple[int, int], str] = {}
        self.messages: dict[tuple[int, int], Params] = {}  # live messages by (chat_id, message_id)
        self.sent: list[Params] = []  # messages the bot sent (same dicts as in `messages`)
        self.service_messages: list[Params] = []  # forum_topic_created/closed/... by Telegram
        self.deleted: list[tuple[int, int]] = []
        self.files: dict[str, Params] = {}  # file_id -> {file_id, file_unique_id, file_path, ..}
        self.commands: dict[str, list[Params]] = {}
        self.webhook: Params = {"url": ""}
        self.blocked: set[int] = set()
        self._paths: dict[str, str] = {}
        self._fails: list[Params] = []
        self._updates: list[Params] = []
        self._pushed: set[int] = set()
        self._update_ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._msg_ids: dict[int, int] = {}
        self._callback_ids: set[str] = set()
        self._upload_names: dict[str, str] = {}
        self._request_event = asyncio.Event()
        self._update_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.clock: Callable[[], float] = time.monotonic  # for the group post limit
        # (at, bot_id, chat_id, method, result) of every accepted post into a group
        self.posts: list[tuple[float, int, int, str, Any]] = []
        self.request_bots: list[int] = []  # the bot id of each entry of `requests`
        self.bots: dict[str, Params] = {token: self.bot_user}  # token -> bot user
        self._helper_updates: dict[int, list[Params]] = {}  # bot id -> its queued updates
        self._current: contextvars.ContextVar[Params] = contextvars.ContextVar(
            "fake_bot", default=self.bot_user
        )

    # ------------------------------------------------------------------ lifecycle
    def _app(self) -> web.Application:
        """The HTTP application (a subclass may add routes, e.g. a bench's control API)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return self.base_url

    async def stop(self) -> None:
        self._wake_updates()  # release pending long polls
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ inspection
    def calls(self, method: str) -> list[Params]:
        return [p for m, p in self.requests if m.lower() == method.lower()]

    async def wait_for(
        self,
        method: str,
        predicate: Predicate | None = None,
        timeout: float = 20.0,  # noqa: ASYNC109 - part of the helper's contract
        count: int = 1,
    ) -> list[Params]:
        """Wait until at least `count` calls of `method` match `predicate`; return all matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [p for p in self.calls(method) if predicate is None or predicate(p)]
            if len(found) >= count:
                return found
            if (remaining := deadline - loop.time()) <= 0:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} matching {method} call(s), "
                    f"got {len(found)}; recent calls:\n{self._summary()}"
                )
            try:
                await asyncio.wait_for(self._request_event.wait(), remaining)
            except TimeoutError:
                pass

    def _summary(self, limit: int = 15) -> str:
        def short(p: Params) -> str:
            return str({k: f"<{len(v)}B>" if isinstance(v, bytes) else v for k, v in p.items()})

        recent = [(m, p) for m, p in self.requests if m.lower() != "getupdates"][-limit:]
        lines = [f"  {m} {short(p)[:300]}" for m, p in recent] or ["  (none)"]
        lines += [f"  error {m}: {code} {d}" for m, code, d in self.errors[-5:]]
        return "\n".join(lines)

    def sent_messages(
        self, chat_id: int, thread_id: int | EllipsisType | None = ...
    ) -> list[Params]:
        """Messages the bot sent to `chat_id` (any thread by default; None = outside topics)."""
        return [
            m
            for m in self.sent
            if m["chat"]["id"] == chat_id
            and (thread_id is ... or m.get("message_thread_id") == thread_id)
        ]

    # ------------------------------------------------------------------ configuration
    def add_chat(
        self,
        chat_id: int,
        type: str = "supergroup",
        title: str = "Операторы",
        is_forum: bool = True,
    ) -> Params:
        chat: Params = {"id": chat_id, "type": type, "title": title}
        if is_forum and type == "supergroup":
            chat["is_forum"] = True
            self.topics.setdefault(chat_id, {})
        self.chats[chat_id] = chat
        return chat

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        assert status in MEMBER_STATUSES, status
        self.members[(chat_id, user_id)] = status

    def add_bot(self, token: str, username: str | None = None) -> Params:
        """Another bot on this server (a helper bot); returns its user."""
        bot_id = int(token.split(":", 1)[0])
        user: Params = {
            "id": bot_id,
            "is_bot": True,
            "first_name": f"Helper {bot_id}",
            "username": username or f"helper_{bot_id}_bot",
        }
        self.bots[token] = user
        self._helper_updates.setdefault(bot_id, [])
        return user

    def chat_member_update(
        self,
        chat_id: int,
        user_id: int,
        status: str,
        *,
        old_status: str | None = None,
        first_name: str = "Оператор",
        username: str | None = None,
        push: bool = True,
    ) -> Params:
        """A member's status changes (set_member) and Telegram tells the bot (chat_member)."""
        old = old_status or self.members.get((chat_id, user_id), "member")
        self.set_member(chat_id, user_id, status)
        user = self._register_user(user_id, first_name, username=username)
        chat = self.chats.get(chat_id) or self.add_chat(chat_id)
        body = {
            "chat": dict(chat),
            "from": user,
            "date": int(time.time()),
            "old_chat_member": self._member_of(chat_id, user, old),
            "new_chat_member": self._member_of(chat_id, user, status),
        }
        return self._update({"chat_member": body}, push)

    def set_blocked(self, chat_id: int, blocked: bool = True) -> None:
        (self.blocked.add if blocked else self.blocked.discard)(chat_id)

    def fail_next(
        self,
        method: str,
        *,
        code: int = 429,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` ("*" = any but getUpdates) fail."""
        if code == 429 and retry_after is None:
            retry_after = 1
        default = {
            429: f"Too Many Requests: retry after {retry_after}",
            403: BLOCKED,
            400: "Bad Request: injected error",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(code, "Injected error")
        self._fails.append(
            {
                "method": method.lower(),
                "code": code,
                "retry_after": retry_after,
                "description": description or default,
                "left": times,
            }
        )

    def add_file(self, content: bytes, file_path: str | None = None) -> str:
        n = next(self._seq)
        file_id = f"BQACAgIAAxkB{n:06d}{secrets.token_hex(8)}"
        path = file_path or f"documents/file_{n}"
        self.files[file_id] = {
            "file_id": file_id,
            "file_unique_id": f"AgAD{n:06d}",
            "file_size": len(content),
            "file_path": path,
            "content": content,
        }
        self._paths[path] = file_id
        return file_id

    # ------------------------------------------------------------------ updates
    def push_update(self, update: Params, bot_id: int | None = None) -> int:
        """Queue an update for getUpdates (of helper bot `bot_id`, else of the main bot);
        assigns update_id if missing and returns it."""
        if update.get("update_id") in self._pushed:
            return int(update["update_id"])
        update.setdefault("update_id", next(self._update_ids))
        self._pushed.add(update["update_id"])
        for key in ("message", "edited_message", "channel_post"):
            if key in update:
                self._store(update[key])
        if "callback_query" in update:
            self._callback_ids.add(update["callback_query"]["id"])
        queue = self._updates if bot_id is None else self._helper_updates[bot_id]
        queue.append(update)
        self._wake_updates()
        return int(update["update_id"])

    def private_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        first_name: str = "Иван",
        last_name: str | None = None,
        username: str | None = None,
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        sticker: bool = False,
        caption: str | None = None,
        push: bool = True,
    ) -> Params:
        user = self._register_user(user_id, first_name, last_name, username)
        msg = self._incoming(
            self._chat(user_id),
            user,
            text,
            caption,
            photo=photo,
            document=document,
            voice=voice,
            sticker=sticker,
        )
        return self._update({"message": msg}, push)

    def group_message(
        self,
        chat_id: int,
        user_id: int,
        text: str | None = None,
        *,
        thread_id: int | None = None,
        reply_to_message_id: int | None = None,
        first_name: str = "Оператор",
        is_bot: bool = False,
        photo: bool = False,
        document: bool = False,
        caption: str | None = None,
        chat_type: str = "supergroup",
        is_forum: bool = True,
        username: str | None = None,
        anonymous: bool = False,
        author_signature: str | None = None,
        push: bool = True,
    ) -> Params:
        chat = self.chats.get(chat_id) or self.add_chat(chat_id, type=chat_type, is_forum=is_forum)
        if anonymous:  # an anonymous admin: "from" is @GroupAnonymousBot, the chat signs
            user = dict(ANONYMOUS_ADMIN)
        else:
            user = self._register_user(user_id, first_name, username=username, is_bot=is_bot)
        if thread_id is not None and chat.get("is_forum") and thread_id not in self.topics[chat_id]:
            self._create_topic(chat_id, f"Topic {thread_id}", ICON_COLORS[0], thread_id)
        msg = self._incoming(
            chat,
            user,
            text,
            caption,
            photo=photo,
            document=document,
            thread_id=thread_id,
            reply_to=reply_to_message_id,
        )
        if anonymous:
            msg["sender_chat"] = dict(chat)
            if author_signature:
                msg["author_signature"] = author_signature
        return self._update({"message": msg}, push)

    def callback_query(
        self,
        user_id: int,
        data: str,
        *,
        message_chat_id: int | None = None,
        message_id: int = 1,
        thread_id: int | None = None,
        push: bool = True,
    ) -> Params:
        chat_id = user_id if message_chat_id is None else message_chat_id
        if chat_id < 0 and chat_id not in self.chats:
            self.add_chat(chat_id)
        msg = self.messages.get((chat_id, message_id)) or {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": dict(self._chat(chat_id)),
            "date": int(time.time()),
            "text": "…",
        }
        if thread_id is not None:
            msg = {**msg, "message_thread_id": thread_id, "is_topic_message": True}
        query = {
            "id": str(secrets.randbits(62)),
            "data": data,
            "message": self._public(msg),
            "from": self.users.get(user_id) or self._register_user(user_id),
            "chat_instance": str(abs(hash((chat_id, self.bot_id)))),
        }
        sender = int(msg.get("from", {}).get("id", self.bot_id))
        update = {"update_id": next(self._update_ids), "callback_query": query}
        if push:  # the press goes to the bot whose message has the button
            self.push_update(update, bot_id=sender if sender in self._helper_updates else None)
        return update

    def _update(self, body: Params, push: bool) -> Params:
        update = {"update_id": next(self._update_ids), **body}
        if push:
            self.push_update(update)
        return update

    def _wake_updates(self) -> None:
        self._update_event.set()
        self._update_event = asyncio.Event()

    # ------------------------------------------------------------------ object helpers
    def _register_user(
        self,
        user_id: int,
        first_name: str = "Иван",
        last_name: str | None = None,
        username: str | None = None,
        is_bot: bool = False,
    ) -> Params:
        user: Params = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
        known = self.users.get(user_id) or {}
        username = username or known.get("username")
        user.update({k: v for k, v in (("last_name", last_name), ("username", username)) if v})
        if not is_bot:
            user["language_code"] = "ru"
        self.users[user_id] = user
        return user

    def _chat(self, chat_id: Any) -> Params:
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if chat_id in self.chats:
            return self.chats[chat_id]
        if isinstance(chat_id, int) and chat_id > 0:  # any positive id is a private chat
            user = self.users.get(chat_id) or {"first_name": f"User{chat_id}"}
            keys = ("first_name", "last_name", "username")
            names: Params = {k: user[k] for k in keys if k in user}
            return {"id": chat_id, "type": "private", **names}
        raise _bad("chat not found")

    def _next_id(self, chat_id: int) -> int:
        self._msg_ids[chat_id] = self._msg_ids.get(chat_id, 0) + 1
        return self._msg_ids[chat_id]

    def _store(self, msg: Params) -> Params:
        chat_id, mid = msg["chat"]["id"], msg["message_id"]
        self._msg_ids[chat_id] = max(self._msg_ids.get(chat_id, 0), mid)
        self.messages[(chat_id, mid)] = msg
        return msg

    def _public(self, msg: Params, nested: bool = False) -> Params:
        """Copy of a message as Telegram returns it (inline keyboards only, one reply level)."""
        out = copy.deepcopy(msg)
        if "inline_keyboard" not in (out.get("reply_markup") or {}):
            out.pop("reply_markup", None)
        if nested:
            out.pop("reply_to_message", None)
        elif "reply_to_message" in out:
            out["reply_to_message"] = self._public(out["reply_to_message"], nested=True)
        return out

    def _media(
        self, kind: str, content: bytes, file_name: str | None = None, file_id: str | None = None
    ) -> Any:
        """Build a PhotoSize list / Document / Voice / ... whose files are in the file store."""
        folder, ext, mime = MEDIA[kind]

        def register(fid: str | None = None) -> Params:
            fid = fid or self.add_file(content, f"{folder}/file_{next(self._seq)}.{ext}")
            f = self.files[fid]
            return {k: f[k] for k in ("file_id", "file_unique_id", "file_size")}

        if kind == "photo":
            sizes = [(90, 67), (320, 240), (800, 600), (1280, 960)]  # largest keeps `file_id`
            return [
                {**register(file_id if w == 1280 else None), "width": w, "height": h}
                for w, h in sizes
            ]
        extras: dict[str, Params] = {
            "document": {"file_name": file_name or f"document.{ext}", "mime_type": mime},
            "voice": {"duration": 3, "mime_type": mime},
            "audio": {"duration": 3, "mime_type": mime, "file_name": file_name or f"audio.{ext}"},
            "video": {"width": 640, "height": 360, "duration": 5, "mime_type": mime},
            "sticker": {
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            },
        }
        return {**register(file_id), **extras[kind]}

    def _incoming(
        self,
        chat: Params,
        user: Params,
        text: str | None,
        caption: str | None,
        *,
        photo: bool = False,
        document: bool = False,
        voice: bool = False,
        sticker: bool = False,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> Params:
        msg: Params = {
            "message_id": self._next_id(chat["id"]),
            "from": user,
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if thread_id is not None:
            msg.update(message_thread_id=thread_id, is_topic_message=True)
        if text is not None:
            msg["text"] = text
            if text.startswith("/"):
                length = utf16_len(text.split()[0])
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        samples = {
            "photo": (photo, b"\xff\xd8\xff\xe0fake-jpeg"),
            "voice": (voice, b"OggS..."),
            "document": (document, b"%PDF-1.4"),
            "sticker": (sticker, b"RIFF..WEBP"),
        }
        msg.update({kind: self._media(kind, data) for kind, (on, data) in samples.items() if on})
        if caption is not None:
            msg["caption"] = caption
        if reply_to is not None:
            target = self.messages.get((chat["id"], reply_to)) or {
                "message_id": reply_to,
                "date": msg["date"],
                "chat": dict(chat),
                "text": "…",
            }
            msg["reply_to_message"] = self._public(target, nested=True)
        elif thread_id is not None and (root := self.messages.get((chat["id"], thread_id))):
            msg["reply_to_message"] = self._public(root, nested=True)  # the topic-created message
        return self._store(msg)

    def _service(self, chat_id: int, thread_id: int, payload: Params, mid: int = 0) -> Params:
        msg = {
            "message_id": mid or self._next_id(chat_id),
            "from": self.bot_user,
            "chat": dict(self.chats[chat_id]),
            "date": int(time.time()),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            **payload,
        }
        self.service_messages.append(msg)
        return self._store(msg)

    def _create_topic(self, chat_id: int, name: str, color: int, thread_id: int = 0) -> int:
        thread_id = thread_id or self._next_id(chat_id)  # thread id == its service message id
        self.topics[chat_id][thread_id] = {"name": name, "closed": False, "icon_color": color}
        created = {"forum_topic_created": {"name": name, "icon_color": color}}
        self._service(chat_id, thread_id, created, mid=thread_id)
        return thread_id

    def _topic(self, p: Params) -> tuple[int, Params]:
        chat = self._chat(p.get("chat_id"))
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        topic = self.topics[chat["id"]].get(p.get("message_thread_id"))  # type: ignore[arg-type]
        if topic is None:
            raise _bad("message thread not found")
        return chat["id"], topic

    def _format(self, text: Any, parse_mode: Any, limit: int, what: str = "message") -> str:
        plain = parse_html(str(text)) if str(parse_mode or "").lower() == "html" else str(text)
        if utf16_len(plain) > limit:
            raise _bad(f"{what} is too long")
        return plain

    # ------------------------------------------------------------------ HTTP layer
    async def _parse(self, request: web.Request) -> Params:
        raw: Params = dict(request.query)
        uploads: dict[str, tuple[str, bytes]] = {}
        if request.content_type == "application/json":
            raw.update(await request.json())
        elif request.method == "POST":
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[key] = (value.filename, value.file.read())
                else:
                    raw[key] = value
        params: Params = {}
        for key, value in raw.items():
            if isinstance(value, str) and key not in STRING_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            params[key] = value
        self._upload_names = {}  # read synchronously by the handler right after parsing
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
                self._upload_names[key], params[key] = uploads.pop(value[9:])
        for key, (name, data) in uploads.items():  # files posted directly under the field name
            self._upload_names[key], params[key] = name, data
        return params

    async def _handle_method(self, request: web.Request) -> web.Response:
        method, name = request.match_info["method"], request.match_info["method"].lower()
        params = await self._parse(request)
        bot = self.bots.get(request.match_info["token"])
        self.requests.append((method, params))
        self.request_bots.append(bot["id"] if bot else 0)
        self._request_event.set()
        self._request_event = asyncio.Event()
        try:
            if bot is None:
                raise ApiError(401, "Unauthorized")
            self._current.set(bot)
            self._maybe_fail(name)
            handler = getattr(self, f"_api_{name}", None)
            if name in SEND_MEDIA:
                handler = functools.partial(self._send_media, kind=SEND_MEDIA[name])
            if handler is None:
                raise ApiError(404, "Not Found")
            group = self._limited_group(name, params)
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            if group is not None:
                self.posts.append((self.clock(), bot["id"], group, method, result))
        except ApiError as e:
            self.errors.append((method, e.code, e.description))
            body: Params = {"ok": False, "error_code": e.code, "description": e.description}
            if e.parameters:
                body["parameters"] = e.parameters
            return web.json_response(body, status=e.code)
        return web.json_response({"ok": True, "result": result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        file_id = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or file_id is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found"}
            return web.json_response(body, status=404)
        content = self.files[file_id]["content"]
        return web.Response(body=content, content_type="application/octet-stream")

    def _limited_group(self, name: str, params: Params) -> int | None:
        """The group a post goes to, after checking this bot's post limit there (429)."""
        if name not in POSTING:
            return None
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int) or chat_id > 0:
            return None
        if self.group_post_limit is not None:
            bot_id, now = self._current.get()["id"], self.clock()
            recent = [
                at
                for at, who, chat, *_ in self.posts
                if who == bot_id and chat == chat_id and at > now - self.group_post_window
            ]
            if len(recent) >= self.group_post_limit:
                wait = max(
                    1, math.ceil(recent[-self.group_post_limit] + self.group_post_window - now)
                )
                raise ApiError(429, f"Too Many Requests: retry after {wait}", {"retry_after": wait})
        return chat_id

    def stop_failing(self) -> None:
        """Calls fail no more (what `fail_next` set up and was not used up is dropped)."""
        self._fails.clear()

    def _maybe_fail(self, name: str) -> None:
        for rule in self._fails:
            if rule["method"] == name or (rule["method"] == "*" and name != "getupdates"):
                rule["left"] -= 1
                if rule["left"] <= 0:
                    self._fails.remove(rule)
                retry = rule["retry_after"]
                extra = {"retry_after": retry} if retry else None
                raise ApiError(rule["code"], rule["description"], extra)

    # ------------------------------------------------------------------ API methods
    # Looked up as `_api_<lowercased method name>`; send<Media> go to `_send_media`.
    def _api_getme(self, p: Params) -> Params:
        return {
            **self._current.get(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_getupdates(self, p: Params) -> list[Params]:
        if self.webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        bot_id = self._current.get()["id"]
        if bot_id in self._helper_updates:
            return await self._helper_getupdates(bot_id, p)
        offset = int(p.get("offset") or 0)
        if offset > 0:  # everything below offset is confirmed and forgotten
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        timeout = min(float(p.get("timeout") or 0), self.long_poll_cap)
        if not self._updates and timeout > 0:
            try:
                await asyncio.wait_for(self._update_event.wait(), timeout)
            except TimeoutError:
                pass
        return self._updates[: int(p.get("limit") or 100)]

    async def _helper_getupdates(self, bot_id: int, p: Params) -> list[Params]:
        allowed = p.get("allowed_updates")
        offset = int(p.get("offset") or 0)
        queue = [u for u in self._helper_updates[bot_id] if u["update_id"] >= offset]
        self._helper_updates[bot_id] = queue
        timeout = min(float(p.get("timeout") or 0), self.long_poll_cap)
        if not queue and timeout > 0:
            try:
                await asyncio.wait_for(self._update_event.wait(), timeout)
            except TimeoutError:
                pass
        found = self._helper_updates[bot_id]
        if allowed:
            found = [u for u in found if any(kind in u for kind in allowed)]
        return found[: int(p.get("limit") or 100)]

    def _api_setwebhook(self, p: Params) -> bool:
        if not p.get("url"):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        keys = ("url", "secret_token", "allowed_updates", "max_connections")
        self.webhook = {k: p[k] for k in keys if k in p}
        return True

    def _api_deletewebhook(self, p: Params) -> bool:
        self.webhook = {"url": ""}
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _api_getwebhookinfo(self, p: Params) -> Params:
        keys = ("allowed_updates", "max_connections")
        extra = {k: self.webhook[k] for k in keys if k in self.webhook}
        return {
            "url": self.webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
            **extra,
        }

    def _api_logout(self, p: Params) -> bool:
        return True

    _api_close = _api_logout

    def _new_message(self, p: Params) -> Params:
        """Validate the destination (chat, block, reply, thread) and build an unsent message."""
        chat = self._chat(p.get("chat_id"))
        cid = chat["id"]
        if cid in self.blocked:
            raise ApiError(403, BLOCKED)
        rp = p.get("reply_parameters") or {}
        if not rp and p.get("reply_to_message_id"):
            rp = {
                "message_id": p["reply_to_message_id"],
                "allow_sending_without_reply": p.get("allow_sending_without_reply"),
            }
        reply = None
        if rp:
            reply = self.messages.get((self._chat(rp.get("chat_id", cid))["id"], rp["message_id"]))
            if reply is None and not rp.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        thread = p.get("message_thread_id")
        if chat.get("is_forum"):
            if thread is None and reply and reply.get("is_topic_message"):
                thread = reply["message_thread_id"]  # replies land in the replied message's topic
            if thread is not None:
                topic = self.topics[cid].get(thread)
                if topic is None:
                    raise _bad("message thread not found")
                if topic["closed"] and self.enforce_closed_topics:
                    raise _bad("TOPIC_CLOSED")
                reply = reply or self.messages.get((cid, thread))  # the topic-created message
        else:
            thread = None
        msg: Params = {
            "message_id": 0,
            "from": self._current.get(),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if thread is not None:
            msg.update(message_thread_id=thread, is_topic_message=True)
        if reply is not None:
            msg["reply_to_message"] = self._public(reply, nested=True)
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        return msg

    def _commit(self, msg: Params, p: Params) -> Params:
        if p.get("caption"):
            caption = self._format(p["caption"], p.get("parse_mode"), 1024, "message caption")
            msg["caption"] = caption
        msg["message_id"] = self._next_id(msg["chat"]["id"])
        self.sent.append(self._store(msg))
        return self._public(msg)

    def _api_sendmessage(self, p: Params) -> Params:
        msg = self._new_message(p)
        if not p.get("text"):
            raise _bad("message text is empty")
        msg["text"] = self._format(p["text"], p.get("parse_mode"), 4096)
        return self._commit(msg, p)

    def _send_media(self, p: Params, kind: str) -> Params:
        """sendPhoto / sendDocument / sendVoice / sendAudio / sendVideo / sendSticker."""
        msg = self._new_message(p)
        value = p.get(kind)
        if isinstance(value, bytes):
            msg[kind] = self._media(kind, value, self._upload_names.get(kind))
        elif isinstance(value, str) and value in self.files:
            msg[kind] = self._media(kind, self.files[value]["content"], file_id=value)
        elif isinstance(value, str) and value.startswith(("http://", "https://")):
            msg[kind] = self._media(kind, b"", value.rsplit("/", 1)[-1])
        elif value is None:
            raise _bad(f"there is no {kind} in the request")
        else:
            raise _bad("wrong file identifier/HTTP URL specified")
        return self._commit(msg, p)

    def _find(self, chat_id: Any, message_id: Any, action: str) -> Params:
        msg = self.messages.get((self._chat(chat_id)["id"], message_id))
        if msg is None:
            raise _bad(f"message to {action} not found")
        return msg

    def _duplicate(self, p: Params, forward: bool) -> Params:
        """copyMessage (returns MessageId) and forwardMessage (returns Message)."""
        action = "forward" if forward else "copy"
        src = self._find(p.get("from_chat_id"), p.get("message_id"), action)
        msg = self._new_message(p)
        msg.update({k: copy.deepcopy(src[k]) for k in CONTENT_KEYS.split() if k in src})
        if not forward:
            return {"message_id": self._commit(msg, p)["message_id"]}
        origin = (
            {"type": "user", "sender_user": src["from"]}
            if "from" in src
            else {"type": "hidden_user", "sender_user_name": "Hidden"}
        )
        msg["forward_origin"] = {**origin, "date": src["date"]}
        return self._commit(msg, {})

    _api_copymessage = functools.partialmethod(_duplicate, forward=False)
    _api_forwardmessage = functools.partialmethod(_duplicate, forward=True)

    def _edit(self, p: Params, text: bool) -> Params | bool:
        """editMessageText (text=True) and editMessageReplyMarkup."""
        if p.get("inline_message_id"):
            return True
        msg = self._find(p.get("chat_id"), p.get("message_id"), "edit")
        if msg.get("from", {}).get("id") != self._current.get()["id"]:
            raise _bad("message can't be edited")
        new_text = msg.get("text")
        if text:
            if not p.get("text"):
                raise _bad("message text is empty")
            if "text" not in msg:
                raise _bad("there is no text in the message to edit")
            new_text = self._format(p["text"], p.get("parse_mode"), 4096)
        if msg.get("text") == new_text and msg.get("reply_markup") == p.get("reply_markup"):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        msg.pop("reply_markup", None)  # omitting reply_markup removes the keyboard, as in Telegram
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        if text:
            msg["text"] = new_text
        msg["edit_date"] = int(time.time())
        return self._public(msg)

    _api_editmessagetext = functools.partialmethod(_edit, text=True)
    _api_editmessagereplymarkup = functools.partialmethod(_edit, text=False)

    def _api_deletemessage(self, p: Params) -> bool:
        msg = self._find(p.get("chat_id"), p.get("message_id"), "delete")
        if time.time() - int(msg.get("date") or 0) > DELETE_WINDOW:
            raise _bad("message can't be deleted")  # Telegram: only in the first 48 hours
        self.deleted.append(key := (msg["chat"]["id"], msg["message_id"]))
        del self.messages[key]
        return True

    def _api_answercallbackquery(self, p: Params) -> bool:
        if p.get("callback_query_id") not in self._callback_ids:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        return True

    def _api_setmessagereaction(self, p: Params) -> bool:
        return bool(self._find(p.get("chat_id"), p.get("message_id"), "react"))

    def _api_sendchataction(self, p: Params) -> bool:
        if self._chat(p.get("chat_id"))["id"] in self.blocked:
            raise ApiError(403, BLOCKED)
        return True

    def _api_getchat(self, p: Params) -> Params:
        gift_kinds = "unlimited_gifts limited_gifts unique_gifts premium_subscription "
        gift_kinds += "gifts_from_channels"
        return {
            **self._chat(p.get("chat_id")),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gift_kinds.split(), False),
        }

    def _api_getchatmember(self, p: Params) -> Params:
        chat_id, user_id = self._chat(p.get("chat_id"))["id"], p.get("user_id")
        bots = {b["id"]: b for b in self.bots.values()}
        user = bots.get(user_id) or self.users.get(user_id)  # type: ignore[arg-type]
        user = user or {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}
        status = self.members.get((chat_id, user_id), "member")  # type: ignore[arg-type]
        return self._member_of(chat_id, user, status)

    def _api_getchatadministrators(self, p: Params) -> list[Params]:
        chat_id = self._chat(p.get("chat_id"))["id"]
        return [
            self._member_of(chat_id, self.users.get(user_id) or {"id": user_id}, status)
            for (chat, user_id), status in self.members.items()
            if chat == chat_id and status in ("creator", "administrator")
        ]

    def _member_of(self, chat_id: int, user: Params, status: str) -> Params:
        user = {"is_bot": False, "first_name": f"User{user.get('id')}", **user}
        member: Params = {"status": status, "user": user}
        if status == "administrator":
            member.update(dict.fromkeys(ADMIN_RIGHTS, True), can_be_edited=False)
            member["is_anonymous"] = False
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _api_createforumtopic(self, p: Params) -> Params:
        chat = self._chat(p.get("chat_id"))
        if not chat.get("is_forum"):
            raise _bad("the chat is not a forum")
        if not p.get("name"):
            raise _bad("TOPIC_TITLE_EMPTY")
        topics = self.topics[chat["id"]]
        color = int(p.get("icon_color") or ICON_COLORS[len(topics) % len(ICON_COLORS)])
        thread_id = self._create_topic(chat["id"], str(p["name"]), color)
        result = {"message_thread_id": thread_id, "name": str(p["name"]), "icon_color": color}
        if emoji := p.get("icon_custom_emoji_id"):
            result["icon_custom_emoji_id"] = topics[thread_id]["icon_custom_emoji_id"] = emoji
        return result

    def _api_editforumtopic(self, p: Params) -> bool:
        chat_id, topic = self._topic(p)
        changes = {k: p[k] for k in ("name", "icon_custom_emoji_id") if p.get(k) is not None}
        if all(topic.get(k) == v for k, v in changes.items()):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.update(changes)
        self._service(chat_id, p["message_thread_id"], {"forum_topic_edited": changes})
        return True

    def _set_closed(self, p: Params, closed: bool) -> bool:
        chat_id, topic = self._topic(p)
        if topic["closed"] == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["closed"] = closed
        event = "forum_topic_closed" if closed else "forum_topic_reopened"
        self._service(chat_id, p["message_thread_id"], {event: {}})
        return True

    _api_closeforumtopic = functools.partialmethod(_set_closed, closed=True)
    _api_reopenforumtopic = functools.partialmethod(_set_closed, closed=False)

    def _api_deleteforumtopic(self, p: Params) -> bool:
        chat_id, _ = self._topic(p)
        thread_id = p["message_thread_id"]
        del self.topics[chat_id][thread_id]
        for key, msg in list(self.messages.items()):
            if key[0] == chat_id and msg.get("message_thread_id") == thread_id:
                del self.messages[key]
        return True

    @staticmethod
    def _commands_key(p: Params) -> str:
        scope = json.dumps(p.get("scope") or {"type": "default"}, sort_keys=True)
        return f"{scope}|{p.get('language_code') or ''}"

    def _api_setmycommands(self, p: Params) -> bool:
        commands = p.get("commands") or []
        if any(not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command"))) for c in commands):
            raise _bad("BOT_COMMAND_INVALID")
        self.commands[self._commands_key(p)] = commands
        return True

    def _api_getmycommands(self, p: Params) -> list[Params]:
        return self.commands.get(self._commands_key(p), [])

    def _api_deletemycommands(self, p: Params) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _api_getfile(self, p: Params) -> Params:
        f = self.files.get(str(p.get("file_id")))
        if f is None:
            raise _bad("invalid file_id")
        if f["file_size"] > 20 * 1024 * 1024:
            raise _bad("file is too big")
        return {k: f[k] for k in ("file_id", "file_unique_id", "file_size", "file_path")}


async def post_update_to(url: str, update: Params, secret_token: str | None = None) -> int:
    """POST an update to a bot's webhook like Telegram does; returns the HTTP status code."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
    async with ClientSession() as session, session.post(url, json=update, headers=headers) as resp:
        await resp.read()
        return resp.status
