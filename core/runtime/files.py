"""Getting a file's bytes from the channel it came from, for sending it to another.

Each adapter registers a fetcher for its channel (Telegram downloads by file_id through
its Bot API server; VK and plain links by URL). A sender that must upload a file it did
not receive itself (an operator's photo from Telegram to a VK customer, a VK customer's
photo into the operators' topic) asks `fetch()`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import aiohttp

from core.types import Attachment

Fetcher = Callable[[Attachment], Awaitable[bytes]]
MAX_FILE_BYTES = 20 * 1024 * 1024  # the Bot API's download limit
_BOT_TOKEN_IN_URL = re.compile(r"/bot\d+:")  # a Bot API file link carries the bot's token


class FileUnavailable(Exception):
    """The file could not be fetched; the sender falls back to a link or a note."""


class FileFetchers:
    def __init__(self) -> None:
        self._by_channel: dict[str, Fetcher] = {}

    def register(self, channel: str, fetcher: Fetcher) -> None:
        self._by_channel[channel] = fetcher

    async def fetch(self, attachment: Attachment) -> bytes:
        if attachment.data is not None:
            return attachment.data
        fetcher = self._by_channel.get(attachment.source)
        try:
            if fetcher is not None:
                return await fetcher(attachment)
            if attachment.url.startswith(("http://", "https://")):
                return await fetch_url(attachment.url)
        except FileUnavailable:
            raise
        except Exception as exc:
            raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc
        raise FileUnavailable(f"no way to fetch a file from '{attachment.source}'")


async def fetch_url(url: str, limit_seconds: float = 30.0) -> bytes:
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=limit_seconds)) as session,
            session.get(url) as response,
        ):
            if response.status != 200:
                raise FileUnavailable(f"HTTP {response.status} for {url}")
            data = await response.content.read(MAX_FILE_BYTES + 1)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise FileUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise FileUnavailable("file is larger than 20 MB")
    return data


def shareable_link(attachment: Attachment) -> str:
    """A link to the file that may be shown to a customer instead of the file, or "":
    only http(s), never one that carries a bot token."""
    url = attachment.url
    if not url.startswith(("http://", "https://")) or _BOT_TOKEN_IN_URL.search(url):
        return ""
    return url
