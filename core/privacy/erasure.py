"""Erasing a customer's personal data: one unit of work, exactly once.

Everything the database holds about the customer goes in one transaction
(`core.storage.privacy.PrivacyRepo.erase`: every table, operational ones included); their
cases stay as anonymous numbers, so the KPIs do not move; an open case is closed as
withdrawn. The same transaction writes the act (`erasures`: when, which channel, a salted
hash of the customer, what was removed, who asked) and queues, through the outbox, what
happens outside the database: the operators' side deletes the customer's topics and the
bot's posts about their cases and tells each group one line (`CustomerErased`), and the
customer is told it is done. A crash before the commit leaves everything as it was (the
request is applied again); after it, the outbox finishes the rest, checkpointed like any
send. A second erasure of the same customer — another replica, a repeated update, an
operator at the same moment — finds the conversation erased already and changes nothing.

Callers: the customer's confirmation (`core.privacy.requests`, inside the engine's turn),
an operator's `/forget` and `supportbot forget` (`forget`), retention (`core.privacy.retention`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from core.clock import Clock
from core.events import CustomerErased, CustomerReply
from core.knowledge.texts import Texts
from core.privacy.identity import Identity, label_of
from core.runtime.delivery import Delivery
from core.runtime.intake import consume_applied
from core.storage import DuplicateUpdate, OutboxItem, Storage
from core.storage.privacy import Act, Footprint
from core.types import OPERATORS, CustomerRef, Reply

log = logging.getLogger(__name__)

# Why the data was erased (`erasures.reason`).
BY_CUSTOMER = "customer"
BY_OPERATOR = "operator"
BY_COMMAND = "command"
BY_RETENTION = "retention"
TOLD = (BY_CUSTOMER, BY_OPERATOR, BY_COMMAND)  # the operators' groups hear of these


@dataclass(frozen=True)
class Erased:
    """What one erasure did."""

    act: int
    label: str
    removed: dict[str, int]
    queued: list[OutboxItem] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    """Who asked to erase whom, and why; `customer_hash` is computed before the
    transaction (it is slow)."""

    customer: CustomerRef
    customer_hash: str
    reason: str
    requested_by: str
    requested_at: float


def _merge(into: Footprint | None, found: Footprint) -> Footprint:
    if into is None:
        return found
    into.tickets += found.tickets
    into.topics += found.topics
    into.posts += found.posts
    return into


class Erasure:
    """Erases customers; `texts` are the customers' (what they are told when it is done)."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        identity: Identity,
        texts: Texts,
        delivery: Delivery | None = None,
    ) -> None:
        self.storage = storage
        self.clock = clock
        self.identity = identity
        self.texts = texts
        self.delivery = delivery

    @property
    def farewell(self) -> str:
        """What an erased customer is told (kept in the outbox only until sent)."""
        return self.texts.get("privacy.erased")

    async def request(self, customer: CustomerRef, reason: str, requested_by: str) -> Request:
        """A request to erase `customer`, its hash computed (off the event loop)."""
        customer_hash = await self.identity.hash_of(customer)
        return Request(customer, customer_hash, reason, requested_by, self.clock.now())

    async def erase_in(
        self,
        tx: Storage,
        conversation_id: int,
        request: Request,
        *,
        farewell: OutboxItem | None = None,
    ) -> Erased | None:
        """Erase the conversation inside transaction `tx` (None when it is erased
        already); `farewell`, the customer's last message queued in `tx`, stays in the
        outbox until it has been sent."""
        if not await tx.privacy.take(conversation_id):
            return None
        now = self.clock.now()
        found = await tx.privacy.footprint(conversation_id, request.customer)
        keep = [farewell.id] if farewell is not None else []
        removed = await tx.privacy.erase(found, now, keep_outbox=keep)
        label = label_of(request.customer_hash)
        act = await tx.privacy.add_act(
            channel=request.customer.channel,
            customer_hash=request.customer_hash,
            label=label,
            reason=request.reason,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            now=now,
            removed=removed,
            farewell_id=farewell.id if farewell is not None else None,
        )
        queued = [await self._tell_operators(tx, found, act, label, request.reason, now)]
        log.info("customer %s erased (act %s, %s): %s", label, act, request.reason, removed)
        return Erased(act, label, removed, [item for item in queued if item is not None])

    async def _tell_operators(
        self, tx: Storage, found: Footprint, act: int, label: str, reason: str, now: float
    ) -> OutboxItem | None:
        """Queue the deletion of the customer's topics and posts and the groups' notice
        (nothing when the customer never reached the operators)."""
        if not found.tickets and not found.topics:
            return None
        event = CustomerErased(
            found.tickets[-1] if found.tickets else 0,
            act=act,
            label=label,
            reason=reason,
            cases=list(found.tickets),
            topics=[list(pair) for pair in found.topics],
            posts=[list(pair) for pair in found.posts],
            groups=found.groups,
        )
        return await tx.outbox.add(OPERATORS, f"privacy:{label}", event, now)

    async def forget(
        self,
        customer: CustomerRef,
        reason: str,
        requested_by: str,
        *,
        external_id: str | None = None,
        tell_customer: bool = True,
    ) -> Erased | None:
        """Erase `customer` as a unit of work of its own (an operator's `/forget`, the
        command line): claims `external_id`, tells the customer it is done. None when
        nothing is stored about them (see `acts_for` for an earlier erasure)."""
        request = await self.request(customer, reason, requested_by)
        async with self.storage.transaction() as tx:
            now = self.clock.now()
            if external_id and not await tx.claims.claim(external_id, now):
                raise DuplicateUpdate(external_id)
            conv = await tx.conversations.find(customer)
            erased = None
            # Taken first (another replica may be erasing them this very moment): nothing
            # is written for a customer erased meanwhile.
            if conv is not None and await tx.privacy.take(conv.id):
                farewell = None
                if tell_customer:
                    done = CustomerReply(Reply(self.farewell), from_bot=True)
                    farewell = await tx.outbox.add(customer.channel, customer.user_id, done, now)
                erased = await self.erase_in(tx, conv.id, request, farewell=farewell)
                if erased is not None and farewell is not None:
                    erased.queued.append(farewell)
            consumed = await consume_applied(tx)
        if consumed is not None:
            consumed()
        if erased is not None and self.delivery is not None and erased.queued:
            self.delivery.wake()
        return erased

    async def erase_many(
        self, conversations: list[tuple[int, CustomerRef]], reason: str, requested_by: str
    ) -> Erased | None:
        """Erase several customers in one unit of work with one act and no message to
        them or notice to the operators (retention); their topics and posts are deleted
        all the same. None when every one was erased already."""
        async with self.storage.transaction() as tx:
            now = self.clock.now()
            merged: Footprint | None = None
            removed: dict[str, int] = {}
            for conversation_id, customer in conversations:
                if not await tx.privacy.take(conversation_id):
                    continue
                found = await tx.privacy.footprint(conversation_id, customer)
                for key, count in (await tx.privacy.erase(found, now)).items():
                    removed[key] = removed.get(key, 0) + count
                removed["customers"] = removed.get("customers", 0) + 1
                merged = _merge(merged, found)
            if merged is None:
                return None
            act = await tx.privacy.add_act(
                reason=reason,
                requested_by=requested_by,
                requested_at=now,
                now=now,
                removed=removed,
                channel="",
                customer_hash="",
                label="",
            )
            item = await self._tell_operators(tx, merged, act, "", reason, now)
        queued = [item] if item is not None else []
        if queued and self.delivery is not None:
            self.delivery.wake()
        log.info("%s: %s customers erased (act %s): %s", reason, removed["customers"], act, removed)
        return Erased(act, "", removed, queued)

    async def acts_for(self, customer: CustomerRef) -> list[Act]:
        """Earlier erasures of this customer (recognised by the hash)."""
        return await self.storage.privacy.acts_for(await self.identity.hash_of(customer))


def operators_line(
    desk_texts: Texts, event: CustomerErased, topics_left: int = 0, posts_left: int = 0
) -> str:
    """The one line an operators' group is told (desk.yaml `privacy`): the customer's
    label, their case numbers, and what Telegram did not let the bot delete."""
    cases = ""
    if event.cases:
        numbers = ", ".join(desk_texts.format("privacy.case", ticket=n) for n in event.cases)
        cases = desk_texts.format("privacy.cases", numbers=numbers)
    line = desk_texts.format(f"privacy.erased.{event.reason}", label=event.label, cases=cases)
    if topics_left:
        line += desk_texts.format("privacy.topics_left", count=topics_left)
    if posts_left:
        line += desk_texts.format("privacy.posts_left", count=posts_left)
    return line
