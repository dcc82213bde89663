"""Compensation promo codes: a pool the shop fills, each code given to one ticket only,
sent to the customer as an operator's reply (`/compensate`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from core.desk import roles
from core.desk.operators import OperatorDesk, OperatorError
from core.desk.roles import Operator
from core.knowledge.base import Texts
from core.storage import Storage


def read_pool(path: Path) -> list[str]:
    if not path.exists():
        return []
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(code).strip() for code in raw.get("codes") or [] if str(code).strip()]


@dataclass(frozen=True)
class Compensated:
    code: str
    remaining: int
    running_low: bool


class Compensation:
    def __init__(
        self, storage: Storage, desk: OperatorDesk, texts: Texts, low_threshold: int = 5
    ) -> None:
        self.storage = storage
        self.desk = desk
        self.texts = texts
        self.low_threshold = low_threshold

    async def load_pool(self, path: Path) -> int:
        """Add the codes of the shop's pool file (new ones only); returns how many are free."""
        codes = read_pool(path)
        if codes:
            async with self.storage.transaction() as tx:
                await tx.promo.add_codes(codes)
        return await self.storage.promo.remaining()

    async def give(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> Compensated:
        """Send the customer a free code from the pool, as an operator's reply — the code
        is taken and the reply queued in one transaction."""
        self.desk.require(operator, roles.COMPENSATE)
        now = self.desk.clock.now()
        async with self.desk.action(ticket_id, external_id) as action:
            ticket = action.ticket
            if not ticket.is_open:  # the reply would be refused: keep the code in the pool
                refusal = self.desk.desk_texts.format("errors.closed_no_code", ticket=ticket.id)
                raise OperatorError(refusal)
            code = await action.tx.promo.issue(ticket.id, operator.name, now)
            if code is None:
                raise OperatorError(self.desk.desk_texts.get("errors.no_codes"))
            text = self.texts.format("compensation", code=code)
            await self.desk.record_reply(action, operator, text)
        remaining = await self.storage.promo.remaining()
        return Compensated(code, remaining, remaining <= self.low_threshold)
