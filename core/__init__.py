"""The conversation engine: channel-neutral, knows no messenger.

Adapters (`bots/telegram`, `bots/vk`, the console) turn updates into `Inbound` values,
call `Engine.handle`, and render the `Reply` values they get back.
"""

from core.types import Attachment, Button, CustomerRef, Inbound, Reply

__all__ = ["Attachment", "Button", "CustomerRef", "Inbound", "Reply"]
