"""Streaming dataset sink: POST rows (a JSON array) to the dataset's push URL, whose ``key`` is its secret.

The URL comes from the `POWERBI_PUSH_URL` setting (in Azure a Key Vault reference).
It is held privately; `target`, `repr`, logs and every exception show it without
its query string, and any message that could echo it is redacted.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Final

from shared.sinks._http import check_status, send_request, url_secrets
from shared.sinks.limits import POWERBI_STREAMING_LIMITS, SinkLimits
from shared.sinks.port import Row, SettingError
from shared.sinks.split import json_rows, row_json
from shared.topology import POWERBI_PUSH_URL_SETTING

__all__ = ["StreamingSink"]

_LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class StreamingSink:
    """`RowSink` for one streaming (or hybrid) dataset: one push URL, one table."""

    def __init__(
        self,
        push_url: str,
        *,
        table: str = "kpi_tiles",
        limits: SinkLimits = POWERBI_STREAMING_LIMITS,
        timeout_s: float = 10.0,
    ) -> None:
        """`push_url` is the dataset's Push URL with its ``key``; `table` is the only table it takes."""
        parts = urllib.parse.urlsplit(push_url)
        local = parts.hostname in _LOCAL_HOSTS
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise SettingError("the streaming push URL must be https (plain http only for a local test server)")
        if not parts.hostname or "key=" not in parts.query:
            raise SettingError("the streaming push URL must be the dataset's Push URL, with its ?key=")
        self._url = push_url
        self._secrets = url_secrets(push_url)
        self._target = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._table, self._limits, self._timeout_s = table, limits, timeout_s

    @classmethod
    def from_settings(cls, environ: Mapping[str, str], *, setting: str = POWERBI_PUSH_URL_SETTING) -> StreamingSink:
        """The sink of the push URL in `environ[setting]`; `SettingError` naming the setting if unusable."""
        value = environ.get(setting, "").strip()
        if not value:
            raise SettingError(f"{setting} is not set (the streaming dataset's Push URL, a Key Vault reference)")
        if value.startswith("@Microsoft.KeyVault("):
            raise SettingError(f"{setting} is an unresolved Key Vault reference (check the app's access to the vault)")
        try:
            return cls(value)
        except SettingError as error:
            raise SettingError(f"{setting}: {error}") from None

    def __repr__(self) -> str:
        return f"StreamingSink({self._target!r}, table={self._table!r})"

    @property
    def target(self) -> str:
        """The push URL without its query string (no key)."""
        return self._target

    @property
    def limit_key(self) -> str:
        """One streaming dataset per push URL."""
        return self._target

    @property
    def limits(self) -> SinkLimits:
        """Streaming limits: 15 KB per request and 5 requests a second."""
        return self._limits

    def envelope_bytes(self, table: str) -> int:
        """The body is a bare JSON array: ``[`` and ``]``."""
        return 2

    def send(self, table: str, rows: Sequence[Row]) -> None:
        """POST `rows` as one JSON array; raise a `SinkError` unless the dataset accepted all of them."""
        if table != self._table:
            raise ValueError(f"this streaming dataset takes table {self._table!r}, not {table!r}")
        body = json_rows([row_json(row) for row in rows])
        budget = self._limits.max_request_bytes
        if budget is not None and len(body) > budget:
            raise ValueError(f"a request of {len(body)} bytes exceeds {budget}: split it first")
        response = send_request(
            "POST",
            self._url,
            body,
            {"Content-Type": "application/json"},
            timeout_s=self._timeout_s,
            secrets=self._secrets,
        )
        check_status(response, f"POST {len(rows)} rows to {self._target}", self._secrets)
