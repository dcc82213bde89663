"""Helpers for the personal-data tests (issue 18): every table of the database dumped as
text over a connection of its own, and a customer history with strings and ids found
nowhere else, to search the dump for."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from config.settings import Settings
from core.app import Core
from core.clock import ManualClock
from core.desk.edits import EditRelay, edit_id
from core.desk.roles import OPERATOR as OPERATOR_ROLE
from core.desk.roles import SENIOR, Operator
from core.reports import kpi
from core.storage.inbox import InboundRecord
from core.types import Attachment, Inbound
from tests.conftest import db_rows

OPS_CHAT = "-1001234567890"
OPERATOR = Operator("777", "Ольга Операторова", OPERATOR_ROLE)
SENIOR_OPERATOR = Operator("778", "Павел Старший", SENIOR)


async def until(check: Callable[[], bool], what: str, limit: float = 30.0) -> None:
    """Wait for a condition, with a generous deadline."""
    deadline = asyncio.get_running_loop().time() + limit
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def tables(settings: Settings) -> list[str]:
    if settings.database_url.startswith("sqlite://"):
        rows = db_rows(
            settings,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )
        return sorted(str(r["name"]) for r in rows)
    rows = db_rows(settings, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return sorted(str(r["tablename"]) for r in rows)


def _text(value: Any) -> str:
    """A value as text; a blob (the published intent model) as the UTF-8 strings in it."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def dump(settings: Settings) -> dict[str, str]:
    """Every table's rows as one text each (values joined), read independently."""
    out = {}
    for table in tables(settings):
        rows = db_rows(settings, f"SELECT * FROM {table}")
        out[table] = "\n".join(" | ".join(_text(v) for v in row.values()) for row in rows)
    return out


def found_in(dumped: dict[str, str], needles: list[str]) -> dict[str, list[str]]:
    """{needle: [tables holding it]} for the needles found anywhere."""
    hits: dict[str, list[str]] = {}
    for needle in needles:
        where = [table for table, text in dumped.items() if needle in text]
        if where:
            hits[needle] = where
    return hits


@dataclass
class History:
    """A customer's unique strings and ids, and their cases."""

    user_id: str
    channel: str
    name: str
    needles: list[str] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)


def kpis(report: kpi.KpiReport) -> dict[str, Any]:
    """The period's KPIs, without the figures of the queue now."""
    data = report.to_dict()
    data.pop("waiting_now")
    data.pop("oldest_wait")
    return json.loads(json.dumps(data, default=str))


async def live_history(
    core: Core, clock: ManualClock, user_id: str, channel: str, tag: str
) -> History:
    """A customer with two cases — one closed and rated with a comment, one open — messages,
    files, an edit, an order number, an operator's reply and note, a labelled message, a
    set-aside update, their chat's lease; their topic, card and posts recorded as the
    Telegram sender records them. `tag` makes every string of theirs unique."""
    name = f"Клиент{tag} Фамилия{tag}"
    history = History(user_id, channel, name)
    prefix = "tg" if channel == "telegram" else channel

    def inbound(text: str = "", n: int = 0, **kw: Any) -> Inbound:
        ext = f"{prefix}:{user_id}:{n}" if n else None
        return Inbound(channel, user_id, text=text, name=name, external_id=ext, **kw)

    engine = core.engine
    photo = Attachment("photo", ref=f"AgACfile{tag}photo", source=channel, name=f"фото{tag}.jpg")
    await engine.handle(inbound(f"здравствуйте, меня зовут {name}, кодовоеслово{tag}", 1))
    clock.advance(30)
    await engine.handle(inbound(f"где мой заказ 12345678-{tag}01", 2))
    clock.advance(30)
    await engine.handle(inbound(f"позовите оператора, секрет{tag}", 3))
    conv = await core.storage.conversations.find(inbound().customer)
    assert conv is not None
    first = await core.storage.tickets.open_for(conv.id)
    assert first is not None
    history.cases.append(first.id)
    await engine.handle(inbound(f"вот фото{tag}", 4, attachments=(photo,)))
    clock.advance(60)
    await core.desk.reply(first.id, OPERATOR, f"ответ оператора для {name}")
    await core.desk.note(first.id, OPERATOR, f"заметка о клиенте{tag}")
    await core.desk.label_intent(first.id, "order_status", OPERATOR)
    relay = EditRelay.of(core)
    original = f"{prefix}:{user_id}:3"
    edit = inbound(f"исправлено{tag}")
    edit = replace(edit, external_id=edit_id(original, 1, edit.text))
    assert await relay.customer_edited(edit, original)
    clock.advance(600)
    await core.desk.close(first.id, OPERATOR)
    await engine.handle(inbound(payload=f"rate:{first.id}:2"))
    await engine.handle(inbound(f"отзыв{tag} был плохой", 5))
    clock.advance(3600)
    await engine.handle(inbound(f"снова нужен оператор, жалоба{tag}", 6))
    await engine.handle(inbound("позовите оператора", 7))
    second = await core.storage.tickets.open_for(conv.id)
    assert second is not None
    history.cases.append(second.id)
    # What the Telegram sender records: the customer's topic, the cards, a post, where an
    # operator's reply landed in the customer's chat.
    now = clock.now()
    async with core.storage.transaction() as tx:
        await tx.threads.save(conv.id, OPS_CHAT, f"9{tag}", now)
        await tx.desk.remember_card(first.id, OPS_CHAT, f"5{tag}1", now)
        await tx.desk.remember_card(second.id, OPS_CHAT, f"5{tag}2", now)
        await tx.threads.remember_post(OPS_CHAT, f"5{tag}3", second.id)
        await tx.reply_copies.remember(
            f"{OPS_CHAT}:4{tag}", first.id, channel, user_id, [f"8{tag}"], now
        )
        # An update of theirs set aside, and their chat's lease.
        raw = {"message": {"from": {"id": user_id, "first_name": name}, "text": f"сбой{tag}"}}
        record = InboundRecord(f"upd{tag}", f"{prefix}:{user_id}", 1, raw)
        await tx.inbox.add(channel, [record], now)
        await tx.inbox.lease(f"{prefix}:{user_id}", core.worker_id, now)
    sql = "SELECT id FROM inbox WHERE external_id = ?"
    rows = await core.storage.db.fetchall(sql, (f"upd{tag}",))
    await core.storage.inbox.failed(int(rows[0]["id"]), "bad", now, dead=True)
    history.needles = [
        user_id,
        name,
        f"Клиент{tag}",
        f"кодовоеслово{tag}",
        f"12345678-{tag}01",
        f"секрет{tag}",
        f"AgACfile{tag}photo",
        f"фото{tag}",
        f"исправлено{tag}",
        f"отзыв{tag}",
        f"жалоба{tag}",
        f"заметка о клиенте{tag}",
        f"сбой{tag}",
    ]
    return history
