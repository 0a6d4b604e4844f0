"""Durations as people write them in the rules file: ``30s``, ``5m``, ``1h``, ``28d`` (units may combine: ``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Final

from pydantic import BeforeValidator, PlainSerializer

__all__ = ["Duration", "format_duration", "parse_duration"]

_PART: Final = re.compile(r"(\d+)([smhdw])")
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: object) -> timedelta:
    """``"1h30m"`` -> 90 minutes; ValueError with the accepted forms otherwise (a timedelta passes through)."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str) or not text or _PART.sub("", text) != "":
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h, 28d or 1h30m")
    return timedelta(seconds=sum(int(n) * _UNIT_S[unit] for n, unit in _PART.findall(text)))


def format_duration(value: timedelta) -> str:
    """The shortest spelling of `value` (``timedelta(minutes=90)`` -> ``1h30m``)."""
    seconds, parts = int(value.total_seconds()), []
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)]
"""A timedelta field written as ``5m`` in TOML and JSON."""
