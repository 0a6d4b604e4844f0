"""Any interleaving of live ingest and replays of overlapping captured ranges gives the KPIs of one clean run;
a replay that would skip messages nobody applied is refused before it changes anything."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.bootstrap import build_pipeline
from shared.generator import FaultRates, generate
from shared.handlers.capture_replay import ReplayGap, replay_messages
from shared.pipeline.raw import RawEvent
from shared.rollups.query import kpi_rows
from shared.runtime.feed_poller import ChangeFeedPoller
from shared.runtime.retry import RetryPolicy
from shared.stores.embedded import SqliteDocumentStore

KEY = b"interleaving-test-key-" + b"x" * 32
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NOW = START + timedelta(hours=3)
PARTITIONS = 2


def _messages() -> dict[str, list[RawEvent]]:
    faults = FaultRates(duplicate=0.05, out_of_order=0.05, late=0.0, malformed=0.03)
    by_partition: dict[str, list[RawEvent]] = {str(p): [] for p in range(PARTITIONS)}
    for event in generate("txn", 400, seed=5, start=START, faults=faults):
        partition = str(zlib.crc32(event.partition_key.encode()) % PARTITIONS)
        queue = by_partition[partition]
        queue.append(RawEvent(event.body, partition, len(queue), str(len(queue)), NOW - timedelta(minutes=30)))
    return by_partition


MESSAGES = _messages()


def _kpis(store: SqliteDocumentStore) -> list[dict[str, object]]:
    rows = [r for scope in ("chain", "store") for r in kpi_rows(store, scope, "hour", NOW)]  # type: ignore[arg-type]
    return [{k: v for k, v in r.items() if k != "as_of"} for r in rows]


def _run(path: Path, steps: list[tuple[str, str, int, int]]) -> list[dict[str, object]]:
    """Apply `steps` ("live" or "replay", partition, from, to) then the rest live; roll up; the KPIs."""
    with SqliteDocumentStore(path) as store:
        pipeline = build_pipeline(store, KEY)
        live_next = {p: 0 for p in MESSAGES}

        def applied_through(partition: str) -> int | None:
            doc = store.read("audit", f"progress|txn|{partition}", f"progress|txn|{partition}")
            return None if doc is None else int(doc["last_seq"])

        for kind, partition, lo, hi in steps:
            queue = MESSAGES[partition]
            if kind == "live":  # the live consumer: in order from where it stands
                batch = queue[live_next[partition] : live_next[partition] + hi - lo]
                if batch:
                    pipeline.ingest("txn", batch, NOW)
                    live_next[partition] += len(batch)
            else:
                before = sorted(d["id"] + d["_etag"] for d in store.query("views"))
                try:
                    replay_messages("txn", queue[lo:hi], pipeline.ingest, batch_size=37,
                                    fallback_now=lambda: NOW, applied_through=applied_through)  # fmt: skip
                except ReplayGap:
                    last = applied_through(partition)
                    assert lo > (last if last is not None else -1) + 1  # refused only at a real hole
                    assert sorted(d["id"] + d["_etag"] for d in store.query("views")) == before  # nothing written
        for partition, queue in MESSAGES.items():  # live catches up
            for i in range(live_next[partition], len(queue), 100):
                pipeline.ingest("txn", queue[i : i + 100], NOW)
        for container in ("views", "orders"):
            poller = ChangeFeedPoller(store, pipeline.rollup, container, page_size=500, retry=RetryPolicy(),
                                      clock=lambda: NOW, sleep=lambda s: None)  # fmt: skip
            while poller.step().worked:
                pass
        return _kpis(store)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    return _run(tmp_path_factory.mktemp("clean") / "clean.db", [])


step = st.tuples(
    st.sampled_from(["live", "replay"]),
    st.sampled_from([str(p) for p in range(PARTITIONS)]),
    st.integers(0, 230),
    st.integers(1, 200),
).map(lambda t: (t[0], t[1], t[2], t[2] + t[3]))


@settings(max_examples=8, deadline=None)
@given(steps=st.lists(step, max_size=8))
def test_any_interleaving_of_live_and_replay_gives_the_clean_kpis(
    steps: list[tuple[str, str, int, int]], clean: list[dict[str, object]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert _run(tmp_path_factory.mktemp("mixed") / "mixed.db", steps) == clean
    assert clean  # the stream did produce KPI rows


def test_a_replay_past_a_hole_is_refused_before_it_writes(tmp_path: Path) -> None:
    with SqliteDocumentStore(tmp_path / "gap.db") as store:
        pipeline = build_pipeline(store, KEY)
        queue = MESSAGES["0"]
        pipeline.ingest("txn", queue[:50], NOW)

        def applied_through(partition: str) -> int | None:
            doc = store.read("audit", f"progress|txn|{partition}", f"progress|txn|{partition}")
            return None if doc is None else int(doc["last_seq"])

        with pytest.raises(ReplayGap, match="applied through sequence 49, the replay continues at 80"):
            replay_messages("txn", queue[80:120], pipeline.ingest, fallback_now=lambda: NOW,
                            applied_through=applied_through)  # fmt: skip
        assert applied_through("0") == 49
        overlapping = replay_messages("txn", queue[30:120], pipeline.ingest, batch_size=25, fallback_now=lambda: NOW,
                                      applied_through=applied_through)  # fmt: skip
        assert overlapping.already_applied == 20 and applied_through("0") == 119
