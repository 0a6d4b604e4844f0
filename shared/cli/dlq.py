"""`pulse dlq list|replay --db PATH`: inspect and replay dead letters."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

import orjson

from shared.cli._embedded import add_db_option, add_reference_option, open_session
from shared.cli._io import parse_now, print_json
from shared.cli.errors import UsageError
from shared.handlers.dead_letters import list_dead_letters, replay_dead_letters
from shared.handlers.dlq_access import masked_letter, record_access
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
    parser.add_argument("--now", help="processing time of a replay (RFC 3339); default: the clock")
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
    with open_session(args, must_exist=True) as session:
        letters = _select(session.store, args)
        ingest = session.pipeline.ingest
        record_access(session.store, who, "replay", _filters(args), len(letters), now)  # before: a failed one too
        result = replay_dead_letters(session.handler_store, ingest, letters, now, ingest.sealer)
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


def _select(store: DocumentStore, args: argparse.Namespace) -> list[Document]:
    letters = list_dead_letters(store, source=args.source, reason=args.reason, status=None if args.all else "open")
    if args.ids:
        wanted = set(args.ids)
        letters = [d for d in letters if d["id"] in wanted]
    return letters


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"source": args.source, "reason": args.reason, "ids": args.ids, "all": args.all or None}
