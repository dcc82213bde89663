"""Which topics a clarifying question offers: the two likeliest, and a third only when it
is not far-fetched (probability at least `MIN_OPTION`); never a topic the bot does not
offer (manners, "out of scope", an operator) or one below `MIN_SHOWN`."""

from __future__ import annotations

import pytest
from conftest import Customer

from core import buttons
from core.conversation.clarify import MIN_OPTION, MIN_SHOWN, NOT_OFFERED
from core.nlu import Prediction


def prediction(*ranked: tuple[str, float]) -> Prediction:
    return Prediction(ranked[0][0], ranked[0][1], "", ranked=tuple(ranked))


@pytest.mark.parametrize(
    ("ranked", "offered"),
    [
        # A third topic well below the line is far-fetched: two buttons.
        (
            (("refund", 0.41), ("return_item", 0.36), ("payment", 0.05), ("bonuses", 0.02)),
            ["refund", "return_item"],
        ),
        # Just under the line: still two.
        (
            (("refund", 0.46), ("return_item", 0.40), ("payment", MIN_OPTION - 0.001)),
            ["refund", "return_item"],
        ),
        # At the line and above: three.
        (
            (("refund", 0.40), ("return_item", 0.30), ("payment", MIN_OPTION)),
            ["refund", "return_item", "payment"],
        ),
        (
            (("refund", 0.35), ("return_item", 0.30), ("payment", 0.2), ("bonuses", 0.15)),
            ["refund", "return_item", "payment"],
        ),
        # Topics the bot never offers are skipped, and the next likely one moves up.
        (
            (("greeting", 0.5), ("refund", 0.3), ("operator", 0.1), ("payment", 0.09)),
            ["refund", "payment"],
        ),
        # Two likely topics are offered however unlikely the second, unless below MIN_SHOWN.
        ((("refund", 0.9), ("payment", 0.02)), ["refund", "payment"]),
        ((("refund", 0.95), ("payment", MIN_SHOWN / 2)), ["refund"]),
    ],
)
async def test_the_third_topic_only_when_it_is_not_far_fetched(core, ranked, offered):
    assert core.dialog.clarify.options(prediction(*ranked)) == offered


async def test_the_question_a_customer_gets_follows_the_same_rule(core):
    message = "у меня проблема с заказом"
    predicted = core.dialog.classifier.predict(message)
    assert core.dialog.clarify.unsure(predicted), predicted
    expected = [
        name
        for name, p in predicted.ranked
        if name not in NOT_OFFERED and p >= MIN_SHOWN and name in core.kb.answers
    ][:3]
    if len(expected) == 3 and dict(predicted.ranked)[expected[2]] < MIN_OPTION:
        expected = expected[:2]
    [question] = await Customer(core).say(message)
    shown = [b.id for b in question.flat_buttons if b.id.startswith(buttons.PICK)]
    assert [name.removeprefix(buttons.PICK) for name in shown] == expected
