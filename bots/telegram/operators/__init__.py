"""The operators' groups: every message or button press there is an operator action.

    operators            only the operators' groups reach it; chat_member updates refresh roles
    └── desk             the gate (`gate.py`): operators only, the role resolved
        ├── buttons      «Взять» / «Закрыть» under a card (`CardAction` callback data)
        ├── commands     /take, /close, /assign, /transfer, /shift, /stats, …
        ├── abuse        /ban, /unban, /spam, /link
        └── replies      answers to the customer, notes, saved replies, anything else
    errors               one handler: refusals shown to the operator, repeats ignored

In a forum the topic names the case; in a plain group, the replied-to card or post does;
anywhere, a command may name the case by number.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import BotCommand, BotCommandScopeChat, ChatMemberUpdated

from bots.telegram.filters import on_loop
from bots.telegram.operators import abuse, buttons, commands, errors, replies
from bots.telegram.operators.desk import TelegramDesk
from bots.telegram.operators.gate import Gate

__all__ = ["TelegramDesk", "build_router", "set_menu"]


async def set_menu(bot: Bot, desk: TelegramDesk) -> None:
    """The operators' commands in each group's command menu."""
    entries = {**commands.MENU, **abuse.MENU}
    menu = [BotCommand(command=name, description=text) for name, text in entries.items()]
    for chat in sorted(desk.groups.chats):
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id=chat))


def build_router(desk: TelegramDesk) -> Router:
    chats = desk.groups.chats
    router = Router(name="operators")
    router.message.filter(on_loop(F.chat.id.in_(chats)))
    router.edited_message.filter(on_loop(F.chat.id.in_(chats)))
    router.callback_query.filter(on_loop(F.message.chat.id.in_(chats)))

    @router.chat_member(on_loop(F.chat.id.in_(chats)))
    async def on_member_change(update: ChatMemberUpdated) -> None:
        await desk.roles.refresh(update)

    gated = Router(name="operators-desk")
    gate = Gate(desk)
    gated.message.outer_middleware(gate)
    gated.edited_message.outer_middleware(gate)
    gated.callback_query.outer_middleware(gate)
    gated.include_routers(
        buttons.build_router(desk),
        commands.build_router(desk),
        abuse.build_router(desk),
        replies.build_router(desk),
    )
    router.include_router(gated)
    errors.attach(router, desk)
    return router
