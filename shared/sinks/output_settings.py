"""Which sinks a deployment pushes to, read from its settings one sink at a time (never failing ingestion).

`output_routes` builds the sinks of `shared.sinks.config.routes_from_settings`, but
each Power BI destination on its own: a bad or unresolved push URL leaves the push
datasets working and the other way round, and every error is named by its setting
(never with its value). `OUTPUT_SETTINGS` lists every setting the outputs read; none
is read by `shared.settings`, so none can stop ingestion.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from shared.reference import ReferenceData
from shared.sinks.config import (
    POWERBI_API_BASE_SETTING,
    POWERBI_GROUP_SETTING,
    POWERBI_HISTORY_DATASET_SETTING,
    POWERBI_HISTORY_REPORT_SETTING,
    POWERBI_HISTORY_STANDBY_SETTING,
    POWERBI_LIVE_DATASET_SETTING,
    POWERBI_TILES_DATASET_SETTING,
    ROW_SINK_SETTING,
    routes_from_settings,
)
from shared.sinks.eventhub_rows import (
    FABRIC_CONNECTION_STRING_SETTING,
    FABRIC_EVENTHUB_SETTING,
    FABRIC_NAMESPACE_SETTING,
)
from shared.sinks.port import RowSink
from shared.sinks.powerbi_push import TokenProvider
from shared.sinks.rate_limiter import Clock
from shared.sinks.rows import BusinessCalendar
from shared.topology import POWERBI_PUSH_URL_SETTING

__all__ = ["OUTPUT_SETTINGS", "SNAPSHOT_INTERVAL_SETTING", "SinkRoutes", "business_calendar", "output_routes"]

SNAPSHOT_INTERVAL_SETTING = "PULSE_SNAPSHOT_INTERVAL_S"
"""Optional: seconds between `kpi_snapshot` rounds (default 60; 0 = at every timer tick)."""
OUTPUT_SETTINGS = frozenset(
    {
        SNAPSHOT_INTERVAL_SETTING,
        POWERBI_PUSH_URL_SETTING,
        POWERBI_GROUP_SETTING,
        POWERBI_TILES_DATASET_SETTING,
        POWERBI_LIVE_DATASET_SETTING,
        POWERBI_HISTORY_DATASET_SETTING,
        POWERBI_HISTORY_STANDBY_SETTING,
        POWERBI_HISTORY_REPORT_SETTING,
        POWERBI_API_BASE_SETTING,
        ROW_SINK_SETTING,
        FABRIC_NAMESPACE_SETTING,
        FABRIC_EVENTHUB_SETTING,
        FABRIC_CONNECTION_STRING_SETTING,
    }
)
"""Every setting the outputs read; all optional, none of them read by `shared.settings`."""


@dataclass(frozen=True, slots=True)
class SinkRoutes:
    """Table -> sink of the sinks that are usable, and each unusable sink's error (named by its setting)."""

    routes: dict[str, RowSink] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def output_routes(
    environ: Mapping[str, str], *, credential_factory: Callable[[], TokenProvider], clock: Clock
) -> SinkRoutes:
    """`routes_from_settings`, one sink at a time, so a bad setting disables its sink only."""
    dataset_only = {k: v for k, v in environ.items() if k != POWERBI_PUSH_URL_SETTING}
    url_only = {k: v for k, v in environ.items() if k not in _DATASET_SETTINGS}
    routes: dict[str, RowSink] = {}
    errors: dict[str, str] = {}
    for name, env in (("push dataset", dataset_only), ("push URL", url_only)):
        try:
            found = routes_from_settings(env, credential_factory=credential_factory, clock=clock)
        except Exception as error:  # a sink's setting, never ingestion: its error goes to logs and health
            errors[name] = f"{type(error).__name__}: {error}"
            continue
        for table, sink in found.items():
            routes.setdefault(table, sink)  # a live push dataset wins over the streaming URL
    return SinkRoutes(routes, errors)


_DATASET_SETTINGS = frozenset(
    {
        POWERBI_TILES_DATASET_SETTING,
        POWERBI_LIVE_DATASET_SETTING,
        POWERBI_HISTORY_DATASET_SETTING,
        POWERBI_HISTORY_STANDBY_SETTING,
        POWERBI_HISTORY_REPORT_SETTING,
    }
)


def business_calendar(reference: ReferenceData) -> BusinessCalendar:
    """Each store's own zone; for regions and the chain, the zone most stores use (as the live page)."""
    zones = {s.store_id: s.timezone for s in reference.stores.members()}
    reporting_zone = Counter(zones.values()).most_common(1)[0][0] if zones else "UTC"
    return BusinessCalendar(zones, reporting_zone)
