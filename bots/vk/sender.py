"""Sending replies to VK customers: the outbox `Sender` for channel "vk".

`VKSender.send(item)` delivers an outbox item of kind "reply" (an operator's answer,
the rating request) with messages.send. Every part gets a deterministic non-zero
`random_id` derived from (outbox id, part index), so a resend after a crash or a retry
after an error in the middle is deduplicated by VK instead of doubling messages.
`deliver()` is shared with the customer handlers, which answer at once.

Files: uploaded through `VKFiles`; a file that cannot be fetched, or whose upload keeps
failing, turns into a short note (or a link) in the text instead of failing the reply
(`texts.yaml`, `vk.file_link` / `vk.file_missing`). Errors are mapped by
`bots.vk.errors`: 6 → RetryLater, 901/902/7 → PermanentFailure, anything else propagates
and the worker retries with backoff.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from vkbottle import API, VKAPIError

from bots.vk import errors
from bots.vk.api import VKBadResponse, error_code
from bots.vk.files import VKFiles
from bots.vk.render import ClientCapsCache, Part, keyboard_json, render
from core.desk.edits import apply_reply_edit, remember_copy
from core.events import CustomerReply, ReplyEdited
from core.knowledge.texts import Texts
from core.runtime.delivery import PermanentFailure, RetryLater
from core.runtime.files import FileUnavailable, shareable_link
from core.runtime.renderers import render_for_customer
from core.storage import OutboxItem, Storage
from core.types import Attachment, Reply

log = logging.getLogger(__name__)

RANDOM_ID_SPACE = 2**30  # outbox ids use [1, 2^30), immediate answers [2^30, 2^31)
PARTS_PER_ITEM = 64  # random ids reserved for one outbox item
MAX_ATTACHMENTS = 10  # VK's limit per message
EDIT_LIMIT = 4000  # characters VK accepts in an edited message
UPLOAD_RETRIES = 2  # failed upload attempts before a file becomes a note

RandomIds = Callable[[int], int]  # part index → random_id


def outbox_random_id(item_id: int, part: int) -> int:
    """Non-zero, deterministic, unique per (outbox id, part) for 16 million items."""
    return 1 + (item_id * PARTS_PER_ITEM + part) % (RANDOM_ID_SPACE - 1)


def answer_random_id(key: str, part: int) -> int:
    """For immediate answers to an update (`key`): a hash in the upper half of int32."""
    digest = hashlib.sha256(f"{key}#{part}".encode()).digest()
    return RANDOM_ID_SPACE + int.from_bytes(digest[:8], "big") % RANDOM_ID_SPACE


class VKSender:
    def __init__(
        self,
        api: API,
        files: VKFiles,
        caps: ClientCapsCache,
        texts: Texts,
        desk_texts: Texts,
        storage: Storage | None = None,
    ) -> None:
        self.api = api
        self.files = files
        self.caps = caps
        self.texts = texts  # the notes that stand for files (texts.yaml)
        self.desk_texts = desk_texts  # why VK refused a message, for operators (desk.yaml)
        self.storage = storage  # where operators' replies landed (edits follow them)
        self.closed = False

    async def send(self, item: OutboxItem) -> None:
        if self.closed:
            raise RetryLater(5.0, "the VK adapter is stopped", count_attempt=False)
        await render_for_customer(self, item)

    async def reply(self, item: OutboxItem, event: CustomerReply) -> None:
        sent = await self.deliver(
            _peer(item),
            event.reply,
            lambda part: outbox_random_id(item.id, part),
            degrade_files=item.attempts >= UPLOAD_RETRIES,
        )
        await remember_copy(self.storage, item, sent, time.time())

    async def reply_edited(self, item: OutboxItem, event: ReplyEdited) -> None:
        """An operator's edit: messages.edit on the customer's copy of the reply when it is
        known and one message; otherwise, or when VK refuses (too old, too long, no
        access), the marked correction is sent."""
        editor = _CopyEditor(self, item)
        await apply_reply_edit(self.storage, item, event, editor, time.time())

    async def deliver(
        self, peer_id: int, reply: Reply, random_id: RandomIds, *, degrade_files: bool = True
    ) -> list[int]:
        """Send `reply` to `peer_id`; VK errors come out as RetryLater / PermanentFailure.
        Returns the ids of the messages sent."""
        try:
            attachment, notes = await self._attachments(peer_id, reply.attachments, degrade_files)
            text = "\n\n".join(t for t in (reply.text.strip(), *notes) if t)
            caps = self.caps.get(peer_id)
            parts = render(Reply(text, reply.buttons), caps)[:PARTS_PER_ITEM]
            if not parts and attachment:
                parts = [Part("", keyboard_json(reply.buttons, caps))]
            if not parts:
                log.info("nothing to send to VK %s: the reply is empty", peer_id)
                return []
            sent: list[int] = []
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                message_id = await self._send_part(
                    peer_id, part, random_id(index), attachment if last else None
                )
                if isinstance(message_id, int):
                    sent.append(message_id)
            return sent
        except VKAPIError as exc:
            outcome = errors.classify(error_code(exc), self.desk_texts)
            if outcome is None:
                raise
            raise outcome from exc

    async def _send_part(
        self, peer_id: int, part: Part, random_id: int, attachment: str | None
    ) -> object:
        params: dict[str, Any] = {"peer_id": peer_id, "random_id": random_id}
        if part.text:
            params["message"] = part.text
        if attachment:
            params["attachment"] = attachment
        if part.keyboard:
            params["keyboard"] = part.keyboard
        try:
            return await self.api.messages.send(**params)
        except VKAPIError as exc:
            if error_code(exc) not in errors.KEYBOARD_ERRORS or "keyboard" not in params:
                raise
            # Bot keyboards switched off for the community, or a client VK refuses it for:
            # the text still matters more than its buttons.
            log.warning("VK refused the keyboard for %s (%s); sending without it", peer_id, exc)
            del params["keyboard"]
            return await self.api.messages.send(**params)

    async def _attachments(
        self, peer_id: int, attachments: tuple[Attachment, ...], degrade: bool
    ) -> tuple[str | None, list[str]]:
        uploaded: list[str] = []
        notes: list[str] = []
        for attachment in attachments[:MAX_ATTACHMENTS]:
            try:
                uploaded.append(await self.files.upload(peer_id, attachment))
                continue
            except FileUnavailable as exc:
                log.warning("file for VK %s unavailable: %s", peer_id, exc)
            except VKAPIError as exc:
                code = error_code(exc)
                if errors.is_rate_limit(code) or errors.is_permanent_for_peer(code):
                    raise
                if not degrade and code not in errors.BAD_FILE:
                    raise
                log.warning("upload to VK %s failed: %r", peer_id, exc)
            except (TimeoutError, aiohttp.ClientError, VKBadResponse) as exc:
                if not degrade:
                    raise
                log.warning("upload to VK %s failed: %r", peer_id, exc)
            except (ValueError, KeyError, TypeError) as exc:  # an odd upload-server answer
                log.warning("upload to VK %s failed: %r", peer_id, exc)
            notes.append(file_note(attachment, self.texts))
        for extra in attachments[MAX_ATTACHMENTS:]:
            notes.append(file_note(extra, self.texts))
        return (",".join(uploaded) or None), notes


def file_note(attachment: Attachment, texts: Texts) -> str:
    """What the customer reads instead of a file that could not be attached: a link to
    it where one may be shown, else a note."""
    kind = "photo" if attachment.kind == "photo" else "document"
    name = attachment.name or texts.get("vk.unnamed_file")
    link = shareable_link(attachment)
    if link:
        return texts.format(f"vk.file_link.{kind}", link=link, name=name)
    return texts.format(f"vk.file_missing.{kind}", name=name)


def _peer(item: OutboxItem) -> int:
    try:
        return int(item.recipient)
    except ValueError:
        raise PermanentFailure(f"not a VK peer id: {item.recipient!r}") from None


class _CopyEditor:
    """VK's primitives for `core.desk.edits.apply_reply_edit`."""

    def __init__(self, sender: VKSender, item: OutboxItem) -> None:
        self.sender, self.item, self.peer_id = sender, item, _peer(item)

    def fits(self, text: str) -> bool:
        return len(text) <= EDIT_LIMIT

    async def edit_in_place(self, message_id: int, text: str) -> bool:
        try:
            await self.sender.api.messages.edit(
                peer_id=self.peer_id,
                message_id=message_id,
                message=text,
                keep_forward_messages=True,
                keep_snippets=True,
            )
        except VKAPIError as exc:
            code = error_code(exc)
            if errors.is_rate_limit(code) or errors.is_permanent_for_peer(code):
                outcome = errors.classify(code, self.sender.desk_texts)
                raise (outcome or exc) from exc  # a rate limit, or the customer left
            log.info("VK copy not edited (%s): sending a correction", exc)
            return False
        return True

    async def send(self, reply: Reply) -> list[int]:
        item = self.item
        return await self.sender.deliver(
            self.peer_id, reply, lambda part: outbox_random_id(item.id, part), degrade_files=True
        )
