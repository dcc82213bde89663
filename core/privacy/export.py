"""Everything stored about one customer, as JSON: their right of access (152-FZ art. 14).

`supportbot export telegram:ID` prints it; a senior operator's `/export` in a case's topic
gets it as a file. It holds the rows of every table that names the customer or their
conversation (`PrivacyRepo.rows_of`), with times as ISO dates in the shop's time zone and
stored JSON read back, and nothing about anyone else; a customer erased before is listed
with the dates of those acts only.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.privacy.erasure import Erasure
from core.storage import Storage
from core.types import CustomerRef

# Columns stored as JSON text, read back for the export.
_JSON = frozenset({"slots", "attachments", "payload", "params", "progress", "removed"})
# Columns that are times (seconds since the epoch).
_TIMES = frozenset(
    {
        "created_at",
        "updated_at",
        "erased_at",
        "first_response_at",
        "last_operator_at",
        "last_customer_at",
        "closed_at",
        "issued_at",
        "next_attempt_at",
        "received_at",
        "sent_at",
    }
)


class Export:
    def __init__(self, storage: Storage, erasure: Erasure, timezone: str) -> None:
        self.storage = storage
        self.erasure = erasure
        self.zone = ZoneInfo(timezone)

    async def of(self, customer: CustomerRef, now: float) -> dict[str, Any]:
        """What is stored about `customer` (empty tables left out)."""
        data: dict[str, Any] = {
            "customer": customer.key,
            "exported_at": self._time(now),
        }
        conv = await self.storage.conversations.find(customer)
        if conv is not None:
            found = await self.storage.privacy.footprint(conv.id, customer)
            rows = await self.storage.privacy.rows_of(found)
            data["stored"] = {
                table: [self._row(row) for row in table_rows]
                for table, table_rows in rows.items()
                if table_rows
            }
        acts = await self.erasure.acts_for(customer)
        if acts:
            data["erased_before"] = [
                {"act": act.id, "at": self._time(act.done_at), "reason": act.reason} for act in acts
            ]
        return data

    async def as_json(self, customer: CustomerRef, now: float) -> str:
        return json.dumps(await self.of(customer, now), ensure_ascii=False, indent=2)

    def _row(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column, value in row.items():
            if value is None:
                continue
            if column in _JSON and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            elif column in _TIMES and isinstance(value, int | float):
                value = self._time(float(value))
            elif isinstance(value, bytes | memoryview):
                continue
            out[column] = value
        return out

    def _time(self, timestamp: float) -> str:
        return datetime.fromtimestamp(timestamp, self.zone).isoformat(timespec="seconds")
