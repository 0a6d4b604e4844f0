"""One alerting cycle, the same in both homes: take the lease, evaluate every rule, drain the outbox."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.alerts.evaluator import AlertEvaluator, EvaluationReport
from shared.alerts.evaluator_lease import EvaluatorLease
from shared.alerts.outbox import DrainReport, Transport, drain
from shared.alerts.probes import PushLag
from shared.reference.models import Store
from shared.sla.config import SlaConfig
from shared.stores.port import DocumentStore

__all__ = ["AlertCycle", "CycleReport"]


@dataclass(frozen=True, slots=True)
class CycleReport:
    """What a cycle did; `leader` False means another instance holds the lease and nothing ran."""

    leader: bool
    evaluation: EvaluationReport | None = None
    delivery: DrainReport | None = None


class AlertCycle:
    """Evaluator, lease and transport wired for one host (the timer function, or the demo's thread)."""

    def __init__(
        self,
        store: DocumentStore,
        config: SlaConfig,
        stores: Iterable[Store],
        transport: Transport,
        owner: str,
        *,
        receivers: Iterable[str] | None = None,
        push_lag: PushLag | None = None,
        live_from: datetime | None = None,
    ) -> None:
        """`receivers`: the names to deliver to (default all); the others' messages wait in the outbox.

        `live_from`: platform metrics count from then (the demo's fast-forward is history)."""
        self._store, self._config, self._transport = store, config, transport
        wanted = None if receivers is None else set(receivers)
        self._receivers = [r for r in config.receivers if wanted is None or r.name in wanted]
        self.evaluator = AlertEvaluator(store, config, stores, push_lag=push_lag, live_from=live_from)
        self.lease = EvaluatorLease(store, owner)

    def run(self, now: datetime) -> CycleReport:
        """One cycle at `now` (the host's clock: simulated in the demo)."""
        if not self.lease.acquire(now):
            return CycleReport(leader=False)
        evaluation = self.evaluator.evaluate(now)
        delivery = drain(self._store, self._receivers, self._transport, now)
        return CycleReport(True, evaluation, delivery)
