"""The customer side of the VK community: `message_new` and `message_event` handlers.

`build_labeler(handlers)` gives one vkbottle labeler with raw-event handlers, built
around a `CustomerHandlers` that holds the core (no globals). Long poll and the Callback
API route their updates through the same labeler.

* message_new (private, from a user) → `Inbound` → `engine.handle` (or `engine.welcome`
  for the «Начать» button) → the replies at once, with messages.send.
* message_event (a Callback button) → messages.sendMessageEventAnswer at once, always,
  then the button id goes to the engine like a Text button press.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import weakref
from collections import OrderedDict
from typing import Any

from vkbottle import API, GroupEventType
from vkbottle.bot import BotLabeler

from bots.vk.edits import relay_customer_edit
from bots.vk.inbound import UNKNOWN_PREFIX, is_private_peer, parse_message_new, parse_payload
from bots.vk.render import ClientCaps, ClientCapsCache
from bots.vk.sender import VKSender, answer_random_id
from core.app import Core
from core.delivery import PermanentFailure, RetryLater
from core.types import VK, CustomerRef, Inbound, Reply

log = logging.getLogger(__name__)

UNKNOWN_BUTTON_SNACKBAR = "Эта кнопка больше не действует"
ANSWER_ATTEMPTS = 3


def profile_url(user_id: int) -> str:
    return f"https://vk.com/id{user_id}"


class NameCache:
    """Customers' names from users.get, remembered in memory per user id."""

    def __init__(self, api: API, limit: int = 50_000) -> None:
        self.api = api
        self._names: OrderedDict[int, str] = OrderedDict()
        self._limit = limit

    async def get(self, user_id: int) -> str:
        if user_id in self._names:
            self._names.move_to_end(user_id)
            return self._names[user_id]
        try:
            users = (await self.api.request("users.get", {"user_ids": user_id}))["response"]
            user = users[0]
            name = f"{user.get('first_name', '')} {user.get('last_name', '')}".strip()
        except Exception as exc:  # the name is a nicety: answer the customer anyway
            log.warning("users.get for VK %s failed: %r", user_id, exc)
            return ""
        self._names[user_id] = name
        while len(self._names) > self._limit:
            self._names.popitem(last=False)
        return name


class CustomerHandlers:
    def __init__(
        self, core: Core, api: API, sender: VKSender, caps: ClientCapsCache, names: NameCache
    ) -> None:
        self.core = core
        self.api = api
        self.sender = sender
        self.caps = caps
        self.names = names
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def on_message_new(self, obj: dict[str, Any]) -> None:
        incoming = parse_message_new(obj)
        if incoming is None:
            log.debug("VK message ignored (not a private message from a user)")
            return
        user_id = incoming.user_id
        self.caps.remember(user_id, incoming.caps)
        async with self._lock(user_id):  # one customer's messages are answered in order
            inbound = Inbound(
                channel=VK,
                user_id=str(user_id),
                text=incoming.text,
                name=await self.names.get(user_id),
                payload=incoming.payload,
                attachments=incoming.attachments,
                external_id=incoming.external_id,
                profile_url=profile_url(user_id),
                unsupported=incoming.unsupported,
            )
            replies = await self._engine(inbound, incoming.start)
            await self.answer(user_id, replies, incoming.external_id)

    async def on_message_event(self, obj: dict[str, Any]) -> None:
        event_id = str(obj.get("event_id") or "")
        user_id, peer_id = _int(obj.get("user_id")), _int(obj.get("peer_id"))
        if not event_id or not user_id:
            return
        button, start = parse_payload(obj.get("payload"))
        known = start or (button is not None and not button.startswith(UNKNOWN_PREFIX))
        await self._answer_event(event_id, user_id, peer_id, known)
        if not is_private_peer(peer_id, user_id):
            return
        self.caps.remember(user_id, ClientCaps(inline=True, callback=True))
        external_id = f"vkev:{event_id}"
        async with self._lock(user_id):
            inbound = Inbound(
                channel=VK,
                user_id=str(user_id),
                name=await self.names.get(user_id),
                payload=button if button is not None else UNKNOWN_PREFIX,
                external_id=external_id,
                profile_url=profile_url(user_id),
            )
            replies = await self._engine(inbound, start)
            await self.answer(user_id, replies, external_id)

    async def _engine(self, inbound: Inbound, start: bool) -> list[Reply]:
        """The engine's replies; if it fails, an apology instead of silence."""
        engine = self.core.engine
        try:
            return await (engine.welcome(inbound) if start else engine.handle(inbound))
        except Exception:
            log.exception("the engine failed on VK update %s", inbound.external_id)
            return [Reply(self.core.kb.texts.get("internal_error"))]

    async def _answer_event(self, event_id: str, user_id: int, peer_id: int, known: bool) -> None:
        """Stop the button's spinner; a stale button also gets a short snackbar."""
        params: dict[str, Any] = {"event_id": event_id, "user_id": user_id, "peer_id": peer_id}
        if not known:
            snackbar = {"type": "show_snackbar", "text": UNKNOWN_BUTTON_SNACKBAR}
            params["event_data"] = json.dumps(snackbar, ensure_ascii=False)
        try:
            await self.api.messages.send_message_event_answer(**params)
        except Exception as exc:  # an expired event: the answer below still goes out
            log.warning("sendMessageEventAnswer for VK %s failed: %r", user_id, exc)

    async def answer(self, peer_id: int, replies: list[Reply], key: str) -> None:
        """Send the engine's replies now; a rate limit is waited out a few times. What
        still cannot be sent goes to the outbox; only a customer who does not accept
        messages is given up on."""
        for number, reply in enumerate(replies):
            random_id = functools.partial(answer_random_id, f"{key}#{number}")
            for attempt in range(1, ANSWER_ATTEMPTS + 1):
                try:
                    await self.sender.deliver(peer_id, reply, random_id)
                    break
                except PermanentFailure as exc:
                    log.info("answer to VK %s not possible: %s", peer_id, exc.reason)
                    return
                except RetryLater as exc:
                    if attempt == ANSWER_ATTEMPTS:
                        await self._queue(peer_id, replies[number:], exc)
                        return
                    await asyncio.sleep(exc.after)
                except Exception as exc:
                    await self._queue(peer_id, replies[number:], exc)
                    return

    async def _queue(self, peer_id: int, replies: list[Reply], exc: BaseException) -> None:
        log.warning("answer to VK %s queued for later: %r", peer_id, exc)
        await self.core.delivery.send_later(CustomerRef(VK, str(peer_id)), replies)


def build_labeler(handlers: CustomerHandlers) -> BotLabeler:
    """One labeler for the customer side: raw handlers for both event types."""
    labeler = BotLabeler()

    @labeler.raw_event(GroupEventType.MESSAGE_NEW, dataclass=dict)
    async def message_new(event: dict[str, Any]) -> None:
        await _guarded(handlers.on_message_new, event)

    @labeler.raw_event(GroupEventType.MESSAGE_EVENT, dataclass=dict)
    async def message_event(event: dict[str, Any]) -> None:
        await _guarded(handlers.on_message_event, event)

    @labeler.raw_event(GroupEventType.MESSAGE_EDIT, dataclass=dict)
    async def message_edit(event: dict[str, Any]) -> None:
        await _guarded(functools.partial(relay_customer_edit, handlers.core), event)

    return labeler


async def _guarded(handler: Any, event: dict[str, Any]) -> None:
    obj = event.get("object")
    if not isinstance(obj, dict):
        return
    try:
        await handler(obj)
    except Exception:
        log.exception("VK %s handler failed", event.get("type"))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
