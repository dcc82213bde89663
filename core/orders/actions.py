"""Self-service actions on an order, through the shop's own API.

The contract (README, "The order API"), beside `GET {ORDERS_API_URL}/orders/{number}`:

    POST {ORDERS_API_URL}/orders/{number}/actions/{action}
    Idempotency-Key: <key>            the same key again must not act a second time
    Authorization: Bearer <token>     when ORDERS_API_TOKEN is set
    Content-Type: application/json    the body below

| action                | body                              | when the shop allows it      |
|-----------------------|-----------------------------------|------------------------------|
| `cancel`              | `{}`                              | the whole order              |
| `cancel_item`         | `{"item_id": "A1"}`               | one item of the order        |
| `change_date`         | `{"delivery_date": "YYYY-MM-DD"}` | a date from `delivery_dates` |
| `change_pickup_point` | `{"pickup_point_id": "pvz-7"}`    | a point from `pickup_points` |
| `extend_storage`      | `{}`                              | at the pickup point          |
| `start_return`        | `{"item_id": "A1"}` or `{}`       | within the return window     |

The order's `actions` list (in the GET answer) names what the shop allows now; the bot
offers only those, each behind a confirmation button.

Answers:

- `200` (or `201`): done. `{"order": {…the order now…}, "message": "…"}`, both optional;
  `message` is shown to the customer. A repeated key answers the first result again.
- `409` or `422`: refused. `{"code": "too_late" | "not_allowed" | "already_done" | …,
  "reason": "…"}`; `reason` (Russian, for the customer) is shown as is.
- `404`: no such order.
- anything else, a timeout, or a body that is not JSON: failed — the bot cannot tell
  whether the shop acted, offers to try again (same key: safe) or an operator.

The idempotency key is derived from stable data — the conversation, the number of the
offer the customer confirmed, the action and its parameters — never from a random
value, so a repeated decision (a retried update, a second press of the same button, the
engine re-running a turn after a database conflict) sends the same key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from core.orders.model import Order
from core.orders.states import StatusWords

CANCEL = "cancel"
CANCEL_ITEM = "cancel_item"
CHANGE_DATE = "change_date"
CHANGE_PICKUP_POINT = "change_pickup_point"
EXTEND_STORAGE = "extend_storage"
START_RETURN = "start_return"
ACTIONS = (CANCEL, CANCEL_ITEM, CHANGE_DATE, CHANGE_PICKUP_POINT, EXTEND_STORAGE, START_RETURN)

# The parameter each action needs, and where its choices come from.
PARAMETER = {
    CANCEL_ITEM: "item_id",
    CHANGE_DATE: "delivery_date",
    CHANGE_PICKUP_POINT: "pickup_point_id",
    START_RETURN: "item_id",
}

DONE = "done"
REFUSED = "refused"
FAILED = "failed"


@dataclass(frozen=True)
class ActionResult:
    outcome: str  # done | refused | failed
    order: Order | None = None  # the order after the action, when the shop sends it
    message: str = ""  # the shop's words for the customer
    code: str = ""  # why it was refused: too_late, not_allowed, …
    reason: str = ""  # the shop's explanation of a refusal (or the failure, for logs)

    @classmethod
    def from_json(cls, status: int, body: Any, words: StatusWords | None = None) -> ActionResult:
        data = body if isinstance(body, dict) else {}
        if status in (200, 201):
            order = None
            if isinstance(data.get("order"), dict):
                try:
                    order = Order.from_json(data["order"], words)
                except ValueError:
                    order = None
            return cls(DONE, order=order, message=str(data.get("message") or ""))
        if status in (409, 422):
            return cls(
                REFUSED,
                code=str(data.get("code") or "not_allowed"),
                reason=str(data.get("reason") or ""),
            )
        return cls(FAILED, reason=f"HTTP {status}")


def idempotency_key(
    conversation_id: int, offer: int, number: str, action: str, params: dict[str, str]
) -> str:
    """The same offer, confirmed any number of times, always gives the same key."""
    source = json.dumps(
        [conversation_id, offer, number, action, sorted(params.items())], ensure_ascii=False
    )
    return "sb-" + hashlib.sha256(source.encode()).hexdigest()[:40]
