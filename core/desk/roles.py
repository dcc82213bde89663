"""Who may do what on the operators' desk.

Three roles: an outsider (anyone who is not an operator: nothing they do reaches a
customer or changes a case), an operator, and a senior operator. Adapters decide who is
who (Telegram: the group's members and admins, or lists in the settings); the desk checks
every action against this policy again, so an adapter that forgot a check still cannot
let an outsider act.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.storage import Ticket

OUTSIDER = "outsider"
OPERATOR = "operator"
SENIOR = "senior"
ROLES = (OUTSIDER, OPERATOR, SENIOR)


@dataclass(frozen=True)
class Operator:
    """Someone acting on the desk. Adapters that tell roles apart (the Telegram group) always
    pass `role`; the console's single local user is a senior operator."""

    id: str
    name: str
    role: str = SENIOR


# Actions (the desk's method names, mostly).
REPLY = "reply"
NOTE = "note"
TAKE = "take"
CLOSE = "close"
REOPEN = "reopen"
ASSIGN = "assign"
TRANSFER = "transfer"
VIP = "vip"
MANAGER = "manager"
COMPENSATE = "compensate"
INTENT = "intent"
STATS = "stats"
QUEUE = "queue"
SHIFT = "shift"

# Only a senior operator, whatever the case.
SENIOR_ONLY = frozenset({VIP, MANAGER, COMPENSATE, STATS})
# A senior operator, or the operator the case belongs to (or anyone while nobody has it).
OWN_CASE_OR_SENIOR = frozenset({REOPEN, ASSIGN, TRANSFER})

WHAT = {
    VIP: "отмечать VIP-клиентов",
    MANAGER: "назначать персонального менеджера",
    COMPENSATE: "отправлять промокоды-компенсации",
    STATS: "смотреть показатели (/stats)",
    REOPEN: "открывать чужие обращения",
    ASSIGN: "передавать чужие обращения",
    TRANSFER: "переводить чужие обращения в другую группу",
}


class NotAllowed(Exception):
    """The operator's role does not allow the action; the text is shown to them."""


def allowed(operator: Operator, action: str, ticket: Ticket | None = None) -> bool:
    role = operator.role
    if role == SENIOR:
        return True
    if role != OPERATOR:
        return False
    if action in SENIOR_ONLY:
        return False
    if action in OWN_CASE_OR_SENIOR and ticket is not None:
        return ticket.operator_id in (None, operator.id)
    return True


def require(operator: Operator, action: str, ticket: Ticket | None = None) -> None:
    """Raise `NotAllowed` (with a text for the operator) unless the action is allowed."""
    if allowed(operator, action, ticket):
        return
    if operator.role not in (OPERATOR, SENIOR):
        raise NotAllowed("Действия с обращениями доступны только операторам.")
    what = WHAT.get(action, "делать это")
    raise NotAllowed(f"Только старший оператор может {what}.")
