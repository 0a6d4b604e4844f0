"""The alert panel and the tile mark in headless Chromium, over a store where an alert fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.web.server import LiveServer, ServerOptions
from tests.e2e.test_live_page import CHROMIUM, CHROMIUM_ARGS, Clock
from tests.unit.alerts.alert_rig import AlertRig, config_from

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

playwright_api = pytest.importorskip("playwright.sync_api")

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
RULE = """
[[rule]]
name = "till-silent"
kind = "heartbeat"
scope = "store"
silent_for = "15m"
summary = "an open store has sent no till transaction"
receivers = ["hook"]
group_by = ["region"]
runbook = "https://runbooks.example/till-silent"
"""


def test_the_panel_lists_the_firing_alert_and_marks_its_tile(tmp_path: Path) -> None:
    rig = AlertRig(tmp_path, config_from(RULE), ["DE001", "DE002"])
    for minute in range(0, 40, 2):  # DE001 sells all along; DE002 stops at 10:05
        rig.sales("DE001", T0 + timedelta(minutes=minute, seconds=10))
        if minute <= 5:
            rig.sales("DE002", T0 + timedelta(minutes=minute, seconds=20))
    now = T0 + timedelta(minutes=40)
    rig.settle(now)
    assert [t["scope"] for t in rig.evaluate(now).transitions] == ["DE002"]
    clock = Clock(now)
    server = LiveServer(rig.store, clock, reference=rig.session.pipeline.reference, options=ServerOptions(port=0))
    server.start()
    errors: list[str] = []
    try:
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            tab: Any = browser.new_page(viewport={"width": 1280, "height": 900})
            tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            tab.goto(server.url)
            item = tab.wait_for_selector('#alerts-firing li[data-state="firing"]', timeout=10_000)
            text = item.inner_text()
            assert "till-silent" in text and "DE002" in text and "DE_NORTH" in text and "since" in text
            assert item.query_selector("a.alert-runbook").get_attribute("href") == RULE.split('"')[-2]
            assert tab.inner_text("#alerts-count") == "1 firing"
            tile = tab.wait_for_selector('[data-tile="transactions"][data-alert="firing"]', timeout=5_000)
            assert "alert" in tile.query_selector(".tile-alert").inner_text()
            assert tab.query_selector('[data-tile="net_sales"][data-alert]') is None
            browser.close()
    finally:
        server.close()
        rig.close()
    assert errors == []
