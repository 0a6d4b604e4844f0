"""The page's files: URLs filled in and escaped, only known files served, Chart.js vendored on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.web.assets import AssetNotFound, chart_library_path, page_html, read_asset
from shared.web.vendor import main, vendor_chart_library


def test_the_page_carries_its_data_urls() -> None:
    page = page_html(snapshot_url="/api/snapshot", events_url="", static_base="/api/live/static/", poll_ms=3000)
    assert 'data-snapshot-url="/api/snapshot" data-events-url="" data-poll-ms="3000"' in page
    assert '<script type="module" src="/api/live/static/live.js"></script>' in page
    assert 'src="/api/live/static/vendor/chart.umd.js"' in page
    assert "{{" not in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_urls_are_escaped_into_attributes() -> None:
    page = page_html(snapshot_url='/x?a=1&b="2"')
    assert 'data-snapshot-url="/x?a=1&amp;b=&quot;2&quot;"' in page


def test_the_page_has_landmarks_and_labels() -> None:
    page = page_html()
    for needle in ('<html lang="en">', "<main", "<nav", 'aria-live="polite"', '<label for="region">', 'role="img"'):
        assert needle in page
    assert page.count('scope="col"') >= 12


@pytest.mark.parametrize("name", ["live.js", "alerts.js", "live.css"])
def test_page_files_are_served_with_their_type(name: str) -> None:
    body, content_type = read_asset(name)
    assert body and content_type.startswith("text/")


@pytest.mark.parametrize("name", ["index.html", "../snapshot.py", "/etc/passwd", "vendor/../live.js", ""])
def test_anything_else_is_not_found(name: str) -> None:
    with pytest.raises(AssetNotFound):
        read_asset(name)


def test_chart_js_comes_from_node_modules_when_installed() -> None:
    path = chart_library_path()
    if path is None:
        pytest.skip("Chart.js is not installed here (npm ci)")
    body, content_type = read_asset("vendor/chart.umd.js")
    assert content_type == "text/javascript; charset=utf-8"
    assert b"Chart" in body[:5000] and len(body) > 100_000


def test_vendoring_copies_the_library_and_its_licence(tmp_path: Path) -> None:
    package = tmp_path / "node_modules" / "chart.js"
    (package / "dist").mkdir(parents=True)
    (package / "dist" / "chart.umd.js").write_text("/*! Chart.js */ window.Chart = {};")
    (package / "LICENSE.md").write_text("MIT")
    written = vendor_chart_library(tmp_path / "node_modules", tmp_path / "vendor")
    assert sorted(p.name for p in written) == ["chart.js-LICENSE.md", "chart.umd.js"]
    assert (tmp_path / "vendor" / "chart.umd.js").read_text().endswith("window.Chart = {};")


def test_vendoring_without_npm_ci_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "node_modules")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vendor: Chart.js is not installed") and err.rstrip().endswith("run `npm ci` first")
