"""Counts in words for people: ``1 dead letter``, ``2 dead letters``, ``1,000 messages``."""

from __future__ import annotations

__all__ = ["count_of"]


def count_of(number: int, singular: str, plural: str | None = None) -> str:
    """`number` with thousands separators and the noun in the right number (``plural`` defaults to ``singular + s``)."""
    return f"{number:,} {singular if number == 1 else (plural or singular + 's')}"
