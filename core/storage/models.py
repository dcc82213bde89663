"""Intent models published by `supportbot train`, kept in the database so that every
replica — on any machine — switches to the same model."""

from __future__ import annotations

from core.storage.database import Executor


class ModelRepo:
    def __init__(self, ex: Executor) -> None:
        self._ex = ex

    async def publish(self, fingerprint: str, model: bytes, now: float) -> None:
        await self._ex.execute(
            "INSERT INTO intent_models (fingerprint, model, published_at) VALUES (?, ?, ?) "
            "ON CONFLICT (fingerprint) DO UPDATE SET published_at = excluded.published_at",
            (fingerprint, model, now),
        )
        # Keep the current model and the one before it.
        await self._ex.execute(
            "DELETE FROM intent_models WHERE fingerprint NOT IN (SELECT fingerprint FROM "
            "intent_models ORDER BY published_at DESC LIMIT 2)"
        )

    async def published(self) -> str | None:
        row = await self._ex.fetchone(
            "SELECT fingerprint FROM intent_models ORDER BY published_at DESC LIMIT 1"
        )
        return str(row["fingerprint"]) if row else None

    async def load(self, fingerprint: str) -> bytes | None:
        row = await self._ex.fetchone(
            "SELECT model FROM intent_models WHERE fingerprint = ?", (fingerprint,)
        )
        return bytes(row["model"]) if row else None
