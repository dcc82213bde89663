"""The customer side of the VK community: `message_new` and `message_event`.

`CustomerHandlers.apply(update, attempt)` applies one stored update (`core.intake` calls
it, in order per customer, for long poll and the Callback API alike):

* message_new (private, from a user) → `Inbound` → the turn (`core.customer_updates`;
  the welcome for the "Start" button); the answers go out through the outbox
  (`core.runtime.delivery`);
* message_event (a Callback button) → messages.sendMessageEventAnswer first, then the
  button id goes to the engine like a Text button press;
* message_edit → the new wording reaches the customer's open case (`bots.vk.edits`).
"""

from __future__ import annotations

import functools
import json
import logging
from collections import OrderedDict
from typing import Any

from vkbottle import API

from bots.vk.edits import relay_customer_edit
from bots.vk.inbound import (
    UNKNOWN_PREFIX,
    as_int,
    button_press_id,
    is_private_peer,
    parse_message_new,
    parse_payload,
    unsupported_names,
)
from bots.vk.render import ClientCaps, ClientCapsCache
from bots.vk.sender import VKSender, answer_random_id
from core.customer_updates import CustomerUpdates
from core.knowledge.texts import Texts
from core.types import VK, Inbound, Reply

log = logging.getLogger(__name__)


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
        self,
        updates: CustomerUpdates,
        texts: Texts,
        api: API,
        sender: VKSender,
        caps: ClientCapsCache,
        names: NameCache,
    ) -> None:
        self.updates = updates
        self.texts = texts
        self.api = api
        self.sender = sender
        self.caps = caps
        self.names = names

    async def apply(self, update: dict[str, Any], attempt: int = 0) -> None:
        """Apply one raw VK update; other event types are not for the customer side."""
        handler = {
            "message_new": self.on_message_new,
            "message_event": self.on_message_event,
            "message_edit": self.on_message_edit,
        }.get(str(update.get("type")))
        obj = update.get("object")
        if handler is None or not isinstance(obj, dict):
            log.debug("VK %s event ignored", update.get("type"))
            return
        await handler(obj, attempt)

    async def on_message_new(self, obj: dict[str, Any], attempt: int = 0) -> None:
        incoming = parse_message_new(obj)
        if incoming is None:
            log.debug("VK message ignored (not a private message from a user)")
            return
        user_id = incoming.user_id
        self.caps.remember(user_id, incoming.caps)
        inbound = Inbound(
            channel=VK,
            user_id=str(user_id),
            text=incoming.text,
            name=await self.names.get(user_id),
            payload=incoming.payload,
            attachments=incoming.attachments,
            external_id=incoming.external_id,
            profile_url=profile_url(user_id),
            unsupported=unsupported_names(incoming.unsupported, self.texts),
        )
        await self._engine(inbound, incoming.start, attempt)

    async def on_message_edit(self, obj: dict[str, Any], attempt: int = 0) -> None:
        """A customer edited a message: the new wording reaches an open case's topic."""
        await relay_customer_edit(self.updates, obj)

    async def on_message_event(self, obj: dict[str, Any], attempt: int = 0) -> None:
        event_id = str(obj.get("event_id") or "")
        user_id, peer_id = as_int(obj.get("user_id")), as_int(obj.get("peer_id"))
        if not event_id or not user_id:
            return
        button, start = parse_payload(obj.get("payload"))
        known = start or (button is not None and not button.startswith(UNKNOWN_PREFIX))
        if attempt == 0:
            await self._answer_event(event_id, user_id, peer_id, known)
        if not is_private_peer(peer_id, user_id):
            return
        self.caps.remember(user_id, ClientCaps(inline=True, callback=True))
        inbound = Inbound(
            channel=VK,
            user_id=str(user_id),
            name=await self.names.get(user_id),
            payload=button if button is not None else UNKNOWN_PREFIX,
            external_id=button_press_id(event_id),
            profile_url=profile_url(user_id),
        )
        await self._engine(inbound, start, attempt)

    async def _engine(self, inbound: Inbound, start: bool, attempt: int) -> None:
        """Run the turn; if the engine fails, the apology goes straight to the customer
        (once) and the update is applied again later."""
        random_id = functools.partial(answer_random_id, f"{inbound.external_id}#error")

        async def apologise(apology: Reply) -> list[int]:
            return await self.sender.deliver(int(inbound.user_id), apology, random_id)

        await self.updates.take_turn(inbound, apologise, welcome=start, attempt=attempt)

    async def _answer_event(self, event_id: str, user_id: int, peer_id: int, known: bool) -> None:
        """Stop the button's spinner; a stale button also gets a short snackbar."""
        params: dict[str, Any] = {"event_id": event_id, "user_id": user_id, "peer_id": peer_id}
        if not known:
            snackbar = {"type": "show_snackbar", "text": self.texts.get("vk.button_expired")}
            params["event_data"] = json.dumps(snackbar, ensure_ascii=False)
        try:
            await self.api.messages.send_message_event_answer(**params)
        except Exception as exc:  # an expired event: the answer below still goes out
            log.warning("sendMessageEventAnswer for VK %s failed: %r", user_id, exc)
