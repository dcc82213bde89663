"""How an erased customer is named without being identified.

The act of an erasure keeps a salted hash of the customer ("channel:id"), so a repeated
request is recognised, and a label (`K` and eight hex digits of the hash) that operators
see in their one-line notice and that the act is listed by.

The salt is a secret generated once into the database (`privacy_secrets`), not a setting:
every replica and every command shares it with nothing to configure, it cannot go out of
step with the acts it makes comparable, and it cannot end up in an `.env` file or a log.
Because it lives beside the acts, the hash is slow (scrypt, about 16 MiB and tens of
milliseconds each): messenger ids are short numbers, and a fast hash of each of them could
be tried by anyone holding a copy of the database; at this cost trying every Telegram id
takes years of computer time. Hashes are computed off the event loop and outside any
transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets

from core.clock import Clock
from core.storage import Storage
from core.types import CustomerRef

SALT = "customer_hash_salt"
# scrypt's cost: 2**14 blocks of 8 x 128 bytes (16 MiB), one lane.
COST = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024, "dklen": 32}


class Identity:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self.storage = storage
        self.clock = clock
        self._salt: bytes | None = None

    async def salt(self) -> bytes:
        """The database's salt, made by the first process that needs it."""
        if self._salt is None:
            async with self.storage.transaction() as tx:
                value = await tx.privacy.secret(SALT, secrets.token_hex(32), self.clock.now())
            self._salt = bytes.fromhex(value)
        return self._salt

    async def hash_of(self, customer: CustomerRef) -> str:
        salt = await self.salt()
        key = customer.key.encode("utf-8")
        digest = await asyncio.to_thread(hashlib.scrypt, key, salt=salt, **COST)
        return digest.hex()


def label_of(customer_hash: str) -> str:
    """The customer's name in acts, notices and logs: K and eight hex digits."""
    return "K" + customer_hash[:8].upper()
