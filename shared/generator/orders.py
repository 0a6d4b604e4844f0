"""Orders: placed online (or in store for home delivery), then picked, packed, shipped
or made ready for pickup, delivered or collected; some cancelled, some late.

`OrderBook.placed_in(hour)` is a pure function of (seed, hour): the `txn` source
turns each order into its sale and the `fulfillment` source into its status events.
Work happens in the fulfilling store's opening hours, so the promise (ship-by /
ready-by) is counted in trading minutes; a tuned share of orders misses it.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator
from typing import Any, Final, NamedTuple

from shared.generator._sampling import BASKET_SIZE, Item, basket, pick_minute, poisson
from shared.generator._time import DAY_MS, HOUR_MS, MINUTE_MS
from shared.generator.world import StoreProfile, World

__all__ = ["FulfillmentSource", "Order", "OrderBook"]

PROMISE_MINUTES: Final = {"click_and_collect": 180, "ship": 540}
"""Trading minutes from placing to ready-for-pickup / shipped that the customer is promised."""
LATE_SHARE: Final = 0.115
"""Completions after the promise (the demo's on-time rate is about 88 %)."""
CANCEL_BY_CUSTOMER: Final = 0.02
CANCEL_OUT_OF_STOCK: Final = 0.015
UNCOLLECTED: Final = 0.05
"""Click & collect orders never collected: cancelled after a week."""
IN_STORE_ORDERS_PER_VISITOR: Final = 0.0015
"""Endless-aisle orders placed in a store for home delivery or pickup elsewhere."""
NO_ORDERS_BEFORE_CLOSING_MS: Final = 10 * DAY_MS
BACKLOG_HOURS: Final = 96
"""Orders placed this long before the stream starts still send their later statuses."""


class Order(NamedTuple):
    """An order with its sale and its whole (pre-drawn) lifecycle."""

    order_id: str
    txn_id: str
    placed_ms: int
    channel: str
    merchant_id: str
    source_system: str
    currency: str
    customer_id: str | None
    account_id: str
    lines: list[dict[str, Any]]
    cents: int
    items: int
    method: str
    node: StoreProfile
    """The fulfilling store (ship-from-store or click & collect point)."""


class OrderBook:
    """Orders per hour, drawn once and shared by the `txn` and `fulfillment` sources."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._hour: tuple[int, list[Order]] | None = None

    def placed_in(self, hour_ms: int) -> list[Order]:
        """The hour's orders; the last hour asked for is kept, since both sources ask for it in turn.

        The stream draws one hour at a time, `txn` then `fulfillment`, and its order backlog
        hour after hour, so one hour kept draws each hour once (a test in
        `test_generator_streaming.py` counts the draws). It used to keep four: at
        `--rate-scale 100` a busy hour holds ~13,000 orders (~9 MiB), and four of them were
        most of the producer's peak memory.
        """
        if self._hour is None or self._hour[0] != hour_ms:
            self._hour = None  # the previous hour goes before the next is drawn
            self._hour = (hour_ms, self._draw(hour_ms))
        return self._hour[1]

    def _draw(self, hour_ms: int) -> list[Order]:
        world = self.world
        rng = world.rng("orders", hour_ms)
        stores = world.stores_at(hour_ms)
        # A store about to close for good takes no more orders to fulfil.
        horizon = hour_ms + NO_ORDERS_BEFORE_CLOSING_MS
        physical = [p for p in stores if p.channel == "store" and (p.closing_ms is None or p.closing_ms > horizon)]
        if not physical:
            return []
        by_country: dict[str, tuple[list[StoreProfile], list[float]]] = {}
        for p in physical:
            nodes, sizes = by_country.setdefault(p.country, ([], []))
            nodes.append(p)
            sizes.append((sizes[-1] if sizes else 0.0) + p.weight)
        countries = [c for c, _ in world.country_weights if c in by_country]
        country_cumulative: list[float] = []
        acc = 0.0
        for c, w in world.country_weights:
            if c in by_country:
                acc += w
                country_cumulative.append(acc)
        orders: list[Order] = []
        for profile in stores:
            minutes = world.lambdas(profile, hour_ms)
            online = profile.channel != "store"
            cumulative: list[float] = []
            expected = 0.0
            for visitors, conversion in minutes:
                expected += visitors * (conversion if online else IN_STORE_ORDERS_PER_VISITOR)
                cumulative.append(expected)
            if expected <= 0:
                continue
            for _ in range(poisson(rng, expected)):
                placed = hour_ms + pick_minute(rng, cumulative) * MINUTE_MS + rng.randrange(MINUTE_MS)
                if online:
                    country = countries[bisect_right(country_cumulative, rng.random() * country_cumulative[-1])]
                    currency = world.country_currency.get(country, profile.currency)
                else:
                    country, currency = profile.country, profile.currency
                if country not in by_country:
                    continue  # no store left there to fulfil it
                nodes, weights = by_country[country]
                node = nodes[bisect_right(weights, rng.random() * weights[-1])]
                orders.append(self._order(rng, profile, node, placed, currency))
        orders.sort(key=lambda o: o.placed_ms)
        return orders

    def _order(self, rng: random.Random, seller: StoreProfile, node: StoreProfile, placed: int, currency: str) -> Order:
        world = self.world
        bits = rng.getrandbits
        lines, cents, units = basket(rng, world.products(placed), currency, BASKET_SIZE[bits(8)])
        if seller.channel == "store":
            method = "ship" if rng.random() < 0.85 else "click_and_collect"
            customer_id: str | None = f"C{bits(19):07d}"
        else:
            method = "ship" if rng.random() < 0.68 else "click_and_collect"
            customer_id = f"C{bits(19):07d}" if rng.random() < 0.88 else None
        account_id = f"LOY{customer_id[1:]}" if customer_id else f"CARD{bits(32):08X}"
        return Order(
            order_id=f"ORD-{bits(64):016X}",
            txn_id=f"txn-{bits(80):020x}",
            placed_ms=placed,
            channel=seller.channel,
            merchant_id=seller.store_id,
            source_system=seller.source_system,
            currency=currency,
            customer_id=customer_id,
            account_id=account_id,
            lines=lines,
            cents=cents,
            items=units,
            method=method,
            node=node,
        )


class FulfillmentSource:
    """Status events of the orders placed in each hour (later statuses are scheduled ahead)."""

    name = "fulfillment"

    def __init__(self, world: World, orders: OrderBook) -> None:
        self.world = world
        self.orders = orders

    def hour(self, hour_ms: int, since_ms: int = 0) -> Iterator[Item]:
        """Every status (at or after `since_ms`) of the orders placed in the hour; most are due later."""
        rng = self.world.rng("lifecycle", hour_ms)
        for order in self.orders.placed_in(hour_ms):
            yield from self._events(rng, order, since_ms)

    def backlog(self, start_ms: int) -> Iterator[Item]:
        """Statuses at or after `start_ms` of orders placed in the days before it."""
        first = start_ms - start_ms % HOUR_MS
        for hour in range(first - BACKLOG_HOURS * HOUR_MS, first, HOUR_MS):
            yield from self.hour(hour, since_ms=start_ms)

    def _lifecycle(self, rng: random.Random, order: Order) -> list[tuple[str, int]]:
        """(status, epoch ms) from placed to delivered / collected / cancelled."""
        world = self.world
        node, placed, method = order.node, order.placed_ms, order.method
        promise = PROMISE_MINUTES[method]
        steps: list[tuple[str, int]] = [("placed", placed)]
        r = rng.random()
        if r < CANCEL_BY_CUSTOMER:
            steps.append(("cancelled", placed + rng.randrange(2 * MINUTE_MS, 45 * MINUTE_MS)))
        elif r < CANCEL_BY_CUSTOMER + CANCEL_OUT_OF_STOCK:
            steps.append(("cancelled", world.add_open_minutes(node, placed, promise * rng.uniform(0.1, 0.4))))
        else:
            late = rng.random() < LATE_SHARE
            work = promise * (rng.uniform(1.03, 1.9) if late else rng.uniform(0.25, 0.97))
            picked = world.add_open_minutes(node, placed, work * rng.uniform(0.25, 0.5))
            packed = world.add_open_minutes(node, placed, work * rng.uniform(0.55, 0.85))
            done = world.add_open_minutes(node, placed, work)
            steps.append(("picked", max(picked, placed + 1000)))
            steps.append(("packed", max(packed, steps[-1][1] + 1000)))
            done = max(done, steps[-1][1] + 1000)
            if method == "ship":
                steps.append(("shipped", done))
                if rng.random() < 0.97:  # the carrier delivers in daytime, one to three days later
                    day = world.local_day(node, done) + rng.choice((1, 1, 2, 2, 2, 3))
                    steps.append(
                        (
                            "delivered",
                            world.wall_clock_ms(node, day, rng.randrange(8 * 60, 20 * 60)) + rng.randrange(MINUTE_MS),
                        )
                    )
            else:
                steps.append(("ready_for_pickup", done))
                if rng.random() >= UNCOLLECTED:
                    steps.append(("collected", world.add_open_minutes(node, done, rng.uniform(20, 1500))))
                else:
                    steps.append(("cancelled", done + 7 * DAY_MS))
        return steps

    def _events(self, rng: random.Random, order: Order, since_ms: int = 0) -> list[Item]:
        """The order's status events at or after `since_ms` (every draw is made regardless)."""
        fmt = self.world.fmt.s
        bits = rng.getrandbits
        node = order.node.store_id
        promised = self.world.add_open_minutes(order.node, order.placed_ms, PROMISE_MINUTES[order.method])
        placed_ts = fmt(order.placed_ms)
        promised_ts = fmt(promised)
        out: list[Item] = []
        for status, at in self._lifecycle(rng, order):
            at -= at % 1000  # status times carry whole seconds
            event_id = f"os-{bits(80):020x}"
            if at < since_ms:
                continue
            body = {
                "event_id": event_id,
                "event_type": "order_status",
                "schema_version": 1,
                "source_system": "oms-eu-1",
                "order_id": order.order_id,
                "store_id": node,
                "channel": order.channel,
                "method": order.method,
                "status": status,
                "status_ts": fmt(at),
                "order_placed_ts": placed_ts,
                "promised_ts": promised_ts,
                "items": order.items,
            }
            out.append((at, at, self.name, node, body))
        return out
