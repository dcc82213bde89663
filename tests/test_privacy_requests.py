"""Issue 18, what the customer and the operators say: the request is recognised in its
usual wordings (and not a bank card's details), "какие данные вы храните?" is answered
truthfully, the privacy line comes once under a customer's first answer, "no" keeps
everything, an old confirmation asks again; /forget and /export are for senior operators
only, and nothing more can be done on an erased customer's case."""

from __future__ import annotations

import json

import pytest

from core.desk.action import OperatorError
from core.privacy.detector import Ask
from core.privacy.requests import ERASE, KEEP
from core.types import Inbound
from tests.conftest import all_text, flat_ids
from tests.privacy_helpers import OPERATOR, SENIOR_OPERATOR, live_history

POLICY = "https://shop.example/privacy"


@pytest.mark.parametrize(
    ("text", "ask"),
    [
        ("удалите мои данные", Ask.ERASE),
        ("Удалите, пожалуйста, все мои персональные данные!", Ask.ERASE),
        ("отзываю согласие на обработку персональных данных", Ask.ERASE),
        ("забудьте меня", Ask.ERASE),
        ("сотрите всю переписку со мной", Ask.ERASE),
        ("прошу уничтожить информацию обо мне по 152-ФЗ", Ask.ERASE),
        ("elfkbnt vjb lfyyst", Ask.ERASE),  # typed on the English layout
        ("udalite moi dannye", Ask.ERASE),  # spelt in Latin letters
        ("какие данные вы храните?", Ask.QUESTION),
        ("а что вы храните обо мне", Ask.QUESTION),
        ("где хранятся мои данные", Ask.QUESTION),
        ("как удалить данные карты из приложения", None),  # a bank card: not a request
        ("где мой заказ", None),
        ("как удалить аккаунт", None),  # the shop's account: the `account` answer
    ],
)
async def test_recognised(core, text, ask):
    normalize = core.dialog.classifier.normalizer.normalize
    assert core.privacy.requests.detector.ask(text, normalize) == ask


@pytest.mark.parametrize("settings_overrides", [{"privacy_policy_url": POLICY}])
async def test_privacy_line_once_and_the_question(core):
    customer = Inbound("telegram", "555", name="Вера")
    first = await core.engine.welcome(customer)
    assert first[0].text.endswith(f"персональными данными: {POLICY}")
    again = await core.engine.handle(Inbound("telegram", "555", text="где мой заказ"))
    assert POLICY not in all_text(again)
    [answer] = await core.engine.handle(Inbound("telegram", "555", text="какие данные вы храните?"))
    assert "365 дней после закрытия обращения" in answer.text
    assert "в базе данных магазина" in answer.text and POLICY in answer.text
    assert "удалите мои данные" in answer.text


async def test_no_line_without_a_policy_and_no_keeps(core):
    replies = await core.engine.welcome(Inbound("telegram", "556", name="Вера"))
    assert "персональн" not in all_text(replies)
    [offer] = await core.engine.handle(Inbound("telegram", "556", text="забудьте меня"))
    assert flat_ids(offer) == [ERASE, KEEP]
    [kept] = await core.engine.handle(Inbound("telegram", "556", payload=KEEP))
    assert "ничего не удаляю" in kept.text
    [late] = await core.engine.handle(Inbound("telegram", "556", payload=ERASE))
    assert "уже не действует" in late.text  # "no" withdrew the offer
    assert await core.storage.privacy.acts() == []
    assert await core.storage.conversations.find(Inbound("telegram", "556").customer)


async def test_an_old_confirmation_asks_again(core, clock):
    await core.engine.handle(Inbound("telegram", "557", text="удалите мои данные"))
    clock.advance(2 * 86400)
    [late] = await core.engine.handle(Inbound("telegram", "557", payload=ERASE))
    assert "уже не действует" in late.text and await core.storage.privacy.acts() == []


async def test_a_repeated_request_is_recognised(core, clock):
    await core.engine.handle(Inbound("telegram", "558", text="удалите мои данные"))
    await core.engine.handle(Inbound("telegram", "558", payload=ERASE))
    clock.advance(3600)
    [offer] = await core.engine.handle(Inbound("telegram", "558", text="удалите мои данные"))
    assert "уже удалялись по запросу 01.01.2026" in offer.text


async def test_forget_and_export_are_for_seniors(core, clock):
    anna = await live_history(core, clock, "987654331", "telegram", "31")
    boris = await live_history(core, clock, "987654342", "telegram", "42")
    case = anna.cases[-1]
    with pytest.raises(OperatorError, match="Только старший оператор может удалять данные"):
        await core.desk.forget(case, OPERATOR)
    with pytest.raises(OperatorError, match="Только старший оператор может выгружать данные"):
        await core.desk.export(case, OPERATOR)
    assert await core.storage.privacy.acts() == []

    name, text = await core.desk.export(case, SENIOR_OPERATOR)
    assert name == f"customer-case-{case}.json"
    assert json.loads(text)["customer"] == "telegram:987654331"
    assert [n for n in anna.needles if n not in text] == []
    assert [n for n in boris.needles if n in text] == []

    erased = await core.desk.forget(case, SENIOR_OPERATOR, external_id="tgu:1")
    [act] = await core.storage.privacy.acts()
    assert act.id == erased.act and act.reason == "operator"
    assert act.requested_by == "operator 778 (Павел Старший)"
    for attempt in (
        core.desk.forget(case, SENIOR_OPERATOR),
        core.desk.export(case, SENIOR_OPERATOR),
        core.desk.reopen(case, SENIOR_OPERATOR),
        core.desk.note(anna.cases[0], OPERATOR, "ещё заметка"),
    ):
        with pytest.raises(OperatorError, match="уже удалены"):
            await attempt
