"""When a record is *complete*: the moment its freshness (end-to-end lag) is counted from.

A manager reads "lag" as how long after something happened it shows on the page.
A sale happens at its ``posted_ts``; but a door count covers a period and can only
be sent once that period is over, and a cost record covers an hour (its ``end_ts``).
Counting their lag from the period's *start* would report a minute (or an hour) of
waiting for the period to end as pipeline delay. So:

==============  ===========================================
source          lag counted from
==============  ===========================================
``traffic``     ``period_start + period_seconds`` (the end of the counted period)
``cost``        ``end_ts`` (the end of the usage period)
all others      the event time (``posted_ts``, ``status_ts``, ``event_ts``, ``message_ts``, ``checked_ts``)
==============  ===========================================

The lag histogram of the flow documents, the live page's lag tiles and ``GET
/api/health`` all use this one definition.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.contracts.platform import CostUsage
from shared.contracts.registry import Event
from shared.contracts.traffic import Footfall

__all__ = ["complete_at"]


def complete_at(event: Event, event_time: datetime) -> datetime:
    """The moment `event` (whose event time is `event_time`) describes something finished."""
    if isinstance(event, Footfall):
        return event_time + timedelta(seconds=event.period_seconds)
    if isinstance(event, CostUsage):
        return event.end_ts
    return event_time
