"""Capture blobs in Azure Blob Storage / ADLS Gen2 (the raw zone) or Azurite, through azure-storage-blob.

`open_capture_store(url)` chooses by the URL:

* ``https://<account>.blob.core.windows.net/<container>`` (or ``.dfs.``): Entra ID through
  `DefaultAzureCredential` (managed identity in Azure, your sign-in locally); the
  raw zone has shared keys switched off.
* ``http://127.0.0.1:<port>/devstoreaccount1/<container>``: Azurite, with its
  published development key, only on loopback.
* anything else: a folder (the embedded capture, default ``var/capture``).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import ContainerClient

from shared.capture.port import BlobReader, CaptureStore, FolderCaptureStore

__all__ = ["AZURITE_ACCOUNT", "BlobCaptureStore", "open_capture_store"]

AZURITE_ACCOUNT = "devstoreaccount1"
_AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""Azurite's published development key (documented by Microsoft; not a secret)."""
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class BlobCaptureStore:
    """A `CaptureStore` over one blob container."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def list_names(self, prefix: str = "") -> Iterator[str]:
        for blob in self._container.list_blobs(name_starts_with=prefix or None):
            yield str(blob.name)

    def open_read(self, name: str) -> BlobReader:
        return _BlobStream(self._container, name)

    def write(self, name: str, data: bytes) -> None:
        try:
            self._container.upload_blob(name, data, overwrite=False)
        except ResourceExistsError:
            raise FileExistsError(name) from None

    def delete(self, name: str) -> None:
        self._container.delete_blob(name)

    def ensure_container(self) -> None:
        """Create the container if it is missing (Azurite and tests; infra creates it in Azure)."""
        with contextlib.suppress(ResourceExistsError):
            self._container.create_container()

    def __repr__(self) -> str:
        return f"BlobCaptureStore({self._container.url!r})"


class _BlobStream:
    """A forward-only binary stream over a blob, downloaded in chunks (memory bounded by the chunk size)."""

    def __init__(self, container: ContainerClient, name: str) -> None:
        self._chunks = container.download_blob(name).chunks()
        self._current = io.BytesIO()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1, /) -> bytes:
        parts: list[bytes] = []
        need = size
        while need != 0:
            data = self._current.read(need)
            if data:
                parts.append(data)
                need = need - len(data) if need > 0 else need
                continue
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._current = io.BytesIO(chunk)
        return b"".join(parts)

    def close(self) -> None:
        self._current = io.BytesIO()

    def __enter__(self) -> _BlobStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_capture_store(url: str, *, create: bool = False) -> CaptureStore:
    """The capture store `url` names (module docstring); `create` makes a missing container (Azurite)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return FolderCaptureStore(url)
    segments = [s for s in parts.path.split("/") if s]
    host = parts.hostname or ""
    if parts.scheme == "http":
        if host not in _LOOPBACK or len(segments) != 2 or segments[0] != AZURITE_ACCOUNT:
            raise ValueError(f"plain http is only for Azurite on loopback: http://127.0.0.1:PORT/{AZURITE_ACCOUNT}/C")
        account_url = f"http://{parts.netloc}/{AZURITE_ACCOUNT}"
        container = ContainerClient(account_url, segments[1], credential=_azurite_credential())
    else:
        if len(segments) != 1:
            raise ValueError(
                f"capture URL needs exactly one container: https://ACCOUNT.blob.core.windows.net/C, not {url}"
            )
        from azure.identity import DefaultAzureCredential

        container = ContainerClient(f"https://{parts.netloc}", segments[0], credential=DefaultAzureCredential())
    store = BlobCaptureStore(container)
    if create:
        store.ensure_container()
    return store


def _azurite_credential() -> dict[str, str]:
    return {"account_name": AZURITE_ACCOUNT, "account_key": _AZURITE_KEY}
