"""The person at the keyboard as a customer: a line is their message, `/b N` presses a
button under the bot's latest message, and what reaches them is printed with its buttons
numbered."""

from __future__ import annotations

from bots.console.screen import Screen
from core.conversation.engine import Engine
from core.knowledge.texts import Texts
from core.types import CONSOLE, Button, Inbound, Reply


class ConsoleCustomer:
    def __init__(self, engine: Engine, screen: Screen, texts: Texts, user_id: str) -> None:
        self.engine = engine
        self.screen = screen
        self.texts = texts
        self.user_id = user_id
        self.name = texts.get("console.customer_name")
        # /b presses the buttons of the latest message only: a message without buttons
        # leaves nothing to press.
        self.last_buttons: list[Button] = []

    async def say(self, text: str, *, welcome: bool = False) -> None:
        """The customer's message (`welcome`: the start command); the answers come back
        through the outbox (`printers.CustomerPrinter`)."""
        inbound = Inbound(CONSOLE, self.user_id, text=text, name=self.name)
        await (self.engine.welcome(inbound) if welcome else self.engine.handle(inbound))

    async def press(self, args: list[str]) -> None:
        """`/b N`: press button N of the latest message."""
        texts = self.texts
        if not self.last_buttons:
            self.screen.print(texts.get("console.nothing_to_press"))
            return
        if not args or not args[0].isdigit() or not 1 <= int(args[0]) <= len(self.last_buttons):
            self.screen.print(texts.get("console.no_such_button"))
            return
        button = self.last_buttons[int(args[0]) - 1]
        self.screen.print(texts.format("console.pressed", title=button.title))
        await self.engine.handle(Inbound(CONSOLE, self.user_id, payload=button.id, name=self.name))

    def show(self, reply: Reply, *, from_bot: bool) -> None:
        """A message to the customer, from the bot or from an operator, with its buttons."""
        texts = self.texts
        if from_bot:
            self.screen.print(texts.format("console.bot", text=reply.text))
        else:
            self.screen.print(texts.format("console.to_customer", text=reply.text))
        self.last_buttons = reply.flat_buttons
        if self.last_buttons:
            listed = "  ".join(
                texts.format("console.button", number=number, title=button.title)
                for number, button in enumerate(self.last_buttons, 1)
            )
            self.screen.print(texts.format("console.buttons", buttons=listed))
