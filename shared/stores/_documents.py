"""Helpers both adapters share: container specs, partition keys, system properties."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from shared.stores.port import Document, Scalar
from shared.topology import CONTAINERS, ContainerSpec

__all__ = [
    "SYSTEM_FIELDS",
    "check_field",
    "check_fields",
    "check_filters",
    "container_spec",
    "partition_key_field",
    "partition_key_of",
    "user_body",
]

SYSTEM_FIELDS = frozenset({"_etag", "_ts", "_lsn", "_rid", "_self", "_attachments"})
"""Properties the store owns; stripped from what callers write."""
_SYSTEM_FIELDS_LIST = tuple(sorted(SYSTEM_FIELDS))

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def container_spec(container: str) -> ContainerSpec:
    """The spec of a container of the design; ValueError names an unknown one."""
    try:
        return CONTAINERS[container]
    except KeyError:
        raise ValueError(f"unknown container {container!r}; known: {sorted(CONTAINERS)}") from None


def partition_key_field(container: str) -> str:
    """Top-level field holding the partition key value (``/pk`` -> ``pk``)."""
    path = container_spec(container).partition_key_path
    return path.removeprefix("/")


def partition_key_of(container: str, doc: Mapping[str, object], field: str | None = None) -> str:
    """The partition key value of `doc`; ValueError if `id` or the key is missing.

    `field` may pass `partition_key_field(container)` when the caller already has it.
    """
    field = field or partition_key_field(container)
    doc_id, pk = doc.get("id"), doc.get(field)
    if not isinstance(doc_id, str) or not doc_id:
        raise ValueError(f"a document of {container!r} needs a non-empty string 'id'")
    if not isinstance(pk, str) or not pk:
        raise ValueError(f"document {doc_id!r} of {container!r} needs a non-empty string {field!r}")
    return pk


def user_body(doc: Mapping[str, object]) -> Document:
    """A shallow copy of `doc` without the store-owned system properties."""
    body = dict(doc)
    for name in _SYSTEM_FIELDS_LIST:  # six look-ups; a set intersection walked every key of the body
        body.pop(name, None)
    return body


def check_field(name: str) -> str:
    """Return `name` if it is a plain identifier (safe to put in SQL), else ValueError."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"query field {name!r} must match [A-Za-z_][A-Za-z0-9_]*")
    return name


def check_filters(
    where: Mapping[str, Scalar] | None,
    where_range: Mapping[str, tuple[Scalar | None, Scalar | None]] | None,
    order_by: str | None,
    limit: int | None,
) -> None:
    """Validate `DocumentStore.query` arguments the same way for both adapters."""
    for name, value in (where or {}).items():
        check_field(name)
        if value is None or not isinstance(value, str | int | float | bool):
            raise ValueError(f"where[{name!r}] must be a str, int, float or bool, not {value!r}")
    for name, bounds in (where_range or {}).items():
        check_field(name)
        if len(bounds) != 2:
            raise ValueError(f"where_range[{name!r}] must be a (lo, hi) pair")
    if order_by is not None:
        check_field(order_by.removeprefix("-"))
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative int, not {limit!r}")


def check_fields(fields: Sequence[str] | None) -> tuple[str, ...] | None:
    """The projection of `DocumentStore.query`: identifiers, ``id`` first, each once (None: whole documents)."""
    if fields is None:
        return None
    if isinstance(fields, str):
        raise ValueError("fields must be a sequence of field names, not one string")
    names = ["id", *(check_field(name) for name in fields if name != "id")]
    return tuple(dict.fromkeys(names))


def check_unique_keys(keys: list[tuple[str, str]], what: str) -> None:
    """ValueError naming the first `(pk, id)` that appears twice in one `what` call."""
    if len(set(keys)) != len(keys):
        seen: set[tuple[str, str]] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"{what} got document {key[1]!r} of partition {key[0]!r} twice")
            seen.add(key)
