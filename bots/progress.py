"""Progress of a long command-line step on stderr (stdout keeps the results).

    async with progress.step("training the model"):
        await asyncio.to_thread(train)

prints "training the model…", then the seconds it has taken — every second on a terminal
(one line, rewritten), every 5 seconds otherwise — and "training the model: 3.2 s".
A quiet `Progress` prints nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from typing import TextIO


class Progress:
    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.quiet = quiet
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def say(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[None]:
        started = time.monotonic()
        ticker = None
        if not self.quiet:
            self.say(f"{name}…")
            ticker = asyncio.create_task(self._tick(name, started))
        try:
            yield
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
                end = "\r\033[K" if self.live else ""
                self.stream.write(f"{end}{name}: {time.monotonic() - started:.1f} s\n")
                self.stream.flush()

    async def _tick(self, name: str, started: float) -> None:
        every = 1.0 if self.live else 5.0
        while True:
            await asyncio.sleep(every)
            elapsed = time.monotonic() - started
            if self.live:
                self.stream.write(f"\r\033[K{name}… {elapsed:.0f} s")
            else:
                self.stream.write(f"{name}… {elapsed:.0f} s\n")
            self.stream.flush()
