"""What the outbox carries: every message the bot sends, as a typed event.

A customer's turn or an operator's action writes events to the outbox (`OutboxRepo.add`)
in the transaction that decided them; a channel's sender reads them back
(`OutboxItem.event`) and renders each one with one method of a renderer protocol
(`core.runtime.renderers`), so mypy flags a sender that misses a kind of event.

`encode` and `decode` are the only code that knows how an event looks in the database: a
kind string and a JSON payload, the same payloads earlier versions wrote, so an outbox
written before an upgrade is still delivered.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.types import Attachment, Reply


class UnknownEvent(ValueError):
    """An outbox row this version cannot read (a kind or event it does not know)."""


@dataclass(frozen=True)
class Ack:
    """An operator's own message in the operators' group: marked 👍 once its reply is
    delivered, and followed when the operator edits it."""

    chat_id: int
    message_id: int

    @property
    def source(self) -> str:
        """The key of the operator's message: "<chat>:<message>"."""
        return f"{self.chat_id}:{self.message_id}"


@dataclass(frozen=True)
class Event:
    """Base of every event. `KIND` is the outbox kind; notices of the desk share the kind
    "notice" and are told apart by `NOTICE`."""

    KIND: ClassVar[str] = ""
    NOTICE: ClassVar[str] = ""
    # Payload keys that differ from the field's name.
    RENAMED: ClassVar[dict[str, str]] = {}


# ---------------------------------------------------------------------------- customers
@dataclass(frozen=True)
class CustomerReply(Event):
    """A message to the customer: the bot's answer, an operator's reply, the rating
    request. `ack` names the operator's message to mark once this is delivered."""

    KIND: ClassVar[str] = "reply"
    RENAMED: ClassVar[dict[str, str]] = {"from_bot": "from"}

    reply: Reply
    ticket_id: int | None = None
    from_bot: bool = False
    ack: Ack | None = None


@dataclass(frozen=True)
class ReplyEdited(Event):
    """An operator edited the reply `source` ("<chat>:<message>" of their own message):
    the customer's copy is edited in place where the channel allows it, else
    `correction` is sent."""

    KIND: ClassVar[str] = "edit"
    RENAMED: ClassVar[dict[str, str]] = {"correction": "reply"}

    ticket_id: int
    source: str
    text: str
    correction: Reply


# ---------------------------------------------------------------------------- the desk
@dataclass(frozen=True)
class DeskEvent(Event):
    """An event for the operators of case `ticket_id`, posted in its department's group
    (or in `group`, when the event names another one)."""

    ticket_id: int

    @property
    def group(self) -> str | None:
        return None


@dataclass(frozen=True)
class CaseOpened(DeskEvent):
    """A new case (or one moved here from another group: `transferred_from`, `by`).
    `context_upto` is the last message the card shows; None for announcements written
    before cards tracked what they show."""

    KIND: ClassVar[str] = "ticket_opened"

    context_upto: int | None = None
    transferred_from: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class CustomerMessage(DeskEvent):
    """What the customer wrote while their case is open (`edited`: a correction)."""

    KIND: ClassVar[str] = "customer_message"

    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    edited: bool = False
    merged: int = 1  # how many messages this one stands for, once merged for posting


@dataclass(frozen=True)
class CaseClosed(DeskEvent):
    KIND: ClassVar[str] = "ticket_closed"

    by: str = ""


@dataclass(frozen=True)
class Notice(DeskEvent):
    KIND: ClassVar[str] = "notice"


@dataclass(frozen=True)
class Delivered(Notice):
    """The operator's reply reached the customer."""

    NOTICE: ClassVar[str] = "delivered"

    ack: Ack | None = None


@dataclass(frozen=True)
class Undelivered(Notice):
    """The operator's reply cannot reach the customer (`reason`, for the operators)."""

    NOTICE: ClassVar[str] = "undelivered"

    reason: str = ""
    ack: Ack | None = None


@dataclass(frozen=True)
class NotShown(Notice):
    """A post the operators' group refused, told in plain words."""

    NOTICE: ClassVar[str] = "not_shown"

    reason: str = ""
    text: str = ""


@dataclass(frozen=True)
class LowRating(Notice):
    NOTICE: ClassVar[str] = "low_rating"

    rating: int = 0


@dataclass(frozen=True)
class RatingComment(Notice):
    NOTICE: ClassVar[str] = "rating_comment"

    text: str = ""


@dataclass(frozen=True)
class ConflictMarked(Notice):
    """The customer was rude; the bot answered calmly and marked the case."""

    NOTICE: ClassVar[str] = "conflict"


@dataclass(frozen=True)
class Assigned(Notice):
    NOTICE: ClassVar[str] = "assigned"

    to_id: str = ""
    to_name: str = ""
    by: str = ""


@dataclass(frozen=True)
class Transferred(Notice):
    """The case moved to the department titled `to`; posted in the group it left."""

    NOTICE: ClassVar[str] = "transferred"
    RENAMED: ClassVar[dict[str, str]] = {"left": "department"}

    left: str = ""  # the department the case left (its group hears this)
    to: str = ""
    by: str = ""

    @property
    def group(self) -> str | None:
        return self.left or None


@dataclass(frozen=True)
class SlaAlert(Notice):
    """A service-level target (`core.desk.sla`) close to or past its due time."""

    NOTICE: ClassVar[str] = "sla"

    target: str = ""
    level: str = ""
    due: float | None = None
    tier: str = ""


@dataclass(frozen=True)
class CustomerErased(DeskEvent):
    """A customer's data was erased (act `act`, customer `label`, `reason`: customer,
    operator, command or retention). The operators' side deletes the customer's `topics`
    and the bot's `posts` about their cases (`[chat id, id]` pairs), then tells each of
    `groups` in one line; `ticket_id` is their latest case (0: none), `cases` all of them.
    Nothing here names the customer."""

    KIND: ClassVar[str] = "customer_erased"

    act: int = 0
    label: str = ""
    reason: str = ""
    cases: list[int] = field(default_factory=list)
    topics: list[list[str]] = field(default_factory=list)
    posts: list[list[str]] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CustomerBlocked(Notice):
    """An operator blocked the case's customer (`core.abuse.blocking`; `spam`: marked the
    case as spam): the case is closed, and what the customer writes from now on is kept
    but neither answered nor shown."""

    NOTICE: ClassVar[str] = "blocked"

    by: str = ""
    reason: str = ""
    spam: bool = False


CustomerEvent = CustomerReply | ReplyEdited
NoticeEvent = (
    Delivered
    | Undelivered
    | NotShown
    | LowRating
    | RatingComment
    | ConflictMarked
    | Assigned
    | Transferred
    | SlaAlert
    | CustomerBlocked
)
DeskEvents = CaseOpened | CustomerMessage | CaseClosed | CustomerErased | NoticeEvent
AnyEvent = CustomerEvent | DeskEvents

_KINDS: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (CustomerReply, ReplyEdited, CaseOpened, CustomerMessage, CaseClosed, CustomerErased)
}
_NOTICES: dict[str, type[Event]] = {
    cls.NOTICE: cls
    for cls in (
        Delivered,
        Undelivered,
        NotShown,
        LowRating,
        RatingComment,
        ConflictMarked,
        Assigned,
        Transferred,
        SlaAlert,
        CustomerBlocked,
    )
}


# ---------------------------------------------------------------------------- the codec
def encode(event: Event) -> tuple[str, dict[str, Any]]:
    """The outbox kind and JSON payload of `event` (fields left at their default are
    omitted)."""
    payload: dict[str, Any] = {"event": event.NOTICE} if event.NOTICE else {}
    for spec in dataclasses.fields(event):
        value = getattr(event, spec.name)
        if spec.default is not dataclasses.MISSING and value == spec.default:
            continue
        payload[event.RENAMED.get(spec.name, spec.name)] = _dump(spec.name, value)
    return event.KIND, payload


def decode(kind: str, payload: dict[str, Any]) -> AnyEvent:
    """The event an outbox row holds; `UnknownEvent` when this version cannot read it."""
    cls = _NOTICES.get(str(payload.get("event"))) if kind == Notice.KIND else _KINDS.get(kind)
    if cls is None:
        raise UnknownEvent(f"unknown outbox item {kind}/{payload.get('event')}")
    values: dict[str, Any] = {}
    for name, key, hint in _fields_of(cls):
        if key in payload:
            values[name] = _load(hint, payload[key])
    try:
        return typing.cast(AnyEvent, cls(**values))
    except TypeError as exc:  # a required field is missing
        raise UnknownEvent(f"outbox item {kind} cannot be read: {exc}") from None


_FIELDS: dict[type[Event], tuple[tuple[str, str, Any], ...]] = {}


def _fields_of(cls: type[Event]) -> tuple[tuple[str, str, Any], ...]:
    """(field, payload key, type) of each field of an event class, worked out once: the
    type hints are strings (`from __future__ import annotations`), and resolving them
    cost more than the rest of a decode."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = tuple(
            (spec.name, cls.RENAMED.get(spec.name, spec.name), hints[spec.name])
            for spec in dataclasses.fields(cls)
        )
        _FIELDS[cls] = found
    return found


def _dump(name: str, value: Any) -> Any:
    if isinstance(value, Reply):
        return value.to_dict()
    if isinstance(value, Ack):
        return {"chat_id": value.chat_id, "message_id": value.message_id}
    if isinstance(value, tuple):
        return [a.to_dict() for a in value]
    if name == "from_bot":
        return "bot" if value else ""
    return value


def _load(hint: Any, raw: Any) -> Any:
    args = typing.get_args(hint)
    if Reply in (hint, *args):
        return Reply.from_dict(raw if isinstance(raw, dict) else {})
    if Ack in args or hint is Ack:
        if not isinstance(raw, dict) or "chat_id" not in raw or "message_id" not in raw:
            return None
        return Ack(int(raw["chat_id"]), int(raw["message_id"]))
    if typing.get_origin(hint) is tuple:
        return tuple(Attachment.from_dict(a) for a in raw or ())
    if hint is bool:
        return raw == "bot" if isinstance(raw, str) else bool(raw)
    if hint is int:
        return int(raw)
    if float in args and raw is not None:
        return float(raw)
    return raw
