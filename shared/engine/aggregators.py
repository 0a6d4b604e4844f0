"""Aggregators: small pure objects that say what an event adds to its view and how states combine.

Each has `initialize() / add(state, event) / merge(a, b) / result(state)` and a state
`version`: a document written by another version is refused, never misread. Retail
and platform views are additive counters; the order view keeps status records and
folds them in `result` (see `orders.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from shared.contracts import CostUsage, DataQualityCheck, Footfall, LogRecord, OrderStatus, RawEventLanding, Transaction
from shared.engine.orders import OrderFacts, StatusRecord, order_facts
from shared.engine.windows import epoch_us
from shared.pipeline.enriched import EnrichedEvent

__all__ = ["AGGREGATORS", "Aggregator", "CounterAggregator", "OrderAggregator", "aggregator_for"]

Counters = dict[str, int]


class CounterAggregator:
    """Base of the additive views: a state is a map of integer counters."""

    view: ClassVar[str]
    version: ClassVar[int] = 1

    def increments(self, event: EnrichedEvent) -> Counters:
        raise NotImplementedError

    def initialize(self) -> Counters:
        return {}

    def add(self, state: Counters, event: EnrichedEvent) -> Counters:
        return self.merge(state, self.increments(event))

    def merge(self, a: Mapping[str, int], b: Mapping[str, int]) -> Counters:
        out = dict(a)
        for name, value in b.items():
            out[name] = out.get(name, 0) + value
        return out

    def result(self, state: Mapping[str, int]) -> Counters:
        return dict(state)


class SalesAggregator(CounterAggregator):
    """txn: money in reporting cents and counts by type; units over sales."""

    view = "sales"

    def increments(self, event: EnrichedEvent) -> Counters:
        txn: Transaction = event.event  # type: ignore[assignment]
        if txn.txn_type == "sale":
            return {"gross_cents": event.amount_cents or 0, "sales": 1, "units": event.units}
        if txn.txn_type == "refund":
            return {"refund_cents": event.amount_cents or 0, "refunds": 1}
        return {"voids": 1}


class TrafficAggregator(CounterAggregator):
    view = "traffic"

    def increments(self, event: EnrichedEvent) -> Counters:
        count: Footfall = event.event  # type: ignore[assignment]
        return {"visitors": count.visitors, "traffic_reports": 1}


class LogsAggregator(CounterAggregator):
    view = "logs"

    def increments(self, event: EnrichedEvent) -> Counters:
        log: LogRecord = event.event  # type: ignore[assignment]
        return {log.log_level.lower(): 1, "logs": 1}


class DataQualityAggregator(CounterAggregator):
    view = "dq"

    def increments(self, event: EnrichedEvent) -> Counters:
        check: DataQualityCheck = event.event  # type: ignore[assignment]
        return {check.check_status: 1, "checks": 1}


class CostAggregator(CounterAggregator):
    view = "cost"

    def increments(self, event: EnrichedEvent) -> Counters:
        return {"cost_cents": event.amount_cents or 0, "records": 1}


class LandingAggregator(CounterAggregator):
    view = "landing"

    def increments(self, event: EnrichedEvent) -> Counters:
        landing: RawEventLanding = event.event  # type: ignore[assignment]
        return {"records": 1, "bytes": landing.size_bytes}


class OrderAggregator:
    """fulfillment: the state is the order's status records; the result is its facts."""

    view: ClassVar[str] = "order"
    version: ClassVar[int] = 1

    def initialize(self) -> list[StatusRecord]:
        return []

    def record(self, event: EnrichedEvent) -> StatusRecord:
        status: OrderStatus = event.event  # type: ignore[assignment]
        store = event.store
        region, channel, zone = (
            (store.region, store.channel, store.timezone) if store else ("UNASSIGNED", "store", "UTC")
        )
        return (
            status.status,
            epoch_us(status.status_ts),
            epoch_us(status.promised_ts),
            epoch_us(status.order_placed_ts),
            status.event_id,
            region,
            channel,
            zone,
        )

    def add(self, state: list[StatusRecord], event: EnrichedEvent) -> list[StatusRecord]:
        return [*state, self.record(event)]

    def merge(self, a: list[StatusRecord], b: list[StatusRecord]) -> list[StatusRecord]:
        return [*a, *b]

    def result(self, state: list[StatusRecord]) -> OrderFacts:
        return order_facts(state)


Aggregator = CounterAggregator | OrderAggregator

AGGREGATORS: Final[dict[type[Any], Aggregator]] = {
    Transaction: SalesAggregator(),
    Footfall: TrafficAggregator(),
    OrderStatus: OrderAggregator(),
    LogRecord: LogsAggregator(),
    DataQualityCheck: DataQualityAggregator(),
    CostUsage: CostAggregator(),
    RawEventLanding: LandingAggregator(),
}
"""The aggregator of each event type's primary view."""

_BY_VIEW: Final[dict[str, Aggregator]] = {a.view: a for a in AGGREGATORS.values()}


def aggregator_for(view: str) -> Aggregator | None:
    """The aggregator of a view name (None for flow documents, which count messages, not events)."""
    return _BY_VIEW.get(view)
