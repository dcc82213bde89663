"""Where the console chat writes: whole lines, and the input prompt while it waits."""

from __future__ import annotations

import contextlib
from typing import TextIO

CLEAR_LINE = "\r\033[K"  # back to the start of the terminal's line, and erase it


class Screen:
    """Lines out. The prompt (empty: none, as when input is piped in) is shown by `ask`
    while the chat waits for a line; a line printed meanwhile (the delivery worker's)
    goes above it and the prompt is shown again."""

    def __init__(self, out: TextIO, prompt: str = "") -> None:
        self.out = out
        self.prompt = prompt
        self._asking = False

    def print(self, text: str) -> None:
        if self._asking:
            self.out.write(CLEAR_LINE)
        self.out.write(text + "\n")
        if self._asking:
            self.out.write(self.prompt)
        self.out.flush()

    def ask(self) -> None:
        """The chat waits for a line: show the prompt."""
        if self.prompt and not self._asking:
            self.out.write(self.prompt)
            self.out.flush()
            self._asking = True

    def answered(self) -> None:
        """A line came in (the terminal moved to a new line as it was typed)."""
        self._asking = False

    def is_terminal(self) -> bool:
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty and isatty())

    def replace_unprintable(self) -> None:
        """Characters the output's encoding lacks become "?" instead of an error."""
        with contextlib.suppress(AttributeError, ValueError):
            self.out.reconfigure(errors="replace")  # type: ignore[attr-defined]
