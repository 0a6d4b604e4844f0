"""The demo's simulated clock: a new file's clock waits at its ``--start`` during the fast-forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.cli.demo import SimulatedClock

START = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Wall:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_running_clock_moves_at_its_speed() -> None:
    wall = Wall()
    clock = SimulatedClock(START, 60.0, wall)
    wall.now += 2.0
    assert clock() == START + timedelta(minutes=2)


def test_a_held_clock_stands_at_its_start_until_it_runs() -> None:
    wall = Wall()
    clock = SimulatedClock(START, 60.0, wall, held=True)
    wall.now += 17.8  # a fast-forward of the day so far
    assert clock() == START
    clock.run()
    wall.now += 5.0
    assert clock() == START + timedelta(minutes=5)
    clock.run()  # a second call changes nothing
    assert clock() == START + timedelta(minutes=5)
