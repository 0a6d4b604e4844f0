"""`slas.toml` validation: a bad file is one line naming the key; the CLI exits 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.main import main
from shared.sla.config import SlaConfigError, load_config
from shared.sla.durations import format_duration, parse_duration

RULE = '[[rule]]\nname = "r"\nkind = "threshold"\nscope = "store"\nmetric = "net_sales"\nabove = 1\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "version: Field required"),
        ("version = 2", "version: Input should be 1"),
        ("version = 1\nfoo = 1", "foo: Extra inputs are not permitted"),
        ("version = 1\n" + RULE + 'for = "10x"', "rule[0].for: '10x' is not a duration like 30s, 5m, 1h, 28d or 1h30m"),
        ("version = 1\n" + RULE.replace("net_sales", "nope"), "rule[0]: metric must be one of"),
        ("version = 1\n" + RULE + "clear = 2", "rule[0]: clear (2.0) must not exceed above (1.0)"),
        ("version = 1\n" + RULE + 'receivers = ["x"]', "rule[0].receivers: no receiver named 'x'"),
        ("version = 1\n" + RULE + RULE, "rule[1].name: 'r' appears twice"),
        (
            'version = 1\n[[slo]]\nname = "s"\nkind = "freshness"\nsource = "txn"\nthreshold_ms = 4000\ntarget = 0.9',
            "slo[0]: threshold_ms must be a bound of the lag histogram",
        ),
        (
            'version = 1\n[[slo]]\nname = "s"\nkind = "completeness"\nsource = "txn"\ntarget = 1.5',
            "slo[0].target: Input should be less than 1",
        ),
        ("version = ", "not TOML"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "slas.toml"
    path.write_text(text)
    with pytest.raises(SlaConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_cli_exits_2_with_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "slas.toml"
    path.write_text("version = 1\n" + RULE + 'for = "soon"')
    assert main(["sla", "check", "--config", str(path)]) == 2
    assert (
        capsys.readouterr().err
        == f"pulse: error: {path}: rule[0].for: 'soon' is not a duration like 30s, 5m, 1h, 28d or 1h30m\n"
    )
    assert main(["sla", "check"]) == 0


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("28d", 2_419_200), ("2w", 1_209_600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)
