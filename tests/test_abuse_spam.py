"""Spam rules of config/spam.yaml (issue 17): each rule with a message it catches and one it
lets through; a real customer linking to the shop's own site is not spam; a spam message
is stored, marked and never opens a case, and in an open case it still reaches the
operators; a malformed rules file stops the bot with one line and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, Customer, all_text, db_rows, outbox_items
from test_ops_settings import run

from config.settings import SettingsError, load_settings
from core.abuse.spam import Suspect, load_rules, normalize, words_of
from core.types import OPERATORS

RULES = load_rules(REPO / "config" / "spam.yaml", ["shop.example"])
NOW = 1_800_000_000.0


def first(text: str, **kwargs) -> str | None:
    return RULES.match(Suspect(text, first=True, now=NOW, **kwargs))


def later(text: str, **kwargs) -> str | None:
    return RULES.match(Suspect(text, first=False, now=NOW, **kwargs))


@pytest.mark.parametrize(
    ("rule", "caught", "let_through"),
    [
        (
            "foreign_links",
            "Дешёвые подписчики тут: https://promo-subs.example.com/go",
            "Заказ не пришёл, вот трек с сайта доставки: номер 12345678-0001",
        ),
        (
            "foreign_links",
            "заходите в канал t.me/luckydrop",
            "прикладываю акт.pdf и фото чека",
        ),
        (
            "phone_numbers",
            "Работа на дому, звоните +7 (912) 345-67-89",
            "заказ 12345678-0001 где он?",
        ),
        ("phone_numbers", "пишите 8 912 345 67 89 в вотсап", "верните 1500 рублей за товар"),
        (
            "crypto_words",
            "Инвестиции в USDT под 30% в месяц",
            "оплатил картой, деньги списали дважды",
        ),
        ("crypto_words", "Раздаём биткоины всем", "курьер не привёз заказ"),
    ],
)
def test_first_message_rules(rule, caught, let_through):
    assert first(caught) == rule
    assert first(let_through) is None
    assert later(caught) is None  # these rules look at a first message only


def test_a_link_to_the_shops_own_site_is_not_spam():
    text = "Оформил на https://www.shop.example/orders/12345678-0001, где заказ?"
    assert first(text) is None
    assert first("смотрите help.shop.example/returns") is None  # a subdomain of the shop
    assert first("смотрите shop.example.evil.net") == "foreign_links"  # not the shop


def test_repeated_text():
    text = "Срочно ответьте мне по поводу возврата денег за заказ"
    twice = [(NOW - 60, text), (NOW - 30, text.upper())]
    assert later(text, earlier=twice) == "repeated_text"
    assert later(text, earlier=twice[:1]) is None  # twice is not yet a repeat
    assert later(text, earlier=[(NOW - 3600, text), (NOW - 3000, text)]) is None  # too long ago
    short = [(NOW - 60, "оператор"), (NOW - 30, "оператор")]
    assert later("оператор", earlier=short) is None  # a short word repeated is a real person


def test_new_account_where_the_messenger_tells():
    assert later("здравствуйте", account_age=20.0) == "new_account"
    assert later("здравствуйте", account_age=86400.0) is None
    assert later("здравствуйте", account_age=None) is None  # the messenger does not say


def test_forwarded_channel_post():
    assert later("Розыгрыш iPhone!", forwarded_from_channel=True) == "forwarded_channel_post"
    assert later("Розыгрыш iPhone!", forwarded_from_channel=False) is None


def test_known_spam():
    example = words_of(normalize("Лучшие цены на подписчиков и лайки, пишите в личку"))
    assert later("ЛУЧШИЕ цены на подписчиков и лайки — пишите в личку!!") is None  # no examples
    match = RULES.match(
        Suspect("лучшие цены на лайки и подписчиков, пишите в личку", now=NOW), [example]
    )
    assert match == "known_spam"
    assert RULES.match(Suspect("какие цены на доставку?", now=NOW), [example]) is None


def test_a_rule_switched_off(tmp_path):
    path = tmp_path / "spam.yaml"
    path.write_text("rules:\n  phone_numbers:\n    enabled: false\n", encoding="utf-8")
    rules = load_rules(path)
    assert rules.match(Suspect("+7 912 345 67 89", first=True)) is None
    assert rules.match(Suspect("https://evil.example", first=True)) == "foreign_links"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("rules:\n  repeated_text:\n    times: 1\n", "rules.repeated_text.times"),
        ("rules:\n  no_such_rule: {}\n", "rules.no_such_rule"),
        ("rules: [\n", "not valid YAML"),
        ("allowed_domains: ['not a domain']\n", "allowed_domains: expected a domain"),
    ],
)
def test_a_malformed_rules_file_is_one_line(tmp_path, content, problem):
    path = tmp_path / "spam.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, spam_file=path, data_dir=tmp_path / "data")
    assert len(refused.value.problems) == 1
    line = refused.value.problems[0]
    assert line.startswith(f"SPAM_FILE: {path}: ") and problem in line


@pytest.mark.parametrize("command", ["python -m bots", "supportbot"])
def test_a_malformed_rules_file_stops_the_bot_with_exit_code_2(tmp_path, command):
    path = tmp_path / "spam.yaml"
    path.write_text("rules:\n  crypto_words:\n    words: 7\n", encoding="utf-8")
    result = run(command, tmp_path, env={"SPAM_FILE": str(path)})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Configuration error: SPAM_FILE: ")
    assert "rules.crypto_words.words" in lines[0] and "Traceback" not in result.stderr


def test_shop_domains_setting(tmp_path):
    settings = load_settings(
        _env_file=None, shop_domains="https://www.Shop.Example/, shop2.example", data_dir=tmp_path
    )
    assert settings.shop_domains == ["shop.example", "shop2.example"]
    with pytest.raises(SettingsError, match="SHOP_DOMAINS"):
        load_settings(_env_file=None, shop_domains="not a domain", data_dir=tmp_path)


# ---------------------------------------------------------------------------- the engine
@pytest.fixture
def settings_overrides():
    return {"shop_domains": ["shop.example"]}


async def test_a_spam_first_message_opens_no_case(core, settings):
    customer = Customer(core, "4001")
    replies = await customer.say(
        "Позовите оператора! Купите подписчиков: https://promo-subs.example.com"
    )
    assert await customer.open_ticket() is None
    assert "похоже на рассылку" in all_text(replies) and "ссылка на другой сайт" in all_text(
        replies
    )
    assert [o for o in await outbox_items(core) if o["channel"] == OPERATORS] == []
    marked = db_rows(settings, "SELECT kind, rule FROM message_marks")
    assert marked == [{"kind": "spam", "rule": "foreign_links"}]
    # Written in their own words, the question reaches an operator.
    await customer.say("позовите оператора, пожалуйста")
    assert await customer.open_ticket() is not None


async def test_a_real_customer_linking_the_shops_site_gets_an_operator(core, settings):
    customer = Customer(core, "4002")
    await customer.say("Позовите оператора: заказ с https://shop.example/orders/1 не пришёл")
    assert await customer.open_ticket() is not None
    assert db_rows(settings, "SELECT kind FROM message_marks") == []


async def test_spam_in_an_open_case_still_reaches_the_operators_marked(core, settings):
    customer = Customer(core, "4003")
    await customer.say("позовите оператора")
    ticket = await customer.open_ticket()
    forwarded = "Пересланный пост: розыгрыш призов в нашем канале"
    await customer.say(forwarded, forwarded_from_channel=True)
    posted = [
        json.loads(o["payload"])["text"]
        for o in await outbox_items(core)
        if o["channel"] == OPERATORS and o["kind"] == "customer_message"
    ]
    assert posted == [forwarded]
    assert (await customer.open_ticket()).id == ticket.id
    marked = db_rows(settings, "SELECT kind, rule FROM message_marks")
    assert marked == [{"kind": "spam", "rule": "forwarded_channel_post"}]


def test_the_shipped_rules_file_loads():
    assert load_rules(Path(REPO / "config" / "spam.yaml")).rules.crypto_words.words
