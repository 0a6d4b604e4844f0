"""`pulse kpis --db PATH --scope chain|region|store|channel --grain minute|hour|day --format json`.

``--from`` / ``--to`` follow the HTTP API's rule exactly (`shared.rollups.selection`):
RFC 3339 timestamps (or business dates for ``--grain day``, where a timestamp's date is
read in the member's business time). ``--now`` defaults to the demo's simulated clock
on a file `pulse demo` wrote (so the backlog agrees with its page), else the clock.
``--diff A B`` prints what changed from store A to store B, per KPI and window (a
blue/green rebuild from the raw zone against the live store); exit 1 if anything did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, get_args

import orjson

from shared.cli._embedded import add_reference_option
from shared.cli._io import parse_now
from shared.cli.errors import UsageError
from shared.kpis.diff import kpi_differences
from shared.kpis.formulas import json_default
from shared.kpis.state import Grain, Scope
from shared.reference import ReferenceDataError, demo_reference_dir, load_reference
from shared.rollups.query import kpi_rows
from shared.rollups.selection import BoundError, select_kpi_rows
from shared.runtime.demo_clock import read_demo_clock
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the `kpis` sub-command."""
    parser = subparsers.add_parser("kpis", help="print KPI rows from the embedded store")
    parser.add_argument("--db", type=Path, metavar="PATH", help="the embedded store (one SQLite file)")
    parser.add_argument(
        "--diff", nargs=2, type=Path, metavar=("A", "B"), help="what changed from store A to B, per KPI and window"
    )
    add_reference_option(parser)
    parser.add_argument("--scope", help="chain, region, store or channel (with --diff: default all)")
    parser.add_argument("--grain", help="minute, hour or day (the store-local business day; with --diff: default all)")
    parser.add_argument("--format", default="json", help="json (an array of rows) or jsonl (a row per line)")
    parser.add_argument("--key", help="only this member (e.g. a store id or region)")
    parser.add_argument(
        "--from",
        dest="window_from",
        help="first window shown: RFC 3339 (e.g. 2026-11-26T10:00:00Z) or, for --grain day, a date YYYY-MM-DD",
    )
    parser.add_argument("--to", dest="window_to", help="first window left out (exclusive), same forms as --from")
    parser.add_argument(
        "--now", help="'as of now' for the backlog (RFC 3339); default: a demo file's simulated clock, else the clock"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the rows ordered by key and window (with --diff: the differences; exit 1 if any)."""
    if args.diff:
        return _diff(args)
    if args.db is None or args.scope is None or args.grain is None:
        raise UsageError("--db, --scope and --grain are required (or --diff A B)")
    if args.scope not in get_args(Scope):
        raise UsageError(f"--scope must be one of {', '.join(get_args(Scope))}, got {args.scope!r}")
    if args.grain not in get_args(Grain):
        raise UsageError(f"--grain must be one of {', '.join(get_args(Grain))}, got {args.grain!r}")
    if args.format not in ("json", "jsonl"):
        raise UsageError(f"--format must be json or jsonl, got {args.format!r}")
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    if args.reference is not None and not args.reference.is_dir():
        raise UsageError(f"--reference {args.reference}: no such folder")
    try:
        reference = load_reference(args.reference or demo_reference_dir())
    except ReferenceDataError as exc:
        raise UsageError(str(exc)) from None
    with SqliteDocumentStore(args.db) as store:
        now = parse_now(args.now) if args.now is not None else (read_demo_clock(store) or parse_now(None))
        try:
            rows = select_kpi_rows(
                store, reference, args.scope, args.grain, now,
                key=args.key, window_from=args.window_from, window_to=args.window_to,
            )  # fmt: skip
        except BoundError as exc:
            raise UsageError(f"--{exc.parameter}: {exc}") from None
    out = sys.stdout.buffer
    if args.format == "json":
        out.write(orjson.dumps(rows, default=json_default, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for row in rows:
            out.write(orjson.dumps(row, default=json_default) + b"\n")
    out.flush()
    return 0


def _diff(args: argparse.Namespace) -> int:
    scopes = [args.scope] if args.scope else list(get_args(Scope))
    grains = [args.grain] if args.grain else list(get_args(Grain))
    for scope in scopes:
        if scope not in get_args(Scope):
            raise UsageError(f"--scope must be one of {', '.join(get_args(Scope))}, got {scope!r}")
    for grain in grains:
        if grain not in get_args(Grain):
            raise UsageError(f"--grain must be one of {', '.join(get_args(Grain))}, got {grain!r}")
    for path in args.diff:
        if not path.is_file():
            raise UsageError(f"--diff {path}: no such store")
    sides = []
    for path in args.diff:
        with SqliteDocumentStore(path) as store:
            now = parse_now(args.now) if args.now is not None else (read_demo_clock(store) or parse_now(None))
            sides.append([row for s in scopes for g in grains for row in kpi_rows(store, s, g, now, key=args.key)])
    differences = kpi_differences(*sides)
    out = sys.stdout.buffer
    for entry in differences:
        out.write(orjson.dumps(entry, default=json_default) + b"\n")
    out.flush()
    sys.stderr.write(f"{len(differences)} differences over {len(sides[0]):,} rows of A and {len(sides[1]):,} of B\n")
    return 1 if differences else 0
