"""Texts come from `config/knowledge/`: every key the code asks for is in the shipped files,
and a shop's own folder is held against the shipped one at start-up."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from core.knowledge.base import KnowledgeBase
from core.knowledge.texts import KnowledgeError, Texts, plural_form

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config" / "knowledge"
# A text asked for by a literal key: `texts.get("a.b")`, `self.desk_texts.format("x", …)`,
# `kb.desk.plural("y", n)`. Keys built at run time (f-strings) are checked by the tests of
# the code that builds them.
ASKED = re.compile(
    r"\b(?:texts|desk|\w+_texts)\s*\.\s*(?:get|format|plural|word|has)\(\s*\"([A-Za-z0-9_.]+)\""
)


def keys_asked_for() -> dict[str, str]:
    found: dict[str, str] = {}
    for root in ("core", "bots"):
        for path in (REPO / root).rglob("*.py"):
            for match in ASKED.finditer(path.read_text(encoding="utf-8")):
                found.setdefault(match.group(1), str(path.relative_to(REPO)))
    return found


def test_every_text_the_code_asks_for_is_shipped():
    kb = KnowledgeBase.load(SHIPPED)
    asked = keys_asked_for()
    assert len(asked) > 50  # the scan sees the code (a broken pattern would find nothing)
    missing = {
        key: where for key, where in asked.items() if not kb.texts.has(key) and not kb.desk.has(key)
    }
    assert missing == {}


def shop_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, folder)
    return folder


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_shops_copy_of_the_shipped_files_loads(tmp_path):
    kb = KnowledgeBase.load(shop_copy(tmp_path))
    assert kb.texts.get("menu_prompt")


def test_a_text_missing_from_a_shops_file_is_named(tmp_path):
    folder = shop_copy(tmp_path)
    edit_yaml(folder / "texts.yaml", lambda d: d["order_advice"]["cancel"].pop("delivered"))
    with pytest.raises(KnowledgeError, match=r"texts\.yaml: missing text 'order_advice\.cancel"):
        KnowledgeBase.load(folder)


def test_a_placeholder_the_bot_does_not_fill_is_refused(tmp_path):
    folder = shop_copy(tmp_path)
    edit_yaml(folder / "texts.yaml", lambda d: d.update(order_not_found="Заказ {nomer} не найден"))
    with pytest.raises(KnowledgeError, match=r"'order_not_found' uses \{nomer\}.*fills: number"):
        KnowledgeBase.load(folder)


def test_a_shop_may_leave_a_placeholder_out(tmp_path):
    folder = shop_copy(tmp_path)
    edit_yaml(folder / "texts.yaml", lambda d: d.update(order_not_found="Заказ не найден."))
    assert KnowledgeBase.load(folder).texts.format("order_not_found", number="1") == (
        "Заказ не найден."
    )


def test_word_forms_must_stay_three(tmp_path):
    folder = shop_copy(tmp_path)
    edit_yaml(folder / "texts.yaml", lambda d: d.update(days=["день", "дней"]))
    with pytest.raises(KnowledgeError, match="'days' must list 3 word forms"):
        KnowledgeBase.load(folder)


@pytest.mark.parametrize(
    "count,form",
    [(0, 2), (1, 0), (2, 1), (4, 1), (5, 2), (11, 2), (12, 2), (14, 2), (21, 0), (22, 1),
     (25, 2), (101, 0), (111, 2), (1004, 1), (-1, 0)],
)  # fmt: skip
def test_russian_plural_forms(count, form):
    assert plural_form(count) == form
    texts = Texts({"cases": ["обращение", "обращения", "обращений"]})
    assert texts.plural("cases", count) == f"{count} {texts.word('cases', count)}"
