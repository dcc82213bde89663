"""`supportbot bans`: the blocked customers, with the case they were blocked from, who
blocked them, when (in TIMEZONE) and why — read from the database every replica shares.

Registered in `bots.cli` (`add_parsers`, `COMMANDS`).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

from config.settings import Settings


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("bans", help="blocked customers: who blocked them, when and why")


def _bans(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(list_bans(settings))


async def list_bans(settings: Settings) -> int:
    from core.abuse.report import bans_table
    from core.knowledge.base import KnowledgeBase
    from core.storage import Storage

    kb = KnowledgeBase.load(Path(settings.knowledge_dir))
    storage = await Storage.open(settings.database_url)
    try:
        print(await bans_table(storage, kb.desk, settings.timezone))
    finally:
        await storage.close()
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {"bans": _bans}
