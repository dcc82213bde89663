"""The operators' group: every message there is an operator action on a ticket.

Only the configured group reaches this router, and the bot's own posts are dropped, so
nothing from anywhere else can reach a customer. In a forum the topic names the ticket;
in a plain group, the replied-to card or post does.
"""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bots.telegram import cards
from bots.telegram.edits import relay_operator_edit
from bots.telegram.filters import on_loop
from bots.telegram.render import split_text
from core import kpi, kpi_export
from core.app import Core
from core.operators import Operator, OperatorError
from core.storage import DuplicateUpdate
from core.types import TELEGRAM, Attachment

log = logging.getLogger(__name__)

HELP = (
    "<b>Как работать с обращениями</b>\n"
    "• Ответ клиенту — обычное сообщение (текст, фото, документ) в теме обращения.\n"
    "• <code>#текст</code> или <code>/note текст</code> — заметка для коллег, клиент не увидит.\n"
    "• /take — взять обращение, /close — закрыть (клиента попросят оценить помощь), "
    "/reopen — открыть снова.\n"
    "• /t ИМЯ — отправить шаблон ответа, /t — список шаблонов.\n"
    "• /queue — очередь ожидающих обращений, /stats [today|week|month] — показатели.\n"
    "• /vip — отметить клиента как VIP, /manager — стать его персональным менеджером.\n"
    "• /compensate — отправить клиенту промокод-компенсацию из пула.\n"
    "• /intent ТЕМА — верная тема первого сообщения клиента (для дообучения бота).\n"
    "Вне темы команды принимают номер: /take 12, /close 12."
)


def update_id(message: Message) -> str:
    """The operator's message as an inbound update: applied once, however often it comes."""
    return f"tg:{message.chat.id}:{message.message_id}"


def operator_of(message: Message | CallbackQuery) -> Operator:
    user = message.from_user
    assert user is not None
    return Operator(str(user.id), user.full_name)


def build_router(core: Core, chat_id: int) -> Router:
    router = Router(name="operators")
    router.message.filter(on_loop((F.chat.id == chat_id) & F.from_user & ~F.from_user.is_bot))
    router.callback_query.filter(on_loop(F.message.chat.id == chat_id))
    router.edited_message.filter(
        on_loop((F.chat.id == chat_id) & F.from_user & ~F.from_user.is_bot)
    )
    desk = core.desk

    async def ticket_of(message: Message, args: str | None = None) -> int | None:
        """The ticket a message is about: an explicit number, the topic, the reply."""
        if args and args.split()[0].lstrip("№#").isdigit():
            return int(args.split()[0].lstrip("№#"))
        if message.is_topic_message and message.message_thread_id is not None:
            thread = await core.storage.threads.by_thread(
                str(chat_id), str(message.message_thread_id)
            )
            if thread is not None:
                ticket = await desk.ticket_for_conversation(thread.conversation_id)
                return ticket.id if ticket else None
        reply = message.reply_to_message
        if reply is not None and not reply.forum_topic_created:
            return await core.storage.threads.ticket_of_post(str(chat_id), str(reply.message_id))
        return None

    async def answer(message: Message, text: str) -> None:
        for part in split_text(text):
            await message.reply(part, parse_mode="HTML")

    @router.message(Command("help", "start"))
    async def on_help(message: Message) -> None:
        await answer(message, HELP)

    @router.message(Command("queue"))
    async def on_queue(message: Message) -> None:
        queue = await desk.queue()
        await answer(message, cards.queue_text(queue, core.kb, core.clock.now()))

    @router.message(Command("take", "close", "reopen"))
    async def on_ticket_command(message: Message, command: CommandObject) -> None:
        ticket_id = await ticket_of(message, command.args)
        if ticket_id is None:
            await answer(
                message,
                "Не понял, о каком обращении речь: напишите в его теме "
                "или укажите номер, например /take 12.",
            )
            return
        operator = operator_of(message)
        once = update_id(message)
        try:
            if command.command == "take":
                ticket = await desk.take(ticket_id, operator, external_id=once)
                await answer(
                    message, f"Обращение №{ticket.id} ведёт {cards.escape(operator.name)}."
                )
            elif command.command == "close":
                await desk.close(ticket_id, operator, external_id=once)
            else:
                await desk.reopen(ticket_id, operator, external_id=once)
                await answer(message, f"Обращение №{ticket_id} снова открыто.")
        except OperatorError as exc:
            await answer(message, cards.escape(str(exc)))
        except DuplicateUpdate:
            pass  # the same message again: done the first time

    @router.message(Command("stats"))
    async def on_stats(message: Message, command: CommandObject, bot: Bot) -> None:
        name = (command.args or "today").strip().lower()
        if name not in ("today", "week", "month"):
            await answer(message, "Период: /stats today, /stats week или /stats month.")
            return
        now = core.clock.now()
        since, until = kpi.period(name, now, core.settings.timezone)
        report = await kpi.compute(
            core.storage,
            since,
            until,
            now,
            core.settings.timezone,
            repeat_days=core.settings.kpi_repeat_days,
        )
        title = {"today": "Сегодня", "week": "За 7 дней", "month": "За 30 дней"}[name]
        picture = await asyncio.to_thread(kpi_export.chart_png, report, title)
        await bot.send_photo(
            chat_id,
            BufferedInputFile(picture, "stats.png"),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            caption=title,
        )
        await answer(message, cards.escape(kpi.summary_text(report, title)))

    @router.message(Command("vip", "manager", "compensate", "intent"))
    async def on_case_command(message: Message, command: CommandObject) -> None:
        ticket_id = await ticket_of(message)
        if ticket_id is None:
            await answer(message, "Эта команда работает в теме обращения.")
            return
        operator = operator_of(message)
        once = update_id(message)
        try:
            if command.command == "vip":
                await desk.mark_vip(ticket_id, operator, external_id=once)
                await answer(message, "Клиент отмечен как VIP: его обращения — первыми в очереди.")
            elif command.command == "manager":
                await desk.set_manager(ticket_id, operator, external_id=once)
                await answer(
                    message,
                    f"{cards.escape(operator.name)} — персональный менеджер клиента: "
                    "вас будут упоминать в каждом его обращении.",
                )
            elif command.command == "compensate":
                given = await core.compensation.give(ticket_id, operator, external_id=once)
                note = f"Промокод {cards.escape(given.code)} отправлен клиенту. "
                note += f"В пуле осталось: {given.remaining}."
                if given.running_low:
                    note += " ⚠️ Промокоды заканчиваются — пополните пул."
                await answer(message, note)
            else:
                intent = (command.args or "").strip()
                text = await desk.label_intent(ticket_id, intent, operator, external_id=once)
                await answer(
                    message,
                    f"Запомнил: «{cards.escape(text[:100])}» — это {cards.escape(intent)}. "
                    "Бот учтёт это после `supportbot train`.",
                )
        except OperatorError as exc:
            await answer(message, cards.escape(str(exc)))
        except DuplicateUpdate:
            pass

    @router.message(Command("note"))
    async def on_note(message: Message, command: CommandObject) -> None:
        await save_note(message, command.args or "")

    @router.message(on_loop(F.text.startswith("#")))
    async def on_hash_note(message: Message) -> None:
        await save_note(message, (message.text or "").lstrip("#").strip())

    async def save_note(message: Message, text: str) -> None:
        ticket_id = await ticket_of(message)
        if ticket_id is None or not text.strip():
            await answer(message, "Заметка сохраняется в теме обращения: /note текст.")
            return
        try:
            await desk.note(ticket_id, operator_of(message), text, external_id=update_id(message))
        except OperatorError as exc:
            await answer(message, cards.escape(str(exc)))
            return
        except DuplicateUpdate:
            return
        await react(message, "✍")

    @router.message(Command("t"))
    async def on_template(message: Message, command: CommandObject) -> None:
        name = (command.args or "").strip()
        if not name or name not in core.canned:
            names = ", ".join(sorted(core.canned)) or "шаблонов нет"
            await answer(message, f"Шаблоны: {cards.escape(names)}. Отправить: /t ИМЯ")
            return
        await relay(message, core.canned[name], ())

    @router.message(on_loop(F.text.startswith("/")))
    async def on_unknown_command(message: Message) -> None:
        await answer(message, "Такой команды нет. /help — что умеет бот.")

    @router.message(on_loop(F.text | F.photo | F.document | F.video | F.voice | F.audio))
    async def on_reply(message: Message) -> None:
        attachments = attachments_of(message)
        await relay(message, message.text or message.caption or "", attachments)

    @router.message(
        on_loop(
            ~F.forum_topic_created
            & ~F.forum_topic_closed
            & ~F.forum_topic_reopened
            & ~F.forum_topic_edited
            & ~F.new_chat_members
            & ~F.left_chat_member
            & ~F.pinned_message
        )
    )
    async def on_other_content(message: Message) -> None:
        if await ticket_of(message) is not None:  # a sticker, a poll… in a case's topic
            await answer(
                message,
                "Это не отправлено клиенту: передаются текст, фото, "
                "документы, видео и голосовые сообщения.",
            )

    async def relay(message: Message, text: str, attachments: tuple[Attachment, ...]) -> None:
        ticket_id = await ticket_of(message)
        if ticket_id is None:
            return  # operators talking among themselves outside any ticket
        ack: dict[str, object] = {"chat_id": message.chat.id, "message_id": message.message_id}
        try:
            await desk.reply(
                ticket_id,
                operator_of(message),
                text,
                attachments,
                ack=ack,
                external_id=update_id(message),
            )
        except OperatorError as exc:
            await answer(message, cards.escape(str(exc)))
        except DuplicateUpdate:
            pass  # a repeated update: the customer has this reply already

    @router.callback_query(on_loop(F.data.startswith("op:")))
    async def on_card_button(query: CallbackQuery, bot: Bot) -> None:
        action, _, number = (query.data or "").removeprefix("op:").partition(":")
        if not number.isdigit() or action not in ("take", "close"):
            await query.answer("Кнопка устарела.")
            return
        operator = operator_of(query)
        once = f"tgcb:{query.id}"
        try:
            if action == "take":
                await desk.take(int(number), operator, external_id=once)
                await query.answer(f"Обращение №{number} ваше.")
            else:
                await desk.close(int(number), operator, external_id=once)
                await query.answer(f"Обращение №{number} закрыто.")
        except OperatorError as exc:
            await query.answer(str(exc)[:190], show_alert=True)
            return
        except DuplicateUpdate:
            return
        if isinstance(query.message, Message):
            view = await desk.view(int(number))
            try:
                await query.message.edit_reply_markup(
                    reply_markup=cards.card_keyboard(view.ticket) if view.ticket.is_open else None
                )
            except TelegramAPIError as exc:
                log.debug("card keyboard not updated: %s", exc)

    @router.callback_query()
    async def on_other_button(query: CallbackQuery) -> None:
        await query.answer("Эта кнопка для клиента.")

    @router.edited_message(on_loop(F.text | F.caption))
    async def on_edited(message: Message) -> None:
        ticket_id = await ticket_of(message)
        if ticket_id is not None:
            await relay_operator_edit(core, ticket_id, operator_of(message).name, message)

    return router


def attachments_of(message: Message) -> tuple[Attachment, ...]:
    if message.photo:
        photo = message.photo[-1]
        return (Attachment("photo", ref=photo.file_id, source=TELEGRAM, name="photo.jpg"),)
    if message.document:
        doc = message.document
        return (
            Attachment(
                "document", ref=doc.file_id, source=TELEGRAM, name=doc.file_name or "document"
            ),
        )
    if message.video:
        return (Attachment("video", ref=message.video.file_id, source=TELEGRAM, name="video.mp4"),)
    if message.voice:
        return (Attachment("voice", ref=message.voice.file_id, source=TELEGRAM, name="voice.ogg"),)
    if message.audio:
        return (
            Attachment(
                "audio",
                ref=message.audio.file_id,
                source=TELEGRAM,
                name=message.audio.file_name or "audio.mp3",
            ),
        )
    return ()


async def react(message: Message, emoji: str) -> None:
    from aiogram.types import ReactionTypeEmoji

    try:
        await message.react([ReactionTypeEmoji(emoji=emoji)])
    except TelegramAPIError as exc:
        log.debug("reaction not set: %s", exc)
