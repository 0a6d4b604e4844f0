"""Sources `txn` (sales, refunds, voids) and `traffic` (door counters, web/app sessions)."""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any, Final

from shared.generator._sampling import BASKET_SIZE, Item, basket, poisson
from shared.generator._time import MINUTE_MS
from shared.generator.catalog import CatalogView
from shared.generator.orders import Order, OrderBook
from shared.generator.world import StoreProfile, World

__all__ = ["TrafficSource", "TxnSource"]

REFUND_RATE: Final = 0.04
"""Refunds per sale (contract KPI `refund_rate`: typically 3-5 %)."""
VOID_RATE: Final = 0.01
LOYALTY_SHARE: Final = {"store": 0.45, "web": 0.88, "app": 0.95}
"""Share of transactions with a known (loyalty / logged-in) customer."""
CASH_SHARE: Final = 0.22
"""Of anonymous in-store payments."""


def customer(rng: random.Random, channel: str) -> tuple[str | None, str]:
    """(customer_id or None, account_id) of a paying customer."""
    if rng.random() < LOYALTY_SHARE[channel]:
        number = rng.getrandbits(19)
        return f"C{number:07d}", f"LOY{number:07d}"
    if channel == "store" and rng.random() < CASH_SHARE:
        return None, "CASH"
    return None, f"CARD{rng.getrandbits(32):08X}"


def transaction(
    event_id: str,
    source_system: str,
    merchant_id: str,
    channel: str,
    txn_type: str,
    currency: str,
    posted_ts: str,
    customer_id: str | None,
    account_id: str,
    lines: list[dict[str, Any]],
    cents: int,
) -> dict[str, Any]:
    """A `txn` body exactly as the contract spells it."""
    return {
        "event_id": event_id,
        "event_type": "transaction",
        "schema_version": 1,
        "source_system": source_system,
        "transaction_id": event_id,
        "account_id": account_id,
        "customer_id": customer_id,
        "merchant_id": merchant_id,
        "channel": channel,
        "txn_type": txn_type,
        "amount": cents / 100,
        "currency": currency,
        "posted_ts": posted_ts,
        "lines": lines,
    }


class TxnSource:
    """Store sales in opening hours, online sales from orders, refunds and voids."""

    name = "txn"

    def __init__(self, world: World, orders: OrderBook) -> None:
        self.world = world
        self.orders = orders

    def hour(self, hour_ms: int) -> Iterator[Item]:
        """The hour's transactions in generation order, one store at a time (lazily: bounded memory)."""
        world = self.world
        rng = world.rng("txn", hour_ms)
        view = world.products(hour_ms)
        for profile in world.stores_at(hour_ms):
            items: list[Item] = []
            self._store_hour(rng, view, profile, hour_ms, items)
            yield from items
        for order in self.orders.placed_in(hour_ms):
            yield self._order_sale(order)

    def _store_hour(
        self, rng: random.Random, view: CatalogView, profile: StoreProfile, hour_ms: int, items: list[Item]
    ) -> None:
        """The store's own transactions of the hour (online sales come from the order book)."""
        cumulative: list[float] = []
        expected = 0.0
        for visitors, conversion in self.world.lambdas(profile, hour_ms):
            expected += visitors * conversion
            cumulative.append(expected)
        if expected <= 0:
            return
        kinds = ["sale"] * (poisson(rng, expected) if profile.channel == "store" else 0)
        kinds += ["refund"] * poisson(rng, expected * REFUND_RATE)
        kinds += ["void"] * poisson(rng, expected * VOID_RATE)
        # The hot loop: everything it touches is a local.
        fmt = self.world.fmt.ms
        bits = rng.getrandbits
        uniform = rng.random
        name, store_id, channel = self.name, profile.store_id, profile.channel
        system, currency = profile.source_system, profile.currency
        for kind in kinds:
            at = hour_ms + bisect_right(cumulative, uniform() * expected) * MINUTE_MS + int(uniform() * MINUTE_MS)
            size = BASKET_SIZE[bits(8)] if kind != "refund" else 1 + (uniform() < 0.2)
            lines, cents, _ = basket(rng, view, currency, size)
            customer_id, account_id = customer(rng, channel)
            event_id = f"txn-{bits(80):020x}"
            body = transaction(
                event_id, system, store_id, channel, kind, currency, fmt(at), customer_id, account_id, lines, cents
            )
            items.append((at, at, name, store_id, body))

    def _order_sale(self, order: Order) -> Item:
        at = order.placed_ms
        body = transaction(
            order.txn_id,
            order.source_system,
            order.merchant_id,
            order.channel,
            "sale",
            order.currency,
            self.world.fmt.ms(at),
            order.customer_id,
            order.account_id,
            order.lines,
            order.cents,
        )
        return (at, at, self.name, order.merchant_id, body)


class TrafficSource:
    """One count per store per open minute (door counters), per minute of the day online."""

    name = "traffic"

    def __init__(self, world: World) -> None:
        self.world = world

    def hour(self, hour_ms: int) -> Iterator[Item]:
        """The hour's counts in generation order, one store at a time."""
        world = self.world
        rng = world.rng("traffic", hour_ms)
        fmt = world.fmt.s
        bits = rng.getrandbits
        for profile in world.stores_at(hour_ms):
            yield from self._store_hour(rng, bits, fmt, profile, hour_ms)

    def _store_hour(self, rng: random.Random, bits: Any, fmt: Any, profile: StoreProfile, hour_ms: int) -> list[Item]:
        out: list[Item] = []
        store_id = profile.store_id
        for i, (visitors, _) in enumerate(self.world.lambdas(profile, hour_ms)):
            if visitors <= 0:
                continue
            start = hour_ms + i * MINUTE_MS
            body = {
                "event_id": f"ff-{bits(80):020x}",
                "event_type": "footfall",
                "schema_version": 1,
                "source_system": "doorcount-eu-1" if profile.channel == "store" else "web-analytics-1",
                "store_id": store_id,
                "sensor_id": profile.sensor_id,
                "period_start": fmt(start),
                "period_seconds": 60,
                "visitors": poisson(rng, visitors),
            }
            # A counter reports its minute when the minute is over.
            out.append((start + MINUTE_MS + int(rng.random() * 5000), start, self.name, store_id, body))
        return out
