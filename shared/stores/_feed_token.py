"""Continuation tokens of the embedded change feed: opaque to callers, checked on use."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FeedPosition", "decode_token", "encode_token"]

_PREFIX = "sqlite-cf1"


@dataclass(frozen=True, slots=True)
class FeedPosition:
    """Where a change-feed reader stands: after `lsn` in `container` of store `store_id`."""

    store_id: str
    container: str
    lsn: int


def encode_token(position: FeedPosition) -> str:
    """The string form handed to callers, e.g. ``sqlite-cf1:1a2b3c:views:42``."""
    return f"{_PREFIX}:{position.store_id}:{position.container}:{position.lsn}"


def decode_token(token: str, *, store_id: str, container: str) -> FeedPosition:
    """Parse `token`; ValueError if it is malformed or belongs elsewhere."""
    parts = token.split(":")
    if len(parts) != 4 or parts[0] != _PREFIX or not parts[3].isdigit():
        raise ValueError(f"not a continuation token of the embedded store: {token!r}")
    position = FeedPosition(parts[1], parts[2], int(parts[3]))
    if position.store_id != store_id:
        raise ValueError(
            f"continuation token is from store {position.store_id}, this file is store {store_id} "
            "(was the file re-created?)"
        )
    if position.container != container:
        raise ValueError(f"continuation token is for container {position.container!r}, not {container!r}")
    return position
