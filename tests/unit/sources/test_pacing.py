"""The paced sender: the target rate, periodic flushes, and never ahead of the wall clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.generator import GeneratedEvent
from shared.sources.pacing import send_paced

BASE_MS = 1_800_000_000_000


class Clock:
    """Monotonic and wall clock that only move when the sender sleeps."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def wall_ms(self) -> int:
        return BASE_MS + int(self.t * 1000)

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.t += seconds


class Sink:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.added: list[tuple[float, str, bytes]] = []
        self.flushes: list[float] = []

    def add(self, source: str, partition_key: str, body: bytes) -> bool:
        self.added.append((self.clock.t, partition_key, body))
        return True

    def flush(self) -> None:
        self.flushes.append(self.clock.t)


def _events(delivery_ms: Iterator[int]) -> Iterator[GeneratedEvent]:
    for i, at in enumerate(delivery_ms):
        yield GeneratedEvent("txn", f"S{i % 3}", b"%d" % i, at, at)


def _past() -> Iterator[int]:
    i = 0
    while True:
        yield BASE_MS - 3_600_000 + i
        i += 1


def test_sends_at_the_target_rate_for_the_duration_and_flushes_every_second() -> None:
    clock = Clock()
    sink = Sink(clock)
    ticks: list[int] = []
    report = send_paced(
        _events(_past()), sink, rate=100, duration_s=5, clock=clock.monotonic, wall_ms=clock.wall_ms,
        sleep=clock.sleep, on_tick=lambda handed, _: ticks.append(handed),
    )  # fmt: skip
    assert 495 <= report.handed_over == len(sink.added) <= 501
    assert not report.exhausted and report.held_s == 0 and report.elapsed_s == pytest.approx(5)
    assert [round(t) for t in sink.flushes] == [1, 2, 3, 4, 5]  # four ticks and the final flush
    assert len(ticks) == 4 and ticks == sorted(ticks)
    per_second = [sum(1 for t, _, _ in sink.added if s <= t < s + 1) for s in range(5)]
    assert all(99 <= n <= 101 for n in per_second)


def test_never_sends_an_event_before_its_delivery_time() -> None:
    clock = Clock()
    sink = Sink(clock)
    live = iter([BASE_MS - 1000, BASE_MS + 2500, BASE_MS + 2600, BASE_MS + 9000])
    report = send_paced(
        _events(live), sink, rate=1000, duration_s=4, clock=clock.monotonic, wall_ms=clock.wall_ms, sleep=clock.sleep
    )
    sent_at = [t for t, _, _ in sink.added]
    assert sent_at[0] == 0 and sent_at[1] >= 2.5 and sent_at[2] >= 2.6 and len(sent_at) == 3
    assert report.held_s == pytest.approx(4 - 0.001, abs=0.01)


def test_an_exhausted_stream_ends_early_and_flushes() -> None:
    clock = Clock()
    sink = Sink(clock)
    report = send_paced(
        _events(iter(range(BASE_MS - 10, BASE_MS))), sink, rate=5, duration_s=60,
        clock=clock.monotonic, wall_ms=clock.wall_ms, sleep=clock.sleep,
    )  # fmt: skip
    assert report.exhausted and report.handed_over == 10 and sink.flushes[-1] == clock.t and clock.t < 3


@pytest.mark.parametrize(("rate", "duration"), [(0, 1), (1, 0), (-5, 1)])
def test_rate_and_duration_must_be_positive(rate: float, duration: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        send_paced(iter([]), Sink(Clock()), rate, duration)
