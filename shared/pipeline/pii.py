"""Pseudonymisation of personal identifiers with a keyed hash (HMAC-SHA256)."""

from __future__ import annotations

import hashlib

__all__ = ["MIN_KEY_BYTES", "Pseudonymiser"]

MIN_KEY_BYTES = 32
"""NIST SP 800-107: an HMAC key at least as long as the hash output."""

_BLOCK = 64  # SHA-256's block size in bytes


class Pseudonymiser:
    """Maps an identifier to a stable pseudonym; without the key it cannot be reversed or recomputed."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the PII key must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
        # HMAC (RFC 2104) with the keyed inner and outer states computed once: each
        # pseudonym then copies two hash states instead of keying HMAC again (~2.7x faster
        # than hmac.digest; the tests check every output against the standard library).
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        padded = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def pseudonym(self, identifier: str) -> str:
        """Hex HMAC-SHA256 of `identifier`: the same input and key always give the same pseudonym.

        Not cached: at ~0.5 µs a pseudonym costs about what a cache look-up and insert
        do when most customers are new within a day (87% in the generated data), and no
        raw identifier stays in memory after its batch.
        """
        inner = self._inner.copy()
        inner.update(identifier.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()
