"""Stack configuration is validated up front, and every error names its key."""

from __future__ import annotations

import json

import pulumi
import pytest
from infra_harness import ENTRA_CLIENT_ID, STACK_EXTRAS, TEST_SECRETS, build, example_config, run_entry_point
from retail_pulse_infra.config import PROJECT, SECRET_KEYS, ConfigError, StackConfig, parse_config

VALID = {
    "location": "westeurope",
    "environment": "dev",
    "nameSuffix": "t3st",
    "alertEmails": "ops@contoso.com",
    "entraClientId": ENTRA_CLIENT_ID,
    **TEST_SECRETS,
}
REQUIRED = ("location", "environment", "nameSuffix", "piiHmacKey", "entraClientId")


def parse(values: dict[str, str], secret_keys: set[str] | None = None) -> StackConfig:
    return parse_config(values, secret_keys=SECRET_KEYS if secret_keys is None else secret_keys)


def problems_of(values: dict[str, str]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse(values)
    return caught.value


def test_minimal_config_takes_documented_defaults() -> None:
    config = parse(VALID)
    assert config.event_hubs_sku == "Standard"
    assert config.cosmos_capacity_mode == "serverless"
    assert config.reporting_currency == "EUR"
    assert config.accepted_lateness_days == 7
    assert config.alert_emails == ("ops@contoso.com",)
    assert config.partitions_for("txn") == 4


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_example_stack_files_are_valid(stack: str) -> None:
    config = parse(example_config(stack))
    assert config.environment == stack


@pytest.mark.parametrize(
    ("overrides", "bad_key"),
    [
        ({"location": "West Europe"}, "location"),
        ({"environment": "production"}, "environment"),
        ({"namePrefix": "Retail-Pulse"}, "namePrefix"),
        ({"nameSuffix": "AB"}, "nameSuffix"),
        ({"storageRedundancy": "RAGRS"}, "storageRedundancy"),
        ({"eventHubsSku": "Basic"}, "eventHubsSku"),
        ({"eventHubsCapacity": "0"}, "eventHubsCapacity"),
        ({"eventHubsCapacity": "5", "eventHubsMaxThroughputUnits": "4"}, "eventHubsMaxThroughputUnits"),
        ({"eventHubsSku": "Premium", "eventHubsCapacity": "3"}, "eventHubsCapacity"),
        ({"eventHubsSku": "Premium", "eventHubsMaxThroughputUnits": "8"}, "eventHubsMaxThroughputUnits"),
        ({"hubPartitions": "0"}, "hubPartitions"),
        ({"hubPartitions": "four"}, "hubPartitions"),
        ({"hubPartitions": "64"}, "hubPartitions"),
        ({"hubPartitionsBySource": json.dumps({"txn": 33})}, "hubPartitionsBySource.txn"),
        ({"hubPartitionsBySource": json.dumps({"sales": 8})}, "hubPartitionsBySource.sales"),
        ({"hubRetentionDays": "8"}, "hubRetentionDays"),
        ({"captureIntervalSeconds": "30"}, "captureIntervalSeconds"),
        ({"captureSizeLimitMb": "600"}, "captureSizeLimitMb"),
        ({"rawImmutabilityDays": "0"}, "rawImmutabilityDays"),
        ({"rawImmutabilityDays": "30", "rawDeleteAfterDays": "30"}, "rawDeleteAfterDays"),
        ({"rawZoneAllowedIps": "203.0.113.7,::1"}, "rawZoneAllowedIps.1"),
        ({"rawZoneAllowedIps": "not-an-ip"}, "rawZoneAllowedIps.0"),
        ({"cosmosCapacityMode": "provisioned"}, "cosmosCapacityMode"),
        ({"cosmosCapacityMode": "autoscale"}, "cosmosAutoscaleMaxRu"),
        ({"cosmosCapacityMode": "autoscale", "cosmosAutoscaleMaxRu": "1500"}, "cosmosAutoscaleMaxRu"),
        ({"cosmosAutoscaleMaxRu": "4000"}, "cosmosAutoscaleMaxRu"),
        ({"cosmosBackupTier": "Periodic"}, "cosmosBackupTier"),
        ({"cosmosZoneRedundant": "maybe"}, "cosmosZoneRedundant"),
        ({"functionMaxInstances": "5"}, "functionMaxInstances"),
        ({"functionInstanceMemoryMb": "1024"}, "functionInstanceMemoryMb"),
        ({"logRetentionDays": "7"}, "logRetentionDays"),
        ({"keyVaultRetentionDays": "120"}, "keyVaultRetentionDays"),
        ({"alertEmails": "ops-at-contoso"}, "alertEmails.0"),
        ({"alertEmails": ""}, "alertEmails"),
        ({"alertNormalizedRuPercent": "150"}, "alertNormalizedRuPercent"),
        ({"alertBacklogEvents": "0"}, "alertBacklogEvents"),
        ({"alertWebhookUrl": "http://hooks.example.com/x"}, "alertWebhookUrl"),
        ({"producerPrincipalId": "me"}, "producerPrincipalId"),
        ({"producerPrincipalType": "Robot"}, "producerPrincipalType"),
        ({"reportingCurrency": "eur"}, "reportingCurrency"),
        ({"acceptedLatenessDays": "0"}, "acceptedLatenessDays"),
        ({"piiHmacKey": "too-short"}, "piiHmacKey"),
        ({"powerBiPushUrl": "http://api.powerbi.com/x"}, "powerBiPushUrl"),
        ({"extraTags": json.dumps({"environment": "qa"})}, "extraTags.environment"),
        ({"protectStatefulResources": "perhaps"}, "protectStatefulResources"),
        ({"hubPartiton": "8"}, "hubPartiton"),
    ],
)
def test_a_bad_value_names_its_key(overrides: dict[str, str], bad_key: str) -> None:
    error = problems_of(VALID | overrides)
    assert error.keys == (f"{PROJECT}:{bad_key}",)
    assert f"{PROJECT}:{bad_key}:" in str(error)


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_key_is_named_with_the_command_that_sets_it(missing: str) -> None:
    error = problems_of({key: value for key, value in VALID.items() if key != missing})
    assert error.keys == (f"{PROJECT}:{missing}",)
    flag = "--secret " if missing in SECRET_KEYS else ""
    assert f"pulumi config set {flag}{missing}" in str(error)


def test_every_problem_is_reported_at_once() -> None:
    error = problems_of(VALID | {"location": "West Europe", "hubPartitions": "0", "typo": "1"})
    assert set(error.keys) == {f"{PROJECT}:{key}" for key in ("location", "hubPartitions", "typo")}


def test_cross_checks_are_reported_together() -> None:
    error = problems_of(VALID | {"cosmosCapacityMode": "autoscale", "hubRetentionDays": "30", "alertEmails": ""})
    assert set(error.keys) == {
        f"{PROJECT}:{key}" for key in ("cosmosAutoscaleMaxRu", "hubRetentionDays", "alertEmails")
    }


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_secrets_must_be_stored_encrypted(key: str) -> None:
    values = VALID | {"alertWebhookUrl": "https://hooks.example.com/abc"}
    with pytest.raises(ConfigError) as caught:
        parse(values, secret_keys=SECRET_KEYS - {key})
    assert caught.value.keys == (f"{PROJECT}:{key}",)
    assert f"pulumi config set --secret {key}" in str(caught.value)


def test_error_messages_never_echo_a_secret_value() -> None:
    short_key = "sekrit-but-short"
    error = problems_of(VALID | {"piiHmacKey": short_key, "powerBiPushUrl": "ftp://leaky?key=abc"})
    assert short_key not in str(error)
    assert "leaky" not in str(error)


def test_structured_values_accept_json_or_comma_lists() -> None:
    config = parse(
        VALID
        | {
            "alertEmails": '["a@contoso.com", "b@contoso.com"]',
            "rawZoneAllowedIps": "203.0.113.7, 198.51.100.0/24",
            "hubPartitionsBySource": '{"txn": 16}',
            "extraTags": '{"owner": "data-team"}',
        }
    )
    assert config.alert_emails == ("a@contoso.com", "b@contoso.com")
    assert config.raw_zone_allowed_ips == ("203.0.113.7", "198.51.100.0/24")
    assert (config.partitions_for("txn"), config.partitions_for("cost")) == (16, 4)
    assert dict(config.extra_tags) == {"owner": "data-team"}


def test_the_program_validates_before_declaring_anything() -> None:
    with pytest.raises(ConfigError) as caught:
        build(VALID | {"hubPartitions": "0"})
    assert caught.value.keys == (f"{PROJECT}:hubPartitions",)


def test_the_entry_point_reports_a_bad_key_without_a_traceback() -> None:
    without_location = {key: value for key, value in (VALID | STACK_EXTRAS).items() if key != "location"}
    with pytest.raises(pulumi.RunError, match=f"{PROJECT}:location: required"):
        run_entry_point(without_location)


def test_the_entry_point_declares_the_stack() -> None:
    built = run_entry_point(example_config("dev"))
    assert built.one("azure-native:web:WebApp").inputs["kind"] == "functionapp,linux"


def test_the_power_bi_push_url_is_optional() -> None:
    config = parse({key: value for key, value in VALID.items() if key != "powerBiPushUrl"})
    assert config.power_bi_push_url is None  # outputs off; ingestion deploys and runs as usual
