"""`pulse dlq list|replay --db PATH`: inspect and replay dead letters.

`list` writes JSON Lines and stops quietly when its reader goes away (``| head``);
``--source`` and ``--reason`` must name a real source and reason code (exit 2 otherwise).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import orjson

from shared.cli._embedded import add_db_option, add_reference_option, open_session
from shared.cli._io import parse_now, print_json
from shared.cli.errors import UsageError
from shared.handlers.dead_letters import list_dead_letters, replay_dead_letters
from shared.pipeline.dead_letters import ReasonCode
from shared.runtime.host import HostSettings
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import Document, DocumentStore
from shared.topology import SOURCES

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the `dlq` sub-command with its `list` and `replay` actions, each with its own --help."""
    parser = subparsers.add_parser("dlq", help="inspect and replay dead letters")
    actions = parser.add_subparsers(dest="action", required=True, metavar="list|replay", parser_class=type(parser))
    listing = actions.add_parser("list", help="dead letters as JSON Lines (raw bytes as base64), newest first")
    _selection_options(listing)
    listing.add_argument("--all", action="store_true", help="resolved ones too (default: open ones)")
    listing.add_argument("--limit", type=_positive, help="at most this many")
    listing.set_defaults(func=run, now=None)
    replay = actions.add_parser("replay", help="send open dead letters through the pipeline again")
    _selection_options(replay)
    add_reference_option(replay)
    replay.add_argument("--now", help="processing time of a replay (RFC 3339); default: the clock")
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
    """List (JSON Lines, raw bytes as base64) or replay, then roll up what the replay applied."""
    now = parse_now(args.now)
    if args.action == "list":  # reading needs no PII key
        if not args.db.is_file():
            raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
        with SqliteDocumentStore(args.db) as store:
            letters = _select(store, args)
        return _write_lines(letters[: args.limit] if args.limit else letters)
    with open_session(args, must_exist=True) as session:
        letters = _select(session.store, args)
        result = replay_dead_letters(session.handler_store, session.pipeline.ingest, letters, now)
        session.host(HostSettings(sources=()), lambda: now).run_until_quiet()  # roll up what was applied
    print_json(
        {
            "replayed": result.replayed,
            "resolved": result.resolved,
            "still_failing": result.still_failing,
            "still_failing_by_reason": result.by_reason,
        }
    )
    return 0


def _write_lines(letters: list[Document]) -> int:
    out = sys.stdout.buffer
    try:
        for doc in letters:
            out.write(orjson.dumps({k: v for k, v in doc.items() if not k.startswith("_")}) + b"\n")
        out.flush()
    except BrokenPipeError:  # `pulse dlq list | head`: the reader has what it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush does not complain
    return 0


def _select(store: DocumentStore, args: argparse.Namespace) -> list[Document]:
    letters = list_dead_letters(store, source=args.source, reason=args.reason, status=None if args.all else "open")
    if args.ids:
        wanted = set(args.ids)
        letters = [d for d in letters if d["id"] in wanted]
    return letters
