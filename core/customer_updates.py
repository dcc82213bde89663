"""What every customers' channel does with an update it has parsed, written once.

An adapter's part is transport: it reads its messenger's update, builds an `Inbound` and
knows how to put a message in front of the customer. The rest is the same for every
channel and lives here:

* `CustomerUpdates.take_turn` runs the customer's turn (`Engine.handle`, or
  `Engine.welcome` for the start command). When the engine fails, the customer hears the
  apology (`internal_error`) once — on the update's first attempt, through the channel's
  own `Apologise` primitive — and the error propagates, so that `core.runtime.intake`
  applies the update again later.
* `CustomerUpdates.edited` relays a customer's edited message to their open case
  (`core.desk.edits.EditRelay`) under an external id of its own (`edit_id`); a failure is
  logged, never raised: the original message has been handled already.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from core.conversation.engine import Engine
from core.desk.edits import EditRelay, edit_id
from core.knowledge.texts import Texts
from core.types import CustomerRef, Inbound, Reply

log = logging.getLogger(__name__)

# Puts a message in front of the customer at once, outside the outbox (the apology).
Apologise = Callable[[Reply], Awaitable[object]]


class CustomerUpdates:
    def __init__(self, engine: Engine, edits: EditRelay, texts: Texts) -> None:
        self.engine = engine
        self.edits = edits
        self.texts = texts

    async def take_turn(
        self, inbound: Inbound, apologise: Apologise, *, welcome: bool = False, attempt: int = 0
    ) -> None:
        """Run the turn; its answers leave through the outbox. If the engine fails, the
        customer gets the apology on the first attempt only, and the error propagates."""
        try:
            await (self.engine.welcome(inbound) if welcome else self.engine.handle(inbound))
        except Exception:
            log.exception("the engine failed on %s update %s", inbound.channel, inbound.external_id)
            if attempt == 0:
                try:
                    await apologise(Reply(self.texts.get("internal_error")))
                except Exception as exc:
                    log.warning("apology to %s not sent: %r", inbound.customer.key, exc)
            raise

    async def edited(
        self, customer: CustomerRef, original_id: str, stamp: object, text: str, name: str = ""
    ) -> bool:
        """The customer changed message `original_id` (edit time `stamp`) to `text`; True
        when the new wording reached an open case."""
        edit = Inbound(
            channel=customer.channel,
            user_id=customer.user_id,
            text=text,
            name=name,
            external_id=edit_id(original_id, stamp, text),
        )
        try:
            return await self.edits.customer_edited(edit, original_id)
        except Exception:
            log.exception("customer's edit %s not relayed", edit.external_id)
            return False
