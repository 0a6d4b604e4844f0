"""HTTP error mapping and parameter parsing of the API."""

from __future__ import annotations

import logging

import azure.functions as func
import orjson
import pytest

from functions._http import BadRequest, json_body, respond
from shared.stores.port import TransientStoreError


def _raise(exc: Exception) -> func.HttpResponse:
    raise exc


def test_a_transient_store_fault_is_a_503_with_retry_after() -> None:
    response = respond(lambda: _raise(TransientStoreError("429 after retries")), "kpis")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert orjson.loads(response.get_body())["error"]["code"] == "store_unavailable"


def test_a_bug_is_a_500_without_details_and_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        response = respond(lambda: _raise(KeyError("secret-ish detail")), "health")
    assert response.status_code == 500 and b"secret-ish" not in response.get_body()
    assert "health failed" in caplog.text and "secret-ish detail" in caplog.text


def test_bad_request_names_the_parameter() -> None:
    response = respond(lambda: _raise(BadRequest("grain", "'grain' is required")), "kpis")
    assert response.status_code == 400
    assert orjson.loads(response.get_body()) == {
        "error": {"code": "bad_request", "message": "'grain' is required", "parameter": "grain"}
    }


def test_json_body_accepts_an_empty_body_as_an_empty_object() -> None:
    assert json_body(func.HttpRequest("POST", "/x", body=b"  ")) == {}
    assert json_body(func.HttpRequest("POST", "/x", body=b'{"ids": ["a"]}')) == {"ids": ["a"]}
