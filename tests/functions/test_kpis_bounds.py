"""`pulse kpis --from/--to` and `GET /api/kpis?from=&to=` return the same rows for the same bounds.

Sales in Berlin (UTC+1) and London (UTC+0) stores around midnight UTC, ingested and
rolled up through the indexed Function App; then every pair of bounds (UTC, positive
and negative offsets, mid-window instants, business dates) at every grain and
scope, asked of the API (a real ``azure.functions.HttpRequest``) and of the CLI on
the same SQLite file, must give identical rows, and the rows the rule names.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from functions._runtime import reset_runtime
from shared.cli.main import main
from tests.functions.app_env import SETTINGS, AppEnv
from tests.functions.test_handlers import _roll_up
from tests.functions.trigger_inputs import client_principal, event_batch, http_request
from tests.support.samples import body

NOW = datetime.now(UTC)
DAY = (NOW - timedelta(days=3)).date()  # D: all events lie between D-1 23:30Z and D+1 00:30Z, in the past
PREV, NEXT = DAY - timedelta(days=1), DAY + timedelta(days=1)
SALES = [  # (store, UTC time): Berlin's day D begins at D-1 23:00Z, London's at D 00:00Z
    ("DE001", f"{PREV}T23:30:10Z"),
    ("GB001", f"{PREV}T23:30:20Z"),
    ("DE001", f"{DAY}T00:00:05Z"),
    ("GB001", f"{DAY}T10:05:30Z"),
    ("DE002", f"{DAY}T10:59:59Z"),
    ("GB001", f"{DAY}T11:00:00Z"),
    ("DE001", f"{DAY}T23:10:00Z"),
    ("GB002", f"{NEXT}T00:30:00Z"),
]
BOUNDS = [
    None,
    f"{DAY}T00:00:00Z",
    f"{DAY}T00:00:00+01:00",
    f"{PREV}T23:45:00-01:00",
    f"{DAY}T12:05:59+02:00",
    f"{DAY}T11:00:00.5Z",
    f"{NEXT}",
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The Function App's store after the sales were ingested and rolled up by its functions."""
    path = tmp_path_factory.mktemp("bounds") / "pulse.db"
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in _settings(path).items():
            monkeypatch.setenv(name, value)
        reset_runtime()
        env = AppEnv(monkeypatch, f"sqlite:///{path}")
        bodies = [body("txn", n, merchant_id=store, posted_ts=ts) for n, (store, ts) in enumerate(SALES, 1)]
        env.call("ingest_txn", event_batch(bodies, partition="0", first_seq=0, enqueued=NOW))
        _roll_up(env)
        _roll_up(env)  # the second page: documents the first rollup wrote
        yield path
        reset_runtime()


def _settings(db: Path) -> dict[str, str]:
    """The app's settings against the embedded store `db` (its dead-letter key file beside it)."""
    return {**SETTINGS, "PULSE_STORE_URL": f"sqlite:///{db}", "PULSE_DEAD_LETTER_KEY_FILE": f"{db}.dlq-key"}


def _api(db: Path, params: dict[str, str]) -> tuple[int, Any]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in _settings(db).items():
            monkeypatch.setenv(name, value)
        env = AppEnv(monkeypatch, f"sqlite:///{db}")
        viewer = client_principal("viewer", ["Viewer"])  # signed in, every KPI (Easy Auth's header)
        response = env.call("kpis", http_request("GET", "kpis", params, principal=viewer))
        return response.status_code, orjson.loads(response.get_body())


def _cli(db: Path, params: dict[str, str], capsys: pytest.CaptureFixture[bytes]) -> tuple[int, Any]:
    argv = ["kpis", "--db", str(db), "--now", NOW.isoformat()]
    for name, value in params.items():
        argv += [f"--{name}", value]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, (orjson.loads(out) if status == 0 else err)


def _pairs() -> Iterator[tuple[str | None, str | None]]:
    for lo, hi in itertools.product(BOUNDS, BOUNDS):
        if lo is None or hi is None or lo < hi:
            yield lo, hi


@pytest.mark.parametrize("grain", ["minute", "hour", "day"])
@pytest.mark.parametrize(("scope", "key"), [("chain", None), ("region", None), ("store", None), ("store", "GB001")])
def test_cli_and_api_give_identical_rows_for_the_same_bounds(
    db: Path, capsysbinary: pytest.CaptureFixture[bytes], grain: str, scope: str, key: str | None
) -> None:
    compared = 0
    for lo, hi in _pairs():
        params = {"scope": scope, "grain": grain, **({"key": key} if key else {})}
        params.update({name: value for name, value in (("from", lo), ("to", hi)) if value is not None})
        if grain != "day" and any(len(v) == 10 for v in (lo or "", hi or "")):
            continue  # a plain date is a bound of the day grain only (both refuse it elsewhere: checked below)
        api_status, api_rows = _api(db, params)
        cli_status, cli_rows = _cli(db, params, capsysbinary)
        if api_status == 400:  # an empty range ('to' not after 'from'): both refuse it
            assert cli_status == 2 and "must name a later window" in cli_rows.decode(), params
            continue
        assert (api_status, cli_status) == (200, 0), params
        assert cli_rows == api_rows, params
        compared += 1
    assert compared >= 10


def _windows(db: Path, **params: str) -> list[tuple[str, str]]:
    status, rows = _api(db, params)
    assert status == 200, rows
    return [(row["key"], row["window"]) for row in rows]


def test_the_rows_the_rule_names(db: Path) -> None:
    # day: the business date of a timestamp in the member's own time zone; 'to' is exclusive
    assert _windows(db, scope="chain", grain="day", **{"from": f"{DAY}T00:00:00Z"}) == [
        ("ALL", str(DAY)),
        ("ALL", str(NEXT)),
    ]
    assert _windows(db, scope="chain", grain="day", to=f"{DAY}T00:00:00Z") == [("ALL", str(PREV))]
    by_store = _windows(db, scope="store", grain="day", **{"from": f"{DAY}T00:30:00+01:00", "to": f"{NEXT}"})
    # D 00:30+01:00 is D-1 23:30 in London: GB001's day D-1 (its 23:30:20Z sale) is in, Berlin's D-1 is not
    assert by_store == [("DE001", str(DAY)), ("DE002", str(DAY)), ("GB001", str(PREV)), ("GB001", str(DAY))]
    # minute / hour: the UTC window containing the instant, offsets honoured
    assert _windows(db, scope="store", key="GB001", grain="minute", **{"from": f"{DAY}T12:05:59+02:00"}) == [
        ("GB001", f"{DAY}T10:05:00Z"),
        ("GB001", f"{DAY}T11:00:00Z"),
    ]
    hours = _windows(db, scope="chain", grain="hour", **{"from": f"{DAY}T10:30:00Z", "to": f"{DAY}T11:00:00.5Z"})
    assert hours == [("ALL", f"{DAY}T10:00:00Z")]


@pytest.mark.parametrize(
    ("grain", "bound", "message"),
    [
        ("day", "yesterday", "--from: 'from' must be an RFC 3339 timestamp with an offset"),
        ("hour", "2026-11-27", "--from: 'from' must be an RFC 3339 timestamp with an offset"),
        ("minute", "2026-11-27T10:00:00", "--from: 'from' must be an RFC 3339 timestamp with an offset"),
        ("day", "2026-02-30", "--from: 'from': no such date '2026-02-30'"),
    ],
)
def test_a_bad_bound_exits_2_with_one_line_and_the_api_answers_400(
    db: Path, capsysbinary: pytest.CaptureFixture[bytes], grain: str, bound: str, message: str
) -> None:
    status, err = _cli(db, {"scope": "chain", "grain": grain, "from": bound}, capsysbinary)
    assert status == 2
    assert err.decode().startswith(f"pulse: error: {message}") and err.decode().count("\n") == 1
    api_status, payload = _api(db, {"scope": "chain", "grain": grain, "from": bound})
    assert api_status == 400 and payload["error"]["parameter"] == "from"
