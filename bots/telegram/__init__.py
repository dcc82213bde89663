"""The Telegram adapter (aiogram 3): customers in private chats, operators in groups.

- `dispatch.py`: one dispatcher with the module-level routers of both sides; the services
  their handlers receive as parameters (aiogram's dependency injection)
- `customer.py`: private-chat handlers → `core.conversation.engine`
- `operators/`: the operators' groups (a forum topic per case) → `core.desk`: the gate
  (roles, outsiders), buttons, commands, team, stats, replies, one errors router
- `customer_sender.py`, `operators_sender/`: the outbox senders of both sides (the
  operators' one split by concern: topics, posts in parts, cards, batches, notices, SLA)
- `groups.py`, `posting.py`, `helpers.py`: which group serves which department; which
  bot posts now (the main bot or a helper) within each group's budget; helper bots
- `render.py`, `cards.py`, `markup.py`: replies as Telegram messages (one splitter);
  cards and posts from desk.yaml's plain-text templates, every value escaped
- `ids.py`: the external ids of messages and button presses
- `errors.py`: Bot API errors classified for the delivery worker
- `channel.py`: builds the bots and runs polling or the webhook
"""
