"""The embedded live page has no sign-in: loopback only, unless the caller opts in explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.cli.main import main
from shared.web.exposure import OPT_IN_FLAG, UnsafeBind, bind_warning, is_loopback_host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.5.0.1", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_needs_nothing(host: str) -> None:
    assert is_loopback_host(host) and bind_warning(host, opted_in=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "pulse.example.com"])
def test_any_other_address_needs_the_flag_and_then_warns(host: str) -> None:
    with pytest.raises(UnsafeBind, match=OPT_IN_FLAG):
        bind_warning(host, opted_in=False)
    warning = bind_warning(host, opted_in=True)
    assert warning is not None and warning.startswith("WARNING") and "WITHOUT sign-in" in warning


def test_pulse_demo_refuses_a_network_address_without_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--db", str(tmp_path / "d.db"), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "no sign-in" in error and OPT_IN_FLAG in error
    assert not (tmp_path / "d.db").exists()  # refused before anything was created
