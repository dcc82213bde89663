"""The shop's knowledge base: per-intent answers and every other text the bot says.

They live in editable YAML files — `answers.yaml` (an answer per intent and the main menu),
`texts.yaml` (everything else a customer reads) and `desk.yaml` (everything an operator
reads) — validated at start-up and never hard-coded, so another shop changes data, not
code. The files shipped in `config/knowledge/` are the reference: a shop's own folder must
have every text they have, with no placeholder the bot does not fill (`core.knowledge.texts`).

`{shop}` in any text or answer is the shop's name: the `shop` given to `KnowledgeBase.load`
(the setting `SHOP_NAME`), else the text `shop_name` of `texts.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from core.knowledge.intents import INTENTS
from core.knowledge.texts import KnowledgeError, Texts, fill_in

__all__ = ["Answer", "KnowledgeBase", "KnowledgeError", "Texts", "load_canned"]

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "knowledge"


@dataclass(frozen=True)
class Answer:
    intent: str
    title: str
    text: str
    related: tuple[str, ...]


class KnowledgeBase:
    def __init__(
        self,
        answers: dict[str, Answer],
        menu: tuple[str, ...],
        texts: Texts,
        desk: Texts | None = None,
        vocabulary: list[str] | None = None,
    ) -> None:
        self.answers = answers
        self.menu = menu
        self.texts = texts  # what customers read
        self.desk = desk or Texts({}, "desk.yaml")  # what operators read
        self._vocabulary = vocabulary

    @classmethod
    def load(
        cls, folder: Path, reference: Path | None = SHIPPED, shop: str | None = None
    ) -> KnowledgeBase:
        """Read and check the folder's files (against `reference`, the shipped ones);
        `shop` is the shop's name for `{shop}` (None: the text `shop_name`)."""
        raw_texts = _read_yaml(folder / "texts.yaml")
        fill = {"shop": shop or str(raw_texts.get("shop_name") or "").strip()}
        answers_path = folder / "answers.yaml"
        raw = _read_yaml(answers_path)
        answers = _answers(answers_path, raw.get("intents") or {}, fill)
        menu = tuple(str(m) for m in raw.get("menu") or ())
        for name in menu:
            if name not in INTENTS:
                raise KnowledgeError(f"{answers_path}: menu: unknown intent '{name}'")
        texts = _texts(folder, "texts.yaml", reference, fill, raw_texts)
        desk = _texts(folder, "desk.yaml", reference, fill)
        # The words the intent model learns, the same whatever the shop's name (a new name
        # is no reason to train the model again).
        unnamed = _answers(answers_path, raw.get("intents") or {}, {"shop": ""})
        vocabulary = [a.text for a in unnamed.values()] + [a.title for a in unnamed.values()]
        return cls(answers, menu, texts, desk, vocabulary)

    def answer(self, intent: str) -> Answer:
        return self.answers[intent]

    def all_texts(self) -> list[str]:
        """The answers' words, for the intent model's vocabulary."""
        if self._vocabulary is not None:
            return list(self._vocabulary)
        return [a.text for a in self.answers.values()] + [a.title for a in self.answers.values()]


def _answers(path: Path, entries: dict[str, Any], fill: dict[str, str]) -> dict[str, Answer]:
    """An answer for every intent, `{shop}` filled in."""
    answers: dict[str, Answer] = {}
    for intent in INTENTS:
        entry = entries.get(intent)
        if not isinstance(entry, dict) or not str(entry.get("answer", "")).strip():
            raise KnowledgeError(f"{path}: no answer for intent '{intent}'")
        related = tuple(str(r) for r in entry.get("related") or ())
        for name in related:
            if name not in INTENTS:
                raise KnowledgeError(f"{path}: {intent}.related: unknown '{name}'")
        answers[intent] = Answer(
            intent=intent,
            title=fill_in(str(entry.get("title") or intent), fill),
            text=fill_in(str(entry["answer"]).strip(), fill),
            related=related,
        )
    unknown = set(entries) - set(INTENTS)
    if unknown:
        raise KnowledgeError(f"{path}: unknown intents {sorted(unknown)}")
    return answers


def _texts(
    folder: Path,
    name: str,
    reference: Path | None,
    fill: dict[str, str],
    raw: dict[str, Any] | None = None,
) -> Texts:
    texts = Texts(raw if raw is not None else _read_yaml(folder / name), str(folder / name), fill)
    if reference is not None and reference.resolve() != folder.resolve():
        texts.check_against(Texts(_read_yaml(reference / name), str(reference / name)))
    return texts


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KnowledgeError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise KnowledgeError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise KnowledgeError(f"{path}: expected a mapping at the top")
    return data


def load_canned(path: Path) -> dict[str, str]:
    """Operators' saved replies (`/t NAME`)."""
    if not path.exists():
        return {}
    raw = _read_yaml(path)
    return {str(k): str(v).strip() for k, v in (raw.get("replies") or {}).items()}
