"""Where capture blobs live: a small port with a folder adapter (Blob Storage in `shared.sources.capture_blob`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

__all__ = ["BlobReader", "CaptureStore", "FolderCaptureStore"]


class BlobReader(Protocol):
    """A forward-only binary stream (what fastavro needs), closed by `with`."""

    def read(self, size: int = -1, /) -> bytes: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None: ...


class CaptureStore(Protocol):
    """A flat namespace of blobs (names with ``/``), as a Blob Storage container is."""

    def list_names(self, prefix: str = "") -> Iterator[str]:
        """Names starting with `prefix`, in any order."""
        ...

    def open_read(self, name: str) -> BlobReader:
        """A readable binary stream of the blob (streamed, not loaded whole); close it after use."""
        ...

    def write(self, name: str, data: bytes) -> None:
        """Create the blob `name` with `data`; FileExistsError if it exists (captures are immutable)."""
        ...

    def delete(self, name: str) -> None:
        """Remove a blob (tests and retention only)."""
        ...


class FolderCaptureStore:
    """Blobs as files below `root` (the embedded raw zone, default ``var/capture``)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def list_names(self, prefix: str = "") -> Iterator[str]:
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file():
                name = path.relative_to(self.root).as_posix()
                if name.startswith(prefix):
                    yield name

    def open_read(self, name: str) -> BlobReader:
        return (self.root / name).open("rb")

    def write(self, name: str, data: bytes) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        if path.exists():
            tmp.unlink()
            raise FileExistsError(name)
        os.replace(tmp, path)  # a reader never sees half a file

    def delete(self, name: str) -> None:
        (self.root / name).unlink()

    def __repr__(self) -> str:
        return f"FolderCaptureStore({str(self.root)!r})"
