"""The renderer protocols: one method per kind of outbox event (`core.events`).

`CustomerRenderer` is what a customers' channel sender implements (Telegram, VK, the
console), `DeskRenderer` what the operators' side implements (the Telegram groups, the
console). `render_for_customer` / `render_for_desk` hand an outbox item's event to the
method for it; `render_for_desk` matches every event of the desk with `assert_never`, so
mypy flags a new kind of event that no renderer handles, and a sender class missing a method
does not satisfy the protocol.
"""

from __future__ import annotations

from typing import Protocol, assert_never

from core.events import (
    Assigned,
    CaseClosed,
    CaseOpened,
    ConflictMarked,
    CustomerMessage,
    CustomerReply,
    Delivered,
    LowRating,
    NotShown,
    RatingComment,
    ReplyEdited,
    SlaAlert,
    Transferred,
    Undelivered,
    UnknownEvent,
)
from core.storage.outbox import OutboxItem


class CustomerRenderer(Protocol):
    """A customers' channel sender: one method per event it may receive."""

    async def reply(self, item: OutboxItem, event: CustomerReply) -> None: ...

    async def reply_edited(self, item: OutboxItem, event: ReplyEdited) -> None: ...


class DeskRenderer(Protocol):
    """The operators' side: one method per event of the desk."""

    async def case_opened(self, item: OutboxItem, event: CaseOpened) -> None: ...

    async def customer_message(self, item: OutboxItem, event: CustomerMessage) -> None: ...

    async def case_closed(self, item: OutboxItem, event: CaseClosed) -> None: ...

    async def delivered(self, item: OutboxItem, event: Delivered) -> None: ...

    async def undelivered(self, item: OutboxItem, event: Undelivered) -> None: ...

    async def not_shown(self, item: OutboxItem, event: NotShown) -> None: ...

    async def low_rating(self, item: OutboxItem, event: LowRating) -> None: ...

    async def rating_comment(self, item: OutboxItem, event: RatingComment) -> None: ...

    async def conflict(self, item: OutboxItem, event: ConflictMarked) -> None: ...

    async def assigned(self, item: OutboxItem, event: Assigned) -> None: ...

    async def transferred(self, item: OutboxItem, event: Transferred) -> None: ...

    async def sla_alert(self, item: OutboxItem, event: SlaAlert) -> None: ...


async def render_for_customer(renderer: CustomerRenderer, item: OutboxItem) -> None:
    """Hand the item's event to the renderer's method for it."""
    event = item.event
    if isinstance(event, CustomerReply):
        await renderer.reply(item, event)
    elif isinstance(event, ReplyEdited):
        await renderer.reply_edited(item, event)
    else:
        raise UnknownEvent(f"{type(event).__name__} is not for a customer's channel")


async def render_for_desk(renderer: DeskRenderer, item: OutboxItem) -> None:
    """Hand the item's event to the renderer's method for it (mypy checks that every
    event of the desk has its case here)."""
    event = item.event
    match event:
        case CaseOpened():
            await renderer.case_opened(item, event)
        case CustomerMessage():
            await renderer.customer_message(item, event)
        case CaseClosed():
            await renderer.case_closed(item, event)
        case Delivered():
            await renderer.delivered(item, event)
        case Undelivered():
            await renderer.undelivered(item, event)
        case NotShown():
            await renderer.not_shown(item, event)
        case LowRating():
            await renderer.low_rating(item, event)
        case RatingComment():
            await renderer.rating_comment(item, event)
        case ConflictMarked():
            await renderer.conflict(item, event)
        case Assigned():
            await renderer.assigned(item, event)
        case Transferred():
            await renderer.transferred(item, event)
        case SlaAlert():
            await renderer.sla_alert(item, event)
        case CustomerReply() | ReplyEdited():
            raise UnknownEvent(f"{type(event).__name__} is not for the operators")
        case _:
            assert_never(event)
