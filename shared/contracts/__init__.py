"""Wire contracts v1: one pydantic model per event type, one union per source.

The field names and meanings are fixed by `docs/contracts.md`; models are frozen,
strict (JSON types are not coerced) and forbid unknown fields.
"""

from shared.contracts.fulfillment import OrderStatus
from shared.contracts.platform import CostUsage, DataQualityCheck, LogRecord, RawEventLanding
from shared.contracts.registry import (
    EVENT_MODELS,
    EVENT_TIME_FIELD,
    SCHEMA_VERSIONS,
    Event,
    event_adapter,
    event_time,
    store_key,
)
from shared.contracts.traffic import Footfall
from shared.contracts.txn import Transaction, TransactionLine

__all__ = [
    "EVENT_MODELS",
    "EVENT_TIME_FIELD",
    "SCHEMA_VERSIONS",
    "CostUsage",
    "DataQualityCheck",
    "Event",
    "Footfall",
    "LogRecord",
    "OrderStatus",
    "RawEventLanding",
    "Transaction",
    "TransactionLine",
    "event_adapter",
    "event_time",
    "store_key",
]
