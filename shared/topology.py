"""Names that the code, the Functions app and the infrastructure must agree on.

One place for hub names, the consumer group, Cosmos DB containers and setting
names, so `infra/`, `functions/` and the tests import them instead of retyping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = [
    "ACCEPTED_LATENESS_SETTING",
    "CAPTURE_URL_SETTING",
    "CONSUMER_GROUP",
    "CONSUMER_GROUP_SETTING",
    "CONTAINERS",
    "COSMOS_CONNECTION",
    "COSMOS_DATABASE",
    "COSMOS_DATABASE_SETTING",
    "DEAD_LETTER_KEY_FILE_SETTING",
    "DEAD_LETTER_KEY_SETTING",
    "EVENTHUB_CONNECTION",
    "EVENT_IDS_CONTAINER",
    "HUB_NAMES",
    "LEASES_CONTAINER",
    "LIVE_PAGE_ROUTE",
    "PARTITION_KEY_FIELD",
    "PII_KEY_SETTING",
    "POWERBI_DATASET_SETTINGS",
    "POWERBI_HISTORY_PAIR_SETTINGS",
    "POWERBI_PUSH_URL_SETTING",
    "REPORTING_CURRENCY_SETTING",
    "SCOPE_MAP_SETTING",
    "SOURCES",
    "ContainerSpec",
    "Source",
    "hub_setting",
]

Source = Literal["txn", "traffic", "fulfillment", "ingest", "ops", "gov", "cost"]
"""The seven event sources of the wire contract, one Event Hub each."""

SOURCES: Final[tuple[Source, ...]] = get_args(Source)

HUB_NAMES: Final[dict[Source, str]] = {source: f"pulse-{source}" for source in SOURCES}
"""Default Event Hub name per source (overridable per deployment by setting)."""


def hub_setting(source: Source) -> str:
    """App setting that holds the hub name of `source`, e.g. ``HUB_TXN``."""
    return f"HUB_{source.upper()}"


CONSUMER_GROUP: Final = "pulse-functions"
CONSUMER_GROUP_SETTING: Final = "EVENTHUB_CONSUMER_GROUP"

# Connection *prefixes*: bindings resolve `<PREFIX>__fullyQualifiedNamespace` /
# `<PREFIX>__accountEndpoint` with the app's managed identity; no keys anywhere.
EVENTHUB_CONNECTION: Final = "EVENTHUB"
COSMOS_CONNECTION: Final = "COSMOS"

COSMOS_DATABASE: Final = "retailpulse"
COSMOS_DATABASE_SETTING: Final = "COSMOS_DATABASE"

PII_KEY_SETTING: Final = "PII_HMAC_KEY"
POWERBI_PUSH_URL_SETTING: Final = "POWERBI_PUSH_URL"
POWERBI_DATASET_SETTINGS: Final = (
    "POWERBI_GROUP_ID",
    "POWERBI_TILES_DATASET_ID",
    "POWERBI_LIVE_DATASET_ID",
    "POWERBI_HISTORY_DATASET_ID",
)
"""The workspace and the dataset ids `pulse powerbi create-dataset` prints (plain ids, not secrets)."""
POWERBI_HISTORY_PAIR_SETTINGS: Final = ("POWERBI_HISTORY_STANDBY_DATASET_ID", "POWERBI_HISTORY_REPORT_ID")
"""Optional, together: the second history dataset and the report bound to one of them (a compaction
reseeds the other and rebinds the report: no partial totals, see `shared.sinks.history_pair`)."""
REPORTING_CURRENCY_SETTING: Final = "REPORTING_CURRENCY"
ACCEPTED_LATENESS_SETTING: Final = "ACCEPTED_LATENESS_DAYS"
DEAD_LETTER_KEY_SETTING: Final = "DEAD_LETTER_KEY_ID"
"""Versionless URI of the Key Vault key that wraps dead-letter data keys (not a secret: a name)."""
DEAD_LETTER_KEY_FILE_SETTING: Final = "PULSE_DEAD_LETTER_KEY_FILE"
"""Local and test: the key file that wraps them instead (embedded default: ``<db>.dlq-key``)."""
SCOPE_MAP_SETTING: Final = "PULSE_SCOPE_MAP"
"""JSON: Entra group object id -> the stores and regions its managers see (`shared.access.scopes`)."""
CAPTURE_URL_SETTING: Final = "CAPTURE_URL"
"""The raw zone's capture container URL, read with the app's identity by the hourly reconciliation."""

LIVE_PAGE_ROUTE: Final = "live"
"""HTTP route of the live page on the Function App: served at ``/api/live`` (default route prefix)."""

PARTITION_KEY_FIELD: Final = "pk"
"""Every container partitions on a synthetic `/pk` so the key design can evolve."""


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    """A Cosmos DB container of the engine's design."""

    name: str
    partition_key_path: str
    default_ttl_seconds: int | None
    """None: items never expire; -1 would mean 'per item'."""
    purpose: str


_DAY = 86_400

CONTAINERS: Final[dict[str, ContainerSpec]] = {
    spec.name: spec
    for spec in (
        ContainerSpec("views", "/pk", None, "base-grain materialized views, one doc per (view, key, window)"),
        ContainerSpec("rollups", "/pk", None, "region / chain / channel and hour / day rollups with KPIs"),
        ContainerSpec("orders", "/pk", 30 * _DAY, "latest status per order, for backlog"),
        ContainerSpec("deadletters", "/pk", 30 * _DAY, "raw bytes and reason of every rejected event"),
        ContainerSpec("audit", "/pk", 90 * _DAY, "one document per applied batch: counts and checksum"),
        ContainerSpec("eventids", "/pk", 9 * _DAY, "event-id registry: who owns each id over the lateness horizon"),
        ContainerSpec("outbox", "/pk", 7 * _DAY, "rows waiting to be pushed to Power BI / Fabric"),
        ContainerSpec("leases", "/id", None, "change-feed processor leases of the rollup function"),
        ContainerSpec(
            "alerts", "/pk", 90 * _DAY, "alert states, history, silences and the alert delivery outbox (shared/alerts)"
        ),
    )
}

LEASES_CONTAINER: Final = "leases"
EVENT_IDS_CONTAINER: Final = "eventids"
