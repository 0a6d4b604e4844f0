"""The Power BI datasets of Retail Pulse, defined in code: tiles, live snapshots and an additive history.

Each dataset has the mode Microsoft documents for what it serves ("Real-time streaming
in Power BI", learn.microsoft.com/power-bi/connect-data/service-real-time-streaming):

- *Retail Pulse tiles* (``Streaming``): dashboard tiles (*Add a tile > Custom
  streaming data*). Its one table `kpi_tiles` gets one row per snapshot, the chain's,
  so a streaming Card shows the chain's newest value with no filter (streaming tiles
  cannot be filtered). A row is ~400 bytes: far under the 15 KB a streaming request allows.
- *Retail Pulse live* (``Push``, basicFIFO: newest 200,000 rows): `kpi_snapshot`, one row
  per chain / region / store member per snapshot, for report visuals that filter on a
  member and are pinned to the dashboard (pinned visuals of a push dataset update in
  real time). Not ``PushStreaming``: a hybrid dataset's streaming tiles "temporarily
  fail" whenever a request exceeds 15 KB, and one snapshot of 60 stores is ~21 KB.
- *Retail Pulse history* (``Push``, retention None): `kpi_delta`, additive delta rows
  for exact SUMs. Kept apart because the retention policy and the "120 POST rows
  requests per hour once a table holds 250,000 rows" rule apply per dataset.

`docs/powerbi/dataset.json` is generated from here (`pulse powerbi export-dataset`)
and a test keeps it current.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from shared.sinks.measures import DAX_MEASURES
from shared.sinks.schema import ColumnSpec, DatasetSpec, TableSpec

__all__ = [
    "ALERTS_TABLE",
    "DATASETS",
    "DELTA_COUNTER_COLUMNS",
    "HISTORY_DATASET",
    "HISTORY_STANDBY_DATASET",
    "KPI_DELTA",
    "KPI_SNAPSHOT",
    "KPI_TILES",
    "LIVE_DATASET",
    "TILES_DATASET",
    "export_json",
]


def _text(name: str, description: str, max_length: int = 1000) -> ColumnSpec:
    # Ids are <= 128 characters by contract; region names come from reference data, so leave room.
    return ColumnSpec(name, "String", max_length=max_length, description=description)


def _int(name: str, description: str, fmt: str | None = "#,0") -> ColumnSpec:
    return ColumnSpec(name, "Int64", format_string=fmt, description=description)


def _num(name: str, description: str, fmt: str) -> ColumnSpec:
    return ColumnSpec(name, "Double", format_string=fmt, description=description)


def _time(name: str, description: str) -> ColumnSpec:
    return ColumnSpec(name, "DateTime", description=description)


KPI_SNAPSHOT: Final = TableSpec(
    "kpi_snapshot",
    (
        _text("scope", "chain, region or store", 16),
        _text("key", "ALL for the chain, else the region or store id"),
        _text("day", "the member's current business date, YYYY-MM-DD (store-local; reporting zone above stores)", 10),
        _num("net_sales", "net sales of the day so far, reporting currency", "#,0.00"),
        _int("transactions", "sale transactions of the day so far"),
        _num("aov", "average order value: net sales / transactions (blank when no transactions)", "#,0.00"),
        _num("upt", "units per transaction", "0.00"),
        _num("conversion_rate", "transactions / visitors of the stores that counted visitors", "0.00%"),
        _int("visitors", "visitors counted today"),
        _num("on_time_rate", "orders completed on time / orders completed", "0.00%"),
        _int("open_backlog", "orders placed and neither completed nor cancelled, as of snapshot_at"),
        _int("overdue_backlog", "open orders past their promise, as of snapshot_at"),
        _time("as_of", "newest processing time that contributed to the row (freshness)"),
        _time("snapshot_at", "when the row was taken"),
    ),
    "Snapshot rows for tiles: one row per member per snapshot; read the newest, never SUM across snapshots.",
)

KPI_TILES: Final = TableSpec(
    "kpi_tiles",
    tuple(c for c in KPI_SNAPSHOT.columns if c.name not in ("scope", "key")),
    "Streaming tiles: the chain's KPIs, one row per snapshot; a Card shows the newest value with no filter.",
)

DELTA_COUNTER_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("gross_sales_cents", "gross sales in cents of the reporting currency"),
    ("refunds_cents", "refunded amount in cents"),
    ("net_sales_cents", "gross - refunds, in cents"),
    ("transactions", "sale transactions"),
    ("refund_count", "refund transactions"),
    ("voids", "voided transactions"),
    ("units", "units sold"),
    ("visitors", "visitors counted"),
    ("conv_transactions", "conversion numerator: sales of stores that counted visitors in the minute"),
    ("orders_placed", "orders placed"),
    ("orders_completed", "orders completed (first shipped / ready for pickup)"),
    ("orders_on_time", "orders completed at or before their promise"),
    ("cycle_time_ms", "sum of placed-to-completed times, milliseconds"),
    ("cancellations", "orders cancelled"),
)
"""The additive measures of a delta row; integers, so SUM in Power BI is exact."""

KPI_DELTA: Final = TableSpec(
    "kpi_delta",
    (
        _text("row_id", "scope|key|window|part|from_v>to_v: the same on a resend; measures dedupe on it", 4000),
        _text("scope", "chain, region, channel or store", 16),
        _text("key", "ALL for the chain, else the region, channel or store id"),
        _text("region", "store rows: the store's region in that minute; region rows: the region; else empty"),
        _text("day", "store rows: the store-local business date of the minute; else empty", 10),
        _time("window", "the UTC minute the measures belong to (event time)"),
        _time("as_of", "newest processing time behind this version of the minute"),
        *(_int(name, description) for name, description in DELTA_COUNTER_COLUMNS),
    ),
    "Additive delta rows: new minus previously pushed counters of a minute, so SUM over any rows is exact.",
    tuple(DAX_MEASURES.items()),
)

TILES_DATASET: Final = DatasetSpec(
    "Retail Pulse tiles",
    (KPI_TILES,),
    default_mode="Streaming",
    retention="None",
    description="Dashboard tiles (Custom streaming data): the chain's KPIs, one row per snapshot, < 15 KB a request.",
)

ALERTS_TABLE: Final = TableSpec(  # rows: shared.alerts.powerbi_rows.alert_rows
    "alerts",
    (
        _text("row_id", "message id | alert id: unique per row", 200),
        _text("alert_id", "rule|scope|episode: one alert per problem", 200),
        _text("rule", "the rule's name in slas.toml", 64),
        _text("state", "firing, resolved, no_data or error", 16),
        _text("severity", "page, ticket or info", 16),
        _text("scope", "the store, region, source... the alert is about", 128),
        _text("region", "the region of the scope, when it has one", 128),
        ColumnSpec("value", "Double", format_string="#,0.####", description="the value that caused the transition"),
        _text("detail", "the condition in words", 1000),
        ColumnSpec("since", "DateTime", description="when the condition started to hold"),
        ColumnSpec("at", "DateTime", description="when the transition was evaluated"),
        _text("runbook", "where to look first", 1000),
    ),
    "Alert transitions: filter on state = firing and the newest `at` per alert_id for what is open now.",
)


LIVE_DATASET: Final = DatasetSpec(
    "Retail Pulse live",
    (KPI_SNAPSHOT, ALERTS_TABLE),
    default_mode="Push",
    retention="basicFIFO",
    description="Tiles: today's KPIs per chain, region and store, alert transitions; keeps the newest 200,000 rows.",
)

HISTORY_DATASET: Final = DatasetSpec(
    "Retail Pulse history",
    (KPI_DELTA,),
    default_mode="Push",
    retention="None",
    description="Reports: minute deltas whose SUM equals the exact KPI counters, late corrections included.",
)

HISTORY_STANDBY_DATASET: Final = DatasetSpec(
    "Retail Pulse history (standby)",
    (KPI_DELTA,),
    default_mode="Push",
    retention="None",
    description=(
        "The history's twin: a compaction reseeds whichever of the two the report does not read, "
        "then rebinds the report to it (optional; docs/powerbi.md)."
    ),
)

DATASETS: Final[dict[str, DatasetSpec]] = {
    "tiles": TILES_DATASET,
    "live": LIVE_DATASET,
    "history": HISTORY_DATASET,
    "history-standby": HISTORY_STANDBY_DATASET,
}
"""By short name, as `pulse powerbi create-dataset --dataset` takes them."""


def _dataset_export(short: str, spec: DatasetSpec) -> dict[str, Any]:
    return {
        "short_name": short,
        "description": spec.description,
        "request": f"POST /v1.0/myorg/groups/{{groupId}}/datasets{spec.create_query()}",
        "body": spec.to_rest(),
        "columns": {
            table.name: {
                "description": table.description,
                **{c.name: c.description for c in table.columns},
                **({"measures": dict(table.measures)} if table.measures else {}),
            }
            for table in spec.tables
        },
    }


def export_json() -> bytes:
    """`docs/powerbi/dataset.json`: the create requests and a description of every column (stable bytes)."""
    document = {
        "generated_by": "pulse powerbi export-dataset --out docs/powerbi/dataset.json",
        "datasets": [_dataset_export(short, spec) for short, spec in DATASETS.items()],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
