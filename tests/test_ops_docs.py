"""Issue 20, Docs: the intent list lives in the repository (docs/intents.md) and says what
`core/knowledge/intents.py` says; nothing points at a file outside the repository any more; the
README tells how to find a supergroup's id and which URL to give VK's Callback API."""

from __future__ import annotations

import re

from conftest import REPO

from config.settings import Settings
from core.knowledge.intents import COMPLAINTS, INTENTS, NEEDS_ORDER, NEEDS_PHOTO

DOC = REPO / "docs" / "intents.md"


def table() -> list[tuple[str, set[str]]]:
    """(intent, marks) of each row of the page's table, in order."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        named = re.fullmatch(r"[a-z_]+", cells[0]) and cells[0] != "intent"  # not the header
        if line.startswith("|") and len(cells) == 3 and named:
            marks = {mark.strip() for mark in cells[1].split(",") if mark.strip()}
            rows.append((cells[0], marks))
    return rows


def test_the_page_names_every_intent_in_order():
    assert [name for name, _ in table()] == list(INTENTS)


def test_the_marks_match_the_code():
    marks = dict(table())
    assert {n for n, m in marks.items() if "order" in m} == NEEDS_ORDER
    assert {n for n, m in marks.items() if "complaint" in m} == COMPLAINTS
    assert {n for n, m in marks.items() if "photo" in m} == NEEDS_PHOTO


def test_nothing_points_outside_the_repository():
    for path in [
        REPO / "README.md",
        REPO / "config" / "routing.yaml",
        REPO / "core" / "knowledge" / "intents.py",
    ]:
        assert "shared/intents.md" not in path.read_text(encoding="utf-8"), path
    assert "(docs/intents.md)" in (REPO / "README.md").read_text(encoding="utf-8")


def test_readme_says_how_to_find_the_group_id_and_the_vk_url():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "**Finding the group's id**" in readme
    assert "getUpdates" in readme and '"chat":{"id":-100…}' in readme
    path = Settings.model_fields["vk_callback_path"].default
    port = Settings.model_fields["vk_callback_port"].default
    assert "**The URL to give VK**" in readme
    assert f"https://bot.example.com{path}" in readme and f"({port})" in readme
