"""An SCD type 2 dimension: the version of a member valid at a given instant."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import pairwise
from typing import Generic, Protocol, TypeVar

__all__ = ["Dimension", "OverlappingVersionsError", "Versioned"]


class Versioned(Protocol):
    """A member version with a half-open validity ``[valid_from, valid_to)``."""

    @property
    def valid_from(self) -> datetime: ...

    @property
    def valid_to(self) -> datetime | None: ...


M = TypeVar("M", bound=Versioned)


class OverlappingVersionsError(ValueError):
    """Two versions of one key are valid at the same instant."""

    def __init__(self, key: str, earlier: Versioned, later: Versioned) -> None:
        self.key = key
        self.earlier = earlier
        self.later = later
        super().__init__(f"versions of {key!r} overlap")


class Dimension(Generic[M]):
    """Versions per key with an as-of lookup (``valid_from <= ts < valid_to``).

    Built for the ingest hot path: a key with a single version (nearly all of them)
    is one dict lookup and two comparisons; a key with history bisects its sorted
    start times. Timestamps should be aware; UTC ones compare fastest.
    """

    __slots__ = ("_history", "_keys", "_single")

    def __init__(self, members: Iterable[M], key: Callable[[M], str]) -> None:
        """Index `members`; raises `OverlappingVersionsError` when a key's versions overlap."""
        grouped: dict[str, list[M]] = {}
        for member in members:
            grouped.setdefault(key(member), []).append(member)
        self._single: dict[str, M] = {}
        self._history: dict[str, tuple[list[datetime], list[M]]] = {}
        for k, versions in grouped.items():
            versions.sort(key=lambda m: m.valid_from)
            for earlier, later in pairwise(versions):
                if earlier.valid_to is None or earlier.valid_to > later.valid_from:
                    raise OverlappingVersionsError(k, earlier, later)
            if len(versions) == 1:
                self._single[k] = versions[0]
            else:
                self._history[k] = ([m.valid_from for m in versions], versions)
        self._keys = list(grouped)

    def as_of(self, key: str, ts: datetime) -> M | None:
        """The version of `key` valid at `ts`, or None (unknown key, or no version then)."""
        member = self._single.get(key)
        if member is None:
            entry = self._history.get(key)
            if entry is None:
                return None
            index = bisect_right(entry[0], ts) - 1
            if index < 0:
                return None
            member = entry[1][index]
        elif ts < member.valid_from:
            return None
        valid_to = member.valid_to
        if valid_to is not None and ts >= valid_to:
            return None
        return member

    def single_versions(self) -> dict[str, M]:
        """The keys that have exactly one version, and that version (a copy: take it once).

        For hot loops that inline the as-of check: a member found here is valid at `ts`
        when ``valid_from <= ts`` and (``valid_to`` is None or ``ts < valid_to``); any
        other key needs `as_of`.
        """
        return dict(self._single)

    def versions(self, key: str) -> tuple[M, ...]:
        """Every version of `key`, oldest first (empty for an unknown key)."""
        member = self._single.get(key)
        if member is not None:
            return (member,)
        entry = self._history.get(key)
        return tuple(entry[1]) if entry else ()

    def keys(self) -> list[str]:
        """The distinct keys, in order of their first appearance."""
        return list(self._keys)

    def members(self) -> Iterator[M]:
        """Every version of every key."""
        yield from self._single.values()
        for _, versions in self._history.values():
            yield from versions

    def __contains__(self, key: object) -> bool:
        return key in self._single or key in self._history

    def __len__(self) -> int:
        """The number of distinct keys (not versions)."""
        return len(self._keys)
