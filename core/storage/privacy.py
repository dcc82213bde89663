"""Personal data in every table: what one customer left behind (`Footprint`), erasing it,
the acts of erasure, the secret their hashes are made with, and the operational rows kept
only as long as they are needed.

Every table of the schema is named in `TABLES` with what erasure does to it; a test holds
that list against the schema, so a table added later cannot be forgotten here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.storage.database import Executor, Row
from core.storage.tickets import CLOSED
from core.types import CustomerRef

# What erasure does to each table (for the README, the export and the coverage test).
TABLES: dict[str, str] = {
    "conversations": "anonymised: id, name, profile, state and slots gone; the row stays",
    "tickets": "anonymised: no customer id, order number, summary or rating comment; an "
    "open case is closed as withdrawn; intent, channel, times, rating stay",
    "messages": "texts, files, the customer's name and the messenger's message ids removed; "
    "direction, intent and time stay",
    "intent_labels": "deleted (they are the customer's texts)",
    "desk_shown": "deleted",
    "desk_cards": "deleted (the cards are deleted in Telegram)",
    "operator_posts": "deleted (the posts are deleted in Telegram)",
    "operator_threads": "deleted (the topics are deleted in Telegram)",
    "sla_alerts": "kept: case numbers and times only",
    "ticket_events": "kept: case numbers, reopenings and ratings only",
    "bot_outcomes": "kept: what the bot solved, by intent (containment)",
    "order_actions": "order number, parameters, key and the shop's words removed; action, "
    "outcome and time stay (self-service counts)",
    "promo_codes": "kept: the shop's code and the case number",
    "reply_copies": "deleted",
    "outbox": "deleted (the customer's messages, pending or sent, and the operators')",
    "inbox": "the customer's set-aside updates deleted (pending ones are new messages)",
    "inbox_leases": "deleted",
    "claims": "deleted (update ids hold the chat id)",
    "erasures": "the act: a salted hash of the customer, counts, who asked and when",
    "privacy_secrets": "no customer data",
    "desk_members": "no customer data (operators)",
    "desk_shifts": "no customer data (operators)",
    "workers": "no customer data",
    "post_budget": "no customer data",
    "post_budget_keys": "no customer data",
    "intent_models": "no customer data (trained on labels, never on erased texts again)",
    "schema_version": "no customer data",
    "customer_links": "deleted (which of the shop's chats are this person's)",
    "customer_bans": "deleted with the reason written (an erased customer who writes again "
    "is a new customer to the bot)",
    "customer_limits": "deleted",
    "message_marks": "kept: what a message was marked as (limited, spam…) and when; the "
    "message itself is emptied",
    "spam_examples": "deleted: the texts taken from this customer's cases",
    "case_lanes": "kept: whether a case's card went first as a verified customer's",
}

# Prefixes of the channels' update ids and intake partitions (`core.types.Inbound`):
# "tg:{chat}:{message}" ("tg:{chat}" the partition), "vk:{peer}:{cmid}".
CHANNEL_PREFIX = {"telegram": "tg", "vk": "vk", "console": "console"}


@dataclass
class Footprint:
    """Where one customer's data is: their conversation, cases, and what the operators'
    groups show of them."""

    conversation_id: int
    customer: CustomerRef
    tickets: list[int] = field(default_factory=list)
    open_ticket: int | None = None
    topics: list[tuple[str, str]] = field(default_factory=list)  # (chat id, thread id)
    posts: list[tuple[str, str]] = field(default_factory=list)  # (chat id, message id)

    @property
    def groups(self) -> list[str]:
        """The operators' groups that showed this customer, in order of appearance."""
        return list(dict.fromkeys([chat for chat, _ in self.topics + self.posts]))


@dataclass(frozen=True)
class Act:
    id: int
    channel: str
    customer_hash: str
    label: str
    reason: str
    requested_by: str
    requested_at: float
    done_at: float
    removed: dict[str, int]
    farewell_id: int | None

    @classmethod
    def from_row(cls, row: Row) -> Act:
        return cls(
            id=int(row["id"]),
            channel=str(row["channel"]),
            customer_hash=str(row["customer_hash"]),
            label=str(row["label"]),
            reason=str(row["reason"]),
            requested_by=str(row["requested_by"]),
            requested_at=float(row["requested_at"]),
            done_at=float(row["done_at"]),
            removed={str(k): int(v) for k, v in json.loads(row["removed"] or "{}").items()},
            farewell_id=int(row["farewell_id"]) if row["farewell_id"] is not None else None,
        )


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


class PrivacyRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    # ------------------------------------------------------------------ the secret
    async def secret(self, name: str, candidate: str, now: float) -> str:
        """The secret `name`; the first caller's `candidate` becomes it (replicas that
        race agree on whichever was written first)."""
        await self._ex.execute(
            "INSERT INTO privacy_secrets (name, secret, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, candidate, now),
        )
        row = await self._ex.fetchone("SELECT secret FROM privacy_secrets WHERE name = ?", (name,))
        assert row is not None
        return str(row["secret"])

    # ------------------------------------------------------------------ finding
    async def take(self, conversation_id: int) -> bool:
        """Take a live (not erased) conversation for this transaction: its version grows,
        so a turn decided on it meanwhile is decided again (PostgreSQL: the row stays
        locked until commit). False when it is erased already."""
        taken = await self._ex.execute(
            "UPDATE conversations SET version = version + 1 WHERE id = ? AND erased_at IS NULL",
            (conversation_id,),
        )
        return taken == 1

    async def footprint(self, conversation_id: int, customer: CustomerRef) -> Footprint:
        found = Footprint(conversation_id, customer)
        for row in await self._ex.fetchall(
            "SELECT id, status FROM tickets WHERE conversation_id = ? ORDER BY id",
            (conversation_id,),
        ):
            found.tickets.append(int(row["id"]))
            if row["status"] != CLOSED:
                found.open_ticket = int(row["id"])
        found.topics = [
            (str(r["chat_id"]), str(r["thread_id"]))
            for r in await self._ex.fetchall(
                "SELECT chat_id, thread_id FROM operator_threads WHERE conversation_id = ? "
                "ORDER BY created_at, chat_id",
                (conversation_id,),
            )
        ]
        found.posts = await self._posts(found.tickets)
        return found

    async def _posts(self, tickets: list[int]) -> list[tuple[str, str]]:
        """The bot's cards and posts about these cases in the operators' groups."""
        if not tickets:
            return []
        marks = _marks(tickets)
        rows = await self._ex.fetchall(
            f"SELECT chat_id, message_id FROM desk_cards WHERE ticket_id IN ({marks}) "
            f"UNION SELECT chat_id, message_id FROM operator_posts WHERE ticket_id IN ({marks})",
            (*tickets, *tickets),
        )
        pairs = {(str(r["chat_id"]), str(r["message_id"])) for r in rows}
        return sorted(pairs, key=lambda p: (p[0], int(p[1]) if p[1].isdigit() else 0))

    # ------------------------------------------------------------------ erasing
    async def erase(
        self, found: Footprint, now: float, keep_outbox: Sequence[int] = ()
    ) -> dict[str, int]:
        """Remove the customer's personal data from every table (call inside a transaction,
        after `take`); returns what was removed, counted. Outbox items `keep_outbox` (the
        message telling the customer it is done) stay."""
        counts: dict[str, int] = {}
        conv, tickets = found.conversation_id, found.tickets
        counts.update(await self._erase_messages(conv))
        counts["cases"] = len(tickets)
        counts["cases_closed"] = 1 if found.open_ticket is not None else 0
        counts["order_actions"] = await self._ex.execute(
            "UPDATE order_actions SET order_number = '', params = '{}', idempotency_key = '', "
            "detail = '' WHERE conversation_id = ?",
            (conv,),
        )
        counts["topics"] = len(found.topics)
        counts["posts"] = len(found.posts)
        counts["outbox"] = await self._erase_outbox(found, keep_outbox)
        counts["reply_copies"] = await self._erase_reply_copies(found)
        counts.update(await self._erase_intake(found.customer))
        await self._erase_desk_rows(conv, tickets)
        await self._erase_abuse_rows(conv, tickets)
        anonymous = f"{ERASED_PREFIX}{conv}"
        if tickets:
            marks = _marks(tickets)
            await self._ex.execute(
                f"UPDATE tickets SET user_id = ?, order_number = NULL, summary = '', "
                f"rating_comment = NULL WHERE id IN ({marks})",
                (anonymous, *tickets),
            )
        if found.open_ticket is not None:  # withdrawn: closed, never resolved (no closed_at)
            await self._ex.execute(
                "UPDATE tickets SET status = ?, closed_by = ? WHERE id = ?",
                (CLOSED, WITHDRAWN, found.open_ticket),
            )
        await self._ex.execute(
            "UPDATE conversations SET user_id = ?, name = '', profile_url = '', step = 'idle', "
            "slots = '{}', misunderstandings = 0, manager = NULL, updated_at = ?, "
            "erased_at = ? WHERE id = ?",
            (anonymous, now, now, conv),
        )
        return {key: value for key, value in counts.items() if value}

    async def _erase_messages(self, conv: int) -> dict[str, int]:
        rows = await self._ex.fetchall(
            "SELECT id, text, attachments FROM messages WHERE conversation_id = ?", (conv,)
        )
        ids = [int(r["id"]) for r in rows]
        files = sum(len(json.loads(r["attachments"] or "[]")) for r in rows)
        texts = sum(1 for r in rows if r["text"])
        labels = 0
        if ids:
            labels = await self._ex.execute(
                "DELETE FROM intent_labels WHERE message_id IN (SELECT id FROM messages "
                "WHERE conversation_id = ?)",
                (conv,),
            )
            await self._ex.execute(
                "DELETE FROM desk_shown WHERE message_id IN (SELECT id FROM messages "
                "WHERE conversation_id = ?)",
                (conv,),
            )
            await self._ex.execute(
                "UPDATE messages SET text = '', attachments = '[]', external_id = NULL, "
                "author = CASE WHEN direction = 'in' THEN '' ELSE author END "
                "WHERE conversation_id = ?",
                (conv,),
            )
        return {"messages": texts, "files": files, "labels": labels}

    async def _erase_outbox(self, found: Footprint, keep: Sequence[int]) -> int:
        customer = found.customer
        tickets = found.tickets
        marks = _marks(tickets)
        kept = f" AND id NOT IN ({_marks(keep)})" if keep else ""  # NOT IN (NULL) is never true
        return await self._ex.execute(
            "DELETE FROM outbox WHERE ((channel = ? AND recipient = ?) OR "
            f"(channel = 'operators' AND recipient = ?) OR ticket_id IN ({marks})){kept}",
            (customer.channel, customer.user_id, customer.key, *tickets, *keep),
        )

    async def _erase_reply_copies(self, found: Footprint) -> int:
        marks = _marks(found.tickets)
        return await self._ex.execute(
            "DELETE FROM reply_copies WHERE (channel = ? AND recipient = ?) "
            f"OR ticket_id IN ({marks})",
            (found.customer.channel, found.customer.user_id, *found.tickets),
        )

    async def _erase_intake(self, customer: CustomerRef) -> dict[str, int]:
        """Claims of the customer's updates (their ids hold the chat id), their set-aside
        updates and their chat's leases. Pending updates are left: they are messages sent
        after the request, from a new customer."""
        prefix = CHANNEL_PREFIX.get(customer.channel, customer.channel)
        partition = f"{prefix}:{customer.user_id}"
        claims = await self._ex.execute(
            "DELETE FROM claims WHERE external_id LIKE ? ESCAPE '!'",
            (_like_prefix(partition + ":"),),
        )
        inbox = await self._ex.execute(
            "DELETE FROM inbox WHERE partition_key = ? AND status <> 'pending'", (partition,)
        )
        await self._ex.execute("DELETE FROM inbox_leases WHERE partition_key = ?", (partition,))
        return {"claims": claims, "inbox": inbox}

    async def _erase_desk_rows(self, conv: int, tickets: list[int]) -> None:
        await self._ex.execute("DELETE FROM operator_threads WHERE conversation_id = ?", (conv,))
        if tickets:
            marks = _marks(tickets)
            await self._ex.execute(f"DELETE FROM desk_cards WHERE ticket_id IN ({marks})", tickets)
            await self._ex.execute(
                f"DELETE FROM operator_posts WHERE ticket_id IN ({marks})", tickets
            )

    async def _erase_abuse_rows(self, conv: int, tickets: list[int]) -> None:
        """Links, blocks and limits of the customer, and spam examples from their cases."""
        for table in ("customer_links", "customer_bans", "customer_limits"):
            await self._ex.execute(f"DELETE FROM {table} WHERE conversation_id = ?", (conv,))
        if tickets:
            await self._ex.execute(
                f"DELETE FROM spam_examples WHERE ticket_id IN ({_marks(tickets)})", tickets
            )

    # ------------------------------------------------------------------ acts
    async def add_act(
        self,
        *,
        reason: str,
        requested_by: str,
        requested_at: float,
        now: float,
        removed: dict[str, int],
        channel: str = "",
        customer_hash: str = "",
        label: str = "",
        farewell_id: int | None = None,
    ) -> int:
        """Record an act (a bulk retention pass names no customer)."""
        row = await self._ex.fetchone(
            "INSERT INTO erasures (channel, customer_hash, label, reason, requested_by, "
            "requested_at, done_at, removed, farewell_id, model_stale) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                channel,
                customer_hash,
                label,
                reason,
                requested_by,
                requested_at,
                now,
                json.dumps(removed, sort_keys=True),
                farewell_id,
                1 if removed.get("labels") else 0,
            ),
        )
        assert row is not None
        return int(row["id"])

    async def acts_for(self, customer_hash: str) -> list[Act]:
        rows = await self._ex.fetchall(
            "SELECT * FROM erasures WHERE customer_hash = ? ORDER BY id", (customer_hash,)
        )
        return [Act.from_row(row) for row in rows]

    async def acts(self, since: float = 0.0, until: float = 1e18) -> list[Act]:
        rows = await self._ex.fetchall(
            "SELECT * FROM erasures WHERE done_at >= ? AND done_at < ? ORDER BY id",
            (since, until),
        )
        return [Act.from_row(row) for row in rows]

    async def forget_farewells(self) -> int:
        """Delete the outbox items that told erased customers it was done, once they
        have been sent (or given up): they were the last rows with the customer's id."""
        rows = await self._ex.fetchall(
            "SELECT e.id, e.farewell_id FROM erasures e WHERE e.farewell_id IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = e.farewell_id "
            "AND o.status = 'pending')"
        )
        for row in rows:
            await self._ex.execute("DELETE FROM outbox WHERE id = ?", (row["farewell_id"],))
            await self._ex.execute(
                "UPDATE erasures SET farewell_id = NULL WHERE id = ?", (row["id"],)
            )
        return len(rows)

    # ------------------------------------------------------------------ what is left over
    async def take_leftovers(self) -> list[Footprint]:
        """Erased customers the operators' groups still show: a topic, card or post the
        bot recorded after the erasure (a send that was under way when it committed).
        Their rows are deleted here (call inside a transaction) and returned, for the
        topics and posts to be deleted in the groups too."""
        rows = await self._ex.fetchall(
            "SELECT c.id, c.channel, c.user_id FROM conversations c WHERE c.erased_at IS NOT "
            "NULL AND (EXISTS (SELECT 1 FROM operator_threads t WHERE t.conversation_id = c.id) "
            "OR EXISTS (SELECT 1 FROM desk_cards d JOIN tickets k ON k.id = d.ticket_id "
            "WHERE k.conversation_id = c.id) OR EXISTS (SELECT 1 FROM operator_posts p "
            "JOIN tickets k ON k.id = p.ticket_id WHERE k.conversation_id = c.id) "
            "OR EXISTS (SELECT 1 FROM reply_copies r JOIN tickets k ON k.id = r.ticket_id "
            "WHERE k.conversation_id = c.id)) ORDER BY c.id LIMIT 100"
        )
        found = []
        for row in rows:
            customer = CustomerRef(str(row["channel"]), str(row["user_id"]))
            footprint = await self.footprint(int(row["id"]), customer)
            await self._erase_reply_copies(footprint)
            await self._erase_desk_rows(footprint.conversation_id, footprint.tickets)
            found.append(footprint)
        return found

    # ------------------------------------------------------------------ export
    async def rows_of(self, found: Footprint) -> dict[str, list[Row]]:
        """Every stored row about the customer, by table (their right of access)."""
        conv, customer, tickets = found.conversation_id, found.customer, found.tickets
        marks = _marks(tickets)
        prefix = CHANNEL_PREFIX.get(customer.channel, customer.channel)
        partition = f"{prefix}:{customer.user_id}"
        queries: dict[str, tuple[str, tuple[Any, ...]]] = {
            "conversations": ("SELECT * FROM conversations WHERE id = ?", (conv,)),
            "tickets": ("SELECT * FROM tickets WHERE conversation_id = ? ORDER BY id", (conv,)),
            "messages": (
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id",
                (conv,),
            ),
            "intent_labels": (
                "SELECT l.*, m.text FROM intent_labels l JOIN messages m ON m.id = l.message_id "
                "WHERE m.conversation_id = ? ORDER BY l.message_id",
                (conv,),
            ),
            "order_actions": (
                "SELECT * FROM order_actions WHERE conversation_id = ? ORDER BY id",
                (conv,),
            ),
            "bot_outcomes": (
                "SELECT * FROM bot_outcomes WHERE conversation_id = ? ORDER BY id",
                (conv,),
            ),
            "ticket_events": (
                f"SELECT * FROM ticket_events WHERE ticket_id IN ({marks}) ORDER BY id",
                tuple(tickets),
            ),
            "operator_threads": (
                "SELECT * FROM operator_threads WHERE conversation_id = ?",
                (conv,),
            ),
            "promo_codes": (
                f"SELECT * FROM promo_codes WHERE ticket_id IN ({marks}) ORDER BY issued_at",
                tuple(tickets),
            ),
            "outbox": (
                "SELECT * FROM outbox WHERE status = 'pending' AND ((channel = ? AND "
                "recipient = ?) OR (channel = 'operators' AND recipient = ?)) ORDER BY id",
                (customer.channel, customer.user_id, customer.key),
            ),
            "inbox": (
                "SELECT * FROM inbox WHERE partition_key = ? ORDER BY id",
                (partition,),
            ),
            "reply_copies": (
                "SELECT * FROM reply_copies WHERE channel = ? AND recipient = ? ORDER BY source",
                (customer.channel, customer.user_id),
            ),
            "claims": (
                "SELECT * FROM claims WHERE external_id LIKE ? ESCAPE '!' ORDER BY claimed_at",
                (_like_prefix(partition + ":"),),
            ),
        }
        return {
            table: await self._ex.fetchall(sql, params) for table, (sql, params) in queries.items()
        }

    # ------------------------------------------------------------------ the intent model
    async def model_stale(self) -> int | None:
        """The last act that removed labelled texts the intent model was trained on (it
        holds words of them) before it was trained again without them; None when none."""
        row = await self._ex.fetchone("SELECT MAX(id) AS last FROM erasures WHERE model_stale = 1")
        return int(row["last"]) if row and row["last"] is not None else None

    async def model_retrained(self, fingerprint: str, upto: int) -> None:
        """The model `fingerprint` was trained without the labels erased by acts up to
        `upto`: those acts are settled, and every other published model goes."""
        await self._ex.execute(
            "UPDATE erasures SET model_stale = 0 WHERE model_stale = 1 AND id <= ?", (upto,)
        )
        await self._ex.execute("DELETE FROM intent_models WHERE fingerprint <> ?", (fingerprint,))

    # ------------------------------------------------------------------ retention
    async def idle(self, before: float, limit: int) -> list[tuple[int, CustomerRef]]:
        """Live conversations silent since `before` with no open case (oldest first)."""
        rows = await self._ex.fetchall(
            "SELECT c.id, c.channel, c.user_id FROM conversations c WHERE c.erased_at IS NULL "
            "AND c.updated_at < ? AND NOT EXISTS (SELECT 1 FROM tickets t WHERE "
            f"t.conversation_id = c.id AND t.status <> '{CLOSED}') ORDER BY c.updated_at LIMIT ?",
            (before, limit),
        )
        return [(int(r["id"]), CustomerRef(str(r["channel"]), str(r["user_id"]))) for r in rows]

    async def expire(self, before: float) -> dict[str, int]:
        """Remove message texts and files of cases closed before `before` (and of
        messages of no case written before it), with the cases' order numbers and comments
        and the self-service actions' details (the rows stay for the KPIs), and outbox
        items written before it, sent or not."""
        old = (
            "(ticket_id IS NULL AND created_at < ?) OR ticket_id IN (SELECT id FROM tickets "
            f"WHERE status = '{CLOSED}' AND COALESCE(closed_at, created_at) < ?)"
        )
        content = "(text <> '' OR attachments <> '[]' OR external_id IS NOT NULL)"
        counts = {
            "labels": await self._ex.execute(
                f"DELETE FROM intent_labels WHERE message_id IN (SELECT id FROM messages "
                f"WHERE {old})",
                (before, before),
            ),
            "messages": await self._ex.execute(
                "UPDATE messages SET text = '', attachments = '[]', external_id = NULL, "
                f"author = CASE WHEN direction = 'in' THEN '' ELSE author END "
                f"WHERE ({old}) AND {content}",
                (before, before),
            ),
            "cases": await self._ex.execute(
                "UPDATE tickets SET order_number = NULL, summary = '', rating_comment = NULL "
                f"WHERE status = '{CLOSED}' AND COALESCE(closed_at, created_at) < ? AND "
                "(order_number IS NOT NULL OR summary <> '' OR rating_comment IS NOT NULL)",
                (before,),
            ),
            "order_actions": await self._ex.execute(
                "UPDATE order_actions SET order_number = '', params = '{}', "
                "idempotency_key = '', detail = '' WHERE created_at < ? AND order_number <> ''",
                (before,),
            ),
            "reply_copies": await self._ex.execute(
                "DELETE FROM reply_copies WHERE created_at < ?", (before,)
            ),
            # Never sent in all that time (e.g. cases for an operators' group never set):
            # given up rather than kept.
            "outbox": await self._ex.execute("DELETE FROM outbox WHERE created_at < ?", (before,)),
        }
        return {key: value for key, value in counts.items() if value}

    async def purge_operational(self, before: float) -> dict[str, int]:
        """Delivered (or given up) outbox items and set-aside updates older than `before`:
        they hold message texts and ids, and nothing needs them any more."""
        counts = {
            "outbox": await self._ex.execute(
                "DELETE FROM outbox WHERE status <> 'pending' AND created_at < ? AND id NOT IN "
                "(SELECT farewell_id FROM erasures WHERE farewell_id IS NOT NULL)",
                (before,),
            ),
            "inbox": await self._ex.execute(
                "DELETE FROM inbox WHERE status <> 'pending' AND received_at < ?", (before,)
            ),
        }
        return {key: value for key, value in counts.items() if value}


WITHDRAWN = "erasure"  # tickets.closed_by of a case closed because its data was erased
ERASED_PREFIX = "erased:"  # the user_id of an erased conversation and its cases


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with `prefix` (wildcards escaped)."""
    escaped = prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"
