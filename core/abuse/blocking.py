"""Blocking customers, marking a case as spam, and linking two cases' customers as one
person — operator actions, each one unit of work (`core.desk.action`): the operator's
update is claimed, every conversation of the person is taken (a turn of theirs decided
meanwhile is decided again), and everything is written in one transaction and logged.

- `/ban [reason]` blocks the case's customer in every channel where we know them (every
  conversation an operator linked to theirs): their open cases close, they get one
  notice, and what they write from then on is kept, marked, never answered or posted;
- `/spam` does the same with the reason "spam" and adds the case's customer messages to
  the examples the `known_spam` rule matches;
- `/unban` lifts the block (of the whole person);
- `/link N` says the case's customer and case N's are one person (a Telegram and a VK
  account, say): a block then covers both, and one already there extends to both.

An outsider changes nothing: the desk refuses them (`roles`), whatever the adapter did.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.abuse.spam import normalize
from core.desk.action import Action, ActionRunner, OperatorError
from core.desk.roles import Operator
from core.events import CustomerBlocked, CustomerReply
from core.knowledge.texts import Texts
from core.storage import Ticket
from core.storage import messages as log_kind
from core.storage.abuse import SPAM, Ban
from core.storage.tickets import CLOSED
from core.types import OPERATORS, Reply

log = logging.getLogger(__name__)

BAN = "ban"  # the action's name for the roles: any operator, never an outsider
BLOCKED_EVENT = "blocked"  # ticket_events kinds
UNBLOCKED_EVENT = "unblocked"
LINKED_EVENT = "linked"
SPAM_EXAMPLES_PER_CASE = 20


@dataclass(frozen=True)
class Blocked:
    """What a block did: the people's conversations and the cases it closed."""

    conversations: list[int]
    closed: list[int]


class Blocking:
    """The actions; `texts` are the customers' (the one notice), the desk's texts word
    notes and refusals."""

    def __init__(self, desk: ActionRunner, texts: Texts) -> None:
        self.desk = desk
        self.texts = texts

    @property
    def desk_texts(self) -> Texts:
        return self.desk.desk_texts

    async def ban(
        self,
        ticket_id: int,
        operator: Operator,
        reason: str = "",
        external_id: str | None = None,
        *,
        spam: bool = False,
    ) -> Blocked:
        """Block the case's customer everywhere we know them (`spam`: and learn the case's
        texts as spam)."""
        self.desk.require(operator, BAN)
        reason = reason.strip()[:500]
        if spam:
            reason = reason or self.desk_texts.get("abuse.spam_reason")
        async with self.desk.action(ticket_id, external_id) as action:
            ticket = action.ticket
            already = await action.tx.abuse.ban_of(ticket.conversation_id)
            if already is not None and not spam:
                raise OperatorError(self._already_blocked(ticket, already))
            people = await self._take_person(action)
            await action.tx.abuse.ban(
                people,
                ticket.id,
                reason,
                operator.name,
                action.now,
                spam=spam,
                noticed=[ticket.conversation_id],
            )
            closed = await self._close_cases(action, people, operator, reason, spam)
            await self._notify_customer(action)
            if spam:
                await self._learn_spam(action, operator)
            note = "abuse.notes.spam" if spam else "abuse.notes.blocked"
            shown = reason or self.desk_texts.get("abuse.no_reason")
            text = self.desk_texts.format(note, operator=operator.name, reason=shown)
            await self.desk.write_note(action, operator, text)
            await action.tx.ticket_events.add(ticket.id, BLOCKED_EVENT, action.now, reason)
        log.info(
            "customer of case %s blocked by %s (%s): conversations %s, cases closed %s",
            ticket_id,
            operator.name,
            "spam" if spam else reason or "no reason",
            people,
            closed,
        )
        return Blocked(people, closed)

    async def unban(
        self, ticket_id: int, operator: Operator, external_id: str | None = None
    ) -> list[int]:
        """Lift the block of the case's customer (every linked conversation)."""
        self.desk.require(operator, BAN)
        async with self.desk.action(ticket_id, external_id) as action:
            people = await self._take_person(action)
            if not await action.tx.abuse.unban(people):
                raise OperatorError(
                    self.desk_texts.format("abuse.errors.not_blocked", ticket=ticket_id)
                )
            note = self.desk_texts.format("abuse.notes.unblocked", operator=operator.name)
            await self.desk.write_note(action, operator, note)
            await action.tx.ticket_events.add(ticket_id, UNBLOCKED_EVENT, action.now)
        log.info(
            "customer of case %s unblocked by %s: conversations %s",
            ticket_id,
            operator.name,
            people,
        )
        return people

    async def link(
        self, ticket_id: int, other_id: int, operator: Operator, external_id: str | None = None
    ) -> list[int]:
        """The customers of the two cases are one person; a block of either covers both."""
        self.desk.require(operator, BAN)
        async with self.desk.action(ticket_id, external_id) as action:
            other = await self.desk.ticket(action.tx, other_id)
            if other.conversation_id == action.ticket.conversation_id:
                raise OperatorError(self.desk_texts.get("abuse.errors.same_customer"))
            await action.tx.conversations.touch(other.conversation_id)
            people = await action.tx.abuse.link(
                action.ticket.conversation_id, other.conversation_id, operator.name, action.now
            )
            for conversation_id in people:
                await action.tx.conversations.touch(conversation_id)
            await self._extend_block(action, people, operator)
            note = self.desk_texts.format(
                "abuse.notes.linked", operator=operator.name, other=other.id
            )
            await self.desk.write_note(action, operator, note)
            await action.tx.ticket_events.add(ticket_id, LINKED_EVENT, action.now, str(other.id))
        log.info("cases %s and %s linked as one customer by %s", ticket_id, other_id, operator.name)
        return people

    # ------------------------------------------------------------------ parts
    async def _take_person(self, action: Action) -> list[int]:
        """Every conversation of the case's customer, each taken for this action."""
        people = await action.tx.abuse.linked(action.ticket.conversation_id)
        for conversation_id in people:
            if conversation_id != action.ticket.conversation_id:
                await action.tx.conversations.touch(conversation_id)
        return people

    async def _close_cases(
        self, action: Action, people: list[int], operator: Operator, reason: str, spam: bool
    ) -> list[int]:
        """Close the person's open cases; each case's topic (and the one the command was
        typed in) hears why."""
        tx, now = action.tx, action.now
        closing = [action.ticket]
        for conversation_id in people:
            found = await tx.tickets.open_for(conversation_id)
            if found is not None and found.id != action.ticket.id:
                closing.append(found)
        closed = []
        for ticket in closing:
            if ticket.is_open:
                await tx.tickets.update(
                    ticket.id, status=CLOSED, closed_at=now, closed_by=operator.name
                )
                closed.append(ticket.id)
            notice = CustomerBlocked(ticket.id, by=operator.name, reason=reason, spam=spam)
            action.queued.append(await tx.outbox.add(OPERATORS, ticket.customer.key, notice, now))
        return closed

    async def _notify_customer(self, action: Action) -> None:
        """The one notice, to the customer of the case (their other accounts hear it with
        their next message)."""
        ticket, now = action.ticket, action.now
        reply = Reply(self.texts.get("abuse.blocked"))
        await action.tx.messages.add(
            ticket.conversation_id, log_kind.OUT, reply.text, now, ticket_id=ticket.id, author="bot"
        )
        await self.desk.to_customer(action, CustomerReply(reply, ticket.id), now)

    async def _learn_spam(self, action: Action, operator: Operator) -> None:
        """The case's customer messages become spam examples, and are marked spam."""
        tx, ticket = action.tx, action.ticket
        messages = await tx.messages.for_ticket(ticket.id, 200)
        said = [m for m in messages if m.direction == log_kind.IN][-SPAM_EXAMPLES_PER_CASE:]
        for message in said:
            normalized = normalize(message.text)
            if normalized and not message.text.startswith("["):
                await tx.abuse.add_spam_example(
                    normalized, message.text, ticket.id, operator.name, action.now
                )
            await tx.abuse.mark(message.id, ticket.conversation_id, SPAM, "operator", action.now)

    async def _extend_block(self, action: Action, people: list[int], operator: Operator) -> None:
        """A block of one of the linked conversations now covers them all."""
        tx = action.tx
        bans = [ban for ban in [await tx.abuse.ban_of(c) for c in people] if ban is not None]
        if not bans:
            return
        first = min(bans, key=lambda ban: ban.banned_at)
        unblocked = [c for c in people if c not in {ban.conversation_id for ban in bans}]
        await tx.abuse.ban(
            unblocked, first.ticket_id, first.reason, first.banned_by, action.now, spam=first.spam
        )
        for conversation_id in unblocked:
            found = await tx.tickets.open_for(conversation_id)
            if found is None:
                continue
            await tx.tickets.update(
                found.id, status=CLOSED, closed_at=action.now, closed_by=operator.name
            )
            notice = CustomerBlocked(
                found.id, by=first.banned_by, reason=first.reason, spam=first.spam
            )
            action.queued.append(
                await tx.outbox.add(OPERATORS, found.customer.key, notice, action.now)
            )

    def _already_blocked(self, ticket: Ticket, ban: Ban) -> str:
        reason = ban.reason or self.desk_texts.get("abuse.no_reason")
        return self.desk_texts.format(
            "abuse.errors.already_blocked", ticket=ticket.id, by=ban.banned_by, reason=reason
        )
