"""KPI definitions (README, "KPIs") on hand-made timelines, and the command line around
them: `report` options, `train` progress and `train --quiet`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from core import buttons
from core.desk.roles import Operator
from core.reports import kpi
from core.types import TELEGRAM
from tests.case_helpers import msk, run_cli, small_nlu_dir
from tests.conftest import REPO, WORK_TIME, Customer, make_settings

OP = Operator("5", "Оператор")
HOUR = 3600.0
DAY = 24 * HOUR


async def case(core, clock, user: str, text: str = "позовите оператора") -> int:
    """A case from `user`: the question, then «Позвать оператора» if the bot answered."""
    customer = Customer(core, user, TELEGRAM)
    await customer.say(text)
    if await customer.open_ticket() is None:
        await customer.press(buttons.OPERATOR)
    ticket = await customer.open_ticket()
    assert ticket is not None
    return ticket.id


async def test_fcr_counts_only_cases_an_operator_solved(core, clock):
    """Four cases closed; one answered by an operator: FCR is 1 of 4, not 100%."""
    clock.set(WORK_TIME)
    answered = await case(core, clock, "1")
    silent = [await case(core, clock, user) for user in ("2", "3", "4")]
    clock.advance(600)
    await core.desk.reply(answered, OP, "Готово.")
    for ticket_id in (answered, *silent):
        await core.desk.close(ticket_id, OP)
    report = await kpi.compute(core.storage, WORK_TIME - 60, WORK_TIME + DAY, clock.now())
    assert (report.overall.closed, report.overall.answered) == (4, 1)
    assert report.overall.fcr_share == pytest.approx(0.25)


async def test_a_reopened_case_is_not_solved_at_first_contact(core, clock):
    clock.set(WORK_TIME)
    first = await case(core, clock, "1")
    second = await case(core, clock, "2")
    for ticket_id in (first, second):
        await core.desk.reply(ticket_id, OP, "Ответ.")
        await core.desk.close(ticket_id, OP)
    await core.desk.reopen(first, OP)
    await core.desk.close(first, OP)
    report = await kpi.compute(core.storage, WORK_TIME - 60, WORK_TIME + DAY, clock.now())
    assert report.overall.reopened == 1
    assert report.overall.fcr_share == pytest.approx(0.5)


async def test_a_repeat_contact_within_n_days(core, clock):
    """A customer back within N days about the issue (or with an unnamed "позовите
    оператора") undoes the first case's FCR; after N days it is a new issue."""
    clock.set(WORK_TIME)
    first = await case(core, clock, "1", "как вернуть товар")  # a topic
    await core.desk.reply(first, OP, "Вот так.")
    await core.desk.close(first, OP)
    clock.advance(3 * DAY)
    again = await case(core, clock, "1")  # "позовите оператора": no topic named
    await core.desk.reply(again, OP, "Снова здравствуйте.")
    await core.desk.close(again, OP)
    since, until = WORK_TIME - 60, WORK_TIME + 10 * DAY
    week = await kpi.compute(core.storage, since, until, clock.now(), repeat_days=7)
    assert week.overall.repeat_contacts == 1
    assert week.overall.fcr_share == pytest.approx(0.5)  # the second one held
    two_days = await kpi.compute(core.storage, since, until, clock.now(), repeat_days=2)
    assert two_days.overall.repeat_contacts == 0
    assert two_days.overall.fcr_share == pytest.approx(1.0)


async def test_containment_counts_what_the_bot_solved(core, clock):
    clock.set(WORK_TIME)
    answered = Customer(core, "1")
    await answered.say("как начисляются баллы")  # answered from the knowledge base
    helped = Customer(core, "2")
    await helped.say("как применить промокод")
    await helped.press(buttons.HELPED)
    greeted = Customer(core, "3")
    await greeted.say("привет")  # nothing solved yet
    puzzled = Customer(core, "4")
    await puzzled.say("ывапролдж")  # not understood
    escalated = Customer(core, "5")
    await escalated.say("как начисляются баллы")
    await escalated.press(buttons.OPERATOR)
    report = await kpi.compute(core.storage, WORK_TIME - 60, WORK_TIME + HOUR, clock.now())
    assert (report.conversations, report.contained) == (5, 2)
    assert (report.bot.answered, report.bot.helped, report.bot.self_service) == (2, 1, 0)
    assert report.containment_share == pytest.approx(0.4)


# ---------------------------------------------------------------------------- command line
async def test_report_options(core, clock, settings, tmp_path):
    clock.set(msk(2026, 1, 1, 12))
    first = await case(core, clock, "1", "как вернуть товар")
    await core.desk.reply(first, OP, "Вот так.")
    await core.desk.close(first, OP)
    clock.set(msk(2026, 1, 4, 12))
    await case(core, clock, "1")
    await core.close()
    args = ["report", "--since", "2026-01-01", "--until", "2026-01-05", "--format", "json"]
    week = json.loads(run_cli(args, settings, tmp_path).stdout)
    assert week["repeat_days"] == 7 and week["overall"]["repeat_contacts"] == 1
    assert list(week["per_day"]) == ["2026-01-01", "2026-01-04"]  # empty days collapsed
    short = json.loads(run_cli([*args, "--repeat-days", "2"], settings, tmp_path).stdout)
    assert short["overall"]["repeat_contacts"] == 0 and short["overall"]["fcr_pct"] == 100.0
    every = json.loads(run_cli([*args, "--all-days"], settings, tmp_path).stdout)
    assert list(every["per_day"]) == [f"2026-01-0{d}" for d in range(1, 6)]
    bad = run_cli([*args, "--repeat-days", "0"], settings, tmp_path)
    assert bad.returncode == 2 and bad.stderr.strip() == "--repeat-days must be 1 or more"


async def test_train_shows_progress_and_quiet_prints_one_line(kb, tmp_path):
    settings = make_settings(tmp_path, nlu_dir=small_nlu_dir(tmp_path))
    held_out = tmp_path / "held_out.tsv"
    held_out.write_text("order_status\tгде мой заказ\ngreeting\tпривет\n", encoding="utf-8")
    # First, on a fresh database: migrating and training would log at INFO.
    quiet = run_info(["train", "--quiet"], settings, tmp_path)
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    [line] = quiet.stdout.splitlines()
    assert re.fullmatch(r"model \w+ trained on shipped phrases \+ 0 labels", line), line

    loud = run_cli(["train", "--eval", str(held_out)], settings, tmp_path)
    assert loud.returncode == 0, loud.stderr
    progress = loud.stderr.splitlines()
    assert "training the new model…" in progress
    assert any(re.fullmatch(r"training the new model: \d+\.\d s", line) for line in progress)
    assert any(line.startswith("evaluating on held-out held_out.tsv (2)") for line in progress)
    assert loud.stdout.splitlines()[0] == "operators' labels: 0"


def run_info(args: list[str], settings, cwd) -> subprocess.CompletedProcess[str]:
    """`supportbot ARGS` with LOG_LEVEL=INFO: anything logged would show on stderr."""
    environment = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "DATA_DIR": str(settings.data_dir),
        "NLU_DIR": str(settings.nlu_dir),
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",
        "OMP_NUM_THREADS": "1",
        "LOG_LEVEL": "INFO",
    }
    return subprocess.run(
        [sys.executable, "-m", "bots.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=environment,
        timeout=120,
    )
