"""Build the demo reference set in `shared/reference/demo/` (deterministic).

Run ``python -m shared.reference.build_demo`` to regenerate the shipped CSV files;
a unit test checks they equal what this module renders.

The chain: 60 stores in six regions of four countries (DE/EUR, GB/GBP, SE/SEK,
PL/PLN; four IANA zones), plus the WEB and APP shops (region ONLINE); 2,000
products in 12 categories of 5 departments with EUR list prices; daily FX for GBP,
USD, SEK and PLN into EUR over 2026-2027. Some members have SCD2 history so that
as-of lookups matter: a store moves region, one relocates, one closes, one opens,
one extends its hours; products are recategorised, renamed, launched, retired.
"""

from __future__ import annotations

import csv
import io
import math
import random
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Final

from shared.reference.loader import (
    FX_COLUMNS,
    PRODUCT_COLUMNS,
    PRODUCT_OPTIONAL_COLUMNS,
    STORE_COLUMNS,
    STORE_OPTIONAL_COLUMNS,
    demo_reference_dir,
)

__all__ = ["main", "render"]

_SEED: Final = 20260101
HISTORY_START: Final = "2020-01-01T00:00:00Z"
FX_FIRST: Final = date(2026, 1, 1)
FX_LAST: Final = date(2027, 12, 31)

# country: (currency, time zone, weekday hours, Sunday hours, source of the store ids)
COUNTRIES: Final = {
    "DE": ("EUR", "Europe/Berlin", ("09:30", "20:00"), "closed"),
    "GB": ("GBP", "Europe/London", ("09:00", "20:00"), "11:00-17:00"),
    "SE": ("SEK", "Europe/Stockholm", ("10:00", "20:00"), "11:00-18:00"),
    "PL": ("PLN", "Europe/Warsaw", ("09:00", "21:00"), "closed"),
}

# region: (country, cities)
REGIONS: Final = {
    "DE_NORTH": (
        "DE",
        [
            "Hamburg Altona",
            "Hamburg Wandsbek",
            "Berlin Mitte",
            "Berlin Steglitz",
            "Bremen",
            "Hannover",
            "Kiel",
            "Lübeck",
            "Rostock",
            "Leipzig",
            "Dresden",
            "Kassel",
        ],
    ),
    "DE_SOUTH": (
        "DE",
        [
            "München Marienplatz",
            "München Pasing",
            "Stuttgart",
            "Nürnberg",
            "Augsburg",
            "Frankfurt Zeil",
            "Mannheim",
            "Karlsruhe",
            "Freiburg",
            "Regensburg",
            "Würzburg",
            "Ulm",
        ],
    ),
    "UK_SOUTH": (
        "GB",
        [
            "London Oxford Street",
            "London Stratford",
            "Brighton",
            "Bristol Broadmead",
            "Reading",
            "Southampton",
            "Oxford",
            "Cambridge",
            "Croydon",
        ],
    ),
    "UK_NORTH": ("GB", ["Manchester", "Leeds", "Liverpool", "Newcastle", "Sheffield", "Glasgow", "Edinburgh"]),
    "NORDICS": (
        "SE",
        [
            "Stockholm Drottninggatan",
            "Stockholm Kista",
            "Göteborg",
            "Malmö",
            "Uppsala",
            "Västerås",
            "Örebro",
            "Linköping",
            "Helsingborg",
            "Norrköping",
        ],
    ),
    "CEE": (
        "PL",
        [
            "Warszawa Złote Tarasy",
            "Warszawa Mokotów",
            "Kraków",
            "Wrocław",
            "Poznań",
            "Gdańsk",
            "Łódź",
            "Katowice",
            "Szczecin",
            "Lublin",
        ],
    ),
}

# category: (department, EUR price range, adjectives, nouns, share of the catalogue)
CATEGORIES: Final = {
    "Womenswear": (
        "Apparel",
        (12.99, 129.0),
        ["Linen", "Satin", "Ribbed", "Wool-Blend", "Pleated", "Organic"],
        ["Wrap Dress", "Blouse", "Midi Skirt", "Cardigan", "Trench Coat", "Wide-Leg Trousers"],
        14,
    ),
    "Menswear": (
        "Apparel",
        (12.99, 149.0),
        ["Slim", "Oxford", "Merino", "Relaxed", "Stretch", "Quilted"],
        ["Shirt", "Chinos", "Jumper", "Blazer", "Parka", "Polo"],
        12,
    ),
    "Kidswear": (
        "Apparel",
        (5.99, 49.0),
        ["Cosy", "Printed", "Striped", "Waterproof", "Soft", "Playful"],
        ["Romper", "Hoodie", "Leggings", "Rain Jacket", "Pyjamas", "T-Shirt"],
        9,
    ),
    "Footwear": (
        "Apparel",
        (19.99, 159.0),
        ["Leather", "Suede", "Running", "Chunky", "Canvas", "Waterproof"],
        ["Sneakers", "Ankle Boots", "Loafers", "Sandals", "Trainers", "Slippers"],
        8,
    ),
    "Accessories": (
        "Apparel",
        (4.99, 59.0),
        ["Knitted", "Leather", "Silk", "Woven", "Minimal", "Recycled"],
        ["Scarf", "Belt", "Tote Bag", "Beanie", "Wallet", "Sunglasses"],
        9,
    ),
    "Kitchen & Dining": (
        "Home",
        (2.99, 149.0),
        ["Stoneware", "Enamel", "Glass", "Cast-Iron", "Bamboo", "Steel"],
        ["Mug", "Dinner Plate", "Casserole", "Knife Set", "Carafe", "Serving Bowl"],
        10,
    ),
    "Home Textiles": (
        "Home",
        (7.99, 129.0),
        ["Cotton", "Linen", "Velvet", "Waffle", "Chunky-Knit", "Percale"],
        ["Duvet Cover", "Bath Towel", "Throw", "Cushion Cover", "Curtain", "Tablecloth"],
        8,
    ),
    "Home Decor": (
        "Home",
        (3.99, 89.0),
        ["Ceramic", "Rattan", "Brass", "Oak", "Scented", "Marble"],
        ["Vase", "Candle", "Photo Frame", "Mirror", "Planter", "Lamp"],
        8,
    ),
    "Skincare": (
        "Beauty",
        (3.49, 59.0),
        ["Hydrating", "Gentle", "Vitamin C", "Night", "Calming", "Daily"],
        ["Face Cream", "Serum", "Cleanser", "Lip Balm", "Sun Lotion", "Hand Cream"],
        7,
    ),
    "Fragrance": (
        "Beauty",
        (14.99, 119.0),
        ["Amber", "Citrus", "Oud", "Fresh", "Floral", "Woody"],
        ["Eau de Parfum", "Eau de Toilette", "Body Mist", "Gift Set", "Room Spray", "Perfume Oil"],
        5,
    ),
    "Audio & Tech": (
        "Electronics",
        (9.99, 249.0),
        ["Wireless", "Compact", "Noise-Cancelling", "Smart", "Fast", "Portable"],
        ["Earbuds", "Speaker", "Charger", "Power Bank", "Headphones", "Fitness Band"],
        6,
    ),
    "Coffee & Sweets": (
        "Food",
        (1.49, 14.99),
        ["Dark", "Salted", "Organic", "Roasted", "Hazelnut", "Spiced"],
        ["Chocolate Bar", "Coffee Beans", "Biscuits", "Pralines", "Tea Tin", "Fudge"],
        4,
    ),
}
COLOURS: Final = [
    "Black",
    "White",
    "Navy",
    "Sage",
    "Sand",
    "Rust",
    "Grey",
    "Blush",
    "Olive",
    "Ivory",
    "Teal",
    "Charcoal",
    "Mustard",
    "Plum",
    "Stone",
    "Denim",
]

# currency: (EUR per unit on 2026-01-01, daily volatility, long-run level)
FX_START: Final = {
    "GBP": (1.1420, 0.0030, 1.14),
    "USD": (0.8610, 0.0045, 0.86),
    "SEK": (0.0915, 0.0040, 0.092),
    "PLN": (0.2365, 0.0030, 0.236),
}


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _store_rows(rng: random.Random) -> list[list[str]]:
    rows: list[list[str]] = []
    numbers = dict.fromkeys(COUNTRIES, 0)
    for region, (country, cities) in REGIONS.items():
        currency, zone, (opens, closes), sunday = COUNTRIES[country]
        for city in cities:
            numbers[country] += 1
            store_id = f"{country}{numbers[country]:03d}"
            late_close = closes if rng.random() < 0.7 else f"{int(closes[:2]) + 1}:00"
            size = rng.choice(range(900, 4100, 50))
            base = [
                store_id,
                f"Pulse {city}",
                region,
                country,
                zone,
                HISTORY_START,
                "",
                currency,
                opens,
                late_close,
                sunday,
                "store",
                city.split(" ")[0],
                str(size),
            ]
            rows.extend(_store_history(store_id, base))
    for store_id, channel in (("WEB", "web"), ("APP", "app")):
        rows.append(
            [
                store_id,
                f"Pulse online shop ({channel})",
                "ONLINE",
                "EU",
                "Europe/Berlin",
                HISTORY_START,
                "",
                "EUR",
                "",
                "",
                "",
                channel,
                "",
                "",
            ]
        )
    return rows


def _store_history(store_id: str, base: list[str]) -> list[list[str]]:
    """The SCD2 versions of one store: most have one, a few have a story."""
    vf, vt, name, region, closes, size = 5, 6, 1, 2, 9, 13

    def version(start: str, end: str, **changes: str) -> list[str]:
        row = list(base)
        row[vf], row[vt] = start, end
        for column, value in changes.items():
            row[{"name": name, "region": region, "closes": closes, "size": size}[column]] = value
        return row

    if store_id == "DE012":  # Kassel is moved to the southern region at a reorganisation
        cut = "2026-06-30T22:00:00Z"
        return [version(HISTORY_START, cut), version(cut, "", region="DE_SOUTH")]
    if store_id == "GB004":  # Bristol relocates from Broadmead to Cabot Circus, a bigger unit
        cut = "2026-03-15T00:00:00Z"
        return [version(HISTORY_START, cut), version(cut, "", name="Pulse Bristol Cabot Circus", size="3200")]
    if store_id == "DE003":  # Berlin Mitte extends its hours
        cut = "2026-03-31T22:00:00Z"
        return [version(HISTORY_START, cut, closes="20:00"), version(cut, "", closes="21:00")]
    if store_id == "SE010":  # Norrköping closes for good
        return [version(HISTORY_START, "2026-09-30T22:00:00Z")]
    if store_id == "PL010":  # Lublin is a new opening
        return [version("2026-10-15T22:00:00Z", "")]
    return [base]


def _price(rng: random.Random, low: float, high: float) -> Decimal:
    euros = math.exp(rng.uniform(math.log(low), math.log(high)))
    whole = max(int(euros), 1)
    ending = rng.choice(("0.99", "0.99", "0.99", "0.95", "0.49", "0.00"))
    price = Decimal(whole) + Decimal(ending) if ending != "0.00" else Decimal(whole + 1)
    return price.quantize(Decimal("0.01"))


def _product_rows(rng: random.Random, count: int = 2000) -> list[list[str]]:
    names = list(CATEGORIES)
    weights = [CATEGORIES[c][4] for c in names]
    assigned = [names[i % len(names)] for i in range(len(names))]  # every category present
    assigned += rng.choices(names, weights=weights, k=count - len(names))
    rng.shuffle(assigned)
    rows: list[list[str]] = []
    for number, category in enumerate(assigned, start=1):
        department, (low, high), adjectives, nouns, _ = CATEGORIES[category]
        product_id = f"P{number:05d}"
        name = f"{rng.choice(adjectives)} {rng.choice(nouns)} {rng.choice(COLOURS)}"
        price = str(_price(rng, low, high))
        row = [product_id, name, category, department, HISTORY_START, "", price]
        rows.extend(_product_history(number, row))
    return rows


def _product_history(number: int, row: list[str]) -> list[list[str]]:
    """A few products have history: recategorised, renamed, launched mid-year, retired."""
    if number % 250 == 7:  # recategorised: fitness bands and the like move to tech
        cut = "2026-08-01T00:00:00Z"
        moved = [*row[:2], "Audio & Tech", "Electronics", cut, "", row[6]]
        return [[*row[:5], cut, row[6]], moved]
    if number % 500 == 11:  # renamed at a rebrand
        cut = "2026-03-01T00:00:00Z"
        return [[*row[:5], cut, row[6]], [row[0], f"{row[1]} (new edition)", *row[2:4], cut, "", row[6]]]
    if number % 100 == 42:  # autumn collection launch
        return [[*row[:4], "2026-09-01T00:00:00Z", "", row[6]]]
    if number % 100 == 58:  # retired at the end of the summer season
        return [[*row[:5], "2026-07-31T22:00:00Z", row[6]]]
    return [row]


def _fx_rows(rng: random.Random) -> list[list[str]]:
    rows: list[list[str]] = []
    levels = {c: start for c, (start, _, _) in FX_START.items()}
    day = FX_FIRST
    while day <= FX_LAST:
        if day.weekday() < 5 and day != FX_FIRST:  # markets move on weekdays; weekends keep Friday's fix
            for currency, (_, volatility, anchor) in FX_START.items():
                pull = 0.02 * math.log(anchor / levels[currency])  # mean reversion keeps the walk plausible
                levels[currency] *= math.exp(pull + rng.gauss(0.0, volatility))
        for currency in FX_START:
            rate = Decimal(levels[currency]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
            rows.append([day.isoformat(), currency, str(rate)])
        day += timedelta(days=1)
    return rows


def render() -> dict[str, str]:
    """The demo files' exact contents, by file name."""
    rng = random.Random(_SEED)
    return {
        "stores.csv": _csv_text([*STORE_COLUMNS, *STORE_OPTIONAL_COLUMNS], _store_rows(rng)),
        "products.csv": _csv_text([*PRODUCT_COLUMNS, *PRODUCT_OPTIONAL_COLUMNS], _product_rows(rng)),
        "fx_rates.csv": _csv_text(list(FX_COLUMNS), _fx_rows(rng)),
        "targets.csv": _csv_text(["scope", "key", "kpi", "daily_target"], _DEMO_TARGETS),
    }


_DEMO_TARGETS: Final = [  # illustrative daily targets (a weekday's order of magnitude at scale 1)
    ["chain", "ALL", "net_sales", "2600000"],
    ["chain", "ALL", "transactions", "31000"],
    ["chain", "ALL", "on_time_rate", "0.95"],
    ["region", "DE_NORTH", "net_sales", "560000"],
    ["region", "UK_SOUTH", "net_sales", "420000"],
    ["store", "DE001", "net_sales", "48000"],
    ["store", "DE001", "conversion_rate", "0.25"],
]


def main(folder: Path | None = None) -> None:
    """Write the demo files to `folder` (default: the shipped demo folder)."""
    target = folder or demo_reference_dir()
    target.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (target / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {target / name}")


if __name__ == "__main__":
    main()
