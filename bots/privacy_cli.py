"""`supportbot forget`, `supportbot export` and `supportbot erasures`: a customer's personal
data from the command line (a request made by phone or e-mail, the right of access, the
acts of erasure for an inspection).

    supportbot forget telegram:ID [--yes]   erase everything stored about the customer
    supportbot export vk:ID [--output F]    everything stored about them, as JSON
    supportbot erasures [--since D] [--until D] [--format table|json]   the acts

`forget` is the same unit of work as an operator's `/forget`: the customer is told and the
operators' topics are deleted by the running bot (through the outbox), whenever it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from config.settings import Settings

if TYPE_CHECKING:
    from core.privacy.service import Privacy
    from core.storage import Storage
    from core.types import CustomerRef

COMMANDS = ("forget", "export", "erasures")
CHANNELS = ("telegram", "vk")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    forget = sub.add_parser("forget", help="erase a customer's personal data (telegram:ID, vk:ID)")
    forget.add_argument("customer", help="telegram:ID or vk:ID")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    export = sub.add_parser("export", help="everything stored about a customer, as JSON")
    export.add_argument("customer", help="telegram:ID or vk:ID")
    export.add_argument("--output", type=Path, help="write to this file instead of stdout")
    acts = sub.add_parser("erasures", help="the acts of erasure (when, why, what, who asked)")
    acts.add_argument("--since", help="first day, YYYY-MM-DD")
    acts.add_argument("--until", help="last day (inclusive), YYYY-MM-DD")
    acts.add_argument("--format", choices=("table", "json"), default="table")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run one of `COMMANDS`; 2 for a bad argument (one line on stderr)."""
    if args.command == "erasures":
        return asyncio.run(list_acts(settings, args.since, args.until, args.format))
    customer = parse_customer(args.customer)
    if customer is None:
        print(
            f"supportbot {args.command}: expected telegram:ID or vk:ID (a numeric id), "
            f"got {args.customer!r}",
            file=sys.stderr,
        )
        return 2
    if args.command == "export":
        return export(settings, customer, args.output)
    if not args.yes and not _confirmed(customer.key):
        print("Nothing erased.", file=sys.stderr)
        return 1
    return asyncio.run(forget(settings, customer))


def parse_customer(value: str) -> CustomerRef | None:
    from core.types import CustomerRef

    channel, _, user_id = value.strip().partition(":")
    if channel not in CHANNELS or not user_id.lstrip("-").isdigit():
        return None
    return CustomerRef(channel, user_id)


def _confirmed(key: str) -> bool:
    if not sys.stdin.isatty():
        print(
            f"supportbot forget: erasing {key} cannot be undone; add --yes to confirm",
            file=sys.stderr,
        )
        return False
    answer = input(f"Erase everything stored about {key}? This cannot be undone. [y/N] ")
    return answer.strip().lower() in ("y", "yes", "д", "да")


async def _open(settings: Settings) -> tuple[Storage, Privacy]:
    from core.app import SHIPPED_NLU
    from core.clock import SystemClock
    from core.knowledge.base import KnowledgeBase
    from core.privacy.requests import PrivacyPolicy
    from core.privacy.service import Privacy
    from core.runtime.opening import open_storage

    kb = KnowledgeBase.load(Path(settings.knowledge_dir))
    storage = await open_storage(settings.database_url)
    policy = PrivacyPolicy(
        settings.privacy_policy_url or "", settings.retention_days, settings.timezone
    )
    privacy = Privacy.build(storage, SystemClock(), kb.texts, policy, SHIPPED_NLU / "privacy.yaml")
    return storage, privacy


async def forget(settings: Settings, customer: CustomerRef) -> int:
    from core.privacy.erasure import BY_COMMAND

    storage, privacy = await _open(settings)
    try:
        who = f"{BY_COMMAND} ({getpass.getuser()})"
        erased = await privacy.erasure.forget(customer, BY_COMMAND, who)
        earlier = await privacy.erasure.acts_for(customer) if erased is None else []
    finally:
        await storage.close()
    if erased is None:
        print(f"Nothing is stored about {customer.key}.")
        for act in earlier:
            print(f"Erased before: act {act.id} on {_when(act.done_at, settings.timezone)}.")
        return 0
    removed = ", ".join(f"{key} {count}" for key, count in sorted(erased.removed.items()))
    print(f"Erased {customer.key}: act {erased.act}, customer {erased.label}; removed: {removed}.")
    print(
        "The customer is told and the operators' topics are deleted by the running bot "
        "(through the outbox)."
    )
    return 0


def export(settings: Settings, customer: CustomerRef, output: Path | None) -> int:
    text = asyncio.run(_export(settings, customer))
    if output is None:
        print(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        print(f"Written to {output}.", file=sys.stderr)
    return 0


async def _export(settings: Settings, customer: CustomerRef) -> str:
    import time as _time

    storage, privacy = await _open(settings)
    try:
        return await privacy.export.as_json(customer, _time.time())
    finally:
        await storage.close()


async def list_acts(settings: Settings, since: str | None, until: str | None, fmt: str) -> int:
    zone = settings.timezone
    try:
        start = _day(since, zone) if since else 0.0
        end = _day(until, zone, next_day=True) if until else 1e18
    except ValueError:
        print(f"Not a date: {since or until!r}. Dates are YYYY-MM-DD.", file=sys.stderr)
        return 2
    from core.runtime.opening import open_storage

    storage = await open_storage(settings.database_url)
    try:
        acts = await storage.privacy.acts(start, end)
    finally:
        await storage.close()
    if fmt == "json":
        rows = [
            {
                "act": a.id,
                "done_at": _when(a.done_at, zone),
                "requested_at": _when(a.requested_at, zone),
                "reason": a.reason,
                "requested_by": a.requested_by,
                "channel": a.channel,
                "customer": a.label,
                "customer_hash": a.customer_hash,
                "removed": a.removed,
            }
            for a in acts
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    print("act\tdone at\treason\trequested by\tchannel\tcustomer\tremoved")
    for a in acts:
        removed = ", ".join(f"{k} {v}" for k, v in sorted(a.removed.items()))
        print(
            f"{a.id}\t{_when(a.done_at, zone)}\t{a.reason}\t{a.requested_by}\t"
            f"{a.channel or '-'}\t{a.label or '-'}\t{removed}"
        )
    return 0


def _day(value: str, zone: str, next_day: bool = False) -> float:
    day = date.fromisoformat(value) + timedelta(days=1 if next_day else 0)
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(zone)).timestamp()


def _when(timestamp: float, zone: str) -> str:
    return datetime.fromtimestamp(timestamp, ZoneInfo(zone)).isoformat(timespec="seconds")
