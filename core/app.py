"""The composition root: builds storage, the knowledge base, the intent model, the engine,
the operators' desk and delivery once, from the settings.

Adapters and the console receive a ready `Core`. Its parts take what they use (storage, a
clock, texts, a small typed policy), not the `Core` or the settings, so each can also be
built on its own; only this module reads the settings.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.abuse.guard import Guard
from core.abuse.limits import LimitPolicy
from core.abuse.spam import load_rules
from core.clock import Clock, clock_from_environment
from core.conversation.clarify import Feedback
from core.conversation.dialog import Dialog, DialogPolicy
from core.conversation.engine import Engine
from core.conversation.manners import Manners
from core.conversation.reading import ContextRules
from core.desk import sla
from core.desk.assignment import Assignment
from core.desk.compensation import Compensation
from core.desk.escalation import Escalation, EscalationPolicy
from core.desk.hours import WorkingHours
from core.desk.operators import OperatorDesk
from core.desk.routing import MAIN, load_routing
from core.desk.sla import SlaMonitor, SlaPolicy
from core.desk.team import Team
from core.knowledge.base import KnowledgeBase, load_canned
from core.knowledge.subcases import SubCases
from core.nlu import IntentClassifier, load_classifier, model_key, publish
from core.orders import OrderService, make_order_service
from core.privacy.requests import PrivacyPolicy
from core.privacy.service import Privacy
from core.runtime.delivery import Delivery
from core.runtime.files import FileFetchers
from core.runtime.intake import Intake
from core.runtime.learning import ModelWatcher, fetch_model, publish_model, retrain
from core.runtime.liveness import Liveness
from core.runtime.opening import Base, open_base
from core.storage import Storage
from core.types import TELEGRAM, VK

if TYPE_CHECKING:  # the settings are the caller's (config/): core reads, never loads them
    from config.settings import Settings

log = logging.getLogger(__name__)
SHIPPED_NLU = Path(__file__).resolve().parent.parent / "config" / "nlu"


@dataclass
class Core:
    """Everything a running bot is made of, built by `build_core`."""

    settings: Settings
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
    team: Team  # departments, shifts and SLA of the operators' desk
    privacy: Privacy  # erasure, export, retention of customers' personal data

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


def models_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "models"


def classifier_for(
    settings: Settings,
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


async def bot_classifier(
    settings: Settings, storage: Storage, kb: KnowledgeBase
) -> IntentClassifier:
    """The model a bot runs: the shipped phrases, the knowledge base's words and every
    operator label; the command line's classify/eval use the very same one. Loaded (or
    trained) in a worker thread: the event loop stays free meanwhile. A replica starting
    after another one published this very model takes it from the database instead of
    training it again."""
    labelled = await storage.labels.examples()
    key = await asyncio.to_thread(model_key, Path(settings.nlu_dir), labelled, kb.all_texts())
    await fetch_model(storage, key, models_dir(settings))
    return await asyncio.to_thread(classifier_for, settings, kb, labelled)


async def build_core(
    settings: Settings,
    *,
    clock: Clock | None = None,
    orders: OrderService | None = None,
    classifier: IntentClassifier | None = None,
    on_stage: Callable[[str], None] = lambda stage: None,
    base: Base | None = None,
) -> Core:
    """Open the database, load the knowledge base and the intent model, and wire the
    parts; `clock`, `orders` and `classifier` replace the real ones (tests, benchmarks);
    `on_stage` hears what the start waits for now (`/readyz` says it). `base`: the
    database, worker and intake opened already (`open_base`), which then go on storing
    updates while the rest is built."""
    clock = clock or clock_from_environment()
    kb = KnowledgeBase.load(Path(settings.knowledge_dir), shop=settings.shop_name)
    if base is None:
        on_stage("the database")
        base = await open_base(settings)
    storage, liveness = base.storage, base.liveness
    on_stage("the intent model (loaded, or trained when the phrases changed)")
    classifier = classifier or await _model(settings, storage, kb, clock)
    orders = orders or _order_service(settings, clock)
    delivery = Delivery(
        storage,
        clock,
        kb.desk,
        worker_id=liveness.worker_id,
        max_attempts=settings.delivery_max_attempts,
    )
    hours = working_hours(settings)
    team = _team(settings, storage, clock, hours, delivery)
    dialog = _dialog(settings, kb, classifier, orders)
    escalation = Escalation(kb.texts, escalation_policy(settings, hours), team.on_ticket_open)
    privacy = _privacy(settings, storage, clock, kb, delivery, dialog)
    engine = _engine(settings, storage, clock, kb, orders, dialog, escalation, delivery, privacy)
    desk = OperatorDesk(storage, clock, kb.texts, kb.desk, delivery, team)
    desk.privacy = privacy
    privacy.retention.retrain = lambda: retrain_without_erased(settings, storage, kb)
    compensation = Compensation(storage, desk, kb.texts, settings.compensation_low_threshold)
    await compensation.load_pool(Path(settings.compensation_codes_file))
    return Core(
        settings=settings,
        storage=storage,
        kb=kb,
        orders=orders,
        engine=engine,
        desk=desk,
        delivery=delivery,
        canned=load_canned(Path(settings.knowledge_dir) / "canned.yaml"),
        clock=clock,
        files=FileFetchers(),
        dialog=dialog,
        compensation=compensation,
        model_watcher=ModelWatcher(dialog, models_dir(settings), storage),
        intake=base.intake,
        liveness=liveness,
        team=team,
        privacy=privacy,
    )


def _engine(
    settings: Settings,
    storage: Storage,
    clock: Clock,
    kb: KnowledgeBase,
    orders: OrderService,
    dialog: Dialog,
    escalation: Escalation,
    delivery: Delivery,
    privacy: Privacy,
) -> Engine:
    """A customer's turn: the dialog behind the guard (limits, blocks, spam) and the
    requests about personal data, insults answered calmly."""
    return Engine(
        storage,
        dialog,
        escalation,
        clock,
        Manners.from_file(Path(settings.nlu_dir) / "rude.yaml"),
        delivery=delivery,
        privacy=privacy.requests,
        guard=_guard(settings, kb, orders),
    )


async def _model(
    settings: Settings, storage: Storage, kb: KnowledgeBase, clock: Clock
) -> IntentClassifier:
    """The intent model every replica runs, published for the others."""
    started = time.perf_counter()
    classifier = await bot_classifier(settings, storage, kb)
    publish(models_dir(settings), classifier.fingerprint)
    await publish_model(storage, classifier, models_dir(settings), clock.now())
    log.info("intent model ready in %.2f s", time.perf_counter() - started)
    return classifier


def _order_service(settings: Settings, clock: Clock) -> OrderService:
    token = settings.orders_api_token.get_secret_value() if settings.orders_api_token else None
    return make_order_service(
        settings.orders_api_url,
        Path(settings.orders_demo_file),
        settings.orders_api_timeout,
        token,
        clock=clock,
        timezone=settings.timezone,
        knowledge_dir=Path(settings.knowledge_dir),
    )


def _dialog(
    settings: Settings, kb: KnowledgeBase, classifier: IntentClassifier, orders: OrderService
) -> Dialog:
    policy = DialogPolicy(
        min_confidence=settings.nlu_min_confidence,
        misunderstandings_before_operator=settings.misunderstandings_before_operator,
        order_attempts_before_operator=settings.order_attempts_before_operator,
        timezone=settings.timezone,
    )
    return Dialog(
        kb,
        classifier,
        orders,
        policy,
        subcases=SubCases.load(Path(settings.knowledge_dir) / "subcases.yaml"),
        feedback=Feedback.from_file(Path(settings.nlu_dir) / "feedback.yaml"),
        context=ContextRules.from_file(Path(settings.nlu_dir) / "context.yaml"),
    )


def _privacy(
    settings: Settings,
    storage: Storage,
    clock: Clock,
    kb: KnowledgeBase,
    delivery: Delivery,
    dialog: Dialog,
) -> Privacy:
    phrases = Path(settings.nlu_dir) / "privacy.yaml"
    if not phrases.exists():  # a shop's NLU_DIR from before issue 18: the shipped phrases
        phrases = SHIPPED_NLU / "privacy.yaml"
    policy = PrivacyPolicy(
        policy_url=settings.privacy_policy_url or "",
        retention_days=settings.retention_days,
        timezone=settings.timezone,
    )
    return Privacy.build(
        storage,
        clock,
        kb.texts,
        policy,
        phrases,
        delivery,
        normalize=lambda text: dialog.classifier.normalizer.normalize(text),
    )


async def retrain_without_erased(settings: Settings, storage: Storage, kb: KnowledgeBase) -> str:
    """Train the intent model again on the shipped phrases and the labels left after an
    erasure, publish it (every replica switches), and delete the other cached models of
    this machine; returns the new model's fingerprint."""
    model = await retrain(storage, Path(settings.nlu_dir), models_dir(settings), kb.all_texts())
    key = model.fingerprint
    for old in models_dir(settings).glob("intent-model-*.pkl"):
        if old.name != f"intent-model-{key}.pkl":
            await asyncio.to_thread(old.unlink, missing_ok=True)
    return key


def _guard(settings: Settings, kb: KnowledgeBase, orders: OrderService) -> Guard:
    """Limits, blocks and spam rules of customers' turns (the rules file was validated
    with the settings)."""
    policy = LimitPolicy(
        messages_per_minute=settings.customer_messages_per_minute,
        cases_per_day=settings.customer_cases_per_day,
    )
    rules = load_rules(Path(settings.spam_file), settings.shop_domains)
    return Guard(policy, rules, kb.texts, orders, settings.timezone)


def working_hours(settings: Settings) -> WorkingHours:
    return WorkingHours(
        start=settings.work_hours_start,
        end=settings.work_hours_end,
        days=frozenset(int(d) for d in settings.work_days),
        timezone=settings.timezone,
    )


def escalation_policy(settings: Settings, hours: WorkingHours) -> EscalationPolicy:
    vip_ids = frozenset(
        [f"{TELEGRAM}:{i}" for i in settings.vip_telegram_ids]
        + [f"{VK}:{i}" for i in settings.vip_vk_ids]
    )
    return EscalationPolicy(
        default_wait_minutes=settings.default_wait_minutes, hours=hours, vip_ids=vip_ids
    )


def sla_policy(settings: Settings, hours: WorkingHours | None) -> SlaPolicy:
    minute, hour = 60.0, 3600.0
    return SlaPolicy(
        first_response={
            sla.VIP: settings.sla_first_response_minutes_vip * minute,
            sla.COMPLAINT: settings.sla_first_response_minutes_complaint * minute,
            sla.ORDINARY: settings.sla_first_response_minutes_ordinary * minute,
        },
        resolution={
            sla.VIP: settings.sla_resolution_hours_vip * hour,
            sla.COMPLAINT: settings.sla_resolution_hours_complaint * hour,
            sla.ORDINARY: settings.sla_resolution_hours_ordinary * hour,
        },
        warn_share=settings.sla_warn_share,
        hours=hours,
    )


def _team(
    settings: Settings,
    storage: Storage,
    clock: Clock,
    hours: WorkingHours,
    delivery: Delivery,
) -> Team:
    """The team from the settings; the routing file was validated with them."""
    routing = load_routing(Path(settings.routing_file))
    return Team(
        routing=routing.serving(frozenset(settings.operator_groups) | {MAIN}),
        assignment=Assignment(auto=settings.auto_assign),
        sla=SlaMonitor(storage, sla_policy(settings, hours), clock, delivery),
    )
