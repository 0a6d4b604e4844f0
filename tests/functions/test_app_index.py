"""The app as the host indexes it: every function's trigger, bindings, retry policy, route and auth level."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
from azure.functions.cosmosdb import CosmosDBTriggerConverter
from azure.functions.eventhub import EventHubTriggerConverter
from azure.functions.http import HttpRequestConverter
from azure.functions.timer import TimerRequestConverter

from shared.topology import CONSUMER_GROUP_SETTING, LIVE_PAGE_ROUTE, SOURCES, hub_setting
from tests.functions.indexed import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]
RETRY = {
    "setting_name": "retry_policy",
    "strategy": "exponential_backoff",
    "max_retry_count": "-1",
    "minimum_interval": "00:00:05",
    "maximum_interval": "00:05:00",
}


def _bindings(name: str) -> list[dict[str, Any]]:
    return [json.loads(b) for b in FUNCTIONS[name].get_raw_bindings()]


def test_the_app_has_exactly_these_functions() -> None:
    assert sorted(FUNCTIONS) == sorted(
        [f"ingest_{s}" for s in SOURCES]
        + ["rollup_views", "rollup_orders", "kpis", "health", "dlq_list", "dlq_replay"]
        + ["live_page", "live_static", "snapshot", "reconcile_raw_zone", "rollups_outbox", "outputs_timer"]
        + ["alerts_evaluate"]
    )


@pytest.mark.parametrize("source", SOURCES)
def test_one_event_hubs_trigger_per_source(source: str) -> None:
    name = f"ingest_{source}"
    assert _bindings(name) == [
        {
            "direction": "IN",
            "type": "eventHubTrigger",
            "name": "events",
            "connection": "EVENTHUB",
            "eventHubName": f"%{hub_setting(source)}%",
            "consumerGroup": f"%{CONSUMER_GROUP_SETTING}%",
            "cardinality": "MANY",
            "dataType": "BINARY",
        }
    ]
    assert FUNCTIONS[name].get_settings_dict("retry_policy") == RETRY


@pytest.mark.parametrize("container", ["views", "orders"])
def test_change_feed_triggers_on_the_base_containers_with_the_lease_container(container: str) -> None:
    name = f"rollup_{container}"
    assert _bindings(name) == [
        {
            "direction": "IN",
            "type": "cosmosDBTrigger",
            "name": "docs",
            "connection": "COSMOS",
            "databaseName": "%COSMOS_DATABASE%",
            "containerName": container,
            "leaseContainerName": "leases",
            "leaseContainerPrefix": f"{container}-",
            "createLeaseContainerIfNotExists": False,
            "maxItemsPerInvocation": 1000,
            "startFromBeginning": True,
        }
    ]
    assert FUNCTIONS[name].get_settings_dict("retry_policy") == RETRY


def test_the_outputs_read_the_rollups_feed_from_the_beginning_and_drain_on_a_timer() -> None:
    assert _bindings("rollups_outbox") == [
        {
            "direction": "IN",
            "type": "cosmosDBTrigger",
            "name": "docs",
            "connection": "COSMOS",
            "databaseName": "%COSMOS_DATABASE%",
            "containerName": "rollups",
            "leaseContainerName": "leases",
            "leaseContainerPrefix": "outbox-",
            "createLeaseContainerIfNotExists": False,
            "maxItemsPerInvocation": 1000,
            "startFromBeginning": True,
        }
    ]
    assert FUNCTIONS["rollups_outbox"].get_settings_dict("retry_policy") == RETRY
    assert _bindings("outputs_timer") == [
        {
            "direction": "IN",
            "type": "timerTrigger",
            "name": "timer",
            "schedule": "*/10 * * * * *",
            "runOnStartup": False,
        }
    ]
    prefixes = [b["leaseContainerPrefix"] for f in FUNCTIONS for b in _bindings(f) if b["type"] == "cosmosDBTrigger"]
    assert len(prefixes) == len(set(prefixes)) == 3  # each trigger keeps its own place in the feed


@pytest.mark.parametrize(
    ("name", "route", "method", "auth"),
    [
        ("kpis", "kpis", "GET", "ANONYMOUS"),
        ("health", "health", "GET", "ANONYMOUS"),
        # Entra ID sign-in (App Service Authentication) and app roles guard these, not a shared key:
        ("dlq_list", "dlq", "GET", "ANONYMOUS"),
        ("dlq_replay", "dlq/replay", "POST", "ANONYMOUS"),
        ("live_page", LIVE_PAGE_ROUTE, "GET", "ANONYMOUS"),
        ("live_static", f"{LIVE_PAGE_ROUTE}/static/{{*name}}", "GET", "ANONYMOUS"),
        ("snapshot", "snapshot", "GET", "ANONYMOUS"),
    ],
)
def test_http_routes_and_auth_levels(name: str, route: str, method: str, auth: str) -> None:
    trigger, output = _bindings(name)
    assert trigger == {
        "direction": "IN",
        "type": "httpTrigger",
        "name": "req",
        "methods": [method],
        "route": route,
        "authLevel": auth,
    }
    assert output == {"direction": "OUT", "type": "http", "name": "$return"}
    assert FUNCTIONS[name].get_settings_dict("retry_policy") is None  # HTTP triggers have no retry policy


def test_the_worker_accepts_every_parameter_annotation() -> None:
    converters = {
        "eventHubTrigger": EventHubTriggerConverter,
        "cosmosDBTrigger": CosmosDBTriggerConverter,
        "httpTrigger": HttpRequestConverter,
        "timerTrigger": TimerRequestConverter,
    }
    for name, function in FUNCTIONS.items():
        hints = typing.get_type_hints(function.get_user_function())
        for binding in _bindings(name):
            if binding["direction"] == "IN":
                converter = converters[binding["type"]]
                assert converter.check_input_type_annotation(hints[binding["name"]]), (name, binding["name"])


def test_host_json_uses_the_bundle_and_batch_settings_documented() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    hubs = host["extensions"]["eventHubs"]
    assert hubs["minEventBatchSize"] < hubs["maxEventBatchSize"] <= hubs["prefetchCount"]
    assert hubs["batchCheckpointFrequency"] == 1
    assert host["logging"]["applicationInsights"]["samplingSettings"]["isEnabled"] is True
    assert host["functionTimeout"] == "00:10:00"


def test_importing_the_app_reads_no_setting_and_connects_nowhere() -> None:
    code = (
        "import os, socket, sys\n"
        "sys.path.insert(0, os.getcwd())\n"
        "os.environ.clear()\n"  # no settings at all: indexing must still work
        "def refuse(*a, **k): raise AssertionError('network use at import time')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from function_app import app\n"
        "import functions._runtime as r\n"
        "assert not r._current, 'runtime built at import'\n"
        "print(len(app.get_functions()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(len(FUNCTIONS))


def test_function_app_registers_blueprints_only() -> None:
    module = importlib.import_module("function_app")
    public = {name for name in vars(module) if not name.startswith("_")}
    assert public == {"app", "func", "alerts", "api", "ingest", "outputs", "page", "raw_zone", "rollups", "blueprint"}
    assert isinstance(module.app, func.FunctionApp)


def test_every_entry_point_is_named_after_its_function() -> None:
    assert {name: f.get_user_function().__name__ for name, f in FUNCTIONS.items()} == {name: name for name in FUNCTIONS}
