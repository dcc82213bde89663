"""Measuring the model as the bot acts: each message is a new customer's first message,
sent through the real engine, and what the bot did is sorted into four outcomes.

The engine is built with `core.app.build_core` on a throw-away SQLite file and a fixed
clock inside the shop's working hours, with the model under test and the demo orders;
every message comes from a customer of its own (`Engine.handle(Inbound(...))`). The
outcome is read from what the engine produced — the turn's intent, as the message log
stores it, and the replies' buttons — never by re-running the dialog's rules:

- **answered right**: the bot did not ask, and the turn's intent is the right one. That
  covers the intent's answer, the start of its flow (the order number asked for
  `order_status`, a complaint's apology and order request, the handoff for `operator`)
  and a sub-case's own answer. For a message whose right intent is `out_of_scope`, the
  "I did not understand" reply counts as right too: the bot correctly took up no topic.
- **asked, right topic among the buttons**: the bot asked a clarifying question (a reply
  carries `pick:<intent>` buttons, `core.buttons.PICK`) and one of them is the right
  intent.
- **asked, right topic missing**: a clarifying question without the right intent among
  its buttons, or the "I did not understand, rephrase" reply (`texts.clarify`) with the
  main menu for a message that is not out of scope: the customer is asked again with no
  topic of theirs offered (the menu is the same for every message, so it is not counted
  as offering the right topic).
- **answered wrong**: the bot did not ask, and the turn's intent is another one or none
  (e.g. an insult answered only with the calm boundary, a greeting answered with the
  menu when a request came with it).

Besides the outcomes, the classifier's own top-1 and top-3 accuracy are reported for the
same messages (`Prediction.ranked`).
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import buttons
from core.app import build_core
from core.clock import ManualClock
from core.conversation.dialog import CLASSIFY_LIMIT
from core.desk.hours import WorkingHours
from core.nlu.classifier import OUT_OF_SCOPE, IntentClassifier
from core.nlu.dataset import Example
from core.orders import make_order_service
from core.types import CONSOLE, Inbound, Reply

ANSWERED_RIGHT = "answered right"
ASKED_RIGHT = "asked, right topic among the buttons"
ASKED_MISSING = "asked, right topic missing"
ANSWERED_WRONG = "answered wrong"
OUTCOMES = (ANSWERED_RIGHT, ASKED_RIGHT, ASKED_MISSING, ANSWERED_WRONG)
SHORT = {
    ANSWERED_RIGHT: "right",
    ASKED_RIGHT: "asked+",
    ASKED_MISSING: "asked-",
    ANSWERED_WRONG: "wrong",
}
# A Monday; the clock is set to the first working hour on or after it.
REFERENCE_DAY = datetime(2026, 1, 5, 0, 0, tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class Acted:
    """What the bot did with one message."""

    text: str
    truth: str
    outcome: str
    intent: str | None  # the turn's intent, as logged with the message
    options: tuple[str, ...]  # the topics offered as clarifying buttons, in order
    not_understood: bool  # the "rephrase" reply with the main menu
    ranked: tuple[str, ...]  # the classifier's three likeliest intents


@dataclass(frozen=True)
class OutcomeReport:
    acted: tuple[Acted, ...]

    @property
    def total(self) -> int:
        return len(self.acted)

    def share(self, outcome: str, intent: str | None = None) -> float:
        rows = [a for a in self.acted if intent is None or a.truth == intent]
        return sum(1 for a in rows if a.outcome == outcome) / len(rows) if rows else 0.0

    @property
    def top1(self) -> float:
        return _mean(a.ranked[:1] == (a.truth,) for a in self.acted)

    @property
    def top3(self) -> float:
        return _mean(a.truth in a.ranked[:3] for a in self.acted)

    @property
    def right_or_button(self) -> float:
        return self.share(ANSWERED_RIGHT) + self.share(ASKED_RIGHT)

    def intents(self) -> list[str]:
        return sorted({a.truth for a in self.acted})


def judge(truth: str, intent: str | None, replies: Sequence[Reply], rephrase: str) -> Acted:
    """The outcome of one first message from what the engine produced: the turn's intent
    and its replies (`rephrase` is the text of the "did not understand" reply)."""
    payloads = [b.id for reply in replies for b in reply.flat_buttons]
    options = tuple(p.removeprefix(buttons.PICK) for p in payloads if p.startswith(buttons.PICK))
    not_understood = any(reply.text.strip() == rephrase.strip() for reply in replies)
    if options:
        outcome = ASKED_RIGHT if truth in options else ASKED_MISSING
    elif not_understood:
        outcome = ANSWERED_RIGHT if truth == OUT_OF_SCOPE else ASKED_MISSING
    else:
        outcome = ANSWERED_RIGHT if intent == truth else ANSWERED_WRONG
    return Acted("", truth, outcome, intent, options, not_understood, ())


def clock_in_working_hours(settings: Any) -> ManualClock:
    """A fixed clock a minute after the shop's first working hour on or after a Monday."""
    hours = WorkingHours(
        start=settings.work_hours_start,
        end=settings.work_hours_end,
        days=frozenset(int(d) for d in settings.work_days),
        timezone=settings.timezone,
    )
    opening = hours.next_opening(REFERENCE_DAY).timestamp()
    return ManualClock(opening + 60 if hours.is_open(opening + 60) else opening)


@asynccontextmanager
async def scratch_core(settings: Any, classifier: IntentClassifier) -> AsyncIterator[Any]:
    """A bot core on a throw-away SQLite file with the demo orders and a fixed clock in
    working hours, running `classifier` (never the shop's database or order API)."""
    with tempfile.TemporaryDirectory(prefix="supportbot-eval-") as folder:
        scratch = settings.model_copy(
            update={
                "database_url": f"sqlite:///{Path(folder) / 'eval.db'}",
                "data_dir": Path(folder),
                "orders_api_url": None,  # never the shop's API: the demo orders
            }
        )
        clock = clock_in_working_hours(settings)
        orders = make_order_service(
            None, Path(settings.orders_demo_file), clock=clock, timezone=settings.timezone
        )
        core = await build_core(scratch, clock=clock, orders=orders, classifier=classifier)
        try:
            yield core
        finally:
            await core.close()


async def act_on(
    settings: Any, classifier: IntentClassifier, examples: Sequence[Example]
) -> OutcomeReport:
    """Send every message as a new customer's first message through an engine built on a
    throw-away SQLite file, and sort what the bot did (see the module doc)."""
    acted = []
    async with scratch_core(settings, classifier) as core:
        for number, (text, truth) in enumerate(examples, start=1):
            inbound = Inbound(CONSOLE, f"eval-{number}", text=text, name="eval")
            replies = await core.engine.handle(inbound)
            acted.append(await judge_turn(core, inbound, truth, replies))
    return OutcomeReport(tuple(acted))


async def judge_turn(core: Any, inbound: Inbound, truth: str, replies: Sequence[Reply]) -> Acted:
    """The outcome of the customer's last message (`inbound`), answered with `replies`."""
    intent = await _logged_intent(core, inbound)
    verdict = judge(truth, intent, replies, core.kb.texts.get("clarify"))
    ranked = core.classifier.predict(inbound.text[:CLASSIFY_LIMIT]).ranked
    return replace(verdict, text=inbound.text, ranked=tuple(name for name, _ in ranked[:3]))


async def _logged_intent(core: Any, inbound: Inbound) -> str | None:
    """The intent the engine logged with the customer's last message."""
    conv = await core.storage.conversations.find(inbound.customer)
    if conv is None:
        return None
    logged = await core.storage.messages.for_conversation(conv.id, 20)
    for message in reversed(logged):
        if message.direction == "in":
            return message.intent
    return None


def format_outcomes(report: OutcomeReport, title: str = "") -> str:
    """The four shares overall and per intent, and the classifier's top-1/top-3."""
    lines = [title] if title else []
    lines += [
        f"messages: {report.total}",
        *(f"{outcome + ':':<40} {report.share(outcome):6.1%}" for outcome in OUTCOMES),
        f"{'right answer or right button:':<40} {report.right_or_button:6.1%}",
        f"{'classifier top-1 / top-3:':<40} {report.top1:.3f} / {report.top3:.3f}",
        "",
        f"{'intent':<20} {'n':>4} " + " ".join(f"{SHORT[o]:>7}" for o in OUTCOMES),
    ]
    for intent in report.intents():
        n = sum(1 for a in report.acted if a.truth == intent)
        shares = " ".join(f"{report.share(o, intent):>7.0%}" for o in OUTCOMES)
        lines.append(f"{intent:<20} {n:>4} {shares}")
    return "\n".join(lines)


def format_messages(report: OutcomeReport) -> str:
    """Every message under its outcome: the right intent, what the bot did, the text."""
    lines: list[str] = []
    for outcome in OUTCOMES:
        rows = [a for a in report.acted if a.outcome == outcome]
        lines += ["", f"{outcome} ({len(rows)}):"]
        for a in rows:
            lines.append(f"  {a.truth} ← {describe(a)}: {_one_line(a.text)}")
    return "\n".join(lines).lstrip("\n")


def describe(acted: Acted) -> str:
    if acted.options:
        return "asked [" + ", ".join(acted.options) + "]"
    if acted.not_understood:
        return "not understood (menu)"
    return f"acted on {acted.intent or 'nothing'}"


def _one_line(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _mean(values: Iterable[bool]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
