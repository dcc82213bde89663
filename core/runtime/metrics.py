"""Prometheus metrics of the bot (prometheus-client), read at `/metrics` by `bots.health`.

Counted as things happen (`handled` from the engine, `rate_limited` from the adapters'
error mapping):

* `supportbot_updates_handled_total{channel}` — customer messages and presses answered;
* `supportbot_reply_seconds{channel}` — the engine's time from a customer message to its
  answers (database writes included; the messenger's own sending is not);
* `supportbot_rate_limited_total{channel}` — 429 / flood-control answers of an API;
* `supportbot_abuse_messages_total{kind}` — customer messages limited, from a blocked
  customer, or spam (`core.abuse`), stored and marked instead of treated as usual.

Read from the database when scraped (`Snapshot.read`, asynchronous: the event loop is
never blocked by it; `exposition` writes both kinds out), for whichever replica is asked:

* `supportbot_outbox_pending`, `supportbot_outbox_oldest_pending_seconds`,
  `supportbot_outbox_dead`, `supportbot_open_cases`,
* `supportbot_model_info{version}` — the intent model in use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from core.storage import Storage

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REGISTRY = CollectorRegistry()

UPDATES = Counter(
    "supportbot_updates_handled",
    "Customer messages and button presses the engine answered",
    ["channel"],
    registry=REGISTRY,
)
REPLY_SECONDS = Histogram(
    "supportbot_reply_seconds",
    "Engine time from a customer message to its answers, database writes included",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "supportbot_rate_limited",
    "429 / flood-control answers from a messenger API",
    ["channel"],
    registry=REGISTRY,
)

ABUSE = Counter(
    "supportbot_abuse_messages",
    "Customer messages stored but not treated as usual: limited, blocked or spam",
    ["kind"],
    registry=REGISTRY,
)

turns = logging.getLogger("supportbot.turns")


def handled(channel: str, started: float, update: str | None = None, **ids: Any) -> None:
    """One customer message answered: count it, time it, and log one line with its ids."""
    spent = time.perf_counter() - started
    UPDATES.labels(channel).inc()
    REPLY_SECONDS.labels(channel).observe(spent)
    details = " ".join(f"{key} {value}" for key, value in ids.items() if value is not None)
    turns.info(
        "%s update %s handled in %.0f ms%s",
        channel,
        update or "-",
        spent * 1000,
        f": {details}" if details else "",
        extra={"channel": channel, "update": update, **ids},
    )


def rate_limited(channel: str) -> None:
    RATE_LIMITED.labels(channel).inc()


def abuse_marked(kind: str) -> None:
    """A customer message marked limited, blocked or spam (`core.abuse`)."""
    ABUSE.labels(kind).inc()


@dataclass(frozen=True)
class Snapshot:
    """What the database says now."""

    pending: int
    oldest_pending_age: float
    dead: int
    open_cases: int
    model_version: str

    @classmethod
    async def read(cls, storage: Storage, model_version: str, now: float) -> Snapshot:
        counts = await storage.outbox.counts()
        oldest = await storage.db.fetchone(
            "SELECT MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'"
        )
        cases = await storage.db.fetchone(
            "SELECT COUNT(*) AS n FROM tickets WHERE status <> ?", ("closed",)
        )
        since = oldest["oldest"] if oldest is not None else None
        return cls(
            pending=counts.get("pending", 0),
            oldest_pending_age=max(0.0, now - float(since)) if since is not None else 0.0,
            dead=counts.get("dead", 0),
            open_cases=int(cases["n"]) if cases is not None else 0,
            model_version=model_version,
        )


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        yield GaugeMetricFamily(
            "supportbot_outbox_pending", "Messages waiting in the outbox", value=s.pending
        )
        yield GaugeMetricFamily(
            "supportbot_outbox_oldest_pending_seconds",
            "Age of the oldest message waiting in the outbox (0 when none)",
            value=s.oldest_pending_age,
        )
        yield GaugeMetricFamily(
            "supportbot_outbox_dead", "Messages given up as undeliverable", value=s.dead
        )
        yield GaugeMetricFamily("supportbot_open_cases", "Cases not closed", value=s.open_cases)
        info = GaugeMetricFamily(
            "supportbot_model_info", "The intent model in use", labels=["version"]
        )
        info.add_metric([s.model_version or "unknown"], 1)
        yield info


class _Counted(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(snapshot: Snapshot) -> bytes:
    """The Prometheus text format of the counters plus `snapshot`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Counted())
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)
