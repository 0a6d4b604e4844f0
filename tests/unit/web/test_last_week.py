""" "vs same time last week": today so far against the same local span a week ago, exact to the cent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from web_rig import START, WebRig, sale

from shared.web.last_week import same_time_last_week
from shared.web.snapshot import snapshot

WEEK = timedelta(days=7)


def _fill(rig: WebRig) -> None:
    """Berlin store DE001 and London store GB001; START is 10:30 in Berlin, 09:30 in London."""
    sent = [
        # a week ago: before the same time (counted), after it (not counted), and the day before (not counted)
        ("DE001", START - WEEK - timedelta(minutes=30), "20.00"),
        ("DE001", START - WEEK - timedelta(hours=9, minutes=45), "5.00"),  # 00:45 Berlin, a whole-hour document
        ("DE001", START - WEEK + timedelta(minutes=30), "99.00"),
        ("DE001", START - WEEK - timedelta(hours=11), "77.00"),  # 23:30 Berlin, the day before
        ("GB001", START - WEEK - timedelta(minutes=5), "10.00"),
        # today: earlier today, in the current minute, and yesterday evening (not today)
        ("DE001", START - timedelta(hours=1), "30.00"),
        ("DE001", START + timedelta(seconds=20), "12.50"),
        ("DE001", START - timedelta(hours=11), "40.00"),
    ]
    for n, (store_id, at, amount) in enumerate(sent, 1):
        rig.send_body("txn", store_id, sale(n, store_id, at, amount), at + timedelta(seconds=1))
        rig.settle(at + timedelta(seconds=1))


def test_same_time_last_week_per_store_and_chain(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    _fill(rig)
    now = START + timedelta(seconds=30)
    store = same_time_last_week(rig.store, "store", "DE001", "Europe/Berlin", now)
    assert (store.net_cents, store.transactions) == (4250, 2)
    assert (store.last_week_net_cents, store.last_week_transactions) == (2500, 2)
    assert store.tile_fields("net_sales") == {
        "today_so_far": Decimal("42.50"),
        "last_week": Decimal("25.00"),
        "change": Decimal("0.7000"),
    }
    assert store.tile_fields("transactions") == {"today_so_far": 2, "last_week": 2, "change": Decimal("0.0000")}
    assert store.tile_fields("aov") is None
    chain = same_time_last_week(rig.store, "chain", "ALL", "Europe/Berlin", now)
    assert (chain.net_cents, chain.last_week_net_cents) == (4250, 3500)  # GB001 in London: 09:25, counted
    nothing = same_time_last_week(rig.store, "store", "GB002", "Europe/London", now)
    assert nothing.tile_fields("net_sales") == {
        "today_so_far": Decimal("0.00"),
        "last_week": Decimal("0.00"),
        "change": None,
    }
    rig.close()


def test_the_tiles_carry_the_comparison(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    _fill(rig)
    data = snapshot(rig.store, START + timedelta(seconds=30), store_id="DE001")
    tiles = {t["id"]: t for t in data["tiles"]}
    assert tiles["net_sales"]["vs_last_week"] == {
        "today_so_far": Decimal("42.50"),
        "last_week": Decimal("25.00"),
        "change": Decimal("0.7000"),
    }
    assert tiles["transactions"]["vs_last_week"]["change"] == Decimal("0.0000")
    assert "vs_last_week" not in tiles["aov"]
    rig.close()
