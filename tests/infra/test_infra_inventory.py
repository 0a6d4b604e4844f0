"""Every resource the pipeline needs exists with the intended settings.

Names come from ``shared.topology`` (imported, never retyped), so the Functions
app and the infrastructure cannot drift apart.
"""

from __future__ import annotations

import json

import pytest
from infra_harness import BuiltStack, Recorded, build, example_config
from retail_pulse_infra.app_settings import KEY_VAULT_SECRET_NAMES
from retail_pulse_infra.function_app import DEPLOYMENT_CONTAINER
from retail_pulse_infra.guardrails import BACKLOG_QUERY, PRODUCT_ALERTS_QUERY
from retail_pulse_infra.indexing import INDEXING
from retail_pulse_infra.raw_zone import CAPTURE_CONTAINER

from shared.topology import (
    ACCEPTED_LATENESS_SETTING,
    CAPTURE_URL_SETTING,
    CONSUMER_GROUP,
    CONSUMER_GROUP_SETTING,
    CONTAINERS,
    COSMOS_CONNECTION,
    COSMOS_DATABASE,
    COSMOS_DATABASE_SETTING,
    EVENTHUB_CONNECTION,
    HUB_NAMES,
    LEASES_CONTAINER,
    LIVE_PAGE_ROUTE,
    PII_KEY_SETTING,
    POWERBI_PUSH_URL_SETTING,
    REPORTING_CURRENCY_SETTING,
    SOURCES,
    hub_setting,
)

EH, STORAGE, COSMOS, WEB, KV, MONITOR = (
    "azure-native:eventhub:",
    "azure-native:storage:",
    "azure-native:cosmosdb:",
    "azure-native:web:",
    "azure-native:keyvault:",
    "azure-native:monitor:",
)


def hubs(stack: BuiltStack) -> dict[str, Recorded]:
    return {record.inputs["eventHubName"]: record for record in stack.of_type(EH + "EventHub")}


# --- Event Hubs -------------------------------------------------------------------------------


def test_one_hub_per_source_named_by_topology(any_stack: BuiltStack) -> None:
    assert set(hubs(any_stack)) == {HUB_NAMES[source] for source in SOURCES}


def test_dev_namespace_is_standard_with_auto_inflate(dev_stack: BuiltStack) -> None:
    namespace = dev_stack.one(EH + "Namespace").inputs
    assert namespace["sku"] == {"name": "Standard", "tier": "Standard", "capacity": 1}
    assert namespace["isAutoInflateEnabled"] is True
    assert namespace["maximumThroughputUnits"] == 4


def test_premium_namespace_by_config_has_no_auto_inflate() -> None:
    values = example_config("dev") | {"eventHubsSku": "Premium", "eventHubsCapacity": "2", "hubRetentionDays": "30"}
    del values["eventHubsMaxThroughputUnits"]
    premium = build(values)
    namespace = premium.one(EH + "Namespace").inputs
    assert namespace["sku"] == {"name": "Premium", "tier": "Premium", "capacity": 2}
    assert namespace["isAutoInflateEnabled"] is False
    assert "maximumThroughputUnits" not in namespace
    assert all(hub.inputs["retentionDescription"]["retentionTimeInHours"] == 30 * 24 for hub in hubs(premium).values())


def test_partitions_and_retention_come_from_config(prod_stack: BuiltStack) -> None:
    by_source = json.loads(prod_stack.config["hubPartitionsBySource"])
    default = int(prod_stack.config["hubPartitions"])
    retention_hours = int(prod_stack.config["hubRetentionDays"]) * 24
    for source in SOURCES:
        hub = hubs(prod_stack)[HUB_NAMES[source]].inputs
        assert hub["partitionCount"] == by_source.get(source, default), source
        assert hub["retentionDescription"] == {"cleanupPolicy": "Delete", "retentionTimeInHours": retention_hours}


def test_capture_writes_avro_to_the_raw_zone_with_the_namespace_identity(any_stack: BuiltStack) -> None:
    raw_account = any_stack.one(STORAGE + "StorageAccount", "raw-zone-account")
    for hub in hubs(any_stack).values():
        capture = hub.inputs["captureDescription"]
        assert capture["enabled"] is True
        assert capture["encoding"] == "Avro"
        assert capture["skipEmptyArchives"] is True
        assert capture["intervalInSeconds"] == int(any_stack.config["captureIntervalSeconds"])
        destination = capture["destination"]
        assert destination["name"] == "EventHubArchive.AzureBlockBlob"
        assert destination["storageAccountResourceId"] == raw_account.id
        assert destination["blobContainer"] == CAPTURE_CONTAINER
        assert destination["identity"] == {"type": "SystemAssigned"}
        assert destination["archiveNameFormat"].startswith("{Namespace}/{EventHub}/{PartitionId}/")


def test_functions_consumer_group_on_every_hub(any_stack: BuiltStack) -> None:
    groups = any_stack.of_type(EH + "ConsumerGroup")
    assert sorted(group.inputs["eventHubName"] for group in groups) == sorted(HUB_NAMES.values())
    assert {group.inputs["consumerGroupName"] for group in groups} == {CONSUMER_GROUP}


# --- Raw zone ---------------------------------------------------------------------------------


def test_raw_zone_is_adls_gen2_with_worm_and_lifecycle(prod_stack: BuiltStack) -> None:
    account = prod_stack.one(STORAGE + "StorageAccount", "raw-zone-account").inputs
    assert account["isHnsEnabled"] is True
    assert account["kind"] == "StorageV2"
    assert account["sku"] == {"name": "Standard_ZRS"}
    worm = prod_stack.one(STORAGE + "BlobContainerImmutabilityPolicy").inputs
    assert worm["containerName"] == CAPTURE_CONTAINER
    assert worm["immutabilityPeriodSinceCreationInDays"] == int(prod_stack.config["rawImmutabilityDays"])
    (rule,) = prod_stack.one(STORAGE + "ManagementPolicy").inputs["policy"]["rules"]
    assert rule["definition"]["filters"]["prefixMatch"] == [f"{CAPTURE_CONTAINER}/"]
    base_blob = rule["definition"]["actions"]["baseBlob"]
    assert base_blob["tierToCool"]["daysAfterModificationGreaterThan"] == int(prod_stack.config["rawCoolAfterDays"])
    assert base_blob["delete"]["daysAfterModificationGreaterThan"] == int(prod_stack.config["rawDeleteAfterDays"])


def test_raw_zone_soft_delete_and_no_versioning_on_hns(any_stack: BuiltStack) -> None:
    blob_service = any_stack.one(STORAGE + "BlobServiceProperties", "raw-zone-blob-service").inputs
    assert blob_service["deleteRetentionPolicy"]["enabled"] is True
    assert blob_service["containerDeleteRetentionPolicy"]["enabled"] is True
    # Azure rejects blob versioning on hierarchical-namespace accounts; WORM protects instead.
    assert "isVersioningEnabled" not in blob_service


def test_raw_zone_firewall_lets_only_trusted_services_and_listed_ips(dev_stack: BuiltStack) -> None:
    rules = dev_stack.one(STORAGE + "StorageAccount", "raw-zone-account").inputs["networkRuleSet"]
    assert rules["defaultAction"] == "Deny"
    assert rules["bypass"] == "AzureServices"


# --- Cosmos DB --------------------------------------------------------------------------------


def containers(stack: BuiltStack) -> dict[str, dict]:
    return {
        record.inputs["containerName"]: record.inputs for record in stack.of_type(COSMOS + "SqlResourceSqlContainer")
    }


def test_database_and_containers_follow_topology(any_stack: BuiltStack) -> None:
    assert any_stack.one(COSMOS + "SqlResourceSqlDatabase").inputs["resource"] == {"id": COSMOS_DATABASE}
    declared = containers(any_stack)
    assert set(declared) == set(CONTAINERS)
    assert LEASES_CONTAINER in declared
    for name, spec in CONTAINERS.items():
        resource = declared[name]["resource"]
        assert declared[name]["databaseName"] == COSMOS_DATABASE
        assert resource["partitionKey"] == {"paths": [spec.partition_key_path], "kind": "Hash", "version": 2}
        assert resource.get("defaultTtl") == spec.default_ttl_seconds, name


def test_indexing_keeps_query_paths_and_drops_bulky_bodies(dev_stack: BuiltStack) -> None:
    assert set(INDEXING) == set(CONTAINERS), "every container has a deliberate indexing policy"
    for name, inputs in containers(dev_stack).items():
        policy = inputs["resource"]["indexingPolicy"]
        assert policy["indexingMode"] == "consistent"
        assert policy["includedPaths"] == [{"path": "/*"}]
        excluded = {path["path"] for path in policy["excludedPaths"]}
        assert set(INDEXING[name].excluded) <= excluded
    for name in ("views", "rollups"):
        excluded = {path["path"] for path in containers(dev_stack)[name]["resource"]["indexingPolicy"]["excludedPaths"]}
        assert {"/children/*", "/ids/*", "/applied/*"} <= excluded
        assert not any(path.startswith(("/pk", "/view", "/scope", "/grain", "/window")) for path in excluded)
    rollups = containers(dev_stack)["rollups"]["resource"]["indexingPolicy"]["excludedPaths"]
    assert {"/open/*", "/due/*"} <= {path["path"] for path in rollups}  # a backlog's orders and promises
    assert {"/stores/*", "/buckets/*", "/steps/?", "/minute_v/*"} <= {path["path"] for path in rollups}  # minutes


def test_serverless_dev_and_autoscale_prod(dev_stack: BuiltStack, prod_stack: BuiltStack) -> None:
    assert dev_stack.one(COSMOS + "DatabaseAccount").inputs["capabilities"] == [{"name": "EnableServerless"}]
    assert "options" not in dev_stack.one(COSMOS + "SqlResourceSqlDatabase").inputs
    assert prod_stack.one(COSMOS + "DatabaseAccount").inputs.get("capabilities", []) == []
    options = prod_stack.one(COSMOS + "SqlResourceSqlDatabase").inputs["options"]
    assert options == {"autoscaleSettings": {"maxThroughput": int(prod_stack.config["cosmosAutoscaleMaxRu"])}}


def test_continuous_backup(any_stack: BuiltStack) -> None:
    backup = any_stack.one(COSMOS + "DatabaseAccount").inputs["backupPolicy"]
    assert backup == {"type": "Continuous", "continuousModeProperties": {"tier": any_stack.config["cosmosBackupTier"]}}


# --- Function App -----------------------------------------------------------------------------


def test_flex_consumption_plan_linux(any_stack: BuiltStack) -> None:
    plan = any_stack.one(WEB + "AppServicePlan").inputs
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["reserved"] is True
    app = any_stack.one(WEB + "WebApp")
    assert app.inputs["kind"] == "functionapp,linux"
    assert app.inputs["serverFarmId"] == any_stack.one(WEB + "AppServicePlan").id


def test_python_311_runtime_scale_and_deployment_container(any_stack: BuiltStack) -> None:
    config = any_stack.one(WEB + "WebApp").inputs["functionAppConfig"]
    host = any_stack.one(STORAGE + "StorageAccount", "function-host-storage").inputs["accountName"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    assert config["scaleAndConcurrency"] == {
        "maximumInstanceCount": int(any_stack.config["functionMaxInstances"]),
        "instanceMemoryMB": int(any_stack.config["functionInstanceMemoryMb"]),
    }
    assert config["deployment"]["storage"] == {
        "type": "blobContainer",
        "value": f"https://{host}.blob.core.windows.net/{DEPLOYMENT_CONTAINER}",
        "authentication": {"type": "SystemAssignedIdentity"},
    }
    assert (
        any_stack.one(STORAGE + "BlobContainer", "deployment-container").inputs["containerName"] == DEPLOYMENT_CONTAINER
    )


def expected_app_settings(stack: BuiltStack) -> dict[str, str]:
    """What the Functions app will read, built from the names in shared.topology."""
    namespace = stack.one(EH + "Namespace").inputs["namespaceName"]
    cosmos = stack.one(COSMOS + "DatabaseAccount").inputs["accountName"]
    host = stack.one(STORAGE + "StorageAccount", "function-host-storage").inputs["accountName"]
    vault = stack.one(KV + "Vault").inputs["vaultName"]
    raw_zone = stack.one(STORAGE + "StorageAccount", "raw-zone-account").inputs["accountName"]
    return {
        "AzureWebJobsStorage__accountName": host,
        "AzureWebJobsStorage__credential": "managedidentity",
        f"{EVENTHUB_CONNECTION}__fullyQualifiedNamespace": f"{namespace}.servicebus.windows.net",
        f"{EVENTHUB_CONNECTION}__credential": "managedidentity",
        f"{COSMOS_CONNECTION}__accountEndpoint": f"https://{cosmos}.documents.azure.com:443/",
        f"{COSMOS_CONNECTION}__credential": "managedidentity",
        COSMOS_DATABASE_SETTING: COSMOS_DATABASE,
        CONSUMER_GROUP_SETTING: CONSUMER_GROUP,
        **{hub_setting(source): HUB_NAMES[source] for source in SOURCES},
        **{
            setting: f"@Microsoft.KeyVault(SecretUri=https://{vault}.vault.azure.net/secrets/{secret})"
            for setting, secret in KEY_VAULT_SECRET_NAMES.items()
        },
        "APPLICATIONINSIGHTS_CONNECTION_STRING": stack.app_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
        REPORTING_CURRENCY_SETTING: stack.config.get("reportingCurrency", "EUR"),
        ACCEPTED_LATENESS_SETTING: stack.config.get("acceptedLatenessDays", "7"),
        "DEAD_LETTER_KEY_ID": f"https://{vault}.vault.azure.net/keys/dead-letters",
        "PULSE_SCOPE_MAP": stack.config.get("scopeMap", "{}"),
        CAPTURE_URL_SETTING: f"https://{raw_zone}.blob.core.windows.net/{CAPTURE_CONTAINER}",
        **{
            setting: stack.config[key]
            for key, setting in (
                ("powerBiGroupId", "POWERBI_GROUP_ID"),
                ("powerBiTilesDatasetId", "POWERBI_TILES_DATASET_ID"),
                ("powerBiLiveDatasetId", "POWERBI_LIVE_DATASET_ID"),
                ("powerBiHistoryDatasetId", "POWERBI_HISTORY_DATASET_ID"),
                ("powerBiHistoryStandbyDatasetId", "POWERBI_HISTORY_STANDBY_DATASET_ID"),
                ("powerBiHistoryReportId", "POWERBI_HISTORY_REPORT_ID"),
            )
            if key in stack.config
        },
    }


def test_app_settings_are_exactly_what_the_app_reads(any_stack: BuiltStack) -> None:
    assert any_stack.app_settings == expected_app_settings(any_stack)
    assert set(KEY_VAULT_SECRET_NAMES) == {PII_KEY_SETTING, POWERBI_PUSH_URL_SETTING}


def test_app_insights_connection_string_is_the_workspace_based_component(any_stack: BuiltStack) -> None:
    component = any_stack.one("azure-native:applicationinsights:Component").inputs
    workspace = any_stack.one("azure-native:operationalinsights:Workspace")
    assert component["workspaceResourceId"] == workspace.id
    assert component["ingestionMode"] == "LogAnalytics"
    assert workspace.inputs["retentionInDays"] == int(any_stack.config["logRetentionDays"])
    assert any_stack.app_settings["APPLICATIONINSIGHTS_CONNECTION_STRING"].startswith("InstrumentationKey=")


# --- Key Vault --------------------------------------------------------------------------------


def test_key_vault_holds_the_two_secrets(any_stack: BuiltStack) -> None:
    vault = any_stack.one(KV + "Vault").inputs
    assert vault["properties"]["softDeleteRetentionInDays"] == int(any_stack.config["keyVaultRetentionDays"])
    names = {secret.inputs["secretName"] for secret in any_stack.of_type(KV + "Secret")}
    assert names == set(KEY_VAULT_SECRET_NAMES.values())


# --- Monitoring -------------------------------------------------------------------------------


def test_diagnostic_settings_for_event_hubs_cosmos_and_vault_not_the_flex_site(any_stack: BuiltStack) -> None:
    targets = {setting.inputs["resourceUri"] for setting in any_stack.of_type(MONITOR + "DiagnosticSetting")}
    assert targets == {
        any_stack.one(EH + "Namespace").id,
        any_stack.one(COSMOS + "DatabaseAccount").id,
        any_stack.one(KV + "Vault").id,
    }  # Flex Consumption supports no diagnostic setting: the app's logs reach the workspace via App Insights
    workspace = any_stack.one("azure-native:operationalinsights:Workspace").id
    assert {setting.inputs["workspaceId"] for setting in any_stack.of_type(MONITOR + "DiagnosticSetting")} == {
        workspace
    }
    eventhubs = next(s for s in any_stack.of_type(MONITOR + "DiagnosticSetting") if s.name == "diagnostics-eventhubs")
    assert {"category": "AllMetrics", "enabled": True} in eventhubs.inputs["metrics"], "the backlog alert needs them"


@pytest.mark.parametrize(
    ("alert", "scope_type", "metric", "aggregation", "threshold_key"),
    [
        (
            "function-failures",
            "azure-native:applicationinsights:Component",
            "requests/failed",
            "Count",
            "alertFunctionFailures",
        ),
        ("cosmos-throttling", COSMOS + "DatabaseAccount", "TotalRequests", "Count", "alertCosmosThrottledRequests"),
        (
            "cosmos-normalized-ru",
            COSMOS + "DatabaseAccount",
            "NormalizedRUConsumption",
            "Maximum",
            "alertNormalizedRuPercent",
        ),
        ("capture-failures", EH + "Namespace", "CaptureBacklog", "Total", "alertCaptureBacklog"),
    ],
)
def test_metric_guardrails(
    prod_stack: BuiltStack, alert: str, scope_type: str, metric: str, aggregation: str, threshold_key: str
) -> None:
    rule = prod_stack.one(MONITOR + "MetricAlert", f"alert-{alert}").inputs
    assert rule["scopes"] == [prod_stack.one(scope_type).id]
    (criterion,) = rule["criteria"]["allOf"]
    assert (criterion["metricName"], criterion["timeAggregation"]) == (metric, aggregation)
    defaults = {"alertCaptureBacklog": "1000"}
    assert criterion["threshold"] == float(prod_stack.config.get(threshold_key, defaults.get(threshold_key)))
    assert rule["actions"] == [{"actionGroupId": prod_stack.one(MONITOR + "ActionGroup").id}]
    if alert == "cosmos-throttling":
        assert criterion["dimensions"] == [{"name": "StatusCode", "operator": "Include", "values": ["429"]}]


def test_backlog_guardrail_compares_incoming_and_outgoing(prod_stack: BuiltStack) -> None:
    rule = prod_stack.one(MONITOR + "ScheduledQueryRule", "alert-eventhubs-backlog").inputs
    assert rule["scopes"] == [prod_stack.one(EH + "Namespace").id]
    (condition,) = rule["criteria"]["allOf"]
    assert condition["query"] == BACKLOG_QUERY
    assert "IncomingMessages" in BACKLOG_QUERY and "OutgoingMessages" in BACKLOG_QUERY
    assert condition["metricMeasureColumn"] == "Backlog"
    assert condition["threshold"] == float(prod_stack.config["alertBacklogEvents"])
    assert rule["actions"] == {"actionGroups": [prod_stack.one(MONITOR + "ActionGroup").id]}


def test_action_group_receivers_come_from_config(dev_stack: BuiltStack, prod_stack: BuiltStack) -> None:
    dev_group = dev_stack.one(MONITOR + "ActionGroup").inputs
    assert [r["emailAddress"] for r in dev_group["emailReceivers"]] == [dev_stack.config["alertEmails"]]
    assert dev_group.get("webhookReceivers", []) == []
    prod_group = prod_stack.one(MONITOR + "ActionGroup").inputs
    assert [r["emailAddress"] for r in prod_group["emailReceivers"]] == prod_stack.config["alertEmails"].split(",")
    assert [r["serviceUri"] for r in prod_group["webhookReceivers"]] == [prod_stack.config["alertWebhookUrl"]]
    assert len(prod_group["groupShortName"]) <= 12


# --- Outputs ----------------------------------------------------------------------------------


def test_outputs_name_what_a_user_needs(dev_stack: BuiltStack) -> None:
    outputs = dev_stack.outputs
    namespace = dev_stack.one(EH + "Namespace").inputs["namespaceName"]
    app = dev_stack.one(WEB + "WebApp").inputs["name"]
    assert outputs["eventHubsNamespace"] == f"{namespace}.servicebus.windows.net"
    assert outputs["hubNames"] == {source: HUB_NAMES[source] for source in SOURCES}
    assert outputs["consumerGroup"] == CONSUMER_GROUP
    assert outputs["cosmosEndpoint"] == dev_stack.app_settings[f"{COSMOS_CONNECTION}__accountEndpoint"]
    assert outputs["cosmosDatabase"] == COSMOS_DATABASE
    assert outputs["appUrl"] == f"https://{app}.azurewebsites.net"
    assert outputs["pageUrl"] == f"https://{app}.azurewebsites.net/api/{LIVE_PAGE_ROUTE}"
    assert outputs["functionAppName"] == app
    assert outputs["rawZoneContainer"] == CAPTURE_CONTAINER


def test_product_alerts_reach_the_action_group_email(prod_stack: BuiltStack) -> None:
    rule = prod_stack.one(MONITOR + "ScheduledQueryRule", "alert-product-alerts").inputs
    assert rule["scopes"] == [prod_stack.one("azure-native:applicationinsights:Component").id]
    (condition,) = rule["criteria"]["allOf"]
    assert condition["query"] == PRODUCT_ALERTS_QUERY and '"pulse-alert "' in PRODUCT_ALERTS_QUERY
    assert condition["metricMeasureColumn"] == "Alerts" and condition["threshold"] == 0
    assert rule["actions"] == {"actionGroups": [prod_stack.one(MONITOR + "ActionGroup").id]}
    assert rule["autoMitigate"] is False
