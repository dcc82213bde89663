"""Post budgets shared by every replica: at most `limit` posts into one chat in any
`window` seconds (Telegram lets a bot post about 20 messages a minute into a group).

A post is reserved before it is sent, in a transaction that serialises on the budget's
key (PostgreSQL: a row lock; SQLite: the write lock), so replicas together never exceed
the limit and the bot itself never draws a 429 from it.
"""

from __future__ import annotations

from core.storage.database import Executor


class BudgetRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def lock(self, key: str) -> None:
        """Serialise on the budget's key until the transaction ends (PostgreSQL: a row
        lock; SQLite: the transaction already holds the write lock)."""
        await self._ex.execute(
            "INSERT INTO post_budget_keys (budget_key) VALUES (?) "
            "ON CONFLICT (budget_key) DO NOTHING",
            (key,),
        )
        lock = " FOR UPDATE" if self._ex.dialect == "postgresql" else ""
        await self._ex.fetchone(
            f"SELECT budget_key FROM post_budget_keys WHERE budget_key = ?{lock}", (key,)
        )

    async def reserve(self, key: str, posts: int, limit: int, window: float, now: float) -> float:
        """Reserve `posts` slots now (call inside a transaction): 0.0 when reserved, else
        the seconds until they would fit (nothing reserved)."""
        await self.lock(key)
        await self._ex.execute(
            "DELETE FROM post_budget WHERE budget_key = ? AND reserved_at <= ?",
            (key, now - window),
        )
        rows = await self._ex.fetchall(
            "SELECT reserved_at FROM post_budget WHERE budget_key = ? ORDER BY reserved_at",
            (key,),
        )
        used = [float(row["reserved_at"]) for row in rows]
        posts = min(posts, limit)
        free = limit - len(used)
        if free >= posts:
            for _ in range(posts):
                await self._ex.execute(
                    "INSERT INTO post_budget (budget_key, reserved_at) VALUES (?, ?)", (key, now)
                )
            return 0.0
        # The oldest reservations leave the window first.
        needed = posts - free
        return max(0.01, used[needed - 1] + window - now)

    async def wait(self, key: str, limit: int, window: float, now: float) -> float:
        """Without reserving: 0.0 when a post under `key` would fit now, else the seconds
        until one would."""
        rows = await self._ex.fetchall(
            "SELECT reserved_at FROM post_budget WHERE budget_key = ? AND reserved_at > ? "
            "ORDER BY reserved_at",
            (key, now - window),
        )
        used = [float(row["reserved_at"]) for row in rows]
        if len(used) < limit:
            return 0.0
        return max(0.01, used[len(used) - limit] + window - now)

    async def free(self, key: str, limit: int, window: float, now: float) -> int:
        """Posts still free under `key` in the window (nothing reserved)."""
        row = await self._ex.fetchone(
            "SELECT COUNT(*) AS n FROM post_budget WHERE budget_key = ? AND reserved_at > ?",
            (key, now - window),
        )
        return max(0, limit - (int(row["n"]) if row else 0))
