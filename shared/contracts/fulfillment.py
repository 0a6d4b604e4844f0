"""Source `fulfillment`: the order lifecycle."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.envelope import Envelope
from shared.contracts.types import Identifier, Timestamp

__all__ = ["COMPLETION_STATUSES", "OrderState", "OrderStatus"]

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
    items: Annotated[int, Field(ge=1)]
