"""What changed between two sets of KPI rows (a blue/green rebuild against the live store), per KPI and window."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["IGNORED_FIELDS", "kpi_differences"]

IGNORED_FIELDS = frozenset({"as_of"})
"""`as_of` is when a row was computed, not what it says: a rebuild computes it again."""
_ROW_KEY = ("scope", "key", "grain", "window")


def kpi_differences(a: Iterable[dict[str, Any]], b: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (row, KPI) whose value differs, or whose row exists on one side only (value None there)."""
    left = {tuple(row[k] for k in _ROW_KEY): row for row in a}
    right = {tuple(row[k] for k in _ROW_KEY): row for row in b}
    out: list[dict[str, Any]] = []
    for row_key in sorted(left.keys() | right.keys(), key=lambda k: tuple(str(p) for p in k)):
        old, new = left.get(row_key, {}), right.get(row_key, {})
        for name in sorted((old.keys() | new.keys()) - IGNORED_FIELDS - set(_ROW_KEY)):
            if old.get(name) != new.get(name):
                out.append(
                    dict(zip(_ROW_KEY, row_key, strict=True)) | {"kpi": name, "a": old.get(name), "b": new.get(name)}
                )
    return out
