"""The shipped demo reference set: its shape, its histories, and that it is current."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.reference import ReferenceData, demo_reference_dir, load_reference
from shared.reference.build_demo import render


@pytest.fixture(scope="module")
def demo() -> ReferenceData:
    return load_reference(demo_reference_dir())


def test_shipped_files_are_what_the_builder_renders() -> None:
    for name, text in render().items():
        shipped = (demo_reference_dir() / name).read_text(encoding="utf-8")
        assert shipped == text, f"{name} is stale: run python -m shared.reference.build_demo"


def test_stores(demo: ReferenceData) -> None:
    physical = [s for s in demo.stores.members() if s.channel == "store"]
    assert len({s.store_id for s in physical}) == 60
    regions = {s.region for s in physical}
    assert len(regions) == 6 and "ONLINE" not in regions
    assert len({s.country for s in physical}) == 4
    assert len({s.timezone for s in physical}) >= 3
    assert {s.currency for s in physical} == {"EUR", "GBP", "SEK", "PLN"}
    assert all(s.opens is not None and s.size_sqm for s in physical)
    assert all(s.closed_on_sunday for s in physical if s.country == "DE")
    for store_id, channel in (("WEB", "web"), ("APP", "app")):
        (online,) = demo.stores.versions(store_id)
        assert (online.region, online.channel, online.is_24h) == ("ONLINE", channel, True)


def test_store_histories_make_as_of_matter(demo: ReferenceData) -> None:
    before = datetime(2026, 6, 30, 21, 59, 59, tzinfo=UTC)
    after = datetime(2026, 6, 30, 22, 0, tzinfo=UTC)  # midnight in Berlin
    assert demo.stores.as_of("DE012", before).region == "DE_NORTH"  # type: ignore[union-attr]
    assert demo.stores.as_of("DE012", after).region == "DE_SOUTH"  # type: ignore[union-attr]
    assert demo.stores.as_of("SE010", datetime(2026, 11, 1, tzinfo=UTC)) is None  # closed
    assert demo.stores.as_of("PL010", datetime(2026, 10, 1, tzinfo=UTC)) is None  # not yet open
    assert demo.stores.as_of("PL010", datetime(2026, 11, 1, tzinfo=UTC)) is not None
    assert len({v.name for v in demo.stores.versions("GB004")}) == 2


def test_products(demo: ReferenceData) -> None:
    assert len(demo.products) == 2000
    members = list(demo.products.members())
    assert len({p.category for p in members}) == 12
    assert len({p.department for p in members}) >= 4
    prices = [p.list_price for p in members]
    assert all(p is not None and Decimal("1") <= p <= Decimal("300") for p in prices)
    assert all(p == p.quantize(Decimal("0.01")) for p in prices if p is not None)
    keys = demo.products.keys()
    recategorised = [k for k in keys if len({v.category for v in demo.products.versions(k)}) > 1]
    assert recategorised
    (moved, *_) = recategorised
    cut = demo.products.versions(moved)[1].valid_from
    old = demo.products.as_of(moved, cut - timedelta(microseconds=1))
    new = demo.products.as_of(moved, cut)
    assert old is not None and new is not None and old.category != new.category


def test_daily_fx_over_the_demo_period(demo: ReferenceData) -> None:
    assert set(demo.fx.currencies()) == {"GBP", "USD", "SEK", "PLN"}
    counts = Counter[str]()
    day = date(2026, 1, 1)
    while day <= date(2027, 12, 31):
        for currency in ("GBP", "USD", "SEK", "PLN"):
            rate = demo.fx.rate(currency, day)
            assert rate is not None and rate > 0 and -rate.as_tuple().exponent == 4  # type: ignore[operator]
            counts[currency] += 1
        day += timedelta(days=1)
    assert demo.fx.first_date("GBP") == date(2026, 1, 1) and demo.fx.last_date("GBP") == date(2027, 12, 31)
    assert demo.fx.rate("GBP", date(2025, 12, 31)) is None
    gbp = [demo.fx.rate("GBP", date(2026, 1, 1) + timedelta(days=i)) for i in range(730)]
    assert Decimal("1.0") < min(gbp) and max(gbp) < Decimal("1.3")  # type: ignore[type-var]
    assert len(set(gbp)) > 200  # it moves
