"""The Function App's page for signed-in managers, in headless Chromium: it offers only their scope.

The registered functions (`live_page`, `live_static`, `snapshot`) are served over HTTP by a
small shim that does what App Service Authentication does after a sign-in: it sets
``X-MS-CLIENT-PRINCIPAL`` for the signed-in user. The store is the embedded one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest

from functions._runtime import reset_runtime
from tests.e2e.test_live_page import CHROMIUM, CHROMIUM_ARGS
from tests.functions.app_env import GROUP_DE013, GROUP_DE_NORTH, SCOPE_MAP, SETTINGS, AppEnv
from tests.functions.test_access import _ingest
from tests.functions.trigger_inputs import client_principal

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: apt-get install -y chromium"),
]
playwright_api = pytest.importorskip("playwright.sync_api")


class SignedInShim(BaseHTTPRequestHandler):
    """GET /api/live, /api/live/static/<name> and /api/snapshot through the registered functions."""

    env: AppEnv
    principal: str

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query))
        route_params: dict[str, str] = {}
        if url.path.startswith("/api/live/static/"):
            name, route_params = "live_static", {"name": url.path.removeprefix("/api/live/static/")}
        else:
            name = {"/api/live": "live_page", "/api/snapshot": "snapshot"}.get(url.path, "")
        if not name:
            self.send_error(404)
            return
        request = func.HttpRequest(
            "GET", f"http://localhost{self.path}", params=params, route_params=route_params, body=b"",
            headers={"X-MS-CLIENT-PRINCIPAL": self.principal},
        )  # fmt: skip
        response: func.HttpResponse = self.env.call(name, request)
        self.send_response(response.status_code)
        for key, value in response.headers.items():
            self.send_header(key, value)
        if response.mimetype:
            self.send_header(
                "Content-Type", response.mimetype + (f"; charset={response.charset}" if response.charset else "")
            )
        body = response.get_body()
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppEnv]:
    folder = tmp_path_factory.mktemp("signed-in")
    monkeypatch = pytest.MonkeyPatch()
    env = AppEnv(monkeypatch, f"sqlite:///{folder / 'pulse.db'}")
    for name, value in {
        **SETTINGS,
        "PULSE_STORE_URL": env.store_url,
        "PULSE_DEAD_LETTER_KEY_FILE": str(folder / "dlq-key"),
        "PULSE_SCOPE_MAP": SCOPE_MAP,
    }.items():
        monkeypatch.setenv(name, value)
    reset_runtime()
    _ingest(env)
    yield env
    reset_runtime()
    monkeypatch.undo()


def _open_as(app: AppEnv, principal: str, tmp_path: Path) -> Iterator[Any]:
    handler = type("Shim", (SignedInShim,), {"env": app, "principal": principal})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with playwright_api.sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            tab = context.new_page()
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            tab.goto(f"http://127.0.0.1:{server.server_address[1]}/api/live")
            tab.wait_for_selector('[data-tile="net_sales"] .tile-value[data-value]')
            yield tab
            context.close()
            assert errors == []
    finally:
        server.shutdown()
        server.server_close()


def _options(page: Any, select: str) -> list[str]:
    return list(page.eval_on_selector_all(f"#{select} option", "options => options.map(o => o.value)"))


def test_a_store_manager_is_offered_its_store_only(app: AppEnv, tmp_path: Path) -> None:
    for page in _open_as(app, client_principal("stella", ["StoreManager"], [GROUP_DE013]), tmp_path):
        assert page.url.endswith("/api/live?store=DE013")
        page.wait_for_function("() => document.getElementById('focus-label').textContent.startsWith('DE013')")
        assert _options(page, "region") == []  # no "All regions", no region
        assert _options(page, "store") == ["DE013"]  # no "All stores", no neighbour
        rows = page.eval_on_selector_all("#breakdown tbody th", "cells => cells.map(c => c.textContent)")
        assert len(rows) == 1 and rows[0].startswith("DE013")


def test_a_region_manager_is_offered_its_region_and_its_stores(app: AppEnv, tmp_path: Path) -> None:
    for page in _open_as(app, client_principal("rene", ["RegionManager"], [GROUP_DE_NORTH]), tmp_path):
        assert page.url.endswith("/api/live?region=DE_NORTH")
        page.wait_for_function("() => document.getElementById('focus-label').textContent === 'Region DE_NORTH'")
        assert _options(page, "region") == ["DE_NORTH"]
        stores = _options(page, "store")
        assert stores[0] == "" and "DE001" in stores and "DE013" not in stores  # "All stores" = its region


def test_a_viewer_is_offered_the_whole_chain(app: AppEnv, tmp_path: Path) -> None:
    for page in _open_as(app, client_principal("vera", ["Viewer"]), tmp_path):
        assert page.url.endswith("/api/live")
        assert _options(page, "region")[0] == "" and "DE_SOUTH" in _options(page, "region")
        regions = page.eval_on_selector_all("#breakdown tbody th", "cells => cells.length")
        assert regions == len(_options(page, "region")) - 1 > 1  # every region of the chain, in the breakdown
