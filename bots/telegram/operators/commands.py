"""Operators' commands in a case's topic (or with the case's number anywhere in the group).

Every command reaches here through the gate, so `operator` carries the sender's role; the
desk refuses what the role does not allow (`OperatorError`, shown by the errors handler).
"""

from __future__ import annotations

import asyncio

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message, User

from bots.telegram import cards
from bots.telegram.operators.desk import TelegramDesk, update_id
from bots.telegram.render import escape
from core.abuse import report as abuse_report
from core.desk import roles, team_actions
from core.desk.operators import OperatorError
from core.desk.roles import Operator
from core.reports import export, kpi, off_loop, summary
from core.storage import Ticket

HELP = (
    "<b>Как работать с обращениями</b>\n"
    "• Ответ клиенту — обычное сообщение (текст, фото, документ) в теме обращения.\n"
    "• <code>#текст</code> или <code>/note текст</code> — заметка для коллег, клиент не увидит.\n"
    "• /take — взять обращение, /close — закрыть (клиента попросят оценить помощь), "
    "/reopen — открыть снова.\n"
    "• /assign @имя — передать обращение коллеге (или ответом на его сообщение), "
    "/transfer ГРУППА — перевести в другую группу.\n"
    "• /shift on, /shift off — начать и закончить смену (новые обращения раздаются по очереди "
    "тем, кто на смене), /shift — кто на смене.\n"
    "• /t ИМЯ — отправить шаблон ответа, /t — список шаблонов.\n"
    "• /queue — очередь этой группы.\n"
    "• /intent ТЕМА — верная тема первого сообщения клиента (для дообучения бота).\n"
    "Старшим операторам: /vip — клиент VIP, /manager — стать его персональным менеджером, "
    "/compensate — промокод-компенсация, /stats [today|week|month] — показатели, "
    "/reopen и /assign чужих обращений.\n"
    "Вне темы команды принимают номер: /take 12, /close 12, /assign 12 @имя."
)
# The commands operators see in the group's menu (setMyCommands for each operators' group).
MENU = {
    "help": "Как работать с обращениями",
    "take": "Взять обращение",
    "close": "Закрыть обращение",
    "reopen": "Открыть снова",
    "note": "Заметка для коллег",
    "t": "Шаблон ответа",
    "assign": "Передать коллеге: /assign @имя",
    "transfer": "Перевести в другую группу",
    "shift": "Смена: /shift on или off",
    "queue": "Очередь группы",
    "stats": "Показатели (старшим)",
}
WHICH_CASE = (
    "Не понял, о каком обращении речь: напишите в его теме или укажите номер, например /take 12."
)
PERIODS = {"today": "Сегодня", "week": "За 7 дней", "month": "За 30 дней"}


def build_router(desk: TelegramDesk) -> Router:
    router = Router(name="operators-commands")
    core = desk.core

    async def case_of(message: Message, args: str | None = None) -> Ticket:
        ticket = await desk.ticket_of(message, args)
        if ticket is None:
            raise OperatorError(WHICH_CASE)
        return ticket

    @router.message(Command("help", "start"))
    async def on_help(message: Message) -> None:
        await desk.say(message, HELP)

    @router.message(Command("queue"))
    async def on_queue(message: Message, operator: Operator) -> None:
        core.desk.require(operator, roles.QUEUE)
        queue = await core.desk.queue(desk.department_of(message))
        await desk.say(message, cards.queue_text(queue, core.kb, core.clock.now()))

    @router.message(Command("take", "close", "reopen"))
    async def on_case(message: Message, command: CommandObject, operator: Operator) -> None:
        ticket = await case_of(message, command.args)
        once = update_id(message)
        if command.command == "take":
            taken = await core.desk.take(ticket.id, operator, external_id=once)
            await desk.say(message, f"Обращение №{taken.id} ведёт {escape(operator.name)}.")
        elif command.command == "close":
            await core.desk.close(ticket.id, operator, external_id=once)
        else:
            await core.desk.reopen(ticket.id, operator, external_id=once)
            await desk.say(message, f"Обращение №{ticket.id} снова открыто.")

    @router.message(Command("vip", "manager", "compensate", "intent"))
    async def on_customer(message: Message, command: CommandObject, operator: Operator) -> None:
        ticket = await desk.ticket_of(message)
        if ticket is None:
            raise OperatorError("Эта команда работает в теме обращения.")
        once = update_id(message)
        if command.command == "vip":
            await core.desk.mark_vip(ticket.id, operator, external_id=once)
            await desk.say(message, "Клиент отмечен как VIP: его обращения — первыми в очереди.")
        elif command.command == "manager":
            await core.desk.set_manager(ticket.id, operator, external_id=once)
            await desk.say(
                message,
                f"{escape(operator.name)} — персональный менеджер клиента: "
                "вас будут упоминать в каждом его обращении.",
            )
        elif command.command == "compensate":
            given = await core.compensation.give(ticket.id, operator, external_id=once)
            note = f"Промокод {escape(given.code)} отправлен клиенту. "
            note += f"В пуле осталось: {given.remaining}."
            if given.running_low:
                note += " ⚠️ Промокоды заканчиваются — пополните пул."
            await desk.say(message, note)
        else:
            intent = (command.args or "").strip()
            text = await core.desk.label_intent(ticket.id, intent, operator, external_id=once)
            await desk.say(
                message,
                f"Запомнил: «{escape(text[:100])}» — это {escape(intent)}. "
                "Бот учтёт это после `supportbot train`.",
            )

    @router.message(Command("assign"))
    async def on_assign(message: Message, command: CommandObject, operator: Operator) -> None:
        args = (command.args or "").split()
        explicit = bool(args) and args[0].lstrip("№#").isdigit()
        target = " ".join(args[1:] if explicit else args)
        user = await _named_user(desk, message, target, operator)
        if user is None:
            await desk.say(message, await _assign_help(desk, message))
            return
        ticket = await case_of(message, command.args if explicit else None)
        assignee = await desk.roles.operator(message.chat.id, user)
        await team_actions.assign(
            core.desk, ticket.id, operator, assignee, external_id=update_id(message)
        )
        if explicit:  # typed elsewhere: the case's topic gets the notice, here a short note
            await desk.say(message, f"Обращение №{ticket.id} ведёт {escape(assignee.name)}.")

    @router.message(Command("transfer"))
    async def on_transfer(message: Message, command: CommandObject, operator: Operator) -> None:
        args = (command.args or "").split()
        explicit = bool(args) and args[0].lstrip("№#").isdigit()
        name = " ".join(args[1:] if explicit else args)
        routing = desk.groups.routing
        department = routing.find(name) if name else None
        if department is None or not desk.groups.served(department):
            await desk.say(message, _groups_help(desk, name))
            return
        ticket = await case_of(message, command.args if explicit else None)
        await team_actions.transfer(
            core.desk, ticket.id, operator, department, external_id=update_id(message)
        )
        if explicit:
            title = escape(routing.title(department))
            await desk.say(message, f"Обращение №{ticket.id} передано в группу «{title}».")

    @router.message(Command("shift"))
    async def on_shift(message: Message, command: CommandObject, operator: Operator) -> None:
        department = desk.department_of(message)
        word = (command.args or "").strip().lower()
        if word in ("on", "off", "вкл", "выкл"):
            on = word in ("on", "вкл")
            on_shift = await team_actions.set_shift(core.desk, operator, department, on)
            head = "Вы на смене." if on else "Смена закончена: новые обращения вам не придут."
        else:
            on_shift = await core.storage.desk.on_shift(department)
            head = "/shift on — начать смену, /shift off — закончить."
        names = ", ".join(escape(o.name) for o in on_shift) or "никого"
        auto = core.team is not None and core.team.assignment.auto
        tail = "" if auto else " (автоназначение выключено: AUTO_ASSIGN)"
        await desk.say(message, f"{head}\nНа смене: {names}{tail}")

    @router.message(Command("stats"))
    async def on_stats(
        message: Message, command: CommandObject, bot: Bot, operator: Operator
    ) -> None:
        core.desk.require(operator, roles.STATS)
        name = (command.args or "today").strip().lower()
        if name not in PERIODS:
            await desk.say(message, "Период: /stats today, /stats week или /stats month.")
            return
        now = core.clock.now()
        timezone = core.settings.timezone
        since, until = kpi.period(name, now, timezone)
        policy = core.team.sla.policy if core.team is not None else None
        report = await off_loop.kpi_report(
            core.storage,
            since,
            until,
            now,
            timezone,
            policy,
            repeat_days=core.settings.kpi_repeat_days,
        )
        title = PERIODS[name]
        picture = await asyncio.to_thread(export.chart_png, report, core.kb.desk, title)
        poster = await desk.pool.reserve_interactive(message.chat.id)
        await poster.bot.send_photo(
            message.chat.id,
            BufferedInputFile(picture, "stats.png"),
            message_thread_id=message.message_thread_id if message.is_topic_message else None,
            caption=title,
        )
        text = summary.summary_text(report, title, core.kb.desk)
        text += "\n" + await abuse_report.stats_line(core.storage, core.kb.desk, since, until)
        await desk.say(message, escape(text))

    return router


async def _named_user(
    desk: TelegramDesk, message: Message, target: str, operator: Operator
) -> User | None:
    """Whom `/assign` names: a mention, @username, "me", or the author of the replied message."""
    for entity in message.entities or ():
        if entity.type == "text_mention" and entity.user is not None:
            return entity.user
    word = target.strip()
    if word.lower() in ("me", "я", "мне", "себе"):
        if not operator.id.isdigit():
            return None  # an anonymous admin cannot hold a case
        return User(id=int(operator.id), is_bot=False, first_name=operator.name)
    if word.startswith("@"):
        member = await desk.core.storage.desk.by_username(str(message.chat.id), word)
        if member is None:
            raise OperatorError(
                f"Не знаю {word}: пусть он напишет что-нибудь в группе, "
                "или ответьте командой на его сообщение."
            )
        return User(id=int(member.user_id), is_bot=False, first_name=member.name, username=None)
    reply = message.reply_to_message
    if not word and reply is not None and not reply.forum_topic_created:
        author = reply.from_user
        if author is not None and not author.is_bot:
            return author
    return None


async def _assign_help(desk: TelegramDesk, message: Message) -> str:
    on_shift = await desk.core.storage.desk.on_shift(desk.department_of(message))
    names = ", ".join(escape(o.name) for o in on_shift) or "никого"
    return (
        "Кому передать? /assign @имя, /assign me или ответьте командой /assign на сообщение "
        f"коллеги. На смене: {names}."
    )


def _groups_help(desk: TelegramDesk, name: str) -> str:
    known = ", ".join(
        f"{key} ({escape(desk.groups.title(key))})"
        for key in desk.groups.by_department
        if key in desk.groups.routing.titles
    )
    head = f"Группы «{escape(name)}» нет. " if name else ""
    return f"{head}Куда перевести: /transfer ГРУППА. Группы: {known}."
