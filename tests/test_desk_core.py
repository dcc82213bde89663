"""The desk's rules in the engine, on SQLite and on PostgreSQL: roles checked by the desk
itself, routing at escalation, round-robin on shift, transfer, SLA alerts once each."""

from __future__ import annotations

import pytest

from core.desk import roles, sla, team_actions
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.types import TELEGRAM, VK
from tests.conftest import Customer, bot_answers_delivered, outbox_items

ANNA = Operator("101", "Анна", roles.OPERATOR)
PETR = Operator("102", "Пётр", roles.OPERATOR)
OLGA = Operator("900", "Ольга", roles.SENIOR)
NOBODY = Operator("4242", "Посторонний", roles.OUTSIDER)


@pytest.fixture
def settings_overrides(tmp_path):
    routing = tmp_path / "routing.yaml"
    routing.write_text(
        "groups: {main: {title: Поддержка}, vk: {title: Группа VK}}\n"
        "rules: [{when: {channel: vk}, group: vk}]\n",
        encoding="utf-8",
    )
    return {
        "routing_file": routing,
        "operators_chat_id": -1001,
        "operator_groups": "vk:-1002",
        "auto_assign": True,
        "sla_first_response_minutes_ordinary": 30,
        "sla_resolution_hours_ordinary": 2,
    }


async def escalate(core, user_id: str, channel: str = TELEGRAM):
    customer = Customer(core, user_id=user_id, channel=channel)
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    assert ticket is not None
    await bot_answers_delivered(core)
    return ticket


async def test_the_desk_itself_refuses_what_a_role_does_not_allow(core):
    ticket = await escalate(core, "1")
    for action in (
        core.desk.reply(ticket.id, NOBODY, "ответ"),
        core.desk.note(ticket.id, NOBODY, "заметка"),
        core.desk.take(ticket.id, NOBODY),
        core.desk.close(ticket.id, NOBODY),
        core.desk.mark_vip(ticket.id, ANNA),
        core.desk.set_manager(ticket.id, ANNA),
        core.compensation.give(ticket.id, ANNA),
    ):
        with pytest.raises(OperatorError, match=r"только операторам|Только старший"):
            await action
    fresh = await core.storage.tickets.get(ticket.id)
    assert fresh.status == "waiting" and not fresh.vip and fresh.operator_id is None
    assert not [i for i in await outbox_items(core) if i["channel"] == TELEGRAM]


async def test_routing_round_robin_transfer_and_sla(core, clock):
    await team_actions.set_shift(core.desk, ANNA, "main", True)
    await team_actions.set_shift(core.desk, PETR, "main", True)
    first = await escalate(core, "1")
    second = await escalate(core, "2")
    clock.advance(1)
    third = await escalate(core, "3")
    from_vk = await escalate(core, "4", channel=VK)
    assert [t.department for t in (first, second, third, from_vk)] == ["main"] * 3 + ["vk"]
    assert [t.operator_id for t in (first, second, third)] == ["101", "102", "101"]
    assert from_vk.operator_id is None  # nobody is on shift in the VK group

    # Pётр may not hand on Анна's case; he may move his own to the VK group.
    with pytest.raises(OperatorError, match="Только старший"):
        await team_actions.transfer(core.desk, first.id, PETR, "vk")
    moved = await team_actions.transfer(core.desk, second.id, PETR, "vk")
    assert moved.department == "vk" and moved.operator_id is None and moved.status == "waiting"
    items = [i for i in await outbox_items(core) if i["ticket_id"] == second.id]
    kinds = [(i["kind"], i["payload"]) for i in items if i["kind"] in ("notice", "ticket_opened")]
    assert any('"transferred"' in p and '"department": "main"' in p for _, p in kinds)
    assert any(k == "ticket_opened" and "Поддержка" in p for k, p in kinds)
    with pytest.raises(OperatorError, match="Группы «kitchen» нет"):
        await team_actions.transfer(core.desk, third.id, ANNA, "kitchen")

    # SLA: warnings at 80 % of 30 minutes, breaches at 30, each once.
    monitor = core.team.sla
    await core.desk.reply(first.id, ANNA, "Здравствуйте!")
    clock.advance(24 * 60)
    warned = await monitor.check()
    assert {(t, level) for t, _, level in warned} == {
        (second.id, sla.WARNING),
        (third.id, sla.WARNING),
        (from_vk.id, sla.WARNING),
    }
    assert await monitor.check() == []
    clock.advance(7 * 60)
    breached = await monitor.check()
    assert {t for t, _, level in breached if level == sla.BREACH} == {
        second.id,
        third.id,
        from_vk.id,
    }
    assert await monitor.check() == []
    alerts = [
        i for i in await outbox_items(core) if i["kind"] == "notice" and '"sla"' in i["payload"]
    ]
    assert len(alerts) == 6
