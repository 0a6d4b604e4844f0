"""Error mapping, retry timing and credential rules of the Cosmos adapter (no server needed)."""

from __future__ import annotations

import pytest
from azure.core.exceptions import ServiceRequestError
from azure.cosmos.exceptions import (
    CosmosAccessConditionFailedError,
    CosmosHttpResponseError,
    CosmosResourceExistsError,
    CosmosResourceNotFoundError,
)
from azure.identity import DefaultAzureCredential

from shared.stores import Conflict, NotFound, PreconditionFailed, TransientStoreError
from shared.stores.cosmos_auth import EMULATOR_KEY, is_loopback_endpoint, resolve_credential
from shared.stores.cosmos_errors import RetryPolicy, call_with_retries, retry_delay_s, to_store_error
from shared.stores.cosmos_options import CosmosOptions
from shared.stores.port import RejectedWrite


def http_error(status: int, retry_after_ms: str | None = None) -> CosmosHttpResponseError:
    error = CosmosHttpResponseError(status_code=status, message=f"status {status}")
    if retry_after_ms is not None:
        error.headers = {"x-ms-retry-after-ms": retry_after_ms}
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CosmosResourceNotFoundError(status_code=404, message="gone"), NotFound),
        (CosmosResourceExistsError(status_code=409, message="dup"), Conflict),
        (CosmosAccessConditionFailedError(status_code=412, message="etag"), PreconditionFailed),
        (http_error(429), TransientStoreError),
        (http_error(503), TransientStoreError),
        (http_error(408), TransientStoreError),
        (http_error(413), RejectedWrite),  # a document past 2 MB: the engine isolates its events
        (ServiceRequestError("connection refused"), TransientStoreError),
    ],
)
def test_sdk_errors_map_to_port_errors(error: Exception, expected: type[Exception]) -> None:
    assert isinstance(to_store_error(error), expected)


@pytest.mark.parametrize("error", [http_error(400), http_error(401), http_error(500), ValueError("x")])
def test_other_errors_are_not_ours_to_map(error: Exception) -> None:
    assert to_store_error(error) is None


def test_backoff_doubles_up_to_the_cap_and_a_server_hint_wins() -> None:
    policy = RetryPolicy(attempts=6, base_delay_s=0.1, max_delay_s=0.5)
    assert [retry_delay_s(policy, n, http_error(503)) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    assert retry_delay_s(policy, 1, http_error(503, "250")) == 0.25
    assert retry_delay_s(policy, 1, http_error(503, "60000")) == 0.5  # hints are capped too
    assert retry_delay_s(policy, 2, http_error(503, "soon")) == 0.2  # unreadable hint: backoff


def test_call_with_retries_retries_transient_failures_then_returns() -> None:
    failures = [http_error(503), ServiceRequestError("reset")]
    waits: list[float] = []

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "done"

    assert call_with_retries(flaky, RetryPolicy(attempts=3, base_delay_s=0.01), waits.append) == "done"
    assert waits == [0.01, 0.02]


def test_call_with_retries_gives_up_with_a_transient_error_naming_the_attempts() -> None:
    def down() -> None:
        raise http_error(503)

    with pytest.raises(TransientStoreError, match="after 2 attempts") as raised:
        call_with_retries(down, RetryPolicy(attempts=2, base_delay_s=0), lambda _: None)
    assert isinstance(raised.value.__cause__, CosmosHttpResponseError)


@pytest.mark.parametrize("status", [429, 400, 404])
def test_call_with_retries_does_not_retry_throttling_or_final_answers(status: int) -> None:
    calls: list[int] = []

    def answer() -> None:
        calls.append(1)
        raise http_error(status)

    with pytest.raises(Exception):  # noqa: B017 - the type is checked by the mapping tests
        call_with_retries(answer, RetryPolicy(attempts=5), lambda _: None)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("http://127.0.0.1:8081/", True),
        ("https://localhost:8081/", True),
        ("http://[::1]:8081/", True),
        ("https://127.3.2.1/", True),
        ("https://pulse.documents.azure.com:443/", False),
        ("https://10.0.0.4:8081/", False),
    ],
)
def test_loopback_endpoints(endpoint: str, loopback: bool) -> None:
    assert is_loopback_endpoint(endpoint) is loopback


def test_only_the_emulator_key_on_loopback_or_an_identity_is_accepted() -> None:
    assert resolve_credential("http://127.0.0.1:1234/", EMULATOR_KEY) == EMULATOR_KEY
    with pytest.raises(ValueError, match="account keys are not accepted"):
        resolve_credential("http://127.0.0.1:1234/", "c2VjcmV0LWtleQ==")
    with pytest.raises(ValueError, match="loopback endpoints only"):
        resolve_credential("https://pulse.documents.azure.com:443/", EMULATOR_KEY)
    assert isinstance(resolve_credential("https://pulse.documents.azure.com:443/", None), DefaultAzureCredential)


def test_options_presets_and_validation() -> None:
    npm = CosmosOptions.for_npm_server(write_concurrency=2)
    assert (npm.create_if_missing, npm.endpoint_discovery, npm.npm_server_quirks, npm.write_concurrency) == (
        True,
        False,
        True,
        2,
    )
    assert CosmosOptions().client_kwargs()["enable_endpoint_discovery"] is True
    with pytest.raises(ValueError, match="throttle_retries"):
        CosmosOptions(throttle_retries=0)
