"""Sinks: where KPI rows go after the rollups (Power BI, and Fabric as its successor).

- `rows`: what to push: snapshot rows for tiles, additive delta rows for exact SUMs.
- `dataset` / `schema`: the push datasets, defined and limit-checked in code.
- `outbox`: durable, ordered, crash-safe queue of rows in the `outbox` container.
- `pusher` / `rate_limiter` / `split` / `limits`: drain within every Power BI limit, per mode.
- `measures`: the deduplicating DAX measures (exact under a resent request).
- `history_budget` / `compaction`: the history table's 5,000,000-row cap, health and compaction.
- `port`: the `RowSink` protocol; adapters `powerbi_streaming`, `powerbi_push`, `eventhub_rows`.
- `rollup_feed` / `publisher` / `config`: wiring for a long-running host (`pulse demo`).
- `outputs` / `output_settings`: the Function App's outputs (a change-feed
  trigger and a timer), optional per sink, one drainer at a time by a lease document
  (`shared/stores/lease.py`, the lease the alert evaluator takes too).

See docs/powerbi.md for which tile or measure to build on which table.
"""

from shared.sinks.publisher import PublisherStatus, RowPublisher, build_publisher
from shared.sinks.rows import BusinessCalendar

__all__ = ["BusinessCalendar", "PublisherStatus", "RowPublisher", "build_publisher"]
