"""The generated chain behaves like a retail chain: opening hours, curves, conversion,
refunds, order promises, logs with incidents, data quality and cost records."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import takewhile
from typing import Any

import orjson
import pytest

from shared.generator import demo_reference, stream
from shared.reference import Dimension, FxRates, Product, ReferenceData, Store

START = datetime(2026, 11, 27, tzinfo=UTC)  # Friday; the window covers Friday to Sunday
END = START + timedelta(days=3)
END_MS = int(END.timestamp() * 1000)


def window(source: str, seed: int = 17, days: int = 3) -> list[tuple[datetime, dict[str, Any]]]:
    """Clean events of `source` with event time in [START, START + days)."""
    end_ms = int((START + timedelta(days=days)).timestamp() * 1000)
    events: Iterator[Any] = takewhile(lambda e: e.delivery_ms < end_ms + 3_600_000, stream(source, seed, START))
    return [(e.event_time, orjson.loads(e.body)) for e in events if e.event_ms < end_ms]


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return demo_reference()


@pytest.fixture(scope="module")
def txn() -> list[tuple[datetime, dict[str, Any]]]:
    return window("txn")


@pytest.fixture(scope="module")
def traffic() -> list[tuple[datetime, dict[str, Any]]]:
    return window("traffic")


def local_day(ref: ReferenceData, store_id: str, ts: datetime) -> date:
    store = ref.stores.as_of(store_id, ts)
    assert store is not None, (store_id, ts)
    return ts.astimezone(store.zone).date()


def test_no_store_sale_or_door_count_outside_opening_hours(ref: ReferenceData, txn: list, traffic: list) -> None:
    for ts, body in txn:
        store = ref.stores.as_of(body["merchant_id"], ts)
        assert store is not None and store.channel == body["channel"]
        if store.channel == "store":
            assert store.is_open_at(ts), (body["merchant_id"], ts)
    for ts, body in traffic:
        store = ref.stores.as_of(body["store_id"], ts)
        assert store is not None
        period_end = ts + timedelta(seconds=body["period_seconds"] - 1)
        assert store.is_open_at(ts) and store.is_open_at(period_end), (body["store_id"], ts)


def test_one_door_count_per_store_per_open_minute(ref: ReferenceData, traffic: list) -> None:
    per_minute = Counter((body["store_id"], body["period_start"]) for _, body in traffic)
    assert set(per_minute.values()) == {1}
    friday = Counter(body["store_id"] for ts, body in traffic if local_day(ref, body["store_id"], ts).weekday() == 4)
    for store_id, minutes in friday.items():
        store = ref.stores.as_of(store_id, START)
        assert store is not None
        if store.is_24h:
            assert minutes >= 1380  # every minute of the local day that lies in the window
        else:
            assert store.opens is not None and store.closes is not None
            open_minutes = (store.closes.hour * 60 + store.closes.minute) - (store.opens.hour * 60 + store.opens.minute)
            assert minutes == open_minutes, store_id


def test_conversion_per_store_day_is_plausible(ref: ReferenceData, txn: list, traffic: list) -> None:
    sales: Counter[tuple[str, date]] = Counter()
    for ts, body in txn:
        if body["txn_type"] == "sale":
            sales[(body["merchant_id"], local_day(ref, body["merchant_id"], ts))] += 1
    visitors: Counter[tuple[str, date]] = Counter()
    for ts, body in traffic:
        visitors[(body["store_id"], local_day(ref, body["store_id"], ts))] += body["visitors"]
    physical = {k: sales[k] / v for k, v in visitors.items() if k[0] not in ("WEB", "APP") and v >= 200}
    assert len(physical) > 120
    assert all(0.15 <= c <= 0.35 for c in physical.values()), sorted(physical.values())[:3]
    online = {k: sales[k] / v for k, v in visitors.items() if k[0] in ("WEB", "APP") and v >= 5000}
    assert online and all(0.015 <= c <= 0.06 for c in online.values())


def test_weekday_and_sunday_rules(ref: ReferenceData, traffic: list) -> None:
    by_day: Counter[int] = Counter()
    for ts, body in traffic:
        store = ref.stores.as_of(body["store_id"], ts)
        assert store is not None
        weekday = local_day(ref, body["store_id"], ts).weekday()
        if store.channel == "store":
            by_day[weekday] += body["visitors"]
            if weekday == 6:
                assert store.country not in ("DE", "PL"), "German and Polish stores are closed on Sunday"
    assert by_day[5] > by_day[4] > by_day[6] > 0  # Saturday busiest, Sunday quiet


def test_intraday_peaks(ref: ReferenceData, traffic: list) -> None:
    per_hour: Counter[tuple[str, int]] = Counter()
    for ts, body in traffic:
        store = ref.stores.as_of(body["store_id"], ts)
        assert store is not None
        kind = "store" if store.channel == "store" else "online"
        per_hour[(kind, ts.astimezone(store.zone).hour)] += body["visitors"]
    assert per_hour[("store", 12)] > per_hour[("store", 10)]  # lunch peak
    assert per_hour[("store", 17)] > per_hour[("store", 15)]  # late-afternoon peak
    assert per_hour[("store", 17)] > per_hour[("store", 12)]
    assert per_hour[("online", 4)] < 0.3 * per_hour[("online", 20)]  # night dip online
    assert per_hour[("online", 4)] > 0  # but never closed


def test_refunds_voids_customers_and_prices(ref: ReferenceData, txn: list) -> None:
    kinds = Counter(body["txn_type"] for _, body in txn)
    assert 0.03 <= kinds["refund"] / kinds["sale"] <= 0.05
    assert 0.005 <= kinds["void"] / kinds["sale"] <= 0.015
    anonymous = sum(body["customer_id"] is None for _, body in txn) / len(txn)
    assert 0.3 < anonymous < 0.7
    assert {body["channel"] for _, body in txn} == {"store", "web", "app"}
    prices: dict[tuple[str, str], set[float]] = defaultdict(set)
    sizes: Counter[int] = Counter()
    for ts, body in txn:
        store = ref.stores.as_of(body["merchant_id"], ts)
        assert store is not None
        if store.channel == "store":
            assert body["currency"] == store.currency
        sizes[len(body["lines"])] += 1
        for line in body["lines"]:
            assert ref.products.as_of(line["product_id"], ts) is not None
            prices[(line["product_id"], body["currency"])].add(line["unit_price"])
    assert all(len(p) == 1 for p in prices.values())  # one shelf price per product and currency
    assert {c for _, c in prices} == {"EUR", "GBP", "SEK", "PLN"}
    assert max(sizes) == 8 and sizes[1] > sizes[2] > sizes[4] > sizes[8]


@pytest.fixture(scope="module")
def orders() -> dict[str, list[tuple[datetime, dict[str, Any]]]]:
    by_order: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for ts, body in window("fulfillment", days=4):
        by_order[body["order_id"]].append((ts, body))
    return by_order


def test_order_lifecycles(ref: ReferenceData, orders: dict[str, list[tuple[datetime, dict[str, Any]]]]) -> None:
    completions = late = placed = cancelled = 0
    paths: Counter[tuple[str, ...]] = Counter()
    for events in orders.values():
        statuses = [body["status"] for _, body in events]
        times = [ts for ts, _ in events]
        assert times == sorted(times)
        if statuses[0] != "placed":
            continue  # placed before the window (the backlog)
        placed += 1
        paths[tuple(statuses)] += 1
        cancelled += "cancelled" in statuses
        first = events[0][1]
        assert all(b["order_placed_ts"] == first["status_ts"] for _, b in events)
        for ts, body in events:
            if body["status"] in ("picked", "packed", "shipped", "ready_for_pickup", "collected"):
                store = ref.stores.as_of(body["store_id"], ts)
                assert store is not None and store.is_open_at(ts), body  # store work in opening hours
            if body["status"] in ("shipped", "ready_for_pickup"):
                completions += 1
                late += body["status_ts"] > body["promised_ts"]
    assert placed > 3000
    assert 0.08 <= late / completions <= 0.15
    assert 0.02 <= cancelled / placed <= 0.08
    assert paths[("placed", "picked", "packed", "shipped", "delivered")] > 0
    assert paths[("placed", "picked", "packed", "ready_for_pickup", "collected")] > 0
    assert paths[("placed", "cancelled")] > 0


def test_ops_logs_have_error_bursts() -> None:
    logs = [body for _, body in window("ops", days=1)]
    levels = Counter(body["log_level"] for body in logs)
    assert levels["INFO"] / len(logs) > 0.6 and levels["ERROR"] / len(logs) < 0.1
    per_minute = Counter((b["service_id"], b["message_ts"][:16]) for b in logs if b["log_level"] == "ERROR")
    assert per_minute.most_common(1)[0][1] >= 5  # an incident
    assert all(b["error_code"] for b in logs if b["log_level"] in ("ERROR", "CRITICAL"))
    assert all(b["error_code"] is None for b in logs if b["log_level"] in ("DEBUG", "INFO"))


def test_data_quality_mostly_passes() -> None:
    checks = [body for _, body in window("gov", days=1)]
    status = Counter(b["check_status"] for b in checks)
    assert status["pass"] / len(checks) > 0.85 and status["fail"] > 0
    for b in checks:
        if b["check_status"] == "fail" and b["threshold"] is not None:
            if b["check_name"] == "row_count_min":
                assert b["observed_value"] < b["threshold"]
            else:
                assert b["observed_value"] > b["threshold"]


def test_cost_is_hourly_per_resource() -> None:
    records = [body for _, body in window("cost", days=1)]
    per_resource = Counter(b["resource_id"] for b in records)
    assert len(set(per_resource.values())) == 1 and next(iter(per_resource.values())) == 24
    assert {b["currency"] for b in records} == {"USD", "EUR"}
    for b in records:
        start, end = datetime.fromisoformat(b["start_ts"]), datetime.fromisoformat(b["end_ts"])
        assert end - start == timedelta(hours=1) and start.minute == 0


def test_ingest_landings() -> None:
    landings = [body for _, body in window("ingest", days=1)]
    assert 15_000 < len(landings) < 60_000
    assert len({b["source_system_id"] for b in landings}) >= 8
    assert all(b["size_bytes"] > 0 for b in landings)


def test_a_store_without_hours_in_its_data_trades_a_plain_day() -> None:
    since = datetime(2020, 1, 1, tzinfo=UTC)
    reference = ReferenceData(
        stores=Dimension([Store("S1", "Shop", "R", "NL", "Europe/Amsterdam", since, None)], key=lambda s: s.store_id),
        products=Dimension(
            [Product("P1", "Tee", "Tops", "Apparel", since, None, Decimal("9.99"))], key=lambda p: p.product_id
        ),
        fx=FxRates({}),
    )
    counts = list(takewhile(lambda e: e.event_ms < END_MS, stream("traffic", 1, START, reference=reference)))
    local = [e.event_time.astimezone(reference.stores.versions("S1")[0].zone) for e in counts]
    assert local and all(9 <= t.hour < 20 for t in local)
    assert len(counts) == 3 * 11 * 60
    sales = list(takewhile(lambda e: e.event_ms < END_MS, stream("txn", 1, START, reference=reference)))
    assert sales and {orjson.loads(e.body)["currency"] for e in sales} == {"EUR"}
