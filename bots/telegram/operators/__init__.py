"""The operators' groups: every message or button press there is an operator action.

    router               only the operators' groups reach it; chat_member updates refresh roles
    ├── desk             the gate (`gate.py`): operators only, the role resolved
    │   ├── buttons      take / close under a card (`CardAction` callback data)
    │   ├── commands     /take, /close, /reopen, /vip, /manager, /compensate, /intent, /queue, /help
    │   ├── team         /assign, /transfer, /shift
    │   ├── stats        /stats
    │   └── replies      answers to the customer, notes, saved replies, anything else
    └── errors           refusals shown to the operator, repeats ignored

The routers and their handlers are module-level; what they use comes in as handler
parameters (aiogram's dependency injection, `bots.telegram.dispatch.services`): `desk`
(`TelegramDesk`: groups, roles, posting bots, which case a message is about), the core's
services (`cases`, `storage`, `clock`, …) and `desk_texts` (desk.yaml). In a forum the
topic names the case; in a plain group, the replied-to card or post does; anywhere, a
command may name the case by number.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import BotCommand, BotCommandScopeChat, ChatMemberUpdated

from bots.telegram.filters import OperatorsChat
from bots.telegram.operators import buttons, commands, errors, replies, stats, team
from bots.telegram.operators.desk import TelegramDesk
from bots.telegram.operators.gate import Gate
from core.knowledge.texts import Texts

__all__ = ["TelegramDesk", "router", "set_menu"]

router = Router(name="operators")
router.message.filter(OperatorsChat())
router.edited_message.filter(OperatorsChat())
router.callback_query.filter(OperatorsChat())


@router.chat_member(OperatorsChat())
async def on_member_change(update: ChatMemberUpdated, desk: TelegramDesk) -> None:
    await desk.roles.refresh(update)


gated = Router(name="operators-desk")
for observer in (gated.message, gated.edited_message, gated.callback_query):
    observer.outer_middleware(Gate())
gated.include_routers(buttons.router, commands.router, team.router, stats.router, replies.router)
router.include_routers(gated, errors.router)


async def set_menu(bot: Bot, desk: TelegramDesk, desk_texts: Texts) -> None:
    """The operators' commands in each group's command menu."""
    menu = [
        BotCommand(command=name, description=desk_texts.get(f"commands.menu.{name}"))
        for name in commands.MENU
    ]
    for chat in sorted(desk.groups.chats):
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id=chat))
