"""`python -m benchmarks [validation|ingest|replay|all] [--events N] [--rounds N]` (also `make bench`)."""

from __future__ import annotations

import argparse

from benchmarks import ingest, replay, validation


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=["validation", "ingest", "replay", "all"])
    parser.add_argument("--events", type=int, default=None, help="events per run (defaults: 200k / 1M / 100k)")
    parser.add_argument("--rounds", type=int, default=ingest.ROUNDS, help="ingest, replay: rounds (default 3)")
    args = parser.parse_args()
    if args.which in ("validation", "all"):
        validation.run(args.events or 200_000)
    if args.which in ("ingest", "all"):
        ingest.run(args.events or 1_000_000, args.rounds)
    if args.which in ("replay", "all"):
        replay.run(args.events or 100_000, args.rounds)


if __name__ == "__main__":
    main()
