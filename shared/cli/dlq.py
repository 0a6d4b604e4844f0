"""`pulse dlq list|replay --db PATH`: inspect and replay dead letters.

`list` writes JSON Lines with personal fields masked (never the sealed body bytes) and
stops quietly when its reader goes away (``| head``); ``--source`` and ``--reason``
must name a real source and reason code (exit 2 otherwise). `replay` goes through the
ingest handler's batch path, takes the store's writer lock, and shows its progress.
Either is written to the access log with the operating-system user as the principal.
"""

from __future__ import annotations

import argparse
import getpass
import os
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
from shared.pipeline.dead_letters import ReasonCode
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.runtime.host import HostSettings
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the `dlq` sub-command with its `list` and `replay` actions, each with its own --help."""
    parser = subparsers.add_parser("dlq", help="inspect and replay dead letters")
    actions = parser.add_subparsers(dest="action", required=True, metavar="list|replay", parser_class=type(parser))
    listing = actions.add_parser("list", help="dead letters as JSON Lines (personal fields masked), newest first")
    _selection_options(listing)
    listing.add_argument("--all", action="store_true", help="resolved ones too (default: open ones)")
    listing.add_argument("--limit", type=_positive, help="at most this many")
    listing.add_argument("--now", help="time stamped on the access record (RFC 3339); default: the clock")
    listing.set_defaults(func=run)
    replay = actions.add_parser("replay", help="send open dead letters through the pipeline again")
    _selection_options(replay)
    add_reference_option(replay)
    replay.add_argument("--now", help="time of the replay (RFC 3339), stamped on each attempt; default: the clock")
    replay.add_argument(
        "--batch-size", type=_positive, default=REPLAY_BATCH_SIZE, help=f"letters per batch ({REPLAY_BATCH_SIZE:,})"
    )
    replay.set_defaults(func=run, all=False, limit=None)


def _selection_options(parser: argparse.ArgumentParser) -> None:
    add_db_option(parser)
    parser.add_argument("--source", type=_source, help=f"only this source ({', '.join(SOURCES)})")
    parser.add_argument("--reason", type=_reason, help="only this reason code, e.g. unknown_currency")
    parser.add_argument("--id", action="append", dest="ids", help="only this dead letter (repeatable)")


def _source(text: str) -> str:
    if text not in SOURCES:
        raise argparse.ArgumentTypeError(f"unknown source {text!r} (one of {', '.join(SOURCES)})")
    return text


def _reason(text: str) -> str:
    codes = [code.value for code in ReasonCode]
    if text not in codes:
        raise argparse.ArgumentTypeError(f"unknown reason code {text!r} (one of {', '.join(codes)})")
    return text


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    """List or replay (then roll up what the replay applied)."""
    now = parse_now(args.now)
    who = f"cli:{getpass.getuser()}"
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    if args.action == "list":  # reading needs no PII key, and never opens a sealed body
        with SqliteDocumentStore(args.db) as store:
            letters = _select(store, args)
            letters = letters[: args.limit] if args.limit else letters
            record_access(store, who, "list", _filters(args), len(letters), now)
        return _write_lines(letters)
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


def _write_lines(letters: list[Document]) -> int:
    out = sys.stdout.buffer
    try:
        for doc in letters:
            out.write(orjson.dumps(masked_letter(doc)) + b"\n")
        out.flush()
    except BrokenPipeError:  # `pulse dlq list | head`: the reader has what it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush does not complain
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
