"""The Azure key-encryption key of dead letters: an RSA key in Key Vault, used through its crypto API.

`KeyVaultKeyWrapper` implements `shared.pipeline.sealing.KeyWrapper` with
``azure-keyvault-keys``' `CryptographyClient`: wrap and unwrap run in Key Vault
(RSA-OAEP-256), so the private key never reaches the app. The key id in the setting
is versionless; each wrapped data key records the key *version* that wrapped it, so
a rotated key still unwraps older letters (old versions stay enabled until every
letter sealed under them has expired, 30 days). The app's identity holds
``Key Vault Crypto User`` on this one key, and nothing else may unwrap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Final

from azure.keyvault.keys.crypto import CryptographyClient, KeyWrapAlgorithm

from shared.pipeline.sealing import SealError, WrappedKey

__all__ = ["WRAP_ALGORITHM", "KeyVaultKeyWrapper"]

WRAP_ALGORITHM: Final = KeyWrapAlgorithm.rsa_oaep_256


class KeyVaultKeyWrapper:
    """Wraps with the current version of `key_id`; unwraps with the version recorded in the letter."""

    def __init__(
        self, key_id: str, credential: Any, client_for: Callable[[str], CryptographyClient] | None = None
    ) -> None:
        self._key_id = key_id.rstrip("/")
        self._client_for = client_for or (lambda kid: CryptographyClient(kid, credential))
        self._clients: dict[str, CryptographyClient] = {}
        self._lock = threading.Lock()

    def _client(self, key_id: str) -> CryptographyClient:
        with self._lock:
            client = self._clients.get(key_id)
            if client is None:
                client = self._clients[key_id] = self._client_for(key_id)
            return client

    def wrap(self, data_key: bytes) -> WrappedKey:
        result = self._client(self._key_id).wrap_key(WRAP_ALGORITHM, data_key)
        return WrappedKey(str(result.key_id or self._key_id), WRAP_ALGORITHM.value, result.encrypted_key)

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        # Only versions of the configured key: a document naming another vault must not get the app's token.
        if wrapped.key_id != self._key_id and not wrapped.key_id.startswith(self._key_id + "/"):
            raise SealError(f"sealed with key {wrapped.key_id}, not a version of {self._key_id}")
        result = self._client(wrapped.key_id).unwrap_key(KeyWrapAlgorithm(wrapped.algorithm), wrapped.value)
        return bytes(result.key)
