"""Button ids the engine puts on replies and understands when pressed.

Each adapter carries the id unchanged (Telegram `callback_data`, VK payload), so the
same id means the same thing in every channel. Ids stay under Telegram's 64 bytes.
"""

from __future__ import annotations

from core.types import Button

HELPED = "helped"
OPERATOR = "operator"
MENU = "menu"
NO_PHOTO = "no_photo"
SKIP = "skip"
START = "start"  # /start, /help and VK's "Начать": the greeting and the menu
ORDER_OK = "order_ok"  # "yes, this order" when a complaint names the remembered order
OTHER_ORDER = "order_other"  # "another order": the bot asks for its number
TOPIC = "topic:"  # topic:<intent>
PICK = "pick:"  # pick:<intent>: a topic picked in answer to a clarifying question
RATE = "rate:"  # rate:<ticket>:<1..5>
ERASE_DATA = "privacy:erase"  # "yes, delete my data" (core.privacy.requests)
KEEP_DATA = "privacy:keep"  # "no, keep it"


def topic(intent: str, title: str) -> Button:
    return Button(TOPIC + intent, title)


def rate(ticket_id: int, score: int) -> Button:
    return Button(f"{RATE}{ticket_id}:{score}", f"{score} ⭐")


def parse_rate(payload: str) -> tuple[int, int] | None:
    try:
        ticket, score = payload.removeprefix(RATE).split(":")
        value = int(score)
    except ValueError:
        return None
    if not 1 <= value <= 5 or not ticket.isdigit():
        return None
    return int(ticket), value
