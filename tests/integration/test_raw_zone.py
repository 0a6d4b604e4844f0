"""The raw zone end to end against Azurite: capture while ingesting, replay into empty stores (embedded and the
npm Cosmos DB server), replay again, overlap with live ingest, damaged blobs, and reconciliation verdicts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.bootstrap import build_pipeline
from shared.capture.reader import CaptureRange, captured_blobs, captured_messages
from shared.handlers.capture_replay import replay_messages
from shared.rollups.query import kpi_rows
from shared.sources.capture_blob import BlobCaptureStore, open_capture_store
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.emulators import AzuriteEndpoints, CosmosTarget

pytestmark = [pytest.mark.emulator, pytest.mark.slow]

PULSE = str(Path(sys.executable).with_name("pulse"))
KEY = "raw-zone-test-key-" + "x" * 32
NOW = "2026-11-26T18:00:00Z"
LATER = "2026-11-26T19:30:00Z"
FAULTS = "duplicate=0.03,out_of_order=0.03,late=0.02,malformed=0.03"


def pulse(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PII_HMAC_KEY": KEY}
    result = subprocess.run([PULSE, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"pulse {' '.join(args)} exited {result.returncode}: {result.stderr[-2000:]}")
    return result


def kpis(db: Path) -> list[dict[str, Any]]:
    now = datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
    with SqliteDocumentStore(db) as store:
        return [
            _values(row)
            for scope in ("chain", "region", "store")
            for grain in ("hour", "day")
            for row in kpi_rows(store, scope, grain, now)  # type: ignore[arg-type]
        ]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, azurite: AzuriteEndpoints) -> dict[str, Any]:
    """Two sources generated and ingested live, captured into an Azurite container as they were appended."""
    folder = tmp_path_factory.mktemp("raw-zone")
    url = f"http://127.0.0.1:{azurite.blob_port}/devstoreaccount1/capture-{folder.name.replace('_', '-')[-20:]}"
    db = folder / "live.db"
    files = {}
    for seed, (source, count) in enumerate({"txn": 3000, "traffic": 1500}.items()):
        files[source] = folder / f"{source}.jsonl"
        pulse("generate", "--source", source, "--count", str(count), "--seed", str(seed + 11),
              "--start", "2026-11-26T07:00:00Z", "--faults", FAULTS, "--out", str(files[source]))  # fmt: skip
        for half, now in ((0, NOW), (1, LATER)):  # two appends an hour and a half apart: two capture windows
            part = folder / f"{source}.{half}.jsonl"
            lines = files[source].read_bytes().splitlines(keepends=True)
            part.write_bytes(b"".join(lines[half::2]))
            pulse("ingest", "--source", source, "--db", str(db), str(part), "--now", now,
                  "--batch-size", "200", "--capture-url", url)  # fmt: skip
    return {"db": db, "url": url, "folder": folder, "files": files}


def test_ingest_captured_every_appended_message_in_captures_layout(live: dict[str, Any]) -> None:
    capture = open_capture_store(live["url"])
    names = list(capture.list_names())
    assert names and all(n.startswith("pulse-local/pulse-") and n.endswith(".avro") for n in names)
    for source, path in live["files"].items():
        bodies = sorted(path.read_bytes().splitlines())
        captured = list(captured_messages(capture, CaptureRange(f"pulse-{source}")))
        assert sorted(raw.body for raw in captured) == bodies
        hours = {raw.enqueued_time.hour for raw in captured if raw.enqueued_time}
        assert hours == {18, 19}


def test_replay_into_an_empty_store_rebuilds_every_kpi_and_kpis_diff_is_empty(live: dict[str, Any]) -> None:
    rebuilt = live["folder"] / "rebuilt.db"
    for source in ("txn", "traffic"):
        summary = orjson.loads(
            pulse(
                "replay",
                "--from-capture",
                live["url"],
                "--hub",
                source,
                "--into" if source == "txn" else "--db",
                str(rebuilt),
            ).stdout
        )
        assert summary["received"] == len(live["files"][source].read_bytes().splitlines())
        assert summary["already_applied"] == 0 and summary["damaged_blobs"] == []
    assert kpis(rebuilt) == kpis(live["db"])
    diff = pulse("kpis", "--diff", str(live["db"]), str(rebuilt), "--now", LATER)
    assert diff.stdout == "" and diff.returncode == 0 and "0 differences" in diff.stderr

    again = orjson.loads(pulse("replay", "--from-capture", live["url"], "--hub", "txn", "--db", str(rebuilt)).stdout)
    assert again["already_applied"] == again["received"] > 0
    assert again["accepted"] == again["duplicates"] == again["dead_lettered"] == 0
    assert kpis(rebuilt) == kpis(live["db"])


def test_a_rebuilt_store_takes_new_messages_after_the_positions_it_rebuilt(live: dict[str, Any]) -> None:
    """A store rebuilt from the capture keeps the hub's positions; its new log numbers after them.

    Before the fix the new log counted from 0 again, and the store skipped as applied the first
    new message of each partition up to the rebuilt position: ingest appended 500, received 373."""
    rebuilt = live["folder"] / "continued.db"
    pulse("replay", "--from-capture", live["url"], "--hub", "txn", "--into", str(rebuilt))
    more = live["folder"] / "more.jsonl"
    pulse("generate", "--source", "txn", "--count", "500", "--seed", "77", "--start", "2026-11-26T19:00:00Z",
          "--out", str(more))  # fmt: skip
    summary = orjson.loads(pulse("ingest", "--source", "txn", "--db", str(rebuilt), str(more), "--now", LATER).stdout)
    assert summary["appended"] == summary["received"] == summary["accepted"] == 500
    assert _transactions(rebuilt) > _transactions(live["db"])  # the new sales count in the rebuilt store


def _transactions(db: Path) -> int:
    now = datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
    with SqliteDocumentStore(db) as store:
        return sum(int(row["transactions"]) for row in kpi_rows(store, "chain", "day", now))


def test_replay_of_what_the_live_store_applied_changes_nothing(live: dict[str, Any]) -> None:
    before = kpis(live["db"])
    summary = orjson.loads(
        pulse("replay", "--from-capture", live["url"], "--hub", "txn", "--db", str(live["db"])).stdout
    )
    assert summary["already_applied"] == summary["received"]
    assert kpis(live["db"]) == before


def test_kpis_diff_shows_what_a_partial_rebuild_lacks(live: dict[str, Any]) -> None:
    partial = live["folder"] / "partial.db"
    pulse("replay", "--from-capture", live["url"], "--hub", "txn", "--partition", "0", "--into", str(partial))
    diff = pulse("kpis", "--diff", str(live["db"]), str(partial), "--scope", "chain", "--grain", "day", check=False)
    assert diff.returncode == 1
    changed = [orjson.loads(line) for line in diff.stdout.splitlines()]
    assert {c["kpi"] for c in changed} >= {"net_sales", "transactions"}
    assert all(c["a"] != c["b"] for c in changed)


def test_replay_into_the_npm_cosmos_server_equals_direct_ingest(
    live: dict[str, Any], cosmos_target: CosmosTarget
) -> None:
    capture = open_capture_store(live["url"])
    store = cosmos_target.open_store()
    try:
        pipeline = build_pipeline(store, KEY.encode())
        for source in ("txn", "traffic"):
            messages = captured_messages(capture, CaptureRange(f"pulse-{source}"))
            replay_messages(source, messages, pipeline.ingest, batch_size=300, fallback_now=lambda: datetime.now(UTC))  # type: ignore[arg-type]
        # The npm server has no change feed: hand the rollup handler every changed document, as the trigger would.
        now = datetime(2026, 11, 26, 19, 30, tzinfo=UTC)
        for container in ("views", "orders"):
            docs = [d for d in store.query(container) if not d["id"].startswith("feed:")]
            pipeline.rollup(container, docs, now)
        with SqliteDocumentStore(live["db"]) as embedded:
            for scope, grain in (("chain", "day"), ("store", "hour"), ("region", "day")):
                ours = [_values(r) for r in kpi_rows(store, scope, grain, now)]  # type: ignore[arg-type]
                theirs = [_values(r) for r in kpi_rows(embedded, scope, grain, now)]  # type: ignore[arg-type]
                assert ours == theirs and ours
    finally:
        store.close()


def test_a_damaged_blob_is_named_and_skipped_only_when_asked(live: dict[str, Any]) -> None:
    capture = open_capture_store(live["url"])
    assert isinstance(capture, BlobCaptureStore)
    good = captured_blobs(capture, CaptureRange("pulse-traffic"))[0]
    with capture.open_read(good.name) as stream:
        data = stream.read()
    name = good.name.replace("pulse-traffic", "pulse-damaged")
    capture.write(name, data[: len(data) // 2])
    capture.write(name.replace(".avro", "1.avro").replace("/00/00", "/00/01"), data)  # not a capture name: ignored
    refused = pulse("replay", "--from-capture", live["url"], "--hub", "traffic", "--hub-name", "pulse-damaged",
                    "--into", str(live["folder"] / "damaged.db"), check=False)  # fmt: skip
    assert refused.returncode == 2
    assert name in refused.stderr and "record" in refused.stderr and "--skip-damaged" in refused.stderr
    skipped = pulse("replay", "--from-capture", live["url"], "--hub", "traffic", "--hub-name", "pulse-damaged",
                    "--into", str(live["folder"] / "skipped.db"), "--skip-damaged")  # fmt: skip
    summary = orjson.loads(skipped.stdout)
    assert [d["blob"] for d in summary["damaged_blobs"]] == [name]


def test_reconcile_verdicts_and_exit_codes(live: dict[str, Any]) -> None:
    ok = pulse("reconcile", "--from-capture", live["url"], "--hub", "txn", "--db", str(live["db"]), "--format", "json")
    body = orjson.loads(ok.stdout)
    assert body["verdict"] == "ok" and ok.returncode == 0
    assert body["totals"]["captured"] == body["totals"]["processed"] > 0
    assert body["totals"]["dead_lettered"] > 0  # the malformed faults: explained, with reasons
    assert any(r["verdict"] == "dead-lettered" and r["dead_letter_reasons"] for r in body["rows"])

    # An unprocessed partition: a store that replayed partition 0 only.
    partial = live["folder"] / "partial-recon.db"
    pulse("replay", "--from-capture", live["url"], "--hub", "txn", "--partition", "0", "--into", str(partial))
    missing = pulse("reconcile", "--from-capture", live["url"], "--hub", "txn", "--db", str(partial), check=False)
    assert missing.returncode == 1
    assert "missing in audit" in missing.stdout and "UNEXPLAINED" in missing.stdout

    # A gap: a copy of the capture with one middle blob deleted.
    capture = open_capture_store(live["url"])
    gap_url = live["url"] + "gap"
    gapped = open_capture_store(gap_url, create=True)
    blobs = [b.name for b in captured_blobs(capture, CaptureRange("pulse-txn", partition="1"))]
    for name in capture.list_names():
        if name != blobs[0]:  # the first of two windows of partition 1: its messages become a hole
            with capture.open_read(name) as stream:
                gapped.write(name, stream.read())
    extra = pulse(
        "reconcile", "--from-capture", gap_url, "--hub", "txn", "--db", str(live["db"]), "--format", "json", check=False
    )
    assert extra.returncode == 1
    rows = orjson.loads(extra.stdout)["rows"]
    assert [r["verdict"] for r in rows if r["partition"] == "1"] == ["extra"]  # the hole, before the first blob
    assert all(r["verdict"] != "extra" for r in rows if r["partition"] != "1")


def _values(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "as_of"}


def test_blob_stream_reads_in_chunks(live: dict[str, Any]) -> None:
    capture = open_capture_store(live["url"])
    name = next(iter(capture.list_names()))
    with capture.open_read(name) as stream:
        parts = [stream.read(7), stream.read(1000), stream.read()]
    whole = io.BytesIO(b"".join(parts)).getvalue()
    with capture.open_read(name) as stream:
        assert stream.read() == whole
