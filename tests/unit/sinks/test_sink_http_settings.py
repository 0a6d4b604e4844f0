"""HTTP status mapping, Retry-After, redaction of keys and tokens, and sink settings read at start."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.sinks._http import HttpResponse, check_status, parse_retry_after, redact, send_request, url_secrets
from shared.sinks.config import PowerBiSettings, routes_from_settings
from shared.sinks.eventhub_rows import EventHubRowSink
from shared.sinks.port import SettingError, SinkRejected, SinkThrottled, SinkUnavailable
from shared.sinks.powerbi_push import BearerTokens, PushDatasetSink
from shared.sinks.powerbi_streaming import StreamingSink
from tests.fixtures.fake_powerbi import FakeTokenCredential, ManualClock

KEY = "AbC/dEf+gh=="
URL = "https://api.powerbi.com/beta/tenant/datasets/ds-1/rows?experience=power-bi&key=AbC%2FdEf%2Bgh%3D%3D"


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"retry-after": "17"}, SinkThrottled, 17.0),
        (429, {}, SinkThrottled, None),
        (503, {"retry-after": "5"}, SinkUnavailable, 5.0),
        (500, {}, SinkUnavailable, None),
        (401, {}, SinkUnavailable, None),
        (404, {}, SinkUnavailable, None),
        (400, {}, SinkRejected, None),
        (413, {}, SinkRejected, None),
    ],
)
def test_status_codes_map_to_what_the_pusher_must_do(
    status: int, headers: dict[str, str], error: type[Exception], retry_after: float | None
) -> None:
    with pytest.raises(error) as raised:
        check_status(HttpResponse(status, headers, b'{"error":"x"}'), "POST rows")
    assert getattr(raised.value, "retry_after_s", None) == retry_after
    assert f"HTTP {status}" in str(raised.value)
    check_status(HttpResponse(200, {}, b""), "POST rows")  # 2xx: no error


def test_retry_after_as_an_http_date() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 26 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon", now) is None and parse_retry_after(None) is None


def test_every_form_of_the_key_is_redacted() -> None:
    secrets = url_secrets(URL)
    assert {KEY, "AbC%2FdEf%2Bgh%3D%3D"} <= set(secrets)
    text = f"failed: {URL} (key {KEY}) Authorization: Bearer eyJ0.abc-def SharedAccessKey=zzz;EntityPath=h"
    cleaned = redact(text, secrets)
    for secret in (KEY, "AbC%2FdEf%2Bgh%3D%3D", "eyJ0.abc-def", "zzz"):
        assert secret not in cleaned
    assert "datasets/ds-1/rows" in cleaned and "EntityPath=h" in cleaned  # the useful part stays


def test_a_url_error_that_quotes_the_url_is_redacted() -> None:
    # http.client refuses control characters and quotes the request target, query string included.
    bad = f"http://127.0.0.1:9/beta/t/datasets/d/rows?key={KEY} x"
    with pytest.raises(SinkUnavailable) as raised:
        send_request("POST", bad, b"[]", {}, timeout_s=1, secrets=url_secrets(bad))
    assert KEY not in str(raised.value) and "no response" in str(raised.value)


def test_the_streaming_sink_shows_its_url_without_the_key() -> None:
    sink = StreamingSink(URL)
    assert sink.target == "https://api.powerbi.com/beta/tenant/datasets/ds-1/rows"
    assert "key" not in repr(sink) and sink.limits.max_request_bytes == 15_000
    with pytest.raises(ValueError, match="takes table 'kpi_tiles'"):
        sink.send("kpi_delta", [])


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "POWERBI_PUSH_URL is not set"),
        ({"POWERBI_PUSH_URL": "@Microsoft.KeyVault(SecretUri=https://v/secrets/pbi)"}, "unresolved Key Vault"),
        ({"POWERBI_PUSH_URL": f"http://api.powerbi.com/beta/t/datasets/d/rows?key={KEY}"}, "must be https"),
        ({"POWERBI_PUSH_URL": "https://api.powerbi.com/beta/t/datasets/d/rows"}, "with its \\?key="),
    ],
)
def test_unusable_push_url_settings_are_named_without_their_value(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingError, match=message) as raised:
        StreamingSink.from_settings(environ)
    assert KEY not in str(raised.value)


def test_tokens_are_cached_until_near_expiry_and_dropped_after_a_401() -> None:
    clock = ManualClock(0.0)
    credential = FakeTokenCredential(lifetime_s=3600, clock=clock)
    tokens = BearerTokens(credential, clock=clock)
    assert tokens.header() == f"Bearer {credential.token}"
    tokens.header()
    assert len(credential.scopes) == 1
    clock.advance_to(3600 - 299)  # within the 5-minute refresh margin
    tokens.header()
    assert len(credential.scopes) == 2
    tokens.invalidate()
    tokens.header()
    assert len(credential.scopes) == 3


def test_routes_follow_the_settings() -> None:
    factory = FakeTokenCredential
    assert routes_from_settings({}, credential_factory=factory) == {}
    streaming = routes_from_settings({"POWERBI_PUSH_URL": URL}, credential_factory=factory)
    assert list(streaming) == ["kpi_tiles"] and isinstance(streaming["kpi_tiles"], StreamingSink)
    push = routes_from_settings(
        {
            "POWERBI_PUSH_URL": URL,
            "POWERBI_GROUP_ID": "g",
            "POWERBI_LIVE_DATASET_ID": "l",
            "POWERBI_HISTORY_DATASET_ID": "h",
        },
        credential_factory=factory,
    )
    assert isinstance(push["kpi_tiles"], StreamingSink)  # the tiles go to the streaming URL
    assert isinstance(push["kpi_snapshot"], PushDatasetSink) and isinstance(push["kpi_delta"], PushDatasetSink)
    assert push["kpi_delta"].limits.large_table_rows == 250_000 and push["kpi_snapshot"].limits.large_table_rows is None
    assert push["kpi_delta"].limits.min_spacing_s == 30.0 and push["kpi_snapshot"].limits.requests_per_second == 1
    tiles = routes_from_settings({"POWERBI_GROUP_ID": "g", "POWERBI_TILES_DATASET_ID": "t"}, credential_factory=factory)
    assert (
        tiles["kpi_tiles"].limits.max_request_bytes == 15_000 and tiles["kpi_tiles"].limits.requests_per_minute is None
    )
    with pytest.raises(SettingError, match="POWERBI_GROUP_ID is required"):
        PowerBiSettings.from_environ({"POWERBI_LIVE_DATASET_ID": "l"})
    assert "push_url" not in repr(PowerBiSettings.from_environ({"POWERBI_PUSH_URL": URL}))


def test_the_fabric_route_sends_every_table_over_event_hubs() -> None:
    environ = {
        "PULSE_ROW_SINK": "fabric",
        "FABRIC_EVENTSTREAM_NAMESPACE": "es-ns.servicebus.windows.net",
        "FABRIC_EVENTSTREAM_HUB": "es_hub",
    }
    routes = routes_from_settings(environ, credential_factory=FakeTokenCredential)
    assert {type(s) for s in routes.values()} == {EventHubRowSink} and set(routes) == {
        "kpi_snapshot",
        "kpi_delta",
        "alerts",
    }
    assert routes["kpi_delta"].target == "eventhub es-ns.servicebus.windows.net/es_hub"
    with pytest.raises(SettingError, match="FABRIC_EVENTSTREAM_NAMESPACE and FABRIC_EVENTSTREAM_HUB"):
        routes_from_settings({"PULSE_ROW_SINK": "fabric"}, credential_factory=FakeTokenCredential)
    with pytest.raises(SettingError, match="'powerbi' or 'fabric'"):
        routes_from_settings({"PULSE_ROW_SINK": "kafka"})
