"""Turn pydantic's errors into one reason code and a reason a person can act on."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from shared.pipeline.dead_letters import ReasonCode

__all__ = ["describe_validation_error"]

_MAX_LISTED = 5

# When an event has several faults, the code names the most telling one.
_PRIORITY = {
    ReasonCode.UNKNOWN_EVENT_TYPE: 0,
    ReasonCode.MISSING_FIELD: 1,
    ReasonCode.UNEXPECTED_FIELD: 2,
    ReasonCode.INVALID_FIELD: 3,
}


def describe_validation_error(exc: ValidationError, source: str) -> tuple[ReasonCode, str]:
    """Reason code and words for a single event's validation error (loc starts at the tag)."""
    described = [_describe(error, source) for error in exc.errors(include_url=False)]
    described.sort(key=lambda item: _PRIORITY[item[0]])
    code = described[0][0]
    words = [text for _, text in described[:_MAX_LISTED]]
    if len(described) > _MAX_LISTED:
        words.append(f"and {len(described) - _MAX_LISTED} more")
    return code, "; ".join(words)


def _describe(error: Any, source: str) -> tuple[ReasonCode, str]:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return (
            ReasonCode.UNKNOWN_EVENT_TYPE,
            f"unknown event_type {ctx.get('tag')!r} for source {source} (expected {ctx.get('expected_tags')})",
        )
    if kind == "union_tag_not_found":
        return ReasonCode.MISSING_FIELD, "event_type: field required"
    path = _path(loc[1:])  # loc[0] is the union tag
    if kind == "missing":
        return ReasonCode.MISSING_FIELD, f"{path}: field required"
    if kind == "extra_forbidden":
        return ReasonCode.UNEXPECTED_FIELD, f"{path}: unexpected field"
    message = str(error["msg"]).removeprefix("Value error, ")
    if kind == "multiple_of":
        message = "at most 2 decimals allowed"
    return ReasonCode.INVALID_FIELD, f"{path}: {message}" if path else message


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
