"""Lines for the console chat: from standard input, or given by a caller (tests).

Standard input is read by a daemon thread, so that Ctrl+C (SIGINT) or SIGTERM ends the
chat at once, even while it waits for a line; end of input (Ctrl+D) ends it too. Bytes
that are not UTF-8 (a paste cut in the middle of a letter) become "\ufffd" instead of
ending the chat.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import signal
import threading
from collections.abc import AsyncGenerator, Iterable, Iterator

_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_line(raw: str) -> str:
    """A line as the engine may store it: no newline, no lone surrogates."""
    return _SURROGATES.sub("\ufffd", raw.rstrip("\r\n"))


async def given(lines: Iterable[str]) -> AsyncGenerator[str, None]:
    for line in lines:
        yield line


@contextlib.contextmanager
def stopped_by_signals(stop: asyncio.Event) -> Iterator[None]:
    """Ctrl+C (SIGINT) and SIGTERM set `stop` instead of raising KeyboardInterrupt."""
    loop = asyncio.get_running_loop()
    installed = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


async def stdin_lines(stop: asyncio.Event, fd: int = 0) -> AsyncGenerator[str, None]:
    """Lines of standard input until its end or `stop`."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    _start_reader(fd, asyncio.get_running_loop(), queue)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set():
                getter.cancel()
                break
            line = getter.result()
            if line is None:
                break
            yield line
    finally:
        stopper.cancel()


def _start_reader(
    fd: int, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]
) -> None:
    """A daemon thread posts each line of `fd` to `queue`, then None at its end."""

    def post(item: str | None) -> bool:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the chat is over and its loop closed
            return False
        return True

    def reader() -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            pending += decoder.decode(chunk, final=not chunk)
            *complete, pending = pending.split("\n")
            for line in complete:
                if not post(line):
                    return
            if not chunk:
                if pending:
                    post(pending)
                post(None)
                return

    threading.Thread(target=reader, name="console-input", daemon=True).start()
