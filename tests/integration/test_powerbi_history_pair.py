"""The history pair in its deployed home: the Function App's outputs (rollups trigger + timer) against the fake.

`Outputs.enqueue_deltas` (the rollups change-feed function, the history's one writer)
decides a compaction; `Outputs.tick` (the timer, under the drain lease) clears the
standby, reseeds it, rebinds the report and clears the old dataset. A report on the
history reads the fake's bound dataset at every accepted change: each state it shows
is the totals of a prefix of the delta stream, and the prefix never shrinks (a
cleared table, or a reseed half in, is a shorter prefix or none at all). A crash
between the rebind and its record repeats the rebind (idempotent) and loses nothing.
The settings that turn the pair on are read as in Azure.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared.rollups.keys import ROLLUPS_CONTAINER
from shared.sinks._outbox_docs import OUTBOX_CONTAINER, chunk_pk
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.config import routes_from_settings
from shared.sinks.dataset import HISTORY_DATASET, HISTORY_STANDBY_DATASET, KPI_DELTA
from shared.sinks.history_pair import HistoryPairSink
from shared.sinks.limits import POWERBI_PUSH_LIMITS
from shared.sinks.outbox import Outbox
from shared.sinks.outputs import Outputs, OutputsConfig, SinkRoutes
from shared.sinks.port import RowSink, SettingError
from shared.sinks.powerbi_push import PushDatasetSink
from shared.sinks.rows import BusinessCalendar
from tests.fixtures.fake_powerbi import FakeLimits, FakePowerBi, FakeTokenCredential, ManualClock
from tests.integration.test_powerbi_compaction import _hourly_rollups, _hourly_rows
from tests.integration.test_powerbi_fake import _client
from tests.unit.sinks._delta_checks import scenario_late, scenario_on_time
from tests.unit.sinks._sink_doubles import NOW, RetailWorld

CAP = 40


def _deployed(
    tmp_path: Path, fake: FakePowerBi, clock: ManualClock, *, pair: bool, report_id: str | None = None
) -> tuple[Outputs, RetailWorld, str]:
    """The outputs of one instance with the history as one dataset or as the pair (`report_id`: a wrong one)."""
    world = RetailWorld(tmp_path)
    client = _client(fake, clock)
    first = client.create_dataset(HISTORY_DATASET)["id"]
    report = fake.reports.add(first)
    limits = replace(POWERBI_PUSH_LIMITS.for_large_table(), large_table_rows=250_000, max_table_rows=CAP)
    sink: RowSink
    if pair:
        second = client.create_dataset(HISTORY_STANDBY_DATASET)["id"]
        sink = HistoryPairSink(client, (first, second), report_id or report, KPI_DELTA.name, limits=limits)
    else:
        sink = PushDatasetSink(client, first, [KPI_DELTA.name], limits=limits)
    config = OutputsConfig(compaction=CompactionPolicy(minute_days=0, trigger_fraction=0.85))
    outputs = Outputs(
        world.store,
        {},
        calendar=BusinessCalendar(),
        holder="instance-1",
        clock=clock,
        sleep=clock.sleep,
        config=config,
        sinks=SinkRoutes({KPI_DELTA.name: sink}),
    )
    return outputs, world, report


Hourly = dict[tuple[str, str, str], int]


def _feed(outputs: Outputs, world: RetailWorld, stream: list[dict[str, Any]] | None = None) -> None:
    """What the rollups change-feed trigger hands over: every rollup, whose minutes count (replays add nothing).

    `stream` collects the delta rows enqueued (not the reseeds), in order, from the outbox's chunks.
    """
    seen = {row["row_id"] for row in stream or []}
    outputs.enqueue_deltas(world.store.query(ROLLUPS_CONTAINER, where={}))
    if stream is not None:
        chunks = world.store.query(OUTBOX_CONTAINER, pk=chunk_pk(KPI_DELTA.name))
        for chunk in sorted(chunks, key=lambda c: c["seq"]):
            stream.extend(r for r in chunk["rows"] if "|reseed@" not in r["row_id"] and r["row_id"] not in seen)


def _shrank(states: list[Hourly], stream: list[dict[str, Any]], start: int) -> list[Hourly]:
    """States that are no prefix of `stream` at least as long as the one shown before (from `start` rows)."""
    prefixes = [_hourly_rows(stream[:k]) for k in range(len(stream) + 1)]
    bad, shown = [], start
    for state in states:
        longer = [k for k in range(shown, len(prefixes)) if prefixes[k] == state]
        if longer:
            shown = longer[0]
        else:
            bad.append(state)
    return bad


def _ticks(outputs: Outputs, clock: ManualClock, count: int) -> None:
    for _ in range(count):
        clock.advance_to(clock() + 31)  # the history's spacing: one request every 30 s
        outputs.tick()


def _up_to_the_compaction(outputs: Outputs, world: RetailWorld, clock: ManualClock) -> None:
    """The on-time day pushed, then the late corrections whose deltas make a compaction due (the last feed)."""
    scenario_on_time(world)
    world.roll_up()
    _feed(outputs, world)
    _ticks(outputs, clock, 6)
    scenario_late(world)
    world.roll_up()
    _feed(outputs, world)
    _ticks(outputs, clock, 2)
    _feed(outputs, world)


@pytest.mark.parametrize("pair", [True, False], ids=["pair", "single"])
def test_the_timer_compacts_the_history_and_a_report_never_sees_a_partial_total(tmp_path: Path, pair: bool) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=CAP)) as fake:
        outputs, world, report = _deployed(tmp_path, fake, clock, pair=pair)
        stream: list[dict[str, Any]] = []
        scenario_on_time(world)
        world.roll_up()
        _feed(outputs, world, stream)
        _ticks(outputs, clock, 6)
        before, start = _hourly_rollups(world.store), len(stream)
        assert _hourly_rows(fake.report_rows(report, "kpi_delta")) == before

        shown: list[Hourly] = []
        fake.observers.append(lambda event: shown.append(_hourly_rows(fake.report_rows(report, "kpi_delta"))))
        scenario_late(world)  # corrections, then the compaction they make due
        world.roll_up()
        _feed(outputs, world, stream)
        _ticks(outputs, clock, 2)
        _feed(outputs, world, stream)  # the next change-feed page finds the table at 85 %: compaction
        _ticks(outputs, clock, 12)
        after = _hourly_rollups(world.store)
        assert len(fake.deletes) == (2 if pair else 1) and before != after and shown
        assert _hourly_rows(fake.report_rows(report, "kpi_delta")) == after  # exact to the cent
        partial = _shrank(shown, stream, start)
        health = outputs.health()["tables"]["kpi_delta"]
        assert health["cap"] == CAP and not health["compacting"] and 0 < health["used"] < 0.85
        if pair:
            assert health["serving"] == fake.reports.dataset_of(report)  # /api/health names the report's dataset
            assert len(fake.reports.rebinds) == 1 and partial == []  # the report switched to a complete dataset
            assert fake.reports.dataset_of(report) != fake.deletes[-1][1]  # the old dataset was cleared, not this
        else:
            assert partial  # one dataset: cleared, then reseeded request by request
        assert {r.status for r in fake.requests} == {200}


def test_a_crash_between_the_rebind_and_its_record_repeats_the_rebind_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=CAP)) as fake:
        outputs, world, report = _deployed(tmp_path, fake, clock, pair=True)
        _up_to_the_compaction(outputs, world, clock)
        recorded = Outbox.note_switched
        crashes: list[Any] = []

        def crash_once(self: Outbox, table: str, barrier: int) -> None:
            if not crashes:
                crashes.append(barrier)
                raise RuntimeError("the worker died after the rebind call")
            recorded(self, table, barrier)

        monkeypatch.setattr(Outbox, "note_switched", crash_once)
        for _ in range(12):
            clock.advance_to(clock() + 31)
            try:
                outputs.tick()
            except RuntimeError:
                assert fake.reports.rebinds  # the rebind went through; its record did not
        assert crashes and len(fake.reports.rebinds) == 2  # repeated after the crash, to the same dataset
        assert len({dataset for _, _, dataset in fake.reports.rebinds}) == 1
        assert _hourly_rows(fake.report_rows(report, "kpi_delta")) == _hourly_rollups(world.store)


def test_the_pair_is_on_with_its_two_settings_and_refused_half_set() -> None:
    base = {"POWERBI_GROUP_ID": "g-1", "POWERBI_HISTORY_DATASET_ID": "d-1"}
    pair = base | {"POWERBI_HISTORY_STANDBY_DATASET_ID": "d-2", "POWERBI_HISTORY_REPORT_ID": "r-1"}
    routes = routes_from_settings(pair, credential_factory=FakeTokenCredential, clock=ManualClock())
    sink = routes[KPI_DELTA.name]
    assert isinstance(sink, HistoryPairSink) and sink.dataset_ids == ("d-1", "d-2")
    assert sink.limits.max_table_rows == 5_000_000 and sink.limits.requests_per_hour == 120
    single = routes_from_settings(base, credential_factory=FakeTokenCredential, clock=ManualClock())
    assert isinstance(single[KPI_DELTA.name], PushDatasetSink)
    for half in ({"POWERBI_HISTORY_REPORT_ID": "r-1"}, {"POWERBI_HISTORY_STANDBY_DATASET_ID": "d-2"}):
        with pytest.raises(SettingError, match="POWERBI_HISTORY_STANDBY_DATASET_ID"):
            routes_from_settings(base | half, credential_factory=FakeTokenCredential, clock=ManualClock())
    same = base | {"POWERBI_HISTORY_STANDBY_DATASET_ID": "d-1", "POWERBI_HISTORY_REPORT_ID": "r-1"}
    with pytest.raises(SettingError, match="must differ"):
        routes_from_settings(same, credential_factory=FakeTokenCredential, clock=ManualClock())


def test_a_rebind_that_keeps_failing_clears_nothing_a_report_reads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=CAP)) as fake:
        outputs, world, report = _deployed(tmp_path, fake, clock, pair=True, report_id="not-the-report")
        _up_to_the_compaction(outputs, world, clock)  # compaction
        held = _hourly_rows(fake.report_rows(report, "kpi_delta"))
        _ticks(outputs, clock, 12)
        assert fake.reports.rebinds == [] and len(fake.deletes) == 1  # the standby only, before its reseed
        assert fake.deletes[0][1] != fake.reports.dataset_of(report)
        assert _hourly_rows(fake.report_rows(report, "kpi_delta")) == held  # untouched
        assert "the report could not be rebound" in caplog.text


def test_turning_the_pair_on_after_a_single_dataset_compaction_switches_nothing_until_its_own(tmp_path: Path) -> None:
    clock = ManualClock(NOW.timestamp())
    with FakePowerBi(clock, limits=FakeLimits(none_retention_rows=CAP)) as fake:
        single, world, report = _deployed(tmp_path, fake, clock, pair=False)
        _up_to_the_compaction(single, world, clock)  # a compaction of the single dataset
        _ticks(single, clock, 12)
        assert len(fake.deletes) == 1
        client = _client(fake, clock)
        first = fake.reports.dataset_of(report)
        second = client.create_dataset(HISTORY_STANDBY_DATASET)["id"]
        limits = replace(POWERBI_PUSH_LIMITS.for_large_table(), large_table_rows=250_000, max_table_rows=CAP)
        pair = HistoryPairSink(client, (first, second), report, KPI_DELTA.name, limits=limits)
        config = OutputsConfig(compaction=CompactionPolicy(minute_days=0, trigger_fraction=0.85))
        upgraded = Outputs(
            world.store, {}, calendar=BusinessCalendar(), holder="instance-2", clock=clock, sleep=clock.sleep,
            config=config, sinks=SinkRoutes({KPI_DELTA.name: pair}),
        )  # fmt: skip
        _ticks(upgraded, clock, 4)
        assert fake.reports.rebinds == [] and fake.reports.dataset_of(report) == first  # no switch to an empty twin
        assert _hourly_rows(fake.report_rows(report, "kpi_delta")) == _hourly_rollups(world.store)
