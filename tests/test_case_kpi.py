"""Support KPIs from tickets with known timestamps: five tickets over two days in Telegram
and VK, created through the real engine and operators' desk on a hand-moved clock. Every
expected figure below is worked out by hand from the timeline, never by the code under
test; `supportbot report` is run as a subprocess on the same database file."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

import pytest

from core.app import Core
from core.clock import ManualClock
from core.desk.roles import Operator
from core.reports import kpi, summary
from core.types import TELEGRAM, VK
from tests.case_helpers import (
    escalate,
    in_topic,
    msk,
    operator_writes,
    press,
    run_cli,
    to_chat,
)
from tests.conftest import WORK_TIME, Customer
from tests.telegram_harness import CUSTOMER, OPS, telegram_bot

T0 = WORK_TIME  # Thursday 2026-01-01 12:00 in Moscow
MIN = 60.0
HOUR = 3600.0
DAY = 24 * HOUR
OP = Operator("777", "Оператор")
VIP_ID = "1004"

# The timeline (seconds after T0):
#   T1  Anna (telegram)   return_item  created 0       answered +600    closed +3600   ★5
#   T2  Boris (vk)        payment      created +120    answered +1320   closed +5520   ★4
#   --  Vera (telegram)   asks the bot about bonuses at +6000: answered, never escalated
#   T3  Anna again        return_item  created DAY     answered +1800   closed +7200   ★2
#   T4  Darya VIP (tg)    operator     created DAY+3600 answered +300   still open
#   T5  Egor (vk)         operator     created DAY+9000, waiting; "now" is DAY+10200
NOW = T0 + DAY + 10200


@pytest.fixture
def settings_overrides():
    return {"vip_telegram_ids": VIP_ID}


@dataclass
class World:
    t1: int
    t2: int
    t3: int
    t4: int
    t5: int


async def opened(customer: Customer) -> int:
    ticket = await customer.open_ticket()
    assert ticket is not None
    return ticket.id


async def build_world(core: Core, clock: ManualClock) -> World:
    anna = Customer(core, "1001", TELEGRAM, "Анна")
    boris = Customer(core, "2001", VK, "Борис")
    vera = Customer(core, "1003", TELEGRAM, "Вера")
    darya = Customer(core, VIP_ID, TELEGRAM, "Дарья")
    egor = Customer(core, "2002", VK, "Егор")
    desk = core.desk

    clock.set(T0)
    await anna.say("как вернуть товар")
    await anna.press("operator")  # "did not help": the ticket keeps the topic
    t1 = await opened(anna)
    clock.set(T0 + 120)
    await boris.say("как оплатить заказ")
    await boris.press("operator")
    t2 = await opened(boris)
    clock.set(T0 + 600)
    await desk.reply(t1, OP, "Здравствуйте! Возврат оформляется в профиле.")
    clock.set(T0 + 1320)
    await desk.reply(t2, OP, "Оплатить можно картой или через СБП.")
    clock.set(T0 + 3600)
    await desk.close(t1, OP)
    await anna.press(f"rate:{t1}:5")
    await anna.press("skip")
    clock.set(T0 + 5520)
    await desk.close(t2, OP)
    await boris.press(f"rate:{t2}:4")
    clock.set(T0 + 6000)
    replies = await vera.say("как начисляются баллы")
    assert "балл" in replies[0].text.lower()

    # Day 2: Anna comes back on the same topic, within 7 days.
    clock.set(T0 + DAY)
    await anna.say("как вернуть товар")
    await anna.press("operator")
    t3 = await opened(anna)
    clock.set(T0 + DAY + 1800)
    await desk.reply(t3, OP, "Посмотрел заявку, сейчас исправим.")
    clock.set(T0 + DAY + 3600)
    await darya.say("позовите оператора")
    t4 = await opened(darya)
    clock.set(T0 + DAY + 3900)
    await desk.reply(t4, OP, "Добрый день! Я ваш менеджер.")
    clock.set(T0 + DAY + 7200)
    await desk.close(t3, OP)
    await anna.press(f"rate:{t3}:2")
    await anna.say("пришлось ждать полчаса")
    clock.set(T0 + DAY + 9000)
    await egor.say("позовите оператора")
    t5 = await opened(egor)
    clock.set(NOW)
    return World(t1, t2, t3, t4, t5)


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-9)


async def test_kpis_of_a_known_timeline(core, clock):
    world = await build_world(core, clock)
    tickets = {t.id: t for t in await core.storage.tickets.all()}
    assert len(tickets) == 5
    # The tickets are what the timeline says (channels, topics, VIP).
    assert [tickets[i].channel for i in (world.t1, world.t2, world.t3, world.t4, world.t5)] == [
        TELEGRAM,
        VK,
        TELEGRAM,
        TELEGRAM,
        VK,
    ]
    assert tickets[world.t1].intent == tickets[world.t3].intent == "return_item"
    assert tickets[world.t2].intent == "payment"
    assert [t.id for t in tickets.values() if t.vip] == [world.t4]
    assert tickets[world.t3].rating_comment == "пришлось ждать полчаса"

    since, until = msk(2026, 1, 1), msk(2026, 1, 3)
    report = await kpi.compute(core.storage, since, until, clock.now(), "Europe/Moscow")
    o = report.overall
    assert (o.tickets, o.closed, o.answered) == (5, 3, 4)
    # First responses 600, 1200, 1800, 300 s: median (600 + 1200) / 2, mean 3900 / 4.
    assert o.first_response_median == approx(900)
    assert o.first_response_avg == approx(975)
    # Resolutions 3600, 5400, 7200 s.
    assert o.resolution_median == approx(5400)
    # T1 came back (T3, same topic, next day); T2 and T3 did not: 2 of 3.
    assert o.fcr_share == approx(2 / 3)
    assert o.csat_count == 3
    assert o.csat_avg == approx((5 + 4 + 2) / 3)
    assert o.csat_distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert o.csat_good_share == approx(2 / 3)
    assert o.repeat_contacts == 1  # T3
    # Five customers wrote in the period; only Vera never needed an operator.
    assert (report.conversations, report.contained) == (5, 1)
    assert report.containment_share == approx(1 / 5)
    # Egor (T5) waits since DAY + 9000; Darya's T4 is being handled.
    assert report.waiting_now == 1
    assert report.oldest_wait == approx(1200)

    vip = report.vip
    assert (vip.tickets, vip.closed, vip.answered) == (1, 0, 1)
    assert vip.first_response_median == approx(300)
    assert vip.csat_count == 0 and vip.csat_avg is None

    assert sorted(report.per_channel) == [TELEGRAM, VK]
    tg, vk = report.per_channel[TELEGRAM], report.per_channel[VK]
    assert (tg.tickets, tg.closed, tg.answered) == (3, 2, 3)
    assert tg.first_response_median == approx(600)  # 600, 1800, 300
    assert tg.first_response_avg == approx(900)
    assert tg.resolution_median == approx(5400)  # 3600, 7200
    assert tg.fcr_share == approx(1 / 2)
    assert tg.csat_avg == approx(3.5) and tg.repeat_contacts == 1
    assert (vk.tickets, vk.closed, vk.answered) == (2, 1, 1)
    assert vk.first_response_median == approx(1200)
    assert vk.resolution_median == approx(5400)
    assert vk.fcr_share == approx(1.0) and vk.csat_avg == approx(4.0)

    assert list(report.per_day) == ["2026-01-01", "2026-01-02"]
    day1, day2 = report.per_day["2026-01-01"], report.per_day["2026-01-02"]
    assert (day1.tickets, day1.closed) == (2, 2)
    assert day1.first_response_median == approx(900) and day1.csat_avg == approx(4.5)
    assert day1.repeat_contacts == 0
    assert (day2.tickets, day2.closed) == (3, 1)
    assert day2.first_response_median == approx(1050)  # 1800, 300
    assert day2.csat_avg == approx(2.0) and day2.repeat_contacts == 1

    assert sorted(report.per_intent) == ["operator", "payment", "return_item"]
    assert report.per_intent["return_item"].tickets == 2
    assert report.per_intent["return_item"].fcr_share == approx(1 / 2)
    assert report.per_intent["operator"].tickets == 2


async def test_a_narrower_period_and_the_operators_summary(core, clock):
    await build_world(core, clock)
    # Only day 2: T3, T4, T5. T3 is still a repeat (T1 is outside the period but known).
    report = await kpi.compute(core.storage, msk(2026, 1, 2), msk(2026, 1, 3), clock.now())
    o = report.overall
    assert (o.tickets, o.closed, o.answered) == (3, 1, 2)
    assert o.first_response_median == approx(1050)
    assert o.resolution_median == approx(7200)
    assert o.fcr_share == approx(1.0) and o.repeat_contacts == 1
    assert o.csat_distribution == {1: 0, 2: 1, 3: 0, 4: 0, 5: 0}
    # Anna, Darya, Egor wrote on day 2 and all three reached an operator.
    assert (report.conversations, report.contained) == (3, 0)
    assert report.containment_share == approx(0.0)
    assert list(report.per_day) == ["2026-01-02"]
    assert report.vip.tickets == 1

    # "today" runs from Moscow midnight to now, "week" 7 days, "month" 30 days.
    assert kpi.period("today", NOW) == (msk(2026, 1, 2), NOW)
    assert kpi.period("week", NOW) == (msk(2025, 12, 27), NOW)
    assert kpi.period("month", NOW) == (msk(2025, 12, 4), NOW)

    since, until = kpi.period("week", NOW)
    week = await kpi.compute(core.storage, since, until, NOW)
    text = summary.summary_text(week, summary.period_title(core.kb.desk, "week"), core.kb.desk)
    lines = text.splitlines()
    assert lines[0] == "За 7 дней"
    assert "Обращений к операторам: 5, закрыто: 3" in lines
    assert "Время решения (медиана): 1.5 ч" in lines
    assert "Решено с первого обращения: 67%" in lines
    assert "CSAT: 3.67 из 5 (3 оценки, 4–5: 67%)" in lines
    assert "Повторные обращения: 1" in lines
    assert "Бот справился сам: 20% (1 из 5 диалогов)" in lines
    assert "В очереди сейчас: 1, дольше всех ждёт 20.0 мин" in lines
    assert "VIP: 1 обращение, ожидание (медиана) 5.0 мин" in lines
    assert "• Telegram: 3 обращения, ожидание 10.0 мин, CSAT 3.5" in lines
    assert "• VK: 2 обращения, ожидание 20.0 мин, CSAT 4.0" in lines
    assert lines[2].startswith("Ожидание первого ответа: медиана 15.0 мин")


@pytest.mark.parametrize(
    "count,ratings,cases,conversations",
    [
        (1, "1 оценка", "1 обращение", "из 1 диалога"),
        (3, "3 оценки", "3 обращения", "из 3 диалогов"),
        (5, "5 оценок", "5 обращений", "из 5 диалогов"),
        (21, "21 оценка", "21 обращение", "из 21 диалога"),
    ],
)
def test_the_summary_puts_numbers_with_their_word_forms(kb, count, ratings, cases, conversations):
    block = kpi.KpiBlock(tickets=count, csat_count=count, csat_avg=5.0)
    report = kpi.KpiReport(
        since=0.0,
        until=DAY,
        overall=block,
        vip=block,
        per_channel={"vk": block},
        per_intent={},
        per_day={},
        conversations=count,
        contained=0,
        containment_share=0.0,
        waiting_now=0,
        oldest_wait=None,
    )
    lines = summary.summary_text(report, "Сегодня", kb.desk).splitlines()
    assert f"CSAT: 5.00 из 5 ({ratings}, 4–5: —)" in lines
    assert f"Бот справился сам: 0% (0 {conversations})" in lines
    assert f"VIP: {cases}, ожидание (медиана) —" in lines
    assert f"• VK: {cases}, ожидание —, CSAT 5.0" in lines
    assert "В очереди сейчас: 0, дольше всех ждёт —" in lines


# ---------------------------------------------------------------------------- the report
REPORT = ["report", "--since", "2026-01-01", "--until", "2026-01-02"]


async def test_report_csv(core, clock, settings, tmp_path):
    await build_world(core, clock)
    await core.close()
    result = run_cli([*REPORT, "--format", "csv"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["scope"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert list(rows) == [
        "overall",
        "vip",
        "channel:telegram",
        "channel:vk",
        "intent:operator",
        "intent:payment",
        "intent:return_item",
        "day:2026-01-01",
        "day:2026-01-02",
    ]
    overall = rows["overall"]
    assert {k: overall[k] for k in ("tickets", "closed", "csat_count", "repeat_contacts")} == {
        "tickets": "5",
        "closed": "3",
        "csat_count": "3",
        "repeat_contacts": "1",
    }
    assert float(overall["first_response_median_min"]) == approx(15.0)  # 900 s
    assert float(overall["first_response_avg_min"]) == approx(16.25)  # 975 s
    assert float(overall["resolution_median_min"]) == approx(90.0)  # 5400 s
    assert float(overall["fcr_pct"]) == approx(66.7)
    assert float(overall["csat_avg"]) == approx(3.67)
    assert float(overall["csat_good_pct"]) == approx(66.7)
    assert (overall["answered"], overall["reopened"]) == ("4", "0")
    assert [overall[f"csat_{n}"] for n in range(1, 6)] == ["0", "1", "0", "1", "1"]

    vip = rows["vip"]
    assert (vip["tickets"], vip["closed"], vip["csat_avg"]) == ("1", "0", "")
    assert float(vip["first_response_median_min"]) == approx(5.0)
    tg, vk = rows["channel:telegram"], rows["channel:vk"]
    assert (tg["tickets"], tg["closed"]) == ("3", "2")
    assert float(tg["first_response_median_min"]) == approx(10.0)
    assert float(tg["fcr_pct"]) == approx(50.0)
    assert float(tg["csat_avg"]) == approx(3.5)
    assert (vk["tickets"], vk["closed"]) == ("2", "1")
    assert float(vk["first_response_median_min"]) == approx(20.0)
    assert float(vk["csat_avg"]) == approx(4.0)
    assert rows["day:2026-01-01"]["tickets"] == "2"
    assert rows["day:2026-01-02"]["tickets"] == "3"
    assert float(rows["day:2026-01-02"]["first_response_median_min"]) == approx(17.5)


async def test_report_json(core, clock, settings, tmp_path):
    await build_world(core, clock)
    await core.close()
    result = run_cli([*REPORT, "--format", "json"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    # ISO days and the same units as the CSV: minutes, percent, CSAT 1–5, counts.
    assert (data["since"], data["until"]) == ("2026-01-01", "2026-01-02")
    assert data["units"]["first_response_median_min"] == "minutes"
    assert data["units"]["fcr_pct"] == "percent of closed"
    o = data["overall"]
    assert (o["tickets"], o["closed"], o["answered"], o["reopened"]) == (5, 3, 4, 0)
    assert o["first_response_median_min"] == approx(15.0)  # 900 s
    assert o["first_response_avg_min"] == approx(16.25)  # 975 s
    assert o["resolution_median_min"] == approx(90.0)  # 5400 s
    assert o["fcr_pct"] == approx(66.7)
    assert o["csat_avg"] == approx(3.67)
    assert [o[f"csat_{n}"] for n in range(1, 6)] == [0, 1, 0, 1, 1]
    assert o["csat_good_pct"] == approx(66.7)
    assert o["repeat_contacts"] == 1
    bot = data["bot"]
    assert (bot["conversations"], bot["contained"]) == (5, 1)
    assert bot["containment_pct"] == approx(20.0)
    assert bot["contained_answered"] == 1  # Vera's question about bonuses
    assert bot["waiting_now"] == 1  # "now" is the real time here: no oldest_wait check
    assert data["vip"]["tickets"] == 1 and data["vip"]["first_response_median_min"] == approx(5.0)
    assert data["per_channel"]["telegram"]["tickets"] == 3
    assert data["per_channel"]["vk"]["first_response_median_min"] == approx(20.0)
    assert list(data["per_day"]) == ["2026-01-01", "2026-01-02"]
    assert data["per_day"]["2026-01-01"]["csat_avg"] == approx(4.5)
    # The CSV carries the same figures in the same units.
    table = run_cli([*REPORT, "--format", "csv"], settings, tmp_path)
    first = next(csv.DictReader(io.StringIO(table.stdout)))
    for column in ("first_response_median_min", "fcr_pct", "csat_avg", "csat_good_pct"):
        assert float(first[column]) == approx(o[column])


async def test_report_table_and_bad_dates(core, clock, settings, tmp_path):
    await build_world(core, clock)
    await core.close()
    result = run_cli([*REPORT, "--format", "table"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # For people, in the operators' words (desk.yaml `reports.table`).
    assert lines[0] == "Период: 2026-01-01 — 2026-01-02 (Europe/Moscow)"
    # A header line, then a unit for every column under it.
    assert lines[2].split() == [
        "срез",
        "обращений",
        "закрыто",
        "ответ_мед",
        "ответ_сред",
        "решение_мед",
        "FCR",
        "переоткрыто",
        "CSAT",
        "оценок",
        "повторных",
    ]
    units = ["шт.", "шт.", "мин", "мин", "мин", "%", "шт.", "1–5", "шт.", "шт."]
    assert lines[3].split() == units
    overall = next(line.split() for line in lines if line.startswith("всего"))
    assert overall == ["всего", "5", "3", "15.0", "16.25", "90.0", "66.7", "0", "3.67", "3", "1"]
    vip = next(line.split() for line in lines if line.startswith("VIP"))
    assert vip[:4] == ["VIP", "1", "0", "5.0"]
    assert any(line.startswith("Диалогов: 5, бот справился сам: 1 (доля 20.0 %;") for line in lines)
    assert any(line.startswith("В очереди сейчас: 1, дольше всех ждёт: ") for line in lines)
    assert lines[-1].endswith("за 7 дней)")  # the repeat window, with its word form
    # Only days with cases are listed unless asked for.
    days = [line.split()[0] for line in lines if line.startswith("день:")]
    assert days == ["день:2026-01-01", "день:2026-01-02"]

    bad = run_cli(["report", "--since", "01.01.2026"], settings, tmp_path)
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
    # A period that ends before it starts is refused, not reported as empty.
    backwards = run_cli(
        ["report", "--since", "2026-01-05", "--until", "2026-01-01"], settings, tmp_path
    )
    assert backwards.returncode == 2 and backwards.stdout == ""
    assert backwards.stderr.strip() == (
        "--since 2026-01-05 is after --until 2026-01-01: nothing to report"
    )
    wrong_until = run_cli(
        ["report", "--since", "2026-01-01", "--until", "2026-02-30"], settings, tmp_path
    )
    assert wrong_until.returncode == 2 and "'2026-02-30'" in wrong_until.stderr
    # A period with nothing in it is a valid, empty report.
    empty = run_cli(
        ["report", "--since", "2025-06-01", "--until", "2025-06-02"], settings, tmp_path
    )
    assert empty.returncode == 0
    empty_overall = next(
        line.split() for line in empty.stdout.splitlines() if line.startswith("всего")
    )
    assert empty_overall[:3] == ["всего", "0", "0"]
    assert "(не показаны дни без обращений: 2 дня; --all-days покажет их)" in empty.stdout
    every = run_cli(
        ["report", "--since", "2025-06-01", "--until", "2025-06-02", "--all-days"],
        settings,
        tmp_path,
    )
    assert [line.split()[0] for line in every.stdout.splitlines() if line.startswith("день:")] == [
        "день:2025-06-01",
        "день:2025-06-02",
    ]


# ---------------------------------------------------------------------------- /stats
async def test_stats_in_the_operators_group(tmp_path, classifier):
    clock = ManualClock(T0)
    async with telegram_bot(tmp_path, classifier, clock=clock, senior_operator_ids=["777"]) as bot:
        fake = bot.fake
        ticket_id, thread, _ = await escalate(fake, CUSTOMER)
        clock.advance(5 * MIN)
        await operator_writes(fake, thread, CUSTOMER, "Здравствуйте! Смотрю заказ.")
        clock.advance(10 * MIN)
        fake.group_message(OPS, 777, "/close", thread_id=thread)
        await fake.wait_for("sendMessage", to_chat(CUSTOMER, "оцените"))
        await press(fake, CUSTOMER, f"rate:{ticket_id}:5")

        def photos() -> list[dict]:
            return [p for p in fake.calls("sendPhoto") if p.get("chat_id") == OPS]

        # /stats without a period: today, in the group's general chat.
        fake.group_message(OPS, 777, "/stats")
        [picture] = await fake.wait_for("sendPhoto", to_chat(OPS))
        assert isinstance(picture["photo"], bytes)
        assert picture["photo"].startswith(b"\x89PNG\r\n\x1a\n")
        assert picture["caption"] == "Сегодня"
        assert picture.get("message_thread_id") is None
        [summary] = await fake.wait_for("sendMessage", to_chat(OPS, "Обращений к операторам"))
        lines = summary["text"].splitlines()
        assert lines[0] == "Сегодня"
        assert "Обращений к операторам: 1, закрыто: 1" in lines
        assert "Ожидание первого ответа: медиана 5.0 мин, среднее 5.0 мин" in lines
        assert "Время решения (медиана): 15.0 мин" in lines
        assert "CSAT: 5.00 из 5 (1 оценка, 4–5: 100%)" in lines
        assert "Решено с первого обращения: 100%" in lines

        # In a topic, the picture goes to that topic.
        fake.group_message(OPS, 777, "/stats week", thread_id=thread)
        await fake.wait_for("sendPhoto", to_chat(OPS), count=2)
        week = photos()[-1]
        assert week["caption"] == "За 7 дней" and week["message_thread_id"] == thread
        assert week["photo"].startswith(b"\x89PNG")
        await fake.wait_for("sendMessage", in_topic(thread, "За 7 дней\nОбращений"))
        fake.group_message(OPS, 777, "/stats MONTH")
        await fake.wait_for("sendPhoto", to_chat(OPS), count=3)
        assert photos()[-1]["caption"] == "За 30 дней"

        # An unknown period: a polite hint and no picture.
        fake.group_message(OPS, 777, "/stats year")
        [hint] = await fake.wait_for("sendMessage", to_chat(OPS, "Период:"))
        assert hint["text"] == "Период: /stats today, /stats week или /stats month."
        assert len(photos()) == 3
