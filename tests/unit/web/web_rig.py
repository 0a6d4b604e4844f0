"""A real embedded pipeline (SQLite store, local log, the real handlers) for the live page's tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from shared.bootstrap import DEMO_PII_KEY
from shared.generator import GeneratedEvent, stream
from shared.kpis.formulas import format_utc
from shared.runtime.host import HostSettings
from shared.runtime.session import EmbeddedSession, SessionOptions
from shared.stores.embedded import SqliteDocumentStore
from tests.support.samples import body

__all__ = ["START", "WebRig", "sale"]

START = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
"""A Thursday morning: every physical store of the demo chain is open."""


class WebRig:
    """Sends events through the embedded pipeline into one SQLite file and settles the rollups."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = tmp_path / "pulse.db"
        self.session = EmbeddedSession(SessionOptions(self.db, DEMO_PII_KEY))
        self.last_delivery = START

    @property
    def store(self) -> SqliteDocumentStore:
        return self.session.store

    def generated(self, count: int, seed: int = 5, faults: dict[str, float] | None = None) -> list[GeneratedEvent]:
        """`count` events of the whole chain from START (a realistic mix of all seven sources)."""
        return list(islice(stream("all", seed, START, faults=faults), count))

    def send(self, events: Iterable[GeneratedEvent]) -> None:
        for event in events:
            self.session.log.append_many(event.source, [(event.partition_key, event.body, event.delivery_time)])
            self.last_delivery = max(self.last_delivery, event.delivery_time)

    def send_body(self, source: str, partition_key: str, raw: bytes, enqueued: datetime) -> None:
        self.session.log.append_many(source, [(partition_key, raw, enqueued)])

    def settle(self, now: datetime) -> None:
        """Consume everything and cascade the rollups, with processing time `now`."""
        self.session.host(HostSettings(), lambda: now).run_until_quiet(timeout_s=120)

    def close(self) -> None:
        self.session.close()


def sale(n: int, store_id: str, at: datetime, amount: str = "30.45", **overrides: Any) -> bytes:
    """A sale of `amount` EUR (one line) at store `store_id`, event time `at`."""
    return body(
        "txn",
        n,
        merchant_id=store_id,
        posted_ts=format_utc(at),
        amount=float(amount),
        lines=[{"product_id": "P00001", "quantity": 1, "unit_price": float(amount)}],
        **overrides,
    )


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
