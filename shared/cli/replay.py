"""`pulse replay --from-capture URL --hub SRC (--db PATH | --into PATH | --store URL)`: backfill from the raw zone."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from shared.capture.avro_format import CaptureDamaged
from shared.capture.reader import captured_blobs, captured_messages
from shared.cli._capture import add_capture_options, capture_range, damaged_message, open_capture, stored_partitions
from shared.cli._embedded import add_reference_option, open_session
from shared.cli._io import print_json
from shared.cli.errors import UsageError
from shared.engine.progress import read_progress
from shared.handlers.capture_replay import ReplayCounts, ReplayGap, replay_messages
from shared.handlers.ports import BatchHandler, BatchOutcome
from shared.pipeline.raw import RawEvent
from shared.runtime.host import HostSettings
from shared.runtime.retry import RetryPolicy, retry_transient
from shared.stores.port import DocumentStore
from shared.topology import Source

__all__ = ["register", "run"]

_RETRY = RetryPolicy(max_attempts=20)


def register(subparsers: Any) -> None:
    """Add the `replay` sub-command."""
    parser = subparsers.add_parser(
        "replay", help="backfill: feed captured messages (Event Hubs Capture, Avro) through the ingest handler"
    )
    add_capture_options(parser)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", type=_path, metavar="PATH", help="replay into this embedded store (live or not)")
    target.add_argument("--into", type=_path, metavar="PATH", help="build a fresh embedded store beside the live one")
    target.add_argument("--store", metavar="URL", help="replay into a Cosmos DB store (cosmos://... or https://...)")
    add_reference_option(parser)
    parser.add_argument("--batch-size", type=int, default=1000, help="messages per batch (default 1000)")
    parser.add_argument("--skip-damaged", action="store_true", help="report a damaged blob and go on")
    parser.add_argument(
        "--allow-gaps", action="store_true", help="apply past messages that are neither applied nor captured (lost)"
    )
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds the rollups may take to settle")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source, wanted = capture_range(args)
    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    if args.into is not None and args.into.exists():
        raise UsageError(f"--into {args.into}: exists; --into builds a fresh store (use --db to replay into it)")
    capture = open_capture(args.from_capture)
    blobs = captured_blobs(capture, wanted)
    damaged: list[CaptureDamaged] = []
    progress = _Progress(len(blobs))
    messages = captured_messages(
        capture, wanted, skip_damaged=args.skip_damaged, on_damaged=damaged.append, on_blob=progress.blob
    )
    started = time.monotonic()
    try:
        if args.store:
            counts = _into_cosmos(args, source, messages, progress)
        else:
            counts = _into_embedded(args, source, messages, progress)
    except CaptureDamaged as exc:
        raise UsageError(damaged_message(exc)) from None
    except ReplayGap as exc:
        raise UsageError(str(exc)) from None
    progress.finish()
    elapsed = time.monotonic() - started
    print_json(
        {
            "source": source,
            "blobs": len(blobs),
            "damaged_blobs": [{"blob": d.blob, "record": d.position, "cause": d.cause} for d in damaged],
            "received": counts.received,
            "accepted": counts.accepted,
            "dead_lettered": counts.dead_lettered,
            "duplicates": counts.duplicates,
            "already_applied": counts.already_applied,
            "dead_letters_by_reason": dict(sorted(counts.dead_letters_by_reason.items())),
            "batches": counts.batches,
            "elapsed_s": round(elapsed, 3),
            "events_per_s": round(counts.received / elapsed) if elapsed > 0 else None,
        }
    )
    return 0


def _into_embedded(
    args: argparse.Namespace, source: Source, messages: Iterable[RawEvent], progress: _Progress
) -> ReplayCounts:
    db = args.db or args.into
    session_args = argparse.Namespace(db=db, reference=args.reference, seed=0)
    with open_session(session_args, partitions=stored_partitions(db)) as session:
        counts = _feed(args, source, messages, session.pipeline.ingest, session.store, progress)
        session.host(HostSettings(sources=()), _utcnow).run_until_quiet(timeout_s=args.timeout)  # the rollups
    return counts


def _into_cosmos(
    args: argparse.Namespace, source: Source, messages: Iterable[RawEvent], progress: _Progress
) -> ReplayCounts:
    import os

    from shared.bootstrap import MissingSettingError, build_pipeline, pii_key_from
    from shared.stores.factory import open_store

    try:
        key = pii_key_from(os.environ, demo=False)
        store = open_store(args.store)
    except (MissingSettingError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    try:
        pipeline = build_pipeline(store, key, args.reference)
        # In Azure the Function App's change-feed triggers roll up what the replay writes.
        return _feed(args, source, messages, pipeline.ingest, store, progress)
    finally:
        store.close()


def _feed(
    args: argparse.Namespace,
    source: Source,
    messages: Iterable[RawEvent],
    handler: BatchHandler,
    store: DocumentStore,
    progress: _Progress,
) -> ReplayCounts:
    def applied_through(partition: str) -> int | None:
        doc = read_progress(store, source, partition)
        return None if doc is None else int(doc["last_seq"])

    def retried(source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
        # A live consumer of the same partition may write its progress in between: redo the batch.
        return retry_transient(lambda: handler(source, raws, now), _RETRY, time.sleep, lambda n, e: None)

    return replay_messages(
        source,
        messages,
        retried,
        batch_size=args.batch_size,
        fallback_now=_utcnow,
        applied_through=None if args.allow_gaps else applied_through,
        on_batch=progress,
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _path(value: str) -> Any:
    from pathlib import Path

    return Path(value)


class _Progress:
    """Events/s and an ETA by blobs read; `\\r` updates on a terminal, a plain line every 5 s in logs."""

    def __init__(self, blobs: int) -> None:
        self._blobs, self._started, self._last = blobs, time.monotonic(), 0.0
        self._opened = 0
        self._tty = sys.stderr.isatty()

    def blob(self, index: int) -> None:
        self._opened = index

    def __call__(self, counts: ReplayCounts) -> None:
        now = time.monotonic()
        if now - self._last < (0.5 if self._tty else 5.0):
            return
        self._last = now
        elapsed = now - self._started
        rate = counts.received / elapsed if elapsed > 0 else 0.0
        done = max(self._opened, 1)
        eta = elapsed / done * (self._blobs - done) if self._blobs > done else 0.0
        line = (
            f"  replay: blob {self._opened + 1:,}/{self._blobs:,}, {counts.received:,} messages,"
            f" {rate:,.0f} events/s, ETA {eta:,.0f} s"
        )
        sys.stderr.write(f"\r{line}" if self._tty else f"{line}\n")
        sys.stderr.flush()

    def finish(self) -> None:
        if self._tty:
            sys.stderr.write("\n")
