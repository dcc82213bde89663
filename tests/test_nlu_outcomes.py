"""The four outcomes as the bot acts (`core.reports.nlu_outcomes`) and the score on the bot's own
traffic (`core.reports.nlu_traffic`, `supportbot eval --from-picks`): messages go through the
real engine on a SQLite file, labels come from a real database the engine wrote."""

from __future__ import annotations

import re

import pytest
import test_core_cli
from conftest import Customer, make_settings, run_sync
from test_core_cli import run_cli

from core import buttons
from core.app import build_core
from core.conversation.clarify import PICK_SOURCE
from core.reports.nlu_outcomes import (
    ANSWERED_RIGHT,
    ANSWERED_WRONG,
    ASKED_MISSING,
    ASKED_RIGHT,
    act_on,
    clock_in_working_hours,
    format_messages,
    format_outcomes,
)
from core.reports.nlu_scenarios import act_on_scenarios, load_scenarios
from core.reports.nlu_traffic import OPERATORS, PICKS, format_traffic, score_traffic

UNSURE = "у меня проблема с заказом"  # the model hesitates between several topics
GIBBERISH = "выфвапр олдж ячсмит"
cli_data = test_core_cli.cli_data  # the CLI tests' data folder: the model trained once


@pytest.fixture
def eval_settings(tmp_path):
    return make_settings(tmp_path)


async def test_each_outcome_is_read_from_what_the_engine_did(eval_settings, classifier):
    first = await act_on(eval_settings, classifier, [(UNSURE, "greeting")])
    asked = first.acted[0]
    # A clarifying question: its options are the topics the clarifier offers.
    clarifier_options = await _clarifier_options(eval_settings, classifier, UNSURE)
    assert asked.options == clarifier_options and asked.options
    assert asked.outcome == ASKED_MISSING  # a greeting is never offered
    examples = [
        ("где мой заказ", "order_status"),  # the order number is asked for: right
        ("где мой заказ", "refund"),  # acted on order_status: wrong
        ("позовите живого оператора", "operator"),  # the handoff: right
        ("курьер нахамил мне по телефону", "courier_complaint"),  # apology + order: right
        (UNSURE, asked.options[0]),
        (UNSURE, "greeting"),
        (GIBBERISH, "out_of_scope"),  # "did not understand" is right for gibberish
        (GIBBERISH, "order_status"),  # ... and a question without the topic otherwise
        ("да вы там все идиоты", "refund"),  # only the boundary: wrong
        ("верните деньги за возврат, бля", "refund"),  # the boundary and the answer: right
    ]
    report = await act_on(eval_settings, classifier, examples)
    outcomes = [a.outcome for a in report.acted]
    assert outcomes == [
        ANSWERED_RIGHT,
        ANSWERED_WRONG,
        ANSWERED_RIGHT,
        ANSWERED_RIGHT,
        ASKED_RIGHT,
        ASKED_MISSING,
        ANSWERED_RIGHT,
        ASKED_MISSING,
        ANSWERED_WRONG,
        ANSWERED_RIGHT,
    ]
    acted = report.acted
    assert acted[0].intent == "order_status" and acted[1].intent == "order_status"
    assert acted[2].intent == "operator" and acted[3].intent == "courier_complaint"
    assert acted[6].not_understood and not acted[6].options
    assert acted[8].intent is None  # an insult alone is not classified: the boundary only
    assert acted[9].intent == "refund"  # the request beside the insult is
    assert report.share(ANSWERED_RIGHT) == pytest.approx(5 / 10)
    assert report.share(ANSWERED_WRONG) == pytest.approx(2 / 10)
    assert report.share(ASKED_RIGHT, "greeting") == 0.0
    assert report.top1 == pytest.approx(sum(a.ranked[0] == a.truth for a in acted) / len(acted))
    assert report.top3 >= report.top1
    text = format_outcomes(report)
    assert re.search(r"^answered right:\s+50\.0%$", text, re.M)
    assert re.search(r"^answered wrong:\s+20\.0%$", text, re.M)
    assert re.search(r"^operator\s+1\s+100%\s+0%\s+0%\s+0%$", text, re.M)
    listed = format_messages(report)
    assert "refund ← acted on order_status: где мой заказ" in listed
    assert f"out_of_scope ← not understood (menu): {GIBBERISH}" in listed


async def _clarifier_options(settings, classifier, text):
    core = await build_core(settings, classifier=classifier, clock=clock_in_working_hours(settings))
    try:
        prediction = classifier.predict(text)
        return tuple(core.dialog.clarify.options(prediction))
    finally:
        await core.close()


def test_the_clock_is_inside_working_hours(tmp_path):
    from core.desk.hours import WorkingHours

    for start, end, days in (("09:00", "21:00", "1-5"), ("22:00", "06:00", "6,7")):
        settings = make_settings(
            tmp_path, work_hours_start=start, work_hours_end=end, work_days=days
        )
        hours = WorkingHours(
            settings.work_hours_start,
            settings.work_hours_end,
            frozenset(int(d) for d in settings.work_days),
            settings.timezone,
        )
        assert hours.is_open(clock_in_working_hours(settings).now())


async def test_labels_are_read_with_their_source(core, settings):
    customer = Customer(core)
    question = (await customer.say(UNSURE))[0]
    options = [
        b.id.removeprefix(buttons.PICK)
        for b in question.flat_buttons
        if b.id.startswith(buttons.PICK)
    ]
    await customer.press(buttons.PICK + options[1])
    other = Customer(core, user_id="2002")
    await other.say("где мой заказ")
    message = next(m for m in await other.log() if m.direction == "in")
    await core.storage.labels.label(message.id, "order_status", "Ольга", core.clock.now() + 60)
    labelled = await core.storage.labels.labelled()
    assert [(m.text, m.intent, m.labelled_by) for m in labelled] == [
        (UNSURE, options[1], PICK_SOURCE),
        ("где мой заказ", "order_status", "Ольга"),
    ]
    # What the bot made of them when they were written.
    assert labelled[0].logged_intent == options[0]
    assert labelled[1].logged_intent == "order_status"
    assert labelled[1].logged_confidence is not None


@pytest.mark.sqlite_only
async def test_traffic_is_scored_per_source(core, settings, kb):
    customer = Customer(core)
    question = (await customer.say(UNSURE))[0]
    options = [
        b.id.removeprefix(buttons.PICK)
        for b in question.flat_buttons
        if b.id.startswith(buttons.PICK)
    ]
    await customer.press(buttons.PICK + options[1])  # not the bot's first guess
    other = Customer(core, user_id="2002")
    await other.say("где мой заказ")
    message = next(m for m in await other.log() if m.direction == "in")
    await core.storage.labels.label(message.id, "order_status", "Ольга", core.clock.now() + 60)
    scores = await score_traffic(settings, core.storage, kb)
    assert [s.group for s in scores] == [PICKS, OPERATORS]
    picks, operators = scores
    assert picks.when_written == 0.0 and operators.when_written == 1.0
    assert operators.shipped.share(ANSWERED_RIGHT) == 1.0
    assert picks.shipped.total == 1 and picks.current.total == 1
    text = format_traffic(scores)
    assert re.search(rf"^{re.escape(PICKS)}, shipped phrases only\s+1\s+0\.0%", text, re.M)
    assert re.search(rf"^{re.escape(OPERATORS)}, shipped phrases only\s+1\s+100\.0%", text, re.M)


async def test_no_labels_yet(core, settings, kb):
    assert await score_traffic(settings, core.storage, kb) == []
    assert "No labelled messages yet" in format_traffic([])


def test_eval_command_prints_the_four_outcomes(cli_data, tmp_path):
    data = tmp_path / "set.tsv"
    data.write_text(
        "intent\ttext\norder_status\tгде мой заказ\nrefund\tгде мой заказ\n", encoding="utf-8"
    )
    result = run_cli(["eval", str(data), "--errors"], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "messages: 2" in out  # the header line is not a message
    assert re.search(r"^answered right:\s+50\.0%$", out, re.M)
    assert re.search(r"^answered wrong:\s+50\.0%$", out, re.M)
    assert "answered wrong (1):\n  refund ← acted on order_status: где мой заказ" in out


def test_eval_needs_a_file_or_the_traffic(cli_data, tmp_path):
    result = run_cli(["eval"], cli_data, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["supportbot eval: give FILE.tsv or --from-picks"]


def test_eval_from_picks_on_the_bot_database(cli_data, tmp_path, classifier):
    settings = make_settings(tmp_path, database_url=f"sqlite:///{tmp_path}/cli.db")

    async def traffic() -> None:
        core = await build_core(
            settings, classifier=classifier, clock=clock_in_working_hours(settings)
        )
        try:
            await Customer(core).say("где мой заказ")
            message = next(m for m in await Customer(core).log() if m.direction == "in")
            await core.storage.labels.label(
                message.id, "order_status", "Ольга", core.clock.now() + 60
            )
        finally:
            await core.close()

    empty = run_cli(["eval", "--from-picks"], cli_data, tmp_path)
    assert empty.returncode == 0, empty.stderr
    assert "No labelled messages yet" in empty.stdout
    run_sync(traffic())
    result = run_cli(["eval", "--from-picks"], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.search(
        rf"^{re.escape(OPERATORS)}, shipped phrases only\s+1\s+100\.0%", result.stdout, re.M
    )
    assert "the bot's model *" in result.stdout


# ---------------------------------------------------------------------------- conversations
SCENARIOS = """
contexts:
  delivered: ["где мой заказ 2233445566-0015"]
  delivered_long_ago: ["где мой заказ 2233445566-0015", "wait 7200"]
  closed_case:
    - "пришёл разбитый чайник: носик отколот, крышка треснула, 2233445566-0015"
    - "press no_photo"
    - "close"
scenarios:
  - {context: delivered, say: "верните деньги", intent: return_item}
  - {context: delivered_long_ago, say: "верните деньги", intent: return_item}
  - {context: closed_case, say: "спасибо, всё решили", intent: thanks}
  - {say: "где мой заказ", intent: order_status}
"""


async def test_conversations_are_played_through_the_engine(eval_settings, classifier, tmp_path):
    path = tmp_path / "scenarios.yaml"
    path.write_text(SCENARIOS, encoding="utf-8")
    scenarios = load_scenarios(path)
    assert [s.context for s in scenarios] == ["delivered", "delivered_long_ago", "closed_case", ""]
    assert scenarios[2].turns[-1] == "close" and scenarios[3].turns == ()
    report = await act_on_scenarios(eval_settings, classifier, scenarios)
    # The delivered order decides within the hour; two hours later the words alone do.
    assert [(a.outcome, a.intent) for a in report.acted] == [
        (ANSWERED_RIGHT, "return_item"),
        (ANSWERED_WRONG, "refund"),
        (ANSWERED_RIGHT, "thanks"),  # after the operator closed the case it opened
        (ANSWERED_RIGHT, "order_status"),
    ]
    assert report.acted[0].text == "верните деньги"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("scenarios: [{say: привет}]", "needs say: and intent:"),
        ("scenarios: [{say: привет, intent: hello}]", "unknown intent"),
        ("scenarios: [{context: nowhere, say: привет, intent: greeting}]", "no context"),
        ("contexts: {a: привет}\nscenarios: [{context: a, say: б, intent: greeting}]", "a list"),
        ("- just a list", "expected contexts"),
    ],
)
def test_a_bad_conversations_file_is_refused_with_its_reason(tmp_path, content, error):
    path = tmp_path / "scenarios.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        load_scenarios(path)


def test_eval_command_plays_a_conversations_file(cli_data, tmp_path):
    path = tmp_path / "scenarios.yaml"
    path.write_text(SCENARIOS, encoding="utf-8")
    result = run_cli(["eval", str(path), "--errors"], cli_data, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "messages: 4" in result.stdout
    assert re.search(r"^answered right:\s+75\.0%$", result.stdout, re.M)
    assert "return_item ← acted on refund: верните деньги" in result.stdout
    path.write_text("scenarios: [{say: привет, intent: hello}]", encoding="utf-8")
    refused = run_cli(["eval", str(path)], cli_data, tmp_path)
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1 and "unknown intent" in refused.stderr
