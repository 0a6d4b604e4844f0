"""`pulse validate --source SRC FILE`: validation only, a JSON summary on stdout."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

import orjson

from shared.cli._io import chunks, parse_now, parse_source, print_json, read_lines
from shared.pipeline.limits import Limits
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch

__all__ = ["register", "run"]

BATCH_SIZE = 1000


def register(subparsers: Any) -> None:
    """Add the `validate` sub-command."""
    parser = subparsers.add_parser("validate", help="validate a JSON Lines file against the contract")
    parser.add_argument("--source", required=True, help="txn, traffic, fulfillment, ingest, ops, gov or cost")
    parser.add_argument("file", help="JSON Lines, one raw event body per line ('-' for stdin)")
    parser.add_argument("--now", help="processing time (RFC 3339) for lateness checks; default: the clock")
    parser.add_argument("--dead-letters", metavar="OUT", help="also write the dead letters as JSON Lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the file in batches; exit 0 whatever was dead-lettered."""
    source = parse_source(args.source)
    now = parse_now(args.now)
    limits = Limits()
    accepted = 0
    reasons: Counter[str] = Counter()
    out = open(args.dead_letters, "wb") if args.dead_letters else None  # noqa: SIM115
    try:
        for offset, chunk in enumerate(chunks(read_lines(args.file), BATCH_SIZE)):
            raws = [RawEvent(body, sequence_number=offset * BATCH_SIZE + i) for i, body in enumerate(chunk)]
            result = validate_batch(source, raws, now, limits)
            accepted += len(result.accepted)
            for letter in result.dead_letters:
                reasons[letter.reason_code.value] += 1
                if out is not None:
                    out.write(orjson.dumps(letter.to_document(None)) + b"\n")  # the caller's own file
    finally:
        if out is not None:
            out.close()
    dead = sum(reasons.values())
    print_json(
        {
            "source": source,
            "received": accepted + dead,
            "accepted": accepted,
            "dead_lettered": dead,
            "dead_letters_by_reason": dict(sorted(reasons.items())),
        }
    )
    return 0
