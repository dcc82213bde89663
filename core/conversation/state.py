"""Where a conversation is (`Step`), what it remembers (`Slots`), and the changes of step
the operators' desk makes (`case_opened`, `await_rating`, `rating_cancelled`).

Both are stored in the conversation's row (`core.storage.conversations`): the step as its
name and the slots as one JSON object with the keys earlier versions wrote, so a database
written before typed slots is read unchanged. A value of the wrong type reads as unset; a
key this version does not know is kept as it was (`Slots.extra`), so nothing a newer
version stored is lost by an older one writing the row back.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

from core.types import Attachment

log = logging.getLogger(__name__)

FILES_KEPT = 10  # files sent before a case opens, remembered for its operator
DONE_KEPT = 20  # numbers of finished self-service offers, for "already done"


class Step(StrEnum):
    """What the dialog waits for. The values are the names stored in the database."""

    IDLE = "idle"  # a new question
    AWAIT_ORDER = "await_order"  # an order number for `Slots.pending_intent`
    AWAIT_ORDER_CONFIRM = "await_order_confirm"  # "is the complaint about order X?"
    AWAIT_DESCRIPTION = "await_description"  # what happened (a complaint)
    AWAIT_PHOTO = "await_photo"  # a photo of the item (a complaint)
    AWAIT_RATING = "await_rating"  # a score for `Slots.rating_ticket`
    AWAIT_COMMENT = "await_comment"  # a comment on that score

    @classmethod
    def parse(cls, stored: str) -> Step:
        """The stored name as a step; a name this version does not know is a new
        question (idle), never an error."""
        try:
            return cls(stored)
        except ValueError:
            log.warning("unknown dialog step %r in the database: taken as idle", stored)
            return cls.IDLE


# Steps where the bot asked for something it still waits for.
WAITING = frozenset(
    {Step.AWAIT_ORDER, Step.AWAIT_ORDER_CONFIRM, Step.AWAIT_DESCRIPTION, Step.AWAIT_PHOTO}
)


@dataclass
class Question:
    """A clarifying question the bot asked: the customer's message and the topics
    offered (stored as `clarify`)."""

    text: str
    options: list[str]
    at: float

    @classmethod
    def read(cls, raw: object) -> Question | None:
        if not isinstance(raw, dict) or not raw.get("text"):
            return None
        return cls(str(raw["text"]), _names(raw.get("options")), _float(raw.get("at")) or 0.0)


@dataclass
class Pick:
    """The topic the customer picked for a clarifying question, within one turn (stored as
    `clarify_picked`): it becomes a labelled example."""

    text: str
    intent: str

    @classmethod
    def read(cls, raw: object) -> Pick | None:
        if not isinstance(raw, dict) or not raw.get("text") or not raw.get("intent"):
            return None
        return cls(str(raw["text"]), str(raw["intent"]))


@dataclass
class Offer:
    """A self-service action offered on an order (`core.conversation.selfservice`)."""

    id: int
    action: str
    order: str
    stage: str = "confirm"  # pick (a choice is awaited) | confirm | failed (retry offered)
    params: dict[str, str] = field(default_factory=dict)
    choice: str = ""  # what the customer picked, as they saw it
    until: str = ""  # YYYY-MM-DD: the storage's last day when offered
    refund: str = ""  # the refund sentence shown with a cancellation
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, title) to pick from

    @classmethod
    def read(cls, raw: object) -> Offer | None:
        if not isinstance(raw, dict) or _int(raw.get("id")) is None:
            return None
        params = raw.get("params")
        return cls(
            id=_int(raw.get("id")) or 0,
            action=str(raw.get("action") or ""),
            order=str(raw.get("order") or ""),
            stage=str(raw.get("stage") or "confirm"),
            params={str(k): str(v) for k, v in params.items()} if isinstance(params, dict) else {},
            choice=str(raw.get("choice") or ""),
            until=str(raw.get("until") or ""),
            refund=str(raw.get("refund") or ""),
            choices=[
                (str(c[0]), str(c[1]))
                for c in _list(raw.get("choices"))
                if isinstance(c, list | tuple) and len(c) == 2
            ],
        )


@dataclass
class Slots:
    """What the dialog remembers between messages. Field names are the stored keys."""

    order: str | None = None  # the order number the conversation is about
    order_status: str | None = None  # its status words when last looked up (for the card)
    last_intent: str | None = None  # the topic last answered
    pending_intent: str | None = None  # the question an order number is awaited for
    order_attempts: int = 0  # wrong order numbers in a row
    order_hint_given: bool = False  # told where to find the number already
    complaint: str | None = None  # the complaint being collected
    description: str = ""  # what happened, in the customer's words
    files: list[Attachment] = field(default_factory=list)  # sent before a case opened
    rating_ticket: int | None = None  # the closed case a rating is awaited for
    conflict: bool = False  # the customer was rude before a case opened: mark the case
    offer: Offer | None = None  # the self-service action on offer
    offers: int = 0  # offers made in this conversation (numbers them)
    offers_done: list[int] = field(default_factory=list)  # the last finished offers
    clarify: Question | None = None  # the clarifying question asked
    clarify_picked: Pick | None = None  # within one turn: the pick to store as a label
    not_helped_at: float | None = None  # when the bot last apologised for an answer
    last_ranked: list[str] = field(default_factory=list)  # likeliest topics of the last question
    extra: dict[str, Any] = field(default_factory=dict)  # stored keys this version does not know

    @classmethod
    def from_json(cls, raw: object) -> Slots:
        """The slots from their stored JSON object (any shape: what does not fit is unset)."""
        data: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        known = {f.name for f in fields(cls)} - {"extra"}
        return cls(
            order=_text(data.get("order")),
            order_status=_text(data.get("order_status")),
            last_intent=_text(data.get("last_intent")),
            pending_intent=_text(data.get("pending_intent")),
            order_attempts=_int(data.get("order_attempts")) or 0,
            order_hint_given=data.get("order_hint_given") is True,
            complaint=_text(data.get("complaint")),
            description=_text(data.get("description")) or "",
            files=[
                Attachment.from_dict(f) for f in _list(data.get("files")) if isinstance(f, dict)
            ],
            rating_ticket=_int(data.get("rating_ticket")),
            conflict=data.get("conflict") is True,
            offer=Offer.read(data.get("offer")),
            offers=_int(data.get("offers")) or 0,
            offers_done=[n for n in map(_int, _list(data.get("offers_done"))) if n is not None],
            clarify=Question.read(data.get("clarify")),
            clarify_picked=Pick.read(data.get("clarify_picked")),
            not_helped_at=_float(data.get("not_helped_at")),
            last_ranked=_names(data.get("last_ranked")),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_json(self) -> dict[str, Any]:
        """The stored JSON object: unset slots are left out, as earlier versions did."""
        data = dict(self.extra)
        for spec in fields(self):
            if spec.name == "extra":
                continue
            value = getattr(self, spec.name)
            unset = spec.default_factory() if callable(spec.default_factory) else spec.default
            if value != unset:
                data[spec.name] = _plain(value)
        return data

    # ------------------------------------------------------------------ changes
    def add_files(self, files: list[Attachment]) -> None:
        self.files = [*self.files, *files][-FILES_KEPT:]

    def offer_done(self, offer_id: int) -> None:
        self.offer = None
        self.offers_done = [*self.offers_done, offer_id][-DONE_KEPT:]

    def forget_question(self) -> None:
        """The question being worked on is over (answered, dropped, handed on)."""
        self.pending_intent = None
        self.order_attempts = 0
        self.complaint = None
        self.description = ""
        self.rating_ticket = None
        self.order_hint_given = False

    def forget_case(self) -> None:
        """A case opened: what was collected for it went to the operators."""
        self.complaint = None
        self.description = ""
        self.files = []
        self.pending_intent = None
        self.order_attempts = 0


class HasDialogState(Protocol):
    """A conversation (`core.storage.Conversation`), as far as its dialog state goes."""

    step: Step
    slots: Slots


# ---------------------------------------------------------------------------- the desk's moves
# The desk opens, closes and reopens cases; the dialog's step follows. Each function changes
# the conversation in memory; the caller saves it in the transaction that made the change.
def case_opened(conv: HasDialogState) -> None:
    """A case opened: what the dialog collected for it went to the operators, and the
    dialog waits for nothing more."""
    conv.slots.forget_case()
    conv.step = Step.IDLE


def await_rating(conv: HasDialogState, ticket_id: int) -> None:
    """A case was closed: the customer is asked to rate it."""
    conv.step = Step.AWAIT_RATING
    conv.slots.rating_ticket = ticket_id


def rating_cancelled(conv: HasDialogState) -> bool:
    """The closing being rated did not hold (the case was reopened): neither its rating
    nor a comment is awaited any more. False when neither was (nothing changed)."""
    if conv.step not in (Step.AWAIT_RATING, Step.AWAIT_COMMENT):
        return False
    conv.step = Step.IDLE
    conv.slots.rating_ticket = None
    return True


# ---------------------------------------------------------------------------- reading values
def _plain(value: object) -> object:
    if isinstance(value, Attachment):
        return value.to_dict()
    if isinstance(value, Question | Pick | Offer):
        return asdict(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _names(value: object) -> list[str]:
    return [str(item) for item in _list(value) if isinstance(item, str)]
