"""`pulse sla report|check`: compliance and error budget of every SLO of `slas.toml`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from shared.cli._embedded import add_db_option
from shared.cli._io import parse_now, parse_timestamp
from shared.cli.errors import UsageError
from shared.sla.config import DEFAULT_CONFIG, SlaConfig, SlaConfigError, load_config
from shared.sla.report import render_table, sla_report
from shared.stores.embedded import SqliteDocumentStore

__all__ = ["add_config_option", "read_config", "register"]


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="FILE", help="the SLO and rules file")


def read_config(path: Path) -> SlaConfig:
    """The validated file, or a one-line usage error naming the bad key."""
    try:
        return load_config(path)
    except SlaConfigError as error:
        raise UsageError(str(error)) from None


def register(subparsers: Any) -> None:
    """Add `sla report` and `sla check`."""
    parser = subparsers.add_parser("sla", help="service levels of the data: report and check")
    commands = parser.add_subparsers(dest="sla_command", required=True, parser_class=type(parser))
    report = commands.add_parser("report", help="every SLO: measured value, target, error budget, worst periods")
    add_db_option(report)
    add_config_option(report)
    report.add_argument("--from", dest="start", help="start (inclusive, RFC 3339); default: each SLO's window")
    report.add_argument("--to", dest="end", help="end (exclusive, RFC 3339); default: now")
    report.add_argument("--format", default="table", help="table or json")
    report.set_defaults(func=run_report)
    check = commands.add_parser("check", help="validate the file (exit 2 with the bad key)")
    add_config_option(check)
    check.set_defaults(func=run_check)


def run_report(args: argparse.Namespace) -> int:
    """Print the report."""
    if args.format not in ("table", "json"):
        raise UsageError(f"--format must be table or json, got {args.format!r}")
    config = read_config(args.config)
    end = parse_now(args.end) if args.end is None else parse_timestamp("--to", args.end)
    start = None if args.start is None else parse_timestamp("--from", args.start)
    if start is not None and start >= end:
        raise UsageError("--from must be before --to")
    if not args.db.is_file():
        raise UsageError(f"{args.db}: no such store (run `pulse ingest` first)")
    with SqliteDocumentStore(args.db) as store:
        report = sla_report(store, config.slos, end, start)
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        sys.stdout.write(render_table(report))
    sys.stdout.flush()
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Validate and summarise the file."""
    config = read_config(args.config)
    print(f"{args.config}: {len(config.slos)} SLOs, {len(config.rules)} rules, {len(config.receivers)} receivers")
    return 0
