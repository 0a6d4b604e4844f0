"""The demo's event stream, apart from the `demo` command so that a producer process can import it alone.

`shared.cli.demo` pulls in the whole embedded runtime (web server, sinks, alerts: ~650
modules, ~55 MiB); this module needs only the generator (~23 MiB with the local log),
which is what the benchmarks' producer process sends from.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime

from shared.engine.windows import epoch_ms
from shared.generator import FaultRates, GeneratedEvent, stream
from shared.generator.faults import inject

__all__ = ["demo_events"]


def demo_events(
    seed: int, scale: float, faults: FaultRates, origin: datetime, after: datetime | None
) -> Iterator[GeneratedEvent]:
    """The stream generated from `origin`, from its first delivery after `after` (None: all of it).

    Regenerated from the previous run's own origin when that is recent, the tail is
    exactly what that run would have sent next; from further back, the generator's
    per-hour keying gives the same events (its order backlog may add a few statuses).
    """
    clean = stream("all", seed, origin, scale=scale)
    tail = clean if after is None else (e for e in clean if e.delivery_ms > epoch_ms(after))
    if not faults.any():
        return tail
    return inject(tail, faults, random.Random(f"{seed}/faults/{epoch_ms(after or origin)}"), limit=None)
