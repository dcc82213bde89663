"""Assignment and SLA through the real bot, on a hand-moved clock: operators on shift get
new cases round-robin, /assign hands a case on, a case close to its first-response target
is flagged in its topic and a breach is reported in General (once each), KPIs report SLA
compliance."""

from __future__ import annotations

from core.clock import ManualClock
from core.desk import sla
from core.storage import Ticket
from tests.case_helpers import count, escalate, in_topic, operator_says, operator_writes, raw_text
from tests.conftest import WORK_TIME
from tests.desk_helpers import settle
from tests.telegram_harness import OPS, telegram_bot

FIRST, SECOND, OUTSIDER, SENIOR = 777, 778, 4242, 900
CUSTOMERS = (555001, 555002, 555003, 555004)


def in_general(needle: str = ""):
    def check(params: dict) -> bool:
        return (
            params.get("chat_id") == OPS
            and params.get("message_thread_id") is None
            and needle in raw_text(params)
        )

    return check


async def test_round_robin_among_operators_on_shift_and_assign(tmp_path, classifier):
    async with telegram_bot(
        tmp_path, classifier, clock=ManualClock(WORK_TIME), auto_assign=True
    ) as bot:
        fake, core = bot.fake, bot.core
        fake.group_message(OPS, FIRST, "/shift on", first_name="Анна")
        await fake.wait_for("sendMessage", in_general("Вы на смене"))
        fake.group_message(OPS, SECOND, "/shift on", first_name="Пётр", username="petr_op")
        shifts = await fake.wait_for("sendMessage", in_general("Вы на смене"), count=2)
        assert "На смене: Анна, Пётр" in raw_text(shifts[-1])

        owners = []
        for number, customer in enumerate(CUSTOMERS[:3], start=1):
            ticket_id, thread, _ = await escalate(fake, customer, first_name=f"Клиент{number}")
            ticket = await core.storage.tickets.get(ticket_id)
            owners.append(ticket.operator_id)
            card = [m for m in fake.sent_messages(OPS, thread) if "Канал:" in m.get("text", "")]
            assert f"ведёт {ticket.operator_name}" in card[-1]["text"]  # a mention of them
            assert ticket.status == "waiting"  # assigned, still waiting for its answer
        assert owners == [str(FIRST), str(SECOND), str(FIRST)]
        card_html = raw_text(
            next(p for p in fake.calls("sendMessage") if "Обращение №1</b>" in raw_text(p))
        )
        assert f'<a href="tg://user?id={FIRST}">Анна</a>' in card_html

        # Off shift: no new cases.
        fake.group_message(OPS, SECOND, "/shift off", first_name="Пётр")
        await fake.wait_for("sendMessage", in_general("Смена закончена"))
        fourth, fourth_thread, _ = await escalate(fake, CUSTOMERS[3], first_name="Клиент4")
        assert (await core.storage.tickets.get(fourth)).operator_id == str(FIRST)

        # /assign @name hands the case on; the topic hears whose it is now.
        answer = await operator_says(fake, fourth_thread, "/assign @petr_op", operator=FIRST)
        assert f'ведёт <a href="tg://user?id={SECOND}">Пётр</a>' in answer["text"]
        assert (await core.storage.tickets.get(fourth)).operator_id == str(SECOND)
        # Someone else's case: an operator may not hand it on, a senior one may.
        answer = await operator_says(fake, fourth_thread, "/assign me", operator=FIRST)
        assert answer["text"] == "Только старший оператор может передавать чужие обращения."
        fake.set_member(OPS, SENIOR, "administrator")
        answer = await operator_says(fake, fourth_thread, "/assign me", operator=SENIOR)
        assert "ведёт" in answer["text"]
        assert (await core.storage.tickets.get(fourth)).operator_id == str(SENIOR)
        # Not to somebody who is not an operator of the group.
        fake.group_message(OPS, OUTSIDER, "привет", first_name="Чужой", username="stranger")
        await settle(fake, core)
        fake.chat_member_update(OPS, OUTSIDER, "left")
        await settle(fake, core)
        answer = await operator_says(fake, fourth_thread, "/assign @stranger", operator=SENIOR)
        assert "не оператор этой группы" in answer["text"]
        assert (await core.storage.tickets.get(fourth)).operator_id == str(SENIOR)


async def test_sla_warning_in_the_topic_and_breach_in_general_once(tmp_path, classifier):
    clock = ManualClock(WORK_TIME)
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=clock,
        sla_first_response_minutes_ordinary=30,
        sla_resolution_hours_ordinary=0,
    ) as bot:
        fake, core = bot.fake, bot.core
        monitor = core.team.sla
        fake.set_member(OPS, SENIOR, "administrator")
        fake.users[SENIOR] = {"id": SENIOR, "is_bot": False, "first_name": "Ольга"}
        waiting, waiting_thread, _ = await escalate(fake, CUSTOMERS[0], first_name="Ждущий")
        _, answered_thread, _ = await escalate(fake, CUSTOMERS[1], first_name="Везучий")
        card = [m for m in fake.sent_messages(OPS, waiting_thread) if "Канал:" in m["text"]]
        assert "Первый ответ — до 12:30" in card[0]["text"]  # 09:00 UTC = 12:00 in Moscow
        await operator_writes(fake, answered_thread, CUSTOMERS[1], "Уже отвечаю", operator=FIRST)

        clock.advance(20 * 60)
        assert await monitor.check() == []  # 20 of 30 minutes: nothing yet
        clock.advance(5 * 60)
        assert await monitor.check() == [(waiting, sla.FIRST_RESPONSE, sla.WARNING)]
        core.delivery.wake()
        [warning] = await fake.wait_for("sendMessage", in_topic(waiting_thread, "⏰"))
        assert "до 12:30" in warning["text"]
        assert await monitor.check() == []  # once

        clock.advance(6 * 60)
        assert await monitor.check() == [(waiting, sla.FIRST_RESPONSE, sla.BREACH)]
        core.delivery.wake()
        [breach] = await fake.wait_for("sendMessage", in_general("🚨"))
        text = raw_text(breach)
        assert f"№{waiting}" in text and f"/{waiting_thread}" in text  # a link to the topic
        assert f'<a href="tg://user?id={SENIOR}">Ольга</a>' in text  # nobody has it: seniors
        clock.advance(60 * 60)
        assert await monitor.check() == []
        await settle(fake, core)
        assert count(fake, "sendMessage", in_general("🚨")) == 1
        assert count(fake, "sendMessage", in_topic(answered_thread, "⏰")) == 0

        # The KPI: one case answered in time, one not.
        fake.group_message(OPS, SENIOR, "/stats today", first_name="Ольга")
        [summary] = await fake.wait_for("sendMessage", in_general("SLA:"))
        assert "первый ответ в срок 50% (1 из 2)" in summary["text"]


def ticket(**values: object) -> Ticket:
    base: dict[str, object] = dict(
        id=1,
        conversation_id=1,
        channel="telegram",
        user_id="1",
        intent="operator",
        order_number=None,
        reason="asked",
        summary="",
        priority=0,
        vip=False,
        conflict=False,
        status="waiting",
        operator_id=None,
        operator_name=None,
        created_at=1000.0,
        first_response_at=None,
        last_operator_at=None,
        last_customer_at=None,
        closed_at=None,
        closed_by=None,
        rating=None,
        rating_comment=None,
    )
    base.update(values)
    return Ticket(**base)  # type: ignore[arg-type]


def test_sla_tiers_targets_and_compliance(kb):
    from core.desk.hours import WorkingHours

    policy = sla.SlaPolicy(
        first_response={sla.VIP: 600, sla.COMPLAINT: 900, sla.ORDINARY: 1800},
        resolution={sla.VIP: 3600, sla.COMPLAINT: 0, sla.ORDINARY: 7200},
    )
    vip = ticket(vip=True, priority=100)
    complaint = ticket(reason="complaint", priority=10)
    ordinary = ticket()
    assert [sla.tier_of(t) for t in (vip, complaint, ordinary)] == ["vip", "complaint", "ordinary"]
    assert policy.due(vip, sla.FIRST_RESPONSE) == 1600
    assert policy.due(complaint, sla.RESOLUTION) is None  # 0 = no target
    assert policy.level(ordinary, sla.FIRST_RESPONSE, 1000 + 1439) is None
    assert policy.level(ordinary, sla.FIRST_RESPONSE, 1000 + 1440) == sla.WARNING
    assert policy.level(ordinary, sla.FIRST_RESPONSE, 1000 + 1800) == sla.BREACH
    answered = ticket(first_response_at=1100.0, status="in_progress")
    assert policy.level(answered, sla.FIRST_RESPONSE, 99999) is None

    # Off hours the clock starts when operators come in (09:00 Moscow = 06:00 UTC).
    night = WorkingHours(timezone="Europe/Moscow")
    at_night = ticket(created_at=WORK_TIME_NIGHT)
    with_hours = sla.SlaPolicy(first_response={sla.ORDINARY: 1800}, hours=night)
    assert with_hours.start(at_night) == WORK_TIME_NIGHT + 6 * 3600

    result = sla.compliance(
        [
            ticket(first_response_at=1500.0, closed_at=5000.0),  # both in time
            ticket(first_response_at=4000.0),  # answered late, still open
            ticket(),  # unanswered, overdue
            ticket(created_at=9000.0),  # unanswered, still within its target: not counted
        ],
        policy,
        now=9100.0,
    )
    assert (result.first_response.met, result.first_response.counted) == (1, 3)
    assert (result.resolution.met, result.resolution.counted) == (1, 3)
    assert result.summary_line(kb.desk).startswith("SLA: первый ответ в срок 33% (1 из 3)")


WORK_TIME_NIGHT = WORK_TIME - 9 * 3600  # 03:00 Moscow


async def test_a_senior_the_bot_never_saw_is_mentioned_not_named_by_id(tmp_path, classifier):
    """Seniors listed in SENIOR_OPERATOR_IDS whom the bot never saw in the group: the
    breach mentions them (tg://user?id=) under a neutral label, never as a bare id."""
    clock = ManualClock(WORK_TIME)
    unseen = 6100010
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=clock,
        senior_operator_ids=[unseen],
        sla_first_response_minutes_ordinary=30,
        sla_resolution_hours_ordinary=0,
    ) as bot:
        fake, core = bot.fake, bot.core
        waiting, _, _ = await escalate(fake, CUSTOMERS[0], first_name="Ждущий")
        clock.advance(31 * 60)
        assert (waiting, sla.FIRST_RESPONSE, sla.BREACH) in await core.team.sla.check()
        core.delivery.wake()
        [breach] = await fake.wait_for("sendMessage", in_general("🚨"))
        text = raw_text(breach)
        label = core.kb.desk.get("notices.senior_unnamed")
        assert f'<a href="tg://user?id={unseen}">{label}</a>' in text
        assert f">{unseen}<" not in text and f"{unseen}," not in text
