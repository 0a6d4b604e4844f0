"""`pulse kpis` on a demo file takes the demo's simulated clock as "now", so its backlog equals the page's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from web_rig import START, WebRig

from shared.cli.main import main
from shared.engine.progress import AUDIT_CONTAINER
from shared.kpis.formulas import format_utc
from shared.runtime.demo_clock import CURSOR_ID, read_demo_clock
from shared.web.snapshot import snapshot
from tests.support.samples import body


def test_kpis_default_now_is_the_demo_clock(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rig = WebRig(tmp_path)
    promised = format_utc(START + timedelta(hours=1))
    order = body("fulfillment", 1, store_id="DE001", status_ts=format_utc(START), order_placed_ts=format_utc(START),
                 promised_ts=promised)  # fmt: skip
    rig.send_body("fulfillment", "DE001", order, START)
    rig.settle(START)
    demo_now = START + timedelta(minutes=10)  # the demo's clock: the promise has not passed
    rig.store.upsert(AUDIT_CONTAINER, {"id": CURSOR_ID, "pk": CURSOR_ID, "through_ms": 0,
                                       "clock_ms": int(demo_now.timestamp() * 1000)})  # fmt: skip
    assert read_demo_clock(rig.store) == demo_now
    page = {t["id"]: t["value"] for t in snapshot(rig.store, demo_now)["tiles"]}
    rig.close()

    def overdue(*extra: str) -> int:
        assert main(["kpis", "--db", str(rig.db), "--scope", "chain", "--grain", "day", *extra]) == 0
        (row,) = orjson.loads(capsysbinary.readouterr().out)
        return int(row["overdue_backlog"])

    assert overdue() == page["overdue_backlog"] == 0  # as the page shows it
    assert overdue("--now", format_utc(START + timedelta(hours=2))) == 1  # an explicit --now still wins
