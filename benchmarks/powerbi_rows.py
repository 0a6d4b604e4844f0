"""`python -m benchmarks powerbi-rows [--stores N] [--days D]`: history rows a day, and days to the 5M-row cap.

Measured with the generator (`shared.generator.stream`), without Power BI: a day of
txn, traffic and fulfillment events is replayed in delivery order; as the publisher
does, every 5 s poll turns each minute that changed into one `kpi_delta` row per
member and scope (store, region, chain, channel). More than 60 stores: the 60-store
demo chain is generated again under other seeds (stores renamed), regions shared.

It prints rows a day (minute rows, the table's growth without compaction) and hour
groups a day (what a compacted day costs), then days to the cap:

- before (no compaction): 5,000,000 / rows a day;
- after (`CompactionPolicy`: compact at 70 %, reseed minute rows for up to 2 days and
  hour rows before, the minute window shrinking until the reseed fits 35 % of the cap):
  compaction stops helping when the hour rows alone reach 70 % of the cap, i.e. after
  3,500,000 / hour rows a day; the 80 % alert fires before anything is held.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

from shared.generator.stream import demo_reference, stream
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.limits import NONE_RETENTION_TABLE_ROWS

__all__ = ["measure", "run"]

_POLL_MS = 5_000
_RETAIL = ("txn", "traffic", "fulfillment")


def measure(stores: int, start: datetime, seed: int = 7) -> tuple[int, int]:
    """(minute rows, hour groups) of one generated day for `stores` stores."""
    reference = demo_reference()
    regions = {s.store_id: s.region for s in reference.stores.members()}
    channels = {s.store_id: s.channel for s in reference.stores.members()}
    per_seed = len(regions)
    minute_rows: set[tuple[str, str, int, int]] = set()
    hours: set[tuple[str, str, int]] = set()
    end_ms = int((start + timedelta(days=1)).timestamp() * 1000)
    for copy in range(math.ceil(stores / per_seed)):
        allowed = sorted(regions)[: stores - copy * per_seed]
        for source in _RETAIL:
            for event in stream(source, seed + copy, start):
                if event.event_ms >= end_ms:
                    break
                store = event.partition_key
                if store not in allowed:
                    continue
                minute, poll = event.event_ms // 60_000, event.delivery_ms // _POLL_MS
                for scope, key in (
                    ("store", f"{copy}:{store}"),
                    ("region", regions[store]),
                    ("chain", "ALL"),
                    ("channel", channels[store]),
                ):
                    minute_rows.add((scope, key, minute, poll))
                    hours.add((scope, key, minute // 60))
    return len(minute_rows), len(hours)


def run(stores: list[int]) -> None:
    """Print the figures for each chain size."""
    start = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    policy, cap = CompactionPolicy(), NONE_RETENTION_TABLE_ROWS
    for count in stores:
        began = time.perf_counter()
        rows, hour_rows = measure(count, start)
        before = cap / rows
        after = policy.trigger_fraction * cap / hour_rows
        print(
            f"{count:>5} stores: {rows:,} delta rows a day, {hour_rows:,} hour rows a day; days to the 5M cap: "
            f"before {before:.1f}, after compaction {after:,.0f} ({time.perf_counter() - began:.0f} s)"
        )
