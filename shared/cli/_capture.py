"""Options and helpers shared by `pulse replay` and `pulse reconcile` (the raw zone)."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from shared.capture.avro_format import CaptureDamaged
from shared.capture.port import CaptureStore
from shared.capture.reader import CaptureRange
from shared.cli._io import parse_source, parse_timestamp
from shared.cli.errors import UsageError
from shared.runtime.capture_export import CaptureExporter
from shared.runtime.local_log import LocalLog
from shared.runtime.log_files import log_path
from shared.topology import HUB_NAMES, Source

__all__ = [
    "add_capture_options",
    "add_capture_output_options",
    "capture_range",
    "damaged_message",
    "default_capture_dir",
    "open_capture",
    "open_exporter",
    "stored_partitions",
]


def add_capture_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-capture",
        required=True,
        metavar="URL",
        help="the raw zone: a folder (default demo capture var/capture), https://ACCOUNT.blob.core.windows.net/C "
        "(Entra ID) or http://127.0.0.1:PORT/devstoreaccount1/C (Azurite)",
    )
    parser.add_argument("--hub", required=True, metavar="SOURCE", help="the source whose hub to read, e.g. txn")
    parser.add_argument("--hub-name", help="the hub's name in the capture paths (default pulse-SOURCE)")
    parser.add_argument("--namespace", help="only this Event Hubs namespace (first path segment)")
    parser.add_argument("--partition", help="only this partition id")
    parser.add_argument("--from", dest="range_from", help="first enqueued time (inclusive, RFC 3339)")
    parser.add_argument("--to", dest="range_to", help="end enqueued time (exclusive, RFC 3339)")


def capture_range(args: argparse.Namespace) -> tuple[Source, CaptureRange]:
    source = parse_source(args.hub)
    start = parse_timestamp("--from", args.range_from) if args.range_from else None
    end = parse_timestamp("--to", args.range_to) if args.range_to else None
    if start is not None and end is not None and end <= start:
        raise UsageError("--to must be after --from")
    hub = args.hub_name or HUB_NAMES[source]
    return source, CaptureRange(hub, args.namespace, args.partition, start, end)


def open_capture(url: str) -> CaptureStore:
    # Imported here: a folder capture needs no Azure SDK.
    from shared.sources.capture_blob import open_capture_store

    try:
        store = open_capture_store(url)
    except ValueError as exc:
        raise UsageError(f"--from-capture: {exc}") from None
    if isinstance(url, str) and "://" not in url and not Path(url).is_dir():
        raise UsageError(f"--from-capture {url}: no such folder")
    return store


def damaged_message(damaged: CaptureDamaged) -> str:
    return f"{damaged} (pass --skip-damaged to skip the rest of that blob and go on)"


def stored_partitions(db: Path, default: int = 4) -> int:
    """The partition count of the local log of `db` (a replay must open it with the same count).

    The log's own file, else `db` itself (a single-file store, migrated when the session opens).
    """
    for file in (log_path(db), db):
        if not file.is_file():
            continue
        try:
            with sqlite3.connect(f"file:{file}?mode=ro", uri=True) as conn:
                row = conn.execute("SELECT value FROM log_meta WHERE key = 'partitions'").fetchone()
        except sqlite3.Error:
            continue
        if row:
            return int(row[0])
    return default


def add_capture_output_options(parser: argparse.ArgumentParser) -> None:
    """`--capture-url` / `--no-capture`: where the embedded capture of the local log goes."""
    parser.add_argument(
        "--capture-url",
        metavar="URL",
        help="where to keep the capture of what the log accepted (Capture's layout, Avro): a folder or an Azurite "
        "container URL; default: a folder beside --db (DB-capture/)",
    )
    parser.add_argument("--no-capture", action="store_true", help="keep no capture")


def default_capture_dir(db: Path) -> Path:
    """The embedded capture's default folder: ``var/pulse.db`` -> ``var/pulse-capture``."""
    return db.with_name(f"{db.stem}-capture")


def open_exporter(args: argparse.Namespace, log: LocalLog, db: Path) -> CaptureExporter | None:
    """The exporter the options ask for, or None with `--no-capture`."""
    if getattr(args, "no_capture", False):
        return None
    url = getattr(args, "capture_url", None) or str(default_capture_dir(db))
    from shared.sources.capture_blob import open_capture_store

    try:
        store = open_capture_store(url, create=True)
    except ValueError as exc:
        raise UsageError(f"--capture-url: {exc}") from None
    return CaptureExporter(log, log.path, store)  # the capture marks live in the log's file
