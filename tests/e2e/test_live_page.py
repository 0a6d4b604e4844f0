"""The live page in headless Chromium (Debian's /usr/bin/chromium through Playwright) over a real store.

Tiles equal `pulse kpis` for the same file and `now`; pushed updates change them; a
late event visibly corrects a past minute of the chart; screenshots at desktop and
phone widths land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from shared.kpis.formulas import format_utc
from shared.web.server import LiveServer, ServerOptions
from shared.web.tiles import KPI_TILES
from tests.unit.web.web_rig import WebRig, sale

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PULSE = str(Path(sys.executable).with_name("pulse"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]

playwright_api = pytest.importorskip("playwright.sync_api")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebRig, Clock, LiveServer, list[Any]]]:
    rig = WebRig(tmp_path_factory.mktemp("live"))
    events = rig.generated(5000)
    rig.send(events[:4000])
    clock = Clock(rig.last_delivery + timedelta(seconds=2))
    rig.settle(clock.now)
    server = LiveServer(rig.store, clock, reference=rig.session.pipeline.reference, options=ServerOptions(port=0))
    server.start()
    yield rig, clock, server, events[4000:]
    server.close()
    rig.close()


@pytest.fixture(scope="module")
def page(live: tuple[WebRig, Clock, LiveServer, list[Any]], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.goto(live[2].url)
        tab.wait_for_selector('[data-tile="net_sales"] .tile-value[data-value]')
        yield tab
        context.close()
        assert errors == []


def pulse_kpis(db: Path, scope: str, now: datetime, key: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [PULSE, "kpis", "--db", str(db), "--scope", scope, "--grain", "day", "--now", format_utc(now), "--key", key],
        capture_output=True,
        check=True,
        timeout=60,
        env={**os.environ},
    )
    return list(orjson.loads(result.stdout))


def shown_tiles(page: Any) -> dict[str, str]:
    return dict(
        page.eval_on_selector_all(
            "#tiles .tile", "items => items.map(i => [i.dataset.tile, i.querySelector('.tile-value').dataset.value])"
        )
    )


def assert_tiles_equal_pulse_kpis(page: Any, db: Path, scope: str, key: str, now: datetime) -> dict[str, Any]:
    day = page.inner_text("#focus-day")
    (row,) = [r for r in pulse_kpis(db, scope, now, key) if r["window"] == day]
    shown = shown_tiles(page)
    for name, _label, _kind in KPI_TILES:
        expected = row[name]
        assert (shown[name] or None) == (None if expected is None else shown[name]), name
        if expected is not None:
            assert Decimal(shown[name]) == Decimal(str(expected)), name
    return row


def test_tiles_match_pulse_kpis_for_chain_and_region(
    page: Any, live: tuple[WebRig, Clock, LiveServer, list[Any]]
) -> None:
    rig, clock, _, _ = live
    assert page.inner_text("#connection") == "Live: updates are pushed"
    row = assert_tiles_equal_pulse_kpis(page, rig.db, "chain", "ALL", clock.now)
    assert row["transactions"] > 100
    assert "updated" in page.inner_text('[data-tile="net_sales"] .tile-age')
    page.select_option("#region", "DE_SOUTH")
    page.wait_for_function("() => document.getElementById('focus-label').textContent === 'Region DE_SOUTH'")
    assert_tiles_equal_pulse_kpis(page, rig.db, "region", "DE_SOUTH", clock.now)
    assert "region=DE_SOUTH" in page.url
    assert page.eval_on_selector_all("#breakdown tbody th", "cells => cells.length") > 5
    page.select_option("#region", "")
    page.wait_for_function("() => document.getElementById('focus-label').textContent === 'Whole chain'")


def test_values_change_as_events_arrive(page: Any, live: tuple[WebRig, Clock, LiveServer, list[Any]]) -> None:
    rig, clock, _, more = live
    before = int(shown_tiles(page)["transactions"])
    rig.send(more)
    clock.now = rig.last_delivery + timedelta(seconds=2)
    rig.settle(clock.now)
    page.wait_for_function(
        f"() => Number(document.querySelector('[data-tile=transactions] .tile-value').dataset.value) > {before}",
        timeout=5000,
    )
    assert_tiles_equal_pulse_kpis(page, rig.db, "chain", "ALL", clock.now)


def test_a_late_event_visibly_corrects_a_past_minute(
    page: Any, live: tuple[WebRig, Clock, LiveServer, list[Any]]
) -> None:
    rig, clock, _, _ = live
    late_at = clock.now - timedelta(minutes=25)
    window = late_at.strftime("%Y-%m-%dT%H:%M:00Z")
    cell = f'#series-table tr[data-window="{window}"] td'
    before = Decimal(page.eval_on_selector(cell, "td => td.dataset.value"))
    index = page.eval_on_selector_all(
        "#series-table tbody tr", f"rows => rows.findIndex(r => r.dataset.window === '{window}')"
    )
    charted = page.evaluate(f"Chart.getChart('chart').data.datasets[0].data[{index}]")
    assert Decimal(str(charted)) == before
    clock.now += timedelta(seconds=5)
    rig.send_body("txn", "DE001", sale(900001, "DE001", late_at, "999.99"), clock.now)
    rig.settle(clock.now)
    page.wait_for_selector(f'#corrections li[data-window="{window}"]', timeout=5000)
    after = Decimal(page.eval_on_selector(cell, "td => td.dataset.value"))
    assert after == before + Decimal("999.99")
    assert Decimal(str(page.evaluate(f"Chart.getChart('chart').data.datasets[0].data[{index}]"))) == after
    assert page.evaluate(f"Chart.getChart('chart').data.datasets[0].pointRadius[{index}]") > 0
    assert "(corrected)" in page.text_content(f'#series-table tr[data-window="{window}"] th')
    assert "1 minute(s) corrected by late data" in page.get_attribute("#chart", "aria-label")
    assert "corrected by late data" in page.inner_text("#corrections")


def test_screenshots_at_desktop_and_phone_width(page: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "live-page.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "live-page-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling; tables scroll inside
    assert (ARTIFACTS / "live-page.png").stat().st_size > 20_000


def test_the_chart_speaks_local_time_and_money(page: Any, live: tuple[WebRig, Clock, LiveServer, list[Any]]) -> None:
    zone = page.text_content("#chart-zone")
    assert zone == "Europe/Berlin" and page.text_content("#series-zone-head") == zone
    labels = page.evaluate("Chart.getChart('chart').data.labels")
    last_window = page.eval_on_selector_all("#series-table tbody tr", "rows => rows[rows.length - 1].dataset.window")
    utc = datetime.fromisoformat(last_window)
    assert labels[-1] == utc.astimezone(ZoneInfo(zone)).strftime("%H:%M")  # Berlin wall time, not UTC
    assert page.evaluate("Chart.getChart('chart').options.scales.y.title.text") == "Net sales (EUR)"
    assert "€" in page.evaluate("Chart.getChart('chart').scales.y.ticks.map(t => t.label).join(' ')")


def test_at_night_the_page_says_every_store_is_closed(
    page: Any, live: tuple[WebRig, Clock, LiveServer, list[Any]]
) -> None:
    clock = live[1]
    daytime = clock.now
    assert page.is_hidden("#hours-notice")
    try:
        clock.now = daytime.replace(hour=23, minute=30)  # 00:30 in Berlin, 23:30 in London: every store is closed
        page.wait_for_timeout(1200)  # snapshots are cached for up to a second
        page.reload()
        page.wait_for_selector("#hours-notice:not([hidden])", timeout=5000)
        text = page.text_content("#hours-notice")
        assert text.startswith("All 59 stores are closed at this hour; the web and app shops keep trading.")
        assert "DE_NORTH " in text and "09:30" in text and "UK_SOUTH " in text and "09:00" in text
    finally:
        clock.now = daytime
        page.wait_for_timeout(1200)
        page.reload()
        page.wait_for_selector('[data-tile="net_sales"] .tile-value[data-value]')
    assert page.is_hidden("#hours-notice")


def test_sales_tiles_compare_with_last_week_and_show_the_target(page: Any) -> None:
    compare = page.text_content('[data-tile="net_sales"] .tile-compare')
    assert "vs same time last week" in compare  # the rig has no data a week back: last week's figure is shown
    assert page.text_content('[data-tile="transactions"] .tile-compare').startswith("vs same time last week: 0")
    assert "of the day's target" in page.text_content('[data-tile="net_sales"] .tile-target')
    assert page.text_content('[data-tile="aov"] .tile-compare') == ""
