"""The external ids of what comes from Telegram: a message (`tg:<chat>:<message>`) and a
button press (`tgcb:<query>`). An update carrying the same id is applied once."""

from __future__ import annotations


def message_key(chat_id: int | str, message_id: int | str) -> str:
    """A message of a chat: the customer's in a private chat, an operator's in a group."""
    return f"tg:{chat_id}:{message_id}"


def press_key(query_id: str) -> str:
    """A press of an inline button."""
    return f"tgcb:{query_id}"
