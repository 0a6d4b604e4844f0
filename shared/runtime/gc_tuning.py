"""Garbage-collector settings for a long-running ingest process.

Almost every object the pipeline makes dies by reference counting at the end of its
batch; the cyclic collector only finds garbage in rare cycles. Its default gen-0
threshold (700 allocations) makes it walk a 1,000-event batch's live objects dozens
of times per batch (~13% of the ingest time measured). The hosts call this once at
start: the reference data loaded by then is frozen out of the collector's sight and
collections run 100x less often. Memory stays bounded: cycles are still collected.
"""

from __future__ import annotations

import gc

__all__ = ["GEN0_THRESHOLD", "tune_gc_for_throughput"]

GEN0_THRESHOLD = 70_000


def tune_gc_for_throughput() -> None:
    """Freeze what is alive now (reference data, caches) and collect less often. Call once per process."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
