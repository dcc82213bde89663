"""Sub-cases of an intent with their own answers (`config/knowledge/subcases.yaml`).

"The card was charged but no order was placed" is a payment question, but the list of
payment methods does not answer it. A sub-case is recognised by word stems: the message
must contain a stem from every group of the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from core.knowledge.base import KnowledgeError
from core.knowledge.folding import fold
from core.knowledge.intents import INTENTS


@dataclass(frozen=True)
class SubCase:
    intent: str
    name: str
    groups: tuple[tuple[str, ...], ...]
    answer: str
    with_order: str = ""

    def matches(self, text: str) -> bool:
        return all(any(stem in text for stem in group) for group in self.groups)


class SubCases:
    def __init__(self, cases: list[SubCase]) -> None:
        self.cases = cases

    @classmethod
    def load(cls, path: Path) -> SubCases:
        if not path.exists():
            return cls([])
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise KnowledgeError(f"{path}: expected a mapping of intents")
        cases: list[SubCase] = []
        for intent, entries in raw.items():
            if intent not in INTENTS:
                raise KnowledgeError(f"{path}: unknown intent '{intent}'")
            for entry in entries or []:
                groups = tuple(
                    tuple(_plain(str(stem)) for stem in group) for group in entry.get("all") or []
                )
                answer = str(entry.get("answer") or "").strip()
                if not groups or not answer or not all(groups):
                    raise KnowledgeError(f"{path}: {intent}: a case needs `all` and `answer`")
                cases.append(
                    SubCase(
                        intent=str(intent),
                        name=str(entry.get("name") or f"{intent}-{len(cases)}"),
                        groups=groups,
                        answer=answer,
                        with_order=str(entry.get("with_order") or "").strip(),
                    )
                )
        return cls(cases)

    def find(self, intent: str, *texts: str) -> SubCase | None:
        """The first case of `intent` that any of the texts matches."""
        plain = [_plain(text) for text in texts if text]
        for case in self.cases:
            if case.intent == intent and any(case.matches(text) for text in plain):
                return case
        return None


def _plain(text: str) -> str:
    return " ".join(fold(text).split())
