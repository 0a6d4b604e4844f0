"""Security policy: no keys anywhere, identities everywhere, grants no wider than needed."""

from __future__ import annotations

import re

import pytest
from infra_harness import (
    SUBSCRIPTION_ID,
    TEST_SECRETS,
    WEBHOOK_SECRET,
    BuiltStack,
    is_secret,
    plain_strings,
    principal_of,
)
from retail_pulse_infra.raw_zone import CAPTURE_CONTAINER
from retail_pulse_infra.roles import (
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    KEY_VAULT_SECRETS_USER,
    MONITORING_METRICS_PUBLISHER,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_BLOB_DATA_READER,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
)

from shared.topology import COSMOS_DATABASE

EH, STORAGE, COSMOS, WEB, KV = (
    "azure-native:eventhub:",
    "azure-native:storage:",
    "azure-native:cosmosdb:",
    "azure-native:web:",
    "azure-native:keyvault:",
)
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

KEY_MATERIAL = re.compile(r"(?i)(\w*key|sharedaccesssignature|password|secret)=|[?&]sig=")
ALLOWED_KEY_MATERIAL = {"instrumentationkey"}
"""App Insights' instrumentation key identifies the component; with local auth off it authorises nothing."""


def key_material(text: str) -> list[str]:
    return [
        match.group(0)
        for match in KEY_MATERIAL.finditer(text)
        if (match.group(1) or "").lower() not in ALLOWED_KEY_MATERIAL
    ]


def test_key_material_detector() -> None:
    assert key_material("Endpoint=sb://x/;SharedAccessKeyName=a;SharedAccessKey=abc") == ["SharedAccessKey="]
    assert key_material("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc") == ["AccountKey="]
    assert key_material("https://api.powerbi.com/rows?key=abc") == ["key="]
    assert key_material("https://x.blob.core.windows.net/c?sv=1&sig=abc") == ["&sig="]
    assert key_material("InstrumentationKey=0000;IngestionEndpoint=https://x/") == []


# --- No keys, no plaintext secrets ------------------------------------------------------------


def test_no_app_setting_carries_a_key(any_stack: BuiltStack) -> None:
    leaks = {name: key_material(value) for name, value in any_stack.app_settings.items() if key_material(value)}
    assert leaks == {}


def test_no_stack_output_carries_a_key_or_secret(any_stack: BuiltStack) -> None:
    for name, value in any_stack.outputs.items():
        for text in plain_strings(value):
            assert key_material(text) == [], name
            assert not any(secret in text for secret in (TEST_SECRETS | WEBHOOK_SECRET).values()), name


def test_secret_values_appear_only_marked_secret(any_stack: BuiltStack) -> None:
    secrets = [value for key, value in (TEST_SECRETS | WEBHOOK_SECRET).items() if key in any_stack.config]
    for resource in any_stack.resources:
        for text in plain_strings(dict(resource.raw_inputs)):
            assert not any(secret in text for secret in secrets), f"{resource.typ} {resource.name} leaks a secret"


def test_key_vault_secret_values_are_marked_secret(any_stack: BuiltStack) -> None:
    for secret in any_stack.of_type(KV + "Secret"):
        assert is_secret(secret.raw_inputs["properties"]), secret.name


def test_alert_webhook_url_is_marked_secret(prod_stack: BuiltStack) -> None:
    group = prod_stack.one("azure-native:monitor:ActionGroup")
    assert is_secret(group.raw_inputs["webhookReceivers"])


def test_secrets_reach_the_app_only_as_key_vault_references(any_stack: BuiltStack) -> None:
    for setting in ("PII_HMAC_KEY", "POWERBI_PUSH_URL"):
        assert re.fullmatch(
            r"@Microsoft\.KeyVault\(SecretUri=https://[^)]+/secrets/[a-z-]+\)", any_stack.app_settings[setting]
        )


def test_the_program_never_lists_keys(any_stack: BuiltStack) -> None:
    assert set(any_stack.invokes) == {"azure-native:authorization:getClientConfig"}


def test_no_connection_string_forms_or_flex_forbidden_settings(any_stack: BuiltStack) -> None:
    settings = any_stack.app_settings
    assert (
        not {
            "AzureWebJobsStorage",
            "EVENTHUB",
            "COSMOS",
            "FUNCTIONS_WORKER_RUNTIME",
            "FUNCTIONS_EXTENSION_VERSION",
            "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        }
        & settings.keys()
    )
    connection_strings = {name for name in settings if name.upper().endswith("CONNECTION_STRING")}
    assert connection_strings == {"APPLICATIONINSIGHTS_CONNECTION_STRING"}
    assert "connectionStrings" not in any_stack.one(WEB + "WebApp").inputs["siteConfig"]


# --- Local auth off, no public access, TLS >= 1.2 ---------------------------------------------


def test_event_hubs_has_no_local_auth_and_no_sas_rules(any_stack: BuiltStack) -> None:
    namespace = any_stack.one(EH + "Namespace").inputs
    assert namespace["disableLocalAuth"] is True
    assert namespace["minimumTlsVersion"] == "1.2"
    assert not any("AuthorizationRule" in resource.typ for resource in any_stack.resources)


def test_cosmos_has_no_local_auth(any_stack: BuiltStack) -> None:
    account = any_stack.one(COSMOS + "DatabaseAccount").inputs
    assert account["disableLocalAuth"] is True
    assert account["disableKeyBasedMetadataWriteAccess"] is True
    assert account["minimalTlsVersion"] == "Tls12"


def test_storage_accounts_take_identities_only_over_tls12(any_stack: BuiltStack) -> None:
    accounts = any_stack.of_type(STORAGE + "StorageAccount")
    assert len(accounts) == 2
    for account in accounts:
        inputs = account.inputs
        assert inputs["allowBlobPublicAccess"] is False, account.name
        assert inputs["allowSharedKeyAccess"] is False, account.name
        assert inputs["defaultToOAuthAuthentication"] is True, account.name
        assert inputs["enableHttpsTrafficOnly"] is True, account.name
        assert inputs["minimumTlsVersion"] == "TLS1_2", account.name
        assert inputs["allowCrossTenantReplication"] is False, account.name


def test_no_blob_container_is_public(any_stack: BuiltStack) -> None:
    containers = any_stack.of_type(STORAGE + "BlobContainer")
    assert {container.inputs["containerName"] for container in containers} == {CAPTURE_CONTAINER, "app-package"}
    assert all(container.inputs["publicAccess"] == "None" for container in containers)


def test_function_app_is_https_only_tls12_without_basic_auth(any_stack: BuiltStack) -> None:
    app = any_stack.one(WEB + "WebApp").inputs
    assert app["httpsOnly"] is True
    assert app["siteConfig"]["minTlsVersion"] == "1.2"
    assert app["siteConfig"]["scmMinTlsVersion"] == "1.2"
    assert app["siteConfig"]["ftpsState"] == "Disabled"
    for policy in ("WebAppFtpAllowed", "WebAppScmAllowed"):
        assert any_stack.one(WEB + policy).inputs["allow"] is False


def test_key_vault_uses_rbac_with_purge_protection(any_stack: BuiltStack) -> None:
    properties = any_stack.one(KV + "Vault").inputs["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enablePurgeProtection"] is True
    assert properties["enableSoftDelete"] is True
    assert "accessPolicies" not in properties


def test_app_insights_accepts_only_entra_telemetry(any_stack: BuiltStack) -> None:
    assert any_stack.one("azure-native:applicationinsights:Component").inputs["disableLocalAuth"] is True
    assert any_stack.app_settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"


# --- Managed identity everywhere --------------------------------------------------------------


def test_system_assigned_identities_and_one_key_vault_reader(any_stack: BuiltStack) -> None:
    reader = any_stack.one("azure-native:managedidentity:UserAssignedIdentity")
    site = any_stack.one(WEB + "WebApp").inputs
    assert site["identity"] == {"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": [reader.id]}
    assert site["keyVaultReferenceIdentity"] == reader.id  # the only use of the user-assigned identity
    assert any_stack.one(EH + "Namespace").inputs["identity"] == {"type": "SystemAssigned"}
    deployment = any_stack.one(WEB + "WebApp").inputs["functionAppConfig"]["deployment"]["storage"]
    assert deployment["authentication"] == {"type": "SystemAssignedIdentity"}


def test_every_connection_uses_the_managed_identity(any_stack: BuiltStack) -> None:
    settings = any_stack.app_settings
    for prefix in ("AzureWebJobsStorage", "EVENTHUB", "COSMOS"):
        assert settings[f"{prefix}__credential"] == "managedidentity"
        assert f"{prefix}__clientId" not in settings


# --- Least privilege --------------------------------------------------------------------------


def expected_grants(stack: BuiltStack) -> dict[str, tuple[str, str, str, str]]:
    """Assignment -> (role, scope, principal, principal type)."""
    app = principal_of(stack.one(WEB + "WebApp").inputs["name"])
    namespace = stack.one(EH + "Namespace")
    raw = stack.one(STORAGE + "StorageAccount", "raw-zone-account").id
    grants = {
        "app-reads-event-hubs": (EVENT_HUBS_DATA_RECEIVER, namespace.id, app, "ServicePrincipal"),
        "app-owns-host-storage": (
            STORAGE_BLOB_DATA_OWNER,
            stack.one(STORAGE + "StorageAccount", "function-host-storage").id,
            app,
            "ServicePrincipal",
        ),
        "app-writes-host-diagnostic-events": (
            STORAGE_TABLE_DATA_CONTRIBUTOR,
            stack.one(STORAGE + "StorageAccount", "function-host-storage").id,
            app,
            "ServicePrincipal",
        ),
        "key-vault-reader-reads-secrets": (
            KEY_VAULT_SECRETS_USER,
            stack.one(KV + "Vault").id,
            principal_of(stack.one("azure-native:managedidentity:UserAssignedIdentity").inputs["resourceName"]),
            "ServicePrincipal",
        ),
        "app-publishes-telemetry": (
            MONITORING_METRICS_PUBLISHER,
            stack.one("azure-native:applicationinsights:Component").id,
            app,
            "ServicePrincipal",
        ),
        "app-wraps-dead-letter-keys": (
            KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
            f"{stack.one(KV + 'Vault').id}/keys/dead-letters",
            app,
            "ServicePrincipal",
        ),
        "app-reads-raw-zone": (
            STORAGE_BLOB_DATA_READER,
            f"{raw}/blobServices/default/containers/{CAPTURE_CONTAINER}",
            app,
            "ServicePrincipal",
        ),
        "capture-writes-raw-zone": (
            STORAGE_BLOB_DATA_CONTRIBUTOR,
            f"{raw}/blobServices/default/containers/{CAPTURE_CONTAINER}",
            principal_of(namespace.inputs["namespaceName"]),
            "ServicePrincipal",
        ),
    }
    if "producerPrincipalId" in stack.config:
        grants["producer-sends-events"] = (
            EVENT_HUBS_DATA_SENDER,
            namespace.id,
            stack.config["producerPrincipalId"],
            stack.config.get("producerPrincipalType", "ServicePrincipal"),
        )
    return grants


def test_role_assignments_are_exactly_the_least_privilege_set(any_stack: BuiltStack) -> None:
    actual = {
        assignment.name: (
            assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1],
            assignment.inputs["scope"],
            assignment.inputs["principalId"],
            assignment.inputs["principalType"],
        )
        for assignment in any_stack.of_type(ROLE_ASSIGNMENT)
    }
    assert actual == expected_grants(any_stack)


def test_role_definitions_are_built_in_roles_of_the_subscription(any_stack: BuiltStack) -> None:
    for assignment in any_stack.of_type(ROLE_ASSIGNMENT):
        assert re.fullmatch(
            rf"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft\.Authorization/roleDefinitions/[0-9a-f-]{{36}}",
            assignment.inputs["roleDefinitionId"],
        )
        assert assignment.inputs["description"].startswith("Retail Pulse: ")


def test_no_grant_on_a_resource_group_or_subscription(any_stack: BuiltStack) -> None:
    broad = re.compile(r"^/subscriptions/[^/]+(/resourceGroups/[^/]+)?/?$")
    assert not [a.name for a in any_stack.of_type(ROLE_ASSIGNMENT) if broad.match(a.inputs["scope"])]


def test_assignment_names_are_stable_and_distinct(any_stack: BuiltStack, dev_stack: BuiltStack) -> None:
    names = [a.inputs["roleAssignmentName"] for a in any_stack.of_type(ROLE_ASSIGNMENT)]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[0-9a-f-]{36}", name) for name in names)


def test_cosmos_data_contributor_is_scoped_to_the_database(any_stack: BuiltStack) -> None:
    account = any_stack.one(COSMOS + "DatabaseAccount")
    assignment = any_stack.one(COSMOS + "SqlResourceSqlRoleAssignment").inputs
    assert assignment["scope"] == f"{account.id}/dbs/{COSMOS_DATABASE}"
    assert assignment["roleDefinitionId"] == f"{account.id}/sqlRoleDefinitions/{COSMOS_DATA_CONTRIBUTOR}"
    assert assignment["principalId"] == principal_of(any_stack.one(WEB + "WebApp").inputs["name"])
    assert assignment["accountName"] == account.inputs["accountName"]


@pytest.mark.parametrize("resource_type", [EH + "EventHub", EH + "ConsumerGroup"])
def test_capture_and_consumers_need_no_key_either(any_stack: BuiltStack, resource_type: str) -> None:
    for resource in any_stack.of_type(resource_type):
        for text in plain_strings(dict(resource.raw_inputs)):
            assert key_material(text) == []
