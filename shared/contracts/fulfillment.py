"""Source `fulfillment`: the order lifecycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final, Literal

from pydantic import Field, model_validator

from shared.contracts.envelope import Envelope
from shared.contracts.types import MAX_ITEMS, Identifier, Timestamp

__all__ = ["COMPLETION_STATUSES", "MAX_ORDER_SPAN", "OrderState", "OrderStatus"]

MAX_ORDER_SPAN: Final = timedelta(days=366)
"""Statuses and the promise lie within a year after the order was placed."""
_CLOCK_SKEW: Final = timedelta(minutes=5)

OrderState = Literal["placed", "picked", "packed", "shipped", "ready_for_pickup", "delivered", "collected", "cancelled"]

COMPLETION_STATUSES: frozenset[str] = frozenset({"shipped", "ready_for_pickup"})
"""An order is completed at its first such status by status_ts."""


class OrderStatus(Envelope):
    """One status change of an order (`event_type: order_status`); may arrive out of order."""

    event_type: Literal["order_status"]
    order_id: Identifier
    store_id: Annotated[Identifier, Field(description="Fulfilling node (store or DC).")]
    channel: Annotated[Literal["web", "app", "store"], Field(description="Where the order was placed.")]
    method: Literal["ship", "click_and_collect"]
    status: OrderState
    status_ts: Annotated[Timestamp, Field(description="Event time.")]
    order_placed_ts: Annotated[Timestamp, Field(description="Carried on every status event.")]
    promised_ts: Annotated[Timestamp, Field(description="Ship-by / ready-by promised to the customer.")]
    items: Annotated[int, Field(ge=1, le=MAX_ITEMS)]

    @model_validator(mode="after")
    def _plausible_times(self) -> OrderStatus:
        placed, status, promised = self.order_placed_ts, self.status_ts, self.promised_ts
        for name, ts in (("status_ts", status), ("promised_ts", promised)):
            if not -_CLOCK_SKEW <= ts - placed <= MAX_ORDER_SPAN:
                raise ValueError(
                    f"{name} must lie between 5 minutes before and {MAX_ORDER_SPAN.days} days after order_placed_ts"
                )
        return self
