"""Delta rows of minutes read from their hour (above the store, buckets; a store's, its parts): exactly once.

A deployment upgraded mid-day has delta states of region, channel and chain minutes
enqueued from their minute documents. The first bucket of such a minute continues
from what was enqueued (its parts), whatever the two version counters say; a minute
document the feed still gives after that is ignored; an hour given again adds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from shared.sinks.dataset import KPI_DELTA
from shared.sinks.outbox import OUTBOX_CONTAINER, Outbox
from shared.stores import SqliteDocumentStore
from tests.fixtures.fake_powerbi import ManualClock

HOUR = "2026-11-26T10:00:00Z"
MINUTE = "2026-11-26T10:07:00Z"


def _minute_doc(version: int, sales: int, cents: int) -> dict[str, Any]:
    return {
        "id": f"kpi|region|EAST|minute|{MINUTE}",
        "pk": "kpi|region|EAST|2026-11-26",
        "scope": "region",
        "key": "EAST",
        "grain": "minute",
        "window": MINUTE,
        "v": version,
        "as_of": f"{MINUTE[:17]}30Z",
        "children": {},
        "segments": {"*": {"sales": sales, "gross_cents": cents}},
    }


def _hour_doc(version: int, buckets: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    return {
        "id": f"kpi|region|EAST|hour|{HOUR}",
        "pk": "kpi|region|EAST|2026-11-26",
        "scope": "region",
        "key": "EAST",
        "grain": "hour",
        "window": HOUR,
        "v": version,
        "as_of": f"{MINUTE[:17]}45Z",
        "stores": {"S0": version},
        "buckets": {
            window: orjson.dumps([v, f"{window[:17]}45Z", {"sales": sales, "gross_cents": cents}]).decode()
            for window, (v, sales, cents) in buckets.items()
        },
        "segments": {"*": {"sales": sum(b[1] for b in buckets.values())}},
    }


def _sums(outbox: Outbox) -> dict[str, tuple[int, int]]:
    pending = outbox.peek(KPI_DELTA.name, 10_000)
    out: dict[str, tuple[int, int]] = {}
    for row in pending.rows:
        sales, cents = out.get(row["window"], (0, 0))
        out[row["window"]] = (sales + row["transactions"], cents + row["gross_sales_cents"])
    return out


def test_an_upgraded_outbox_continues_each_minute_from_what_it_enqueued(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        outbox = Outbox(store, [KPI_DELTA], clock=ManualClock())
        assert outbox.enqueue_deltas([_minute_doc(40, 2, 100)]) == 1  # before the upgrade
        other = "2026-11-26T10:08:00Z"
        assert outbox.enqueue_deltas([_hour_doc(3, {MINUTE: (3, 5, 300), other: (2, 1, 9)})]) == 2
        assert _sums(outbox) == {MINUTE: (5, 300), other: (1, 9)}  # 40 > 3, yet the bucket counted from the parts
        assert outbox.enqueue_deltas([_minute_doc(41, 3, 150)]) == 0  # the old document, late: the buckets took over
        assert outbox.enqueue_deltas([_hour_doc(3, {MINUTE: (3, 5, 300), other: (2, 1, 9)})]) == 0
        assert outbox.enqueue_deltas([_hour_doc(4, {MINUTE: (4, 6, 330), other: (2, 1, 9)})]) == 1
        assert _sums(outbox) == {MINUTE: (6, 330), other: (1, 9)}
        rows = outbox.peek(KPI_DELTA.name, 10_000).rows
        assert len({r["row_id"] for r in rows}) == len(rows)
        cursor = store.read(OUTBOX_CONTAINER, "dstate|region|EAST|2026-11-26", f"dhour|region|EAST|{HOUR}")
        assert cursor is not None and cursor["v"] == 4


def test_an_hour_reads_only_the_states_of_buckets_newer_than_its_last_enqueued_version(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        outbox = Outbox(store, [KPI_DELTA], clock=ManualClock())
        minutes = {f"2026-11-26T10:{m:02d}:00Z": (1, m + 1, 10 * m) for m in range(60)}
        assert outbox.enqueue_deltas([_hour_doc(1, minutes)]) == 60
        reads: list[int] = []
        real = store.read_many

        def counting(container: str, keys: Any) -> Any:
            keys = list(keys)
            reads.append(len(keys))
            return real(container, keys)

        store.read_many = counting  # type: ignore[method-assign]
        minutes[MINUTE] = (2, 99, 990)
        assert outbox.enqueue_deltas([_hour_doc(2, minutes)]) == 1
        assert max(reads) == 1  # the hour's cursor, then the one changed minute's state
        assert _sums(outbox)[MINUTE] == (99, 990)


SEGMENT = "EAST|store|2026-11-26"


def _store_minute_doc(version: int, sales: int, cents: int, part: str | None = None) -> dict[str, Any]:
    doc = {
        **_minute_doc(version, sales, cents),
        "id": f"kpi|store|S0|minute|{MINUTE}",
        "pk": "kpi|store|S0|2026-11-26",
        "scope": "store",
        "key": "S0",
        "segments": {SEGMENT: {"sales": sales, "gross_cents": cents}},
    }
    if part:
        doc["part"] = part
    return doc


def _store_hour_doc(version: int, minutes: dict[str, tuple[int, int, int]]) -> dict[str, Any]:
    """A store hour with its minutes inside: each minute a sales part, `minute_v` the hour version of its change."""
    return {
        "id": f"kpi|store|S0|hour|{HOUR}",
        "pk": "kpi|store|S0|2026-11-26",
        "scope": "store",
        "key": "S0",
        "grain": "hour",
        "window": HOUR,
        "v": version,
        "as_of": f"{MINUTE[:17]}45Z",
        "children": {
            f"{window}|sales": orjson.dumps(
                [v, f"{window[:17]}45Z", {SEGMENT: {"sales": s, "gross_cents": c}}]
            ).decode()
            for window, (v, s, c) in minutes.items()
        },
        "minute_v": {window[14:16]: v for window, (v, _, _) in minutes.items()},
        "segments": {SEGMENT: {"sales": sum(m[1] for m in minutes.values())}},
    }


def test_store_minutes_continue_from_their_documents_once_the_hour_holds_them(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "s.db") as store:
        outbox = Outbox(store, [KPI_DELTA], clock=ManualClock())
        assert outbox.enqueue_deltas([_store_minute_doc(12, 2, 100)]) == 1  # before the upgrade
        other = "2026-11-26T10:08:00Z"
        assert outbox.enqueue_deltas([_store_hour_doc(3, {MINUTE: (3, 5, 300), other: (2, 1, 9)})]) == 2
        assert _sums(outbox) == {MINUTE: (5, 300), other: (1, 9)}  # 12 > 3, yet counted on from what was enqueued
        assert outbox.enqueue_deltas([_store_minute_doc(13, 3, 150)]) == 0  # the old document, late: ignored
        assert outbox.enqueue_deltas([_store_minute_doc(1, 4, 40, part="orders")]) == 0  # a minute's orders only
        assert outbox.enqueue_deltas([_store_hour_doc(3, {MINUTE: (3, 5, 300), other: (2, 1, 9)})]) == 0
        assert outbox.enqueue_deltas([_store_hour_doc(4, {MINUTE: (4, 6, 330), other: (2, 1, 9)})]) == 1
        assert _sums(outbox) == {MINUTE: (6, 330), other: (1, 9)}
        cursor = store.read(OUTBOX_CONTAINER, "dstate|store|S0|2026-11-26", f"dhour|store|S0|{HOUR}")
        assert cursor is not None and cursor["v"] == 4
