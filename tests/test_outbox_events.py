"""The outbox's typed events: every kind survives the database, rows written by the
version before typed events are still read, and an unreadable row is given up, not retried
forever."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import Collector

from core.events import (
    Ack,
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerBlocked,
    CustomerErased,
    CustomerMessage,
    CustomerReply,
    Delivered,
    LowRating,
    NotShown,
    RatingComment,
    ReplyEdited,
    SlaAlert,
    Transferred,
    Undelivered,
    UnknownEvent,
    decode,
    encode,
)
from core.types import OPERATORS, TELEGRAM, Attachment, Button, Reply

PHOTO = Attachment("photo", ref="AgAD", source=TELEGRAM)
EVERY_EVENT = [
    CustomerReply(Reply("Здравствуйте", ((Button("b:1", "Да"),),), (PHOTO,))),
    CustomerReply(Reply("Ответ"), ticket_id=7, from_bot=True),
    CustomerReply(Reply("Ответ оператора"), ticket_id=7, ack=Ack(-1001, 55)),
    ReplyEdited(7, "-1001:55", "новый текст", Reply("Исправление: новый текст")),
    CaseOpened(7),
    CaseOpened(7, context_upto=40, transferred_from="Поддержка", by="Анна"),
    CustomerMessage(7, "где заказ", (PHOTO,)),
    CustomerMessage(7, "исправлено", edited=True, merged=3),
    CaseClosed(7, by="Анна"),
    Delivered(7, ack=Ack(-1001, 55)),
    Undelivered(7, reason="клиент заблокировал бота", ack=Ack(-1001, 55)),
    NotShown(7, reason="Bad Request", text="текст"),
    LowRating(7, rating=2),
    RatingComment(7, text="долго"),
    ConflictMarked(7),
    Assigned(7, to_id="42", to_name="Пётр", by="Анна"),
    Transferred(7, left="main", to="VIP", by="Анна"),
    SlaAlert(7, target="first_response", level="warning", due=1234.5, tier="vip"),
    CustomerErased(
        7,
        act=3,
        label="K1A2B3C4D",
        reason="customer",
        cases=[5, 7],
        topics=[["-1001", "42"]],
        posts=[["-1002", "9"]],
        groups=["-1001", "-1002"],
    ),
    CustomerErased(0, act=4, reason="retention"),
    CustomerBlocked(7, by="Анна", reason="угрозы"),
    CustomerBlocked(7, by="Анна", spam=True),
]


@pytest.mark.parametrize("event", EVERY_EVENT, ids=lambda e: type(e).__name__)
def test_every_event_survives_the_database(event):
    kind, payload = encode(event)
    assert decode(kind, payload) == event


def test_every_event_class_is_covered_here():
    """A new kind of event must be added to EVERY_EVENT (and so to the codec's tests)."""
    import core.events as events

    classes = {
        cls
        for cls in vars(events).values()
        if isinstance(cls, type)
        and dataclasses.is_dataclass(cls)
        and issubclass(cls, events.Event)
        and (cls.NOTICE or (cls.KIND and cls is not events.Notice))
    }
    assert classes == {type(e) for e in EVERY_EVENT}


# Payloads exactly as the version before typed events wrote them.
LEGACY = [
    ("reply", {"reply": {"text": "a", "buttons": [], "attachments": []}, "from": "bot"}),
    (
        "reply",
        {
            "reply": {"text": "b", "buttons": [], "attachments": []},
            "ticket_id": 3,
            "ack": {"chat_id": -100, "message_id": 9},
        },
    ),
    ("edit", {"ticket_id": 3, "source": "-100:9", "text": "c", "reply": {"text": "Испр.: c"}}),
    ("ticket_opened", {"context_upto": 12, "ticket_id": 3}),
    ("ticket_opened", {"ticket_id": 3}),
    ("customer_message", {"ticket_id": 3, "text": "d", "attachments": [], "edited": True}),
    ("ticket_closed", {"ticket_id": 3, "by": "Анна"}),
    ("notice", {"ticket_id": 3, "event": "transferred", "department": "main", "to": "VIP"}),
    (
        "notice",
        {
            "ticket_id": 3,
            "event": "sla",
            "target": "resolution",
            "level": "breach",
            "due": 100,
            "tier": "ordinary",
        },
    ),
    ("notice", {"ticket_id": 3, "event": "undelivered", "reason": "x", "ack": None}),
]


@pytest.mark.parametrize("kind,payload", LEGACY)
def test_rows_written_before_typed_events_are_read(kind, payload):
    event = decode(kind, payload)
    assert event.KIND == kind
    assert decode(*encode(event)) == event


def test_legacy_values_keep_their_meaning():
    reply = decode(*LEGACY[1])
    assert isinstance(reply, CustomerReply)
    assert reply.ack == Ack(-100, 9) and reply.ticket_id == 3 and not reply.from_bot
    assert decode(*LEGACY[0]).from_bot is True  # type: ignore[union-attr]
    moved = decode(*LEGACY[7])
    assert isinstance(moved, Transferred) and moved.group == "main"
    alert = decode(*LEGACY[8])
    assert isinstance(alert, SlaAlert) and alert.due == 100.0


@pytest.mark.parametrize(
    "kind,payload",
    [("fax", {}), ("notice", {"ticket_id": 1, "event": "meteor"}), ("ticket_closed", {})],
)
def test_unreadable_rows_are_refused(kind, payload):
    with pytest.raises(UnknownEvent):
        decode(kind, payload)


class Reading(Collector):
    """A sender that reads each item's event, as every real sender does."""

    async def send(self, item):
        assert item.event is not None
        await super().send(item)


async def test_an_unreadable_item_is_given_up_not_retried(core, clock):
    """A row this version cannot read (written by a newer one) goes dead at once with the
    reason, and the items behind it still go out."""
    operators = Reading()
    core.delivery.register(OPERATORS, operators)
    stored = await core.storage.outbox.add(OPERATORS, "telegram:1", CaseClosed(1), clock.now())
    await core.storage.db.execute("UPDATE outbox SET kind = 'fax' WHERE id = ?", (stored.id,))
    await core.storage.outbox.add(OPERATORS, "telegram:1", ConflictMarked(1), clock.now())
    await core.delivery.run_once()
    counts = await core.storage.outbox.counts()
    assert counts.get("dead") == 1 and counts.get("sent") == 1
    assert [type(item.event) for item in operators.items] == [ConflictMarked]
