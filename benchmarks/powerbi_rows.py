"""`python -m benchmarks powerbi-rows [--stores N ...]`: history rows a day, days to the 5M-row cap, 40 days of it.

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

Then 40 simulated days of that day's hourly profile against the real `CompactionPolicy`
(`simulate`): compactions, the largest reseed and how long it takes to push (one
request of 10,000 rows every 30 s, at most 1,000,000 rows an hour: during that time
a report on the history shows the totals as of the compaction with the history pair,
partial totals without it), the peak fill, and the catch-up after a one-hour outage
in the busiest hour. Row counts, not values: the real-row proof (values through the
real outbox, pusher and fake Power BI, across compactions) is
`tests/integration/test_powerbi_history_days.py`, at 4 stores and a scaled-down cap,
since 40 days at 1,000 stores are ~60 million rows (~25 GB of request bodies).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.generator.stream import demo_reference, stream
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.limits import NONE_RETENTION_TABLE_ROWS

__all__ = ["Simulation", "measure", "run", "simulate"]

_POLL_MS = 5_000
_ROWS_PER_REQUEST, _SPACING_S, _ROWS_PER_HOUR = 10_000, 30.0, 1_000_000
_DAYS = 40
_RETAIL = ("txn", "traffic", "fulfillment")


def measure(stores: int, start: datetime, seed: int = 7) -> tuple[int, int, list[int]]:
    """(minute rows, hour groups, minute rows per UTC hour) of one generated day for `stores` stores."""
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
    per_hour = Counter((minute // 60) % 24 for _, _, minute, _ in minute_rows)
    return len(minute_rows), len(hours), [per_hour.get(h, 0) for h in range(24)]


def push_seconds(rows: int) -> float:
    """Time to push `rows` to the history from an idle hour, as `RateLimiter` schedules it: a request of
    10,000 rows every 30 s, and at most 1,000,000 rows in any rolling hour (the first request at 0 s)."""
    sent: list[tuple[float, int]] = []
    at, left = -_SPACING_S, rows
    while left > 0:
        take = min(left, _ROWS_PER_REQUEST)
        at += _SPACING_S
        while sum(n for t, n in sent if t > at - 3600) + take > _ROWS_PER_HOUR:
            at = min(t for t, _ in sent if t > at - 3600) + 3600  # when the oldest request leaves the hour
        sent.append((at, take))
        left -= take
    return at


@dataclass(frozen=True, slots=True)
class Simulation:
    """What `simulate` found over its days."""

    compactions: int
    largest_reseed: int
    peak_fraction: float
    first_compaction_day: float | None


def simulate(per_hour: list[int], hour_rows: int, days: int, cap: int = NONE_RETENTION_TABLE_ROWS) -> Simulation:
    """`days` days of the hourly profile against `CompactionPolicy` (its reseed size, as `reseed_rows` picks it)."""
    policy = CompactionPolicy()
    table, compactions, largest, peak, first = 0, 0, 0, 0.0, None
    for hour in range(days * 24):
        table += per_hour[hour % 24]
        peak = max(peak, table / cap)
        if table < policy.trigger_fraction * cap:
            continue
        elapsed = (hour + 1) / 24
        for window in policy.minute_windows():  # the longest minute window whose reseed fits 35 %
            span = min(window.total_seconds() / 86_400, elapsed)
            recent = sum(per_hour[(hour - h) % 24] for h in range(round(span * 24)))
            reseed = recent + round(hour_rows * (elapsed - span))
            if reseed <= policy.reseed_fraction * cap:
                break
        table, compactions, largest = reseed, compactions + 1, max(largest, reseed)
        first = elapsed if first is None else first
    return Simulation(compactions, largest, peak, first)


def run(stores: list[int]) -> None:
    """Print the figures for each chain size."""
    start = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
    policy, cap = CompactionPolicy(), NONE_RETENTION_TABLE_ROWS
    for count in stores:
        began = time.perf_counter()
        rows, hour_rows, per_hour = measure(count, start)
        before = cap / rows
        after = policy.trigger_fraction * cap / hour_rows
        print(
            f"{count:>5} stores: {rows:,} delta rows a day, {hour_rows:,} hour rows a day; days to the 5M cap: "
            f"before {before:.1f}, after compaction {after:,.0f} ({time.perf_counter() - began:.0f} s)"
        )
        sim = simulate(per_hour, hour_rows, _DAYS)
        first = "none" if sim.first_compaction_day is None else f"first on day {sim.first_compaction_day:.1f}"
        busiest = max(per_hour)
        print(
            f"      {_DAYS} days: {sim.compactions} compactions ({first}), largest reseed {sim.largest_reseed:,} rows "
            f"pushed in {push_seconds(sim.largest_reseed) / 60:.1f} min, peak {100 * sim.peak_fraction:.1f} % of "
            f"the cap; after a 1-hour outage in the busiest hour: {busiest:,} rows, "
            f"{math.ceil(busiest / _ROWS_PER_REQUEST)} requests, caught up in {push_seconds(busiest) / 60:.1f} min"
        )
