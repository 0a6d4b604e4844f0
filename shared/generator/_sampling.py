"""Fast sampling helpers: Poisson counts, lookup tables, weighted minutes, baskets."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from typing import Any, Final

from shared.generator.catalog import CatalogView

__all__ = ["BASKET_SIZE", "QUANTITY", "Item", "basket", "lookup_table", "pick_minute", "poisson"]

Item = tuple[int, int, str, str, dict[str, Any]]
"""(delivery ms, event ms, source, partition key, body): one event before serialisation."""


def lookup_table(weights: dict[int, float], bits: int = 8) -> list[int]:
    """A 2**bits table whose uniform slot is distributed as `weights` (index with getrandbits)."""
    size = 1 << bits
    total = sum(weights.values())
    table: list[int] = []
    acc = 0.0
    for value, weight in weights.items():
        acc += weight
        table.extend([value] * (round(acc / total * size) - len(table)))
    return table


BASKET_SIZE: Final = lookup_table({1: 0.40, 2: 0.25, 3: 0.14, 4: 0.08, 5: 0.05, 6: 0.04, 7: 0.02, 8: 0.02})
"""Lines per basket: 1..8, mostly small."""
QUANTITY: Final = lookup_table({1: 0.86, 2: 0.10, 3: 0.025, 4: 0.01, 6: 0.005})
"""Units per line: mostly one."""


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count (normal approximation above a mean of 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, int(rng.gauss(mean, math.sqrt(mean)) + 0.5))
    limit = math.exp(-mean)
    uniform = rng.random
    count = 0
    p = uniform()
    while p > limit:
        count += 1
        p *= uniform()
    return count


def pick_minute(rng: random.Random, cumulative: list[float]) -> int:
    """A minute index drawn in proportion to the weights whose running sum is `cumulative`."""
    return bisect_right(cumulative, rng.random() * cumulative[-1])


def basket(rng: random.Random, view: CatalogView, currency: str, size: int) -> tuple[list[dict[str, Any]], int, int]:
    """(lines, total cents, units) of `size` lines priced in `currency`."""
    bits = rng.getrandbits
    table = view.table
    ready = view.lines[currency]
    cents = view.cents[currency]
    lines = []
    total = 0
    units = 0
    for _ in range(size):
        draw = bits(24)  # low 16 bits: the product, high 8 bits: the quantity
        index = table[draw & 0xFFFF]
        quantity = QUANTITY[draw >> 16]
        if quantity == 1:
            lines.append(ready[index])
            total += cents[index]
            units += 1
        else:
            price = cents[index]
            lines.append({"product_id": view.ids[index], "quantity": quantity, "unit_price": price / 100})
            total += price * quantity
            units += quantity
    return lines, total, units
