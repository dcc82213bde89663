"""Pure parts of the VK adapter: rendering, parsing, error mapping, ids, rate limit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bots.vk import errors
from bots.vk.callback import CallbackServer
from bots.vk.inbound import (
    UNKNOWN_PREFIX,
    largest_photo_url,
    parse_message_new,
    parse_payload,
    unsupported_names,
)
from bots.vk.polling import StatePolling
from bots.vk.ratelimit import RateLimiter
from bots.vk.render import (
    INLINE,
    ClientCaps,
    fit_rows,
    keyboard_json,
    label,
    render,
    split_text,
    utf16_len,
)
from bots.vk.sender import answer_random_id, file_note, outbox_random_id
from core import buttons
from core.knowledge.base import KnowledgeBase
from core.runtime.delivery import PermanentFailure, RetryLater
from core.types import Attachment, Button, Reply

CALLBACK = ClientCaps(inline=True, callback=True)
TEXT = ClientCaps(inline=True, callback=False)


def topics(n: int) -> tuple[Button, ...]:
    return tuple(buttons.topic(f"t{i}", f"Тема {i}") for i in range(n))


def operator() -> Button:
    return Button(buttons.OPERATOR, "Позвать оператора")


# ---------------------------------------------------------------- keyboards
def test_keyboard_payloads_and_types() -> None:
    rows = ((Button(buttons.HELPED, "Помогло"), operator()),)
    for caps, kind in ((CALLBACK, "callback"), (TEXT, "text")):
        keyboard = json.loads(keyboard_json(rows, caps) or "{}")
        actions = [b["action"] for row in keyboard["buttons"] for b in row]
        assert keyboard["inline"] is True and {a["type"] for a in actions} == {kind}
        assert [json.loads(a["payload"]) for a in actions] == [{"b": "helped"}, {"b": "operator"}]


def test_keyboard_for_a_client_without_inline_keyboards() -> None:
    keyboard = json.loads(keyboard_json(((operator(),),), ClientCaps(inline=False)) or "{}")
    assert "inline" not in keyboard and keyboard["one_time"] is True
    assert keyboard["buttons"][0][0]["action"]["type"] == "text"


def test_overflow_drops_topics_never_the_operator() -> None:
    rows = (topics(7), topics(7), (operator(),))
    fitted = fit_rows(rows, INLINE)
    flat = [b for row in fitted for b in row]
    assert len(flat) == 10 and all(len(row) <= 5 for row in fitted) and len(fitted) <= 6
    assert flat[-1].id == buttons.OPERATOR
    assert [b.title for b in flat[:5]] == [f"Тема {i}" for i in range(5)]  # the first kept


def test_too_many_rows_are_cut() -> None:
    rows = (*((b,) for b in topics(8)), (operator(),))
    fitted = fit_rows(rows, INLINE)
    assert len(fitted) == 6 and fitted[-1][0].id == buttons.OPERATOR


def test_labels_are_cut_to_40_characters() -> None:
    assert label("Очень длинное название кнопки, которое не помещается") == (
        "Очень длинное название кнопки, которое…"
    )
    assert len(label("x" * 100)) == 40 and label("  два   слова ") == "два слова"


def test_render_splits_text_and_puts_keyboard_last() -> None:
    reply = Reply(("Абзац. " * 400 + "\n\n") * 3, ((operator(),),))
    parts = render(reply, CALLBACK)
    assert len(parts) >= 2 and all(0 < len(p.text) <= 4000 for p in parts)
    assert all(p.keyboard is None for p in parts[:-1]) and parts[-1].keyboard
    assert render(Reply("   ", ((operator(),),)), CALLBACK) == []  # nothing empty is sent


def test_split_text_prefers_paragraphs_then_lines_then_spaces() -> None:
    a, b = "а" * 3000, "б" * 3000
    assert split_text(f"{a}\n\n{b}") == [a, b]
    assert split_text(f"{a}\n{b}") == [a, b]
    assert split_text(f"{a} {b}") == [a, b]
    no_spaces = "в" * 9000
    assert [len(p) for p in split_text(no_spaces)] == [4000, 4000, 1000]
    assert split_text("") == []


# ---------------------------------------------------------------- inbound
def message(**fields: object) -> dict:
    base = {"peer_id": 42, "from_id": 42, "text": "", "conversation_message_id": 7}
    return {"message": {**base, **fields}, "client_info": {"button_actions": ["text"]}}


def test_parse_private_message() -> None:
    incoming = parse_message_new(message(text="привет"))
    assert incoming is not None
    assert incoming.external_id == "vk:42:7" and incoming.text == "привет"
    assert incoming.caps == ClientCaps(inline=True, callback=False)


@pytest.mark.parametrize(
    "fields", [{"peer_id": 2_000_000_001}, {"from_id": -5, "peer_id": -5}, {"out": 1}]
)
def test_ignored_messages(fields: dict) -> None:
    assert parse_message_new(message(**fields)) is None


def test_payloads() -> None:
    assert parse_payload('{"b": "operator"}') == ("operator", False)
    assert parse_payload({"b": "rate:1:5"}) == ("rate:1:5", False)
    assert parse_payload('{"command":"start"}') == (None, True)
    assert parse_payload(None) == (None, False)
    for raw in ('{"cmd": 1}', "not json", {"b": 5}, '"?x"'):
        button, start = parse_payload(raw)
        assert button is not None and button.startswith(UNKNOWN_PREFIX) and not start
    # a Text button of a foreign keyboard: its label is read as text
    incoming = parse_message_new(message(text="Где заказ", payload='{"cmd": "x"}'))
    assert incoming is not None and incoming.payload is None


def test_attachments() -> None:
    photo = {
        "id": 5, "owner_id": 42, "access_key": "ak",
        "sizes": [{"type": "m", "url": "m.jpg", "width": 130, "height": 100},
                  {"type": "z", "url": "z.jpg", "width": 1080, "height": 800},
                  {"type": "x", "url": "x.jpg", "width": 604, "height": 400}],
    }  # fmt: skip
    attachments = [
        {"type": "photo", "photo": photo},
        {"type": "doc", "doc": {"id": 6, "owner_id": 42, "title": "a.pdf", "url": "d"}},
        {"type": "audio_message", "audio_message": {"id": 8, "owner_id": 42, "link_mp3": "v"}},
        {"type": "sticker", "sticker": {"sticker_id": 1}},
        {"type": "wall", "wall": {}},
    ]
    incoming = parse_message_new(message(attachments=attachments))
    assert incoming is not None
    photo_att, doc, voice = incoming.attachments
    assert (photo_att.kind, photo_att.url, photo_att.ref, photo_att.source) == (
        "photo", "z.jpg", "photo42_5_ak", "vk")  # fmt: skip
    assert (doc.kind, doc.name, doc.url, doc.ref) == ("document", "a.pdf", "d", "doc42_6")
    assert (voice.kind, voice.url) == ("voice", "v")
    assert incoming.unsupported == ("sticker", "wall")
    assert largest_photo_url({"sizes": []}) == ""


def test_forwarded_only_and_geo_are_named(kb: KnowledgeBase) -> None:
    fwd = parse_message_new(message(fwd_messages=[{"text": "x"}]))
    assert fwd is not None and fwd.unsupported == ("forwarded",)
    assert unsupported_names(fwd.unsupported, kb.texts) == "пересланное сообщение"
    geo = parse_message_new(message(geo={"coordinates": {}}))
    assert geo is not None and geo.unsupported == ("geo",)
    assert unsupported_names(geo.unsupported, kb.texts) == "геолокация"


def test_unsupported_kinds_are_named_from_the_texts(kb: KnowledgeBase) -> None:
    attachments = [
        {"type": "sticker", "sticker": {"sticker_id": 1}},
        {"type": "wall", "wall": {}},
        {"type": "sticker", "sticker": {"sticker_id": 2}},
        {"type": "hologram", "hologram": {}},  # a type VK may add one day
        {"type": "Bad.Type", "x": {}},
    ]
    incoming = parse_message_new(message(attachments=attachments))
    assert incoming is not None
    assert incoming.unsupported == ("sticker", "wall", "hologram", "other")
    # Each name once, in order; a type without a name of its own is "вложение".
    assert unsupported_names(incoming.unsupported, kb.texts) == "стикер, запись со стены, вложение"


# ---------------------------------------------------------------- errors and ids
def test_error_classification(kb: KnowledgeBase) -> None:
    retry = errors.classify(6, kb.desk)
    assert isinstance(retry, RetryLater) and retry.after == 1.0
    for code in (901, 902, 7, 900, 100, 911, 914):
        failure = errors.classify(code, kb.desk)
        assert isinstance(failure, PermanentFailure) and f"VK {code}" in failure.reason
    assert "запретил сообщения" in errors.classify(901, kb.desk).reason  # type: ignore[union-attr]
    assert errors.classify(10, kb.desk) is None and errors.classify(None, kb.desk) is None


def test_random_ids() -> None:
    ids = {outbox_random_id(item, part) for item in range(1, 200) for part in range(3)}
    assert len(ids) == 199 * 3 and all(0 < i < 2**30 for i in ids)
    assert outbox_random_id(5, 0) == outbox_random_id(5, 0)
    answer = answer_random_id("vk:1:2#0", 0)
    assert answer == answer_random_id("vk:1:2#0", 0) and 2**30 <= answer < 2**31
    assert answer != answer_random_id("vk:1:2#0", 1)


def test_file_notes_never_leak_a_bot_token(kb: KnowledgeBase) -> None:
    tg = Attachment("photo", url="https://api.telegram.org/file/bot123:ABC/photos/1.jpg")
    note = file_note(tg, kb.texts)
    assert "bot123" not in note and "Не получилось" in note
    assert note == kb.texts.get("vk.file_missing.photo")
    link = Attachment("document", url="https://example.com/a.pdf", name="a.pdf")
    assert "https://example.com/a.pdf" in file_note(link, kb.texts)
    assert file_note(link, kb.texts) == kb.texts.format(
        "vk.file_link.document", name="a.pdf", link="https://example.com/a.pdf"
    )
    unnamed = Attachment("document", url="ftp://example.com/x")
    assert file_note(unnamed, kb.texts) == kb.texts.format(
        "vk.file_missing.document", name=kb.texts.get("vk.unnamed_file")
    )


# ---------------------------------------------------------------- rate limit, polling
async def test_rate_limiter_keeps_every_window_under_the_limit() -> None:
    limiter = RateLimiter(3, per=0.1)
    loop = asyncio.get_running_loop()
    starts: list[float] = []

    async def call() -> None:
        await limiter.acquire()
        starts.append(loop.time())

    began = loop.time()
    await asyncio.gather(*(call() for _ in range(10)))
    assert loop.time() - began >= 0.29  # 10 calls, 3 per 0.1 s: the 10th waits 0.3 s
    assert len(starts) == 10
    # The schedule itself, on a controlled clock (the moments above jitter on a loaded
    # machine): a burst, then calls arriving later.
    scheduler = RateLimiter(3, per=0.1)
    arrivals = [0.0] * 10 + [0.25, 0.62, 0.63, 0.64, 0.65, 2.0]
    slots = [scheduler.reserve(at) for at in arrivals]
    expected = [0, 0, 0, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.3, 0.3, 0.62, 0.63, 0.64, 0.72, 2.0]
    assert slots == pytest.approx(expected)
    assert all(slot >= at for slot, at in zip(slots, arrivals, strict=True))
    for i in range(len(slots) - 3):
        assert slots[i + 3] - slots[i] >= 0.1 - 1e-9
    assert RateLimiter.per_second(15).calls == 15
    half = RateLimiter.per_second(0.5)
    assert (half.calls, half.per) == (1, 2.0)


def test_polling_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    stateless = StatePolling(None, group_id=7)
    stateless.save_server_ts({"ts": "5"})
    assert stateless.restore_server_ts({"ts": "9"}) == {"ts": "9"}
    assert not (tmp_path / ".vkbottle").exists()

    kept = StatePolling(tmp_path / "state", group_id=7)
    kept.save_server_ts({"ts": "5"})
    assert (tmp_path / "state" / "7.json").exists()
    restarted = StatePolling(tmp_path / "state", group_id=7)
    assert restarted.restore_server_ts({"ts": "9", "key": "k"}) == {"ts": "5", "key": "k"}
    assert not (tmp_path / ".vkbottle").exists()


def test_callback_needs_secret_and_confirmation() -> None:
    with pytest.raises(ValueError, match="VK_CALLBACK_SECRET"):
        CallbackServer(lambda update: None, confirmation="abc", secret="")


def test_split_text_counts_emoji_twice() -> None:
    pieces = split_text("😀" * 3000)
    assert [len(p) for p in pieces] == [2000, 1000]
    assert all(utf16_len(p) <= 4000 for p in pieces)
