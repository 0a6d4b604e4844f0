"""De-duplication of accepted events by (source, event_id), shared by both halves of the oracle."""

from __future__ import annotations

from collections.abc import Iterable

from shared.pipeline.enriched import EnrichedEvent

__all__ = ["dedupe"]


def dedupe(events: Iterable[EnrichedEvent]) -> list[EnrichedEvent]:
    """`events` without repeats of (source, event_id); the first occurrence wins, order kept.

    An event's source is its contract type: each type is carried by exactly one source.
    """
    seen: set[tuple[type, str]] = set()
    unique: list[EnrichedEvent] = []
    for enriched in events:
        key = (type(enriched.event), enriched.event.event_id)
        if key not in seen:
            seen.add(key)
            unique.append(enriched)
    return unique
