"""`pulse send` arguments: unusable ones exit 2 with one line naming the problem; nothing connects."""

from __future__ import annotations

import pytest

from shared.cli.main import build_parser, main
from shared.cli.send import resolve_credentials, resolve_hubs

EMULATOR = "Endpoint=sb://localhost;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;"


def _args(*argv: str) -> object:
    return build_parser().parse_args(["send", "--source", "txn", "--rate", "10", "--duration", "1", *argv])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "must be above 0"),
        (["--duration", "soon"], "not a number"),
        (["--source", "pos"], "invalid choice"),
        (["--namespace", "a.b", "--connection-string-env", "X"], "not allowed with argument"),
        (["--connection-string-env", "PULSE_TEST_UNSET_VAR"], "environment variable PULSE_TEST_UNSET_VAR is not set"),
        ([], "give --namespace FQDN (or set EVENTHUB__fullyQualifiedNamespace) or --connection-string-env NAME"),
        (["--namespace", "https://ns.servicebus.windows.net/"], "is not a fully qualified namespace"),
    ],
)
def test_unusable_arguments_exit_2_naming_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTHUB__fullyQualifiedNamespace", raising=False)
    monkeypatch.delenv("PULSE_TEST_UNSET_VAR", raising=False)
    base = ["send", "--source", "txn", "--rate", "10", "--duration", "1"]
    assert main(base + argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pulse: error:") and message in err and err.count("\n") == 1


def test_a_connection_string_is_read_from_the_named_variable_only() -> None:
    creds = resolve_credentials(_args("--connection-string-env", "EH_CONN"), {"EH_CONN": EMULATOR})
    assert creds.connection_string == EMULATOR and creds.namespace is None
    with pytest.raises(Exception, match="does not hold an Event Hubs connection string"):
        resolve_credentials(_args("--connection-string-env", "EH_CONN"), {"EH_CONN": "hunter2"})


def test_the_namespace_comes_from_the_argument_or_the_app_setting() -> None:
    env = {"EVENTHUB__fullyQualifiedNamespace": "from-env.servicebus.windows.net"}
    assert resolve_credentials(_args(), env).namespace == "from-env.servicebus.windows.net"
    assert resolve_credentials(_args("--namespace", "arg.servicebus.windows.net"), env).namespace == (
        "arg.servicebus.windows.net"
    )


def test_hub_names_follow_the_app_settings_then_the_defaults() -> None:
    assert resolve_hubs(_args(), {}) == {"txn": "pulse-txn"}
    assert resolve_hubs(_args(), {"HUB_TXN": "sales-eu"}) == {"txn": "sales-eu"}
    assert resolve_hubs(_args("--hub", "custom"), {"HUB_TXN": "sales-eu"}) == {"txn": "custom"}
    every = build_parser().parse_args(["send", "--source", "all", "--rate", "1", "--duration", "1"])
    assert resolve_hubs(every, {"HUB_OPS": "ops-x"})["ops"] == "ops-x" and len(resolve_hubs(every, {})) == 7
    every.hub = "one"
    with pytest.raises(Exception, match="single --source"):
        resolve_hubs(every, {})
