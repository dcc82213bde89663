"""Who may do what on the operators' desk.

Three roles: an outsider (anyone who is not an operator: nothing they do reaches a
customer or changes a case), an operator, and a senior operator. Adapters decide who is
who (Telegram: the group's members and admins, or lists in the settings); the desk checks
every action against this policy again, so an adapter that forgot a check still cannot
let an outsider act.
"""

from __future__ import annotations

from dataclasses import dataclass

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
FORGET = "forget"  # erase the case's customer's personal data
EXPORT = "export"  # everything stored about the case's customer

# Only a senior operator, whatever the case.
SENIOR_ONLY = frozenset({VIP, MANAGER, COMPENSATE, STATS, FORGET, EXPORT})
# A senior operator, or the operator the case belongs to (or anyone while nobody has it).
OWN_CASE_OR_SENIOR = frozenset({REOPEN, ASSIGN, TRANSFER})


class NotAllowed(Exception):
    """The operator's role does not allow `action`. The desk tells them why in their words
    (`roles.operators_only`, or `roles.senior_only` with `roles.what.<action>`, in
    desk.yaml)."""

    def __init__(self, operator: Operator, action: str) -> None:
        super().__init__(f"{operator.role} {operator.id} may not {action}")
        self.action = action
        self.outsider = operator.role not in (OPERATOR, SENIOR)


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
    """Raise `NotAllowed` unless the action is allowed."""
    if not allowed(operator, action, ticket):
        raise NotAllowed(operator, action)
