"""Raw VK updates (long poll and Callback API alike) → the parts of a core `Inbound`.

Pure functions on the JSON objects VK sends, no I/O. Only private messages from users
are taken (peer_id == from_id > 0): group chats (peer_id > 2e9) and messages written by
communities are ignored. Everything else a customer sends becomes text, a button id,
attachments, or the name of what the bot cannot read (`unsupported`), so nothing is
dropped silently. `unsupported_names` names those for the customer (`texts.yaml`,
`vk.unsupported.*`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bots.vk.render import ClientCaps
from core.knowledge.texts import Texts
from core.runtime.intake import InboundRecord
from core.types import VK, Attachment

CHAT_PEER_OFFSET = 2_000_000_000
START = "start"  # the "Start" button (Начать): payload {"command": "start"}
UNKNOWN_PREFIX = "?"  # marks a payload that is no core button id (never a valid id)

# What the customer sent that has no file to pass on, besides VK's own attachment types:
GEO = "geo"  # a location
FORWARDED = "forwarded"  # only forwarded or quoted messages, nothing of their own
OTHER = "other"  # a type with no name of its own in texts.yaml
_KIND = re.compile(r"[a-z][a-z0-9_]{0,40}")


@dataclass(frozen=True)
class Incoming:
    """A private `message_new` from a user, ready to become an `Inbound`."""

    user_id: int
    peer_id: int
    text: str
    payload: str | None
    start: bool
    attachments: tuple[Attachment, ...]
    unsupported: tuple[str, ...]  # kinds of content with no file to pass on, in order
    external_id: str
    caps: ClientCaps


def is_private_peer(peer_id: int, user_id: int) -> bool:
    return 0 < user_id < CHAT_PEER_OFFSET and peer_id == user_id


def parse_message_new(obj: dict[str, Any]) -> Incoming | None:
    """None for anything that is not a user's private message to the community."""
    message = obj.get("message") if isinstance(obj.get("message"), dict) else obj
    if not isinstance(message, dict):
        return None
    peer_id, from_id = as_int(message.get("peer_id")), as_int(message.get("from_id"))
    if not is_private_peer(peer_id, from_id) or message.get("out") in (1, True):
        return None
    text = str(message.get("text") or "")
    button, start = parse_payload(message.get("payload"))
    if button is not None and button.startswith(UNKNOWN_PREFIX) and text.strip():
        button = None  # a Text button of some other keyboard: its label is the message
    attachments, unsupported = parse_attachments(message)
    if message.get("geo"):
        unsupported.append(GEO)
    if not text.strip() and not attachments and not unsupported:
        if message.get("fwd_messages") or message.get("reply_message"):
            unsupported.append(FORWARDED)
    cmid = message.get("conversation_message_id") or f"id{message.get('id', '')}"
    return Incoming(
        user_id=from_id,
        peer_id=peer_id,
        text=text,
        payload=button,
        start=start,
        attachments=tuple(attachments),
        unsupported=tuple(dict.fromkeys(unsupported)),
        external_id=message_id(peer_id, cmid),
        caps=ClientCaps.from_client_info(obj.get("client_info")),
    )


def message_id(peer_id: int, cmid: object) -> str:
    """The external id of a customer's message (its edits derive theirs from it)."""
    return f"vk:{peer_id}:{cmid}"


def button_press_id(event_id: str) -> str:
    """The external id of a press of a Callback button (`message_event`)."""
    return f"vkev:{event_id}"


def parse_payload(raw: Any) -> tuple[str | None, bool]:
    """(core button id, is the "Start" command) of a VK button payload.

    Our buttons carry {"b": "<id>"}. A payload of anything else yields an id starting
    with `UNKNOWN_PREFIX`, which the engine answers with "this button no longer works".
    """
    if raw is None or raw == "":
        return None, False
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return UNKNOWN_PREFIX + raw[:60], False
    if isinstance(value, dict):
        if value.get("command") == START:
            return None, True
        button = value.get("b")
        if isinstance(button, str) and button and not button.startswith(UNKNOWN_PREFIX):
            return button, False
    shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return UNKNOWN_PREFIX + shown[:60], False


def parse_attachments(message: dict[str, Any]) -> tuple[list[Attachment], list[str]]:
    files: list[Attachment] = []
    unsupported: list[str] = []
    for item in message.get("attachments") or []:
        if not isinstance(item, dict):
            continue
        kind = str(item.get("type", ""))
        body = item.get(kind)
        body = body if isinstance(body, dict) else {}
        attachment = _attachment(kind, body)
        if attachment is not None:
            files.append(attachment)
        else:
            unsupported.append(kind if _KIND.fullmatch(kind) else OTHER)
    return files, unsupported


def unsupported_names(kinds: tuple[str, ...], texts: Texts) -> str:
    """The customer's words for `kinds` ("sticker, location"), each once, in order."""
    names = [
        texts.get(f"vk.unsupported.{kind}", fallback=f"vk.unsupported.{OTHER}") for kind in kinds
    ]
    return ", ".join(dict.fromkeys(names))


def _attachment(kind: str, body: dict[str, Any]) -> Attachment | None:
    if kind == "photo":
        url = largest_photo_url(body)
        return Attachment("photo", ref=_ref("photo", body), url=url, name="photo.jpg", source=VK)
    if kind == "doc":
        title = str(body.get("title") or "document")
        url = str(body.get("url") or "")
        return Attachment("document", ref=_ref("doc", body), url=url, name=title, source=VK)
    if kind == "audio_message":
        url = str(body.get("link_ogg") or body.get("link_mp3") or "")
        return Attachment("voice", ref=_ref("doc", body), url=url, name="voice.ogg", source=VK)
    if kind == "video":
        owner, item = body.get("owner_id"), body.get("id")
        url = f"https://vk.com/video{owner}_{item}" if owner is not None and item else ""
        return Attachment("video", ref=_ref("video", body), url=url, name="video", source=VK)
    return None


def largest_photo_url(photo: dict[str, Any]) -> str:
    sizes = [s for s in photo.get("sizes") or [] if isinstance(s, dict) and s.get("url")]
    if not sizes:
        return str(photo.get("url") or photo.get("photo_1280") or photo.get("photo_604") or "")
    best = max(sizes, key=lambda s: (as_int(s.get("width")) * as_int(s.get("height")), _rank(s)))
    return str(best["url"])


_SIZE_ORDER = "smxopqryzw"  # VK photo size letters, small to large


def _rank(size: dict[str, Any]) -> int:
    return _SIZE_ORDER.find(str(size.get("type", "")))


def _ref(prefix: str, body: dict[str, Any]) -> str:
    owner, item = body.get("owner_id"), body.get("id")
    if owner is None or item is None:
        return ""
    key = body.get("access_key")
    return f"{prefix}{owner}_{item}" + (f"_{key}" if key else "")


def as_int(value: Any) -> int:
    """VK's number, or 0 for anything else."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def record_of(update: dict[str, Any]) -> InboundRecord:
    """A raw VK update for `core.intake`: its id (VK repeats an event with the same
    event_id) and its partition, the customer's dialog."""
    raw_obj = update.get("object")
    obj: dict[str, Any] = raw_obj if isinstance(raw_obj, dict) else {}
    raw_message = obj.get("message")
    message: dict[str, Any] = raw_message if isinstance(raw_message, dict) else obj
    peer = (
        as_int(message.get("peer_id")) or as_int(obj.get("peer_id")) or as_int(obj.get("user_id"))
    )
    event_id = update.get("event_id")
    if isinstance(event_id, str) and event_id:
        external_id = f"vke:{event_id}"
    else:  # old API versions: no event_id
        cmid = message.get("conversation_message_id") or message.get("id") or obj.get("event_id")
        external_id = f"vke:{update.get('type')}:{peer}:{cmid}"
    return InboundRecord(external_id, f"vk:{peer}", 0, update)
