"""Which raw bodies the pipeline must accept, from contracts.md alone; money as exact Decimals.

A body is accepted when it is a JSON object that its source's contract model accepts
(the pydantic models are the one thing the oracle shares with the engine), its event
time lies within [now - 7 days, now + 5 minutes], and (money events) its currency has
a rate on or before the UTC event date. Then the first copy of each (source, event_id)
counts; later copies are duplicates. Everything else is a dead letter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import ValidationError

from shared.contracts import EVENT_MODELS, EVENT_TIME_FIELD, event_adapter
from tests.support.oracle.reference import OracleReference

__all__ = ["Accepted", "Outcome", "accept", "to_reporting_cents"]

EVENT_TIME = {source: EVENT_TIME_FIELD[models[0]] for source, models in EVENT_MODELS.items()}
"""The field that places each source's events in event time: part of the contract (`shared.contracts`)."""
MONEY = {"txn": "amount", "cost": "cost_amount"}
LATENESS = timedelta(days=7)
FUTURE = timedelta(minutes=5)


@dataclass(frozen=True)
class Accepted:
    """One accepted event: its JSON object as parsed by the oracle (numbers exact) and its times."""

    source: str
    event_id: str
    body: dict[str, Any]
    event_time: datetime
    """UTC."""
    cents: int | None = None
    """Money events: the amount in reporting-currency cents, rounded half away from zero."""

    def ts(self, name: str) -> datetime:
        return parse_ts(self.body[name])


@dataclass
class Outcome:
    """What became of every body of one source."""

    received: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    duplicates: int = 0
    dead_letters: int = 0
    dead_letter_reasons: list[str] = field(default_factory=list)


def parse_ts(text: str) -> datetime:
    """An RFC 3339 timestamp (with offset) as an aware UTC datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp without offset: {text}")
    return value.astimezone(UTC)


def to_reporting_cents(amount: Decimal, rate: Decimal) -> int:
    """amount x rate in whole cents, half away from zero (Decimal's ROUND_HALF_UP is away from zero)."""
    return int((amount * rate * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money_day(event_time: datetime) -> date:
    return event_time.astimezone(UTC).date()


def accept(source: str, bodies: list[bytes], now: datetime, reference: OracleReference) -> Outcome:
    """Sort the bodies of `source` (in arrival order) into accepted, duplicates and dead letters."""
    outcome = Outcome(received=len(bodies))
    seen: set[str] = set()
    for raw in bodies:
        verdict = _one(source, raw, now, reference)
        if isinstance(verdict, str):
            outcome.dead_letters += 1
            outcome.dead_letter_reasons.append(verdict)
        elif verdict.event_id in seen:
            outcome.duplicates += 1
        else:
            seen.add(verdict.event_id)
            outcome.accepted.append(verdict)
    return outcome


def _one(source: str, raw: bytes, now: datetime, reference: OracleReference) -> Accepted | str:
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        return "not JSON"
    if not isinstance(body, dict):
        return "not an object"
    try:
        event_adapter(source).validate_json(raw)  # type: ignore[arg-type]
    except ValidationError:
        return "breaks its contract"
    at = parse_ts(body[EVENT_TIME[source]])
    if at - now > FUTURE:
        return "in the future"
    if now - at > LATENESS:
        return "too late"
    cents = None
    if source in MONEY:
        rate = reference.rate(body["currency"], _money_day(at))
        if rate is None:
            return "unknown currency"
        cents = to_reporting_cents(Decimal(body[MONEY[source]]), rate)
    return Accepted(source, body["event_id"], body, at, cents)
