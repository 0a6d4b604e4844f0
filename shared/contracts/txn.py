"""Source `txn`: canonical POS and online transactions (seed Source E)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.contracts.envelope import Envelope
from shared.contracts.types import ContractModel, Currency, Identifier, Money, PositiveMoney, Timestamp

__all__ = ["Channel", "Transaction", "TransactionLine", "TxnType"]

Channel = Literal["store", "web", "app"]
TxnType = Literal["sale", "refund", "void"]


class TransactionLine(ContractModel):
    """One basket line."""

    product_id: Annotated[Identifier, Field(description="dim_product key.")]
    quantity: Annotated[int, Field(ge=1, description="Units sold on the line.")]
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
