"""Learning from conversations (article §11): every customer message is kept with its
intent and confidence, `supportbot unrecognized` lists what the bot did not understand,
operators label messages with /intent, `supportbot train` retrains and publishes a model,
and a running bot switches to it without losing any conversation."""

from __future__ import annotations

import re

import pytest

from core.app import classifier_for
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.knowledge.intents import INTENTS
from core.nlu import published
from core.types import TELEGRAM
from tests.case_helpers import (
    escalate,
    models_of,
    operator_says,
    run_cli,
    say,
    seed_model_cache,
    small_nlu_dir,
)
from tests.conftest import Customer, db_rows
from tests.telegram_harness import CUSTOMER, telegram_bot

GIBBERISH = "зщшгнекуц фывапр"
OTHER_GIBBERISH = "ываоыва пролдж"
OP = Operator("777", "Оператор")


async def test_messages_are_kept_with_intent_and_the_unrecognized_listed(
    core, settings, classifier, tmp_path
):
    seed_model_cache(settings.data_dir, classifier)
    anna = Customer(core, "1001", TELEGRAM, "Анна")
    boris = Customer(core, "1002", TELEGRAM, "Борис")
    await anna.say("где мой заказ")
    await anna.say(GIBBERISH)
    await boris.say(OTHER_GIBBERISH)
    await boris.say("как вернуть товар")
    await anna.say("Зщшгнекуц   фывапр!")  # the same words: one group

    rows = db_rows(
        settings,
        "SELECT c.user_id, m.text, m.intent, m.confidence FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.direction = 'in' "
        "ORDER BY m.id",
    )
    logged = [(r["user_id"], r["text"], r["intent"]) for r in rows]
    assert logged == [
        ("1001", "где мой заказ", "order_status"),
        ("1001", GIBBERISH, "out_of_scope"),
        ("1002", OTHER_GIBBERISH, "out_of_scope"),
        ("1002", "как вернуть товар", "return_item"),
        ("1001", "Зщшгнекуц   фывапр!", "out_of_scope"),
    ]
    assert all(0.0 <= r["confidence"] <= 1.0 for r in rows)
    assert rows[0]["confidence"] >= settings.nlu_min_confidence
    assert rows[3]["confidence"] >= settings.nlu_min_confidence
    await core.close()

    result = run_cli(["unrecognized"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "count\tintent\tconfidence\tmessage"
    groups = [line.split("\t") for line in lines[1:]]
    assert [(g[0], g[1], g[3]) for g in groups] == [
        ("2", "out_of_scope", GIBBERISH),
        ("1", "out_of_scope", OTHER_GIBBERISH),
    ]
    assert all(re.fullmatch(r"[01]\.\d\d", g[2]) for g in groups)
    assert "где мой заказ" not in result.stdout and "вернуть" not in result.stdout


async def test_unrecognized_most_frequent_first_with_a_limit(core, settings, classifier, tmp_path):
    seed_model_cache(settings.data_dir, classifier)
    for user, text in (("1", OTHER_GIBBERISH), ("2", GIBBERISH), ("3", GIBBERISH)):
        await Customer(core, user, TELEGRAM).say(text)
    await core.close()
    top = run_cli(["unrecognized", "--limit", "1"], settings, tmp_path)
    assert top.returncode == 0, top.stderr
    [group] = [line.split("\t") for line in top.stdout.splitlines()[1:]]
    assert (group[0], group[3]) == ("2", GIBBERISH)


async def test_unrecognized_on_an_empty_database(settings, classifier, tmp_path):
    seed_model_cache(settings.data_dir, classifier)
    result = run_cli(["unrecognized"], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Nothing unrecognized yet."


async def test_operators_label_the_first_message_with_intent(tmp_path, classifier):
    async with telegram_bot(tmp_path, classifier) as bot:
        fake, core = bot.fake, bot.core
        first = "посылочка моя где-то потерялась, подскажите"
        await say(fake, CUSTOMER, first)
        await say(fake, CUSTOMER, "[не то]")  # not a label candidate: starts with "["
        _, thread, _ = await escalate(fake, CUSTOMER, "позовите оператора")

        answer = await operator_says(fake, thread, "/intent order_status")
        assert answer["text"].startswith(f"Запомнил: «{first}» — это order_status.")
        assert await core.storage.labels.examples() == [(first, "order_status")]
        # Relabelling replaces the label; an unknown topic is refused with the list.
        await operator_says(fake, thread, "/intent not_received")
        assert await core.storage.labels.examples() == [(first, "not_received")]
        refused = await operator_says(fake, thread, "/intent weather")
        assert refused["text"].startswith("Нет такой темы. Темы: greeting, thanks")
        empty = await operator_says(fake, thread, "/intent")
        assert empty["text"].startswith("Нет такой темы.")
        assert await core.storage.labels.examples() == [(first, "not_received")]
        rows = db_rows(core.settings, "SELECT labelled_by FROM intent_labels")
        assert [r["labelled_by"] for r in rows] == ["Оператор"]


async def test_label_without_customer_text_is_refused(core):
    customer = Customer(core, "1001", TELEGRAM)
    await customer.press("operator")  # a button only: nothing to label
    ticket = await customer.open_ticket()
    with pytest.raises(OperatorError, match="нет текста клиента"):
        await core.desk.label_intent(ticket.id, "order_status", OP)
    with pytest.raises(OperatorError, match="Нет такой темы"):
        await core.desk.label_intent(ticket.id, "nonsense", OP)
    assert "order_status" in INTENTS


async def test_train_publishes_a_model_that_a_running_bot_picks_up(
    make_core, kb, tmp_path, settings_with
):
    # A smaller copy of the shipped phrases keeps the retraining under a second; the
    # command, the labels, the publishing and the hot switch are the real ones.
    settings = settings_with(nlu_dir=small_nlu_dir(tmp_path))
    shipped = classifier_for(settings, kb)  # trained and cached as at start-up
    core = await make_core(settings=settings, classifier=shipped)
    old = core.dialog.classifier
    assert old is shipped

    # A conversation in the middle of a step: the bot asked for the order number.
    waiting = Customer(core, "1001", TELEGRAM, "Анна")
    asked = await waiting.say("где мой заказ")
    assert asked[0].text == core.kb.texts.get("ask_order.order_status")
    assert (await waiting.conversation()).step == "await_order"

    # An operator labels a message the bot did not get right.
    puzzled = Customer(core, "1002", TELEGRAM, "Борис")
    phrase = "посылочка моя где-то потерялась, подскажите"
    await puzzled.say(phrase)
    await puzzled.say("позовите оператора")
    ticket = await puzzled.open_ticket()
    assert await core.desk.label_intent(ticket.id, "order_status", OP) == phrase

    held_out = tmp_path / "held_out.tsv"
    held_out.write_text(
        "order_status\tгде мой заказ\nreturn_item\tкак вернуть товар\n"
        "payment\tкак оплатить заказ\ngreeting\tпривет\n",
        encoding="utf-8",
    )
    result = run_cli(["train", "--eval", str(held_out)], settings, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert out[0] == "operators' labels: 1"
    score = r"accuracy [01]\.\d{3} → [01]\.\d{3}, macro-F1 [01]\.\d{3} → [01]\.\d{3}"
    assert re.fullmatch(rf"held-out held_out\.tsv \(4\): {score}", out[1]), out[1]
    assert re.fullmatch(r"labelled messages \(1\): accuracy [01]\.\d{3} → 1\.000, .*", out[2])
    match = re.search(r"^new model (\w+) published", result.stdout, re.M)
    assert match, result.stdout
    new_key = match.group(1)
    assert new_key != old.fingerprint
    assert published(models_of(settings)) == new_key

    # The running bot switches on its next check, once.
    assert await core.model_watcher.check() is True
    assert core.dialog.classifier is not old
    assert core.dialog.classifier.fingerprint == new_key
    assert await core.model_watcher.check() is False
    assert core.dialog.classifier.predict(phrase).intent == "order_status"

    # The conversation goes on where it was: its state is in the database.
    replies = await waiting.say("12345678-0001")
    assert "Заказ 12345678-0001" in replies[0].text and "Статус" in replies[0].text
    assert (await waiting.conversation()).step == "idle"
    # The open ticket still takes the customer's messages.
    await puzzled.say("жду ответа")
    log = await core.storage.messages.for_ticket(ticket.id)
    assert log[-1].text == "жду ответа"
    # A restart builds the same retrained model from the labels (loaded from the cache).
    assert classifier_for(settings, kb, await core.storage.labels.examples()).fingerprint == (
        new_key
    )
