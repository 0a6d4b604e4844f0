"""Pseudonymisation of personal identifiers with a keyed hash (HMAC-SHA256)."""

from __future__ import annotations

import hmac

__all__ = ["MIN_KEY_BYTES", "Pseudonymiser"]

MIN_KEY_BYTES = 32
"""NIST SP 800-107: an HMAC key at least as long as the hash output."""

_CACHE_LIMIT = 200_000


class Pseudonymiser:
    """Maps an identifier to a stable pseudonym; without the key it cannot be reversed or recomputed."""

    __slots__ = ("_cache", "_key")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the PII key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        self._key = key
        self._cache: dict[str, str] = {}

    def pseudonym(self, identifier: str) -> str:
        """Hex HMAC-SHA256 of `identifier`: the same input and key always give the same pseudonym."""
        cached = self._cache.get(identifier)
        if cached is not None:
            return cached
        value = hmac.digest(self._key, identifier.encode("utf-8"), "sha256").hex()  # one-shot, in C
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()  # customers repeat within hours; a cold cache only costs time
        self._cache[identifier] = value
        return value
