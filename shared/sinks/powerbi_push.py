"""Push dataset sink: the Power BI REST API with an Entra token from azure-identity.

The credential is injected (`DefaultAzureCredential` in Azure: the Function App's
managed identity; locally `az login`); tests pass a local token provider. Tokens are
cached until five minutes before they expire and dropped after a 401.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any, Final, Protocol

import orjson

from shared.sinks._http import check_status, send_request
from shared.sinks.limits import LARGE_TABLE_ROWS, NONE_RETENTION_TABLE_ROWS, POWERBI_PUSH_LIMITS, SinkLimits
from shared.sinks.port import Row, SinkUnavailable
from shared.sinks.rate_limiter import Clock
from shared.sinks.schema import DatasetSpec
from shared.sinks.split import json_rows, row_json

__all__ = [
    "DEFAULT_API_BASE",
    "POWERBI_SCOPE",
    "AccessTokenLike",
    "BearerTokens",
    "PowerBiRestClient",
    "PushDatasetSink",
    "TokenProvider",
    "default_credential",
]

POWERBI_SCOPE: Final = "https://analysis.windows.net/powerbi/api/.default"
DEFAULT_API_BASE: Final = "https://api.powerbi.com"
_ROWS_ENVELOPE: Final = len(b'{"rows":[]}')


class AccessTokenLike(Protocol):
    """What `get_token` returns (`azure.core.credentials.AccessToken`)."""

    @property
    def token(self) -> str: ...

    @property
    def expires_on(self) -> int: ...


class TokenProvider(Protocol):
    """An azure-identity credential, or anything with the same `get_token`."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike: ...


def default_credential() -> TokenProvider:
    """`DefaultAzureCredential`: managed identity in Azure, developer sign-in locally."""
    from azure.identity import DefaultAzureCredential

    credential: TokenProvider = DefaultAzureCredential()
    return credential


class BearerTokens:
    """Caches the Power BI access token of a credential; thread-safe."""

    def __init__(self, credential: TokenProvider, *, clock: Clock = time.time, refresh_margin_s: float = 300.0) -> None:
        self._credential, self._clock, self._margin = credential, clock, refresh_margin_s
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def header(self) -> str:
        """``Bearer <token>``, fetching a new token when the cached one is (nearly) expired."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_on - self._margin:
                try:
                    access = self._credential.get_token(POWERBI_SCOPE)
                except Exception as error:  # any credential failure: keep the rows, retry later
                    raise SinkUnavailable(f"no Power BI token ({type(error).__name__})") from None
                self._token, self._expires_on = access.token, float(access.expires_on)
            return f"Bearer {self._token}"

    def secrets(self) -> tuple[str, ...]:
        """The cached token, for redaction."""
        return (self._token,) if self._token else ()

    def invalidate(self) -> None:
        """Forget the token (after a 401), so the next request fetches a new one."""
        with self._lock:
            self._token = None


class PowerBiRestClient:
    """The REST calls Retail Pulse makes in one workspace (group): list and create datasets, post rows."""

    def __init__(
        self,
        credential: TokenProvider,
        *,
        group_id: str,
        api_base: str = DEFAULT_API_BASE,
        clock: Clock = time.time,
        timeout_s: float = 30.0,
    ) -> None:
        if not group_id or "/" in group_id:
            raise ValueError("group_id must be the workspace id (a GUID)")
        self.group_id = group_id
        self._base = f"{api_base.rstrip('/')}/v1.0/myorg/groups/{urllib.parse.quote(group_id)}"
        self._tokens = BearerTokens(credential, clock=clock)
        self._timeout_s = timeout_s

    def _call(self, method: str, path: str, body: bytes | None, what: str) -> Any:
        headers = {"Authorization": self._tokens.header(), "Content-Type": "application/json"}
        secrets = self._tokens.secrets()
        response = send_request(method, self._base + path, body, headers, timeout_s=self._timeout_s, secrets=secrets)
        if response.status == 401:
            self._tokens.invalidate()
        check_status(response, what, secrets)
        return orjson.loads(response.body) if response.body.strip() else None

    def list_datasets(self) -> list[dict[str, Any]]:
        """``GET /groups/{groupId}/datasets``: the workspace's datasets (id, name, ...)."""
        listing = self._call("GET", "/datasets", None, "list datasets")
        return list(listing.get("value", [])) if isinstance(listing, dict) else []

    def create_dataset(self, spec: DatasetSpec) -> dict[str, Any]:
        """``POST /groups/{groupId}/datasets?defaultRetentionPolicy=...`` with the tables of `spec`."""
        path = f"/datasets{spec.create_query()}"
        created = self._call("POST", path, orjson.dumps(spec.to_rest()), f"create dataset {spec.name!r}")
        if not isinstance(created, dict) or "id" not in created:
            raise SinkUnavailable(f"create dataset {spec.name!r}: the response has no dataset id")
        return created

    def ensure_dataset(self, spec: DatasetSpec) -> tuple[dict[str, Any], bool]:
        """The dataset named like `spec` (created if absent) and whether it was created now."""
        for dataset in self.list_datasets():
            if dataset.get("name") == spec.name:
                return dataset, False
        return self.create_dataset(spec), True

    def post_rows(self, dataset_id: str, table: str, rows: Sequence[Row]) -> None:
        """``POST /groups/{groupId}/datasets/{datasetId}/tables/{tableName}/rows`` with ``{"rows": [...]}``."""
        body = b'{"rows":' + json_rows([row_json(r) for r in rows]) + b"}"
        path = f"/datasets/{urllib.parse.quote(dataset_id)}/tables/{urllib.parse.quote(table)}/rows"
        self._call("POST", path, body, f"POST {len(rows)} rows to {table} of dataset {dataset_id}")

    def delete_rows(self, dataset_id: str, table: str) -> None:
        """``DELETE /groups/{groupId}/datasets/{datasetId}/tables/{tableName}/rows``: every row of a push table.

        "Push Datasets - Datasets DeleteRowsInGroup" (learn.microsoft.com/rest/api/power-bi/push-datasets).
        """
        path = f"/datasets/{urllib.parse.quote(dataset_id)}/tables/{urllib.parse.quote(table)}/rows"
        self._call("DELETE", path, None, f"delete the rows of {table} in dataset {dataset_id}")

    def rebind_report(self, report_id: str, dataset_id: str) -> None:
        """``POST /groups/{groupId}/reports/{reportId}/Rebind``, ``{"datasetId": ...}``: the report reads `dataset_id`.

        "Reports - Rebind Report In Group" (learn.microsoft.com/rest/api/power-bi/reports/rebind-report-in-group):
        needs write permission on the report and build permission on the dataset (a workspace
        Contributor has both); paginated reports are not supported. Idempotent.
        """
        path = f"/reports/{urllib.parse.quote(report_id)}/Rebind"
        body = orjson.dumps({"datasetId": dataset_id})
        self._call("POST", path, body, f"rebind report {report_id} to dataset {dataset_id}")


class PushDatasetSink:
    """`RowSink` for the tables of one push dataset."""

    def __init__(
        self,
        client: PowerBiRestClient,
        dataset_id: str,
        tables: Iterable[str],
        *,
        limits: SinkLimits = POWERBI_PUSH_LIMITS,
        keeps_all_rows: bool = False,
    ) -> None:
        """`keeps_all_rows` (retention None): the table passes 250,000 rows within a day, so the
        120-requests-per-hour rule applies from the first request, spaced 30 s apart; there is
        no switch whose rolling hour could still hold an earlier burst."""
        if not dataset_id:
            raise ValueError("dataset_id is required (see `pulse powerbi create-dataset`)")
        self._client, self._dataset_id, self._tables = client, dataset_id, frozenset(tables)
        if keeps_all_rows and limits.large_table_rows is None:
            limits = replace(
                limits, large_table_rows=LARGE_TABLE_ROWS, max_table_rows=NONE_RETENTION_TABLE_ROWS
            ).for_large_table()
        self._limits = limits

    def __repr__(self) -> str:
        return f"PushDatasetSink({self.target!r})"

    @property
    def target(self) -> str:
        """Dataset and workspace ids (no token)."""
        return f"powerbi dataset {self._dataset_id} (group {self._client.group_id})"

    @property
    def limit_key(self) -> str:
        """Power BI's limits are per dataset."""
        return f"powerbi:{self._client.group_id}:{self._dataset_id}"

    @property
    def limits(self) -> SinkLimits:
        """The push dataset limits."""
        return self._limits

    def envelope_bytes(self, table: str) -> int:
        """The body is ``{"rows":[...]}``."""
        return _ROWS_ENVELOPE

    def send(self, table: str, rows: Sequence[Row]) -> None:
        """Add `rows` to `table` in one request."""
        if table not in self._tables:
            raise ValueError(f"dataset {self._dataset_id} has no table {table!r} here; tables: {sorted(self._tables)}")
        self._client.post_rows(self._dataset_id, table, rows)

    def clear(self, table: str) -> None:
        """Delete every row of `table` (the documented delete-rows call)."""
        if table not in self._tables:
            raise ValueError(f"dataset {self._dataset_id} has no table {table!r} here; tables: {sorted(self._tables)}")
        self._client.delete_rows(self._dataset_id, table)
