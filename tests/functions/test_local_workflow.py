"""The Docker workflow's files agree with the app: hubs, consumer group, ports and settings."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from shared.settings import parse_connection_string
from shared.topology import CONSUMER_GROUP, CONTAINERS, HUB_NAMES, SOURCES, hub_setting
from tests.fixtures.emulators import CosmosTarget

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
EXAMPLE = json.loads((ROOT / "local.settings.example.json").read_text())
EVENTHUBS_CONFIG = json.loads((ROOT / "emulator" / "eventhubs-config.json").read_text())


def _prepare() -> Any:
    spec = importlib.util.spec_from_file_location("emulator_prepare", ROOT / "emulator" / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _host_ports(service: str) -> set[int]:
    return {int(str(port).split(":")[0]) for port in COMPOSE["services"][service]["ports"]}


def test_compose_runs_azurite_the_event_hubs_emulator_and_the_cosmos_emulator() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"azurite", "eventhubs", "cosmosdb"}
    assert services["eventhubs"]["image"].startswith("mcr.microsoft.com/azure-messaging/eventhubs-emulator")
    assert services["cosmosdb"]["image"] == "mcr.microsoft.com/cosmosdb/linux/azure-cosmos-emulator:vnext-preview"
    assert services["cosmosdb"]["environment"]["PROTOCOL"] == "https"  # the host's .NET SDK needs HTTPS
    assert services["eventhubs"]["environment"]["BLOB_SERVER"] == "azurite"
    assert services["eventhubs"]["depends_on"] == ["azurite"]


def test_the_emulator_config_declares_exactly_the_app_hubs_and_consumer_group() -> None:
    mounted = {v.split(":")[0]: v.split(":")[1] for v in COMPOSE["services"]["eventhubs"]["volumes"]}
    assert mounted == {"./emulator/eventhubs-config.json": "/Eventhubs_Emulator/ConfigFiles/Config.json"}
    (namespace,) = EVENTHUBS_CONFIG["UserConfig"]["NamespaceConfig"]
    assert (namespace["Type"], namespace["Name"]) == ("EventHub", "emulatorNs1")  # the emulator's fixed name
    entities = {e["Name"]: e for e in namespace["Entities"]}
    assert set(entities) == set(HUB_NAMES.values())
    assert all([g["Name"] for g in e["ConsumerGroups"]] == [CONSUMER_GROUP] for e in entities.values())
    assert all(1 <= int(e["PartitionCount"]) <= 32 for e in entities.values())


def test_the_example_settings_name_the_hubs_and_group_the_emulator_declares() -> None:
    values = EXAMPLE["Values"]
    assert {values[hub_setting(source)] for source in SOURCES} == set(HUB_NAMES.values())
    assert values["EVENTHUB_CONSUMER_GROUP"] == CONSUMER_GROUP


def test_the_emulator_connection_strings_point_at_the_published_ports() -> None:
    emulator = EXAMPLE["EmulatorValues"]
    assert emulator["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"  # Azurite's default ports
    assert _host_ports("azurite") == {10000, 10001, 10002}
    eventhub = parse_connection_string(emulator["EVENTHUB"])
    assert eventhub["usedevelopmentemulator"] == "true" and urlsplit(eventhub["endpoint"]).hostname == "localhost"
    assert 5672 in _host_ports("eventhubs")
    cosmos = urlsplit(parse_connection_string(emulator["COSMOS"])["accountendpoint"])
    assert (cosmos.scheme, cosmos.hostname, cosmos.port) == ("https", "localhost", 8081)
    assert 8081 in _host_ports("cosmosdb")


def test_prepare_writes_local_settings_without_identity_forms(tmp_path: Path) -> None:
    out = tmp_path / "local.settings.json"
    assert _prepare().main(["--out", str(out), "--no-containers"]) == 0
    values = json.loads(out.read_text())["Values"]
    assert {"EVENTHUB", "COSMOS", "AzureWebJobsStorage"} <= set(values)
    assert not {
        "EVENTHUB__fullyQualifiedNamespace",
        "COSMOS__accountEndpoint",
        "AzureWebJobsStorage__accountName",
    } & set(values)
    out.write_text('{"Values": {}}')
    _prepare().main(["--out", str(out), "--no-containers"])
    assert out.read_text() == '{"Values": {}}'  # an existing file is kept


@pytest.mark.emulator
def test_prepare_creates_the_database_and_the_lease_container(cosmos_target: CosmosTarget) -> None:
    prepare = _prepare()
    local = prepare.emulator_settings(EXAMPLE)
    values = local["Values"] | {"PULSE_STORE_URL": f"cosmos://{urlsplit(cosmos_target.endpoint).netloc}"
                                f"?emulator={cosmos_target.kind}&database=prep-test"}  # fmt: skip
    from shared.settings import load_settings
    from shared.stores import open_store

    assert prepare.create_containers(load_settings(values)) == sorted(CONTAINERS)
    with open_store(values["PULSE_STORE_URL"]) as store:
        store.create("leases", {"id": "views-lease-0"})
        assert store.read("leases", "views-lease-0", "views-lease-0") is not None


PACKAGE = {"function_app.py", "host.json", "requirements.txt", "slas.toml", "functions", "shared"}
"""What a publish uploads: the same list as the zip command of docs/deploy.md."""


def _funcignored(name: str, rules: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, rule.rstrip("/")) for rule in rules)


def test_funcignore_leaves_exactly_the_app_in_the_package() -> None:
    rules = [line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()]
    rules = [rule for rule in rules if rule and not rule.startswith("#")]
    tracked = {path.name for path in ROOT.iterdir()} | {".venv", "node_modules", "var", "dist", ".git"}
    assert {name for name in tracked if not _funcignored(name, rules)} == PACKAGE
    for kept in ("functions", "shared", "web", "static", "vendor", "chart.umd.js", "live.js"):
        assert not _funcignored(kept, rules), kept  # nothing inside the package is dropped
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert "zip -qr dist/app.zip function_app.py host.json requirements.txt slas.toml functions shared" in deploy
