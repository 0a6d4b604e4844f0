"""Checks that a body is a bounded JSON object before schema validation.

Run per event on the slow path only; the fast path lets pydantic's own parser find
the same faults for a whole batch at once.
"""

from __future__ import annotations

from typing import Any

import orjson

from shared.pipeline.dead_letters import ReasonCode
from shared.pipeline.limits import Limits

__all__ = ["DecodeFault", "decode_object", "describe_size"]


class DecodeFault(Exception):
    """A body that is not a usable JSON object; carries the reason code and words."""

    def __init__(self, code: ReasonCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def describe_size(n_bytes: int) -> str:
    """`1048576` -> '1 MiB', `2048` -> '2 KiB', else bytes."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n_bytes >= size and n_bytes % size == 0:
            return f"{n_bytes // size} {unit}"
    return f"{n_bytes} bytes"


def decode_object(body: bytes, limits: Limits) -> dict[str, Any]:
    """Parse `body` into a dict or raise `DecodeFault` saying exactly why not."""
    if len(body) > limits.max_body_bytes:
        raise DecodeFault(
            ReasonCode.BODY_TOO_LARGE,
            f"body larger than {describe_size(limits.max_body_bytes)} ({len(body)} bytes)",
        )
    if not body.strip():
        raise DecodeFault(ReasonCode.EMPTY_BODY, "empty body")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeFault(ReasonCode.INVALID_UTF8, f"not valid UTF-8: {exc.reason} at byte {exc.start}") from None
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _json_fault(body, exc, limits) from None
    if not isinstance(value, dict):
        raise DecodeFault(ReasonCode.NOT_AN_OBJECT, f"a JSON {_kind(value)} instead of an object")
    depth = _depth(value, limits.max_depth)
    if depth > limits.max_depth:
        raise DecodeFault(ReasonCode.TOO_DEEP, f"nested deeper than {limits.max_depth} levels")
    if len(body) > limits.max_string_chars:
        _check_strings(value, limits.max_string_chars)
    return value


def _json_fault(body: bytes, exc: orjson.JSONDecodeError, limits: Limits) -> DecodeFault:
    message = str(exc)
    if "recursion" in message.lower() or "depth" in message.lower():
        return DecodeFault(ReasonCode.TOO_DEEP, f"nested deeper than {limits.max_depth} levels")
    hint = ""
    if any(token in body for token in (b"NaN", b"Infinity")):
        hint = " (NaN and Infinity are not JSON numbers)"
    return DecodeFault(ReasonCode.NOT_JSON, f"not JSON: {message}{hint}")


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of containers, stopping as soon as `limit` is exceeded."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def _check_strings(value: Any, limit: int) -> None:
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            if isinstance(key, str) and len(key) > limit:
                raise DecodeFault(ReasonCode.STRING_TOO_LONG, f"a field name longer than {limit} characters")
            child_path = f"{path}.{key}" if path else str(key)
            if isinstance(child, str) and len(child) > limit:
                raise DecodeFault(
                    ReasonCode.STRING_TOO_LONG,
                    f"{child_path}: string longer than {limit} characters ({len(child)})",
                )
            if isinstance(child, dict | list):
                stack.append((child, child_path))
