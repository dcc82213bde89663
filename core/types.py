"""Channel-neutral values that cross the seam between the engine and the adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TELEGRAM = "telegram"
VK = "vk"
CONSOLE = "console"
CHANNELS = (TELEGRAM, VK, CONSOLE)
OPERATORS = "operators"  # the outbox channel of the operators' desk


@dataclass(frozen=True)
class CustomerRef:
    """A customer is identified by the channel and their id in that channel."""

    channel: str
    user_id: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass(frozen=True)
class Attachment:
    """A file the customer or an operator sent.

    `kind` is photo, document, voice, video, audio or sticker. `source` is the channel the
    file came from, `ref` that channel's own handle (a Telegram file_id, a VK attachment
    string) and `url` a link where the channel gives one. Another channel gets the bytes
    through `core.runtime.files.FileFetchers`; `data` holds bytes only in memory, never stored.
    """

    kind: str
    ref: str = ""
    url: str = ""
    name: str = ""
    source: str = ""
    data: bytes | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ref": self.ref,
            "url": self.url,
            "name": self.name,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Attachment:
        return cls(
            kind=str(raw.get("kind", "document")),
            ref=str(raw.get("ref", "")),
            url=str(raw.get("url", "")),
            name=str(raw.get("name", "")),
            source=str(raw.get("source", "")),
        )


@dataclass(frozen=True)
class Button:
    """A button: `id` is what comes back in `Inbound.payload` when it is pressed."""

    id: str
    title: str


@dataclass(frozen=True)
class Reply:
    """One message to a customer: text, rows of buttons, attachments."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachments: tuple[Attachment, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "buttons": [[{"id": b.id, "title": b.title} for b in row] for row in self.buttons],
            "attachments": [a.to_dict() for a in self.attachments],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Reply:
        return cls(
            text=str(raw.get("text", "")),
            buttons=tuple(
                tuple(Button(id=str(b["id"]), title=str(b["title"])) for b in row)
                for row in raw.get("buttons", [])
            ),
            attachments=tuple(Attachment.from_dict(a) for a in raw.get("attachments", [])),
        )

    @property
    def flat_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row]


@dataclass(frozen=True)
class Inbound:
    """One customer update, translated by an adapter.

    `text` is what the customer typed (may be empty), `payload` the id of a pressed
    button, `external_id` the update's own id in its channel (`tg:{chat}:{msg}`,
    `vk:{peer}:{cmid}`) so that an update delivered twice is handled once.
    """

    channel: str
    user_id: str
    text: str = ""
    name: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    external_id: str | None = None
    profile_url: str = ""
    unsupported: str = ""  # the kind of content the adapter could not pass on (sticker, …)
    # What the messenger tells about where a message came from (spam rules, `core.abuse`):
    # a post forwarded from a channel, and when the account was created (where it says).
    forwarded_from_channel: bool = False
    account_created_at: float | None = None

    @property
    def customer(self) -> CustomerRef:
        return CustomerRef(self.channel, self.user_id)
