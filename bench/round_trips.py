"""What one customer message costs the database, counted by PostgreSQL itself.

Starts a throw-away PostgreSQL server (`tests/postgres_server.py`) that logs every
statement, the fake Bot API process and `python -m bots` on that database, long polling
as in `bench/process_bench.py`. A first customer goes through the script once (so the
bot's prepared statements exist), then a second one writes it one message at a time; for
each message it prints every statement the server ran from the message's arrival until
its answer and a quiet half second after it, one line each (the same SQL counted), and
the total. Statements of the bot's background loops (heartbeat, the intake's and the
outbox's scans) are counted apart, and so are asyncpg's pool resets (its default resets
each connection given back to the pool; the bot's pool is made with a reset that sends
nothing, so none should appear). Each statement is one round trip
between the bot and the server.

    .venv/bin/python bench/round_trips.py [--messages 4]

Needs PostgreSQL's programs (initdb, pg_ctl, postgres) on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path

from process_bench import WARM_CHAT, Contender, FakeProcess, script, stop, warm_up

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import postgres_server

STATEMENT = re.compile(r"LOG:  (?:execute [^:]+|statement): (.*)$")
BACKGROUND = (  # the loops that run whether customers write or not
    "UPDATE workers",
    "FROM workers",
    "SELECT i.partition_key FROM inbox",
    "SELECT o.channel, o.recipient FROM outbox o",
    "FROM models",
)
# asyncpg's default pool reset runs this (`Connection.get_reset_query()`) on every connection
# given back to it: each one a round trip (the bot's pool skips it; counted in case it returns).
RESET = "pg_advisory_unlock_all()"
CUSTOMER = WARM_CHAT + 1


async def logging_server(server: str) -> tuple[str, Path]:
    """Make the server log every statement; returns a fresh database's URL and the log."""
    import asyncpg

    admin = await asyncpg.connect(server)
    try:
        await admin.execute("ALTER SYSTEM SET log_statement = 'all'")
        await admin.execute("SELECT pg_reload_conf()")
        data = await admin.fetchval("SHOW data_directory")
        await admin.execute("CREATE DATABASE round_trips")
    finally:
        await admin.close()
    return server.rsplit("/", 1)[0] + "/round_trips", Path(data).parent / "log"


def size(log: Path) -> int:
    return log.stat().st_size


def statements(log: Path, since: int) -> list[str]:
    text = log.read_bytes()[since:].decode(errors="replace")
    found = [match[1].strip() for line in text.splitlines() if (match := STATEMENT.search(line))]
    return [re.sub(r"\s+", " ", sql) for sql in found]


def show(text: str, found: list[str]) -> None:
    resets = sum(RESET in sql for sql in found)
    ours = [sql for sql in found if RESET not in sql]
    ours = [sql for sql in ours if not any(mark in sql for mark in BACKGROUND)]
    background = len(found) - len(ours) - resets
    print(
        f"\n{text!r}: {len(ours) + resets} round trips: {len(ours)} statements and "
        f"{resets} pool resets (+{background} statements of the background loops)"
    )
    for sql, count in Counter(ours).items():
        print(f"  {count} x {sql[:150]}")


async def measure(database: str, log: Path, messages: int, folder: Path) -> None:
    bot = Contender("bot", [sys.executable, "-m", "bots"], env={"DATABASE_URL": database})
    fake = await FakeProcess.start()
    try:
        process, _ = await bot.launch(fake, folder / "bot")
        try:
            await warm_up(fake, script(messages))  # WARM_CHAT: statements get prepared
            total = 0
            for text in script(messages):
                since = size(log)
                await fake.call("/bench/inject", messages=[[CUSTOMER, text]])
                answer = await fake.call(
                    "/bench/settle", chat=CUSTOMER, count=total + 1, quiet=0.5, timeout=120
                )
                total = answer["count"]
                show(text, statements(log, since))
        finally:
            await stop(process, folder / "bot")
    finally:
        await fake.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=4)
    args = parser.parse_args()
    if (why := postgres_server.available()) is not None:
        raise SystemExit(f"no PostgreSQL here: {why}")
    with postgres_server.postgres_server() as server, tempfile.TemporaryDirectory() as tmp:
        database, log = await logging_server(server)
        await measure(database, log, args.messages, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
