"""`python -m benchmarks [validation|ingest|alerts|all] [--events N] [--rounds N]` (also `make bench`)."""

from __future__ import annotations

import argparse

from benchmarks import alerts, ingest, validation


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=["validation", "ingest", "alerts", "all"])
    parser.add_argument("--events", type=int, default=None, help="events per run (defaults: 200k / 1M)")
    parser.add_argument("--rounds", type=int, default=ingest.ROUNDS, help="ingest: rounds of every path (default 3)")
    parser.add_argument("--stores", type=int, default=1_000, help="alerts: stores in the chain (default 1,000)")
    parser.add_argument("--rules", type=int, default=500, help="alerts: rules over every store (default 500)")
    args = parser.parse_args()
    if args.which in ("validation", "all"):
        validation.run(args.events or 200_000)
    if args.which in ("ingest", "all"):
        ingest.run(args.events or 1_000_000, args.rounds)
    if args.which in ("alerts", "all"):
        alerts.run(stores=args.stores, rules=args.rules, rounds=args.rounds)


if __name__ == "__main__":
    main()
