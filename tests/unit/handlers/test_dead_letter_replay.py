"""Dead-letter replay on a real embedded store: judged at first receipt, history kept, exactly once."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.bootstrap import DEMO_PII_KEY, Pipeline, build_pipeline
from shared.engine.progress import read_progress
from shared.handlers.dead_letters import (
    DEAD_LETTERS_CONTAINER,
    REPLAY_PARTITION,
    ReplayResult,
    list_dead_letters,
    replay_dead_letters,
)
from shared.pipeline.raw import RawEvent
from shared.pipeline.sealing import BodySealer
from shared.reference import demo_reference_dir
from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import WriteResult
from tests.support.samples import body

RECEIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OLD = (RECEIVED - timedelta(days=6, hours=20)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # late, but within 7 days

SEALER = BodySealer.ephemeral()  # one key for every pipeline of a test: what one pipeline seals, another opens


def _without_pln(folder: Path) -> Path:
    shutil.copytree(demo_reference_dir(), folder)
    rates = folder / "fx_rates.csv"
    rates.write_text("".join(line for line in rates.read_text().splitlines(True) if ",PLN," not in line))
    return folder


@pytest.fixture
def incident(tmp_path: Path) -> tuple[SqliteDocumentStore, Path]:
    """A store holding 12 `unknown_currency` letters (PLN without a rate) and one `not_json` letter."""
    store = SqliteDocumentStore(tmp_path / "pulse.db")
    partial = build_pipeline(store, DEMO_PII_KEY, _without_pln(tmp_path / "ref"), sealer=SEALER)
    bodies = [body("txn", i, currency="PLN", posted_ts=OLD) for i in range(12)] + [b"{oops"]
    raws = [RawEvent(b, "0", i, str(i), RECEIVED - timedelta(seconds=2)) for i, b in enumerate(bodies)]
    outcome = partial.ingest("txn", raws, RECEIVED)
    assert outcome.dead_letters_by_reason == {"unknown_currency": 12, "not_json": 1}
    return store, tmp_path / "ref"


def _full(store: SqliteDocumentStore) -> Pipeline:
    return build_pipeline(store, DEMO_PII_KEY, sealer=SEALER)


def test_a_replay_a_day_later_is_judged_at_first_receipt_and_keeps_the_first_reason(
    incident: tuple[SqliteDocumentStore, Path],
) -> None:
    store, partial_ref = incident
    letters = list_dead_letters(store, reason="unknown_currency")
    still = replay_dead_letters(
        store, build_pipeline(store, DEMO_PII_KEY, partial_ref, sealer=SEALER).ingest, letters, RECEIVED
    )
    assert (still.resolved, still.by_reason) == (0, {"unknown_currency": 12})

    later = RECEIVED + timedelta(days=1)  # past 7 days of lateness now, not at first receipt
    result = replay_dead_letters(store, _full(store).ingest, list_dead_letters(store), later, batch_size=5)
    assert (result.selected, result.replayed, result.resolved, result.still_failing) == (13, 13, 12, 1)
    assert result.by_reason == {"not_json": 1} and result.batches == 3  # 13 letters of one receipt: 5 + 5 + 3

    found = list_dead_letters(store, reason="unknown_currency", status=None)
    assert len(found) == 12 and {d["status"] for d in found} == {"resolved"}
    assert all(d["reason_code"] == "unknown_currency" and d["last_reason_code"] == "unknown_currency" for d in found)
    assert all([a["outcome"] for a in d["replays"]] == ["failed", "resolved"] for d in found)
    assert {d["replays"][-1]["at"] for d in found} == {"2026-11-27T12:00:00.000Z"}
    progress = read_progress(store, "txn", REPLAY_PARTITION)
    assert progress is not None and progress["accepted"] == 12 and progress["received"] == 12 + 13

    again = replay_dead_letters(store, _full(store).ingest, list_dead_letters(store, reason="unknown_currency"), later)
    assert (again.selected, again.resolved) == (0, 0)  # a second replay resolves nothing twice


def test_a_crash_before_the_letters_are_marked_resolves_them_as_duplicates_next_time(
    incident: tuple[SqliteDocumentStore, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = incident
    write_many = store.write_many

    def crash_on_letters(container: str, ops: Any) -> list[WriteResult]:
        if container == DEAD_LETTERS_CONTAINER:
            raise RuntimeError("killed before the letters were marked")
        return write_many(container, ops)

    monkeypatch.setattr(store, "write_many", crash_on_letters)
    with pytest.raises(RuntimeError):
        replay_dead_letters(store, _full(store).ingest, list_dead_letters(store, reason="unknown_currency"), RECEIVED)
    monkeypatch.undo()
    applied = read_progress(store, "txn", REPLAY_PARTITION)
    assert applied is not None and applied["accepted"] == 12 and len(list_dead_letters(store)) == 13  # letters open
    assert all(d["partition"] == "0" for d in store.query(DEAD_LETTERS_CONTAINER))  # no stray replay letters

    result = replay_dead_letters(
        store, _full(store).ingest, list_dead_letters(store, reason="unknown_currency"), RECEIVED
    )
    assert (result.resolved, result.still_failing) == (12, 0)
    progress = read_progress(store, "txn", REPLAY_PARTITION)
    assert progress is not None and (progress["accepted"], progress["duplicates"]) == (12, 12)  # counted once


def test_letters_whose_positions_another_replay_took_are_left_open(
    incident: tuple[SqliteDocumentStore, Path],
) -> None:
    store, _ = incident
    handler = _full(store).ingest
    letters = list_dead_letters(store, reason="unknown_currency")
    first, second = letters[:6], letters[6:]

    def meanwhile(result: ReplayResult) -> None:  # after our first batch another replay takes the next positions
        if result.batches == 1:
            replay_dead_letters(store, handler, second[:3], RECEIVED)

    ours = replay_dead_letters(store, handler, first + second[3:], RECEIVED, batch_size=6, on_progress=meanwhile)
    assert (ours.replayed, ours.resolved, ours.skipped) == (6, 6, 3)
    open_ids = {d["id"] for d in list_dead_letters(store, reason="unknown_currency")}
    assert open_ids == {d["id"] for d in second[3:]}  # untouched, for the next call
