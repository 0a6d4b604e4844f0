"""Who may see the numbers: the registered HTTP functions with real `azure.functions.HttpRequest` objects.

App Service Authentication sets ``X-MS-CLIENT-PRINCIPAL``; these requests carry it
(or not) exactly as it arrives, and the app must answer 401 without it and 403
outside the caller's scope (the managers' scopes come from `app_env.SCOPE_MAP`).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import azure.functions as func
import orjson
import pytest

from functions import api
from functions._auth import PRINCIPAL_HEADER
from shared.handlers.dlq_access import read_access_log
from tests.functions.app_env import GROUP_DE013, GROUP_DE_NORTH, AppEnv
from tests.functions.test_handlers import NOW, TS, _roll_up
from tests.functions.trigger_inputs import client_principal, event_batch, http_request
from tests.support.samples import body

VIEWER = client_principal("vera", ["Viewer"])
OPERATOR = client_principal("otto", ["Operator"])
STORE_DE013 = client_principal("stella", ["StoreManager"], [GROUP_DE013])
REGION_DE_NORTH = client_principal("rene", ["RegionManager"], [GROUP_DE_NORTH])
NO_ROLE = client_principal("nobody", [], [GROUP_DE013])


def _ingest(env: AppEnv) -> None:
    sales = [body("txn", n, merchant_id=store, posted_ts=TS) for n, store in enumerate(("DE001", "DE013", "DE014"), 1)]
    env.call("ingest_txn", event_batch(sales, partition="0", first_seq=0, enqueued=NOW))
    _roll_up(env)


def _call(env: AppEnv, name: str, route: str, principal: str | None, **params: str) -> tuple[int, Any]:
    response = env.call(name, http_request("GET", route, params, principal=principal))
    payload = orjson.loads(response.get_body()) if response.mimetype == "application/json" else None
    return response.status_code, payload


def _kpis(env: AppEnv, principal: str | None, **params: str) -> tuple[int, Any]:
    return _call(env, "kpis", "kpis", principal, grain="minute", **params)


@pytest.mark.parametrize(
    ("name", "route", "method"),
    [("kpis", "kpis", "GET"), ("snapshot", "snapshot", "GET"), ("dlq_list", "dlq", "GET"),
     ("dlq_replay", "dlq/replay", "POST")],
)  # fmt: skip
@pytest.mark.parametrize("principal", [None, "", "not base64!", "e30="])  # absent, empty, garbage, {} (no claims)
def test_no_principal_is_a_401_on_every_data_route(
    app_env: AppEnv, name: str, route: str, method: str, principal: str | None
) -> None:
    request = http_request(method, route, {"scope": "chain", "grain": "hour"}, principal=principal)
    response = app_env.call(name, request)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert orjson.loads(response.get_body())["error"]["code"] == "unauthenticated"


def test_the_page_sends_a_caller_without_a_principal_to_the_sign_in(app_env: AppEnv) -> None:
    page = app_env.call("live_page", http_request("GET", "live"))
    assert page.status_code == 302
    assert page.headers["Location"] == "/.auth/login/aad?post_login_redirect_uri=/api/live"
    static = func.HttpRequest(
        "GET", "http://localhost/api/live/static/live.js", body=b"", route_params={"name": "live.js"}
    )
    assert app_env.call("live_static", static).status_code == 401


def test_health_stays_anonymous_and_shows_no_business_figure(app_env: AppEnv) -> None:
    _ingest(app_env)
    status, anonymous = _call(app_env, "health", "health", None)
    assert status == 200 and anonymous["status"] == "ok"
    assert anonymous["sources"]["txn"].keys() == {"status", "age_s", "last_batch_at", "dead_letter_rate"}
    assert "received" not in orjson.dumps(anonymous).decode()
    _, full = _call(app_env, "health", "health", OPERATOR)
    assert full["sources"]["txn"]["received"] == 3
    _, manager = _call(app_env, "health", "health", STORE_DE013)
    assert "received" not in manager["sources"]["txn"]  # a manager does not see chain volumes either


def test_a_store_manager_sees_exactly_its_store(app_env: AppEnv) -> None:
    _ingest(app_env)
    status, rows = _kpis(app_env, STORE_DE013, scope="store", key="DE013")
    assert status == 200 and [(r["key"], r["transactions"]) for r in rows] == [("DE013", 1)]
    status, rows = _kpis(app_env, STORE_DE013, scope="store")  # no key: only what it may see
    assert status == 200 and {r["key"] for r in rows} == {"DE013"}
    for params in ({"scope": "store", "key": "DE014"}, {"scope": "region", "key": "DE_SOUTH"}, {"scope": "region"},
                   {"scope": "chain"}, {"scope": "channel"}):  # fmt: skip
        status, error = _kpis(app_env, STORE_DE013, **params)
        assert status == 403 and error["error"]["code"] == "forbidden", params

    page = app_env.call("live_page", http_request("GET", "live", principal=STORE_DE013))
    assert page.status_code == 302 and page.headers["Location"] == "/api/live?store=DE013"
    status, snap = _call(app_env, "snapshot", "snapshot", STORE_DE013, store="DE013")
    assert status == 200 and snap["focus"]["key"] == "DE013"
    assert snap["filters"] == {
        "chain": False,
        "regions": [],
        "stores": [{"id": "DE013", "name": "Pulse München Marienplatz", "region": "DE_SOUTH"}],
    }
    assert [row["key"] for row in snap["breakdown"]["rows"]] == ["DE013"]  # not its neighbours' figures
    health = [tile for tile in snap["tiles"] if tile["id"] in ("dead_letter_rate", "lag_p50_ms", "lag_p95_ms")]
    assert len(health) == 3 and all(tile["detail"] == "pipeline-wide" for tile in health)  # no chain volumes
    for params in ({}, {"store": "DE014"}, {"region": "DE_SOUTH"}):
        assert _call(app_env, "snapshot", "snapshot", STORE_DE013, **params)[0] == 403, params
    elsewhere = app_env.call("live_page", http_request("GET", "live", {"store": "DE014"}, principal=STORE_DE013))
    assert elsewhere.status_code == 403


def test_a_region_manager_sees_its_region_and_its_stores(app_env: AppEnv) -> None:
    _ingest(app_env)
    status, rows = _kpis(app_env, REGION_DE_NORTH, scope="region")
    assert status == 200 and [(r["key"], r["transactions"]) for r in rows] == [("DE_NORTH", 1)]
    status, rows = _kpis(app_env, REGION_DE_NORTH, scope="store")
    assert status == 200 and [r["key"] for r in rows] == ["DE001"]
    assert _kpis(app_env, REGION_DE_NORTH, scope="store", key="DE001")[0] == 200
    for params in ({"scope": "store", "key": "DE013"}, {"scope": "region", "key": "DE_SOUTH"}, {"scope": "chain"}):
        assert _kpis(app_env, REGION_DE_NORTH, **params)[0] == 403, params
    page = app_env.call("live_page", http_request("GET", "live", principal=REGION_DE_NORTH))
    assert page.headers["Location"] == "/api/live?region=DE_NORTH"
    status, snap = _call(app_env, "snapshot", "snapshot", REGION_DE_NORTH, region="DE_NORTH")
    assert status == 200 and snap["filters"]["regions"] == ["DE_NORTH"] and snap["filters"]["chain"] is False
    assert {s["region"] for s in snap["filters"]["stores"]} == {"DE_NORTH"}
    assert {row["key"] for row in snap["breakdown"]["rows"]} <= {s["id"] for s in snap["filters"]["stores"]}


def test_a_viewer_sees_every_scope_but_no_dead_letter(app_env: AppEnv) -> None:
    _ingest(app_env)
    _, chain = _kpis(app_env, VIEWER, scope="chain")
    assert [r["transactions"] for r in chain] == [3]
    _, stores = _kpis(app_env, VIEWER, scope="store")
    assert {r["key"] for r in stores} == {"DE001", "DE013", "DE014"}
    status, snap = _call(app_env, "snapshot", "snapshot", VIEWER)
    assert status == 200 and snap["filters"]["chain"] is True and len(snap["filters"]["stores"]) > 3
    assert app_env.call("live_page", http_request("GET", "live", principal=VIEWER)).status_code == 200
    assert _call(app_env, "dlq_list", "dlq", VIEWER)[0] == 403
    replay = app_env.call("dlq_replay", http_request("POST", "dlq/replay", body=b'{"source": "txn"}', principal=VIEWER))
    assert replay.status_code == 403


def test_a_signed_in_account_without_a_role_sees_nothing(app_env: AppEnv) -> None:
    assert _kpis(app_env, NO_ROLE, scope="store", key="DE013")[0] == 403
    assert app_env.call("live_page", http_request("GET", "live", principal=NO_ROLE)).status_code == 403
    assert _call(app_env, "dlq_list", "dlq", NO_ROLE)[0] == 403


def test_an_operator_lists_and_replays_dead_letters_and_every_access_is_logged(
    app_env: AppEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticks = itertools.count()  # the log's day is NOW's even across 00:00Z, and its order the calls' order
    monkeypatch.setattr(api, "now", lambda: NOW + timedelta(milliseconds=next(ticks)))
    bad = body("txn", 9, merchant_id="DE001", posted_ts=TS, currency="XTS")
    app_env.call("ingest_txn", event_batch([bad], partition="1", first_seq=0, enqueued=NOW))
    status, listed = _call(app_env, "dlq_list", "dlq", OPERATOR, source="txn")
    assert status == 200 and [letter["reason_code"] for letter in listed["letters"]] == ["unknown_currency"]
    replay = app_env.call("dlq_replay", http_request("POST", "dlq/replay", body=b'{"reason": "unknown_currency"}',
                                                     principal=OPERATOR))  # fmt: skip
    assert replay.status_code == 200 and orjson.loads(replay.get_body())["still_failing"] == 1
    assert _kpis(app_env, OPERATOR, scope="chain")[0] == 403  # operating the pipeline is not reading the KPIs
    log = read_access_log(app_env.store, NOW.date().isoformat())
    assert [(r["action"], r["principal"], r["letters"]) for r in log] == [
        ("list", "otto@contoso.example (oid-otto)", 1),
        ("replay", "otto@contoso.example (oid-otto)", 1),
    ]
    assert log[0]["filter"] == {"source": "txn", "status": "open", "limit": 100}
    assert log[1]["filter"] == {"reason": "unknown_currency"}
    assert all(r["at"].startswith(NOW.date().isoformat()) for r in log)


def test_a_forged_header_on_an_anonymous_route_changes_nothing(app_env: AppEnv) -> None:
    assert PRINCIPAL_HEADER == "X-MS-CLIENT-PRINCIPAL"  # what App Service Authentication sets and strips
    status, anonymous = _call(app_env, "health", "health", "bm90IGpzb24=")  # base64 of "not json"
    assert status == 200 and all("received" not in s for s in anonymous["sources"].values())
