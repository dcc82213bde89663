"""Who may do what on the desk (`core.desk.roles`), the policy every action is checked
against again whatever the adapter decided: an outsider nothing, an operator the ordinary
work and their own or an unowned case's reopening and handing on, a senior everything."""

from __future__ import annotations

import pytest

from core.desk import roles
from core.desk.roles import OPERATOR, OUTSIDER, SENIOR, NotAllowed, Operator
from core.storage import Ticket

EVERYONE_DOES = [roles.REPLY, roles.NOTE, roles.TAKE, roles.CLOSE, roles.QUEUE, roles.SHIFT]
ACTIONS = [*EVERYONE_DOES, *roles.SENIOR_ONLY, *roles.OWN_CASE_OR_SENIOR, roles.INTENT]

OLGA = Operator("olga", "Ольга", OPERATOR)
IVAN = Operator("ivan", "Иван", OPERATOR)
VERA = Operator("vera", "Вера", SENIOR)
STRANGER = Operator("x", "Чужой", OUTSIDER)


def _ticket(owner: str | None) -> Ticket:
    """An open case that belongs to `owner` (None: nobody's yet)."""
    return Ticket(
        id=1, conversation_id=1, channel="telegram", user_id="1001", intent="operator",
        order_number=None, reason="asked", summary="", priority=0, vip=False, conflict=False,
        status="waiting", operator_id=owner, operator_name=owner, created_at=0.0,
        first_response_at=None, last_operator_at=None, last_customer_at=None, closed_at=None,
        closed_by=None, rating=None, rating_comment=None,
    )  # fmt: skip


@pytest.mark.parametrize("action", ACTIONS)
def test_an_outsider_may_do_nothing(action):
    assert not roles.allowed(STRANGER, action)
    assert not roles.allowed(STRANGER, action, _ticket(None))
    with pytest.raises(NotAllowed) as refused:
        roles.require(STRANGER, action)
    assert refused.value.outsider and refused.value.action == action
    assert not roles.allowed(Operator("y", "Кто-то", "guest"), action)  # an unknown role


@pytest.mark.parametrize("action", ACTIONS)
def test_a_senior_may_do_everything(action):
    assert roles.allowed(VERA, action)
    assert roles.allowed(VERA, action, _ticket("olga"))
    roles.require(VERA, action, _ticket("olga"))


@pytest.mark.parametrize("action", [*EVERYONE_DOES, roles.INTENT])
def test_an_operator_does_the_ordinary_work_on_any_case(action):
    assert roles.allowed(OLGA, action)
    assert roles.allowed(OLGA, action, _ticket("ivan"))


@pytest.mark.parametrize("action", sorted(roles.SENIOR_ONLY))
def test_an_operator_may_not_do_what_is_for_seniors(action):
    assert not roles.allowed(OLGA, action)
    assert not roles.allowed(OLGA, action, _ticket("olga"))
    with pytest.raises(NotAllowed) as refused:
        roles.require(OLGA, action)
    assert not refused.value.outsider


@pytest.mark.parametrize("action", sorted(roles.OWN_CASE_OR_SENIOR))
def test_reopening_and_handing_on_own_or_unowned_cases_only(action):
    assert roles.allowed(OLGA, action, _ticket("olga"))
    assert roles.allowed(OLGA, action, _ticket(None))
    assert not roles.allowed(OLGA, action, _ticket("ivan"))
    assert roles.allowed(IVAN, action, _ticket("ivan"))
    assert roles.allowed(OLGA, action)  # no case named yet: checked again on the case
    with pytest.raises(NotAllowed):
        roles.require(OLGA, action, _ticket("ivan"))


def test_who_acts_cannot_be_changed_once_resolved():
    """The gate resolves an operator's role once; nothing after it may raise it."""
    import dataclasses

    with pytest.raises(dataclasses.FrozenInstanceError):
        OLGA.role = SENIOR  # type: ignore[misc]
    assert len({OLGA, Operator("olga", "Ольга", OPERATOR)}) == 1  # hashable, by value
