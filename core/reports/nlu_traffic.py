"""The bot's own traffic as the judge: how the model does on the shop's customers.

Two kinds of labels are stored with customer messages (`intent_labels`): the topic a
customer picked in answer to a clarifying question (`core.conversation.clarify.PICK_SOURCE`) and an
operator's `/intent`. Each labelled message is scored three ways:

- **when written**: the intent the bot logged with the message at the time (its top-1
  then);
- **shipped phrases only**: the four outcomes (`core.reports.nlu_outcomes`) and top-1/top-3 of a
  model trained on the shipped phrases alone — it never saw these labels, so this is the
  honest figure;
- **the bot's model**: the same for the model the bots run, trained on the shipped
  phrases *and every label*: optimistic on these very messages, shown to tell what
  retraining changed.

Then what still fails, grouped: label ← the shipped model's action, with counts and an
example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.app import bot_classifier, classifier_for
from core.conversation.clarify import PICK_SOURCE
from core.knowledge.base import KnowledgeBase
from core.reports.nlu_outcomes import (
    ANSWERED_RIGHT,
    OUTCOMES,
    SHORT,
    OutcomeReport,
    act_on,
    describe,
)
from core.storage import Storage
from core.storage.learning import LabelledMessage

PICKS = "customers' picks"
OPERATORS = "operators' labels"


@dataclass(frozen=True)
class TrafficScore:
    group: str
    labelled: tuple[LabelledMessage, ...]
    shipped: OutcomeReport
    current: OutcomeReport

    @property
    def when_written(self) -> float:
        rows = self.labelled
        return sum(1 for m in rows if m.logged_intent == m.intent) / len(rows) if rows else 0.0


def groups(labelled: Sequence[LabelledMessage]) -> dict[str, list[LabelledMessage]]:
    """The labels split by who gave them; empty groups left out."""
    split: dict[str, list[LabelledMessage]] = {
        PICKS: [m for m in labelled if m.labelled_by == PICK_SOURCE],
        OPERATORS: [m for m in labelled if m.labelled_by != PICK_SOURCE],
    }
    return {name: rows for name, rows in split.items() if rows}


async def score_traffic(settings: Any, storage: Storage, kb: KnowledgeBase) -> list[TrafficScore]:
    """Score the shipped-phrases model and the bot's model on every stored label."""
    labelled = await storage.labels.labelled()
    if not labelled:
        return []
    shipped = classifier_for(settings, kb)
    current = await bot_classifier(settings, storage, kb)
    scores = []
    for name, rows in groups(labelled).items():
        examples = [(m.text, m.intent) for m in rows]
        scores.append(
            TrafficScore(
                name,
                tuple(rows),
                await act_on(settings, shipped, examples),
                await act_on(settings, current, examples),
            )
        )
    return scores


def format_traffic(scores: Sequence[TrafficScore], top: int = 15) -> str:
    if not scores:
        return (
            "No labelled messages yet: customers' picks of clarifying questions and "
            "operators' /intent labels appear here."
        )
    header = f"{'':<40} {'n':>5} {'then':>6} " + " ".join(f"{SHORT[o]:>7}" for o in OUTCOMES)
    lines = [header + f" {'top-1':>6} {'top-3':>6}"]
    for score in scores:
        for label, report in (
            ("shipped phrases only", score.shipped),
            ("the bot's model *", score.current),
        ):
            shares = " ".join(f"{report.share(o):>7.1%}" for o in OUTCOMES)
            lines.append(
                f"{score.group + ', ' + label:<40} {report.total:>5} {score.when_written:>6.1%} "
                f"{shares} {report.top1:>6.3f} {report.top3:>6.3f}"
            )
    lines += [
        "",
        "then: the bot's top-1 when the message was written; "
        + ", ".join(f"{SHORT[o]}: {o}" for o in OUTCOMES),
        "* trained on these very labels: optimistic here.",
    ]
    failed: Counter[tuple[str, str]] = Counter()
    example: dict[tuple[str, str], str] = {}
    for score in scores:
        for acted in score.shipped.acted:
            if acted.outcome != ANSWERED_RIGHT:
                key = (acted.truth, describe(acted))
                failed[key] += 1
                example.setdefault(key, acted.text)
    if failed:
        lines += ["", "not answered right by the shipped model (label ← what the bot did: count):"]
        for (truth, did), count in failed.most_common(top):
            lines.append(
                f"  {truth} ← {did}: {count}, e.g. {' '.join(example[truth, did].split())[:120]}"
            )
    return "\n".join(lines)
