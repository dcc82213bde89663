"""The dialog's state: steps as an enum with a handler each, typed slots stored as the same
JSON object earlier versions wrote. A database written before typed slots is read and
carried on unchanged; a step or a slot this version does not know loses nothing."""

from __future__ import annotations

import json

from conftest import Customer, flat_ids

from core.conversation.state import (
    Offer,
    Pick,
    Question,
    Slots,
    Step,
    await_rating,
    case_opened,
    rating_cancelled,
)
from core.storage import Conversation
from core.types import Attachment

PLACED = "12345678-0002"  # the demo order with two items, still cancellable


async def store(core, customer: Customer, step: str, slots: dict) -> None:
    """Write a conversation's state as an earlier version did: raw step name and JSON."""
    conv = await customer.core.storage.conversations.get_or_create(
        customer.inbound().customer, core.clock.now()
    )
    await core.storage.db.execute(
        "UPDATE conversations SET step = ?, slots = ? WHERE id = ?",
        (step, json.dumps(slots, ensure_ascii=False), conv.id),
    )


async def stored_slots(core, customer: Customer) -> dict:
    conv = await customer.conversation()
    rows = await core.storage.db.fetchall(
        "SELECT slots FROM conversations WHERE id = ?", (conv.id,)
    )
    return json.loads(rows[0]["slots"])


# ---------------------------------------------------------------------------- the table
def test_every_step_has_a_handler(core):
    assert set(core.dialog.steps) == set(Step)
    assert all(callable(handler) for handler in core.dialog.steps.values())


def test_a_step_keeps_the_name_stored_before():
    assert [str(s) for s in Step] == [
        "idle",
        "await_order",
        "await_order_confirm",
        "await_description",
        "await_photo",
        "await_rating",
        "await_comment",
    ]
    assert Step.parse("await_order") is Step.AWAIT_ORDER
    assert Step.parse("await_hologram") is Step.IDLE


async def test_an_unknown_stored_step_is_read_as_idle(core):
    customer = Customer(core)
    await store(core, customer, "await_hologram", {"order": "12345678-0001"})
    conv = await customer.conversation()
    assert conv.step is Step.IDLE and conv.slots.order == "12345678-0001"
    # The message is a new question; the remembered order is used for it.
    [reply] = await customer.say("где мой заказ")
    assert "12345678-0001" in reply.text
    assert (await customer.conversation()).step == "idle"


# ---------------------------------------------------------------------------- the slots
def full_slots() -> Slots:
    return Slots(
        order="12345678-0001",
        order_status="В пути",
        last_intent="order_status",
        pending_intent="order_cancel",
        order_attempts=1,
        order_hint_given=True,
        complaint="damaged_item",
        description="коробка мятая",
        files=[Attachment("photo", ref="AgAD", source="telegram")],
        rating_ticket=7,
        conflict=True,
        offer=Offer(
            3,
            "cancel_item",
            PLACED,
            stage="pick",
            choices=[("B1", "Настольная лампа"), ("B2", "Набор лампочек")],
        ),
        offers=3,
        offers_done=[1, 2],
        clarify=Question("что-то про заказ", ["order_status", "refund"], 12.5),
        clarify_picked=Pick("что-то про заказ", "refund"),
        not_helped_at=30.0,
        last_ranked=["refund", "payment"],
        extra={"future_key": {"a": 1}},
    )


def test_slots_round_trip_through_their_json():
    slots = full_slots()
    stored = json.loads(json.dumps(slots.to_json(), ensure_ascii=False))
    assert Slots.from_json(stored) == slots
    assert stored["future_key"] == {"a": 1}  # a key this version does not know is kept
    assert stored["offer"]["choices"] == [["B1", "Настольная лампа"], ["B2", "Набор лампочек"]]


def test_unset_slots_are_left_out_as_before():
    assert Slots().to_json() == {}
    assert Slots(order="1-2").to_json() == {"order": "1-2"}


def test_values_of_the_wrong_type_read_as_unset():
    slots = Slots.from_json(
        {
            "order": 5,
            "order_attempts": "2",
            "rating_ticket": "abc",
            "conflict": "yes",
            "files": ["not a file", {"kind": "photo"}],
            "offer": {"action": "cancel"},  # no id: not an offer
            "clarify": "text",
            "offers_done": [1, "x", 3],
        }
    )
    assert slots.order is None and slots.order_attempts == 2 and slots.rating_ticket is None
    assert slots.conflict is False and slots.offer is None and slots.clarify is None
    assert [f.kind for f in slots.files] == ["photo"] and slots.offers_done == [1, 3]
    assert Slots.from_json(None) == Slots() and Slots.from_json([1, 2]) == Slots()


async def test_a_conversation_saved_in_the_old_shape_loads_and_goes_on(core):
    """An offer to cancel one item, stored by the dict-based version, is taken up where it
    stopped: the pick, the confirmation, the action; unknown keys survive the writes."""
    customer = Customer(core)
    old = {
        "order": PLACED,
        "last_intent": "order_cancel",
        "order_attempts": 0,
        "offers": 3,
        "offers_done": [1],
        "offer": {
            "id": 3,
            "action": "cancel_item",
            "order": PLACED,
            "params": {},
            "choice": "",
            "until": "",
            "refund": "",
            "stage": "pick",
            "choices": [["B1", "Настольная лампа"], ["B2", "Набор лампочек"]],
        },
        "files": [{"kind": "photo", "ref": "AgAD", "url": "", "name": "", "source": "telegram"}],
        "future_key": {"a": 1},
    }
    await store(core, customer, "idle", old)
    conv = await customer.conversation()
    assert conv.slots.offer is not None and conv.slots.offer.choices[1] == ("B2", "Набор лампочек")
    assert conv.slots.files == [Attachment("photo", ref="AgAD", source="telegram")]
    [confirm] = await customer.press("act:pick:3:1")
    assert "Набор лампочек" in confirm.text and "act:yes:3" in flat_ids(confirm)
    [done] = await customer.press("act:yes:3")
    assert "Набор лампочек" in done.text
    stored = await stored_slots(core, customer)
    assert "offer" not in stored and stored["offers_done"] == [1, 3]
    assert stored["future_key"] == {"a": 1} and stored["order"] == PLACED


async def test_an_old_wait_for_an_order_number_goes_on(core):
    customer = Customer(core)
    await store(
        core,
        customer,
        "await_order",
        {"pending_intent": "order_cancel", "order_attempts": 1, "order_hint_given": True},
    )
    [reply] = await customer.say(PLACED)
    assert PLACED in reply.text and f"act:go:cancel:{PLACED}" in flat_ids(reply)
    conv = await customer.conversation()
    assert conv.step == "idle" and conv.slots.pending_intent is None


# ---------------------------------------------------------------------------- the desk's moves
def test_the_desks_moves():
    conv = Conversation(1, "telegram", "1", step=Step.AWAIT_PHOTO, slots=full_slots())
    case_opened(conv)
    assert conv.step is Step.IDLE
    assert conv.slots.complaint is None and conv.slots.files == [] and not conv.slots.description
    assert conv.slots.order == "12345678-0001"  # still the conversation's order
    await_rating(conv, 42)
    assert conv.step is Step.AWAIT_RATING and conv.slots.rating_ticket == 42
    assert rating_cancelled(conv) is True
    assert conv.step is Step.IDLE and conv.slots.rating_ticket is None
    assert rating_cancelled(conv) is False
