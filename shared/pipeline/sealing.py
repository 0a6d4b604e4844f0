"""Envelope encryption of dead-letter bodies: AES-256-GCM data keys, wrapped by a key-encryption key.

A dead letter keeps its raw bytes for an exact replay, and those bytes may hold a
customer id in clear (a body that failed validation was never pseudonymised). They
are stored sealed: AES-256-GCM under a data key, with the dead letter's id as
associated data (a sealed body cannot be moved to another letter); the data key is
stored only wrapped by a key-encryption key (KEK) that never leaves its home:

* Azure: an RSA key in Key Vault; the app's identity may wrap and unwrap with it,
  nobody with data-plane read on Cosmos DB can (`shared.stores.key_vault_keys`).
* Embedded: a 256-bit key file (AES key wrap, RFC 3394), created on first use.

Both sit behind `KeyWrapper`; `BodySealer` is the one code path. A data key serves
`max_uses` letters (well inside AES-GCM's 2**32 random-nonce bound), so the KEK is
called once per data key, not once per letter; unwrapped keys are cached for replay.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

__all__ = ["AesKeyWrap", "BodySealer", "KeyWrapper", "SealError", "WrappedKey", "local_key_file"]

ALGORITHM: Final = "A256GCM"
DATA_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
LOCAL_WRAP: Final = "A256KW"
_UNWRAPPED_CACHE: Final = 64


class SealError(ValueError):
    """A sealed body cannot be opened (wrong key, tampered, or not a sealed body)."""


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key wrapped by the KEK `key_id` with `algorithm`."""

    key_id: str
    algorithm: str
    value: bytes


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys with a key-encryption key it never reveals."""

    def wrap(self, data_key: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey) -> bytes: ...


class AesKeyWrap:
    """A KEK held in memory (AES key wrap): the embedded key file's, or a process's throw-away one."""

    def __init__(self, kek: bytes, key_id: str) -> None:
        if len(kek) != DATA_KEY_BYTES:
            raise SealError(f"a key-encryption key is exactly {DATA_KEY_BYTES} bytes, got {len(kek)}")
        self._kek = kek
        self.key_id = key_id

    def wrap(self, data_key: bytes) -> WrappedKey:
        return WrappedKey(self.key_id, LOCAL_WRAP, aes_key_wrap(self._kek, data_key))

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        if wrapped.key_id != self.key_id or wrapped.algorithm != LOCAL_WRAP:
            raise SealError(f"sealed with key {wrapped.key_id}, not with {self.key_id}")
        try:
            return aes_key_unwrap(self._kek, wrapped.value)
        except InvalidUnwrap:
            raise SealError("the data key does not unwrap with this key") from None


def local_key_file(path: Path) -> AesKeyWrap:
    """The embedded KEK: 32 random bytes in `path`, readable by its owner only (created when missing)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process created it first
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(DATA_KEY_BYTES))
    kek = path.read_bytes()
    if len(kek) != DATA_KEY_BYTES:
        raise SealError(f"{path}: a dead-letter key file holds exactly {DATA_KEY_BYTES} bytes, not {len(kek)}")
    return AesKeyWrap(kek, "file:sha256:" + hashlib.sha256(kek).hexdigest()[:16])


class BodySealer:
    """Seals bodies under a current data key; opens any body whose wrapped key its `KeyWrapper` can unwrap."""

    def __init__(self, wrapper: KeyWrapper, *, max_uses: int = 100_000) -> None:
        self._wrapper = wrapper
        self._max_uses = max_uses
        self._lock = threading.Lock()
        self._current: tuple[AESGCM, WrappedKey] | None = None
        self._uses = 0
        self._opened: OrderedDict[bytes, AESGCM] = OrderedDict()

    @classmethod
    def ephemeral(cls) -> BodySealer:
        """A sealer whose KEK lives only in this process: its letters cannot be replayed after it ends.

        The default of a handler built without a key (tests, benchmarks): bodies are
        still never stored in clear.
        """
        return cls(AesKeyWrap(secrets.token_bytes(DATA_KEY_BYTES), f"ephemeral:{secrets.token_hex(8)}"))

    def seal(self, body: bytes, associated: str) -> dict[str, Any]:
        """The sealed form of `body`, bound to `associated` (the dead letter's id): JSON-ready."""
        aead, wrapped = self._data_key()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return {
            "alg": ALGORITHM,
            "kek": wrapped.key_id,
            "kek_alg": wrapped.algorithm,
            "wrapped_key": _b64(wrapped.value),
            "nonce": _b64(nonce),
            "ciphertext": _b64(aead.encrypt(nonce, body, associated.encode("utf-8"))),
        }

    def open(self, sealed: dict[str, Any], associated: str) -> bytes:
        """The body `seal` sealed with the same `associated` text; `SealError` otherwise."""
        try:
            if sealed["alg"] != ALGORITHM:
                raise SealError(f"unknown sealing algorithm {sealed['alg']!r}")
            wrapped = WrappedKey(sealed["kek"], sealed["kek_alg"], base64.b64decode(sealed["wrapped_key"]))
            nonce, ciphertext = base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ciphertext"])
        except (KeyError, TypeError, ValueError) as exc:
            raise SealError(f"not a sealed body ({exc})") from None
        try:
            return self._aead_for(wrapped).decrypt(nonce, ciphertext, associated.encode("utf-8"))
        except InvalidTag:
            raise SealError("the sealed body does not open: tampered, or sealed for another dead letter") from None

    def _data_key(self) -> tuple[AESGCM, WrappedKey]:
        with self._lock:
            if self._current is None or self._uses >= self._max_uses:
                data_key = AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8)
                self._current = (AESGCM(data_key), self._wrapper.wrap(data_key))
                self._uses = 0
            self._uses += 1
            return self._current

    def _aead_for(self, wrapped: WrappedKey) -> AESGCM:
        cache_key = wrapped.key_id.encode() + b"|" + wrapped.value
        with self._lock:
            cached = self._opened.get(cache_key)
            if cached is not None:
                self._opened.move_to_end(cache_key)
                return cached
        aead = AESGCM(self._wrapper.unwrap(wrapped))
        with self._lock:
            self._opened[cache_key] = aead
            while len(self._opened) > _UNWRAPPED_CACHE:
                self._opened.popitem(last=False)
        return aead


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
