"""Platform sources: `ingest` (raw landings), `ops` (service logs with error bursts),
`gov` (data-quality results) and `cost` (hourly cost per cloud resource)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from typing import Any, Final

from shared.generator._sampling import Item, lookup_table, poisson
from shared.generator._time import HOUR_MS, MINUTE_MS
from shared.generator.curves import ONLINE_INTRADAY
from shared.generator.world import World

__all__ = ["CostSource", "GovernanceSource", "IngestSource", "OpsSource"]


def _activity(hour_ms: int) -> float:
    """Relative business activity of a UTC hour (online curve at Central European time)."""
    return ONLINE_INTRADAY[(hour_ms // MINUTE_MS + 60) % 1440]


LANDING_SYSTEMS: Final = (
    "pos-de-1",
    "pos-gb-1",
    "pos-se-1",
    "pos-pl-1",
    "ecom-web",
    "ecom-app",
    "doorcount-eu-1",
    "oms-eu-1",
    "erp-s4-1",
    "crm-1",
)
LANDINGS_PER_HOUR: Final = 1200.0


class IngestSource:
    """Raw records landing in the raw zone, with a content hash and size."""

    name = "ingest"

    def __init__(self, world: World) -> None:
        self.world = world

    def hour(self, hour_ms: int) -> Iterator[Item]:
        rng = self.world.rng("ingest", hour_ms)
        fmt = self.world.fmt.ms
        bits = rng.getrandbits
        for _ in range(poisson(rng, LANDINGS_PER_HOUR * _activity(hour_ms) * self.world.scale)):
            at = hour_ms + rng.randrange(HOUR_MS)
            system = LANDING_SYSTEMS[bits(16) % len(LANDING_SYSTEMS)]
            key = f"{system}/{fmt(at)[:10]}/{bits(48):012x}.json"
            body = {
                "event_id": f"raw-{bits(80):020x}",
                "event_type": "raw_event",
                "schema_version": 1,
                "source_system": "landing-adls-1",
                "record_key": key,
                "source_system_id": system,
                "payload_hash": f"{bits(256):064x}",
                "size_bytes": int(math.exp(rng.gauss(7.2, 0.9))),
                "event_ts": fmt(at),
            }
            yield (at, at, self.name, system, body)


# service: (instances, logs per hour)
SERVICES: Final = {
    "pulse-ingest": (4, 700.0),
    "pulse-rollup": (2, 300.0),
    "pulse-api": (2, 350.0),
    "pulse-powerbi-push": (1, 120.0),
    "pos-gateway": (3, 400.0),
    "ecom-checkout": (3, 300.0),
}
ERROR_CODES: Final = {
    "pulse-ingest": ("COSMOS_429_THROTTLED", "EH_RECEIVE_TIMEOUT", "BATCH_APPLY_CONFLICT"),
    "pulse-rollup": ("COSMOS_429_THROTTLED", "ETAG_PRECONDITION_FAILED"),
    "pulse-api": ("HTTP_503", "QUERY_TIMEOUT"),
    "pulse-powerbi-push": ("PBI_429_RATE_LIMIT", "PBI_401_TOKEN_EXPIRED"),
    "pos-gateway": ("TLS_HANDSHAKE_FAILED", "UPSTREAM_TIMEOUT", "PAYMENT_DECLINED_SPIKE"),
    "ecom-checkout": ("PSP_TIMEOUT", "HTTP_502", "INVENTORY_LOCK_TIMEOUT"),
}
LEVELS: Final = lookup_table({0: 0.14, 1: 0.77, 2: 0.08, 3: 0.0098, 4: 0.0002}, bits=12)
BURST_LEVELS: Final = lookup_table({1: 0.35, 2: 0.2, 3: 0.42, 4: 0.03}, bits=12)
LEVEL_NAMES: Final = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL")
BURST_CHANCE: Final = 0.04
"""Per service and hour: an incident with an ERROR burst of 3-15 minutes."""


class OpsSource:
    """Service logs: mostly INFO, occasional incidents with bursts of ERROR lines."""

    name = "ops"

    def __init__(self, world: World) -> None:
        self.world = world

    def hour(self, hour_ms: int) -> Iterator[Item]:
        rng = self.world.rng("ops", hour_ms)
        fmt = self.world.fmt.ms
        bits = rng.getrandbits
        activity = _activity(hour_ms) * self.world.scale
        for service, (instances, per_hour) in SERVICES.items():
            burst: tuple[int, int, str] | None = None
            if rng.random() < BURST_CHANCE:
                begin = hour_ms + rng.randrange(HOUR_MS - 15 * MINUTE_MS)
                burst = (begin, begin + rng.randrange(3, 16) * MINUTE_MS, rng.choice(ERROR_CODES[service]))
            count = poisson(rng, per_hour * (0.4 + 0.6 * activity))
            times = [hour_ms + rng.randrange(HOUR_MS) for _ in range(count)]
            if burst is not None:  # an incident triples the log volume while it lasts
                span = burst[1] - burst[0]
                times += [burst[0] + rng.randrange(span) for _ in range(poisson(rng, 3 * per_hour * span / HOUR_MS))]
            for at in times:
                in_burst = burst is not None and burst[0] <= at < burst[1]
                level = (BURST_LEVELS if in_burst else LEVELS)[bits(12)]
                code = None
                if level >= 3:
                    code = burst[2] if in_burst and burst is not None else rng.choice(ERROR_CODES[service])
                instance = f"{service}-{bits(8) % instances}"
                body = {
                    "event_id": f"log-{bits(80):020x}",
                    "event_type": "log",
                    "schema_version": 1,
                    "source_system": "app-insights-export",
                    "log_id": f"{bits(64):016x}",
                    "service_id": service,
                    "instance_id": instance,
                    "log_level": LEVEL_NAMES[level],
                    "message_ts": fmt(at),
                    "error_code": code,
                    "message": _message(rng, level, code),
                }
                yield (at, at, self.name, service, body)


def _message(rng: random.Random, level: int, code: str | None) -> str:
    if level >= 3:
        return f"{code}: request failed after {rng.randrange(1, 6)} attempts (op {rng.getrandbits(32):08x})"
    if level == 2:
        return f"slow batch: {rng.randrange(800, 5000)} ms for {rng.randrange(100, 1001)} events"
    if level == 1:
        return f"processed batch of {rng.randrange(1, 1001)} events in {rng.randrange(20, 800)} ms"
    return f"checkpoint partition={rng.randrange(32)} sequence={rng.getrandbits(24)}"


# dataset: checks run every 15 minutes (facts) or hourly (dimensions)
FACT_DATASETS: Final = (
    "fact_transactions",
    "fact_traffic",
    "fact_fulfillment",
    "fact_raw_events",
    "fact_logs",
    "fact_cost_usage",
)
DIM_DATASETS: Final = ("dim_store", "dim_product", "ref_exchange_rates")
# check: (threshold, pass range of the observed value, direction: +1 observed must stay below)
CHECKS: Final = {
    "row_count_min": (100.0, (400.0, 25000.0), -1),
    "null_rate_pct_max": (1.0, (0.0, 0.4), 1),
    "freshness_minutes_max": (15.0, (0.5, 6.0), 1),
    "duplicate_rate_pct_max": (0.5, (0.0, 0.2), 1),
    "schema_conformance": (None, None, 0),
}
DIM_CHECKS: Final = ("null_rate_pct_max", "freshness_minutes_max", "schema_conformance")
STATUS: Final = lookup_table({0: 0.94, 1: 0.045, 2: 0.015}, bits=10)


class GovernanceSource:
    """Data-quality check results, mostly passing."""

    name = "gov"

    def __init__(self, world: World) -> None:
        self.world = world

    def hour(self, hour_ms: int) -> Iterator[Item]:
        rng = self.world.rng("gov", hour_ms)
        for quarter in range(4):
            run = hour_ms + quarter * 15 * MINUTE_MS
            for dataset in FACT_DATASETS:
                for name in CHECKS:
                    yield self._check(rng, run, dataset, name)
            if quarter == 0:
                for dataset in DIM_DATASETS:
                    for name in DIM_CHECKS:
                        yield self._check(rng, run, dataset, name)

    def _check(self, rng: random.Random, run: int, dataset: str, check: str) -> Item:
        threshold, good, direction = CHECKS[check]
        status = STATUS[rng.getrandbits(10)]
        observed: float | None = None
        if threshold is not None and good is not None:
            if status == 0:
                observed = rng.uniform(*good)
            elif direction > 0:  # warn: near the limit; fail: beyond it
                observed = threshold * (rng.uniform(0.85, 1.0) if status == 1 else rng.uniform(1.05, 3.0))
            else:
                observed = threshold * (rng.uniform(1.0, 1.2) if status == 1 else rng.uniform(0.0, 0.95))
            observed = round(observed, 2)
        at = run + rng.randrange(1000, 20_000)
        body = {
            "event_id": f"dq-{rng.getrandbits(80):020x}",
            "event_type": "dq_check",
            "schema_version": 1,
            "source_system": "dq-runner-1",
            "dq_id": f"{dataset}:{check}:{at // 1000}",
            "dataset_id": dataset,
            "check_name": check,
            "check_status": ("pass", "warn", "fail")[status],
            "checked_ts": self.world.fmt.ms(at),
            "observed_value": observed,
            "threshold": threshold,
        }
        return (at, at, self.name, dataset, body)


# resource: (type, cost centre, billing currency, cost per hour at average activity)
RESOURCES: Final = {
    "evhns-pulse-prod": ("Microsoft.EventHub/namespaces", "CC-DATA-PLATFORM", "USD", 2.10),
    "func-pulse-ingest": ("Microsoft.Web/sites", "CC-DATA-PLATFORM", "USD", 0.95),
    "func-pulse-rollup": ("Microsoft.Web/sites", "CC-DATA-PLATFORM", "USD", 0.40),
    "func-pulse-api": ("Microsoft.Web/sites", "CC-RETAIL-ANALYTICS", "USD", 0.22),
    "cosmos-pulse-prod": ("Microsoft.DocumentDB/databaseAccounts", "CC-DATA-PLATFORM", "USD", 4.80),
    "st-pulse-raw": ("Microsoft.Storage/storageAccounts", "CC-DATA-PLATFORM", "USD", 0.31),
    "st-pulse-func": ("Microsoft.Storage/storageAccounts", "CC-DATA-PLATFORM", "USD", 0.04),
    "kv-pulse-prod": ("Microsoft.KeyVault/vaults", "CC-SECURITY", "USD", 0.01),
    "appi-pulse-prod": ("Microsoft.Insights/components", "CC-DATA-PLATFORM", "USD", 0.55),
    "log-pulse-prod": ("Microsoft.OperationalInsights/workspaces", "CC-DATA-PLATFORM", "USD", 0.72),
    "pbi-embedded-a1": ("Microsoft.PowerBIDedicated/capacities", "CC-RETAIL-ANALYTICS", "EUR", 0.93),
    "web-pulse-live": ("Microsoft.Web/staticSites", "CC-RETAIL-ANALYTICS", "EUR", 0.01),
    "vnet-pulse-prod": ("Microsoft.Network/virtualNetworks", "CC-NETWORK", "EUR", 0.05),
    "egress-pulse-prod": ("Microsoft.Network/bandwidth", "CC-NETWORK", "EUR", 0.18),
}


class CostSource:
    """One cost record per resource and hour, reported 5-40 minutes after the hour."""

    name = "cost"

    def __init__(self, world: World) -> None:
        self.world = world

    def hour(self, hour_ms: int) -> Iterator[Item]:
        rng = self.world.rng("cost", hour_ms)
        fmt = self.world.fmt.s
        activity = _activity(hour_ms) * self.world.scale
        for resource, (kind, centre, currency, per_hour) in RESOURCES.items():
            variable = kind.startswith(
                (
                    "Microsoft.DocumentDB",
                    "Microsoft.Web/sites",
                    "Microsoft.EventHub",
                    "Microsoft.Network/bandwidth",
                    "Microsoft.Insights",
                )
            )
            level = per_hour * ((0.5 + 0.5 * activity) if variable else 1.0) * rng.uniform(0.9, 1.1)
            body: dict[str, Any] = {
                "event_id": f"cu-{rng.getrandbits(80):020x}",
                "event_type": "cost_usage",
                "schema_version": 1,
                "source_system": "azure-cost-export",
                "usage_id": f"{resource}:{hour_ms // HOUR_MS}",
                "resource_id": resource,
                "resource_type": kind,
                "cost_center_id": centre,
                "cost_amount": round(level * 100) / 100,
                "currency": currency,
                "start_ts": fmt(hour_ms),
                "end_ts": fmt(hour_ms + HOUR_MS),
            }
            reported = hour_ms + HOUR_MS + rng.randrange(5 * MINUTE_MS, 40 * MINUTE_MS)
            yield (reported, hour_ms, self.name, resource, body)
