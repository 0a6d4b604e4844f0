"""`pulse send`: a load generator into real Event Hubs (or the Event Hubs emulator).

    pulse send --source txn --rate 500 --duration 60 --namespace myns.servicebus.windows.net
    EH_CONN='Endpoint=sb://localhost;...;UseDevelopmentEmulator=true;' \
        pulse send --source all --rate 200 --duration 30 --connection-string-env EH_CONN

Events come from the seeded generator (`shared.generator.stream`), batched with the
SDK's `EventDataBatch` per partition key (the store id), at most `--rate` events a
second for `--duration` seconds. A progress line with events/s goes to stderr and a
JSON summary to stdout. Credentials: `DefaultAzureCredential` with the namespace
from ``--namespace`` or ``EVENTHUB__fullyQualifiedNamespace``; or a connection string
read from the environment variable named by ``--connection-string-env``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

from shared.cli._io import parse_timestamp, print_json
from shared.cli.errors import UsageError
from shared.generator import ALL, GENERATOR_SOURCES, parse_faults, stream
from shared.generator._time import start_of_utc_day
from shared.topology import EVENTHUB_CONNECTION, HUB_NAMES, SOURCES, hub_setting

__all__ = ["NAMESPACE_SETTING", "register", "resolve_credentials", "resolve_hubs", "run"]

NAMESPACE_SETTING = f"{EVENTHUB_CONNECTION}__fullyQualifiedNamespace"


def _positive(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0: {text}")
        return value

    return parse


def register(subparsers: Any) -> None:
    """Add the `send` sub-command."""
    parser = subparsers.add_parser(
        "send",
        help="send a generated event stream to Event Hubs at a given rate",
        description=(
            "Send generated events of SRC (a source, or 'all': each source to its own hub) to Event Hubs at "
            "RATE events/s for DURATION seconds, batched per partition key (the store id). Events are never "
            "sent before their time: a stream started in the past catches up, then goes live."
        ),
    )
    parser.add_argument("--source", required=True, choices=GENERATOR_SOURCES, metavar="SRC")
    parser.add_argument("--rate", required=True, type=_positive(float), metavar="N", help="events per second")
    parser.add_argument("--duration", required=True, type=_positive(float), metavar="S", help="seconds to send for")
    who = parser.add_mutually_exclusive_group()
    who.add_argument(
        "--namespace", metavar="FQDN", help=f"Event Hubs namespace (default: ${NAMESPACE_SETTING}); Entra ID auth"
    )
    who.add_argument(
        "--connection-string-env",
        metavar="NAME",
        help="name of the environment variable holding a connection string (e.g. the emulator's)",
    )
    parser.add_argument(
        "--hub", metavar="NAME", help="hub name (one source only; default: $HUB_<SOURCE> or pulse-<source>)"
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S", help="generator seed (default 0)")
    parser.add_argument("--scale", type=_positive(float), default=1.0, metavar="X", help="generator volume multiplier")
    parser.add_argument("--faults", default="", metavar="K=V,...", help="generator fault rates, as for `generate`")
    parser.add_argument(
        "--start", metavar="RFC3339", help="first event time, with offset (default: start of the current UTC day)"
    )
    parser.set_defaults(func=run)


def resolve_credentials(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> Any:
    """`ProducerCredentials` from the arguments and environment, or a `UsageError` naming what is missing."""
    from shared.sources.eventhub_producer import ProducerCredentials

    if args.connection_string_env is not None:
        value = environ.get(args.connection_string_env, "")
        if not value:
            raise UsageError(f"--connection-string-env: environment variable {args.connection_string_env} is not set")
        if "endpoint=" not in value.lower():
            raise UsageError(
                f"{args.connection_string_env} does not hold an Event Hubs connection string (Endpoint=...)"
            )
        return ProducerCredentials(connection_string=value)
    namespace = args.namespace or environ.get(NAMESPACE_SETTING, "")
    if not namespace:
        raise UsageError(f"give --namespace FQDN (or set {NAMESPACE_SETTING}) or --connection-string-env NAME")
    if "." not in namespace or "/" in namespace:
        raise UsageError(
            f"--namespace: {namespace!r} is not a fully qualified namespace (<name>.servicebus.windows.net)"
        )
    return ProducerCredentials(namespace=namespace)


def resolve_hubs(args: argparse.Namespace, environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """Source -> hub name for the sources being sent."""
    sources = list(SOURCES) if args.source == ALL else [args.source]
    if args.hub is not None:
        if len(sources) > 1:
            raise UsageError("--hub: give it with a single --source, not 'all' (each source has its own hub)")
        return {sources[0]: args.hub}
    return {source: environ.get(hub_setting(source)) or HUB_NAMES[source] for source in sources}


def run(args: argparse.Namespace) -> int:
    """Send; the summary goes to stdout as JSON."""
    from shared.sources.eventhub_producer import EventHubProducers, SendFailed
    from shared.sources.pacing import send_paced

    start = start_of_utc_day(datetime.now(UTC)) if args.start is None else parse_timestamp("--start", args.start)
    try:
        faults = parse_faults(args.faults)
    except ValueError as exc:
        raise UsageError(f"--faults: {exc}") from None
    credentials = resolve_credentials(args, os.environ)
    hubs = resolve_hubs(args, os.environ)
    events = stream(args.source, args.seed, start, faults=faults, scale=args.scale)
    producers = EventHubProducers(hubs, credentials)
    progress = _Progress(producers)
    try:
        report = send_paced(events, producers, args.rate, args.duration, on_tick=progress.tick)
    except SendFailed as exc:
        print(f"\npulse: error: sending failed: {exc}", file=sys.stderr)
        return 1
    finally:
        producers.close()
    progress.done(report.elapsed_s)
    stats = producers.stats()
    sent = sum(s.events_sent for s in stats.values())
    print_json(
        {
            "source": args.source,
            "hubs": hubs,
            "sent": sent,
            "batches": sum(s.batches_sent for s in stats.values()),
            "too_large": sum(s.too_large for s in stats.values()),
            "duration_s": round(report.elapsed_s, 3),
            "rate_target": args.rate,
            "rate_achieved": round(sent / report.elapsed_s, 1) if report.elapsed_s > 0 else None,
            "held_for_live_s": round(report.held_s, 3),
            "stream_exhausted": report.exhausted,
            "by_hub": {hub: {"events": s.events_sent, "batches": s.batches_sent} for hub, s in stats.items()},
        }
    )
    return 0


class _Progress:
    """``sent N events, X/s`` on stderr: rewritten in place on a terminal, one line per tick otherwise."""

    def __init__(self, producers: Any) -> None:
        self._producers = producers
        self._tty = sys.stderr.isatty()
        self._last = (0, time.monotonic())

    def _sent(self) -> int:
        return sum(s.events_sent for s in self._producers.stats().values())

    def tick(self, handed: int, elapsed_s: float) -> None:
        sent, now = self._sent(), time.monotonic()
        rate = (sent - self._last[0]) / max(now - self._last[1], 1e-9)
        self._last = (sent, now)
        line = f"pulse send: {sent:,} events sent in {elapsed_s:,.0f} s, {rate:,.0f} events/s"
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=sys.stderr, flush=True)

    def done(self, elapsed_s: float) -> None:
        sent = self._sent()
        line = f"pulse send: {sent:,} events sent in {elapsed_s:,.1f} s, {sent / max(elapsed_s, 1e-9):,.0f} events/s"
        print(f"\r{line}" if self._tty else line, file=sys.stderr, flush=True)
