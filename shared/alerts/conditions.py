"""Each rule kind's condition: per scope key, is it active, inactive, or without data — and the value why.

Pure given a `Signals` snapshot. `states` maps the scope keys that have an alert
state document to their state: a hot (firing or recovering) alert clears only past
the `clear` threshold (hysteresis), and a key without a document that stays inactive
gets the shared `QUIET` observation — no text built, nothing written: with 500 rules
over 1,000 stores that is nearly every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Final

from shared.alerts.machine import Observation
from shared.alerts.rules import RuleSpec
from shared.alerts.signals import Signals, Value
from shared.engine.windows import minute_of
from shared.sla.durations import format_duration
from shared.sla.slos import SloSpec

__all__ = ["LAST_WEEK", "QUIET", "apply_no_data_policy", "observe"]

LAST_WEEK: Final = timedelta(days=7)
QUIET: Final = Observation("inactive")
"""Inactive, for a key that never alerted: the evaluator skips it."""
_HOT: Final = frozenset({"firing", "recovering"})
_RETAIL: Final = frozenset({"net_sales", "transactions", "on_time_rate"})


def observe(rule: RuleSpec, signals: Signals, slo: SloSpec | None, states: Mapping[str, str]) -> dict[str, Observation]:
    """The observation of every scope key of `rule` (keys without data are no-data)."""
    if rule.kind == "threshold":
        return _threshold(rule, _metric(rule, signals), signals.members(rule.scope), states)
    if rule.kind == "burn_rate":
        assert slo is not None
        return _burn_rate(rule, signals, slo)
    if rule.kind == "heartbeat":
        return _heartbeat(rule, signals, states)
    if rule.kind == "anomaly":
        return _anomaly(rule, signals, states)
    return _rate_of_change(rule, signals, states)


def apply_no_data_policy(rule: RuleSpec, obs: Observation, hot: bool) -> Observation:
    """Map a no-data observation by the rule's `on_no_data` (``keep``: as it was)."""
    if obs.outcome != "no_data" or rule.on_no_data == "no_data":
        return obs
    if rule.on_no_data == "ok":
        return Observation("inactive", None, "no data (treated as OK)")
    if rule.on_no_data == "alerting":
        return Observation("active", None, "no data (treated as alerting)")
    return Observation("active" if hot else "inactive", None, "no data (state kept)")


def _metric(rule: RuleSpec, signals: Signals, shift: timedelta = timedelta(0)) -> dict[str, Value]:
    assert rule.metric is not None
    if rule.metric == "overdue_backlog":  # no open order is a backlog of 0, not missing data
        values = signals.backlog(rule.scope)
        return {key: values.get(key, (0.0, 0.0)) for key in signals.members(rule.scope)}
    if rule.metric in _RETAIL:
        values = signals.retail(rule.metric, rule.scope, rule.over, shift=shift)
        if rule.metric != "on_time_rate":  # sums are 0, not missing, for a member without documents
            values = {key: values.get(key, (0.0, 0.0)) for key in signals.members(rule.scope)}
        return values
    return signals.platform(rule.metric, rule.scope, rule.over, shift=shift)


def _threshold(
    rule: RuleSpec, values: dict[str, Value], keys: list[str], states: Mapping[str, str]
) -> dict[str, Observation]:
    out: dict[str, Observation] = {}
    for key in keys:
        value, volume = values.get(key, (None, 0.0))
        if value is None:
            out[key] = Observation("no_data", None, f"no {rule.metric} in the last {format_duration(rule.over)}")
            continue
        if volume < rule.min_volume:  # too few events for the ratio to mean anything
            out[key] = (
                QUIET
                if key not in states
                else Observation("inactive", value, f"{rule.metric} {value:g} on {volume:g} (< {rule.min_volume:g})")
            )
            continue
        state = states.get(key)
        is_hot = state in _HOT
        if rule.above is not None:
            line = rule.clear if is_hot and rule.clear is not None else rule.above
            active = value > line
            if not active and state is None:
                out[key] = QUIET
                continue
            detail = f"{rule.metric} {value:g} {'>' if active else '<='} {line:g}"
        else:
            assert rule.below is not None
            line = rule.clear if is_hot and rule.clear is not None else rule.below
            active = value < line
            if not active and state is None:
                out[key] = QUIET
                continue
            detail = f"{rule.metric} {value:g} {'<' if active else '>='} {line:g}"
        out[key] = Observation("active" if active else "inactive", value, detail)
    return out


def _burn_rate(rule: RuleSpec, signals: Signals, slo: SloSpec) -> dict[str, Observation]:
    """Burn rate = error rate / (1 - target); active when both windows burn faster than `factor`."""
    assert rule.factor is not None and slo.source is not None
    budget = 1 - slo.target
    burns = []
    for window in (rule.long, rule.short):
        good, total = signals.slo_counts(slo, window)
        burns.append(None if total == 0 else (total - good) / total / budget)
    long_burn, short_burn = burns
    if long_burn is None or short_burn is None:
        return {
            slo.source: Observation(
                "no_data", None, f"no {slo.source} events in the last {format_duration(rule.short)}"
            )
        }
    active = long_burn >= rule.factor and short_burn >= rule.factor
    long_text, short_text = format_duration(rule.long), format_duration(rule.short)
    detail = f"burn {long_burn:.1f}x over {long_text}, {short_burn:.1f}x over {short_text} (alert at {rule.factor:g}x)"
    return {slo.source: Observation("active" if active else "inactive", round(min(long_burn, short_burn), 4), detail)}


def _heartbeat(rule: RuleSpec, signals: Signals, states: Mapping[str, str]) -> dict[str, Observation]:
    """Silent for `silent_for` while it should be sending; a store outside its hours is never active."""
    since = signals.now - rule.silent_for
    # Silence means something only once the pipeline has been receiving (any source for a source
    # heartbeat, this source for stores) for the whole window: a fresh start is not an outage.
    first = signals.first_seen(None if rule.scope == "source" else rule.source)
    if first is None or first > minute_of(since):
        keys = [rule.source] if rule.scope == "source" else list(signals.stores)
        quiet = Observation("inactive", None, f"no history before {since:%H:%M}")
        return {key: quiet if key in states else QUIET for key in keys}
    if rule.scope == "source":
        value, _ = signals.platform("received", "source", rule.silent_for, through_now=True)[rule.source]
        detail = f"{value or 0:g} messages in {format_duration(rule.silent_for)}"
        return {rule.source: Observation("active" if not value else "inactive", value, detail)}
    sending = signals.active_stores(rule.source, since)
    silent_for = format_duration(rule.silent_for)
    # With `min_volume`, a store is expected to be heard only if the hour before the window had that many
    # events: a quiet store's 20 empty minutes are chance (Poisson), a busy one's are an outage.
    expected = None if not rule.min_volume else signals.busy_stores(rule.source, since, rule.min_volume)
    quiet_store = Observation("inactive", None, f"fewer than {rule.min_volume:g} {rule.source} in the hour before")
    closed = Observation("inactive", None, "closed")
    seen = Observation("inactive", None, f"{rule.source} seen in the last {silent_for}")
    silent = Observation("active", None, f"no {rule.source} for {silent_for} while open")
    out: dict[str, Observation] = {}
    for key, store in signals.stores.items():
        if key in sending:
            out[key] = seen if key in states else QUIET
        elif not signals.open_throughout(store, since):
            out[key] = closed if key in states else QUIET
        elif expected is not None and key not in expected:
            out[key] = quiet_store if key in states else QUIET
        else:
            out[key] = silent
    return out


def _anomaly(rule: RuleSpec, signals: Signals, states: Mapping[str, str]) -> dict[str, Observation]:
    """This window vs the same window a week earlier: the same local hour for a store (DST-safe)."""
    assert rule.drop is not None
    now_values = _metric(rule, signals)
    before = _metric(rule, signals, shift=LAST_WEEK)
    if rule.scope == "store":
        before = {**before, **_last_week_local(rule, signals)}
    out: dict[str, Observation] = {}
    for key in signals.members(rule.scope):
        value, _ = now_values.get(key, (None, 0.0))
        past, _volume = before.get(key, (None, 0.0))
        if value is None or past is None or past < rule.min_volume:
            out[key] = (
                QUIET
                if key not in states
                else Observation(
                    "inactive", value, f"last week {past if past is not None else 0:g} below {rule.min_volume:g}"
                )
            )
            continue
        change = (value - past) / past
        active = change <= -rule.drop
        if not active and key not in states:
            out[key] = QUIET
            continue
        out[key] = Observation(
            "active" if active else "inactive", value, f"{value:g} vs {past:g} a week ago ({change:+.0%})"
        )
    return out


def _last_week_local(rule: RuleSpec, signals: Signals) -> dict[str, Value]:
    """Stores whose local clock moved (DST) in the last week: their window a local week back."""
    shifts: dict[str, timedelta] = {}
    out: dict[str, Value] = {}
    for key, store in signals.stores.items():
        shift = shifts.get(store.timezone)
        if shift is None:  # one computation per time zone, not per store
            zone = store.zone
            wall = signals.now.astimezone(zone).replace(tzinfo=None)
            shift = shifts[store.timezone] = signals.now - (wall - LAST_WEEK).replace(tzinfo=zone)
        if shift != LAST_WEEK:
            out[key] = _metric(rule, signals, shift=shift).get(key, (0.0, 0.0))
    return out


def _rate_of_change(rule: RuleSpec, signals: Signals, states: Mapping[str, str]) -> dict[str, Observation]:
    """This window vs the one before it."""
    assert rule.factor is not None
    current = _metric(rule, signals)
    previous = _metric(rule, signals, shift=rule.over)
    out: dict[str, Observation] = {}
    for key in signals.members(rule.scope) if rule.scope != "source" else current:
        value, _ = current.get(key, (None, 0.0))
        past, _ = previous.get(key, (None, 0.0))
        if value is None:
            out[key] = Observation("no_data", None, f"no {rule.metric} in the last {format_duration(rule.over)}")
        elif past is None:  # nothing to compare with (the previous window had no data)
            out[key] = Observation("inactive", value, f"no baseline in the previous {format_duration(rule.over)}")
        elif value < rule.min_volume:
            out[key] = Observation("inactive", value, f"{value:g} below the minimum {rule.min_volume:g}")
        else:
            ratio = value / past if past else float("inf")
            if ratio < rule.factor and key not in states:
                out[key] = QUIET
                continue
            versus = f"{ratio:.1f}x the previous" if past else "up from 0 in the previous"
            out[key] = Observation(
                "active" if ratio >= rule.factor else "inactive",
                value,
                f"{value:g}, {versus} {format_duration(rule.over)}",
            )
    return out
