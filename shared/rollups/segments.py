"""Segments: counters split by the store's region, channel and local date, and the conversion rule.

A store-level window is kept as segments so that a parent takes exactly its part:
a region takes the segments of its region, a store's day the segments of that date.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Final

from shared.engine.bounds import MAX_STORED_INT

__all__ = [
    "ALL_SEGMENT",
    "Segments",
    "merge_segments",
    "segment_parts",
    "select",
    "sum_counters",
    "total",
    "with_conversion",
]

logger = logging.getLogger(__name__)

ALL_SEGMENT: Final = "*"
"""The single segment of region, channel and chain documents."""

Segments = dict[str, dict[str, int]]


def segment_parts(segment: str) -> tuple[str, str, str]:
    """``region|channel|date`` -> (region, channel, date)."""
    region, channel, day = segment.split("|")
    return region, channel, day


def merge_segments(parts: Iterable[Mapping[str, Mapping[str, int]]]) -> Segments:
    """Sum segment maps counter by counter."""
    out: Segments = {}
    for part in parts:
        for segment, counters in part.items():
            into = out.setdefault(segment, {})
            for name, value in counters.items():
                into[name] = into.get(name, 0) + value
    for segment, counters in out.items():
        _hold_bound(segment, counters)
    return out


def _hold_bound(segment: str, counters: dict[str, int]) -> None:
    """Checked after every sum: a counter past the stores' exact range holds the bound."""
    for name, value in counters.items():
        if value > MAX_STORED_INT:
            logger.error("%s of segment %s sums to %d: held at %d", name, segment, value, MAX_STORED_INT)
            counters[name] = MAX_STORED_INT


def select(
    segments: Mapping[str, Mapping[str, int]],
    *,
    region: str | None = None,
    channel: str | None = None,
    day: str | None = None,
) -> Segments:
    """The segments matching every given attribute."""
    out: Segments = {}
    for segment, counters in segments.items():
        seg_region, seg_channel, seg_day = segment_parts(segment)
        if region is not None and seg_region != region:
            continue
        if channel is not None and seg_channel != channel:
            continue
        if day is not None and seg_day != day:
            continue
        out[segment] = dict(counters)
    return out


def total(segments: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """All segments summed into one counter map (what `merge_segments` gives for one segment).

    On every read path (the page, the alert rules' windows, `pulse kpis`), most documents
    have one or two segments: summed in place, without a map per segment.
    """
    parts = iter(segments.values())
    out = dict(next(parts, {}))
    for counters in parts:
        for name, value in counters.items():
            out[name] = out.get(name, 0) + value
    _hold_bound(ALL_SEGMENT, out)
    return out


def sum_counters(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """Counter maps summed into one (missing counters count as 0), held at the stores' bound like `total`."""
    out: dict[str, int] = {}
    for counters in parts:
        for name, value in counters.items():
            out[name] = out.get(name, 0) + value
    _hold_bound(ALL_SEGMENT, out)
    return out


def with_conversion(counters: Mapping[str, int]) -> dict[str, int]:
    """A store's counters with `conv_sales`: its sales count toward conversion only if it counted visitors."""
    out = {k: v for k, v in counters.items() if k != "conv_sales"}
    out["conv_sales"] = out.get("sales", 0) if out.get("traffic_reports", 0) > 0 else 0
    return out
