"""`pulse alerts ...` and `pulse sla report` on a real embedded store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from shared.cli.main import main
from tests.unit.alerts.alert_rig import RECEIVERS, AlertRig, config_from

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
RULES = """
[[rule]]
name = "till-silent"
kind = "heartbeat"
scope = "store"
silent_for = "15m"
receivers = ["hook"]
group_by = ["region"]
runbook = "docs/alerts.md#till-silent"
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "slas.toml"
    config.write_text("version = 1\n" + RECEIVERS + RULES)
    rig = AlertRig(tmp_path, config_from(RULES), ["DE001"])
    for minute in range(20):
        rig.sales("DE001", T0 + timedelta(minutes=minute, seconds=30))
    rig.settle(T0 + timedelta(minutes=20))
    rig.close()
    return rig.db, config


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_test_is_a_dry_run_and_list_history_silence_show_the_rest(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    db, config = setup
    common = ["--db", str(db), "--config", str(config)]
    quiet = "2026-11-26T10:40:00Z"  # the till's last sale 10:19:30: silent for 20 minutes
    out = _run(capsys, "alerts", "test", "till-silent", "--now", quiet, *common)
    assert "DE002: normal -> firing (no txn for 15m while open)" in out
    assert "would send to hook: [firing] " in out
    assert _run(capsys, "alerts", "list", *common, "--format", "json") == "[]\n"  # nothing was written

    busy = "2026-11-26T10:25:00Z"
    out = orjson.loads(_run(capsys, "alerts", "test", "till-silent", "--now", busy, "--format", "json", *common))
    assert "DE001" not in {t["scope"] for t in out["transitions"]}

    out = _run(
        capsys, "alerts", "silence", "--rule", "till-silent", "--scope", "DE001", "--for", "2h", "--now", quiet, *common
    )
    assert out == "silenced till-silent at DE001 until 2026-11-26T12:40:00.000Z\n"
    out = orjson.loads(_run(capsys, "alerts", "test", "till-silent", "--now", quiet, "--format", "json", *common))
    de001 = next(t for t in out["transitions"] if t["scope"] == "DE001")
    assert de001["silenced"] is True and all("DE001" not in str(m) for m in out["messages"])


def test_bad_arguments_exit_2(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db, config = setup
    common = ["--db", str(db), "--config", str(config)]
    assert main(["alerts", "test", "nope", *common]) == 2
    assert "no rule named 'nope'" in capsys.readouterr().err
    assert main(["alerts", "silence", "--rule", "till-silent", "--scope", "*", "--for", "soon", *common]) == 2
    assert "--for: 'soon' is not a duration" in capsys.readouterr().err
    assert main(["sla", "report", "--db", str(db), "--config", str(config), "--format", "xml"]) == 2


def test_sla_report_prints_a_table_and_json(setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    db, _ = setup
    window = ["--from", "2026-11-26T00:00:00Z", "--to", "2026-11-27T00:00:00Z"]
    out = orjson.loads(_run(capsys, "sla", "report", "--db", str(db), "--format", "json", *window))
    lines = {line["slo"]: line for line in out["slos"]}
    assert lines["txn-completeness"]["good"] == lines["txn-completeness"]["total"] == 20
    table = _run(capsys, "sla", "report", "--db", str(db), *window)
    assert table.splitlines()[0] == "SLO report 2026-11-26T00:00:00Z .. 2026-11-27T00:00:00Z"
    assert "txn-completeness" in table
