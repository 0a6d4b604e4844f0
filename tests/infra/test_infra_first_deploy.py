"""The first `pulumi up` needs no manual step: every setting the app reads exists, every Key Vault
reference is granted to the identity that resolves it before the site that uses it is created."""

from __future__ import annotations

import re

import pytest
from infra_harness import BuiltStack, build, example_config, principal_of
from retail_pulse_infra.config import ConfigError
from retail_pulse_infra.roles import KEY_VAULT_SECRETS_USER

from shared.settings import KEY_VAULT_PREFIX, Settings, load_settings
from shared.sinks.output_settings import output_routes
from tests.fixtures.fake_powerbi import FakeTokenCredential, ManualClock

WEBAPP = "azure-native:web:WebApp"
READER = "azure-native:managedidentity:UserAssignedIdentity"
GRANT = "key-vault-reader-reads-secrets"
SLOW_S = 0.5
_REFERENCE = re.compile(r"^@Microsoft\.KeyVault\(SecretUri=(?P<uri>https://[^)]+)\)$")


@pytest.fixture(scope="module", params=["dev", "prod"])
def slow_grant_stack(request: pytest.FixtureRequest) -> BuiltStack:
    """The stack with the reader's Key Vault grant taking SLOW_S to create, as a real grant may."""
    return build(example_config(request.param), stack=request.param, slow={GRANT: SLOW_S})


def _index(stack: BuiltStack, typ: str, name: str | None = None) -> int:
    return next(i for i, r in enumerate(stack.resources) if r.typ == typ and (name is None or r.name == name))


def test_every_setting_the_app_reads_is_present(slow_grant_stack: BuiltStack) -> None:
    settings = slow_grant_stack.app_settings
    required = {f.alias for f in Settings.model_fields.values() if f.is_required() and f.alias}
    identity_forms = {
        "EVENTHUB__fullyQualifiedNamespace",
        "COSMOS__accountEndpoint",
        "AzureWebJobsStorage__accountName",
    }
    assert required | identity_forms <= set(settings)
    resolved = {k: ("r" * 48 if v.startswith(KEY_VAULT_PREFIX) else v) for k, v in settings.items()}
    assert load_settings(resolved).cosmos_database == "retailpulse"  # what the platform hands the worker


def test_every_key_vault_reference_is_granted_to_its_resolver_before_the_site_exists(
    slow_grant_stack: BuiltStack,
) -> None:
    stack = slow_grant_stack
    site = stack.one(WEBAPP)
    reader = stack.one(READER)
    assert site.inputs["keyVaultReferenceIdentity"] == reader.id
    assert reader.id in site.inputs["identity"]["userAssignedIdentities"]
    vault = stack.one("azure-native:keyvault:Vault")
    secrets = {
        f"https://{s.inputs['vaultName']}.vault.azure.net/secrets/{s.inputs['secretName']}"
        for s in stack.of_type("azure-native:keyvault:Secret")
    }
    references = {k: v for k, v in stack.app_settings.items() if v.startswith(KEY_VAULT_PREFIX)}
    assert set(references) == {"PII_HMAC_KEY", "POWERBI_PUSH_URL"}
    for setting, value in references.items():
        match = _REFERENCE.match(value)
        assert match and match["uri"] in secrets, setting  # a secret of this stack's vault
    grant = stack.one("azure-native:authorization:RoleAssignment", GRANT)
    assert grant.inputs["roleDefinitionId"].endswith(KEY_VAULT_SECRETS_USER)
    assert grant.inputs["scope"] == vault.id
    assert grant.inputs["principalId"] == principal_of(reader.inputs["resourceName"])
    # The grant took SLOW_S to create; the site still came after it: it depends on it.
    assert _index(stack, "azure-native:authorization:RoleAssignment", GRANT) < _index(stack, WEBAPP)


def test_without_a_push_url_there_is_no_reference_to_it_and_the_app_still_starts() -> None:
    values = {k: v for k, v in example_config("dev").items() if k != "powerBiPushUrl"}
    stack = build(values, stack="dev")
    assert "POWERBI_PUSH_URL" not in stack.app_settings
    assert [s.inputs["secretName"] for s in stack.of_type("azure-native:keyvault:Secret")] == ["pii-hmac-key"]


def test_power_bi_dataset_ids_from_the_stack_config_are_settings_the_outputs_use() -> None:
    ids = {
        "powerBiGroupId": "11111111-2222-3333-4444-555555555555",
        "powerBiLiveDatasetId": "21111111-2222-3333-4444-555555555555",
        "powerBiHistoryDatasetId": "31111111-2222-3333-4444-555555555555",
        "powerBiHistoryStandbyDatasetId": "41111111-2222-3333-4444-555555555555",
        "powerBiHistoryReportId": "51111111-2222-3333-4444-555555555555",
    }
    stack = build(example_config("dev") | ids, stack="dev")
    settings = stack.app_settings
    assert settings["POWERBI_GROUP_ID"] == ids["powerBiGroupId"]
    resolved = {k: ("https://api.powerbi.com/beta/t/datasets/d/rows?key=k" if k == "POWERBI_PUSH_URL" else v)
                for k, v in settings.items()}  # fmt: skip
    found = output_routes(resolved, credential_factory=FakeTokenCredential, clock=ManualClock())
    assert found.errors == {} and sorted(found.routes) == ["alerts", "kpi_delta", "kpi_snapshot", "kpi_tiles"]
    group = ids["powerBiGroupId"]
    assert {table: sink.target for table, sink in found.routes.items()} == {
        "kpi_tiles": "https://api.powerbi.com/beta/t/datasets/d/rows",  # the push URL feeds the tiles (key hidden)
        "kpi_snapshot": f"powerbi dataset {ids['powerBiLiveDatasetId']} (group {group})",
        "alerts": f"powerbi dataset {ids['powerBiLiveDatasetId']} (group {group})",  # alert rows beside the snapshot
        "kpi_delta": (  # the history pair: two datasets and the report a compaction rebinds
            f"powerbi datasets {ids['powerBiHistoryDatasetId']} / {ids['powerBiHistoryStandbyDatasetId']}, "
            f"report {ids['powerBiHistoryReportId']} (group {group})"
        ),
    }
    with pytest.raises(ConfigError, match="powerBiGroupId"):
        no_group = {k: v for k, v in example_config("dev").items() if k != "powerBiGroupId"}
        build(no_group | {"powerBiLiveDatasetId": ids["powerBiLiveDatasetId"]}, stack="dev")
