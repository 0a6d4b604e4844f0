"""Source `txn`: canonical POS and online transactions (seed Source E)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from shared.contracts.envelope import Envelope
from shared.contracts.types import MAX_QUANTITY, Currency, Identifier, Money, PositiveMoney, Timestamp

__all__ = ["Channel", "Transaction", "TransactionLine", "TxnType"]

Channel = Literal["store", "web", "app"]
TxnType = Literal["sale", "refund", "void"]


# A typed dict, not a model: the same strict rules and the same JSON Schema, but a
# plain dict per line validates ~20% faster than a model object and a basket has
# several lines (read them as `line["quantity"]`).
class TransactionLine(TypedDict):
    """One basket line."""

    __pydantic_config__ = ConfigDict(strict=True, extra="forbid", title="TransactionLine")  # type: ignore[misc]

    product_id: Annotated[Identifier, Field(description="dim_product key.")]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, description="Units sold on the line.")]
    unit_price: Annotated[Money, Field(description="Price per unit in the transaction currency.")]


class Transaction(Envelope):
    """A sale, refund or void at a store or online (`event_type: transaction`)."""

    event_type: Literal["transaction"]
    transaction_id: Annotated[Identifier, Field(description="Equals event_id.")]
    account_id: Annotated[Identifier, Field(description="Tender / loyalty account.")]
    customer_id: Annotated[
        Identifier | None, Field(description="PII: pseudonymised before storage; null for anonymous.")
    ]
    merchant_id: Annotated[Identifier, Field(description="The store id; WEB or APP for online.")]
    channel: Annotated[Channel, Field(description="dim_channel.")]
    txn_type: Annotated[TxnType, Field(description="The sign of the amount comes from the type.")]
    amount: Annotated[PositiveMoney, Field(description="Total in `currency`, > 0, at most 2 decimals.")]
    currency: Currency
    posted_ts: Annotated[Timestamp, Field(description="Event time.")]
    lines: Annotated[list[TransactionLine], Field(min_length=1, max_length=500, description="1..500 lines.")]

    @model_validator(mode="after")
    def _transaction_id_is_event_id(self) -> Transaction:
        if self.transaction_id != self.event_id:
            raise ValueError("transaction_id must equal event_id")
        return self
