"""Per-tile daily targets from the reference folder's optional targets.csv."""

from __future__ import annotations

import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from web_rig import START, WebRig, sale

from shared.reference import ReferenceDataError, demo_reference_dir, load_reference
from shared.reference.targets import read_targets
from shared.web.snapshot import snapshot


def test_the_demo_set_ships_targets_and_the_tiles_show_them(tmp_path: Path) -> None:
    rig = WebRig(tmp_path)
    for n, amount in enumerate(("1000.00", "200.00"), 1):
        rig.send_body("txn", "DE001", sale(n, "DE001", START - timedelta(minutes=n), amount), START)
    rig.settle(START)
    reference = load_reference(demo_reference_dir())
    assert reference.targets[("store", "DE001", "net_sales")] == Decimal("48000")
    tiles = {t["id"]: t for t in snapshot(rig.store, START, store_id="DE001", reference=reference)["tiles"]}
    assert tiles["net_sales"]["target"] == {"value": Decimal("48000"), "share": Decimal("0.0250"), "met": None}
    assert tiles["conversion_rate"]["target"] == {"value": Decimal("0.25"), "share": None, "met": None}  # no visitors
    assert "target" not in tiles["transactions"]  # none configured for DE001
    chain = {t["id"]: t for t in snapshot(rig.store, START, reference=reference)["tiles"]}
    assert chain["transactions"]["target"]["share"] == Decimal("0.0001")  # 2 of 31,000 (half up)
    rig.close()


def test_no_file_means_no_targets_and_a_bad_file_is_refused_with_its_place(tmp_path: Path) -> None:
    assert read_targets(tmp_path) == {}
    (tmp_path / "targets.csv").write_text("scope,key,kpi,daily_target\nstore,DE001,footfall,10\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=r"targets.csv line 2, column kpi: 'footfall' is not one of"):
        read_targets(tmp_path)
    (tmp_path / "targets.csv").write_text(
        "scope,key,kpi,daily_target\nchain,ALL,net_sales,10\nchain,ALL,net_sales,12\n", encoding="utf-8"
    )
    with pytest.raises(ReferenceDataError, match=r"line 3, column kpi: a second target for chain ALL net_sales"):
        read_targets(tmp_path)


def test_a_reference_folder_without_targets_loads(tmp_path: Path) -> None:
    for name in ("stores.csv", "products.csv", "fx_rates.csv"):
        shutil.copy(demo_reference_dir() / name, tmp_path / name)
    assert load_reference(tmp_path).targets == {}
