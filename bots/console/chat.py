"""`ConsoleChat`: the console chat's loop. A line is the customer's message, unless it is
a command: `/b N` presses a button, `/start` opens the menu, `/quit` ends the chat, and
any other `/command` is the operator's (`commands`). After each line the outbox is
delivered, so the answers are printed before the next line is read."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncGenerator, Iterable
from typing import TextIO

from bots.console.commands import OperatorCommands, Stats
from bots.console.customer import ConsoleCustomer
from bots.console.printers import CustomerPrinter, DeskPrinter
from bots.console.screen import Screen
from bots.console.stdin import clean_line, given, stdin_lines, stopped_by_signals
from core.app import Core
from core.desk.operators import OperatorError
from core.types import CONSOLE, OPERATORS

QUIT = ("/quit", "/exit")


class ConsoleChat:
    def __init__(self, core: Core, out: TextIO = sys.stdout, user_id: str = "console-user") -> None:
        texts = core.kb.desk
        self.texts = texts
        self.delivery = core.delivery
        self.screen = Screen(out)
        self.customer = ConsoleCustomer(core.engine, self.screen, texts, user_id)
        settings = core.settings
        stats = Stats(
            core.storage, core.clock, settings.timezone, settings.kpi_repeat_days, core.kb.desk
        )
        self.commands = OperatorCommands(
            core.desk, core.compensation, core.canned, stats, self.screen, texts, core.kb.answers
        )
        self.delivery.register(CONSOLE, CustomerPrinter(self.customer))
        if not settings.telegram_enabled:
            # With a Telegram bot configured, its process posts console cases to the real
            # operators' group; otherwise the console shows them itself.
            desk = DeskPrinter(self.screen, texts, core.desk, core.kb.answers)
            self.delivery.register(OPERATORS, desk)

    async def run(self, lines: Iterable[str] | None = None) -> None:
        """Read lines until /quit, end of input (Ctrl+D) or Ctrl+C / SIGTERM. Without
        `lines`, standard input is read, with a prompt when it is a terminal."""
        if lines is not None:
            await self._talk(given(lines))
            return
        stop = asyncio.Event()
        if os.isatty(0) and self.screen.is_terminal():
            self.screen.prompt = self.texts.get("console.prompt")
        self.screen.replace_unprintable()
        with stopped_by_signals(stop):
            try:
                await self._talk(stdin_lines(stop))
            finally:
                self.screen.answered()
                self.screen.print("\n" + self.texts.get("console.farewell"))

    async def _talk(self, source: AsyncGenerator[str, None]) -> None:
        self.screen.print(self.texts.get("console.greeting"))
        await self.handle_line("/start")
        async with contextlib.aclosing(source):
            self.screen.ask()
            async for raw in source:
                self.screen.answered()
                line = clean_line(raw)
                if line.strip() in QUIT:
                    break
                await self.handle_line(line)
                self.screen.ask()

    async def handle_line(self, line: str) -> None:
        """One line: the customer's message or a command; then the outbox is delivered
        (the console's printers show it)."""
        stripped = line.strip()
        words = stripped.split()
        try:
            if stripped.startswith("/start"):
                await self.customer.say(line, welcome=True)
            elif words and words[0].lower() == "/b":
                await self.customer.press(words[1:])
            elif stripped.startswith("/"):
                await self.commands.run(stripped)
            else:
                await self.customer.say(line)
        except OperatorError as exc:
            self.screen.print(self.texts.format("console.to_operator", text=exc))
        await self.delivery.idle()
        while await self.delivery.run_once():
            pass
