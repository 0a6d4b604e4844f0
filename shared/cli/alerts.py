"""`pulse alerts list|history|test RULE|silence`: the alert states, their history, a dry run, silences."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

import orjson

from shared.alerts.evaluator import AlertEvaluator
from shared.alerts.queries import alert_history, current_alerts
from shared.alerts.routing import planned_deliveries
from shared.alerts.silences import Silence, add_silence
from shared.cli._embedded import add_db_option, add_reference_option
from shared.cli._io import parse_now, parse_timestamp
from shared.cli.errors import UsageError
from shared.cli.sla import add_config_option, read_config
from shared.reference import ReferenceDataError, demo_reference_dir, load_reference
from shared.sla.durations import parse_duration
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add `alerts list|history|test|silence`."""
    parser = subparsers.add_parser("alerts", help="alert states, history, dry runs and silences")
    commands = parser.add_subparsers(dest="alerts_command", required=True, parser_class=type(parser))
    listing = commands.add_parser("list", help="open alerts (pending, firing, recovering, no data, error)")
    listing.add_argument("--all", action="store_true", help="every (rule, scope) ever active, normal ones too")
    history = commands.add_parser("history", help="transitions, newest first")
    history.add_argument("--rule")
    history.add_argument("--scope")
    history.add_argument("--since", help="RFC 3339")
    history.add_argument("--limit", type=int, default=50)
    test = commands.add_parser("test", help="evaluate one rule on stored data at --now; print what it would do")
    test.add_argument("rule")
    test.add_argument("--now", help="RFC 3339 (default: the clock)")
    add_reference_option(test)
    silence = commands.add_parser("silence", help="mute a rule at a scope for a while")
    silence.add_argument("--rule", required=True, help="a rule name, or * for every rule")
    silence.add_argument("--scope", required=True, help="a store, region, source... or * for every scope")
    silence.add_argument("--for", dest="duration", required=True, help="e.g. 2h, 30m")
    silence.add_argument("--comment", default="")
    silence.add_argument("--now", help="start (RFC 3339; default: the clock)")
    for sub in (listing, history, test, silence):
        add_db_option(sub)
        add_config_option(sub)
        sub.add_argument("--format", default="table", help="table or json")
    listing.set_defaults(func=run_list)
    history.set_defaults(func=run_history)
    test.set_defaults(func=run_test)
    silence.set_defaults(func=run_silence)


def _store(args: argparse.Namespace) -> SqliteDocumentStore:
    if args.format not in ("table", "json"):
        raise UsageError(f"--format must be table or json, got {args.format!r}")
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` or `pulse demo` first)")
    return SqliteDocumentStore(args.db)


def _print(args: argparse.Namespace, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        table = [columns, *(tuple("" if r.get(c) is None else str(r.get(c)) for c in columns) for r in rows)]
        widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
        for row in table:
            sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
    sys.stdout.flush()


def run_list(args: argparse.Namespace) -> int:
    read_config(args.config)
    with _store(args) as store:
        docs = current_alerts(store, include_normal=args.all)
    rows = [{k: v for k, v in d.items() if not k.startswith("_") and k != "unrecorded"} for d in docs]
    _print(args, rows, ("rule", "scope", "state", "since", "active_since", "value", "episode"))
    return 0


def run_history(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    since = None if args.since is None else parse_timestamp("--since", args.since)
    with _store(args) as store:
        docs = alert_history(store, since=since, rule=args.rule, scope=args.scope, limit=args.limit)
    rows = [{k: v for k, v in d.items() if not k.startswith("_")} for d in docs]
    _print(args, rows, ("at", "rule", "scope", "from", "state", "value", "detail", "silenced"))
    return 0


def run_test(args: argparse.Namespace) -> int:
    """A dry run: nothing is written, nothing is sent."""
    config = read_config(args.config)
    try:
        config.rule(args.rule)
    except KeyError:
        raise UsageError(f"no rule named {args.rule!r} in {args.config}") from None
    now = parse_now(args.now)
    try:
        reference = load_reference(args.reference or demo_reference_dir())
    except ReferenceDataError as error:
        raise UsageError(str(error)) from None
    with _store(args) as store:
        evaluator = AlertEvaluator(store, config, reference.stores.members())
        report = evaluator.evaluate(now, dry_run=True, rules=[args.rule])
    deliveries = planned_deliveries(config, report.transitions, now)
    if args.format == "json":
        out = {
            "rule": args.rule,
            "now": now.isoformat(),
            "evaluated": report.evaluated,
            "errors": report.errors,
            "transitions": report.transitions,
            "messages": [{"receiver": d["receiver"], "message": d["message"]} for d in deliveries],
        }
        sys.stdout.buffer.write(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    print(
        f"{args.rule} at {now.isoformat()}: {report.evaluated} scopes evaluated, {len(report.transitions)} transitions"
    )
    for problem in report.errors:
        print(f"  error: {problem}")
    for record in report.transitions:
        print(f"  {record['scope']}: {record['from']} -> {record['state']} ({record['detail']})")
    for delivery in deliveries:
        message = delivery["message"]
        print(f"  would send to {delivery['receiver']}: [{message['state']}] {len(message['alerts'])} alert(s)")
    return 0


def run_silence(args: argparse.Namespace) -> int:
    config = read_config(args.config)
    if args.rule != "*":
        try:
            config.rule(args.rule)
        except KeyError:
            raise UsageError(f"no rule named {args.rule!r} in {args.config}") from None
    try:
        duration = parse_duration(args.duration)
    except ValueError as error:
        raise UsageError(f"--for: {error}") from None
    if duration <= timedelta(0):
        raise UsageError("--for must be longer than 0s")
    now = parse_now(args.now)
    with _store(args) as store:
        doc = add_silence(store, Silence(args.rule, args.scope, now, now + duration, args.comment))
    print(f"silenced {args.rule} at {args.scope} until {doc['expires_at']}")
    return 0
