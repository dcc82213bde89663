"""Opening the database at start: a PostgreSQL server that cannot be reached yet is waited
for a bounded time, and a refusal is one clear line (`DatabaseRefused`, naming
DATABASE_URL). Light to import: a starting bot opens its database (and starts storing
updates) before the engine's heavier parts are imported.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.runtime.intake import Intake
from core.runtime.liveness import Liveness, new_worker_id
from core.runtime.retry import describe, is_network_error, retry
from core.storage import Storage

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass
class Base:
    """What a bot needs to store updates: the database, this process as a worker (its
    leases and claims), the intake."""

    storage: Storage
    liveness: Liveness
    intake: Intake


async def open_base(settings: Settings) -> Base:
    """Open (and migrate) the database and register this process as a worker."""
    storage = await open_storage(settings.database_url, settings.database_wait_seconds)
    try:
        liveness = Liveness(storage, new_worker_id())
        await liveness.register()
    except BaseException:
        await storage.close()
        raise
    return Base(storage, liveness, Intake(storage, liveness.worker_id))


class DatabaseRefused(Exception):
    """The database answered but refused us (a wrong password, no such database), a
    SQLite file that cannot be opened, or a PostgreSQL server not reached within
    DATABASE_WAIT_SECONDS at start: a configuration problem, not an outage to wait out;
    the message names DATABASE_URL."""


async def open_storage(url: str, wait_seconds: float = 0.0) -> Storage:
    """Open (and migrate) the database. A PostgreSQL server that cannot be reached is
    waited for up to `wait_seconds` (0: one try), one line per attempt naming its host and
    port; then, or on a refusal, `DatabaseRefused`. SQLite is never waited for."""
    if not url.startswith(("postgresql://", "postgres://")):
        try:
            return await Storage.open(url)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseRefused(f"DATABASE_URL: cannot open the SQLite file ({exc})") from None
    where = _server(url)
    hint = f"check DATABASE_URL's host and port ({where}) if the server should be up by now"
    try:
        if not wait_seconds:
            return await Storage.open(url)
        connect = retry(
            lambda: Storage.open(url), f"PostgreSQL at {where}", transient=_outage, hint=hint
        )
        return await asyncio.wait_for(connect, wait_seconds)
    except TimeoutError:
        raise DatabaseRefused(
            f"DATABASE_URL: no PostgreSQL server answered at {where} within {wait_seconds:g} s "
            "(DATABASE_WAIT_SECONDS); check the host and the port"
        ) from None
    except Exception as exc:
        refused = type(exc).__name__
        if refused in _REFUSALS:
            raise DatabaseRefused(f"DATABASE_URL: {_REFUSALS[refused]} ({exc})") from None
        if _outage(exc):
            raise DatabaseRefused(
                f"DATABASE_URL: cannot reach PostgreSQL at {where} ({describe(exc)})"
            ) from None
        raise


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


_REFUSALS = {  # asyncpg's errors for a server that answered "no"
    "InvalidPasswordError": "the PostgreSQL server refused the user name or password",
    "InvalidAuthorizationSpecificationError": "the PostgreSQL server refused the user",
    "InvalidCatalogNameError": "no such database on the PostgreSQL server",
}


def _outage(exc: BaseException) -> bool:
    """The database cannot be reached now (refused connection, a server starting up)."""
    return is_network_error(exc) or type(exc).__name__ in (
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
    )
