"""Producer faults injected into a clean stream: duplicates, reordering, lateness, damage.

A rate is the probability per original event: ``duplicate=0.05`` resends 5 % of the
events once more (byte-identical, a little later), ``late=0.02`` holds 2 % back for
5 minutes to 2 days, ``out_of_order=0.1`` delivers 10 % after 1-20 of the events that
followed them (late and out-of-order exclude each other: late is decided first),
``malformed=0.01`` replaces 1 % of the bodies by a broken one (see `malformed.py`).
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Final

from shared.generator.events import GeneratedEvent
from shared.generator.malformed import malform

__all__ = ["FAULT_NAMES", "FaultRates", "inject", "parse_faults"]

FAULT_NAMES: Final = ("duplicate", "out_of_order", "late", "malformed")
LATE_DELAY_MS: Final = (5 * 60_000, 48 * 3_600_000)
"""Late events arrive 5 minutes to 2 days after their event time (log-uniform)."""
DUPLICATE_DELAY_MS: Final = (500, 30 * 60_000)
"""A producer's resend follows the original by half a second to half an hour."""
OUT_OF_ORDER_POSITIONS: Final = (1, 20)


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Per-event probabilities of each fault, each in [0, 1]."""

    duplicate: float = 0.0
    out_of_order: float = 0.0
    late: float = 0.0
    malformed: float = 0.0

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 <= value <= 1):
                raise ValueError(f"fault rate {field.name}={value!r} must be a number from 0 to 1")

    def any(self) -> bool:
        return any(getattr(self, name) for name in FAULT_NAMES)


def parse_faults(text: str | None) -> FaultRates:
    """``duplicate=0.05,late=0.01`` -> FaultRates; ValueError with a one-line reason otherwise."""
    rates: dict[str, float] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"fault {part!r} needs a rate, e.g. {name}=0.01")
        if name not in FAULT_NAMES:
            raise ValueError(f"unknown fault {name!r} (known: {', '.join(FAULT_NAMES)})")
        if name in rates:
            raise ValueError(f"fault {name!r} given twice")
        try:
            rate = float(value)
        except ValueError:
            raise ValueError(f"fault rate {name}={value.strip()!r} is not a number") from None
        if not (math.isfinite(rate) and 0 <= rate <= 1):
            raise ValueError(f"fault rate {name}={value.strip()} must be from 0 to 1")
        rates[name] = rate
    return FaultRates(**rates)


def _log_uniform(rng: random.Random, bounds: tuple[int, int]) -> int:
    return int(math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1]))))


def inject(
    events: Iterator[GeneratedEvent], rates: FaultRates, rng: random.Random, limit: int | None = None
) -> Iterator[GeneratedEvent]:
    """Apply `rates` to a clean stream (in delivery order); stop after `limit` lines.

    With a limit, every line is emitted: held-back events come out at the end in
    delivery order, so realised rates match the requested ones on any count. A
    resend always follows its original, also when the original was held back.
    """
    # Heap entries: (release position or delivery ms, tie-break, event, resend delay or -1).
    by_position: list[tuple[int, int, GeneratedEvent, int]] = []
    by_time: list[tuple[int, int, GeneratedEvent, int]] = []
    created = 0
    order = 0
    late_cut = rates.late
    reorder_cut = rates.late + rates.out_of_order

    def resend(original: GeneratedEvent, delay: int) -> None:
        nonlocal order
        kept = tuple(f for f in original.faults if f.startswith("malformed"))
        copy = original._replace(delivery_ms=original.delivery_ms + delay, faults=(*kept, "duplicate"))
        heapq.heappush(by_time, (copy.delivery_ms, order, copy, -1))
        order += 1

    for position, event in enumerate(events):
        if limit is not None and created >= limit:
            break
        while by_time and by_time[0][0] <= event.delivery_ms:
            _, _, due, delay = heapq.heappop(by_time)
            yield due
            if delay >= 0:
                resend(due, delay)
        while by_position and by_position[0][0] <= position:
            _, _, held, delay = heapq.heappop(by_position)
            held = held._replace(delivery_ms=max(held.delivery_ms, event.delivery_ms))
            yield held
            if delay >= 0:
                resend(held, delay)
        created += 1
        if rates.malformed and rng.random() < rates.malformed:
            kind, body = malform(rng, event.source, event.body)
            event = event._replace(body=body, faults=(*event.faults, f"malformed:{kind}"))
        draw = rng.random() if reorder_cut else 1.0
        delay = -1
        if rates.duplicate and (limit is None or created < limit) and rng.random() < rates.duplicate:
            created += 1
            delay = _log_uniform(rng, DUPLICATE_DELAY_MS)
        if draw < late_cut:
            delayed = event.event_ms + _log_uniform(rng, LATE_DELAY_MS)
            event = event._replace(delivery_ms=max(delayed, event.delivery_ms), faults=(*event.faults, "late"))
            heapq.heappush(by_time, (event.delivery_ms, order, event, delay))
        elif draw < reorder_cut:
            event = event._replace(faults=(*event.faults, "out_of_order"))
            release = position + 1 + rng.randint(*OUT_OF_ORDER_POSITIONS)
            heapq.heappush(by_position, (release, order, event, delay))
        else:
            yield event
            if delay >= 0:
                resend(event, delay)
        order += 1
    while by_position:
        _, _, held, delay = heapq.heappop(by_position)
        yield held
        if delay >= 0:
            resend(held, delay)
    while by_time:
        _, _, due, delay = heapq.heappop(by_time)
        yield due
        if delay >= 0:
            resend(due, delay)
