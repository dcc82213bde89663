"""The Telegram adapter (aiogram 3): customers in private chats, operators in groups.

- `customer.py`: private-chat handlers → `core.engine`
- `operators/`: the operators' groups (a forum topic per case) → `core.desk`: the gate
  (roles, outsiders), buttons, commands, replies, one errors handler
- `customer_sender.py`, `operators_sender.py`: the outbox senders of both sides
- `groups.py`, `posting.py`, `helpers.py`: which group serves which department; which
  bot posts now (the main bot or a helper) within each group's budget; helper bots
- `render.py`, `cards.py`: replies and case cards as Telegram messages (one splitter)
- `errors.py`: Bot API errors classified for the delivery worker
- `channel.py`: builds the bots and runs polling or the webhook
"""
