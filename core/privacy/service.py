"""The privacy parts wired together, built once by `core.app.build_core`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.clock import Clock
from core.desk.action import ActionRunner
from core.desk.roles import Operator
from core.knowledge.texts import Texts
from core.privacy import desk
from core.privacy.detector import PrivacyDetector
from core.privacy.erasure import Erased, Erasure
from core.privacy.export import Export
from core.privacy.identity import Identity
from core.privacy.requests import PrivacyPolicy, PrivacyRequests
from core.privacy.retention import Retention
from core.runtime.delivery import Delivery
from core.storage import Storage


@dataclass
class Privacy:
    identity: Identity
    erasure: Erasure
    requests: PrivacyRequests
    retention: Retention
    export: Export

    @classmethod
    def build(
        cls,
        storage: Storage,
        clock: Clock,
        texts: Texts,
        policy: PrivacyPolicy,
        phrases: Path,
        delivery: Delivery | None = None,
        normalize: Callable[[str], str] | None = None,
    ) -> Privacy:
        """`texts` are the customers'; `phrases` the detector's file (config/nlu/privacy.yaml);
        `normalize` the classifier's normaliser."""
        identity = Identity(storage, clock)
        erasure = Erasure(storage, clock, identity, texts, delivery)
        detector = PrivacyDetector.from_file(phrases)
        retention = Retention(storage, clock, erasure, policy.retention_days)
        if delivery is not None:
            delivery.on_delivered.append(retention.on_delivered)
        return cls(
            identity=identity,
            erasure=erasure,
            requests=PrivacyRequests(erasure, detector, texts, policy, normalize),
            retention=retention,
            export=Export(storage, erasure, policy.timezone),
        )

    async def housekeeping(self) -> None:
        """The periodic part (from the housekeeping loop): a retention pass each hour."""
        await self.retention.maybe_run()

    async def forget_case(
        self,
        runner: ActionRunner,
        ticket_id: int,
        operator: Operator,
        external_id: str | None = None,
    ) -> Erased:
        """A senior operator's `/forget` (`core.desk.operators.OperatorDesk.forget`)."""
        return await desk.forget(runner, self.erasure, ticket_id, operator, external_id)

    async def export_case(
        self, runner: ActionRunner, ticket_id: int, operator: Operator
    ) -> tuple[str, str]:
        """A senior operator's `/export` (`core.desk.operators.OperatorDesk.export`)."""
        return await desk.export(runner, self.export, ticket_id, operator)
