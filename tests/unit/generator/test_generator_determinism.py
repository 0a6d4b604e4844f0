"""Same seed, same start, same arguments: the same bytes. Anything else: different ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from shared.generator import FaultRates, generate, stream
from shared.topology import SOURCES

START = datetime(2026, 11, 26, tzinfo=UTC)
FAULTS = FaultRates(duplicate=0.05, out_of_order=0.05, late=0.02, malformed=0.02)


def bodies(*args: object, **kwargs: object) -> list[bytes]:
    return [e.body for e in generate(*args, **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("source", [*SOURCES, "all"])
def test_same_arguments_give_identical_bytes(source: str) -> None:
    first = bodies(source, 3000, 42, START, faults=FAULTS)
    assert len(first) == 3000
    assert first == bodies(source, 3000, 42, START, faults=FAULTS)


def test_another_seed_or_start_differs() -> None:
    base = bodies("txn", 2000, 42, START)
    assert bodies("txn", 2000, 43, START) != base
    assert bodies("txn", 2000, 42, START + timedelta(days=1)) != base
    assert len(set(bodies("txn", 2000, 43, START)) & set(base)) == 0


def test_stream_is_the_endless_form_of_generate() -> None:
    assert [e.body for e in islice(stream("all", 3, START), 5000)] == bodies("all", 5000, 3, START)
    faulty = list(islice(stream("txn", 3, START, faults={"duplicate": 0.1}), 2000))
    assert sum("duplicate" in e.faults for e in faulty) > 100


def test_a_later_start_is_the_tail_of_an_earlier_one() -> None:
    early = list(generate("txn", 6000, 8, START))
    later_start = START + timedelta(hours=7, minutes=30)
    later = list(generate("txn", 2000, 8, later_start))
    tail = [e.body for e in early if e.event_time >= later_start][:2000]
    assert len(tail) == 2000 and [e.body for e in later] == tail


def test_a_source_looks_the_same_alone_or_in_the_mix() -> None:
    mixed = [e.body for e in generate("all", 20_000, 4, START) if e.source == "txn"]
    assert mixed and mixed == bodies("txn", len(mixed), 4, START)


def test_zero_rates_change_nothing() -> None:
    clean = list(generate("txn", 1000, 1, START))
    assert all(e.faults == () for e in clean)
    assert [e.body for e in clean] == bodies("txn", 1000, 1, START, faults=FaultRates())


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown source 'pos'"):
        generate("pos", 1, 1, START)
    with pytest.raises(ValueError, match="count"):
        generate("txn", -1, 1, START)
    with pytest.raises(ValueError, match="offset"):
        generate("txn", 1, 1, datetime(2026, 11, 26))
    with pytest.raises(ValueError, match="scale"):
        generate("txn", 1, 1, START, scale=0)
