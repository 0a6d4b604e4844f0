"""`pulse reconcile --from-capture URL --hub SRC --db PATH [--from T --to T]`: prove nothing was lost."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from shared.capture.avro_format import CaptureDamaged
from shared.capture.reconcile import Reconciliation
from shared.cli._capture import add_capture_options, capture_range, damaged_message, open_capture
from shared.cli.errors import UsageError
from shared.handlers.reconcile import reconcile_source
from shared.kpis.formulas import json_default
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["register", "run"]

_COLUMNS = ("partition", "hour", "captured", "processed", "missing", "extra", "dead_lettered", "verdict")


def register(subparsers: Any) -> None:
    """Add the `reconcile` sub-command."""
    parser = subparsers.add_parser(
        "reconcile", help="captured messages against audit and dead letters, per partition and hour (exit 1 if lost)"
    )
    add_capture_options(parser)
    parser.add_argument("--db", required=True, type=_path, metavar="PATH", help="the embedded store")
    parser.add_argument("--format", default="table", help="table (default) or json")
    parser.add_argument("--skip-damaged", action="store_true", help="report a damaged blob and go on")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the table; 0 when everything is explained, 1 on `missing in audit` or `extra`."""
    if args.format not in ("table", "json"):
        raise UsageError(f"--format must be table or json, got {args.format!r}")
    source, wanted = capture_range(args)
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    capture = open_capture(args.from_capture)
    with SqliteDocumentStore(args.db) as store:
        try:
            result = reconcile_source(store, capture, source, wanted, skip_damaged=args.skip_damaged)
        except CaptureDamaged as exc:
            raise UsageError(damaged_message(exc)) from None
    if args.format == "json":
        import orjson

        body = {
            "source": source,
            "verdict": "unexplained" if result.unexplained else "ok",
            "totals": result.totals(),
            "rows": [row.as_dict() for row in result.rows],
        }
        sys.stdout.buffer.write(orjson.dumps(body, default=json_default, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        sys.stdout.write(_table(result))
    sys.stdout.flush()
    return 1 if result.unexplained else 0


def _table(result: Reconciliation) -> str:
    rows = [[str(getattr(row, c) if c != "verdict" else row.verdict) for c in _COLUMNS] for row in result.rows]
    for line, row in zip(rows, result.rows, strict=True):
        if row.dead_letter_reasons:
            line[-1] += " (" + ", ".join(f"{k} {v}" for k, v in sorted(row.dead_letter_reasons.items())) + ")"
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    totals = result.totals()
    verdict = "UNEXPLAINED differences" if result.unexplained else "every captured message was counted once"
    lines.append(f"{result.source}: " + ", ".join(f"{k} {v:,}" for k, v in totals.items()) + f" -> {verdict}")
    return "\n".join(lines) + "\n"


def _path(value: str) -> Any:
    from pathlib import Path

    return Path(value)
