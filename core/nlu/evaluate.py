"""Accuracy, macro-F1, per-intent precision/recall and the most confused pairs; with an
answer threshold, also the share answered wrongly above it and the share the bot would
ask about instead (confidence below it)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from core.nlu.classifier import IntentClassifier
from core.nlu.dataset import Example

# Below this confidence the bot asks a clarifying question instead of answering
# (the dialog's default `DialogPolicy.answer_confidence`).
ANSWER_THRESHOLD = 0.5


@dataclass(frozen=True)
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Evaluation:
    total: int
    accuracy: float
    macro_f1: float
    per_intent: list[IntentScore]
    confused: list[tuple[str, str, int]]  # (true, predicted, count), most frequent first
    errors: list[tuple[str, str, str]]  # (true, predicted, text)
    threshold: float = ANSWER_THRESHOLD
    wrong_answered: float = 0.0  # share of all messages: wrong with confidence >= threshold
    clarified: float = 0.0  # share of all messages with confidence below the threshold
    right_answered: float = 0.0  # share of all messages: right with confidence >= threshold
    # (true, predicted, confidence, text) of every error
    errors_with_confidence: tuple[tuple[str, str, float, str], ...] = ()


def evaluate(
    classifier: IntentClassifier,
    examples: Sequence[Example],
    threshold: float = ANSWER_THRESHOLD,
) -> Evaluation:
    predictions = classifier.predict_many([text for text, _ in examples])
    truth = [intent for _, intent in examples]
    predicted = [p.intent for p in predictions]
    confident = [p.confidence >= threshold for p in predictions]
    count = len(examples) or 1
    wrong_answered = sum(
        1 for t, p, c in zip(truth, predicted, confident, strict=True) if c and t != p
    )
    right_answered = sum(
        1 for t, p, c in zip(truth, predicted, confident, strict=True) if c and t == p
    )
    correct = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p)
    intents = sorted(set(truth) | set(predicted))
    scores: list[IntentScore] = []
    for intent in intents:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == intent)
        fp = sum(1 for t, p in zip(truth, predicted, strict=True) if p == intent != t)
        fn = sum(1 for t, p in zip(truth, predicted, strict=True) if t == intent != p)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(IntentScore(intent, precision, recall, f1, tp + fn))
    confused = Counter(
        (t, p) for t, p in zip(truth, predicted, strict=True) if t != p
    ).most_common()
    errors = [(t, p, text) for (text, t), p in zip(examples, predicted, strict=True) if t != p]
    supported = [s for s in scores if s.support]
    return Evaluation(
        total=len(examples),
        accuracy=correct / len(examples) if examples else 0.0,
        macro_f1=sum(s.f1 for s in supported) / len(supported) if supported else 0.0,
        per_intent=scores,
        confused=[(t, p, n) for (t, p), n in confused],
        errors=errors,
        threshold=threshold,
        wrong_answered=wrong_answered / count,
        clarified=sum(1 for c in confident if not c) / count,
        right_answered=right_answered / count,
        errors_with_confidence=tuple(
            (t, p.intent, p.confidence, text)
            for (text, t), p in zip(examples, predictions, strict=True)
            if t != p.intent
        ),
    )


def format_report(result: Evaluation, top: int = 10) -> str:
    lines = [
        f"messages: {result.total}",
        f"accuracy: {result.accuracy:.3f}",
        f"macro-F1: {result.macro_f1:.3f}",
        f"answered wrongly (confidence >= {result.threshold:.2f}): {result.wrong_answered:.1%}",
        f"sent to clarification (confidence < {result.threshold:.2f}): {result.clarified:.1%}",
        f"answered rightly (confidence >= {result.threshold:.2f}): {result.right_answered:.1%}",
        "",
        f"{'intent':<20} {'precision':>9} {'recall':>7} {'f1':>6} {'n':>5}",
    ]
    for s in result.per_intent:
        lines.append(
            f"{s.intent:<20} {s.precision:>9.3f} {s.recall:>7.3f} {s.f1:>6.3f} {s.support:>5}"
        )
    if result.confused:
        lines += ["", "most confused (true → predicted: count):"]
        lines += [f"  {t} → {p}: {n}" for t, p, n in result.confused[:top]]
    return "\n".join(lines)
