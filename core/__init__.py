"""The bot without its messengers: channel-neutral, imports no messenger library.

The messengers' adapters (`bots/telegram`, `bots/vk`) store updates through
`core.runtime.intake`; they and the console turn updates into `Inbound` values for
`Engine.handle` (customers) or into calls of `core.desk` (operators). Those write what is
to be sent to the outbox, as typed events (`core.events`); `core.runtime.delivery` hands
each item to the sender its channel registered, which renders it. The engine and the
desk never send anything themselves.
"""

from core.types import Attachment, Button, CustomerRef, Inbound, Reply

__all__ = ["Attachment", "Button", "CustomerRef", "Inbound", "Reply"]
