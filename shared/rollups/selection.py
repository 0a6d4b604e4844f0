"""KPI rows between two bounds: the one rule behind ``pulse kpis --from/--to`` and ``GET /api/kpis?from=&to=``.

A bound names a window: ``from`` the first window shown (the one that contains the
instant), ``to`` the first window left out, so ``from <= window < to`` per window:

- ``minute`` / ``hour``: an RFC 3339 timestamp with an offset (`shared.timestamps`);
  its UTC minute or hour is the window (``10:05:59+01:00`` -> ``09:05Z``).
- ``day`` (the store-local business date): a date ``YYYY-MM-DD`` is that business
  date; a timestamp names the business date it falls on *in the member's business
  time*: a store's own time zone, a region's or the chain's (and a channel's)
  reference zone (the zone most of its current stores use, as on the live page), so
  ``2026-11-27T00:00:00Z`` is 2026-11-27 in Berlin and 2026-11-26 in New York.

A bad value raises `BoundError` naming the parameter; both the CLI (exit 2) and the
API (400) show its message as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from shared.kpis.formulas import window_start
from shared.kpis.state import Grain, Scope
from shared.reference import ReferenceData
from shared.rollups.query import kpi_rows
from shared.stores.port import DocumentStore
from shared.timestamps import parse_rfc3339
from shared.web.directory import Directory

__all__ = ["BoundError", "WindowBound", "parse_bound", "select_kpi_rows"]

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_EXAMPLE: Final = "2026-11-26T10:00:00Z"


class BoundError(ValueError):
    """A ``from`` / ``to`` value that names no window; `parameter` is ``from`` or ``to``."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class WindowBound:
    """A parsed bound: an instant, or (grain ``day`` only) a business date as written."""

    instant: datetime | None
    day: date | None

    def window(self, grain: Grain, zone: str) -> str:
        """The window this bound names for a member whose business time zone is `zone`."""
        if grain == "day":
            if self.day is not None:
                return self.day.isoformat()
            assert self.instant is not None
            return self.instant.astimezone(ZoneInfo(zone)).date().isoformat()
        assert self.instant is not None
        return window_start(grain, self.instant)


def parse_bound(parameter: str, text: str | None, grain: Grain) -> WindowBound | None:
    """`text` as a bound of `grain` (None when absent); `BoundError` naming `parameter` otherwise."""
    if text is None:
        return None
    if grain == "day" and _DATE.fullmatch(text):
        try:
            return WindowBound(None, date.fromisoformat(text))
        except ValueError:
            raise BoundError(parameter, f"'{parameter}': no such date {text!r}") from None
    try:
        return WindowBound(parse_rfc3339(text), None)
    except ValueError:
        dates = " or a business date YYYY-MM-DD" if grain == "day" else ""
        message = f"'{parameter}' must be an RFC 3339 timestamp with an offset (e.g. {_EXAMPLE}){dates}, not {text!r}"
        raise BoundError(parameter, message) from None


def select_kpi_rows(
    store: DocumentStore,
    reference: ReferenceData,
    scope: Scope,
    grain: Grain,
    now: datetime,
    *,
    key: str | None = None,
    window_from: str | None = None,
    window_to: str | None = None,
) -> list[dict[str, Any]]:
    """KPI rows of `scope` at `grain` (ordered by key, window) with ``from <= window < to`` (module rule)."""
    lo, hi = parse_bound("from", window_from, grain), parse_bound("to", window_to, grain)
    directory = Directory.from_reference(reference, now)

    def zone(member: str) -> str:
        return directory.zone_of(scope, member)

    if lo is not None and hi is not None and lo.window(grain, zone(key or "")) >= hi.window(grain, zone(key or "")):
        raise BoundError("to", "'to' must name a later window than 'from' (the range is from <= window < to)")
    if grain != "day" or all(b is None or b.day is not None for b in (lo, hi)):  # the same windows for every member
        first = None if lo is None else lo.window(grain, "UTC")
        end = None if hi is None else hi.window(grain, "UTC")
        return kpi_rows(store, scope, grain, now, key=key, window_from=first, window_to=end)
    # A timestamp's business date depends on the member's zone (UTC-12..+14): read a day wider, filter per row.
    first = None if lo is None else _widened(lo, -1)
    end = None if hi is None else _widened(hi, 2)
    rows = kpi_rows(store, scope, grain, now, key=key, window_from=first, window_to=end)
    return [
        row
        for row in rows
        if (lo is None or row["window"] >= lo.window(grain, zone(row["key"])))
        and (hi is None or row["window"] < hi.window(grain, zone(row["key"])))
    ]


def _widened(bound: WindowBound, days: int) -> str:
    if bound.day is not None:
        return (bound.day + timedelta(days=days)).isoformat()
    assert bound.instant is not None
    return (bound.instant.astimezone(UTC).date() + timedelta(days=days)).isoformat()
