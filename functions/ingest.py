"""Ingest: one Event Hubs trigger per source, a batch of one partition per invocation.

Hub names and the consumer group are setting expressions (``%HUB_TXN%``,
``%EVENTHUB_CONSUMER_GROUP%``) and the connection is the identity-based
``EVENTHUB__fullyQualifiedNamespace`` prefix; bodies arrive as bytes
(``data_type=binary``) so a dead letter keeps them exactly. Bad input never fails
the invocation (it becomes dead letters); `TransientStoreError` and a missing
partition/sequence number raise, so the retry policy retries the whole batch, which
the handler's progress documents make safe. The host checkpoints after the
invocation returns.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import logging
import typing
from collections.abc import Callable

import azure.functions as func

from functions._retry import with_retry
from functions._runtime import now, runtime
from functions.eventhub_metadata import raw_events
from shared.topology import CONSUMER_GROUP_SETTING, EVENTHUB_CONNECTION, SOURCES, Source, hub_setting

__all__ = ["EventBatch", "bp", "ingest_batch"]

EventBatch = typing.List[func.EventHubEvent]  # noqa: UP006 - the worker's converter check rejects list[...]
"""The trigger's parameter type for ``cardinality=many``."""

bp = func.Blueprint()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)


def ingest_batch(source: Source, events: EventBatch) -> None:
    """Decode the batch's positions, apply it exactly once, log its counts (never its payloads)."""
    raws = raw_events(events)
    if not raws:
        return
    try:
        outcome = runtime().pipeline.ingest(source, raws, now())
    except Exception:
        first, last = raws[0].sequence_number, raws[-1].sequence_number
        logger.exception("ingest %s partition %s seq %s-%s failed; retrying", source, raws[0].partition, first, last)
        raise
    logger.info(
        "ingest %s partition %s: received=%d accepted=%d dead_lettered=%d duplicates=%d replayed=%d writes=%d",
        source, raws[0].partition, outcome.received, outcome.accepted, outcome.dead_lettered,
        outcome.duplicates, outcome.replayed, outcome.documents_written,
    )  # fmt: skip


def _trigger(source: Source) -> Callable[[EventBatch], None]:
    def handler(events: EventBatch) -> None:
        ingest_batch(source, events)

    handler.__name__ = handler.__qualname__ = f"ingest_{source}"
    return handler


for _source in SOURCES:
    bp.function_name(f"ingest_{_source}")(
        with_retry(bp)(
            bp.event_hub_message_trigger(
                arg_name="events",
                connection=EVENTHUB_CONNECTION,
                event_hub_name=f"%{hub_setting(_source)}%",
                consumer_group=f"%{CONSUMER_GROUP_SETTING}%",
                cardinality=func.Cardinality.MANY,
                data_type=func.DataType.BINARY,
            )(_trigger(_source))
        )
    )
