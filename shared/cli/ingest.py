"""`pulse ingest --source SRC --db PATH [--reference DIR] FILE...`: the whole pipeline embedded, until quiet.

The hosts (ingest and rollups) run in processes of their own (`HostPool`: `--hosts`,
by default one per core, each consuming its own partitions of the log, the first also
the change feeds) while this process appends the files to the local log and exports
the raw zone, so the work spreads over every core (issue 14: `pulse ingest` beside
Bytewax). The numbers are the same as one process's: the hosts consume the log as it
grows, and end only after the last append and two rounds with nothing to do.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.cli._capture import add_capture_output_options, open_exporter
from shared.cli._embedded import add_db_option, add_reference_option, open_session
from shared.cli._hints import time_hint
from shared.cli._io import parse_now, parse_source, print_json, read_lines
from shared.cli._lock import writer_lock
from shared.cli._progress import ProgressLine
from shared.cli._resume import InputReader
from shared.cli.errors import UsageError
from shared.engine.progress import AUDIT_CONTAINER
from shared.pipeline.routing import partition_key
from shared.runtime.consumer import ConsumerSettings
from shared.runtime.faults import DeliveryFaults
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings
from shared.runtime.host_pool import HostPool
from shared.runtime.stats import RuntimeStats
from shared.stores.port import DocumentStore

__all__ = ["register", "run"]

_COUNTS = ("received", "accepted", "dead_lettered", "duplicates", "documents_written", "batches")


def register(subparsers: Any) -> None:
    """Add the `ingest` sub-command."""
    parser = subparsers.add_parser("ingest", help="run the whole pipeline embedded over JSON Lines files")
    parser.add_argument("--source", required=True, help="txn, traffic, fulfillment, ingest, ops, gov or cost")
    add_db_option(parser)
    add_reference_option(parser)
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines, one raw event body per line")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the local log (default 4)")
    parser.add_argument("--batch-size", type=int, default=1000, help="max events per batch (default 1000)")
    parser.add_argument(
        "--hosts",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="host processes, each consuming its own partitions (default: the cores, at most 2)",
    )
    parser.add_argument("--now", help="processing time (RFC 3339) for every batch; default: the clock")
    parser.add_argument("--redeliver-rate", type=float, default=0.0, help="fault: redeliver a handled batch (0..1)")
    parser.add_argument("--crash-rate", type=float, default=0.0, help="fault: crash between two writes (0..1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fault injection")
    parser.add_argument(
        "--again", action="store_true", help="append every line even if an earlier run appended it (re-send test)"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="give up if not quiet after this many seconds")
    add_capture_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Append the files to the local log, consume until quiet, print the summary of this run."""
    source = parse_source(args.source)
    if args.partitions < 1 or args.batch_size < 1 or args.hosts < 1:
        raise UsageError("--partitions, --batch-size and --hosts must be >= 1")
    for rate in (args.redeliver_rate, args.crash_rate):
        if not 0.0 <= rate < 1.0:
            raise UsageError(f"fault rates must be within [0, 1), got {rate}")
    fixed_now = parse_now(args.now) if args.now else None
    for path in args.files:  # fail before touching the store (not on stdin: that would eat its first line)
        if path != "-":
            next(iter(read_lines(path)), None)
    clock = _Clock(fixed_now)
    line = ProgressLine()

    def progress(stats: RuntimeStats) -> None:
        line.update(
            f"ingest: {stats.received:,} received, {stats.accepted:,} accepted, {stats.dead_lettered:,} dead-lettered,"
            f" {stats.duplicates:,} duplicates, {stats.feed_pages:,} rollup pages"
        )

    settings = HostSettings(
        sources=(source,),
        consumer=ConsumerSettings(max_batch_size=args.batch_size, faults=DeliveryFaults(args.redeliver_rate)),
        seed=args.seed,
    )
    with (
        writer_lock(args.db),
        open_session(args, partitions=args.partitions, crash_rate=args.crash_rate) as session,
    ):
        tune_gc_for_throughput()
        before = _totals(session.store, source)
        started = time.monotonic()
        host = HostPool(session.options, settings, clock, hosts=args.hosts, until_quiet_s=args.timeout)
        host.start()  # they consume what is appended from now on
        try:
            appended, resumed = 0, {}
            for path in args.files:
                reader = InputReader(session.log, source, path, again=args.again)
                reader.report()
                if reader.skipped_lines:
                    resumed[path] = reader.skipped_lines + 1
                for chunk, mark in reader.chunks(10_000):
                    now = clock()
                    session.log.append_many(source, [(partition_key(source, body), body, now) for body in chunk], mark)
                    appended += len(chunk)
                    progress(host.stats())
                    if not host.running:  # one stopped on an error before the input was complete
                        host.finish()  # raises it
            exporter = open_exporter(args, session.log, args.db)
            captured = exporter.export().messages if exporter is not None else 0
            if exporter is not None:
                exporter.close()
            stats = host.finish(progress, settings.progress_interval_s)
        except BaseException:  # Ctrl-C while appending or while the host drains, an error of either
            host.stop(timeout_s=30.0)  # batches in flight finish and are checkpointed; their errors are not told
            raise
        elapsed = time.monotonic() - started
        after = _totals(session.store, source)
    line.done()
    summary = _summary(source, appended, before, after, stats, elapsed) | {"captured": captured}
    if resumed:
        summary["resumed_at_line"] = resumed
    hint = time_hint(summary["received"], summary["dead_letters_by_reason"], fixed_now is not None)
    if hint is not None:
        summary["hint"] = hint
        sys.stderr.write(f"pulse ingest: {hint}\n")
    missing = appended - summary["received"]
    if missing > 0:  # every appended message is received once, as accepted, dead letter or duplicate
        summary["not_received"] = missing
        sys.stderr.write(
            f"pulse ingest: {missing:,} of the {appended:,} messages appended were not received by the store"
            " (taken for already applied?): nothing is counted for them; keep the store and its .eventlog together\n"
        )
    print_json(summary)
    return 1 if missing > 0 else 0


@dataclass(frozen=True, slots=True)
class _Clock:
    """Processing time for every batch: `--now`, else the wall clock (pickles into the host process)."""

    fixed: datetime | None

    def __call__(self) -> datetime:
        return self.fixed or parse_now(None)


def _totals(store: DocumentStore, source: str) -> Counter[str]:
    totals: Counter[str] = Counter()
    for doc in store.query(AUDIT_CONTAINER, where={"source": source}):
        if doc["id"].startswith("progress|"):
            totals.update({name: int(doc.get(name, 0)) for name in _COUNTS})
    return totals


def _summary(
    source: str, appended: int, before: Counter[str], after: Counter[str], stats: RuntimeStats, elapsed: float
) -> dict[str, Any]:
    delta = {name: after[name] - before[name] for name in _COUNTS}
    received = delta["received"]
    return {
        "source": source,
        "appended": appended,
        "received": received,
        "accepted": delta["accepted"],
        "dead_lettered": delta["dead_lettered"],
        "duplicates": delta["duplicates"],
        "dead_letters_by_reason": dict(sorted(stats.dead_letters_by_reason.items())),
        "documents_written": delta["documents_written"],
        "writes_per_event": round(delta["documents_written"] / received, 4) if received else None,
        "batches": stats.batches,
        "redeliveries": stats.redeliveries,
        "crashes": stats.crashes,
        "retries": stats.retries,
        "rollup_pages": stats.feed_pages,
        "rollup_documents_written": stats.rollup_documents_written,
        "elapsed_s": round(elapsed, 3),
        "events_per_s": round(received / elapsed) if elapsed > 0 else None,
    }
