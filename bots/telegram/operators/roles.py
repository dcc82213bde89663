"""Who is who in the operators' groups, asked from Telegram.

An operator is a member of the group (getChatMember; with `OPERATOR_IDS` set, only the
members listed there); a senior operator is listed in `SENIOR_OPERATOR_IDS`, or — when
that list is empty — an admin of the group. An anonymous admin (a message signed by the
group itself) is the group's senior operator. Answers are cached in the database for
`OPERATOR_ROLES_CACHE_SECONDS` (shared by replicas) and refreshed at once by the
`chat_member` updates Telegram sends to an admin bot.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ChatMemberUpdated, User

from core.app import Core
from core.desk import roles
from core.desk.roles import Operator

log = logging.getLogger(__name__)

MEMBER = ("creator", "administrator", "member")
ADMINS = ("creator", "administrator")


class TelegramRoles:
    def __init__(self, core: Core, bot: Bot, settings: Any) -> None:
        self.core = core
        self.bot = bot  # the main bot asks Telegram (it is an admin of every group)
        self.operator_ids = frozenset(str(i) for i in (settings.operator_ids or ()))
        self.senior_ids = frozenset(str(i) for i in (settings.senior_operator_ids or ()))
        self.cache_seconds = float(settings.operator_roles_cache_seconds)

    async def role_of(self, chat_id: int, user: User) -> str:
        user_id = str(user.id)
        if user_id in self.senior_ids:
            await self._status(chat_id, user)  # remembered for /assign @name
            return roles.SENIOR
        status = await self._status(chat_id, user)
        if status not in MEMBER:
            return roles.OUTSIDER
        if not self.senior_ids and status in ADMINS:
            return roles.SENIOR
        if self.operator_ids and user_id not in self.operator_ids:
            return roles.OUTSIDER
        return roles.OPERATOR

    async def operator(self, chat_id: int, user: User) -> Operator:
        return Operator(str(user.id), user.full_name, await self.role_of(chat_id, user))

    async def operator_by_id(self, chat_id: int, user_id: int, name: str) -> Operator:
        """An operator named in a command (`/assign`), checked like anyone else."""
        user = User(id=user_id, is_bot=False, first_name=name)
        member = await self.core.storage.desk.member(str(chat_id), str(user_id))
        if member is not None and member.name:
            user = User(id=user_id, is_bot=False, first_name=member.name, username=None)
        return await self.operator(chat_id, user)

    async def seniors(self, chat_id: int) -> list[tuple[str, str]]:
        """(id, name) of the senior operators to mention in the group; the name is empty
        for a senior listed in the settings whom the bot never saw."""
        if self.senior_ids:
            found = []
            for user_id in sorted(self.senior_ids):
                member = await self.core.storage.desk.member(str(chat_id), user_id)
                found.append((user_id, member.name if member and member.name else ""))
            return found
        try:
            admins = await self.bot.get_chat_administrators(chat_id)
        except TelegramAPIError as exc:
            log.info("admins of %s not read: %s", chat_id, exc)
            return []
        return [(str(a.user.id), a.user.full_name) for a in admins if not a.user.is_bot]

    async def first_notice(self, chat_id: int, user_id: int) -> bool:
        """True the first time an outsider is to be told they change nothing here."""
        async with self.core.storage.transaction() as tx:
            return await tx.desk.mark_noticed(str(chat_id), str(user_id), self.core.clock.now())

    async def refresh(self, update: ChatMemberUpdated) -> None:
        """A chat_member update: the member's new status replaces the cached one."""
        user = update.new_chat_member.user
        async with self.core.storage.transaction() as tx:
            await tx.desk.remember_member(
                str(update.chat.id),
                str(user.id),
                _status(update.new_chat_member),
                user.username or "",
                user.full_name,
                self.core.clock.now(),
            )

    async def _status(self, chat_id: int, user: User) -> str:
        desk = self.core.storage.desk
        now = self.core.clock.now()
        cached = await desk.member(str(chat_id), str(user.id))
        if cached is not None and now - cached.checked_at < self.cache_seconds:
            if (user.username or "").lower() != cached.username or user.full_name != cached.name:
                await self._remember(chat_id, user, cached.status, cached.checked_at)
            return cached.status
        try:
            member = await self.bot.get_chat_member(chat_id, user.id)
        except TelegramAPIError as exc:
            if cached is not None:  # Telegram is unreachable: the last answer still holds
                log.warning("getChatMember failed (%s): using the cached status", exc)
                return cached.status
            raise
        status = _status(member)
        await self._remember(chat_id, user, status, now)
        return status

    async def _remember(self, chat_id: int, user: User, status: str, at: float) -> None:
        async with self.core.storage.transaction() as tx:
            await tx.desk.remember_member(
                str(chat_id), str(user.id), status, user.username or "", user.full_name, at
            )


def _status(member: Any) -> str:
    status = str(member.status)
    if status == "restricted":  # a member who may not do everything is still a member
        return "member" if getattr(member, "is_member", False) else "left"
    return status
