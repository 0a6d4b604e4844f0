"""JSON in and out of the HTTP functions: parameter parsing with 400s that name the parameter.

`respond` runs an endpoint and maps its failures: `BadRequest` -> 400 naming the
parameter, `Unauthenticated` -> 401, `Forbidden` -> 403 saying why,
`TransientStoreError` -> 503 with ``Retry-After``, anything else -> 500 with no
detail in the body (the detail goes to the log, never a setting or a payload).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import azure.functions as func
import orjson

from shared.access import Forbidden, Unauthenticated
from shared.stores.port import TransientStoreError

__all__ = [
    "BadRequest",
    "choice",
    "json_body",
    "json_response",
    "optional_choice",
    "optional_int",
    "optional_text",
    "respond",
]

logger = logging.getLogger(__name__)
T = TypeVar("T", bound=str)
_JSON = "application/json"
RETRY_AFTER_S = 5


class BadRequest(ValueError):
    """A request the API cannot serve; `parameter` names the culprit (None: the body or the route)."""

    def __init__(self, parameter: str | None, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> func.HttpResponse:
    """`payload` as JSON (already-encoded bytes are sent as they are)."""
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return func.HttpResponse(body, status_code=status, mimetype=_JSON, headers=dict(headers or {}))


def _error(status: int, code: str, message: str, parameter: str | None = None) -> func.HttpResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if parameter is not None:
        error["parameter"] = parameter
    headers = _ERROR_HEADERS.get(status)
    return json_response({"error": error}, status, headers)


_ERROR_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": 'Bearer realm="retail-pulse"'},
    503: {"Retry-After": str(RETRY_AFTER_S)},
}


def respond(endpoint: Callable[[], func.HttpResponse], name: str) -> func.HttpResponse:
    """Run `endpoint`; map `BadRequest`, transient store faults and bugs to JSON errors."""
    try:
        return endpoint()
    except BadRequest as exc:
        return _error(400, "bad_request", str(exc), exc.parameter)
    except Unauthenticated as exc:
        return _error(401, "unauthenticated", str(exc))
    except Forbidden as exc:
        return _error(403, "forbidden", str(exc))
    except TransientStoreError:
        logger.warning("%s: store unavailable", name, exc_info=True)
        return _error(503, "store_unavailable", "the document store is busy or unavailable; retry shortly")
    except Exception:
        logger.exception("%s failed", name)
        return _error(500, "internal_error", "the request failed; the function's log has the details")


def optional_text(params: Mapping[str, str], name: str, max_chars: int = 128) -> str | None:
    """A non-empty query parameter, or None when absent."""
    value = params.get(name)
    if value is None:
        return None
    if not value.strip() or len(value) > max_chars:
        raise BadRequest(name, f"'{name}' must be 1 to {max_chars} characters")
    return value


def choice(params: Mapping[str, str], name: str, allowed: Iterable[T], default: T | None = None) -> T:
    """A query parameter that must be one of `allowed` (required unless `default` is given)."""
    options = tuple(allowed)
    value = params.get(name)
    if value is None:
        if default is None:
            raise BadRequest(name, f"'{name}' is required: one of {', '.join(options)}")
        return default
    if value not in options:
        raise BadRequest(name, f"'{name}' must be one of {', '.join(options)}, not {value!r}")
    return value


def optional_choice(params: Mapping[str, str], name: str, allowed: Iterable[T]) -> T | None:
    """A query parameter that, when given, must be one of `allowed`."""
    return None if params.get(name) is None else choice(params, name, allowed)


def optional_int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]."""
    value = params.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(name, f"'{name}' must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise BadRequest(name, f"'{name}' must be between {low} and {high}, got {number}")
    return number


def json_body(req: func.HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is an empty object)."""
    raw = req.get_body()
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest(None, "the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(None, "the request body must be a JSON object")
    return body
