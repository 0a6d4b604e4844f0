"""The oracle's platform half: events per source, log error rate, DQ pass rate, cost per hour, dead letters."""

from __future__ import annotations

from decimal import Decimal

from shared.kpis.recompute import recompute_platform
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from tests.support.samples import body
from tests.unit.kpis._events import NOW, enrich

MINUTE = "2026-11-26T10:05:00Z"


def _logs() -> list[bytes]:
    levels = ["INFO", "ERROR", "CRITICAL", "WARN"]
    return [body("ops", n, log_level=level, message_ts=f"2026-11-26T10:05:{n:02d}Z") for n, level in enumerate(levels)]


def test_platform_figures_from_hand_counted_events() -> None:
    logs = enrich("ops", _logs())
    checks = enrich("gov", [body("gov", n, check_status=s) for n, s in enumerate(["pass", "pass", "warn", "fail"])])
    costs = enrich(
        "cost",
        [
            body("cost", 1, cost_amount=12.34),  # 09:00-10:00; 12.34 USD * 0.9123 = 11.257782 -> 11.26 EUR
            body("cost", 2, cost_amount=5.00, start_ts="2026-11-26T09:30:00Z"),  # 4.5615 -> 4.56
        ],
    )
    rejected = validate_batch("ops", [RawEvent(b"not json", "0", 7)], NOW).dead_letters
    figures = recompute_platform(logs + logs + checks + costs, rejected + rejected)

    assert figures[("events", "ops", MINUTE)] == {"events": 4}  # the repeated logs count once
    assert figures[("logs", "ingest-fn", MINUTE)] == {
        "logs": 4,
        "info": 1,
        "error": 1,
        "critical": 1,
        "warn": 1,
        "error_rate": Decimal("0.5000"),
    }
    dq = figures[("dq", "fact_transactions", "2026-11-26")]
    assert (dq["checks"], dq["pass"], dq["warn"], dq["fail"], dq["pass_rate"]) == (4, 2, 1, 1, Decimal("0.5000"))
    cost = figures[("cost", "cc-retail", "2026-11-26T09:00:00Z")]
    assert (cost["cost_cents"], cost["cost"]) == (1582, Decimal("15.82"))
    assert figures[("dead_letters", "ops", "all")] == {
        "accepted": 4,
        "dead_lettered": 1,  # the same message rejected twice is one dead letter
        "dead_letter_rate": Decimal("0.2000"),
    }
    assert figures[("dead_letters", "gov", "all")]["dead_letter_rate"] == Decimal("0.0000")


def test_a_source_with_only_dead_letters_and_retail_events_only() -> None:
    rejected = validate_batch("cost", [RawEvent(b"{}", "0", 1)], NOW).dead_letters
    figures = recompute_platform(enrich("traffic", [body("traffic")]), rejected)
    assert figures[("dead_letters", "cost", "all")]["dead_letter_rate"] == Decimal("1.0000")
    assert figures[("events", "traffic", MINUTE)] == {"events": 1}
    assert not [key for key in figures if key[0] in {"logs", "dq", "cost"}]
    assert recompute_platform([], []) == {}
