"""Injected faults: parsing, realised rates, and what each fault does to delivery."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from shared.generator import FaultRates, GeneratedEvent, generate, parse_faults

START = datetime(2026, 11, 26, tzinfo=UTC)
MINUTE_MS = 60_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", FaultRates()),
        ("duplicate=0.05", FaultRates(duplicate=0.05)),
        (" late=1, malformed=0 ,out_of_order=0.5", FaultRates(late=1.0, out_of_order=0.5)),
        ("duplicate=1e-2", FaultRates(duplicate=0.01)),
    ],
)
def test_parse_faults(text: str, expected: FaultRates) -> None:
    assert parse_faults(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dupes=0.1", "unknown fault 'dupes' (known: duplicate, out_of_order, late, malformed)"),
        ("late=1.5", "fault rate late=1.5 must be from 0 to 1"),
        ("late=-0.1", "fault rate late=-0.1 must be from 0 to 1"),
        ("late=nan", "must be from 0 to 1"),
        ("late=often", "fault rate late='often' is not a number"),
        ("late", "fault 'late' needs a rate, e.g. late=0.01"),
        ("late=0.1,late=0.2", "fault 'late' given twice"),
    ],
)
def test_parse_faults_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_faults(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


RATES = FaultRates(duplicate=0.05, out_of_order=0.10, late=0.03, malformed=0.02)
COUNT = 40_000


@pytest.fixture(scope="module")
def faulty() -> list[GeneratedEvent]:
    return list(generate("txn", COUNT, seed=21, start=START, faults=RATES))


def test_realised_rates_match_the_requested_ones(faulty: list[GeneratedEvent]) -> None:
    assert len(faulty) == COUNT  # --count counts lines, faults included
    originals = [e for e in faulty if "duplicate" not in e.faults]
    n = len(originals)
    share = Counter(f.split(":")[0] for e in originals for f in e.faults)
    assert abs((COUNT - n) / n - RATES.duplicate) < 0.006
    assert abs(share["late"] / n - RATES.late) < 0.005
    assert abs(share["out_of_order"] / n - RATES.out_of_order) < 0.008
    assert abs(share["malformed"] / n - RATES.malformed) < 0.004


def test_duplicates_are_byte_identical_resends_that_come_later(faulty: list[GeneratedEvent]) -> None:
    first_seen: dict[bytes, int] = {}
    for position, event in enumerate(faulty):
        if "duplicate" in event.faults:
            assert first_seen.get(event.body, position) < position, "a resend precedes its original"
            assert event.body in first_seen
        else:
            first_seen.setdefault(event.body, position)


def test_late_events_arrive_minutes_to_two_days_after_their_time(faulty: list[GeneratedEvent]) -> None:
    late = [(i, e) for i, e in enumerate(faulty) if "late" in e.faults]
    assert late
    newest_before = 0
    newest: list[int] = []
    for e in faulty:
        newest.append(newest_before)
        newest_before = max(newest_before, e.event_ms)
    for position, event in late:
        lag = event.delivery_ms - event.event_ms
        assert 5 * MINUTE_MS <= lag <= 48 * 60 * MINUTE_MS
        assert newest[position] > event.event_ms  # newer events went before it


def test_out_of_order_events_are_displaced(faulty: list[GeneratedEvent]) -> None:
    newest = 0
    displaced = total = 0
    for e in faulty:
        if "out_of_order" in e.faults and "late" not in e.faults:
            total += 1
            displaced += newest > e.event_ms
        newest = max(newest, e.event_ms)
    assert total and displaced / total > 0.95


def test_clean_events_keep_delivery_order(faulty: list[GeneratedEvent]) -> None:
    clean = [e.delivery_ms for e in faulty[: COUNT // 2] if not e.faults]
    assert clean == sorted(clean)


def test_every_line_is_emitted_even_when_held_back_at_the_end() -> None:
    events = list(generate("cost", 200, seed=2, start=START, faults={"late": 1.0}))
    assert len(events) == 200 and all("late" in e.faults for e in events)
    events = list(generate("gov", 300, seed=2, start=START, faults={"out_of_order": 1.0, "duplicate": 1.0}))
    assert len(events) == 300
    assert sum("duplicate" in e.faults for e in events) == 150  # every original resent once
