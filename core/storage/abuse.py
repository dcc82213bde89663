"""What keeps strangers from flooding the desk, stored (`core.abuse` decides with it):
customers linked as one person, blocks, each customer's limit state, marks on stored
messages, the spam examples operators taught, and whether a new case's customer was
verified.

A turn reads a customer's figures in two round trips (`customer_state`) and writes them
in its own transaction; the conversation's version, which the turn claims, makes a turn
counted on figures another replica changed meanwhile decide again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.storage.database import Executor, Row
from core.storage.text import storable

BLOCKED = "blocked"
LIMITED = "limited"
SPAM = "spam"
MARKS = (LIMITED, BLOCKED, SPAM)


@dataclass(frozen=True)
class Ban:
    conversation_id: int
    ticket_id: int | None
    reason: str
    banned_by: str
    banned_at: float
    spam: bool
    noticed: bool

    @classmethod
    def from_row(cls, row: Row, prefix: str = "") -> Ban:
        return cls(
            conversation_id=int(row[f"{prefix}conversation_id"]),
            ticket_id=int(row[f"{prefix}ticket_id"]) if row[f"{prefix}ticket_id"] else None,
            reason=str(row[f"{prefix}reason"]),
            banned_by=str(row[f"{prefix}banned_by"]),
            banned_at=float(row[f"{prefix}banned_at"]),
            spam=bool(row[f"{prefix}spam"]),
            noticed=bool(row[f"{prefix}noticed"]),
        )


@dataclass(frozen=True)
class BannedCustomer:
    """A block as `supportbot bans` lists it."""

    ban: Ban
    channel: str
    user_id: str
    name: str


@dataclass
class CustomerState:
    """A customer's figures at the start of a turn."""

    ban: Ban | None = None
    muted_until: float = 0.0
    held_until: float = 0.0
    cases_told_until: float = 0.0
    wrote_before: bool = False
    spam_examples: int = 0  # the newest spam example's id (examples learnt since are read)
    messages: int = 0  # their messages since the last minute began (or a mute ended)
    cases: int = 0  # cases they opened in the last day


@dataclass(frozen=True)
class Lane:
    verified: bool
    reason: str  # order | vip | returning | new | order_unknown


_BAN_COLUMNS = "conversation_id, ticket_id, reason, banned_by, banned_at, spam, noticed"
_STATE = (
    "SELECT "
    + ", ".join(f"b.{c} AS b_{c}" for c in _BAN_COLUMNS.split(", "))
    + ", l.muted_until, l.held_until, l.cases_told_until, "
    "(SELECT 1 FROM messages m WHERE m.conversation_id = k.cid AND m.direction = 'in' LIMIT 1) "
    "AS wrote_before, (SELECT MAX(id) FROM spam_examples) AS spam_examples, "
    # The latest messages only (enough to tell the limit is reached): a long history is
    # never scanned.
    "(SELECT COUNT(*) FROM (SELECT m.created_at FROM messages m WHERE m.conversation_id = ? "
    "AND m.direction = 'in' ORDER BY m.id DESC LIMIT ?) w WHERE w.created_at > "
    "CASE WHEN l.muted_until > k.minute_ago THEN l.muted_until ELSE k.minute_ago END) "
    "AS messages, "
    "(SELECT COUNT(*) FROM tickets t WHERE t.conversation_id = k.cid AND t.created_at > ?) "
    "AS cases "
    "FROM (SELECT CAST(? AS BIGINT) AS cid, CAST(? AS DOUBLE PRECISION) AS minute_ago) k "
    "LEFT JOIN customer_bans b ON b.conversation_id = k.cid "
    "LEFT JOIN customer_limits l ON l.conversation_id = k.cid"
)
# Posts for the operators that go before an unverified customer's new card: each
# recipient's first pending item (the others wait behind it anyway) in the given
# departments, due within the horizon, other than a reaction (no post) and other than
# another unverified card that has not started yet; counted in the posts each still
# needs (a card: its topic and itself, until they are made).
_WAITING_FIRST = (
    "SELECT SUM(CASE WHEN o.kind <> 'ticket_opened' THEN 1 "
    "WHEN o.progress NOT LIKE '%\"thread\"%' THEN 2 "
    "WHEN o.progress NOT LIKE '%\"card\"%' THEN 1 ELSE 0 END) AS n "
    "FROM outbox o JOIN tickets t ON t.id = o.ticket_id "
    "WHERE o.status = 'pending' AND o.channel = 'operators' AND o.next_attempt_at <= ? "
    "AND t.department IN ({departments}) "
    'AND o.payload NOT LIKE \'%"event": "delivered"%\' '
    "AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.channel = o.channel "
    "AND e.recipient = o.recipient AND e.status = 'pending' AND e.id < o.id) "
    "AND NOT (o.kind = 'ticket_opened' AND o.progress = '{{}}' AND o.created_at > ? "
    "AND o.payload NOT LIKE '%transferred_from%' AND EXISTS (SELECT 1 FROM case_lanes l "
    "WHERE l.ticket_id = o.ticket_id AND l.verified = 0))"
)


class AbuseRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    # ------------------------------------------------------------------ a turn's figures
    async def customer_state(
        self, conversation_id: int, minute_ago: float, day_ago: float, enough: int
    ) -> CustomerState:
        """The block and limit state of a conversation, its messages since `minute_ago`
        (or a mute that ended later; at most `enough` counted) and its cases since
        `day_ago`, in one round trip."""
        row = await self._ex.fetchone(
            _STATE, (conversation_id, enough, day_ago, conversation_id, minute_ago)
        )
        assert row is not None  # the derived table always gives one row
        return CustomerState(
            ban=Ban.from_row(row, "b_") if row["b_conversation_id"] is not None else None,
            muted_until=float(row["muted_until"] or 0.0),
            held_until=float(row["held_until"] or 0.0),
            cases_told_until=float(row["cases_told_until"] or 0.0),
            wrote_before=bool(row["wrote_before"]),
            spam_examples=int(row["spam_examples"] or 0),
            messages=int(row["messages"] or 0),
            cases=int(row["cases"] or 0),
        )

    async def case_times(self, conversation_id: int, since: float) -> list[float]:
        """When the conversation's cases opened since `since`, oldest first."""
        rows = await self._ex.fetchall(
            "SELECT created_at FROM tickets WHERE conversation_id = ? AND created_at > ? "
            "ORDER BY created_at",
            (conversation_id, since),
        )
        return [float(r["created_at"]) for r in rows]

    async def recent_texts(
        self, conversation_id: int, since: float, limit: int
    ) -> list[tuple[float, str]]:
        """(time, text) of the conversation's latest customer messages since `since`."""
        rows = await self._ex.fetchall(
            "SELECT created_at, text FROM messages WHERE conversation_id = ? "
            "AND direction = 'in' AND created_at > ? ORDER BY id DESC LIMIT ?",
            (conversation_id, since, limit),
        )
        return [(float(r["created_at"]), str(r["text"])) for r in rows]

    async def save_limits(
        self, conversation_id: int, muted_until: float, held_until: float, cases_told_until: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO customer_limits (conversation_id, muted_until, held_until, "
            "cases_told_until) VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE "
            "SET muted_until = excluded.muted_until, held_until = excluded.held_until, "
            "cases_told_until = excluded.cases_told_until",
            (conversation_id, muted_until, held_until, cases_told_until),
        )

    async def hold_case_posts(self, recipient: str, until: float) -> None:
        """Customer messages for the operators queued for `recipient` wait until `until`
        (then go as one merged post)."""
        await self._ex.execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE channel = 'operators' "
            "AND recipient = ? AND status = 'pending' AND kind = 'customer_message' "
            "AND next_attempt_at < ?",
            (until, recipient, until),
        )

    # ------------------------------------------------------------------ marks
    async def mark(
        self, message_id: int, conversation_id: int, kind: str, rule: str, now: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO message_marks (message_id, conversation_id, kind, rule, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            (message_id, conversation_id, kind, rule, now),
        )

    async def marks(self, message_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(kind, rule) of the marked ones among `message_ids`."""
        if not message_ids:
            return {}
        places = ", ".join("?" for _ in message_ids)
        rows = await self._ex.fetchall(
            f"SELECT message_id, kind, rule FROM message_marks WHERE message_id IN ({places})",
            tuple(message_ids),
        )
        return {int(r["message_id"]): (str(r["kind"]), str(r["rule"])) for r in rows}

    async def mark_counts(self, since: float, until: float) -> dict[str, int]:
        rows = await self._ex.fetchall(
            "SELECT kind, COUNT(*) AS n FROM message_marks WHERE created_at >= ? "
            "AND created_at < ? GROUP BY kind",
            (since, until),
        )
        return {str(r["kind"]): int(r["n"]) for r in rows}

    # ------------------------------------------------------------------ people and blocks
    async def linked(self, conversation_id: int) -> list[int]:
        """Every conversation of the same person (the conversation itself at least)."""
        rows = await self._ex.fetchall(
            "SELECT conversation_id FROM customer_links WHERE person_id = "
            "(SELECT person_id FROM customer_links WHERE conversation_id = ?) "
            "ORDER BY conversation_id",
            (conversation_id,),
        )
        found = [int(r["conversation_id"]) for r in rows]
        return found or [conversation_id]

    async def link(self, first: int, second: int, by: str, now: float) -> list[int]:
        """Make two conversations (and whatever each was linked to) one person; returns
        the person's conversations."""
        people = sorted(set(await self.linked(first)) | set(await self.linked(second)))
        person = people[0]
        for conversation_id in people:
            await self._ex.execute(
                "INSERT INTO customer_links (conversation_id, person_id, linked_by, linked_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (conversation_id) DO UPDATE "
                "SET person_id = excluded.person_id",
                (conversation_id, person, storable(by), now),
            )
        return people

    async def ban(
        self,
        conversation_ids: Sequence[int],
        ticket_id: int | None,
        reason: str,
        by: str,
        now: float,
        *,
        spam: bool = False,
        noticed: Sequence[int] = (),
    ) -> None:
        """Block the conversations (a block already there is replaced)."""
        for conversation_id in conversation_ids:
            await self._ex.execute(
                f"INSERT INTO customer_bans ({_BAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET ticket_id = excluded.ticket_id, "
                "reason = excluded.reason, banned_by = excluded.banned_by, "
                "banned_at = excluded.banned_at, spam = excluded.spam, "
                "noticed = excluded.noticed",
                (
                    conversation_id,
                    ticket_id,
                    storable(reason),
                    storable(by),
                    now,
                    int(spam),
                    int(conversation_id in noticed),
                ),
            )

    async def unban(self, conversation_ids: Sequence[int]) -> int:
        """Lift the blocks; returns how many there were."""
        if not conversation_ids:
            return 0
        places = ", ".join("?" for _ in conversation_ids)
        return await self._ex.execute(
            f"DELETE FROM customer_bans WHERE conversation_id IN ({places})",
            tuple(conversation_ids),
        )

    async def ban_of(self, conversation_id: int) -> Ban | None:
        row = await self._ex.fetchone(
            f"SELECT {_BAN_COLUMNS} FROM customer_bans WHERE conversation_id = ?",
            (conversation_id,),
        )
        return Ban.from_row(row) if row else None

    async def ban_noticed(self, conversation_id: int) -> None:
        await self._ex.execute(
            "UPDATE customer_bans SET noticed = 1 WHERE conversation_id = ?", (conversation_id,)
        )

    async def bans(self) -> list[BannedCustomer]:
        """Every blocked conversation, the latest block first."""
        rows = await self._ex.fetchall(
            "SELECT "
            + ", ".join(f"b.{c}" for c in _BAN_COLUMNS.split(", "))
            + ", c.channel, c.user_id, c.name FROM customer_bans b "
            "JOIN conversations c ON c.id = b.conversation_id "
            "ORDER BY b.banned_at DESC, b.conversation_id"
        )
        return [
            BannedCustomer(Ban.from_row(r), str(r["channel"]), str(r["user_id"]), str(r["name"]))
            for r in rows
        ]

    # ------------------------------------------------------------------ spam examples
    async def add_spam_example(
        self, normalized: str, text: str, ticket_id: int | None, by: str, now: float
    ) -> None:
        await self._ex.execute(
            "INSERT INTO spam_examples (normalized, text, ticket_id, added_by, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (normalized) DO NOTHING",
            (normalized, storable(text), ticket_id, storable(by), now),
        )

    async def spam_examples(self, after_id: int = 0) -> list[tuple[int, str]]:
        """(id, normalized text) of the examples added after `after_id`, oldest first."""
        rows = await self._ex.fetchall(
            "SELECT id, normalized FROM spam_examples WHERE id > ? ORDER BY id", (after_id,)
        )
        return [(int(r["id"]), str(r["normalized"])) for r in rows]

    # ------------------------------------------------------------------ new cases' lanes
    async def set_lane(self, ticket_id: int, lane: Lane, now: float) -> None:
        await self._ex.execute(
            "INSERT INTO case_lanes (ticket_id, verified, reason, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (ticket_id) DO NOTHING",
            (ticket_id, int(lane.verified), lane.reason, now),
        )

    async def lane(self, ticket_id: int) -> Lane | None:
        row = await self._ex.fetchone(
            "SELECT verified, reason FROM case_lanes WHERE ticket_id = ?", (ticket_id,)
        )
        return Lane(bool(row["verified"]), str(row["reason"])) if row else None

    async def resolved_before(self, conversation_ids: Sequence[int], ticket_id: int) -> bool:
        """Whether the person had a case other than `ticket_id` that an operator answered
        and closed."""
        places = ", ".join("?" for _ in conversation_ids)
        row = await self._ex.fetchone(
            f"SELECT 1 AS x FROM tickets WHERE conversation_id IN ({places}) AND id <> ? "
            "AND status = 'closed' AND first_response_at IS NOT NULL LIMIT 1",
            (*conversation_ids, ticket_id),
        )
        return row is not None

    async def waiting_first(
        self, departments: Sequence[str], horizon: float, fresh_since: float
    ) -> int:
        """How many posts for the operators of `departments` wait (due before `horizon`)
        that go before an unverified customer's card opened after `fresh_since`, and how
        many posts they still need."""
        if not departments:
            return 0
        places = ", ".join("?" for _ in departments)
        row = await self._ex.fetchone(
            _WAITING_FIRST.format(departments=places), (horizon, *departments, fresh_since)
        )
        return int(row["n"] or 0) if row else 0
