"""Enrichment: dimensions as of event time, local business date, FX to exact cents, PII pseudonyms.

An unknown store or product is attributed to an inferred member and flagged; an
unknown currency cannot be converted, so that event becomes a dead letter (it can
be replayed once the rate exists).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from shared.contracts import CostUsage, Transaction
from shared.contracts.registry import Event, event_time, store_key
from shared.engine.windows import minute_at, minute_of
from shared.money import convert_cents, rate_to_units, to_cents
from shared.pipeline.dead_letters import DeadLetter, ReasonCode, dead_letter
from shared.pipeline.enriched import (
    UNASSIGNED,
    DataQualityIssue,
    EnrichedEvent,
    IssueCode,
    StoreContext,
    store_context,
)
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import ValidEvent
from shared.reference import ReferenceData, Store
from shared.topology import Source

__all__ = ["Enricher", "EnrichmentResult"]

_CACHE_LIMIT = 100_000
_ONLINE_CHANNELS = {"WEB": "web", "APP": "app"}


@dataclass(slots=True)
class EnrichmentResult:
    """Enriched events in input order, and the events that could not be enriched."""

    enriched: list[EnrichedEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)


class Enricher:
    """Adds reference data to validated events. Caches are per instance; no clock is read."""

    def __init__(self, reference: ReferenceData, pseudonymiser: Pseudonymiser) -> None:
        self._reference = reference
        self._pseudonymiser = pseudonymiser
        self._products = reference.products.single_versions()
        self._local_dates: dict[tuple[str, int], date] = {}
        self._rates: dict[tuple[str, date], int | None] = {}
        self._contexts: dict[tuple[int, date], StoreContext] = {}
        self._last_minute: dict[str, tuple[int, StoreContext, str]] = {}
        self._member_minutes: dict[int, tuple[int, float]] = {}

    def enrich(self, source: Source, events: list[ValidEvent], now: datetime) -> EnrichmentResult:
        """Enrich `events` of `source`; `now` stamps any dead letter."""
        result = EnrichmentResult()
        accept, enrich_one = result.enriched.append, self._enrich_one
        for event, raw in events:
            enriched = enrich_one(event, raw)
            if isinstance(enriched, EnrichedEvent):
                accept(enriched)
            else:
                code, reason = enriched
                result.dead_letters.append(dead_letter(source, raw, code, reason, now, event.event_id))
        return result

    def _enrich_one(self, event: Event, raw: RawEvent) -> EnrichedEvent | tuple[ReasonCode, str]:
        issues: list[DataQualityIssue] = []
        if type(event) is Transaction:  # the hot path, without the generic look-ups
            return self._transaction(event, raw, event.posted_ts.astimezone(UTC), issues)
        ts = event_time(event).astimezone(UTC)
        store_id = store_key(event)
        if store_id is None:
            store, minute = None, minute_of(ts)
        else:
            store, minute = self._store(store_id, ts, issues)
        if isinstance(event, CostUsage):
            cents = self._convert(to_cents(event.cost_amount), event.currency, ts.date())
            if cents is None:
                return self._unknown_currency(event.currency, ts.date())
            return EnrichedEvent(event, raw, ts, store, minute, amount_cents=cents)
        return EnrichedEvent(event, raw, ts, store, minute, issues=tuple(issues))

    def _transaction(
        self, event: Transaction, raw: RawEvent, ts: datetime, issues: list[DataQualityIssue]
    ) -> EnrichedEvent | tuple[ReasonCode, str]:
        # The hot path of the whole product (most events are sales): locals, no helper calls per line.
        store, minute = self._store(event.merchant_id, ts, issues)
        amount = round(event.amount * 100)  # to_cents
        day = ts.date()
        cents = self._convert(amount, event.currency, day)
        if cents is None:
            return self._unknown_currency(event.currency, day)
        products = self._products
        units = 0
        line_total = 0
        categories: list[str] = []
        for line in event.lines:
            quantity = line["quantity"]
            units += quantity
            line_total += quantity * round(line["unit_price"] * 100)
            product_id = line["product_id"]
            product = products.get(product_id)  # Dimension.as_of, inlined for the one-version case
            if product is None or ts < product.valid_from or (product.valid_to is not None and ts >= product.valid_to):
                product = self._reference.products.as_of(product_id, ts)
            if product is None:
                categories.append(UNASSIGNED)
                issues.append(DataQualityIssue(IssueCode.UNKNOWN_PRODUCT, product_id))
            else:
                categories.append(product.category)
        if abs(line_total - amount) > 1:
            issues.append(
                DataQualityIssue(IssueCode.LINE_SUM_MISMATCH, f"lines sum to {line_total} cents, amount is {amount}")
            )
        customer_id = event.customer_id
        customer = None if customer_id is None else self._pseudonymiser.pseudonym(customer_id)
        return EnrichedEvent(
            event, raw, ts, store, minute, cents, units, customer, tuple(categories), tuple(issues) if issues else ()
        )

    def _store(self, store_id: str, ts: datetime, issues: list[DataQualityIssue]) -> tuple[StoreContext, str]:
        """The store as of `ts` and the UTC minute of `ts`.

        Each store remembers the context of the minute of its last event: in a busy
        stream the next event of a store is nearly always in the same minute (one
        dict look-up); in a sparse one the look-up misses and costs what it saves.
        """
        minute_index = int(ts.timestamp() // 60)
        last = self._last_minute.get(store_id)
        if last is None or last[0] != minute_index:
            last = self._store_minute(store_id, ts, minute_index)
        context = last[1]
        if context.inferred:
            issues.append(DataQualityIssue(IssueCode.UNKNOWN_STORE, store_id))
        return context, last[2]

    def _store_minute(self, store_id: str, ts: datetime, minute_index: int) -> tuple[int, StoreContext, str]:
        minute = minute_at(minute_index)
        stores = self._reference.stores
        member = stores.as_of(store_id, ts)
        if member is None:
            channel = _ONLINE_CHANNELS.get(store_id, "store")
            inferred = store_context(store_id, UNASSIGNED, UNASSIGNED, "UTC", ts.date(), channel, True)
            entry = (minute_index, inferred, minute)
            if store_id not in stores:  # a store with versions at other times may get one inside this minute
                self._last_minute[store_id] = entry
            return entry
        local = self._local_date(member.timezone, ts, minute_index)
        # Members live as long as the reference data, so their identity is a safe cache key.
        key = (id(member), local)
        context = self._contexts.get(key)
        if context is None:
            if len(self._contexts) >= _CACHE_LIMIT:
                self._contexts.clear()
            context = self._contexts[key] = store_context(
                store_id, member.region, member.country, member.timezone, local, member.channel, False
            )
        entry = (minute_index, context, minute)
        first, end = self._whole_minutes(member)
        if first <= minute_index < end:  # this version covers the whole minute: the entry holds for all of it
            self._last_minute[store_id] = entry
        return entry

    def _whole_minutes(self, member: Store) -> tuple[int, float]:
        """The minutes ``[first, end)`` that lie wholly inside the validity of `member`."""
        bounds = self._member_minutes.get(id(member))
        if bounds is None:
            valid_to = member.valid_to
            end = math.inf if valid_to is None else math.floor(valid_to.timestamp() / 60)
            bounds = self._member_minutes[id(member)] = (math.ceil(member.valid_from.timestamp() / 60), end)
        return bounds

    def _local_date(self, timezone: str, ts: datetime, minute_index: int) -> date:
        # Local midnights fall on whole minutes in every current zone, so a minute key is exact.
        key = (timezone, minute_index)
        cached = self._local_dates.get(key)
        if cached is None:
            if len(self._local_dates) >= _CACHE_LIMIT:
                self._local_dates.clear()
            cached = self._local_dates[key] = ts.astimezone(ZoneInfo(timezone)).date()
        return cached

    def _convert(self, cents: int, currency: str, on: date) -> int | None:
        key = (currency, on)
        units = self._rates.get(key, -1)
        if units == -1:
            rate = self._reference.fx.rate(currency, on)
            units = None if rate is None else rate_to_units(rate)
            self._rates[key] = units
        return None if units is None else convert_cents(cents, units)

    def _unknown_currency(self, currency: str, on: date) -> tuple[ReasonCode, str]:
        reporting = self._reference.reporting_currency
        return (
            ReasonCode.UNKNOWN_CURRENCY,
            f"no {reporting} rate for currency {currency} on or before {on.isoformat()}",
        )
