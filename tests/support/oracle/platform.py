"""Platform-health figures from the oracle's verdicts: logs, data quality, cost, landing, dead letters, lag.

contracts.md ("Platform health"); windows are UTC: logs and landings by minute of event
time, data-quality results by day of `checked_ts`, cost by hour of `start_ts` (a usage
period counts whole in the hour it starts); the error rate of a service-minute is
(ERROR + CRITICAL) / all its logs; the DQ pass rate is pass / all checks; the
dead-letter rate is dead letters / messages received; lag = processing time - event
time of each accepted event, read as the upper bound of the histogram bucket holding
the percentile (the live page's tile).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from tests.support.oracle.accept import Accepted, Outcome
from tests.support.oracle.retail import rounded

__all__ = ["LAG_BOUNDS_MS", "lag_tile_ms", "lags_ms", "platform_figures"]

LAG_BOUNDS_MS = (250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, 3_600_000, 86_400_000)
"""The documented buckets of the end-to-end lag histogram (ms)."""


def _minute(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:00Z")


def platform_figures(events: list[Accepted]) -> dict[tuple[str, str, str], dict[str, object]]:
    """(figure, key, window) -> counters and ratios, for the views the engine keeps."""
    table: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for event in events:
        body = event.body
        if event.source == "ops":
            row = table[("logs", body["service_id"], _minute(event.event_time))]
            row["logs"] += 1
            row[body["log_level"].lower()] += 1
        elif event.source == "gov":
            row = table[("dq", body["dataset_id"], event.event_time.date().isoformat())]
            row["checks"] += 1
            row[body["check_status"]] += 1
        elif event.source == "cost":
            row = table[("cost", body["cost_center_id"], event.event_time.strftime("%Y-%m-%dT%H:00:00Z"))]
            row["cost_cents"] += event.cents or 0
            row["records"] += 1
        elif event.source == "ingest":
            row = table[("landing", body["source_system_id"], _minute(event.event_time))]
            row["records"] += 1
            row["bytes"] += body["size_bytes"]
    out: dict[tuple[str, str, str], dict[str, object]] = {}
    for key, counts in sorted(table.items()):
        row_out: dict[str, object] = dict(counts)
        if key[0] == "logs":
            row_out["error_rate"] = rounded(counts["error"] + counts["critical"], counts["logs"], 4)
        elif key[0] == "dq":
            row_out["pass_rate"] = rounded(counts["pass"], counts["checks"], 4)
        elif key[0] == "cost":
            row_out["cost"] = Decimal(counts["cost_cents"]) / 100
        out[key] = row_out
    return out


def dead_letter_rate(outcomes: list[Outcome]) -> Decimal | None:
    """Dead letters / messages received, over every source, 4 places half away from zero."""
    return rounded(sum(o.dead_letters for o in outcomes), sum(o.received for o in outcomes), 4)


def lags_ms(events: list[Accepted], now: datetime) -> list[int]:
    """Processing time - event time of each accepted event, in whole ms (never below 0), sorted."""
    return sorted(max(0, (now - e.event_time) // _MS) for e in events)


def lag_tile_ms(lags: list[int], percent: int) -> int | None:
    """The bucket bound holding the `percent`-th percentile (rank ceil(n * p / 100)); None if none or > a day."""
    if not lags:
        return None
    rank = -(-len(lags) * percent // 100)
    value = lags[rank - 1]
    return next((bound for bound in LAG_BOUNDS_MS if value <= bound), None)


_MS = datetime(2000, 1, 1, 0, 0, 0, 1000) - datetime(2000, 1, 1)
