"""Cosmos DB failures as port errors, and the retry of transient ones.

Who retries what (no blind double retry):

* 429 Too Many Requests: the SDK's throttle policy retries, sleeping the server's
  ``x-ms-retry-after-ms`` each time, up to `CosmosOptions.throttle_retries` attempts /
  `throttle_max_wait_s` seconds in total. When it gives up, this module does *not*
  retry again: the 429 becomes `TransientStoreError` at once.
* 503 Service Unavailable, 408 Request Timeout, 449 Retry With and network errors
  (no response, connection refused): the SDK retries them only across regions (and
  not at all with endpoint discovery off, as with the local emulators), so
  `call_with_retries` retries them with capped exponential backoff, honouring a
  retry-after header when the server sends one, then raises `TransientStoreError`.
  A retried write whose first attempt did land shows up as `Conflict` (create) or
  `PreconditionFailed` (replace); the engine re-reads and finds its write applied.
* 404 / 409 / 412 become `NotFound` / `Conflict` / `PreconditionFailed`; anything
  else propagates unchanged (a bug or a bad request, not something to retry).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.cosmos.exceptions import CosmosHttpResponseError

from shared.stores.port import Conflict, NotFound, PreconditionFailed, RejectedWrite, StoreError, TransientStoreError

__all__ = ["RETRYABLE_STATUSES", "RetryPolicy", "call_with_retries", "retry_delay_s", "to_store_error"]

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({408, 449, 503})
"""Statuses this module retries itself (429 is the SDK's job)."""

_RETRY_AFTER_HEADER = "x-ms-retry-after-ms"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Capped exponential backoff for 503/408/449 and network errors."""

    attempts: int = 5
    """Total tries including the first; 1 disables retrying."""
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError(f"invalid retry policy {self!r}")


_CONTENT_REFUSED = frozenset({413})
"""Request entity too large: a document past Cosmos DB's 2 MB limit (a 400 stays a bug of ours, unmapped)."""


def to_store_error(exc: Exception) -> StoreError | None:
    """The port error for an SDK failure, or None when it is not one of ours."""
    if isinstance(exc, CosmosHttpResponseError):
        status = exc.status_code
        message = f"Cosmos DB answered {status}: {_first_line(exc)}"
        if status == 404:
            return NotFound(message)
        if status == 409:
            return Conflict(message)
        if status == 412:
            return PreconditionFailed(message)
        if status == 429 or status in RETRYABLE_STATUSES:
            return TransientStoreError(message)
        if status in _CONTENT_REFUSED:
            return RejectedWrite(message)
        return None
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransientStoreError(f"no answer from Cosmos DB: {exc}")
    return None


def retry_delay_s(policy: RetryPolicy, attempt: int, exc: Exception) -> float:
    """Seconds to wait before retry number `attempt` (1-based) after `exc`."""
    headers = getattr(exc, "headers", None) or {}
    hinted: object = headers.get(_RETRY_AFTER_HEADER) if hasattr(headers, "get") else None
    if isinstance(hinted, str | int):
        try:
            return min(policy.max_delay_s, max(0.0, int(hinted) / 1000))
        except ValueError:
            pass
    return min(policy.max_delay_s, policy.base_delay_s * 2.0 ** (attempt - 1))


def _is_retryable(exc: Exception) -> bool:
    if isinstance(exc, CosmosHttpResponseError):
        return exc.status_code in RETRYABLE_STATUSES
    return isinstance(exc, ServiceRequestError | ServiceResponseError)


def call_with_retries(call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `call`, retrying transient failures per `policy`; raise port errors."""
    attempt = 1
    while True:
        try:
            return call()
        except (CosmosHttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
            if _is_retryable(exc) and attempt < policy.attempts:
                sleep(retry_delay_s(policy, attempt, exc))
                attempt += 1
                continue
            mapped = to_store_error(exc)
            if mapped is None:
                raise
            if isinstance(mapped, TransientStoreError) and attempt > 1:
                mapped = TransientStoreError(f"{mapped} (after {attempt} attempts)")
            raise mapped from exc


def _first_line(exc: CosmosHttpResponseError) -> str:
    text = str(exc.message or exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__
