"""`pulse dlq list|replay --db PATH`: inspect and replay dead letters."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import orjson

from shared.cli._embedded import add_db_option, add_reference_option, open_session
from shared.cli._io import parse_now, print_json
from shared.cli._lock import writer_lock
from shared.cli._progress import ProgressLine
from shared.cli.errors import UsageError
from shared.handlers.dead_letters import REPLAY_BATCH_SIZE, ReplayResult, list_dead_letters, replay_dead_letters
from shared.handlers.dlq_access import masked_letter, record_access
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, DocumentStore

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the `dlq` sub-command."""
    parser = subparsers.add_parser("dlq", help="inspect and replay dead letters")
    parser.add_argument("action", choices=["list", "replay"])
    add_db_option(parser)
    add_reference_option(parser)
    parser.add_argument("--source", help="only this source")
    parser.add_argument("--reason", help="only this reason code, e.g. unknown_currency")
    parser.add_argument("--id", action="append", dest="ids", help="only this dead letter (repeatable)")
    parser.add_argument("--all", action="store_true", help="list: resolved ones too")
    parser.add_argument("--limit", type=int, help="list: at most this many")
    parser.add_argument("--now", help="time of the replay (RFC 3339), stamped on each attempt; default: the clock")
    parser.add_argument(
        "--batch-size", type=int, default=REPLAY_BATCH_SIZE, help=f"replay: letters per batch ({REPLAY_BATCH_SIZE:,})"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """List (JSON Lines, personal fields masked, no body bytes) or replay, then roll up what the replay applied.

    Either is written to the access log with the operating-system user as the principal.
    """
    now = parse_now(args.now)
    who = f"cli:{getpass.getuser()}"
    if args.action == "list":  # reading needs no PII key, and never opens a sealed body
        if not args.db.is_file():
            raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
        with SqliteDocumentStore(args.db) as store:
            letters = _select(store, args)
            letters = letters[: args.limit] if args.limit else letters
            record_access(store, who, "list", _filters(args), len(letters), now)
        out = sys.stdout.buffer
        for doc in letters:
            out.write(orjson.dumps(masked_letter(doc)) + b"\n")
        out.flush()
        return 0
    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    line = ProgressLine()

    def progress(result: ReplayResult) -> None:
        rate = result.events_per_s
        line.update(
            f"replay: {result.replayed:,}/{result.selected:,} replayed, {result.resolved:,} resolved,"
            f" {result.still_failing:,} still failing" + (f", {rate:,.0f} events/s" if rate else "")
        )

    with writer_lock(args.db), open_session(args, must_exist=True) as session:
        letters = _select(session.store, args, newest_first=False)
        record_access(session.store, who, "replay", _filters(args), len(letters), now)  # before: a failed one too
        tune_gc_for_throughput()  # the letters live for the whole run: out of the collector's sight
        writer, handler, size = session.handler_store, session.pipeline.ingest, args.batch_size
        result = replay_dead_letters(writer, handler, letters, now, batch_size=size, on_progress=progress)
        line.done()
        session.host(HostSettings(sources=()), lambda: now).run_until_quiet()  # roll up what was applied
    summary = result.summary()
    summary["still_failing_by_reason"] = summary.pop("by_reason")
    print_json(summary)
    return 0


def _select(store: DocumentStore, args: argparse.Namespace, *, newest_first: bool = True) -> list[Document]:
    status = None if args.all else "open"
    letters = list_dead_letters(store, source=args.source, reason=args.reason, status=status, newest_first=newest_first)
    if args.ids:
        wanted = set(args.ids)
        letters = [d for d in letters if d["id"] in wanted]
    return letters


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"source": args.source, "reason": args.reason, "ids": args.ids, "all": args.all or None}
