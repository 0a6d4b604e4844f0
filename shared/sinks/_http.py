"""HTTP for the Power BI sinks on the standard library, with secrets redacted from every message.

Why stdlib: a handful of JSON POSTs a minute need no connection pool or async, and
one dependency less is one less thing to patch in the Function App.
"""

from __future__ import annotations

import email.utils
import http.client
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.sinks.port import SinkError, SinkRejected, SinkThrottled, SinkUnavailable

__all__ = ["HttpResponse", "check_status", "parse_retry_after", "redact", "send_request", "url_secrets"]

_KEY_PARAM = re.compile(r"(?i)([?&](?:key|sig|signature|code)=)[^&\s'\"]+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_SAS = re.compile(r"(?i)(SharedAccessKey=|SharedAccessSignature=|sig=)[^;&\s'\"]+")
_BODY_EXCERPT = 300


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """Status, headers (lower-case names) and body of a response."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def url_secrets(url: str) -> tuple[str, ...]:
    """The secret parts of a URL (query values named key/sig/signature/code), raw and decoded."""
    secrets: set[str] = set()
    for name, value in urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query, keep_blank_values=False):
        if name.lower() in {"key", "sig", "signature", "code"} and value:
            secrets |= {value, urllib.parse.quote(value, safe=""), urllib.parse.quote_plus(value)}
    for match in _KEY_PARAM.finditer(url):  # the raw, still-encoded form as it appears in the URL
        secrets.add(url[match.end(1) : match.end()])
    return tuple(sorted(secrets, key=len, reverse=True))


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` without any of `secrets`, URL keys or bearer tokens."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _SAS.sub(r"\1***", _BEARER.sub(r"\1***", _KEY_PARAM.sub(r"\1***", text)))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def send_request(
    method: str,
    url: str,
    body: bytes | None,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    secrets: Sequence[str] = (),
) -> HttpResponse:
    """One request; any HTTP status is returned, transport failures raise `SinkUnavailable` (redacted)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return HttpResponse(response.status, _headers(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpResponse(error.code, _headers(error.headers), error.read())
    except (OSError, ValueError, http.client.HTTPException) as error:  # URLError, timeouts, resets, bad URLs
        # http.client quotes the request target (query string and key included) in some messages: redact.
        message = redact(f"{type(error).__name__}: {error}", secrets)
        raise SinkUnavailable(f"no response from the endpoint ({message})") from None


def _headers(headers: object) -> dict[str, str]:
    items = getattr(headers, "items", None)
    return {str(k).lower(): str(v) for k, v in items()} if items else {}


def check_status(response: HttpResponse, what: str, secrets: Sequence[str] = ()) -> None:
    """Raise the `SinkError` that a non-2xx status means; `what` names the call (no secrets in it)."""
    status = response.status
    if 200 <= status < 300:
        return
    excerpt = redact(response.body[:_BODY_EXCERPT].decode("utf-8", "replace"), secrets)
    message = f"{what}: HTTP {status}" + (f" {excerpt}" if excerpt else "")
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    error: SinkError
    if status == 429:
        error = SinkThrottled(message, retry_after_s=retry_after)
    elif status in (400, 413, 422) or (400 <= status < 500 and status not in (401, 403, 404, 408)):
        error = SinkRejected(message)
    else:  # 401/403 (credentials), 404 (dataset or URL missing), 408 and 5xx: keep the rows and retry later
        error = SinkUnavailable(message, retry_after_s=retry_after)
    raise error
