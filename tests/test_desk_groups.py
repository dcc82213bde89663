"""Several operators' groups: routing rules from a data file send a case to its department's
group (own topics, own post budget); /transfer moves a case with its history; the rules
file is checked at start-up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from config.settings import SettingsError, load_settings
from core.clock import ManualClock
from core.desk.routing import MAIN, RoutingError, load_routing, parse_routing
from tests.case_helpers import REPO, count, raw_text, say, to_chat
from tests.conftest import WORK_TIME, db_rows
from tests.desk_helpers import settle
from tests.telegram_harness import OPS, telegram_bot

VIP_GROUP = -1009000000777
ORDINARY = 555002
VIP = 555009
OPERATOR = 777
VIP_OPERATOR = 888
ROUTING = """
groups:
  main: {title: Поддержка}
  vip: {title: VIP-клиенты}
  night: {title: Ночная смена}
rules:
  - when: {vip: true}
    group: vip
  - when: {channel: vk}
    group: night
default: main
"""


def card_in(chat: int, ticket_id: int):
    def check(params: dict) -> bool:
        text = raw_text(params)
        return params.get("chat_id") == chat and f"Обращение №{ticket_id}</b>" in text

    return check


def in_group_topic(chat: int, thread: int | None, needle: str = ""):
    def check(params: dict) -> bool:
        return (
            params.get("chat_id") == chat
            and params.get("message_thread_id") == thread
            and needle in raw_text(params)
        )

    return check


async def test_cases_go_to_their_groups_and_transfer_with_history(tmp_path, classifier):
    routing = tmp_path / "routing.yaml"
    routing.write_text(ROUTING, encoding="utf-8")
    async with telegram_bot(
        tmp_path,
        classifier,
        clock=ManualClock(WORK_TIME),
        routing_file=routing,
        operator_groups=f"vip:{VIP_GROUP}",
        vip_telegram_ids=str(VIP),
    ) as bot:
        fake, core = bot.fake, bot.core
        fake.add_chat(VIP_GROUP, title="VIP", is_forum=True)

        await say(fake, ORDINARY, "позовите оператора", first_name="Борис", needle="№")
        await say(fake, VIP, "позовите оператора", first_name="Виктория", needle="№")
        await fake.wait_for("sendMessage", card_in(OPS, 1))
        [vip_card] = await fake.wait_for("sendMessage", card_in(VIP_GROUP, 2))
        assert (await core.storage.tickets.get(1)).department == MAIN
        assert (await core.storage.tickets.get(2)).department == "vip"
        assert not [p for p in fake.calls("sendMessage") if card_in(OPS, 2)(p)]
        vip_thread = vip_card["message_thread_id"]
        assert list(fake.topics[VIP_GROUP]) == [vip_thread]
        assert len(fake.topics[OPS]) == 1  # the VIP customer has no topic in the main group

        # The VIP group answers its case; a case of another group is refused there.
        fake.group_message(
            VIP_GROUP, VIP_OPERATOR, "Добрый день, я ваш менеджер", thread_id=vip_thread
        )
        await fake.wait_for("sendMessage", to_chat(VIP, "я ваш менеджер"))
        fake.group_message(VIP_GROUP, VIP_OPERATOR, "/take 1")
        [refused] = await fake.wait_for("sendMessage", in_group_topic(VIP_GROUP, None, "№1"))
        assert "ведёт группа «Поддержка»" in raw_text(refused)
        assert (await core.storage.tickets.get(1)).operator_id is None

        # /transfer without a known group lists the groups that exist.
        fake.group_message(VIP_GROUP, VIP_OPERATOR, "/transfer кухня", thread_id=vip_thread)
        [listed] = await fake.wait_for(
            "sendMessage", in_group_topic(VIP_GROUP, vip_thread, "Группы:")
        )
        assert "main (Поддержка)" in raw_text(listed) and "night" not in raw_text(listed)

        # Transfer to the main group: a new topic and a card there, with the history.
        fake.group_message(VIP_GROUP, VIP_OPERATOR, "/transfer Поддержка", thread_id=vip_thread)
        [moved] = await fake.wait_for("sendMessage", card_in(OPS, 2))
        text = raw_text(moved)
        assert "Передано из группы «VIP-клиенты»" in text
        assert "История обращения" in text and "я ваш менеджер" in text
        assert "позовите оператора" in text
        new_thread = moved["message_thread_id"]
        assert new_thread in fake.topics[OPS] and len(fake.topics[OPS]) == 2
        await fake.wait_for(
            "sendMessage", in_group_topic(VIP_GROUP, vip_thread, "передано в группу «Поддержка»")
        )
        await fake.wait_for("closeForumTopic", lambda p: p["chat_id"] == VIP_GROUP)
        ticket = await core.storage.tickets.get(2)
        assert ticket.department == MAIN and ticket.operator_id is None and ticket.is_open

        # The old topic no longer reaches the customer; the new one does.
        sent = count(fake, "sendMessage", to_chat(VIP))
        fake.group_message(VIP_GROUP, VIP_OPERATOR, "ещё пишу из старой темы", thread_id=vip_thread)
        await fake.wait_for("sendMessage", in_group_topic(VIP_GROUP, vip_thread, "отвечайте там"))
        assert count(fake, "sendMessage", to_chat(VIP)) == sent
        fake.group_message(OPS, OPERATOR, "Здравствуйте, продолжу я", thread_id=new_thread)
        await fake.wait_for("sendMessage", to_chat(VIP, "продолжу я"))

        # The customer's next message goes to the new group only.
        fake.private_message(VIP, "спасибо, жду", first_name="Виктория")
        await fake.wait_for("sendMessage", in_group_topic(OPS, new_thread, "спасибо, жду"))
        await settle(fake, core)
        assert not [
            p
            for p in fake.calls("sendMessage")
            if in_group_topic(VIP_GROUP, vip_thread, "спасибо, жду")(p)
        ]

        # Each group has a post budget of its own (besides each case's share of it).
        keys = {
            r["budget_key"] for r in db_rows(core.settings, "SELECT budget_key FROM post_budget")
        }
        groups = {key for key in keys if not key.startswith("desk-case:")}
        assert groups == {f"telegram-group:{OPS}", f"telegram-group:{VIP_GROUP}"}


def test_routing_rules_and_their_mistakes(tmp_path):
    routing = parse_routing(
        {
            "groups": {"main": "Поддержка", "vip": {"title": "VIP"}, "pay": None},
            "rules": [
                {"when": {"vip": True}, "group": "vip"},
                {"when": {"intent": ["payment", "refund"], "channel": "vk"}, "group": "pay"},
            ],
        }
    ).serving(frozenset({"vip", "pay"}))
    assert routing.group_for("operator", "telegram", vip=True, complaint=False) == "vip"
    assert routing.group_for("refund", "vk", vip=False, complaint=False) == "pay"
    assert routing.group_for("refund", "telegram", vip=False, complaint=False) == MAIN
    assert routing.find("VIP") == "vip" and routing.find("pay") == "pay"
    # A department without a group of its own is served by the main group.
    unserved = parse_routing(
        {"groups": {"main": None, "vip": None}, "rules": [{"when": {"vip": True}, "group": "vip"}]}
    )
    assert unserved.group_for("operator", "telegram", vip=True, complaint=False) == MAIN

    shipped = load_routing(REPO / "config" / "routing.yaml")
    assert set(shipped.titles) >= {"main", "vip", "complaints"}

    mistakes = {
        "groups: {vip: {}}": "the main group 'main' is missing",
        "groups: {main: {}}\nrules: [{when: {vip: true}, group: vipp}]": "unknown group 'vipp'",
        "groups: {main: {}}\nrules: [{when: {intent: refnd}, group: main}]": "unknown intents",
        "groups: {main: {}}\nrules: [{when: {vip: maybe}, group: main}]": "expected true or false",
        "groups: {main: {}}\nrules: [{when: {weather: sunny}, group: main}]": "unknown conditions",
        "groups: {main: {}}\nrules: [{group: main, when: {channel: icq}}]": "unknown channels",
        "groups: [main]": "expected a mapping of departments",
        "groups: {main: {}\n": "not valid YAML",
    }
    for number, (text, expected) in enumerate(mistakes.items()):
        path = tmp_path / f"routing-{number}.yaml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(RoutingError, match=expected):
            load_routing(path)
        with pytest.raises(SettingsError, match="ROUTING_FILE"):
            load_settings(_env_file=None, routing_file=path)

    with pytest.raises(SettingsError, match="'kitchen' is not a department"):
        load_settings(_env_file=None, operators_chat_id=-1001, operator_groups="kitchen:-1002")
    with pytest.raises(SettingsError, match="NAME:CHAT_ID"):
        load_settings(_env_file=None, operators_chat_id=-1001, operator_groups="vip=-1002")


def test_a_broken_routing_file_stops_the_start_with_one_line(tmp_path):
    path = tmp_path / "routing.yaml"
    path.write_text(
        "groups: {main: {}}\nrules: [{when: {vip: true}, group: vipp}]\n", encoding="utf-8"
    )
    environment = {**os.environ, "ROUTING_FILE": str(path), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "bots.cli", "run"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ROUTING_FILE" in lines[0] and "unknown group 'vipp'" in lines[0]
