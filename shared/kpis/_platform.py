"""Platform-health figures recomputed from accepted events and dead letters (the oracle's platform half).

Choices where docs/contracts.md is silent:
- windows are UTC: events per source and logs per service by minute of event time,
  data-quality results per dataset by UTC day of `checked_ts`, cost per cost centre
  by hour of `start_ts` (a usage period counts whole in the hour it starts, never prorated);
- the error/critical log rate of a service-minute is (ERROR + CRITICAL) / all its logs;
- the DQ pass rate is pass / all checks (`warn` is not a pass);
- the dead-letter rate of a source is dead letters / (accepted + dead letters) over the
  whole input (accepted after de-duplication; dead letters are unique by their id),
  since a rejected message may have no event time to window it by;
- end-to-end lag and cost per 1,000 events need processing times, which events do not carry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.contracts import EVENT_MODELS, CostUsage, DataQualityCheck, LogRecord
from shared.kpis._dedupe import dedupe
from shared.kpis.formulas import rounded_ratio, window_start
from shared.money import cents_to_decimal
from shared.pipeline.dead_letters import DeadLetter
from shared.pipeline.enriched import EnrichedEvent
from shared.topology import Source

__all__ = ["PlatformKey", "recompute_platform"]

PlatformKey = tuple[str, str, str]
"""(figure, key, window): e.g. ("logs", "ingest-fn", "2026-11-26T10:05:00Z"); window "all" when unwindowed."""

_SOURCE_OF: dict[type, Source] = {model: source for source, models in EVENT_MODELS.items() for model in models}


def _bump(table: dict[PlatformKey, dict[str, int]], key: PlatformKey, **counts: int) -> None:
    row = table.setdefault(key, {})
    for name, value in counts.items():
        row[name] = row.get(name, 0) + value


def recompute_platform(
    events: Iterable[EnrichedEvent], dead_letters: Iterable[DeadLetter] = ()
) -> dict[PlatformKey, dict[str, Any]]:
    """Platform figures from de-duplicated accepted `events` and `dead_letters` (see the module notes).

    Figures: `events` (per source, minute), `logs` (per service, minute: counts per level,
    `error_rate`), `dq` (per dataset, day: counts per status, `pass_rate`), `cost` (per cost
    centre, hour: `cost_cents`, `cost`), `dead_letters` (per source, "all": `accepted`,
    `dead_lettered`, `dead_letter_rate`).
    """
    table: dict[PlatformKey, dict[str, int]] = {}
    for enriched in dedupe(events):
        event = enriched.event
        source = _SOURCE_OF[type(event)]
        minute = window_start("minute", enriched.event_time)
        _bump(table, ("events", source, minute), events=1)
        _bump(table, ("dead_letters", source, "all"), accepted=1, dead_lettered=0)
        if isinstance(event, LogRecord):
            _bump(table, ("logs", event.service_id, minute), logs=1, **{event.log_level.lower(): 1})
        elif isinstance(event, DataQualityCheck):
            _bump(
                table,
                ("dq", event.dataset_id, enriched.event_time.date().isoformat()),
                checks=1,
                **{event.check_status: 1},
            )
        elif isinstance(event, CostUsage):
            _bump(
                table,
                ("cost", event.cost_center_id, window_start("hour", enriched.event_time)),
                cost_cents=enriched.amount_cents or 0,
            )

    unique_letters = {letter.id: letter for letter in dead_letters}
    for letter in unique_letters.values():
        _bump(table, ("dead_letters", letter.source, "all"), accepted=0, dead_lettered=1)

    return {key: _with_ratios(key[0], row) for key, row in sorted(table.items())}


def _with_ratios(figure: str, row: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    if figure == "logs":
        out["error_rate"] = rounded_ratio(row.get("error", 0) + row.get("critical", 0), row["logs"])
    elif figure == "dq":
        out["pass_rate"] = rounded_ratio(row.get("pass", 0), row["checks"])
    elif figure == "cost":
        out["cost"] = cents_to_decimal(row["cost_cents"])
    elif figure == "dead_letters":
        out["dead_letter_rate"] = rounded_ratio(row["dead_lettered"], row["accepted"] + row["dead_lettered"])
    return out
