"""The customer's side of personal data, hooked into the engine's turn at two places.

`decide(turn)` runs before the dialog: "удалите мои данные" (and the like, see
`detector`) gets what will be deleted and what is kept with a confirmation button; the
button erases; "какие данные вы храните?" is answered. It also adds the privacy line
(`PRIVACY_POLICY_URL`) to a customer's first answer. `commit(tx, turn, items, now)` runs
at the end of the turn's transaction: a confirmed request is erased there
(`core.privacy.erasure`), in the same unit of work as the turn that confirmed it, and the
answer that tells the customer it is done stays in the outbox only until it is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core import buttons
from core.conversation.turn import Turn
from core.knowledge.texts import Texts
from core.privacy.detector import Ask, PrivacyDetector
from core.privacy.erasure import BY_CUSTOMER, Erasure, Request
from core.storage import Conversation, OutboxItem, Storage
from core.types import Button, Reply

ERASE = buttons.ERASE_DATA  # the confirmation button
KEEP = buttons.KEEP_DATA  # "no, keep it"
OFFERED = "privacy_offered"  # slot: when the erasure was offered
CONFIRMED = "privacy_confirmed"  # slot, within one turn: erase at commit
TOLD = "privacy_told"  # slot: the privacy line was shown
OFFER_VALID = 24 * 3600.0  # a confirmation later than this asks again
INTENT = "account"  # the taxonomy's intent for questions about one's data


@dataclass(frozen=True)
class PrivacyPolicy:
    policy_url: str = ""  # PRIVACY_POLICY_URL: shown once, and in the answer about data
    retention_days: int = 365  # RETENTION_DAYS (0: kept until erased)
    timezone: str = "Europe/Moscow"


def _slots(conv: Conversation) -> dict[str, Any]:
    """The conversation's free-form slots (typed slots keep unknown keys in `extra`)."""
    slots: Any = conv.slots
    extra = getattr(slots, "extra", None)
    return extra if isinstance(extra, dict) else slots


class PrivacyRequests:
    """`texts` are the customers' (`privacy.*` in texts.yaml)."""

    def __init__(
        self,
        erasure: Erasure,
        detector: PrivacyDetector,
        texts: Texts,
        policy: PrivacyPolicy,
        normalize: Callable[[str], str] | None = None,
    ) -> None:
        self.erasure = erasure
        self.detector = detector
        self.texts = texts
        self.policy = policy
        self.normalize = normalize
        # Requests confirmed in turns being decided: their hash, computed before the commit.
        self._pending: dict[int, Request] = {}

    # ------------------------------------------------------------------ deciding
    async def decide(self, turn: Turn) -> bool:
        """Answer a request about the customer's data; False when the message is not one
        (the dialog goes on)."""
        inbound, slots = turn.inbound, _slots(turn.conversation)
        slots.pop(CONFIRMED, None)
        self._pending.pop(turn.conversation.id, None)
        if inbound.payload == ERASE:
            await self._confirmed(turn, slots)
            return True
        if inbound.payload == KEEP:
            slots.pop(OFFERED, None)
            turn.say(Reply(self.texts.get("privacy.kept")))
            return True
        if inbound.payload or not inbound.text.strip():
            return False
        ask = self.detector.ask(inbound.text, self.normalize)
        if ask is None:
            return False
        turn.intent, turn.confidence = INTENT, 1.0
        if ask == Ask.QUESTION:
            turn.say(Reply(self.what_we_keep()))
            turn.outcomes.append("answered")
            return True
        await self._offer(turn, slots)
        return True

    async def _offer(self, turn: Turn, slots: dict[str, Any]) -> None:
        slots[OFFERED] = turn.now
        acts = await self.erasure.acts_for(turn.conversation.customer)
        text = self.texts.get("privacy.offer")
        if acts:
            day = self._day(acts[-1].done_at)
            text = self.texts.format("privacy.erased_before", date=day) + "\n\n" + text
        row = (
            Button(ERASE, self.texts.get("privacy.buttons.erase")),
            Button(KEEP, self.texts.get("privacy.buttons.keep")),
        )
        turn.say(Reply(text, (row,)))

    async def _confirmed(self, turn: Turn, slots: dict[str, Any]) -> None:
        offered = slots.get(OFFERED)
        if not isinstance(offered, int | float) or turn.now - offered > OFFER_VALID:
            turn.say(Reply(self.texts.get("privacy.offer_expired")))
            return
        customer = turn.conversation.customer
        self._pending[turn.conversation.id] = await self.erasure.request(
            customer, BY_CUSTOMER, BY_CUSTOMER
        )
        slots[CONFIRMED] = True
        turn.say(Reply(self.erasure.farewell))

    def what_we_keep(self) -> str:
        """The answer to "what do you keep about me?"."""
        days = self.policy.retention_days
        if days:
            kept = self.texts.format("privacy.kept_for", days=self.texts.plural("days", days))
        else:
            kept = self.texts.get("privacy.kept_until_erased")
        text = self.texts.format("privacy.what_we_keep", kept_for=kept)
        if self.policy.policy_url:
            text += "\n" + self.texts.format("privacy.policy", url=self.policy.policy_url)
        return text

    def notice(self, turn: Turn) -> None:
        """The privacy line under a customer's first answer (once, when a policy is set)."""
        slots = _slots(turn.conversation)
        if not self.policy.policy_url or slots.get(TOLD) or not turn.replies:
            return
        slots[TOLD] = True
        first = turn.replies[0]
        line = self.texts.format("privacy.notice", url=self.policy.policy_url)
        turn.replies[0] = replace(first, text=f"{first.text}\n\n{line}")

    def _day(self, timestamp: float) -> str:
        return f"{datetime.fromtimestamp(timestamp, ZoneInfo(self.policy.timezone)):%d.%m.%Y}"

    # ------------------------------------------------------------------ writing
    async def commit(
        self, tx: Storage, turn: Turn, items: list[OutboxItem], now: float
    ) -> list[OutboxItem]:
        """Inside the turn's transaction, after everything else it wrote: erase a
        confirmed request. The answer queued for the customer is kept until sent."""
        conv = turn.conversation
        if not _slots(conv).pop(CONFIRMED, None):
            return []
        request = self._pending.pop(conv.id, None)
        if request is None:  # decided by another call (cannot happen): decide again
            raise RuntimeError("privacy request confirmed without its hash")
        customer = (conv.channel, conv.user_id)
        told = [item for item in items if (item.channel, item.recipient) == customer]
        erased = await self.erasure.erase_in(
            tx, conv.id, request, farewell=told[-1] if told else None
        )
        return erased.queued if erased is not None else []
