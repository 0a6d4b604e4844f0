"""`pulse demo`: a live retail chain, the whole pipeline embedded, and the live page at http://127.0.0.1:8000.

The generator produces the chain's seven streams at a realistic rate (``--rate-scale``
multiplies it); ``--speed`` runs a simulated clock ``start + (wall - wall0) * speed``
that both the producer and the pipeline use, so an event is never sent before its
time. Everything lives in two SQLite files (PATH, PATH.eventlog): stop with Ctrl-C and start again to
continue where it stopped. The stream resumes after the last delivery time (the
cursor document, or the log's newest message after a crash): the generator is
deterministic per (seed, hour), so the tail is regenerated and what was sent is
skipped, never sent twice. Events that a fault was holding back (late ones) when
the demo stopped are not sent. Low-rate faults (duplicates, reordering, late and
malformed events) make dead letters and late corrections visible on the page.

Two processes use the machine's two cores: the pipeline's host (ingest and rollups) runs
in one of its own (`shared.runtime.host_process`), this one runs the producer, the page,
the alert rules, the Power BI publisher and the status line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
import webbrowser
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Final, Protocol

from shared.cli._capture import add_capture_output_options, open_exporter
from shared.cli._demo_start import CatchUp, announce_hours
from shared.cli._demo_stream import demo_events
from shared.cli._embedded import add_reference_option, open_session
from shared.cli._freshness import freshness_text
from shared.cli._io import parse_timestamp
from shared.cli.errors import UsageError
from shared.cli.sla import add_config_option, read_config
from shared.engine.progress import AUDIT_CONTAINER
from shared.engine.windows import epoch_ms
from shared.generator import FaultRates, GeneratedEvent, parse_faults
from shared.generator.incidents import Incidents, apply_incidents, split_incidents
from shared.reference.trading import business_day_start
from shared.runtime.alert_runner import AlertRunner
from shared.runtime.backlog import log_backlog
from shared.runtime.demo_clock import CURSOR_ID, SimulatedClock, read_demo_clock
from shared.runtime.file_lock import FileInUseError, exclusive_use
from shared.runtime.host import HostSettings
from shared.runtime.host_process import HostProcess
from shared.runtime.local_log import LocalLog
from shared.runtime.session import EmbeddedSession
from shared.sinks import RowPublisher, build_publisher
from shared.sinks.output_settings import business_calendar
from shared.stores.port import Document
from shared.topology import SOURCES
from shared.web import ChangeSignal, LiveServer, ServerOptions
from shared.web.exposure import OPT_IN_FLAG, UnsafeBind, bind_warning
from shared.web.platform_health import platform_health
from shared.wording import count_of

__all__ = ["DEMO_FAULTS", "SimulatedClock", "data_version", "register", "run"]

DEFAULT_DB: Final = Path("var/pulse-demo.db")
DEMO_FAULTS: Final = "duplicate=0.005,out_of_order=0.01,late=0.01,malformed=0.003"
_REPLAY: Final = timedelta(hours=2)  # > the longest clean delivery delay (cost records: 5-40 min after their hour)
_SAME_ORIGIN: Final = timedelta(hours=30)
"""A restart regenerates from the file's own stream origin when it is this recent (exact, order backlog included)."""
_TICK_S: Final = 0.1
_CAPTURE_EVERY_S: Final = 10.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def register(subparsers: Any) -> None:
    """Add the `demo` sub-command."""
    parser = subparsers.add_parser("demo", help="the main job: a live chain, the pipeline and the live page")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, metavar="PATH", help=f"SQLite store+log ({DEFAULT_DB})")
    add_reference_option(parser)
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second (default 1)")
    parser.add_argument("--rate-scale", type=float, help="multiply event volumes (default 1: a 60-store chain)")
    parser.add_argument("--seed", type=int, help="seed of the generator (default 0; fixed once the file exists)")
    parser.add_argument(
        "--faults",
        help=f"K=V,... or none (default {DEMO_FAULTS}; fixed once the file exists); add `incidents` "
        "(or till_outage=MIN, stalled_partition=MIN, dead_letter_burst=MIN) to make alerts fire",
    )
    parser.add_argument("--start", help="simulated start time, RFC 3339 (a new file only; default: now)")
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument(
        OPT_IN_FLAG, action="store_true", dest="no_sign_in_on_network",
        help="allow a --host other than loopback although the embedded page has no sign-in (prints a warning)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=8000, help="port of the live page (default 8000; 0: any)")
    add_capture_output_options(parser)
    parser.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    parser.add_argument("--open", action="store_true", help="also open the page in the default web browser")
    add_config_option(parser)
    parser.add_argument("--alerts-every", type=float, default=2.0, help="wall seconds between alert evaluations (2)")
    parser.set_defaults(func=run)


class PowerBiFeed(Protocol):
    """What the demo needs of a running Power BI / Fabric sink: its count for the status line, and a stop."""

    def rows_pushed(self) -> int: ...

    def pushes(self, table: str) -> bool: ...

    def close(self) -> None: ...


def start_powerbi_feed(session: EmbeddedSession, clock: Callable[[], datetime]) -> PowerBiFeed | None:
    """The Power BI / Fabric publisher on a daemon thread, or None when no sink is configured.

    "Today" for a region or the chain is taken in the time zone most stores use, the
    same rule as the live page, so tiles and page agree around midnight.
    """
    publisher = build_publisher(
        session.store,
        os.environ,
        calendar=business_calendar(session.pipeline.reference),
        clock=lambda: clock().timestamp(),
    )
    return None if publisher is None else _PublisherThread(publisher)


class _PublisherThread:
    def __init__(self, publisher: RowPublisher) -> None:
        self._publisher = publisher
        self._stop = threading.Event()
        self._thread = threading.Thread(target=publisher.run, args=(self._stop,), name="powerbi", daemon=True)
        self._thread.start()

    def rows_pushed(self) -> int:
        return self._publisher.status().rows_pushed

    def pushes(self, table: str) -> bool:
        return table in self._publisher.routed_tables

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


class DemoProducer:
    """Appends the generator's events to the local log as simulated time reaches their delivery time."""

    def __init__(self, log: LocalLog, events: Iterator[GeneratedEvent]) -> None:
        self._log, self._events = log, events
        self._next: GeneratedEvent | None = next(events, None)
        self.sent = 0

    @property
    def next_delivery_ms(self) -> int | None:
        """Delivery time of the next event to send (None: the stream ended)."""
        return None if self._next is None else self._next.delivery_ms

    def sent_through(self, now: datetime) -> datetime:
        """`now` once everything due is sent; else just before the next event due (a fast-forward in progress)."""
        due = self.next_delivery_ms
        if due is None or due > epoch_ms(now):
            return now
        return _EPOCH + timedelta(milliseconds=due - 1)

    def send_until(self, now: datetime, limit: int = 20_000) -> int:
        """Append up to `limit` events due at `now`, in delivery order, a run of one source per transaction."""
        now_ms, due = epoch_ms(now), list[GeneratedEvent]()
        while self._next is not None and self._next.delivery_ms <= now_ms and len(due) < limit:
            due.append(self._next)
            self._next = next(self._events, None)
        start = 0
        for end in range(1, len(due) + 1):  # runs keep the log a prefix of the stream, even after a crash
            if end == len(due) or due[end].source != due[start].source:
                run = due[start:end]
                self._log.append_many(run[0].source, [(e.partition_key, e.body, e.delivery_time) for e in run])
                start = end
        self.sent += len(due)
        return len(due)


def last_enqueued(log: LocalLog) -> datetime | None:
    """The newest enqueued time in the log (what a crash may have appended after the last cursor write)."""
    newest = None
    for source in SOURCES:
        for partition in range(log.partitions):
            seq = log.last_sequence(source, partition)
            if seq is not None:
                (event,) = log.read(source, partition, seq - 1, 1)
                if event.enqueued_time is not None and (newest is None or event.enqueued_time > newest):
                    newest = event.enqueued_time
    return newest


def run(args: argparse.Namespace) -> int:
    """Run until Ctrl-C, SIGTERM or `--duration`; 0 after a clean stop."""
    _check(args)
    try:
        with exclusive_use(args.db, "`pulse demo`"):
            return _run(args)
    except FileInUseError as error:
        raise UsageError(str(error)) from None


def _run(args: argparse.Namespace) -> int:
    with open_session(argparse.Namespace(**{**vars(args), "seed": args.seed or 0}), demo=True) as session:
        cursor = session.store.read(AUDIT_CONTAINER, CURSOR_ID, CURSOR_ID)
        seed, scale, faults, origin, resume = _resolve(args, cursor, session.log)
        clock_start = _clock_start(args) if resume is None else max(resume, read_demo_clock(session.store) or resume)
        if resume is None:  # a new file: fast-forward the current business day, then continue in real time
            origin = business_day_start(session.pipeline.reference, clock_start)
        clock = SimulatedClock(clock_start, args.speed, held=resume is None)
        # Incidents count from when the demo went live (its --start), not from the fast-forwarded day's start.
        live_from = (
            clock_start if cursor is None else _EPOCH + timedelta(milliseconds=int(cursor.get("live_from_ms", 0)))
        )
        events = with_incidents(
            demo_events(seed, scale, faults, origin, resume), _incidents(args.faults), live_from, session, seed
        )
        producer = DemoProducer(session.log, events)
        host = HostProcess(session.options, HostSettings(seed=seed), clock)  # an interpreter of its own
        changes = ChangeSignal(lambda: data_version(host), interval_s=0.1)
        # The fast-forwarded day is history: health tiles and alerts count the pipeline from when it went live.
        options = ServerOptions(args.host, args.port, clock_rate=args.speed, live_from=live_from)
        try:
            server = LiveServer(
                session.store, clock, reference=session.pipeline.reference, signal=changes, options=options
            )
        except OSError as error:
            raise UsageError(f"cannot serve on {args.host}:{args.port} ({error.strerror}); try --port") from None
        stop = threading.Event()
        previous = _on_signals(stop)
        powerbi = start_powerbi_feed(session, clock)
        alerts = AlertRunner(
            session.store,
            read_config(args.config),
            session.pipeline.reference,
            clock,
            powerbi=powerbi is not None and powerbi.pushes("alerts"),
            interval_s=args.alerts_every,
            live_from=live_from,
        )
        cursor = {k: v for k, v in (cursor or {"origin": _stamp(origin), "sent": 0, "runs": 0}).items() if k[0] != "_"}
        cursor.update(seed=seed, scale=scale, faults=asdict(faults), runs=int(cursor["runs"]) + 1)
        cursor.update(stream_origin_ms=epoch_ms(origin))
        cursor.setdefault("live_from_ms", epoch_ms(live_from))
        sent_before = int(cursor["sent"])
        status = StatusLine(session, clock, args.speed, powerbi, live_from)
        capture = open_exporter(args, session.log, args.db)
        host.start()
        changes.start()
        server.start()
        print(f"Retail Pulse demo: {server.url} (data in {args.db}; Ctrl-C to stop)", flush=True)
        print(f"Open {server.url} in a web browser to see the live page.", flush=True)
        if args.open:
            webbrowser.open(server.url)
        announce_hours(session.pipeline.reference, clock(), args.db)
        catch_up = CatchUp(origin, clock(), host) if resume is None else None
        if catch_up is None:
            clock.run()
        started, last_save, last_capture, now = time.monotonic(), 0.0, time.monotonic(), clock()
        try:
            while not stop.is_set():
                now = clock()
                producer.send_until(now if catch_up is None else min(now, catch_up.target))
                if catch_up is not None and catch_up.show(producer):
                    catch_up = None  # the status line takes over
                    clock.run()  # live from --start (or the moment the demo began), not from the fast-forward's end
                if catch_up is None and not alerts.started:
                    alerts.start()  # never during the fast-forward: the pipeline is behind the clock then
                if time.monotonic() - last_save >= 1.0:
                    _save_cursor(session, cursor, producer.sent_through(now), now, sent_before + producer.sent)
                    last_save = time.monotonic()
                if capture is not None and time.monotonic() - last_capture >= _CAPTURE_EVERY_S:
                    capture.export()  # the demo's raw zone, in Event Hubs Capture's layout
                    last_capture = time.monotonic()
                if catch_up is None:
                    status.show(host, producer.sent)
                if args.duration is not None and time.monotonic() - started >= args.duration:
                    break
                if not host.running:
                    break  # the host's process stopped on an error: stop() below raises it, in words
                stop.wait(_TICK_S)
        finally:
            _restore_signals(previous)
            alerts.stop()
            server.close()
            changes.stop()
            stats = host.stop(timeout_s=15.0)
            _save_cursor(session, cursor, producer.sent_through(now), now, sent_before + producer.sent)
            if capture is not None:
                capture.export()
                capture.close()
            if powerbi is not None:
                powerbi.close()
            status.done(stats.received, stats.dead_lettered, stats.duplicates, producer.sent)
    return 0


def _check(args: argparse.Namespace) -> None:
    if not 0 < args.speed <= 10_000:
        raise UsageError(f"--speed must be above 0 and at most 10000, got {args.speed}")
    if args.rate_scale is not None and not 0 < args.rate_scale <= 100:
        raise UsageError(f"--rate-scale must be above 0 and at most 100, got {args.rate_scale}")
    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration must be above 0, got {args.duration}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    try:
        warning = bind_warning(args.host, args.no_sign_in_on_network)
    except UnsafeBind as exc:
        raise UsageError(str(exc)) from None
    if warning is not None:
        print(warning, file=sys.stderr, flush=True)
    _faults(args.faults)  # refuse bad options before the file is created
    read_config(args.config)
    if not 0 < args.alerts_every <= 3600:
        raise UsageError(f"--alerts-every must be above 0 and at most 3600, got {args.alerts_every}")
    if args.start:
        parse_timestamp("--start", args.start)


def _faults(text: str | None) -> FaultRates:
    try:
        rest, _ = split_incidents(text)
        return FaultRates() if rest == "none" else parse_faults(rest or DEMO_FAULTS)
    except ValueError as error:
        raise UsageError(f"--faults: {error}") from None


def _incidents(text: str | None) -> Incidents:
    """The alert-making incidents of ``--faults`` (see `shared.generator.incidents`); they apply to this run."""
    try:
        return split_incidents(text)[1]
    except ValueError as error:
        raise UsageError(f"--faults: {error}") from None


def with_incidents(
    events: Iterator[GeneratedEvent], incidents: Incidents, origin: datetime, session: EmbeddedSession, seed: int
) -> Iterator[GeneratedEvent]:
    """`events` with the incidents applied; the till outage hits the region of the reference data's first store."""
    if not incidents.any():
        return events
    stores = list(session.pipeline.reference.stores.members())
    region = stores[0].region if stores else ""
    outage = frozenset(s.store_id for s in stores if s.region == region)
    return apply_incidents(events, incidents, epoch_ms(origin), outage, session.log.partitions, seed)


def _resolve(
    args: argparse.Namespace, cursor: Document | None, log: LocalLog
) -> tuple[int, float, FaultRates, datetime, datetime | None]:
    """(seed, scale, faults, stream origin, resume after; None for a new file): an existing file keeps its stream."""
    faults = _faults(args.faults)
    if cursor is None:  # the origin becomes the business day's start (`run`)
        return args.seed or 0, args.rate_scale or 1.0, faults, _clock_start(args), None
    given = {"--seed": (args.seed, cursor["seed"]), "--rate-scale": (args.rate_scale, cursor["scale"])}
    given["--faults"] = (None if args.faults is None else asdict(faults), cursor["faults"])
    for option, (value, stored) in given.items():
        if value is not None and value != stored:
            raise UsageError(f"{args.db} continues a demo with {option} {stored}; leave it out or use another --db")
    if args.start:
        raise UsageError(f"{args.db} continues a demo; --start applies to a new file only")
    resume = _EPOCH + timedelta(milliseconds=int(cursor["through_ms"]))
    crashed = last_enqueued(log)
    if crashed is not None and crashed > resume:
        resume = crashed
    stream_origin = _EPOCH + timedelta(milliseconds=int(cursor.get("stream_origin_ms", 0)))
    origin = stream_origin if resume - stream_origin <= _SAME_ORIGIN else max(resume - _REPLAY, stream_origin)
    return int(cursor["seed"]), float(cursor["scale"]), FaultRates(**cursor["faults"]), origin, resume


def _clock_start(args: argparse.Namespace) -> datetime:
    return (parse_timestamp("--start", args.start) if args.start else datetime.now(UTC)).astimezone(UTC)


def _save_cursor(session: EmbeddedSession, cursor: Document, through: datetime, now: datetime, sent: int) -> None:
    """Everything with a delivery time up to `through` is in the log (ttl -1: the audit container expires others).

    `now` is the simulated clock (ahead of `through` while a fast-forward is still sending): a restart continues it.
    """
    cursor.update(id=CURSOR_ID, pk=CURSOR_ID, ttl=-1, through_ms=epoch_ms(through), through=_stamp(through), sent=sent)
    cursor.update(clock_ms=epoch_ms(now))
    session.store.upsert(AUDIT_CONTAINER, cursor)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def data_version(host: HostProcess) -> tuple[int, int]:
    """What the page's change signal watches: messages received and rollup documents written (one report)."""
    stats = host.stats()
    return stats.received, stats.rollup_documents_written


def _on_signals(stop: threading.Event) -> dict[int, Any]:
    """SIGINT / SIGTERM ask for a clean stop; a second one stops at once."""

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


class StatusLine:
    """One line on stderr, refreshed in place on a terminal (every 10 s as a new line otherwise)."""

    def __init__(
        self,
        session: EmbeddedSession,
        clock: Callable[[], datetime],
        speed: float,
        powerbi: PowerBiFeed | None,
        live_from: datetime | None = None,
    ) -> None:
        self._session, self._clock, self._speed, self._powerbi = session, clock, speed, powerbi
        self._live_from = live_from
        self._tty = sys.stderr.isatty()
        self._rates: deque[tuple[float, int]] = deque(maxlen=50)
        self._shown = self._health_at = float("-inf")
        self._lag = ""

    def show(self, host: HostProcess, sent: int) -> None:
        mono = time.monotonic()
        self._rates.append((mono, sent))
        if mono - self._shown < (0.5 if self._tty else 10.0):
            return
        self._shown = mono
        if mono - self._health_at >= 2.0:
            now = self._clock()
            health = platform_health(self._session.store, now, self._live_from)
            backlog = log_backlog(self._session.log, self._session.checkpoints)
            self._lag = freshness_text(health, backlog, now, self._speed)
            self._health_at = mono
        (t0, n0), (t1, n1) = self._rates[0], self._rates[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0
        stats = host.stats()
        pushed = (
            "Power BI: not configured" if self._powerbi is None else f"Power BI {self._powerbi.rows_pushed():,} rows"
        )
        line = (
            f"{self._clock():%Y-%m-%d %H:%M:%S} UTC x{self._speed:g} | {rate:5.1f} ev/s | {self._lag} | "
            f"{stats.received:,} in, {count_of(stats.dead_lettered, 'dead letter')}, "
            f"{stats.duplicates:,} dup | {pushed}"
        )
        sys.stderr.write(f"\r{line}\x1b[K" if self._tty else line + "\n")
        sys.stderr.flush()

    def done(self, received: int, dead: int, duplicates: int, sent: int) -> None:
        if self._tty:
            sys.stderr.write("\n")
        sys.stderr.write(
            f"stopped: {count_of(sent, 'event')} sent and {received:,} received this run "
            f"({count_of(dead, 'dead letter')}, {count_of(duplicates, 'duplicate')}); run again to continue\n"
        )
        sys.stderr.flush()
