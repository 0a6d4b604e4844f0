"""The Azure shape end to end: the indexed app's functions driven in the order the host drives them.

Seven Event Hubs triggers get real ``azure.functions.EventHubEvent`` batches of the
generator's stream for every source (with its producer duplicates, late and
malformed events) plus one redelivered batch; the change-feed triggers get the
pages the store's change feed returns; the timer drains to the local fake Power BI
(push datasets, its limits enforced), two instances at once at the end. Both stores:
the embedded SQLite store and `@vercel/cosmosdb-server` through the real
azure-cosmos SDK. That server's change feed answers every continuation with 304, so
there each round replays its feed from the beginning, as a trigger with
``start_from_beginning`` and a fresh lease would: the rollups and the outbox's delta
states make a replay add nothing.
"""

from __future__ import annotations

import threading
import zlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import takewhile
from pathlib import Path
from typing import Any

import azure.functions as func
import orjson
import pytest

from shared.cli.main import main as pulse_main
from shared.cli.powerbi import create_datasets
from shared.generator import stream
from shared.generator.events import GeneratedEvent
from shared.kpis.formulas import format_utc
from shared.sinks.powerbi_push import PowerBiRestClient
from shared.sinks.rows import DELTA_MEASURES
from shared.stores.port import Document
from shared.topology import HUB_NAMES, SOURCES
from tests.fixtures.fake_powerbi import FakePowerBi, FakeTokenCredential
from tests.functions.app_env import AppEnv
from tests.functions.trigger_inputs import client_principal, document_list, event_batch, http_request, timer_request
from tests.integration.test_powerbi_fake import assert_within_limits
from tests.support.samples import body

NOW = datetime.now(UTC)
START = NOW - timedelta(minutes=150)
PARTITIONS = 4
BATCH = 250
PAGE = 1000  # max_items_per_invocation of the change-feed triggers
FAULTS = {"duplicate": 0.03, "out_of_order": 0.03, "late": 0.02, "malformed": 0.01}
KPI_MEASURES = {  # /api/kpis field -> kpi_delta column (money in cents)
    "net_sales": "net_sales_cents",
    "gross_sales": "gross_sales_cents",
    "transactions": "transactions",
    "units": "units",
    "voids": "voids",
    "visitors": "visitors",
    "orders_placed": "orders_placed",
    "orders_completed": "orders_completed",
}


PER_SOURCE = 400


def _generated() -> list[GeneratedEvent]:
    """The chain's events delivered between START and a minute ago (at 3x), the first PER_SOURCE of each source."""
    until_ms = int((NOW - timedelta(minutes=1)).timestamp() * 1000)
    events = stream("all", seed=10, start=START, faults=FAULTS, scale=3.0)
    taken: dict[str, int] = defaultdict(int)
    kept = []
    for event in takewhile(lambda e: e.delivery_ms <= until_ms, events):
        if taken[event.source] < PER_SOURCE:
            taken[event.source] += 1
            kept.append(event)
    return kept


EVENTS = _generated()


class Host:
    """Delivers batches per (hub, partition) with gapless sequence numbers, and pages of the change feeds."""

    def __init__(self, env: AppEnv) -> None:
        self.env = env
        self.next_seq: dict[tuple[str, int], int] = defaultdict(int)
        self.tokens: dict[str, str | None] = {}
        self.replays_feed = env.store_url.startswith("cosmos://")  # the npm server: see the module docstring
        self.sent: dict[str, int] = defaultdict(int)
        self.last_batch: tuple[str, list[func.EventHubEvent]] | None = None

    def ingest(self, events: list[GeneratedEvent]) -> None:
        by_partition: dict[tuple[str, int], list[GeneratedEvent]] = defaultdict(list)
        for event in events:
            by_partition[(event.source, zlib.crc32(event.partition_key.encode()) % PARTITIONS)].append(event)
        for (source, partition), mine in sorted(by_partition.items()):
            for i in range(0, len(mine), BATCH):
                chunk = mine[i : i + BATCH]
                enqueued = datetime.fromtimestamp(chunk[-1].delivery_ms / 1000, UTC)
                batch = event_batch(
                    [e.body for e in chunk],
                    partition=str(partition),
                    first_seq=self.next_seq[(source, partition)],
                    enqueued=enqueued,
                    hub=HUB_NAMES[source],  # type: ignore[index]
                )
                self.env.call(f"ingest_{source}", batch)
                self.next_seq[(source, partition)] += len(chunk)
                self.sent[source] += len(chunk)
                self.last_batch = (source, batch)

    def pages(self, container: str) -> Iterator[list[Document]]:
        """What the change-feed trigger of `container` would be handed next."""
        if self.replays_feed:
            docs = self.env.store.change_feed(container, None, 1_000_000).docs
            yield from (docs[i : i + PAGE] for i in range(0, len(docs), PAGE))
            return
        while True:
            page = self.env.store.change_feed(container, self.tokens.get(container), PAGE)
            if not page.docs:
                return
            yield page.docs
            self.tokens[container] = page.continuation

    def change_feeds(self) -> None:
        for container in ("views", "orders"):
            for docs in self.pages(container):
                self.env.call(f"rollup_{container}", document_list(docs))
        for docs in self.pages("rollups"):
            self.env.call("rollups_outbox", document_list(docs))

    def timer(self) -> None:
        self.env.call("outputs_timer", timer_request())


def _api(env: AppEnv, route: str, **params: str) -> Any:
    viewer = client_principal("viewer", ["Viewer"])  # signed in (Easy Auth's header), all KPIs
    response = env.call(route.replace("/", "_"), http_request("GET", route, params, principal=viewer))
    assert response.status_code == 200, response.get_body()
    return orjson.loads(response.get_body())


def _kpis(env: AppEnv, scope: str, grain: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["key"], r["window"]): r for r in _api(env, "kpis", scope=scope, grain=grain)}


@pytest.fixture
def power_bi(app_env: AppEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakePowerBi, dict[str, str]]]:
    """The fake Power BI with the live and history push datasets, and the app configured for it."""
    with FakePowerBi(lambda: datetime.now(UTC).timestamp()) as fake:  # type: ignore[arg-type]  # a real clock
        client = PowerBiRestClient(FakeTokenCredential(fake.token), group_id="group-1", api_base=fake.api_base)
        ids = {name: v["id"] for name, v in create_datasets(client, ["live", "history"]).items()}
        monkeypatch.setattr("functions._outputs.default_credential", lambda: FakeTokenCredential(fake.token))
        app_env.set(
            POWERBI_GROUP_ID="group-1",
            POWERBI_LIVE_DATASET_ID=ids["live"],
            POWERBI_HISTORY_DATASET_ID=ids["history"],
            POWERBI_API_BASE=fake.api_base,
            PULSE_SNAPSHOT_INTERVAL_S="0",  # a snapshot at every tick, so the last one shows the end state
        )
        yield fake, ids


def test_the_registered_functions_do_the_whole_job(
    app_env: AppEnv, power_bi: tuple[FakePowerBi, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake, ids = power_bi
    host = Host(app_env)
    assert {e.source for e in EVENTS} == set(SOURCES)
    thirds = [
        EVENTS[: len(EVENTS) // 3],
        EVENTS[len(EVENTS) // 3 : 2 * len(EVENTS) // 3],
        EVENTS[2 * len(EVENTS) // 3 :],
    ]
    for wave, events in enumerate(thirds):
        host.ingest(events)
        if wave == 0:
            assert host.last_batch is not None
            app_env.call(f"ingest_{host.last_batch[0]}", host.last_batch[1])  # redelivered before its checkpoint
        host.change_feeds()
        host.timer()
    # A late sale for a minute whose deltas Power BI already has: it corrects that minute.
    early = START + timedelta(minutes=20)
    late_body = body("txn", 990_001, merchant_id="DE001", posted_ts=early.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    host.ingest([GeneratedEvent("txn", "DE001", late_body, int(early.timestamp() * 1000), EVENTS[-1].delivery_ms)])
    host.change_feeds()

    # Two timer instances at once, then ticks until the outbox is empty.
    threads = [threading.Thread(target=host.timer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for _ in range(20):
        if all(t["pending_rows"] == 0 for t in _api(app_env, "health")["outputs"]["tables"].values()):
            break
        host.timer()
    health = _api(app_env, "health")
    assert health["outputs"]["status"] == "ok" and health["outputs"]["errors"] == {}
    assert all(t["pending_rows"] == 0 and t["rejected_rows"] == 0 for t in health["outputs"]["tables"].values())

    # Nothing lost: every message counted once per source, whatever was redelivered.
    for source in SOURCES:
        entry = health["sources"][source]
        assert entry["received"] == host.sent[source], source
        assert entry["received"] == entry["accepted"] + entry["dead_lettered"] + entry["duplicates"]
    assert sum(health["sources"][s]["duplicates"] for s in SOURCES) > 0
    assert sum(health["sources"][s]["dead_lettered"] for s in SOURCES) > 0

    # Power BI: every request within the limits; each delta row once; their sums equal /api/kpis.
    for dataset in ids.values():
        assert_within_limits(fake.accepted(dataset), fake.limits, streaming=False)
    deltas = fake.rows(ids["history"], "kpi_delta")
    assert len({r["row_id"] for r in deltas}) == len(deltas) > 0
    compared = 0
    for scope in ("chain", "region", "store", "channel"):
        sums: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for row in deltas:
            if row["scope"] == scope:
                for column, _ in DELTA_MEASURES:
                    sums[(row["key"], row["window"])][column] += row[column]
                sums[(row["key"], row["window"])]["net_sales_cents"] += row["net_sales_cents"]
        kpis = _kpis(app_env, scope, "minute")
        counted = {k for k, r in kpis.items() if r["transactions"] or r["visitors"] or r["orders_placed"]}
        assert counted <= set(sums), scope
        for member, row in kpis.items():
            got = sums.get(member, {})
            for field, column in KPI_MEASURES.items():
                want = row[field]
                have = got.get(column, 0)
                assert (Decimal(have) / 100 if field.endswith("sales") else have) == Decimal(str(want)), (member, field)
            compared += 1
    assert compared > 100

    # The newest snapshot of the chain is today's /api/kpis row.
    snapshots = [r for r in fake.rows(ids["live"], "kpi_snapshot") if r["scope"] == "chain"]
    newest = max(snapshots, key=lambda r: r["snapshot_at"])
    days = [r for r in _api(app_env, "kpis", scope="chain", grain="day") if r["window"] == newest["day"]]
    today = days[0] if days else {"net_sales": 0, "transactions": 0, "as_of": None}  # just after midnight
    assert Decimal(str(newest["net_sales"])) == Decimal(str(today["net_sales"]))
    assert newest["transactions"] == today["transactions"] and newest["as_of"] == today["as_of"]
    assert newest["snapshot_at"] <= format_utc(datetime.now(UTC))

    # `pulse kpis` on the same store says the same (the embedded store: the CLI opens a SQLite file).
    if app_env.store_url.startswith("sqlite:///"):
        db = app_env.store_url.removeprefix("sqlite:///")
        for scope in ("chain", "store"):
            capsys.readouterr()
            assert pulse_main(["kpis", "--db", db, "--scope", scope, "--grain", "minute", "--format", "json"]) == 0
            cli = {(r["key"], r["window"]): r for r in orjson.loads(capsys.readouterr().out)}
            api = _kpis(app_env, scope, "minute")
            assert {k: r["net_sales"] for k, r in cli.items()} == {k: r["net_sales"] for k, r in api.items()}
            assert {k: r["transactions"] for k, r in cli.items()} == {k: r["transactions"] for k, r in api.items()}


@pytest.mark.parametrize(
    "push_url",
    [
        None,
        "@Microsoft.KeyVault(SecretUri=https://kv-pulse.vault.azure.net/secrets/powerbi-push-url/)",
        "https://127.0.0.1:9/beta/tenant/datasets/d/rows?key=wrong",
    ],
    ids=["unset", "unresolved", "unreachable"],
)
def test_with_the_power_bi_url_unset_or_wrong_ingest_applies_every_event(app_env: AppEnv, push_url: str | None) -> None:
    app_env.set(POWERBI_PUSH_URL=push_url)
    host = Host(app_env)
    txn = [e for e in EVENTS if e.source == "txn"][:400]
    host.ingest(txn)
    host.change_feeds()
    host.timer()  # never raises: a failing sink keeps its rows in the outbox
    health = _api(app_env, "health")
    entry = health["sources"]["txn"]
    assert entry["received"] == len(txn) == entry["accepted"] + entry["dead_lettered"] + entry["duplicates"]
    assert entry["accepted"] > 0
    chain = _api(app_env, "kpis", scope="chain", grain="day")
    assert sum(r["transactions"] for r in chain) > 0
    outputs = health["outputs"]
    if push_url is None:
        assert outputs["status"] == "off"
    elif push_url.startswith("@"):
        assert outputs["status"] == "error" and "unresolved Key Vault reference" in outputs["errors"]["push URL"]
    else:
        assert (
            outputs["status"] == "ok" and outputs["tables"]["kpi_tiles"]["pending_rows"] > 0
        )  # the URL feeds the tiles
        assert "wrong" not in str(outputs)  # the key never shows
