"""Service level objectives of the data: what is measured, against which target, over which window."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.engine.flow import LAG_BOUNDS_MS
from shared.sla.durations import Duration
from shared.topology import Source

__all__ = ["DEFAULT_WINDOW", "SloKind", "SloSpec"]

DEFAULT_WINDOW = timedelta(days=28)
SloKind = Literal["freshness", "completeness", "on_time", "outputs"]

_NAME = r"^[a-z][a-z0-9_-]{0,63}$"


class SloSpec(BaseModel):
    """One SLO. Its SLI is a ratio of good to all events, counted from documents the pipeline writes.

    - ``freshness``: accepted events of `source` whose end-to-end lag (processing time
      minus event time; a door counter's event time is the end of its minute) is at most
      `threshold_ms`, over all accepted events (the flow documents' lag histogram);
    - ``completeness``: messages of `source` not dead-lettered over all received
      (producer duplicates count as good: nothing was lost);
    - ``on_time``: orders completed on or before their promise over all completed, per
      member of `scope` (the rollups' local-day documents): the managers' target;
    - ``outputs``: minutes in which the page's data was at most `threshold_s` old and the
      Power BI push at most `threshold_s` behind, over all minutes probed (the alert
      evaluator's once-a-minute probes, `shared.alerts.probes`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    kind: SloKind
    target: float = Field(gt=0, lt=1, description="the objective, e.g. 0.995")
    window: Duration = DEFAULT_WINDOW
    source: Source | None = None
    threshold_ms: int | None = None
    threshold_s: float = 60.0
    """outputs: the data age and push lag a good minute stays within."""
    scope: Literal["chain", "region", "store", "channel"] = "chain"
    description: str = ""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> SloSpec:
        if self.kind in ("freshness", "completeness") and self.source is None:
            raise ValueError(f"source is required for a {self.kind} SLO")
        if self.kind == "freshness" and self.threshold_ms not in LAG_BOUNDS_MS:
            bounds = ", ".join(str(b) for b in LAG_BOUNDS_MS)
            raise ValueError(f"threshold_ms must be a bound of the lag histogram ({bounds}), got {self.threshold_ms}")
        if self.kind != "freshness" and self.threshold_ms is not None:
            raise ValueError(f"threshold_ms applies to freshness SLOs only, not {self.kind}")
        if self.window < timedelta(hours=1):
            raise ValueError("window must be at least 1h")
        return self

    @property
    def scope_kind(self) -> str:
        """What a scope key of this SLO names: a source, or a member of `scope`."""
        if self.kind == "outputs":
            return "outputs"
        return "source" if self.kind in ("freshness", "completeness") else self.scope
