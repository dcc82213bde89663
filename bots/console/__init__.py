"""The offline console chat (`supportbot chat`): talk to the engine as a customer and act
as an operator, with no messenger at all, on the same database as the real bot.

`ConsoleChat(core)` is the entry point; the modules, from the outside in: `chat` (the
loop: a line is the customer's message or an operator's command), `stdin` (reading
standard input without blocking the loop; Ctrl+C, Ctrl+D), `screen` (lines out, the input
prompt on a terminal), `customer` (the customer's messages and button presses),
`commands` (the operator's commands), `printers` (the outbox rendered as lines: what the
customer and the operators' group would see). Every word it prints is in
`config/knowledge/desk.yaml` (`console`, and the group's `notices`).
"""

from bots.console.chat import ConsoleChat

__all__ = ["ConsoleChat"]
