"""The local server over a real store: routes, errors, and Server-Sent Events within a second of a change."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from web_rig import START, WebRig, sale

from shared.web.assets import chart_library_path
from shared.web.server import LiveServer, ServerOptions


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[WebRig, Clock, LiveServer]]:
    rig = WebRig(tmp_path)
    clock = Clock(START + timedelta(minutes=10))
    rig.send_body("txn", "DE001", sale(1, "DE001", clock.now - timedelta(minutes=2), "10.00"), clock.now)
    rig.settle(clock.now)
    server = LiveServer(rig.store, clock, options=ServerOptions(port=0, refresh_s=30.0))
    server.start()
    yield rig, clock, server
    server.close()
    rig.close()


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def tile(snapshot: dict[str, Any], tile_id: str) -> Any:
    return next(t["value"] for t in snapshot["tiles"] if t["id"] == tile_id)


def test_the_page_and_its_files(served: tuple[WebRig, Clock, LiveServer]) -> None:
    _, _, server = served
    status, headers, body = get(server.url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'data-events-url="/api/events"' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert get(server.url + "live")[0] == 200
    assert get(server.url + "static/live.js")[1]["Content-Type"] == "text/javascript; charset=utf-8"
    assert get(server.url + "static/live.css")[0] == 200
    if chart_library_path() is not None:
        assert get(server.url + "static/vendor/chart.umd.js")[0] == 200
    assert get(server.url + "static/../snapshot.py")[0] == 404
    assert get(server.url + "nope")[0] == 404


def test_snapshot_endpoint_and_a_bad_filter(served: tuple[WebRig, Clock, LiveServer]) -> None:
    _, _, server = served
    status, headers, body = get(server.url + "api/snapshot?store=DE001")
    assert status == 200 and headers["Cache-Control"] == "no-store"
    data = orjson.loads(body)
    assert data["focus"]["key"] == "DE001" and tile(data, "net_sales") == 10.0
    status, _, body = get(server.url + "api/snapshot?region=ATLANTIS")
    assert status == 400
    assert orjson.loads(body) == {"error": "unknown region 'ATLANTIS'", "parameter": "region"}
    assert get(server.url + "api/events?store=ZZ001")[0] == 400


class EventStream:
    """Reads `event: snapshot` messages off a live SSE response."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.conn.request("GET", f"{parts.path}?{parts.query}")
        self.response = self.conn.getresponse()

    def next_snapshot(self) -> dict[str, Any]:
        event, data = None, b""
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.rstrip(b"\n")
            if line.startswith(b"event: "):
                event = line[7:]
            elif line.startswith(b"data: "):
                data = line[6:]
            elif not line and event == b"snapshot":
                return dict(orjson.loads(data))

    def close(self) -> None:
        self.conn.close()


def test_events_push_a_snapshot_within_a_second_of_a_change(served: tuple[WebRig, Clock, LiveServer]) -> None:
    rig, clock, server = served
    stream = EventStream(server.url + "api/events?region=DE_NORTH")
    assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    assert tile(stream.next_snapshot(), "transactions") == 1
    clock.now += timedelta(seconds=3)
    rig.send_body("txn", "DE001", sale(2, "DE001", clock.now - timedelta(seconds=1), "5.00"), clock.now)
    rig.settle(clock.now)
    changed = time.monotonic()
    pushed = stream.next_snapshot()
    assert time.monotonic() - changed < 5.0  # the push follows the change, not a periodic refresh
    assert tile(pushed, "transactions") == 2 and tile(pushed, "net_sales") == 15.0
    stream.close()


def test_close_ends_open_streams_promptly(served: tuple[WebRig, Clock, LiveServer]) -> None:
    _, _, server = served
    stream = EventStream(server.url + "api/events")
    stream.next_snapshot()
    ended: list[float] = []

    def drain() -> None:
        try:
            while True:
                stream.next_snapshot()
        except (EOFError, OSError):
            ended.append(time.monotonic())

    reader = threading.Thread(target=drain)
    reader.start()
    began = time.monotonic()
    server.close()
    reader.join(60.0)
    assert time.monotonic() - began < 5.0
    assert ended, "the event stream did not end"
    stream.close()
