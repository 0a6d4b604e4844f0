"""`open_store` URL forms (the Cosmos forms against a server are in tests/integration)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.stores import SqliteDocumentStore, WriteOp, open_store


def test_sqlite_url_with_an_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "abs.db"
    with open_store(f"sqlite://{path}") as store:
        assert isinstance(store, SqliteDocumentStore) and store.path == path
        store.write_many("views", [WriteOp.create({"id": "a", "pk": "s1"})])
    assert path.exists()


def test_sqlite_url_with_a_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:var.db") as store:
        store.create("views", {"id": "a", "pk": "s1"})
    assert (tmp_path / "var.db").exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "needs a file path"),
        ("sqlite://host/x.db", "needs a file path"),
        ("postgres://x/y", "unsupported store URL"),
        ("cosmos://?database=x", "has no host"),
        ("cosmos://127.0.0.1:1?databse=x", r"unknown store URL parameter\(s\) \['databse'\]"),
        ("cosmos://127.0.0.1:1?emulator=podman", "emulator must be 'npm' or 'docker'"),
    ],
)
def test_bad_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_store(url)
