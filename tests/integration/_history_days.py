"""Days of real delta rows on a simulated clock, through the real outbox and pusher, into the fake Power BI.

`HistoryDays` runs the real ingest and rollup handlers on the embedded store with a
moving clock (a sale per store every 15 minutes of trading, visitors, refunds, a
late sale for the day before and a resent event every day), and a real
`RowPublisher` whose history sink is either one push dataset or the history pair
(two datasets and a report) over HTTP on the fake Power BI, with the table figures
scaled down (the cap, the 250,000-row rule, rows per request) so compactions come
within days. `truth()` is what `pulse kpis` prints (`shared.rollups.query.kpi_rows`,
its one query); `shown()` is what a report shows: the deduplicating measures over
the rows of the dataset the report reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.kpis.state import Scope
from shared.pipeline.enrichment import Enricher
from shared.pipeline.pii import Pseudonymiser
from shared.pipeline.raw import RawEvent
from shared.rollups.query import kpi_rows
from shared.sinks.compaction import CompactionPolicy
from shared.sinks.dataset import KPI_DELTA
from shared.sinks.history_pair import HistoryPairSink
from shared.sinks.limits import POWERBI_PUSH_LIMITS
from shared.sinks.measures import dedup_total
from shared.sinks.outbox import Outbox
from shared.sinks.port import RowSink
from shared.sinks.powerbi_push import PushDatasetSink
from shared.sinks.publisher import PublisherConfig, PublisherStatus, RowPublisher
from shared.sinks.pusher import Pusher
from shared.sinks.rows import BusinessCalendar
from shared.sinks.schema import DatasetSpec
from shared.stores.embedded import SqliteDocumentStore
from tests.fixtures.fake_powerbi import FakePowerBi, ManualClock
from tests.integration.test_powerbi_fake import _client
from tests.support.samples import body
from tests.unit.sinks._sink_doubles import REFERENCE, STORES

START: Final = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
CAP: Final = 2_400
"""The history table's cap, scaled down from 5,000,000 (compaction at 70 %: 1,680 rows)."""
ROWS_PER_REQUEST: Final = 100
"""Scaled down from 10,000, so a reseed takes several requests 30 s apart (reports could see it half done)."""
COLUMNS: Final = {
    "gross_sales_cents": "gross_sales",
    "refunds_cents": "refunds",
    "net_sales_cents": "net_sales",
    "transactions": "transactions",
    "voids": "voids",
    "units": "units",
    "visitors": "visitors",
    "orders_placed": "orders_placed",
    "orders_completed": "orders_completed",
}
"""Delta column -> the `pulse kpis` field it must sum to (money: cents -> the decimal amount)."""
SCOPES: Final[tuple[Scope, ...]] = ("store", "region", "chain", "channel")
Totals = dict[tuple[str, str, str], dict[str, int]]
"""(scope, key, UTC hour or store day) -> delta column -> total."""


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class HistoryDays:
    """The pipeline, the publisher and the fake Power BI on one simulated clock (see the module doc)."""

    def __init__(self, folder: Path, fake: FakePowerBi, clock: ManualClock, *, pair: bool) -> None:
        self.fake, self.clock, self.pair = fake, clock, pair
        self.store = SqliteDocumentStore(folder / "pulse.db")
        self._ingest = IngestHandler(self.store, Enricher(REFERENCE, Pseudonymiser(b"k" * 32)))
        self._rollup = RollupHandler(self.store)
        self._tokens: dict[str, str | None] = {"views": None, "orders": None}
        self._n = 0
        self._sent: list[tuple[str, bytes]] = []
        client = _client(fake, clock)
        first = client.create_dataset(DatasetSpec("Retail Pulse history", (KPI_DELTA,)))["id"]
        limits = replace(
            POWERBI_PUSH_LIMITS.for_large_table(),
            large_table_rows=CAP // 10,
            max_table_rows=CAP,
            max_rows_per_request=ROWS_PER_REQUEST,
        )
        sink: RowSink
        if pair:
            second = client.create_dataset(DatasetSpec("Retail Pulse history (standby)", (KPI_DELTA,)))["id"]
            self.report = fake.reports.add(first)
            sink = HistoryPairSink(client, (first, second), self.report, KPI_DELTA.name, limits=limits)
        else:
            self.report = fake.reports.add(first)  # never rebound: one dataset
            sink = PushDatasetSink(client, first, [KPI_DELTA.name], limits=limits)
        self.outbox = Outbox(self.store, [KPI_DELTA], clock=clock)
        pusher = Pusher(self.outbox, {KPI_DELTA.name: sink}, clock=clock, sleep=clock.sleep)
        config = PublisherConfig(compaction=CompactionPolicy(minute_days=1))
        zones = {s.store_id: s.timezone for s in REFERENCE.stores.members()}
        self.publisher = RowPublisher(
            self.store,
            self.outbox,
            pusher,
            routed_tables=(KPI_DELTA.name,),
            calendar=BusinessCalendar(zones, "Europe/Berlin"),
            clock=clock,
            config=config,
        )

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- the retail day ---------------------------------------------------------------

    def _send(self, source: str, raw: bytes) -> None:
        self._n += 1
        self._sent.append((source, raw))
        self._ingest(source, [RawEvent(raw, "0", self._n, str(self._n), self.now)], self.now)  # type: ignore[arg-type]

    def _sale(self, store: str, at: datetime, cents: int, kind: str = "sale") -> None:
        lines = [{"product_id": "P1", "quantity": 1 + cents % 3, "unit_price": cents / 100}]
        self._send(
            "txn",
            body(
                "txn",
                self._n + 1,
                merchant_id=store,
                txn_type=kind,
                amount=(1 + cents % 3) * cents / 100,
                currency="GBP" if store == "LON1" else "EUR",
                posted_ts=_stamp(at),
                lines=lines,
                channel="web" if store == "WEB" else "store",
            ),
        )

    def trade(self, tick: int) -> None:
        """Events of a 15-minute tick at the clock's time: sales, visitors, now and then a refund or a late sale."""
        now = self.now
        if not 8 <= now.hour < 20:
            return
        for i, store in enumerate(STORES):
            self._sale(store, now - timedelta(seconds=30 + 7 * i), 500 + (tick * 37 + i * 101) % 4_000)
        if tick % 2 == 0:
            raw = body("traffic", self._n + 1, store_id="BER1", period_start=_stamp(now - timedelta(minutes=1)))
            self._send("traffic", raw)
        if tick % 7 == 3:
            self._sale("LON1", now - timedelta(minutes=3), 250, kind="refund")
        if tick % 48 == 20:  # a day late: corrects a closed day
            self._sale("BER2", now - timedelta(days=1, minutes=5), 1_234)
        if tick % 48 == 30 and self._sent:  # a resent event: the pipeline deduplicates it
            source, raw = self._sent[len(self._sent) // 2]
            self._n += 1
            self._ingest(source, [RawEvent(raw, "0", self._n, str(self._n), now)], now)  # type: ignore[arg-type]

    def roll_up(self) -> None:
        for container in self._tokens:
            while True:
                page = self.store.change_feed(container, self._tokens[container], 200)
                if not page.docs:
                    break
                self._rollup(container, page.docs, self.now)
                self._tokens[container] = page.continuation

    def step_until(self, until: float) -> list[PublisherStatus]:
        """Publisher steps 31 s apart until `until` or until nothing is pending."""
        statuses = [self.publisher.step()]
        while statuses[-1].pending_rows and self.clock() + 31 < until:
            self.clock.advance_to(self.clock() + 31)
            statuses.append(self.publisher.step())
        return statuses

    # -- what the report shows and what `pulse kpis` says -------------------------------

    def shown(self, rows: Iterable[Mapping[str, Any]] | None = None) -> Totals:
        """The deduplicated totals a report shows, per (scope, key, UTC hour) and per (store, business day)."""
        rows = self.fake.report_rows(self.report, KPI_DELTA.name) if rows is None else rows
        groups: dict[tuple[str, str, str], list[Mapping[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[(row["scope"], row["key"], row["window"][:13])].append(row)
            if row["scope"] == "store":
                groups[("store-day", row["key"], row["day"])].append(row)
        out = {group: {c: dedup_total(found, c) for c in COLUMNS} for group, found in groups.items()}
        return {group: totals for group, totals in out.items() if any(totals.values())}

    def truth(self) -> Totals:
        """`pulse kpis` at hour grain for every scope, and at day grain (business day) for stores."""
        out: Totals = {}
        grains = [(scope, "hour", scope) for scope in SCOPES] + [("store", "day", "store-day")]
        for scope, grain, label in grains:
            for row in kpi_rows(self.store, scope, grain, self.now):  # type: ignore[arg-type]
                window = row["window"][:13] if grain == "hour" else row["window"]
                totals = {c: _integer(row[field]) for c, field in COLUMNS.items()}
                if any(totals.values()):
                    out[(label, row["key"], window)] = totals
        return out


def _integer(value: Any) -> int:
    """`pulse kpis` prints money as a decimal amount; the history holds cents."""
    return int(value * 100) if not isinstance(value, int) else value
