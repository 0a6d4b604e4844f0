"""Recording fakes of the handler ports and a fake clock for the runtime tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from shared.handlers.ports import BatchHandler, BatchOutcome, ChangeHandler, ChangeOutcome
from shared.pipeline.raw import RawEvent
from shared.stores.port import Document
from shared.topology import Source

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Delivery:
    """One handler call as the fake saw it."""

    source: Source
    partition: str | None
    seqs: tuple[int, ...]
    observed: object = None


class RecordingIngest(BatchHandler):
    """Records every call (failed ones too); raises the exception given for a call number (1-based)."""

    def __init__(
        self,
        fail_on: Mapping[int, BaseException] | None = None,
        observe: Callable[[Sequence[RawEvent]], object] | None = None,
        fail_always: BaseException | None = None,
        on_success: Callable[[Source, Sequence[RawEvent]], int] | None = None,
    ) -> None:
        self.calls: list[Delivery] = []
        self.nows: list[datetime] = []
        self._fail_on = dict(fail_on or {})
        self._fail_always = fail_always
        self._observe = observe
        self._on_success = on_success

    def __call__(self, source: Source, raws: Sequence[RawEvent], now: datetime) -> BatchOutcome:
        observed = self._observe(raws) if self._observe else None
        self.calls.append(Delivery(source, raws[0].partition, tuple(r.sequence_number or 0 for r in raws), observed))
        self.nows.append(now)
        error = self._fail_always or self._fail_on.get(len(self.calls))
        if error is not None:
            raise error
        written = self._on_success(source, raws) if self._on_success else 0
        return BatchOutcome(source, len(raws), len(raws), 0, 0, 0, written, {"none": 0} if written < 0 else {})

    def delivered(self, partition: str | None = None) -> list[int]:
        """Sequence numbers of every call, flattened in call order."""
        return [seq for call in self.calls if partition in (None, call.partition) for seq in call.seqs]


class RecordingRollup(ChangeHandler):
    """Records (container, id, _etag) of every change handed over; raises on chosen calls."""

    def __init__(
        self,
        fail_on: Mapping[int, BaseException] | None = None,
        observe: Callable[[], object] | None = None,
    ) -> None:
        self.calls = 0
        self.seen: list[tuple[str, str, str]] = []
        self.observed: list[object] = []
        self._fail_on = dict(fail_on or {})
        self._observe = observe

    def __call__(self, container: str, docs: Sequence[Document], now: datetime) -> ChangeOutcome:
        self.calls += 1
        if self._observe:
            self.observed.append(self._observe())
        error = self._fail_on.get(self.calls)
        if error is not None:
            raise error
        self.seen.extend((container, doc["id"], doc["_etag"]) for doc in docs)
        return ChangeOutcome(changes=len(docs), documents_written=0)


@dataclass
class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
