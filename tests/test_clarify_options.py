"""Which topics a clarifying question offers: the three likeliest (issue 21: three and
"Другое — позвать оператора" served real customers better than two), never a topic the
bot does not offer (manners, "out of scope", an operator) or one below `MIN_SHOWN`."""

from __future__ import annotations

import pytest
from conftest import Customer

from core import buttons
from core.conversation.clarify import MAX_OPTIONS, MIN_SHOWN, NOT_OFFERED
from core.nlu import Prediction


def prediction(*ranked: tuple[str, float]) -> Prediction:
    return Prediction(ranked[0][0], ranked[0][1], "", ranked=tuple(ranked))


@pytest.mark.parametrize(
    ("ranked", "offered"),
    [
        # The three likeliest, however far the third is behind, and never a fourth.
        (
            (("refund", 0.41), ("return_item", 0.36), ("payment", 0.05), ("bonuses", 0.02)),
            ["refund", "return_item", "payment"],
        ),
        (
            (("refund", 0.35), ("return_item", 0.30), ("payment", 0.2), ("bonuses", 0.15)),
            ["refund", "return_item", "payment"],
        ),
        # Topics the bot never offers are skipped, and the next likely ones move up.
        (
            (("greeting", 0.5), ("refund", 0.3), ("operator", 0.1), ("payment", 0.09)),
            ["refund", "payment"],
        ),
        # A topic below MIN_SHOWN is never offered; one at it is.
        ((("refund", 0.9), ("payment", MIN_SHOWN)), ["refund", "payment"]),
        ((("refund", 0.95), ("payment", MIN_SHOWN / 2)), ["refund"]),
    ],
)
async def test_the_likeliest_offered_topics_up_to_three(core, ranked, offered):
    assert MAX_OPTIONS == 3
    assert core.dialog.clarify.options(prediction(*ranked)) == offered


async def test_the_question_a_customer_gets_follows_the_same_rule(core):
    message = "у меня проблема с заказом"
    predicted = core.dialog.classifier.predict(message)
    assert core.dialog.clarify.unsure(predicted), predicted
    expected = [
        name
        for name, p in predicted.ranked
        if name not in NOT_OFFERED and p >= MIN_SHOWN and name in core.kb.answers
    ][:MAX_OPTIONS]
    [question] = await Customer(core).say(message)
    ids = [b.id for b in question.flat_buttons]
    shown = [i.removeprefix(buttons.PICK) for i in ids if i.startswith(buttons.PICK)]
    assert shown == expected
    assert ids[-1] == buttons.OPERATOR  # "Другое — позвать оператора", last
