"""Sink settings: which tables go where, read once from the environment and validated at start.

Setting names (to move into `shared.topology` with the other names):

- ``POWERBI_PUSH_URL``: the Push URL (with its key; a Key Vault reference) of a streaming
  dataset created in the Power BI service (*API*, historic data analysis off): takes the
  `kpi_tiles` rows. ``POWERBI_TILES_DATASET_ID`` instead: the same streaming dataset
  created by `pulse powerbi create-dataset` and written with the Entra token.
- ``POWERBI_GROUP_ID``, ``POWERBI_LIVE_DATASET_ID``, ``POWERBI_HISTORY_DATASET_ID``:
  the workspace and the ids printed by `pulse powerbi create-dataset`; the app's
  identity needs Contributor on the workspace. ``POWERBI_API_BASE`` overrides the host.
- ``POWERBI_HISTORY_STANDBY_DATASET_ID`` and ``POWERBI_HISTORY_REPORT_ID`` (optional,
  together): the second history dataset and the history report; compactions then
  reseed the dataset the report does not read and rebind the report (`history_pair`).
- ``PULSE_ROW_SINK``: ``powerbi`` (default) or ``fabric`` (the FABRIC_EVENTSTREAM_*
  settings of `eventhub_rows`), the successor path after Power BI real-time streaming.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from shared.sinks.dataset import ALERTS_TABLE, KPI_DELTA, KPI_SNAPSHOT, KPI_TILES
from shared.sinks.eventhub_rows import EventHubRowSink
from shared.sinks.history_pair import HistoryPairSink
from shared.sinks.limits import POWERBI_STREAMING_LIMITS
from shared.sinks.port import RowSink, SettingError
from shared.sinks.powerbi_push import DEFAULT_API_BASE, PowerBiRestClient, PushDatasetSink, TokenProvider
from shared.sinks.powerbi_push import default_credential as _default_credential
from shared.sinks.powerbi_streaming import StreamingSink
from shared.sinks.rate_limiter import Clock
from shared.topology import POWERBI_DATASET_SETTINGS, POWERBI_HISTORY_PAIR_SETTINGS, POWERBI_PUSH_URL_SETTING

__all__ = [
    "POWERBI_API_BASE_SETTING",
    "POWERBI_GROUP_SETTING",
    "POWERBI_HISTORY_DATASET_SETTING",
    "POWERBI_HISTORY_REPORT_SETTING",
    "POWERBI_HISTORY_STANDBY_SETTING",
    "POWERBI_LIVE_DATASET_SETTING",
    "POWERBI_TILES_DATASET_SETTING",
    "ROW_SINK_SETTING",
    "PowerBiSettings",
    "routes_from_settings",
]

POWERBI_GROUP_SETTING, POWERBI_TILES_DATASET_SETTING, POWERBI_LIVE_DATASET_SETTING, POWERBI_HISTORY_DATASET_SETTING = (
    POWERBI_DATASET_SETTINGS
)
POWERBI_HISTORY_STANDBY_SETTING, POWERBI_HISTORY_REPORT_SETTING = POWERBI_HISTORY_PAIR_SETTINGS
POWERBI_API_BASE_SETTING: Final = "POWERBI_API_BASE"
ROW_SINK_SETTING: Final = "PULSE_ROW_SINK"


@dataclass(frozen=True, slots=True)
class PowerBiSettings:
    """The Power BI part of the environment (the push URL is a secret: hidden from repr)."""

    push_url: str | None = field(default=None, repr=False)
    group_id: str | None = None
    tiles_dataset_id: str | None = None
    live_dataset_id: str | None = None
    history_dataset_id: str | None = None
    history_standby_dataset_id: str | None = None
    history_report_id: str | None = None
    api_base: str = DEFAULT_API_BASE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PowerBiSettings:
        """Read the settings; a dataset id without a group id is refused, naming both settings."""

        def get(name: str) -> str | None:
            return environ.get(name, "").strip() or None

        settings = cls(
            push_url=get(POWERBI_PUSH_URL_SETTING),
            group_id=get(POWERBI_GROUP_SETTING),
            tiles_dataset_id=get(POWERBI_TILES_DATASET_SETTING),
            live_dataset_id=get(POWERBI_LIVE_DATASET_SETTING),
            history_dataset_id=get(POWERBI_HISTORY_DATASET_SETTING),
            history_standby_dataset_id=get(POWERBI_HISTORY_STANDBY_SETTING),
            history_report_id=get(POWERBI_HISTORY_REPORT_SETTING),
            api_base=get(POWERBI_API_BASE_SETTING) or DEFAULT_API_BASE,
        )
        if settings.dataset_ids and not settings.group_id:
            raise SettingError(f"{POWERBI_GROUP_SETTING} is required with a dataset id (the workspace of the dataset)")
        pair = (settings.history_standby_dataset_id, settings.history_report_id)
        if any(pair) and not (all(pair) and settings.history_dataset_id):
            raise SettingError(
                f"{POWERBI_HISTORY_STANDBY_SETTING} and {POWERBI_HISTORY_REPORT_SETTING} go together, "
                f"with {POWERBI_HISTORY_DATASET_SETTING} (the history pair and its report)"
            )
        if settings.history_standby_dataset_id == settings.history_dataset_id and settings.history_report_id:
            raise SettingError(f"{POWERBI_HISTORY_STANDBY_SETTING} must differ from {POWERBI_HISTORY_DATASET_SETTING}")
        return settings

    @property
    def dataset_ids(self) -> tuple[str, ...]:
        """The dataset ids that are set (written with the Entra token)."""
        return tuple(i for i in (self.tiles_dataset_id, self.live_dataset_id, self.history_dataset_id) if i)

    @property
    def configured(self) -> bool:
        """True when at least one Power BI destination is set."""
        return bool(self.push_url or self.dataset_ids)


def routes_from_settings(
    environ: Mapping[str, str],
    *,
    credential_factory: Callable[[], TokenProvider] = _default_credential,
    clock: Clock = time.time,
) -> dict[str, RowSink]:
    """Table -> sink for this deployment; empty when nothing is configured (the demo then pushes nowhere)."""
    choice = environ.get(ROW_SINK_SETTING, "powerbi").strip().lower() or "powerbi"
    if choice == "fabric":
        sink = EventHubRowSink.from_settings(environ, credential_factory=credential_factory)
        return {KPI_SNAPSHOT.name: sink, KPI_DELTA.name: sink, ALERTS_TABLE.name: sink}
    if choice != "powerbi":
        raise SettingError(f"{ROW_SINK_SETTING} must be 'powerbi' or 'fabric', got {choice!r}")
    settings = PowerBiSettings.from_environ(environ)
    routes: dict[str, RowSink] = {}
    if settings.group_id and settings.dataset_ids:
        client = PowerBiRestClient(
            credential_factory(), group_id=settings.group_id, api_base=settings.api_base, clock=clock
        )
        if settings.tiles_dataset_id:  # a Streaming-mode dataset: streaming limits (5/s, 15 KB)
            routes[KPI_TILES.name] = PushDatasetSink(
                client, settings.tiles_dataset_id, [KPI_TILES.name], limits=POWERBI_STREAMING_LIMITS
            )
        if settings.live_dataset_id:
            routes[KPI_SNAPSHOT.name] = PushDatasetSink(client, settings.live_dataset_id, [KPI_SNAPSHOT.name])
            routes[ALERTS_TABLE.name] = PushDatasetSink(client, settings.live_dataset_id, [ALERTS_TABLE.name])
        if settings.history_dataset_id and settings.history_standby_dataset_id and settings.history_report_id:
            pair = (settings.history_dataset_id, settings.history_standby_dataset_id)
            routes[KPI_DELTA.name] = HistoryPairSink(client, pair, settings.history_report_id, KPI_DELTA.name)
        elif settings.history_dataset_id:
            routes[KPI_DELTA.name] = PushDatasetSink(
                client, settings.history_dataset_id, [KPI_DELTA.name], keeps_all_rows=True
            )
    if settings.push_url and KPI_TILES.name not in routes:
        routes[KPI_TILES.name] = StreamingSink.from_settings(environ)
    return routes
