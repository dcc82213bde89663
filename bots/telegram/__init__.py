"""The Telegram adapter (aiogram 3): customers in private chats, operators in one group.

- `customer.py`: private-chat handlers → `core.engine`
- `operator.py`: the operators' group (a forum topic per case) → `core.desk`
- `customer_sender.py`, `operators_sender.py`: the outbox senders of both sides
- `render.py`, `cards.py`: replies and ticket cards as Telegram messages
- `errors.py`: Bot API errors classified for the delivery worker
- `channel.py`: builds the bot and runs polling or the webhook
"""
