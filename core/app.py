"""Wiring: builds storage, classifier, knowledge base, engine, desk and delivery once.

Adapters and the console receive a ready `Core`; nothing else constructs these parts.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.clarify import Feedback
from core.clock import Clock, SystemClock
from core.compensation import Compensation
from core.delivery import Delivery
from core.dialog import Dialog, DialogPolicy
from core.engine import Engine
from core.escalation import Escalation, EscalationPolicy
from core.files import FileFetchers
from core.hours import WorkingHours
from core.intake import Intake
from core.knowledge import KnowledgeBase, load_canned
from core.learning import ModelWatcher, fetch_model, publish_model
from core.liveness import Liveness, new_worker_id
from core.manners import Manners
from core.nlu import IntentClassifier, load_classifier, model_key, publish
from core.operators import OperatorDesk
from core.orders import OrderService, make_order_service
from core.retry import describe, is_network_error, retry
from core.storage import Storage
from core.subcases import SubCases
from core.team import Team, build_team
from core.types import TELEGRAM, VK

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Any
    storage: Storage
    kb: KnowledgeBase
    orders: OrderService
    engine: Engine
    desk: OperatorDesk
    delivery: Delivery
    canned: dict[str, str]
    clock: Clock
    files: FileFetchers
    dialog: Dialog
    compensation: Compensation
    model_watcher: ModelWatcher
    intake: Intake
    liveness: Liveness
    team: Team | None = None  # departments, shifts and SLA of the operators' desk

    @property
    def worker_id(self) -> str:
        return self.liveness.worker_id

    @property
    def classifier(self) -> IntentClassifier:
        """The model in use now (`supportbot train` may swap it while the bot runs)."""
        return self.dialog.classifier

    async def close(self) -> None:
        close = getattr(self.orders, "close", None)
        if close is not None:
            await close()
        try:
            await self.delivery.stop(grace=0.0)
            await self.liveness.retire()
        except Exception as exc:  # the database may be gone already
            log.warning("claims not handed over at stop: %r", exc)
        await self.storage.close()


def models_dir(settings: Any) -> Path:
    return Path(settings.data_dir) / "models"


def classifier_for(
    settings: Any,
    kb: KnowledgeBase | None = None,
    labelled: list[tuple[str, str]] | None = None,
    publish_model: bool = False,
) -> IntentClassifier:
    """The intent model, trained from `NLU_DIR` plus operators' labels (cached under
    `DATA_DIR/models`, so a restart loads it instead of training)."""
    return load_classifier(
        Path(settings.nlu_dir),
        cache_dir=models_dir(settings),
        extra_examples=labelled or [],
        vocabulary_texts=kb.all_texts() if kb is not None else (),
        publish_model=publish_model,
    )


async def bot_classifier(settings: Any, storage: Storage, kb: KnowledgeBase) -> IntentClassifier:
    """The model a bot runs: the shipped phrases, the knowledge base's words and every
    operator label; the command line's classify/eval use the very same one. Loaded (or
    trained) in a worker thread: the event loop stays free meanwhile. A replica starting
    after another one published this very model takes it from the database instead of
    training it again."""
    labelled = await storage.labels.examples()
    key = await asyncio.to_thread(model_key, Path(settings.nlu_dir), labelled, kb.all_texts())
    await fetch_model(storage, key, models_dir(settings))
    return await asyncio.to_thread(classifier_for, settings, kb, labelled)


class DatabaseRefused(Exception):
    """The database answered but refused us (a wrong password, no such database), a
    SQLite file that cannot be opened, or a PostgreSQL server not reached within
    DATABASE_WAIT_SECONDS at start: a configuration problem, not an outage to wait out;
    the message names DATABASE_URL."""


async def open_storage(url: str, wait_seconds: float = 0.0) -> Storage:
    """Open (and migrate) the database. A PostgreSQL server that cannot be reached is
    waited for up to `wait_seconds` (0: one try), one line per attempt naming its host and
    port; then, or on a refusal, `DatabaseRefused`. SQLite is never waited for."""
    if not url.startswith(("postgresql://", "postgres://")):
        try:
            return await Storage.open(url)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseRefused(f"DATABASE_URL: cannot open the SQLite file ({exc})") from None
    where = _server(url)
    hint = f"check DATABASE_URL's host and port ({where}) if the server should be up by now"
    try:
        if not wait_seconds:
            return await Storage.open(url)
        connect = retry(
            lambda: Storage.open(url), f"PostgreSQL at {where}", transient=_outage, hint=hint
        )
        return await asyncio.wait_for(connect, wait_seconds)
    except TimeoutError:
        raise DatabaseRefused(
            f"DATABASE_URL: no PostgreSQL server answered at {where} within {wait_seconds:g} s "
            "(DATABASE_WAIT_SECONDS); check the host and the port"
        ) from None
    except Exception as exc:
        refused = type(exc).__name__
        if refused in _REFUSALS:
            raise DatabaseRefused(f"DATABASE_URL: {_REFUSALS[refused]} ({exc})") from None
        if _outage(exc):
            raise DatabaseRefused(
                f"DATABASE_URL: cannot reach PostgreSQL at {where} ({describe(exc)})"
            ) from None
        raise


def _server(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}"


_REFUSALS = {  # asyncpg's errors for a server that answered "no"
    "InvalidPasswordError": "the PostgreSQL server refused the user name or password",
    "InvalidAuthorizationSpecificationError": "the PostgreSQL server refused the user",
    "InvalidCatalogNameError": "no such database on the PostgreSQL server",
}


def _outage(exc: BaseException) -> bool:
    """The database cannot be reached now (refused connection, a server starting up)."""
    return is_network_error(exc) or type(exc).__name__ in (
        "CannotConnectNowError",
        "ConnectionDoesNotExistError",
        "TooManyConnectionsError",
    )


async def build_core(
    settings: Any,
    *,
    clock: Clock | None = None,
    orders: OrderService | None = None,
    classifier: IntentClassifier | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
) -> Core:
    """Everything the adapters need; `on_stage` hears what the start waits for now."""
    clock = clock or SystemClock()
    started = time.perf_counter()
    kb = KnowledgeBase.load(Path(settings.knowledge_dir))
    on_stage("the database")
    wait = getattr(settings, "database_wait_seconds", 0.0)
    storage = await open_storage(settings.database_url, wait)
    liveness = Liveness(storage, new_worker_id())
    await liveness.register()
    on_stage("the intent model (loaded, or trained when the phrases changed)")
    if classifier is None:
        classifier = await bot_classifier(settings, storage, kb)
        publish(models_dir(settings), classifier.fingerprint)
        await publish_model(storage, classifier, models_dir(settings), clock.now())
    log.info("intent model ready in %.2f s", time.perf_counter() - started)
    token = settings.orders_api_token.get_secret_value() if settings.orders_api_token else None
    orders = orders or make_order_service(
        settings.orders_api_url,
        Path(settings.orders_demo_file),
        settings.orders_api_timeout,
        token,
        clock=clock,
        timezone=settings.timezone,
    )
    delivery = Delivery(
        storage,
        clock,
        worker_id=liveness.worker_id,
        max_attempts=settings.delivery_max_attempts,
    )
    hours = WorkingHours(
        start=settings.work_hours_start,
        end=settings.work_hours_end,
        days=frozenset(int(d) for d in settings.work_days),
        timezone=settings.timezone,
    )
    vip_ids = frozenset(
        [f"{TELEGRAM}:{i}" for i in settings.vip_telegram_ids]
        + [f"{VK}:{i}" for i in settings.vip_vk_ids]
    )
    escalation = Escalation(
        kb.texts,
        EscalationPolicy(
            default_wait_minutes=settings.default_wait_minutes, hours=hours, vip_ids=vip_ids
        ),
    )
    dialog = Dialog(
        kb,
        classifier,
        orders,
        DialogPolicy(
            min_confidence=settings.nlu_min_confidence,
            misunderstandings_before_operator=settings.misunderstandings_before_operator,
            order_attempts_before_operator=settings.order_attempts_before_operator,
            timezone=settings.timezone,
        ),
        subcases=SubCases.load(Path(settings.knowledge_dir) / "subcases.yaml"),
        feedback=Feedback.from_file(Path(settings.nlu_dir) / "feedback.yaml"),
    )
    manners = Manners.from_file(Path(settings.nlu_dir) / "rude.yaml")
    engine = Engine(storage, dialog, escalation, clock, manners, delivery=delivery)
    desk = OperatorDesk(storage, kb.texts, clock, delivery=delivery)
    team = build_team(settings, storage, clock, hours, delivery)
    escalation.on_open.append(team.on_ticket_open)
    desk.team = team
    canned = load_canned(Path(settings.knowledge_dir) / "canned.yaml")
    compensation = Compensation(storage, desk, kb.texts, settings.compensation_low_threshold)
    await compensation.load_pool(Path(settings.compensation_codes_file))
    watcher = ModelWatcher(dialog, models_dir(settings), storage)
    return Core(
        settings=settings,
        storage=storage,
        kb=kb,
        orders=orders,
        engine=engine,
        desk=desk,
        delivery=delivery,
        canned=canned,
        clock=clock,
        files=FileFetchers(),
        dialog=dialog,
        compensation=compensation,
        model_watcher=watcher,
        intake=Intake(storage, liveness.worker_id),
        liveness=liveness,
        team=team,
    )
