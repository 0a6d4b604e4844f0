"""Alert rules and receivers as code: the `[[rule]]` and `[[receiver]]` tables of `slas.toml`."""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.sla.durations import Duration
from shared.topology import Source

__all__ = [
    "METRICS",
    "NoDataPolicy",
    "ReceiverSpec",
    "RuleKind",
    "RuleScope",
    "RuleSpec",
    "Severity",
]

RuleKind = Literal["threshold", "burn_rate", "heartbeat", "anomaly", "rate_of_change"]
RuleScope = Literal["chain", "region", "store", "channel", "source"]
Severity = Literal["page", "ticket", "info"]
NoDataPolicy = Literal["no_data", "ok", "alerting", "keep"]

METRICS: Final[dict[str, tuple[str, ...]]] = {
    "dead_letter_rate": ("source", "chain"),
    "lag_p95_ms": ("source", "chain"),
    "received": ("source", "chain"),
    "net_sales": ("store", "region", "channel", "chain"),
    "transactions": ("store", "region", "channel", "chain"),
    "on_time_rate": ("store", "region", "channel", "chain"),
    "overdue_backlog": ("store", "region", "channel", "chain"),
}
"""Metric name -> the scopes it can be computed at (`shared.alerts.signals` computes them)."""

_NAME = r"^[a-z][a-z0-9_-]{0,63}$"


class ReceiverSpec(BaseModel):
    """Where messages go. Secrets never live in the file: a webhook URL is read from the setting `url_setting`.

    - ``webhook``: HTTP POST of JSON in `format` (``generic``, ``teams`` or ``slack``
      incoming-webhook shapes); email goes this way too, into the Azure Monitor action
      group's webhook-triggered Logic App or an email relay (docs/alerts.md);
    - ``powerbi``: a row per alert transition in the Power BI `alerts` table (through its outbox);
    - ``log``: one structured log line per message (Application Insights in Azure; a
      log search alert rule can forward it to the action group's email).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME)
    kind: Literal["webhook", "powerbi", "log"]
    format: Literal["generic", "teams", "slack"] = "generic"
    url_setting: str | None = Field(default=None, pattern=r"^[A-Z][A-Z0-9_]*$")

    @model_validator(mode="after")
    def _url_for_webhooks(self) -> ReceiverSpec:
        if (self.kind == "webhook") != (self.url_setting is not None):
            raise ValueError("url_setting is required for a webhook receiver and applies to webhooks only")
        return self


class RuleSpec(BaseModel):
    """One alert rule: a condition at a scope, how long it must hold, and where it goes.

    Kinds and the fields they use:
    - ``threshold``: `metric` over the last `over` above `above` (or below `below`);
      clears only past `clear` (hysteresis), so a value hovering at the line does not flap;
      a value resting on fewer than `min_volume` events (orders, messages) never alerts;
    - ``burn_rate``: the error budget of `slo` burns faster than `factor` over both
      `long` and `short` (the SRE workbook's multiwindow, multi-burn-rate alert);
    - ``heartbeat``: a store (or source) that should be sending — inside the store's
      opening hours — has sent nothing of `source` for `silent_for`; a closed store never
      alerts, and neither does any store before the pipeline has received `source` for `silent_for`;
      with `min_volume`, only a store that had that many events in the hour before is judged;
    - ``anomaly``: `metric` over the last `over` is more than `drop` below the same period
      one week earlier (the same local hour for a store), when last week had `min_volume`;
    - ``rate_of_change``: `metric` over the last `over` is at least `factor` times the
      previous `over`, when the current value is at least `min_volume`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(pattern=_NAME)
    kind: RuleKind
    scope: RuleScope
    summary: str = ""
    severity: Severity = "ticket"
    receivers: tuple[str, ...] = ()
    group_by: tuple[Literal["region", "rule"], ...] = ()
    group_wait: Duration = timedelta(0)
    """Collect a group's transitions for this long (in fixed buckets) into one message."""
    runbook: str = ""
    for_: Duration = Field(default=timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    repeat_interval: Duration = timedelta(hours=4)
    cooldown: Duration = timedelta(0)
    on_no_data: NoDataPolicy = "no_data"
    metric: str | None = None
    over: Duration = timedelta(minutes=5)
    above: float | None = None
    below: float | None = None
    clear: float | None = None
    slo: str | None = None
    long: Duration = timedelta(hours=1)
    short: Duration = timedelta(minutes=5)
    factor: float | None = None
    source: Source = "txn"
    silent_for: Duration = timedelta(minutes=15)
    drop: float | None = Field(default=None, gt=0, lt=1)
    min_volume: float = 0.0

    @model_validator(mode="after")
    def _fields_of_kind(self) -> RuleSpec:
        if self.kind in ("threshold", "anomaly", "rate_of_change"):
            if self.metric not in METRICS:
                raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {self.metric!r}")
            if self.scope not in METRICS[self.metric]:
                raise ValueError(
                    f"metric {self.metric} has no scope {self.scope!r} (has {', '.join(METRICS[self.metric])})"
                )
        if self.kind == "threshold":
            self._check_threshold()
        elif self.kind == "burn_rate" and (self.slo is None or self.factor is None or self.short >= self.long):
            raise ValueError("a burn_rate rule needs slo, factor, and short shorter than long")
        elif self.kind == "heartbeat" and self.scope not in ("store", "source"):
            raise ValueError("a heartbeat rule watches stores or sources (scope store or source)")
        elif self.kind == "anomaly" and self.drop is None:
            raise ValueError("an anomaly rule needs drop (e.g. 0.4 for 40 % below last week)")
        elif self.kind == "rate_of_change" and (self.factor is None or self.factor <= 1):
            raise ValueError("a rate_of_change rule needs factor above 1")
        return self

    def _check_threshold(self) -> None:
        if (self.above is None) == (self.below is None):
            raise ValueError("a threshold rule needs exactly one of above or below")
        if self.clear is None:
            return
        if self.above is not None and self.clear > self.above:
            raise ValueError(f"clear ({self.clear}) must not exceed above ({self.above})")
        if self.below is not None and self.clear < self.below:
            raise ValueError(f"clear ({self.clear}) must not be under below ({self.below})")
