"""Compliance and error budget of every SLO over a window: what `pulse sla report` prints.

Per SLO and scope key: good / total events, the SLI (good / total), the target, the
error budget (the bad events the target allows: total x (1 - target)), how much of it
was consumed (bad / allowed), and the worst periods. Ratios are exact Decimals
rounded to 4 places, half away from zero (the KPI rule).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.kpis.formulas import format_utc, rounded_ratio
from shared.sla.sli import SliCount, count_sli
from shared.sla.slos import SloSpec
from shared.stores.port import DocumentStore

__all__ = ["SloLine", "WorstPeriod", "build_lines", "render_table", "sla_report", "target_ratio"]

WORST_PERIODS = 3


@dataclass(frozen=True, slots=True)
class WorstPeriod:
    """A period with one of the lowest SLIs of its line."""

    period: str
    good: int
    total: int
    sli: Decimal | None


@dataclass(frozen=True, slots=True)
class SloLine:
    """One SLO at one scope key over the report's window."""

    slo: str
    kind: str
    key: str
    good: int
    total: int
    sli: Decimal | None
    target: Decimal
    met: bool | None
    """None without events: nothing to judge."""
    budget_consumed: Decimal | None
    """Bad events over the bad events the target allows (1 = all of it; above 1 = breached)."""
    budget_remaining: Decimal | None
    worst: tuple[WorstPeriod, ...]


def target_ratio(slo: SloSpec) -> tuple[int, int]:
    """The target as an exact fraction (numerator, denominator) from its decimal spelling."""
    numerator, denominator = Decimal(str(slo.target)).as_integer_ratio()
    return numerator, denominator


def build_lines(slo: SloSpec, counts: Iterable[SliCount]) -> list[SloLine]:
    """One line per key of `counts` (already restricted to the window)."""
    by_key: dict[str, list[SliCount]] = {}
    for count in counts:
        by_key.setdefault(count.key, []).append(count)
    numerator, denominator = target_ratio(slo)
    lines = []
    for key in sorted(by_key):
        periods = by_key[key]
        good, total = sum(c.good for c in periods), sum(c.total for c in periods)
        bad = total - good
        # allowed bad = total * (1 - n/d) = total * (d - n) / d; consumed = bad * d / (total * (d - n))
        allowed_num, allowed_den = total * (denominator - numerator), denominator
        consumed = rounded_ratio(bad * allowed_den, allowed_num) if total else None
        worst = sorted(periods, key=lambda c: (Decimal(c.good) / Decimal(c.total), c.period))[:WORST_PERIODS]
        lines.append(
            SloLine(
                slo=slo.name,
                kind=slo.kind,
                key=key,
                good=good,
                total=total,
                sli=rounded_ratio(good, total),
                target=Decimal(str(slo.target)),
                met=None if not total else good * denominator >= total * numerator,
                budget_consumed=consumed,
                budget_remaining=None if consumed is None else Decimal(1) - consumed,
                worst=tuple(WorstPeriod(c.period, c.good, c.total, rounded_ratio(c.good, c.total)) for c in worst),
            )
        )
    return lines


def sla_report(
    store: DocumentStore, slos: Sequence[SloSpec], end: datetime, start: datetime | None = None
) -> dict[str, Any]:
    """The report of every SLO over [start, end) as a JSON-ready dict; without `start`, each SLO's own window."""
    lines = []
    for slo in slos:
        since = start if start is not None else end - slo.window
        lines += [(since, line) for line in build_lines(slo, count_sli(store, slo, since, end))]
    return {
        "from": None if start is None else format_utc(start),
        "to": format_utc(end),
        "slos": [{**_line_json(line, slos), "from": format_utc(since)} for since, line in lines],
    }


def _line_json(line: SloLine, slos: Sequence[SloSpec]) -> dict[str, Any]:
    spec = next(s for s in slos if s.name == line.slo)
    return {
        "slo": line.slo,
        "kind": line.kind,
        "key": line.key,
        "description": spec.description,
        "good": line.good,
        "total": line.total,
        "sli": _text(line.sli),
        "target": str(line.target),
        "met": line.met,
        "budget_consumed": _text(line.budget_consumed),
        "budget_remaining": _text(line.budget_remaining),
        "worst_periods": [
            {"period": w.period, "good": w.good, "total": w.total, "sli": _text(w.sli)} for w in line.worst
        ],
    }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def render_table(report: dict[str, Any]) -> str:
    """The report as an aligned text table, worst period last."""
    header = ("slo", "key", "sli", "target", "met", "budget used", "events", "worst period")
    rows = [header]
    for line in report["slos"]:
        worst = line["worst_periods"][0] if line["worst_periods"] else None
        rows.append(
            (
                line["slo"],
                line["key"],
                line["sli"] or "-",
                line["target"],
                {True: "yes", False: "NO", None: "-"}[line["met"]],
                "-" if line["budget_consumed"] is None else f"{Decimal(line['budget_consumed']) * 100:.1f} %",
                f"{line['total']:,}",
                "-" if worst is None else f"{worst['period']} ({worst['sli']})",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    title = f"SLO report {report['from'] or 'each SLO window'} .. {report['to']}"
    body = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join([title, *body]) + "\n"
