"""One validated settings object: every setting named in its error, only emulator secrets accepted."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.settings import Settings, SettingsError, load_settings
from shared.sinks.output_settings import OUTPUT_SETTINGS
from shared.stores.cosmos_auth import EMULATOR_KEY
from shared.topology import HUB_NAMES, SOURCES, hub_setting

ROOT = Path(__file__).resolve().parents[3]
PII = "k" * 40

AZURE: dict[str, str] = {
    "AzureWebJobsStorage__accountName": "stpulsefn",
    "AzureWebJobsStorage__credential": "managedidentity",
    "EVENTHUB__fullyQualifiedNamespace": "evhns-pulse.servicebus.windows.net",
    "EVENTHUB__credential": "managedidentity",
    "EVENTHUB_CONSUMER_GROUP": "pulse-functions",
    "COSMOS__accountEndpoint": "https://cosmos-pulse.documents.azure.com:443/",
    "COSMOS__credential": "managedidentity",
    "COSMOS_DATABASE": "retailpulse",
    "PII_HMAC_KEY": PII,
    "POWERBI_PUSH_URL": "https://api.powerbi.com/beta/t/datasets/d/rows?key=abc",
    "REPORTING_CURRENCY": "EUR",
    "ACCEPTED_LATENESS_DAYS": "7",
    "DEAD_LETTER_KEY_ID": "https://kv-pulse.vault.azure.net/keys/dead-letters",
    **{hub_setting(source): HUB_NAMES[source] for source in SOURCES},
}

REQUIRED = [
    "EVENTHUB_CONSUMER_GROUP",
    "COSMOS_DATABASE",
    "PII_HMAC_KEY",
    "EVENTHUB__fullyQualifiedNamespace",
    "COSMOS__accountEndpoint",
    "AzureWebJobsStorage__accountName",
    *(hub_setting(source) for source in SOURCES),
]


def _error(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return str(caught.value)


def test_the_azure_settings_validate_and_derive_the_store_and_limits() -> None:
    settings = load_settings(AZURE)
    assert settings.document_store_url() == "https://cosmos-pulse.documents.azure.com:443/?database=retailpulse"
    assert settings.hub_names() == HUB_NAMES
    assert settings.limits().accepted_lateness.days == 7
    assert settings.pii_key_bytes() == PII.encode()
    assert PII not in repr(settings)  # SecretStr


@pytest.mark.parametrize("name", REQUIRED)
def test_a_missing_setting_is_named(name: str) -> None:
    env = {k: v for k, v in AZURE.items() if k != name}
    assert f"{name}: missing" in _error(env)


def test_an_empty_value_counts_as_missing() -> None:
    assert "PII_HMAC_KEY: missing" in _error(AZURE | {"PII_HMAC_KEY": ""})


def test_an_unresolved_key_vault_reference_is_named() -> None:
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-pulse.vault.azure.net/secrets/x/)"
    message = _error(AZURE | {"PII_HMAC_KEY": reference})
    assert "PII_HMAC_KEY: is an unresolved Key Vault reference" in message


@pytest.mark.parametrize(
    "value",
    ["", "@Microsoft.KeyVault(SecretUri=https://kv-pulse.vault.azure.net/secrets/pbi/)", "http://api.powerbi.com/x"],
)
def test_an_output_setting_never_stops_ingestion(value: str) -> None:
    # Unset, unresolved or wrong: the outputs report it (shared.sinks.outputs); ingestion's settings still load.
    for name in ("POWERBI_PUSH_URL", "POWERBI_LIVE_DATASET_ID", "PULSE_ROW_SINK"):
        assert load_settings(AZURE | {name: value}).hub_names()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PII_HMAC_KEY", "short", "PII_HMAC_KEY: must be at least 32 bytes, got 5"),
        ("REPORTING_CURRENCY", "euro", "REPORTING_CURRENCY: String should match pattern"),
        ("ACCEPTED_LATENESS_DAYS", "0", "ACCEPTED_LATENESS_DAYS: Input should be greater than or equal to 1"),
        ("ACCEPTED_LATENESS_DAYS", "week", "ACCEPTED_LATENESS_DAYS: Input should be a valid integer"),
        ("HUB_TXN", "pulse txn", "HUB_TXN: 'pulse txn' is not an Event Hubs entity name"),
        ("EVENTHUB__fullyQualifiedNamespace", "sb://x", "EVENTHUB__fullyQualifiedNamespace: must be a fully qualified"),
        ("COSMOS__accountEndpoint", "http://cosmos:8081/", "COSMOS__accountEndpoint: must be an https:// account"),
    ],
)
def test_a_bad_value_is_named(name: str, value: str, expected: str) -> None:
    assert expected in _error(AZURE | {name: value})


REAL_KEY = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWJlLWFjY2VwdGVk"


@pytest.mark.parametrize(
    ("identity", "name", "value"),
    [
        ("EVENTHUB__fullyQualifiedNamespace", "EVENTHUB",
         f"Endpoint=sb://evhns.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={REAL_KEY}"),
        ("COSMOS__accountEndpoint", "COSMOS", f"AccountEndpoint=https://acct.documents.azure.com:443/;AccountKey={REAL_KEY}"),
        ("COSMOS__accountEndpoint", "COSMOS", f"AccountEndpoint=https://acct.documents.azure.com:443/;AccountKey={EMULATOR_KEY}"),
        ("AzureWebJobsStorage__accountName", "AzureWebJobsStorage",
         f"DefaultEndpointsProtocol=https;AccountName=stprod;AccountKey={REAL_KEY}"),
    ],
)  # fmt: skip
def test_only_emulator_connection_strings_are_accepted_and_never_echoed(identity: str, name: str, value: str) -> None:
    env = {k: v for k, v in AZURE.items() if k != identity} | {name: value}
    message = _error(env)
    assert f"{name}: only" in message and identity in message
    assert REAL_KEY not in message and EMULATOR_KEY not in message


def test_both_forms_of_one_connection_are_refused() -> None:
    message = _error(AZURE | {"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert "AzureWebJobsStorage__accountName and AzureWebJobsStorage: set one of the two" in message


def test_every_problem_of_a_kind_is_listed_at_once() -> None:
    env = {k: v for k, v in AZURE.items() if k not in ("HUB_COST", "HUB_GOV")} | {"PII_HMAC_KEY": "x"}
    lines = _error(env).splitlines()
    assert {
        "  HUB_COST: missing (name of the Event Hub of source 'cost')",
        "  HUB_GOV: missing (name of the Event Hub of source 'gov')",
    } <= set(lines)
    assert any(line.startswith("  PII_HMAC_KEY: must be at least") for line in lines)


def test_store_url_override_and_reference_dir(tmp_path: Path) -> None:
    settings = load_settings(AZURE | {"PULSE_STORE_URL": f"sqlite:///{tmp_path}/p.db", "PULSE_REFERENCE_DIR": "/ref"})
    assert settings.document_store_url() == f"sqlite:///{tmp_path}/p.db"
    assert settings.reference_dir == Path("/ref")


def test_reads_the_process_environment_when_given_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in AZURE.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HUB_TXN", "from-the-environment")
    assert load_settings().hub_name("txn") == "from-the-environment"


# -- the example settings file and the infrastructure agree with this object ---------------


def _example() -> dict[str, Any]:
    return json.loads((ROOT / "local.settings.example.json").read_text())


def _prepare_module() -> Any:
    spec = importlib.util.spec_from_file_location("emulator_prepare", ROOT / "emulator" / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_lists_every_setting_in_one_of_its_forms() -> None:
    example = _example()
    listed = set(example["Values"]) | set(example["EmulatorValues"])
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert aliases <= listed
    # Besides the worker runtime, only output settings (read by the outputs, never by ingestion's settings).
    assert listed - aliases - {"FUNCTIONS_WORKER_RUNTIME"} <= OUTPUT_SETTINGS
    assert "POWERBI_PUSH_URL" in listed


def test_the_example_placeholders_refuse_to_start_until_filled() -> None:
    values = _example()["Values"]
    assert "EVENTHUB__fullyQualifiedNamespace: must be a fully qualified" in _error(values)
    filled = values | {k: AZURE[k] for k in ("EVENTHUB__fullyQualifiedNamespace", "COSMOS__accountEndpoint")}
    assert load_settings(filled).cosmos_database == "retailpulse"


def test_the_emulator_forms_validate_and_point_at_the_docker_emulators() -> None:
    local = _prepare_module().emulator_settings(_example())
    settings = load_settings(local["Values"])
    assert settings.document_store_url() == "cosmos://localhost:8081?database=retailpulse&emulator=docker"
    assert settings.eventhub_namespace is None and settings.host_storage_account is None


def test_the_infrastructure_app_settings_are_exactly_what_the_app_validates() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "infra"))
    try:
        from infra_harness import build, example_config  # the Pulumi program, against mocks
    finally:
        sys.path.remove(str(ROOT / "tests" / "infra"))
    app_settings = build(example_config("dev"), stack="dev").app_settings
    assert "PII_HMAC_KEY: is an unresolved Key Vault reference" in _error(app_settings)
    resolved = app_settings | {"PII_HMAC_KEY": PII, "POWERBI_PUSH_URL": AZURE["POWERBI_PUSH_URL"]}
    settings = load_settings(resolved)
    assert settings.hub_names() == {s: resolved[hub_setting(s)] for s in SOURCES}
    read_by_host_only = {k for k in app_settings if k.endswith("__credential") or k.startswith("APPLICATIONINSIGHTS_")}
    read_by_host_only |= {k for k in app_settings if k.startswith("AzureWebJobsStorage__")} - {
        "AzureWebJobsStorage__accountName"
    }
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(app_settings) - read_by_host_only - OUTPUT_SETTINGS <= aliases
