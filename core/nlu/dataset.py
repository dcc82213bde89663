"""Reading labelled phrases: the shipped training file and `intent<TAB>text` files."""

from __future__ import annotations

from pathlib import Path

import yaml

Example = tuple[str, str]  # (text, intent)


def load_training(path: Path) -> list[Example]:
    """`intents: {name: [phrase, ...]}`. A phrase YAML did not read as text (an unquoted
    "word: rest" becomes a mapping) is refused: it would be trained on as its repr."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples: list[Example] = []
    for intent, phrases in (raw.get("intents") or {}).items():
        for phrase in phrases or []:
            if not isinstance(phrase, str | int | float):
                raise ValueError(f"{path}: {intent}: not a phrase (quote it): {phrase!r}")
            examples.append((str(phrase), str(intent)))
    return examples


def load_tsv(path: Path) -> list[Example]:
    """Lines `intent<TAB>text`; blank lines, lines starting with `#` and a first line
    `intent<TAB>text` (a header) are skipped."""
    examples: list[Example] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if number == 1 and line.strip().split("\t") == ["intent", "text"]:
            continue
        intent, sep, text = line.partition("\t")
        if not sep:
            raise ValueError(f"{path}:{number}: expected intent<TAB>text")
        examples.append((text, intent.strip()))
    return examples
