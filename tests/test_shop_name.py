"""The shipped bot is a neutral demo shop: no marketplace's brand, made-up contacts, and the
shop's name a setting (`SHOP_NAME`) that fills `{shop}` wherever a text uses it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, Customer

from config.settings import SettingsError, load_settings
from core.knowledge.base import KnowledgeBase

SHIPPED = REPO / "config" / "knowledge"
# Everything the bot may say to a customer or an operator, as shipped.
SHIPPED_FILES = [*sorted(SHIPPED.glob("*.yaml")), REPO / "config" / "orders_demo.yaml"]
BRANDS = re.compile(
    r"ozon|озон|wildberries|вайлдберр|валдберр|\bwb\b|яндекс\s*маркет|yandex\s*market|"
    r"aliexpress|алиэкспресс|мегамаркет|megamarket|lamoda|ламода|avito|авито|"
    r"сбермаркет|kazanexpress|казаньэкспресс|магнит\s*маркет",
    re.IGNORECASE,
)
PHONE = re.compile(r"(?:\+7|\b8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}")
MADE_UP_PHONE = "+7 (000) 000-00-00"  # no such code: 000 is not a Russian area code
# E-mails and sites: only the domain reserved for examples (RFC 2606).
ADDRESS = re.compile(r"[\w.-]+@[\w-]+(?:\.[\w-]+)+|\b[\w-]+\.(?:ru|com|net|org|su|рф|example)\b")


def shipped_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in SHIPPED_FILES)


def test_the_shipped_knowledge_names_no_marketplace():
    assert len(SHIPPED_FILES) >= 6
    found = sorted({m.group(0).lower() for m in BRANDS.finditer(shipped_text())})
    assert found == []


def test_the_shipped_contacts_are_made_up():
    text = shipped_text()
    phones = PHONE.findall(text)
    assert phones  # the pattern sees the demo's hotline
    assert set(phones) == {MADE_UP_PHONE}
    addresses = set(ADDRESS.findall(text))
    assert "support@shop.example" in addresses
    assert {a for a in addresses if not a.endswith("shop.example")} == set()


def test_the_shop_name_fills_every_text():
    assert "{shop}" in (SHIPPED / "answers.yaml").read_text(encoding="utf-8")
    kb = KnowledgeBase.load(SHIPPED, shop="Ромашка")
    greeting = kb.answer("greeting").text
    assert greeting.startswith("Здравствуйте! 👋 Вас приветствует Ромашка.")
    texts = [a.text for a in kb.answers.values()] + [a.title for a in kb.answers.values()]
    texts += [kb.texts.get(key) for key, v in kb.texts.keys().items() if isinstance(v, str)]
    texts += [kb.desk.get(key) for key, v in kb.desk.keys().items() if isinstance(v, str)]
    assert [t for t in texts if "{shop}" in t] == []


def test_unset_the_shop_is_called_neutrally():
    kb = KnowledgeBase.load(SHIPPED)
    assert "Вас приветствует наш магазин." in kb.answer("greeting").text
    assert kb.texts.fill == {"shop": "наш магазин"}


def test_the_model_does_not_depend_on_the_shops_name():
    named = KnowledgeBase.load(SHIPPED, shop="Ромашка")
    assert named.all_texts() == KnowledgeBase.load(SHIPPED).all_texts()


def test_a_shop_may_use_its_name_in_any_text(tmp_path: Path):
    folder = tmp_path / "knowledge"
    shutil.copytree(SHIPPED, folder)
    texts = yaml.safe_load((folder / "texts.yaml").read_text(encoding="utf-8"))
    texts["helped_reply"] = "Рады помочь! {shop} на связи."
    texts["order_not_found"] = "{shop} не нашёл заказ {number}."
    (folder / "texts.yaml").write_text(yaml.safe_dump(texts, allow_unicode=True), "utf-8")
    kb = KnowledgeBase.load(folder, shop="Ромашка")
    assert kb.texts.get("helped_reply") == "Рады помочь! Ромашка на связи."
    assert kb.texts.format("order_not_found", number="1-2") == "Ромашка не нашёл заказ 1-2."


async def test_the_bot_introduces_itself_with_the_setting(make_core, settings_with):
    core = await make_core(settings=settings_with(shop_name="Ромашка"))
    [greeting] = await Customer(core).start()
    assert "Вас приветствует Ромашка." in greeting.text
    assert "{shop}" not in greeting.text


def test_the_setting_is_checked():
    assert load_settings(_env_file=None).shop_name is None
    assert load_settings(_env_file=None, shop_name="Ромашка").shop_name == "Ромашка"
    with pytest.raises(SettingsError, match="SHOP_NAME"):
        load_settings(_env_file=None, shop_name="x" * 101)
