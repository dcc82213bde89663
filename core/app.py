"""Wiring: builds storage, classifier, knowledge base, engine, desk and delivery once.

Adapters and the console receive a ready `Core`; nothing else constructs these parts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.clock import Clock, SystemClock
from core.conversation.clarify import Feedback
from core.conversation.dialog import Dialog, DialogPolicy
from core.conversation.engine import Engine
from core.conversation.manners import Manners
from core.desk.compensation import Compensation
from core.desk.escalation import Escalation, EscalationPolicy
from core.desk.hours import WorkingHours
from core.desk.operators import OperatorDesk
from core.desk.team import Team, build_team
from core.knowledge.base import KnowledgeBase, load_canned
from core.knowledge.subcases import SubCases
from core.nlu import IntentClassifier, load_classifier, model_key, publish
from core.orders import OrderService, make_order_service
from core.runtime.delivery import Delivery
from core.runtime.files import FileFetchers
from core.runtime.intake import Intake
from core.runtime.learning import ModelWatcher, fetch_model, publish_model
from core.runtime.liveness import Liveness, new_worker_id
from core.runtime.retry import is_network_error, retry
from core.storage import Storage
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
    """The database answered but refused us (a wrong password, no such database): a
    configuration problem, not an outage; the message names DATABASE_URL."""


async def open_storage(url: str) -> Storage:
    """Open (and migrate) the database, waiting out an outage with one line per attempt;
    a refusal becomes `DatabaseRefused`."""
    try:
        return await retry(lambda: Storage.open(url), "The database", transient=_outage)
    except Exception as exc:
        refused = type(exc).__name__
        if refused in _REFUSALS:
            raise DatabaseRefused(f"DATABASE_URL: {_REFUSALS[refused]} ({exc})") from None
        raise


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
) -> Core:
    clock = clock or SystemClock()
    started = time.perf_counter()
    kb = KnowledgeBase.load(Path(settings.knowledge_dir), shop=settings.shop_name)
    storage = await open_storage(settings.database_url)
    liveness = Liveness(storage, new_worker_id())
    await liveness.register()
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
        knowledge_dir=Path(settings.knowledge_dir),
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
    escalation.on_open = team.on_ticket_open
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
