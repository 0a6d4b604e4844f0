"""The alert state machine, pure: one observation in, the next state and the transition (if any) out.

States: ``normal`` -> ``pending`` (condition holds, waiting `for`) -> ``firing`` ->
``recovering`` (condition cleared, still firing for `keep_firing_for`) -> ``resolved``
(notified, then back to ``normal`` at the next evaluation), plus ``no_data`` (nothing to
evaluate, per the rule's `on_no_data`) and ``error`` (the evaluation failed).

An *episode* starts each time the alert begins firing (or enters no-data/error); its
number is part of the alert id, so one problem is one alert however often it is
evaluated, on however many instances.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final, Literal

__all__ = [
    "NOTIFIED_STATES",
    "AlertState",
    "Instance",
    "Observation",
    "Outcome",
    "Step",
    "Timing",
    "step",
]

AlertState = Literal["normal", "pending", "firing", "recovering", "resolved", "no_data", "error"]
Outcome = Literal["active", "inactive", "no_data", "error"]

NOTIFIED_STATES: Final[frozenset[str]] = frozenset({"firing", "resolved", "no_data", "error"})
"""Entering one of these sends a message; the other transitions are history only."""
_HOT: Final = frozenset({"firing", "recovering"})


@dataclass(frozen=True, slots=True)
class Timing:
    """The durations of a rule that the machine needs."""

    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class Observation:
    """What the condition gave for one scope at one evaluation."""

    outcome: Outcome
    value: float | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Instance:
    """The stored state of one (rule, scope)."""

    state: AlertState = "normal"
    since: datetime | None = None
    """When the current state was entered."""
    active_since: datetime | None = None
    """When the condition started to hold (pending and firing)."""
    episode: int = 0
    seq: int = 0
    """Transitions so far (the history document of each is numbered by it)."""
    value: float | None = None

    @property
    def hot(self) -> bool:
        """Firing or recovering: hysteresis uses the clear threshold."""
        return self.state in _HOT


@dataclass(frozen=True, slots=True)
class Step:
    """The result of one evaluation: the new instance, and the transition when the state changed."""

    instance: Instance
    previous: AlertState
    changed: bool

    @property
    def notify(self) -> bool:
        """True when this transition is sent to receivers (a relapse while recovering is not news)."""
        relapse = self.previous == "recovering" and self.instance.state == "firing"
        return self.changed and self.instance.state in NOTIFIED_STATES and not relapse


def _to(current: Instance, state: AlertState, now: datetime, obs: Observation, *, new_episode: bool = False) -> Step:
    episode = current.episode + 1 if new_episode else current.episode
    if state in ("pending", "firing", "recovering"):
        active_since = current.active_since if current.state in ("pending", "firing", "recovering") else now
    else:
        active_since = None
    nxt = Instance(state, now, active_since, episode, current.seq + 1, obs.value)
    return Step(nxt, current.state, True)


def step(current: Instance, obs: Observation, now: datetime, timing: Timing) -> Step:
    """The next state of `current` after `obs` at `now` (`obs.outcome` already applied the rule's policies)."""
    state = current.state
    if obs.outcome in ("no_data", "error"):
        if state == obs.outcome:
            return Step(replace(current, value=obs.value), state, False)
        return _to(current, obs.outcome, now, obs, new_episode=True)
    if state in ("resolved", "no_data", "error"):
        # resolved lasts one evaluation; leaving no-data or error ends its episode quietly
        if obs.outcome == "inactive":
            return _to(current, "normal", now, obs)
        current = replace(current, state="normal")
    if obs.outcome == "active":
        return _active(current, obs, now, timing)
    return _inactive(current, obs, now, timing)


def _active(current: Instance, obs: Observation, now: datetime, timing: Timing) -> Step:
    state = current.state
    if state == "normal":
        if timing.for_ <= timedelta(0):
            return _to(current, "firing", now, obs, new_episode=True)
        return _to(current, "pending", now, obs)
    if state == "pending":
        assert current.active_since is not None
        if now - current.active_since >= timing.for_:
            return _to(current, "firing", now, obs, new_episode=True)
        return Step(replace(current, value=obs.value), state, False)
    if state == "recovering":
        return _to(current, "firing", now, obs)  # the same episode: no new message
    return Step(replace(current, value=obs.value), state, False)  # firing stays firing


def _inactive(current: Instance, obs: Observation, now: datetime, timing: Timing) -> Step:
    state = current.state
    if state == "pending":
        return _to(current, "normal", now, obs)
    if state == "firing":
        if timing.keep_firing_for > timedelta(0):
            return _to(current, "recovering", now, obs)
        return _to(current, "resolved", now, obs)
    if state == "recovering":
        assert current.since is not None
        if now - current.since >= timing.keep_firing_for:
            return _to(current, "resolved", now, obs)
        return Step(replace(current, value=obs.value), state, False)
    return Step(replace(current, value=obs.value), state, False)
