"""Two history datasets and one report: a compaction that no report ever sees half done.

With one history dataset, a compaction clears the table and reseeds it, and for the
reseed's duration (up to ~2 hours at 1,000 stores) reports show partial totals. With
a pair, the report reads one dataset (*serving*) while the other (*standby*) is
reseeded; then the report is rebound to the standby, and the old dataset is cleared:

1. Rows enqueued before the compaction still go to the serving dataset (the report
   stays exact as of the compaction).
2. The standby is cleared (documented delete-rows call: it is empty anyway, unless a
   previous clear failed) and receives the reseed. The report does not read it.
3. Once the whole reseed is in, the standby holds exactly what the serving dataset
   holds (the reseed sums every row enqueued before the compaction, and no newer row
   was pushed meanwhile): the report is rebound to it ("Reports - Rebind Report In
   Group", `PowerBiRestClient.rebind_report`), and it becomes the serving dataset.
4. The old serving dataset is cleared (best effort: step 2 of the next compaction
   clears it for certain), and rows enqueued since the compaction follow.

So at every moment the report shows the exact totals of a prefix of the delta
stream; during the reseed, the totals as of the compaction (history visuals pause,
tiles and the live dataset do not). Which dataset serves is recorded in the outbox
cursor (`Outbox.note_switched`) after the rebind succeeded: a crash between the two
repeats the rebind (idempotent) before any newer row is pushed. Driven by `Pusher`.

Both datasets share one rate limiter (`limit_key`): each receives a subset of the
requests the limiter grants, so each stays within its own per-dataset limits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from shared.sinks.limits import POWERBI_PUSH_LIMITS, SinkLimits
from shared.sinks.port import Row
from shared.sinks.powerbi_push import PowerBiRestClient, PushDatasetSink

__all__ = ["HistoryPairSink"]

logger = logging.getLogger(__name__)


class HistoryPairSink:
    """`RowSink` of the history table over two push datasets and the report bound to one of them."""

    history_pair = True
    """Marks the capability for the pusher (also through wrappers that forward attributes)."""

    def __init__(
        self,
        client: PowerBiRestClient,
        dataset_ids: tuple[str, str],
        report_id: str,
        table: str,
        *,
        limits: SinkLimits = POWERBI_PUSH_LIMITS,
    ) -> None:
        """`limits`: Power BI's push limits (tests scale the table figures down)."""
        if not report_id or len(set(dataset_ids)) != 2 or not all(dataset_ids):
            raise ValueError("a history pair needs two different dataset ids and the report id")
        self._client, self._report_id = client, report_id
        self.dataset_ids = dataset_ids
        self._sinks = tuple(
            PushDatasetSink(client, dataset, [table], limits=limits, keeps_all_rows=True) for dataset in dataset_ids
        )
        self.serving = 0
        """Index of the dataset the report reads; the pusher sets it from the outbox before each drain."""

    def __repr__(self) -> str:
        return f"HistoryPairSink({self.target!r})"

    @property
    def target(self) -> str:
        """Both dataset ids, the report id and the workspace (no token)."""
        first, second = self.dataset_ids
        return f"powerbi datasets {first} / {second}, report {self._report_id} (group {self._client.group_id})"

    @property
    def limit_key(self) -> str:
        """One limiter for both datasets (conservative: each gets a subset of its requests)."""
        first, second = self.dataset_ids
        return f"powerbi:{self._client.group_id}:{first}+{second}"

    @property
    def limits(self) -> SinkLimits:
        """The history dataset's limits (retention None: the large-table rule from the first request)."""
        return self._sinks[0].limits

    def envelope_bytes(self, table: str) -> int:
        return self._sinks[0].envelope_bytes(table)

    def serve(self, index: int) -> None:
        """Send to dataset `index` from now on (as recorded in the outbox)."""
        self.serving = index

    def send(self, table: str, rows: Sequence[Row]) -> None:
        """Rows the report reads: to the serving dataset."""
        self._sinks[self.serving].send(table, rows)

    def send_standby(self, table: str, rows: Sequence[Row]) -> None:
        """Reseed rows: to the dataset the report does not read."""
        self._sinks[1 - self.serving].send(table, rows)

    def clear(self, table: str) -> None:
        """Empty the standby before its reseed (the serving dataset is never cleared while it serves)."""
        self._sinks[1 - self.serving].clear(table)

    def switch(self, table: str) -> None:
        """Rebind the report to the standby (the caller records the switch), then clear the old dataset.

        The clear is best effort: a failure is logged, and the next compaction clears it before its reseed.
        """
        standby = 1 - self.serving
        self._client.rebind_report(self._report_id, self.dataset_ids[standby])
        old, self.serving = self.serving, standby
        try:
            self._sinks[old].clear(table)
        except Exception as error:  # the standby is cleared again before the next reseed
            logger.warning("the report switched; clearing the old history dataset failed (%s)", error)
