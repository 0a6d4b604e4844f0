"""Loading the reference CSV folder: the happy path and every refusal, named by file, line, column."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from shared.reference import ReferenceDataError, load_reference

STORES = """\
store_id,name,region,country,timezone,valid_from,valid_to,currency,opens,closes,sunday_hours,channel
S1,Store One,NORTH,DE,Europe/Berlin,2026-01-01T00:00:00Z,2026-07-01T00:00:00+02:00,EUR,09:00,20:00,closed,store
S1,Store One,SOUTH,DE,Europe/Berlin,2026-07-01T00:00:00+02:00,,EUR,09:00,20:00,closed,store
S2,Store Two,UK,GB,Europe/London,2026-01-01T00:00:00Z,,GBP,09:00,20:00,11:00-17:00,store
WEB,Online,ONLINE,EU,Europe/Berlin,2026-01-01T00:00:00Z,,EUR,,,,
"""
PRODUCTS = """\
product_id,name,category,department,valid_from,valid_to,list_price
P1,Mug,Kitchen,Home,2026-01-01T00:00:00Z,,4.99
P2,Scarf,Accessories,Apparel,2026-01-01T00:00:00Z,2026-08-01T00:00:00Z,19.99
P2,Scarf,Outerwear,Apparel,2026-08-01T00:00:00Z,,
"""
FX = """\
date,currency,rate
2026-01-01,GBP,1.1420
2026-01-02,GBP,1.1431
2026-01-01,SEK,0.0915
"""


def write(folder: Path, stores: str = STORES, products: str = PRODUCTS, fx: str = FX) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "stores.csv").write_text(stores, encoding="utf-8")
    (folder / "products.csv").write_text(products, encoding="utf-8")
    (folder / "fx_rates.csv").write_text(fx, encoding="utf-8")
    return folder


def replace_line(text: str, line: int, old: str, new: str) -> str:
    lines = text.splitlines(keepends=True)
    assert old in lines[line - 1], (old, lines[line - 1])
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "".join(lines)


def test_loads_the_documented_format(tmp_path: Path) -> None:
    ref = load_reference(write(tmp_path))
    assert len(ref.stores) == 3 and len(ref.products) == 2 and len(ref.fx) == 3
    s2 = ref.stores.as_of("S2", datetime(2026, 3, 1, tzinfo=UTC))
    assert s2 is not None
    assert (s2.currency, s2.opens, s2.closes, s2.channel) == ("GBP", time(9), time(20), "store")
    assert (s2.sunday_opens, s2.sunday_closes, s2.closed_on_sunday) == (time(11), time(17), False)
    s1 = ref.stores.versions("S1")
    assert [v.region for v in s1] == ["NORTH", "SOUTH"]
    assert s1[0].valid_to == datetime(2026, 6, 30, 22, tzinfo=UTC)  # offsets normalised to UTC
    assert s1[0].closed_on_sunday
    web = ref.stores.versions("WEB")[0]
    assert web.channel == "web" and web.is_24h and web.currency == "EUR"  # channel inferred from the id
    assert ref.products.versions("P1")[0].list_price == Decimal("4.99")
    assert ref.products.versions("P2")[1].list_price is None
    assert ref.fx.rate("GBP", datetime(2026, 1, 5).date()) == Decimal("1.1431")
    assert ref.reporting_currency == "EUR"


def test_optional_columns_may_be_absent_and_unknown_ones_are_ignored(tmp_path: Path) -> None:
    stores = (
        "\ufeffregion,store_id,name,country,timezone,valid_from,valid_to,manager\n"
        "NORTH,S1,One,DE,Europe/Berlin,2026-01-01T00:00:00Z,,Anna\n"
        "\n"
        "ONLINE,APP,App,EU,UTC,2026-01-01T00:00:00Z,,\n"
    )
    ref = load_reference(write(tmp_path, stores=stores))
    s1 = ref.stores.versions("S1")[0]
    assert (s1.currency, s1.opens, s1.channel, s1.region) == (None, None, "store", "NORTH")
    assert ref.stores.versions("APP")[0].channel == "app"


def test_reporting_currency_is_rate_one(tmp_path: Path) -> None:
    ref = load_reference(write(tmp_path, fx=FX + "2026-01-01,EUR,1.0000\n"))
    assert ref.fx.rate("EUR", datetime(2020, 1, 1).date()) == Decimal(1)
    with pytest.raises(ValueError, match="ISO 4217"):
        load_reference(tmp_path, reporting_currency="euro")


def test_quoted_fields_may_contain_commas(tmp_path: Path) -> None:
    products = PRODUCTS + 'P3,"Mug, large",Kitchen,Home,2026-01-01T00:00:00Z,,6.49\n'
    ref = load_reference(write(tmp_path, products=products))
    assert ref.products.versions("P3")[0].name == "Mug, large"


# (file, edit of the good file, line, column, message fragment)
BAD = [
    ("stores.csv", (3, "Europe/Berlin", "Europe/Atlantis"), 3, "timezone", "unknown IANA time zone 'Europe/Atlantis'"),
    ("stores.csv", (4, "2026-01-01T00:00:00Z", "2026-01-01T00:00:00"), 4, "valid_from", "timestamp without offset"),
    ("stores.csv", (4, "2026-01-01T00:00:00Z", "2026-01-01"), 4, "valid_from", "timestamp without offset"),
    ("stores.csv", (4, "2026-01-01T00:00:00Z", "2026-13-01T00:00:00Z"), 4, "valid_from", "invalid timestamp"),
    ("stores.csv", (4, "2026-01-01T00:00:00Z", "yesterday"), 4, "valid_from", "not an RFC 3339 timestamp"),
    (
        "stores.csv",
        (2, "2026-07-01T00:00:00+02:00", "2025-07-01T00:00:00Z"),
        2,
        "valid_to",
        "valid_to must be after valid_from",
    ),
    (
        "stores.csv",
        (2, "2026-07-01T00:00:00+02:00", "2026-01-01T00:00:00Z"),
        2,
        "valid_to",
        "valid_to must be after valid_from",
    ),
    (
        "stores.csv",
        (3, "2026-07-01T00:00:00+02:00", "2026-06-30T00:00:00Z"),
        3,
        "valid_from",
        "version of 'S1' overlaps the one on line 2",
    ),
    ("stores.csv", (4, ",GB,", ",gb,"), 4, "country", "not an ISO 3166 country code"),
    ("stores.csv", (4, "GBP", "£"), 4, "currency", "not an ISO 4217 currency code"),
    ("stores.csv", (4, "09:00,20:00", "9am,20:00"), 4, "opens", "not a time HH:MM '9am'"),
    ("stores.csv", (4, "09:00,20:00", "09:00,"), 4, "closes", "opens and closes go together"),
    ("stores.csv", (4, "09:00,20:00", "20:00,09:00"), 4, "closes", "closing time must be after opening time"),
    ("stores.csv", (4, "11:00-17:00", "11-17"), 4, "sunday_hours", "not a time HH:MM"),
    ("stores.csv", (4, "11:00-17:00", "sometimes"), 4, "sunday_hours", "expected 'closed' or HH:MM-HH:MM"),
    ("stores.csv", (4, ",store", ",kiosk"), 4, "channel", "'kiosk' is not one of store, web, app"),
    ("stores.csv", (4, "Store Two", ""), 4, "name", "required value is empty"),
    ("stores.csv", (1, ",timezone", ",tz"), 1, "timezone", "required column missing from the header"),
    ("stores.csv", (1, ",channel", ",name"), 1, "name", "column named twice in the header"),
    ("products.csv", (2, "4.99", "4.999"), 2, "list_price", "at most 2 decimals allowed, got '4.999'"),
    ("products.csv", (2, "4.99", "4.9.9"), 2, "list_price", "not a decimal number"),
    ("products.csv", (2, "4.99", "-4.99"), 2, "list_price", "must be zero or more"),
    ("products.csv", (2, "4.99", "NaN"), 2, "list_price", "not a decimal number 'NaN'"),
    (
        "products.csv",
        (4, "2026-08-01T00:00:00Z,,", "2026-07-31T00:00:00Z,,"),
        4,
        "valid_from",
        "version of 'P2' overlaps the one on line 3",
    ),
    ("fx_rates.csv", (3, "1.1431", "1.14315"), 3, "rate", "at most 4 decimals allowed, got '1.14315'"),
    ("fx_rates.csv", (3, "1.1431", "0"), 3, "rate", "must be positive"),
    ("fx_rates.csv", (3, "1.1431", "1e3"), 3, "rate", "not a decimal number '1e3'"),
    ("fx_rates.csv", (3, "2026-01-02", "02/01/2026"), 3, "date", "not a date YYYY-MM-DD"),
    ("fx_rates.csv", (3, "2026-01-02", "2026-02-30"), 3, "date", "invalid date"),
    ("fx_rates.csv", (3, "2026-01-02", "2026-01-01"), 3, "date", "second GBP rate for 2026-01-01 (first on line 2)"),
    ("fx_rates.csv", (4, "SEK", "Sek"), 4, "currency", "not an ISO 4217 currency code"),
    ("fx_rates.csv", (4, "SEK", "XYZ"), 4, "currency", "XYZ is not an ISO 4217 currency code"),  # issue 16.9
    ("fx_rates.csv", (3, "1.1431", "1" * 29), 3, "rate", "is not plausible"),  # issue 16.8: 29 digits
]


@pytest.mark.parametrize(("file", "edit", "line", "column", "fragment"), BAD, ids=[f"{b[0]}:{b[4]}" for b in BAD])
def test_malformed_file_is_refused_naming_file_line_and_column(
    tmp_path: Path, file: str, edit: tuple[int, str, str], line: int, column: str, fragment: str
) -> None:
    texts = {"stores.csv": STORES, "products.csv": PRODUCTS, "fx_rates.csv": FX}
    texts[file] = replace_line(texts[file], *edit)
    write(tmp_path, texts["stores.csv"], texts["products.csv"], texts["fx_rates.csv"])
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(tmp_path)
    error = caught.value
    assert str(error).startswith(f"{file} line {line}, column {column}: "), str(error)
    assert fragment in str(error)
    assert (error.file, error.line, error.column) == (file, line, column)


def test_exact_message_for_an_unknown_time_zone(tmp_path: Path) -> None:
    write(tmp_path, stores=replace_line(STORES, 4, "Europe/London", "Europe/Atlantis"))
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(tmp_path)
    assert str(caught.value) == "stores.csv line 4, column timezone: unknown IANA time zone 'Europe/Atlantis'"


def test_reporting_currency_row_must_be_one(tmp_path: Path) -> None:
    write(tmp_path, fx=FX + "2026-01-01,EUR,1.1\n")
    with pytest.raises(ReferenceDataError, match=r"^fx_rates.csv line 5, column rate: the reporting currency EUR"):
        load_reference(tmp_path)


@pytest.mark.parametrize("missing", ["stores.csv", "products.csv", "fx_rates.csv"])
def test_missing_file(tmp_path: Path, missing: str) -> None:
    write(tmp_path)
    (tmp_path / missing).unlink()
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(tmp_path)
    assert str(caught.value) == f"{missing}: file not found in {tmp_path}"


def test_row_with_wrong_number_of_fields(tmp_path: Path) -> None:
    write(tmp_path, products=PRODUCTS + "P9,Too,Short\n")
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(tmp_path)
    assert str(caught.value) == "products.csv line 5: expected 7 fields, found 3"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "products.csv").write_bytes(PRODUCTS.encode() + b"P9,Caf\xe9,Food,Food,2026-01-01T00:00:00Z,,1.00\n")
    with pytest.raises(ReferenceDataError, match=r"^products.csv line 5: not valid UTF-8"):
        load_reference(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    write(tmp_path, fx="")
    with pytest.raises(ReferenceDataError, match=r"^fx_rates.csv line 1: empty file"):
        load_reference(tmp_path)


def test_an_unclosed_quote_is_reported_at_the_line_it_opens(tmp_path: Path) -> None:
    """Issue 16.8: the quote opened on line 2 runs to the end of the file; line 2 is named."""
    write(tmp_path, products=replace_line(PRODUCTS, 2, "P1,Mug", 'P1,"Mug'))
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(tmp_path)
    assert str(caught.value).startswith("products.csv line 2: ") and "not closed" in str(caught.value)
