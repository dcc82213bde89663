"""End-to-end flows of the VK adapter: fake VK API, real core, a real SQLite file and a real
PostgreSQL database (each test runs on both)."""

from __future__ import annotations

import pytest

from core import buttons
from core.storage.tickets import CLOSED
from core.types import Attachment, CustomerRef

try:
    from tests.fakes.vk_api import SAMPLE_PHOTO
    from tests.vk_helpers import (
        OPERATOR,
        VKEnv,
        button_types,
        eventually,
        payloads,
        vk_classifier,
        vk_env,
    )
except ImportError:  # plain `pytest` without the repo root on sys.path
    from fakes.vk_api import SAMPLE_PHOTO  # type: ignore[no-redef]
    from vk_helpers import (  # type: ignore[no-redef]
        OPERATOR,
        VKEnv,
        button_types,
        eventually,
        payloads,
        vk_classifier,  # noqa: F401
        vk_env,  # noqa: F401
    )

pytestmark = pytest.mark.usefixtures("bots_on_the_test_database")


async def test_order_status_dialog(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    fake.set_user(501, "Иван", "Петров")
    asked = await vk_env.say(501, "где мой заказ")
    assert len(asked) == 1 and "номер" in asked[0]["message"]

    answered = await vk_env.say(501, "12345678-0001")
    assert len(answered) == 1
    reply = answered[0]
    assert "В пути: передан в службу доставки" in reply["message"]
    ids = [p["b"] for p in payloads(reply)]
    assert buttons.OPERATOR in ids and buttons.HELPED in ids
    assert all(set(p) == {"b"} for p in payloads(reply))
    assert reply["keyboard"]["inline"] is True and button_types(reply) == {"callback"}
    assert all(m["random_id"] != 0 for m in vk_env.sent(501))

    conv = await vk_env.core.storage.conversations.find(CustomerRef("vk", "501"))
    assert conv is not None and conv.name == "Иван Петров"
    assert conv.profile_url == "https://vk.com/id501"
    assert len(fake.calls("users.get")) == 1  # the name is cached per user


async def test_operator_request_and_reply(vk_env: VKEnv) -> None:
    told = await vk_env.say(502, "позовите оператора")
    tickets = await vk_env.core.storage.tickets.open_tickets()
    assert len(tickets) == 1
    ticket = tickets[0]
    assert (ticket.channel, ticket.user_id) == ("vk", "502")
    assert any(f"№ {ticket.id}" in m["message"] for m in told)

    before = len(vk_env.sent(502))
    await vk_env.core.desk.reply(ticket.id, OPERATOR, "Здравствуйте!")
    sent = await vk_env.wait_sent(502, before + 1)
    assert sent[-1]["message"] == "Здравствуйте!" and sent[-1]["random_id"] != 0
    assert vk_env.fake.calls("messages.send")[-1]["peer_id"] == "502"

    async def marked_sent() -> bool:
        rows = await vk_env.core.storage.db.fetchall(
            "SELECT status, payload FROM outbox WHERE channel = 'vk' AND payload LIKE ?",
            ("%Здравствуйте!%",),
        )
        return [row["status"] for row in rows] == ["sent"]

    await eventually(marked_sent, what="the outbox row marked sent")


async def test_rating_after_close_with_callback_button(vk_env: VKEnv) -> None:
    fake = vk_env.fake
    ticket = await vk_env.open_ticket(503)
    before = len(vk_env.sent(503))
    await vk_env.core.desk.close(ticket.id, OPERATOR)
    sent = await vk_env.wait_sent(503, before + 1)
    rating = sent[-1]
    assert [p["b"] for p in payloads(rating)] == [f"rate:{ticket.id}:{n}" for n in range(1, 6)]
    assert button_types(rating) == {"callback"}  # the customer's client supports them

    event = fake.push_event(503, {"b": f"rate:{ticket.id}:5"})
    answers = await fake.wait_for("messages.sendMessageEventAnswer")
    assert answers[0]["event_id"] == event["event_id"] and answers[0]["user_id"] == "503"
    thanks = await vk_env.wait_sent(503, before + 2)
    assert "Спасибо" in thanks[-1]["message"]
    rated = await vk_env.core.storage.tickets.get(ticket.id)
    assert rated is not None and rated.status == CLOSED and rated.rating == 5


async def test_photos_both_ways(vk_env: VKEnv) -> None:
    fake, core = vk_env.fake, vk_env.core
    ticket = await vk_env.open_ticket(506)
    fake.push_message(506, "", photo=True)

    async def transcript_files() -> list[Attachment]:
        logged = await core.storage.messages.for_ticket(ticket.id)
        return [a for m in logged for a in m.attachments]

    async def photo_logged() -> bool:
        return any(a.source == "vk" for a in await transcript_files())

    await eventually(photo_logged, what="the customer's photo in the transcript")
    photo = next(a for a in await transcript_files() if a.source == "vk")
    assert photo.kind == "photo" and photo.url.endswith(".png")
    assert photo.ref.startswith("photo506_") and photo.ref.count("_") == 2  # with access_key
    assert await core.files.fetch(photo) == SAMPLE_PHOTO  # the "vk" fetcher downloads it

    png = SAMPLE_PHOTO + b"operator"

    async def from_memory(attachment: Attachment) -> bytes:
        return png

    core.files.register("test", from_memory)
    before = len(vk_env.sent(506))
    operator_photo = Attachment(kind="photo", source="test", data=png, name="p.png")
    await core.desk.reply(ticket.id, OPERATOR, "Вот фото", attachments=[operator_photo])
    sent = await vk_env.wait_sent(506, before + 1)
    assert fake.uploads == [png]
    assert sent[-1]["message"] == "Вот фото"
    assert sent[-1]["attachment"].startswith(f"photo-{fake.group_id}_")
    assert fake.calls("photos.getMessagesUploadServer")[0]["peer_id"] == "506"


async def test_operator_document_and_missing_file(vk_env: VKEnv) -> None:
    fake, core = vk_env.fake, vk_env.core
    ticket = await vk_env.open_ticket(507)

    async def report(attachment: Attachment) -> bytes:
        return b"%PDF-1.4 report"

    core.files.register("test", report)
    before = len(vk_env.sent(507))
    files = [
        Attachment(kind="document", source="test", name="report.pdf"),
        Attachment(kind="document", source="nowhere", name="lost.pdf"),
    ]
    await core.desk.reply(ticket.id, OPERATOR, "Документы", attachments=files)
    sent = await vk_env.wait_sent(507, before + 1)
    assert fake.doc_uploads == [b"%PDF-1.4 report"]
    assert sent[-1]["attachment"].startswith(f"doc-{fake.group_id}_")
    assert sent[-1]["message"].startswith("Документы")
    assert "lost.pdf" in sent[-1]["message"]  # a short note instead of failing


async def test_long_operator_text_in_two_parts(vk_env: VKEnv) -> None:
    ticket = await vk_env.open_ticket(509)
    before = len(vk_env.sent(509))
    paragraph = "Подробный ответ оператора. " * 40  # ~1080 characters
    text = "\n\n".join([paragraph.strip()] * 6)[:6000]
    await vk_env.core.desk.reply(ticket.id, OPERATOR, text)
    sent = (await vk_env.wait_sent(509, before + 2))[before:]
    assert len(sent) == 2
    assert all(0 < len(m["message"]) <= 4000 for m in sent)
    ids = [m["random_id"] for m in sent]
    assert len(set(ids)) == 2 and all(i != 0 for i in ids)
    joined = "".join(m["message"] for m in sent).replace("\n", "")
    assert joined == text.strip().replace("\n", "")
