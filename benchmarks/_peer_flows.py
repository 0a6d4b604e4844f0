"""The two peers of `python -m benchmarks peers`: a Bytewax dataflow and one DuckDB query.

Both compute, from the raw `txn` bodies, the per-store-minute sales aggregate that our
store-minute rollup holds (`StoreMinute`), under the same business rules, each with its
own code (nothing shared with the engine but the FX file):

- exactly once by event id: the first copy of an id counts, a re-send does not;
- money to cents: ``amount`` is exact with 2 decimals; converted with the rate of the
  event's UTC date (the latest rate on or before it, read from `fx_rates.csv`; the
  reporting currency is 1), rounded to the cent half away from zero;
- windows: the UTC minute of ``posted_ts`` per ``merchant_id`` (the store-local date
  only splits our segments, which the comparison sums, so it is neutral here);
- valid events only: the stream has no malformed body and no unknown store or
  currency, so validation is neutral (the benchmark checks that we accept every
  distinct event).

Neither peer is durable, keeps audit records, or maintains hour/day/region/chain rollups:
they are the in-memory and batch floors, not equivalent systems.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import orjson

__all__ = ["Results", "StoreMinute", "bytewax_flow", "duckdb_query", "fx_table"]

REPORTING = "EUR"
_SCALE = 10_000  # rates in 1/10,000 units


class StoreMinute(NamedTuple):
    """The per-store-minute sales counters compared between the systems."""

    gross_cents: int = 0
    refund_cents: int = 0
    transactions: int = 0
    refunds: int = 0
    voids: int = 0
    units: int = 0


Results = dict[tuple[str, str], StoreMinute]
"""(store id, UTC minute as ``YYYY-MM-DDTHH:MM``) -> counters."""


def fx_table(fx_csv: Path) -> dict[str, tuple[list[int], list[int]]]:
    """currency -> (date ordinals ascending, rates in 1/10,000 units), read from `fx_rates.csv`."""
    rows: dict[str, list[tuple[int, int]]] = {}
    with fx_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            units = Decimal(row["rate"]) * _SCALE
            rows.setdefault(row["currency"], []).append((date.fromisoformat(row["date"]).toordinal(), int(units)))
    return {c: ([d for d, _ in sorted(r)], [u for _, u in sorted(r)]) for c, r in rows.items()}


def _convert(cents: int, units: int) -> int:
    quotient = (abs(cents) * units + _SCALE // 2) // _SCALE  # half away from zero
    return quotient if cents >= 0 else -quotient


class _Fx:
    def __init__(self, table: dict[str, tuple[list[int], list[int]]]) -> None:
        self._table, self._cache = table, dict[tuple[str, int], int]()

    def units(self, currency: str, day: int) -> int:
        key = (currency, day)
        found = self._cache.get(key)
        if found is None:
            if currency == REPORTING:
                found = _SCALE
            else:
                days, rates = self._table[currency]
                found = rates[bisect_right(days, day) - 1]
            self._cache[key] = found
        return found


class _Sale(NamedTuple):
    store: str
    ts: datetime
    kind: str
    cents: int
    units: int


def bytewax_flow(bodies: list[bytes], fx: dict[str, tuple[list[int], list[int]]]) -> Results:
    """A Bytewax dataflow: parse, drop re-sent ids, convert, event-time tumbling minute per store, in memory."""
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.operators.windowing import EventClock, TumblingWindower, fold_window
    from bytewax.testing import TestingSink, TestingSource, run_main

    rates = _Fx(fx)
    origin = datetime(2000, 1, 1, tzinfo=UTC)

    def parse(body: bytes) -> tuple[str, dict[str, Any]]:
        event = orjson.loads(body)
        return event["event_id"], event

    def first_copy(seen: bool | None, event: dict[str, Any]) -> tuple[bool, Iterable[dict[str, Any]]]:
        return True, () if seen else (event,)

    def sale(event: dict[str, Any]) -> tuple[str, _Sale]:
        ts = datetime.fromisoformat(event["posted_ts"]).astimezone(UTC)
        cents = _convert(round(event["amount"] * 100), rates.units(event["currency"], ts.toordinal()))
        kind = event["txn_type"]
        units = sum(line["quantity"] for line in event["lines"]) if kind == "sale" else 0
        return event["merchant_id"], _Sale(event["merchant_id"], ts, kind, cents, units)

    def fold(acc: list[int], s: _Sale) -> list[int]:
        if s.kind == "sale":
            acc[0] += s.cents
            acc[2] += 1
            acc[5] += s.units
        elif s.kind == "refund":
            acc[1] += s.cents
            acc[3] += 1
        else:
            acc[4] += 1
        return acc

    def merge(a: list[int], b: list[int]) -> list[int]:
        return [x + y for x, y in zip(a, b, strict=True)]

    out: list[tuple[str, tuple[int, list[int]]]] = []
    flow = Dataflow("peer_store_minutes")
    parsed = op.map("parse", op.input("bodies", flow, TestingSource(bodies, batch_size=1000)), parse)
    firsts = op.stateful_flat_map("exactly_once_by_event_id", parsed, first_copy)
    sales = op.map("convert", op.key_rm("unkey", firsts), sale)
    # Events of one store arrive in event-time order, re-sends up to minutes later: wait 10 minutes
    # of event time (the run lasts seconds) so that no first copy is late.
    clock = EventClock(lambda s: s.ts, wait_for_system_duration=timedelta(minutes=10))
    windows = fold_window(
        "store_minute", sales, clock, TumblingWindower(timedelta(minutes=1), origin), lambda: [0] * 6, fold, merge,
        ordered=False,
    )  # fmt: skip
    op.output("out", windows.down, TestingSink(out))
    late: list[object] = []
    op.output("late", windows.late, TestingSink(late))
    run_main(flow)
    if late:
        raise RuntimeError(f"bytewax: {len(late)} events came after their window closed")
    results: Results = {}
    for store, (window, acc) in out:
        minute = (origin + timedelta(minutes=window)).strftime("%Y-%m-%dT%H:%M")
        results[(store, minute)] = StoreMinute(*acc)
    return results


def duckdb_query(jsonl: Path, fx_csv: Path) -> Results:
    """One DuckDB SQL query over the JSON Lines file: dedupe, join the day's rate, GROUP BY store-minute."""
    import duckdb

    conn = duckdb.connect(":memory:")
    conn.execute("SET TimeZone = 'UTC'")
    # The latest rate on or before each day, as a small (currency, day) table joined on equality: the same
    # rule as an ASOF join of the events, which DuckDB 1.5 plans here as a nested loop (~100x slower).
    conn.execute(
        f"""
        CREATE TEMP TABLE published AS
        SELECT currency, date AS day, CAST(CAST(rate AS DECIMAL(18,4)) * {_SCALE} AS BIGINT) AS units
        FROM read_csv(?, header = true, columns = {{date: 'DATE', currency: 'VARCHAR', rate: 'VARCHAR'}})
        """,
        [str(fx_csv)],
    )
    conn.execute(
        f"""
        CREATE TEMP TABLE rates AS
        WITH days AS (
            SELECT CAST(d AS DATE) AS day FROM generate_series(
                (SELECT min(day) FROM published), (SELECT max(day) FROM published) + INTERVAL 400 DAY, INTERVAL 1 DAY
            ) AS t(d)
        ),
        grid AS (SELECT c.currency, days.day FROM (SELECT DISTINCT currency FROM published) c CROSS JOIN days)
        SELECT g.currency, g.day, p.units
        FROM grid g ASOF JOIN published p ON g.currency = p.currency AND g.day >= p.day
        UNION ALL SELECT '{REPORTING}', day, {_SCALE} FROM days
        """
    )
    rows = conn.execute(
        f"""
        WITH raw AS (
            SELECT * FROM read_json(?, format = 'newline_delimited', columns = {{
                event_id: 'VARCHAR', merchant_id: 'VARCHAR', posted_ts: 'TIMESTAMPTZ', txn_type: 'VARCHAR',
                amount: 'DECIMAL(18,2)', currency: 'VARCHAR', lines: 'STRUCT(quantity BIGINT)[]'}})
        ),
        firsts AS (SELECT * FROM raw QUALIFY row_number() OVER (PARTITION BY event_id) = 1),
        priced AS (
            SELECT f.merchant_id, date_trunc('minute', f.posted_ts) AS minute, f.txn_type, f.lines,
                   CAST(f.amount * 100 AS BIGINT) AS local_cents, r.units
            FROM firsts f JOIN rates r ON f.currency = r.currency AND CAST(f.posted_ts AS DATE) = r.day
        ),
        cents AS (
            SELECT *, sign(local_cents) * ((abs(local_cents) * units + {_SCALE // 2}) // {_SCALE}) AS cents
            FROM priced
        )
        SELECT merchant_id, strftime(minute, '%Y-%m-%dT%H:%M'),
            coalesce(sum(cents) FILTER (WHERE txn_type = 'sale'), 0),
            coalesce(sum(cents) FILTER (WHERE txn_type = 'refund'), 0),
            count(*) FILTER (WHERE txn_type = 'sale'),
            count(*) FILTER (WHERE txn_type = 'refund'),
            count(*) FILTER (WHERE txn_type = 'void'),
            coalesce(sum(list_sum(list_transform(lines, x -> x.quantity))) FILTER (WHERE txn_type = 'sale'), 0)
        FROM cents GROUP BY ALL
        """,
        [str(jsonl)],
    ).fetchall()
    conn.close()
    return {(store, minute): StoreMinute(*(int(v) for v in values)) for store, minute, *values in rows}
