"""The pure state machine: every path, with exact sequences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.alerts.machine import Instance, Observation, Outcome, Timing, step

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def _run(outcomes: list[Outcome], timing: Timing) -> list[tuple[int, str]]:
    """(minute, new state) of every transition."""
    instance, out = Instance(), []
    for minute, outcome in enumerate(outcomes):
        result = step(instance, Observation(outcome, float(minute)), T0 + timedelta(minutes=minute), timing)
        if result.changed:
            out.append((minute, result.instance.state))
        instance = result.instance
    return out


def test_pending_fires_only_after_for() -> None:
    timing = Timing(for_=timedelta(minutes=3))
    assert _run(["active", "active", "inactive", "active", "active", "active", "active"], timing) == [
        (0, "pending"),
        (2, "normal"),
        (3, "pending"),
        (6, "firing"),
    ]


def test_recovering_keeps_firing_and_a_relapse_is_the_same_episode() -> None:
    timing = Timing(keep_firing_for=timedelta(minutes=2))
    instance, states = Instance(), []
    for minute, outcome in enumerate(["active", "inactive", "active", "inactive", "inactive", "inactive", "inactive"]):
        result = step(instance, Observation(outcome), T0 + timedelta(minutes=minute), timing)
        instance = result.instance
        states.append((instance.state, instance.episode, result.notify))
    assert states == [
        ("firing", 1, True),
        ("recovering", 1, False),
        ("firing", 1, False),  # back within keep_firing_for: no new message
        ("recovering", 1, False),
        ("recovering", 1, False),
        ("resolved", 1, True),
        ("normal", 1, False),
    ]


def test_no_data_and_error_are_states_with_their_own_episode() -> None:
    assert _run(["no_data", "no_data", "active", "error", "inactive"], Timing()) == [
        (0, "no_data"),
        (2, "firing"),
        (3, "error"),
        (4, "normal"),
    ]
    instance = Instance()
    for outcome in ("no_data", "active", "error"):
        instance = step(instance, Observation(outcome), T0, Timing()).instance
    assert instance.episode == 3 and instance.seq == 3
