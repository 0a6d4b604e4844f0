"""The realistic, seeded event generator behind `pulse generate`, the demo and load tests.

    from shared.generator import generate, stream
    for event in generate("txn", 1000, seed=7, start=datetime(2026, 11, 26, tzinfo=UTC)):
        send(event.partition_key, event.body)

See this package's README for the model (opening hours, curves, conversion,
order lifecycles) and the faults.
"""

from shared.generator.events import GeneratedEvent
from shared.generator.faults import FAULT_NAMES, FaultRates, parse_faults
from shared.generator.stream import ALL, GENERATOR_SOURCES, demo_reference, generate, stream

__all__ = [
    "ALL",
    "FAULT_NAMES",
    "GENERATOR_SOURCES",
    "FaultRates",
    "GeneratedEvent",
    "demo_reference",
    "generate",
    "parse_faults",
    "stream",
]
