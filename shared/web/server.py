"""The local live-page server: the page, ``GET /api/snapshot`` and Server-Sent Events, on the stdlib.

==========================  ===================================================
route                       serves
==========================  ===================================================
``GET /`` (also ``/live``)  the page (`assets.page_html`)
``GET /static/<file>``      ``live.js``, ``live.css``, ``vendor/chart.umd.js``
``GET /api/snapshot``       the snapshot JSON (``?region=&store=``); 400 names a bad filter
``GET /api/events``         ``text/event-stream``: an ``event: snapshot`` now, then on every
                            data change (and every `refresh_s`), ``: keep-alive`` comments
==========================  ===================================================

Threads: one per connection (``ThreadingHTTPServer``); snapshots are computed on
the cache's single worker thread. `close()` ends the event streams within
`_WAIT_SLICE_S` and joins the server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import orjson

from shared.reference import ReferenceData
from shared.stores.port import DocumentStore
from shared.web.assets import AssetNotFound, page_html, read_asset
from shared.web.changes import ChangeSignal, FeedProbe
from shared.web.snapshot import UnknownFilter
from shared.web.snapshots import SnapshotCache

__all__ = ["LiveServer", "ServerOptions"]

logger = logging.getLogger(__name__)

_WAIT_SLICE_S: Final = 0.5
_SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
}


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Where to listen and how often to push."""

    host: str = "127.0.0.1"
    port: int = 8000
    """0: any free port (see `LiveServer.url`)."""
    clock_rate: float = 1.0
    """Simulated seconds per wall second (the demo's ``--speed``), passed to the page."""
    live_from: datetime | None = None
    """The health tiles count messages enqueued from then (the demo: when it went live, after its fast-forward)."""
    refresh_s: float = 10.0
    """Push a snapshot at least this often, so "as of now" values move on a quiet store."""
    heartbeat_s: float = 15.0


class LiveServer:
    """Serves the live page over `store`; `start()` in the background, `close()` to stop."""

    def __init__(
        self,
        store: DocumentStore,
        clock: Callable[[], datetime],
        *,
        reference: ReferenceData | None = None,
        signal: ChangeSignal | None = None,
        options: ServerOptions | None = None,
    ) -> None:
        """Without `signal`, the server watches the store's change feeds itself."""
        self.options = options or ServerOptions()
        self._own_signal = signal is None
        self.signal = signal or ChangeSignal(FeedProbe(store))
        self.cache = SnapshotCache(
            store,
            clock,
            lambda: self.signal.version,
            reference=reference,
            clock_rate=self.options.clock_rate,
            live_from=self.options.live_from,
        )
        self.stopping = threading.Event()
        self._httpd = _Server((self.options.host, self.options.port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> None:
        """Serve on a background thread (and start the change signal if the server owns it)."""
        if self._own_signal:
            self.signal.start()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="pulse-web-server", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving: event streams end, the listener closes, the snapshot worker stops."""
        self.stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5.0)
            self._thread = None
        self._httpd.server_close()
        if self._own_signal:
            self.signal.stop()
        self.cache.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], app: LiveServer) -> None:
        self.app = app
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "RetailPulse"
    sys_version = ""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        filters = (_first(query, "region"), _first(query, "store"))
        try:
            if url.path in ("/", "/index.html", "/live"):
                self._send(HTTPStatus.OK, page_html().encode("utf-8"), "text/html; charset=utf-8")
            elif url.path.startswith("/static/"):
                body, content_type = read_asset(url.path.removeprefix("/static/"))
                self._send(HTTPStatus.OK, body, content_type, cache="public, max-age=300")
            elif url.path == "/api/snapshot":
                self._send(HTTPStatus.OK, self.server.app.cache.get(*filters), "application/json")
            elif url.path == "/api/events":
                self._stream(filters)
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
        except AssetNotFound:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
        except UnknownFilter as error:
            body = orjson.dumps({"error": str(error), "parameter": error.parameter})
            self._send(HTTPStatus.BAD_REQUEST, body, "application/json")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception:
            logger.exception("live page request %s failed", url.path)
            if not self._headers_done:
                self._send(HTTPStatus.SERVICE_UNAVAILABLE, b"the store is not available\n", "text/plain; charset=utf-8")

    _headers_done = False

    def _send(self, status: HTTPStatus, body: bytes, content_type: str, cache: str = "no-store") -> None:
        self._headers_done = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, filters: tuple[str | None, str | None]) -> None:
        app = self.server.app
        first = app.cache.get(*filters)  # a bad filter raises here, before the stream starts
        self._headers_done = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        for name, value in _SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()
        self._event(b"retry: 2000\n\n")
        version, body = app.signal.version, first
        self._event(b"event: snapshot\ndata: " + body + b"\n\n")
        sent_at = written_at = time.monotonic()
        while not app.stopping.is_set() and not app.signal.stopping:
            current = app.signal.wait_for_change(version, _WAIT_SLICE_S)
            now = time.monotonic()
            if current != version or now - sent_at >= app.options.refresh_s:
                version, body = current, app.cache.get(*filters)
                self._event(b"event: snapshot\ndata: " + body + b"\n\n")
                sent_at = written_at = now
            elif now - written_at >= app.options.heartbeat_s:
                self._event(b": keep-alive\n\n")
                written_at = now

    def _event(self, chunk: bytes) -> None:
        self.wfile.write(chunk)
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values and values[0] else None
