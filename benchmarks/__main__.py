"""`python -m benchmarks [NAME|all] [options]`: validation, ingest, peers, log-split, replay, dead-letters, capture,
alerts, powerbi-rows, registry, freshness and soak (the last four not in all)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import (
    alerts,
    capture_replay,
    dead_letters,
    freshness,
    ingest,
    log_split,
    peers,
    powerbi_rows,
    registry_growth,
    replay,
    soak,
    validation,
    write_costs,
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=[
            "validation",
            "ingest",
            "peers",
            "log-split",
            "replay",
            "dead-letters",
            "capture",
            "alerts",
            "powerbi-rows",
            "registry",
            "freshness",
            "soak",
            "all",
        ],
    )
    parser.add_argument("--events", type=int, default=None, help="events per run (defaults: 200k / 1M)")
    parser.add_argument("--rounds", type=int, default=ingest.ROUNDS, help="ingest, replay, capture, alerts: rounds")
    parser.add_argument(
        "--stores",
        type=int,
        nargs="*",
        default=None,
        help="powerbi-rows: chain sizes (60 1000); alerts, ingest: one (1000)",
    )
    parser.add_argument("--rules", type=int, default=500, help="alerts: rules over every store (default 500)")
    parser.add_argument(
        "--baseline", type=Path, default=None, help="ingest, registry: a checkout to compare (a worktree of main)"
    )
    parser.add_argument("--cost-events", type=int, default=None, help="ingest: events per write-cost run (50k)")
    parser.add_argument("--cost-rounds", type=int, default=None, help="ingest: write-cost rounds (default: --rounds)")
    parser.add_argument(
        "--rate", type=float, help="freshness: one rate, events/s (default: a ladder); soak: 5000; log-split: 3000"
    )
    parser.add_argument("--rates", type=float, nargs="*", help="freshness: the ladder (default 1000 2500 5000)")
    parser.add_argument("--find-max", action="store_true", help="freshness: with --rate, run the ladder too")
    parser.add_argument("--duration", type=float, default=60.0, help="freshness: seconds per rate (default 60)")
    parser.add_argument("--rate-scale", type=float, default=100.0, help="freshness, soak: the stream's density (100)")
    parser.add_argument("--minutes", type=float, default=10.0, help="soak: minutes under load (default 10)")
    parser.add_argument("--demo-minutes", type=float, default=2.0, help="soak: minutes of a default demo (2; 0: skip)")
    args = parser.parse_args()
    if args.which == "freshness":  # not in "all": minutes of wall time each
        rates = [args.rate] if args.rate else args.rates
        freshness.run(rates, args.duration, args.rate_scale, args.find_max)
    if args.which == "registry":  # not in "all": minutes of wall time
        registry_growth.run(args.events or 2_000_000, args.baseline)
    if args.which == "soak":
        soak.run(args.minutes, args.rate or soak.RATE, args.rate_scale, args.demo_minutes)
    if args.which in ("validation", "all"):
        validation.run(args.events or 200_000)
    if args.which in ("ingest", "all"):
        ingest.run(args.events or 1_000_000, args.rounds)
        cost_events = args.cost_events or min(args.events or 50_000, 50_000)
        chain = (args.stores or [write_costs.CHAIN_STORES])[0]
        write_costs.run(cost_events, args.cost_rounds or args.rounds, args.baseline, chain_stores=chain)
    failed = False
    if args.which in ("peers", "all"):  # exits 1 at the end if a peer's store-minutes differ from ours
        failed = peers.run(args.events or 300_000, args.rounds) != 0
    if args.which in ("log-split", "all"):
        log_split.run(args.events or 60_000, int(args.rate or 3_000), args.rounds)
    if args.which in ("replay", "all"):
        replay.run(args.events or 100_000, args.rounds)
    if args.which in ("dead-letters", "all"):
        dead_letters.run(args.events or 100_000)
    if args.which in ("capture", "all"):
        capture_replay.run(args.events or 200_000, args.rounds)
    if args.which == "powerbi-rows":  # not in "all": it measures row counts, not speed
        powerbi_rows.run(args.stores or [60, 1000])
    if args.which in ("alerts", "all"):
        alerts.run(stores=(args.stores or [1_000])[0], rules=args.rules, rounds=args.rounds)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
