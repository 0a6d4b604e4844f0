"""Who may reach the app and who may unwrap dead-letter keys, as the Pulumi program declares it (mocks)."""

from __future__ import annotations

import json

import pytest
from infra_harness import ENTRA_CLIENT_ID, TENANT_ID, BuiltStack, build, example_config, principal_of
from retail_pulse_infra.roles import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, KEY_VAULT_SECRETS_USER

from shared.topology import DEAD_LETTER_KEY_SETTING, SCOPE_MAP_SETTING
from tests.functions.indexed import FUNCTIONS

WEB, KV = "azure-native:web:", "azure-native:keyvault:"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
KEY_VAULT_CRYPTO_ROLES = {
    KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
    "12338af0-0e69-4776-bea7-57ae8d297424",  # Key Vault Crypto User
    "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",  # Key Vault Crypto Officer
    "00482a5a-887f-4fb3-b363-3b7fe8e74483",  # Key Vault Administrator
}


def test_authentication_is_required_on_the_site_with_entra_id(any_stack: BuiltStack) -> None:
    site = any_stack.one(WEB + "WebApp").inputs
    auth = any_stack.one(WEB + "WebAppAuthSettingsV2").inputs
    assert auth["name"] == site["name"]
    assert auth["platform"]["enabled"] is True
    validation = auth["globalValidation"]
    assert validation["requireAuthentication"] is True
    assert validation["unauthenticatedClientAction"] == "RedirectToLoginPage"
    assert validation["redirectToProvider"] == "azureactivedirectory"
    entra = auth["identityProviders"]["azureActiveDirectory"]
    assert entra["enabled"] is True
    assert entra["registration"] == {
        "clientId": ENTRA_CLIENT_ID,
        "openIdIssuer": f"https://login.microsoftonline.com/{TENANT_ID}/v2.0",
    }  # no client secret setting: nothing to leak or rotate
    assert entra["validation"]["allowedAudiences"] == [f"api://{ENTRA_CLIENT_ID}", ENTRA_CLIENT_ID]
    assert set(auth["identityProviders"]) == {"azureActiveDirectory"}
    assert auth["httpSettings"]["requireHttps"] is True


def test_no_data_route_is_anonymous(any_stack: BuiltStack) -> None:
    excluded = any_stack.one(WEB + "WebAppAuthSettingsV2").inputs["globalValidation"]["excludedPaths"]
    assert excluded == ["/api/health"]
    http_routes = {}
    for name, function in FUNCTIONS.items():
        trigger = next(b for b in map(json.loads, function.get_raw_bindings()) if b["direction"] == "IN")
        if trigger["type"] == "httpTrigger":
            http_routes[name] = "/api/" + trigger["route"].split("{")[0].rstrip("/")
    reachable_anonymously = {name for name, path in http_routes.items() if any(path.startswith(p) for p in excluded)}
    assert reachable_anonymously == {"health"}
    assert {"kpis", "snapshot", "live_page", "dlq_list", "dlq_replay"} <= set(http_routes)


def test_the_dead_letter_key_is_an_rsa_wrapping_key_that_rotates(any_stack: BuiltStack) -> None:
    key = any_stack.one(KV + "Key").inputs
    vault = any_stack.one(KV + "Vault").inputs["vaultName"]
    assert key["vaultName"] == vault and key["keyName"] == "dead-letters"
    properties = key["properties"]
    assert (properties["kty"], properties["keySize"]) == ("RSA", 3072)
    assert sorted(properties["keyOps"]) == ["unwrapKey", "wrapKey"]  # no encrypt/decrypt/sign
    assert properties["attributes"] == {"enabled": True, "exportable": False}
    (rotation,) = properties["rotationPolicy"]["lifetimeActions"]
    assert rotation == {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P365D"}}
    assert any_stack.app_settings[DEAD_LETTER_KEY_SETTING] == f"https://{vault}.vault.azure.net/keys/dead-letters"


def test_only_the_app_identity_may_unwrap_and_only_on_that_key(any_stack: BuiltStack) -> None:
    vault_id = any_stack.one(KV + "Vault").id
    app_principal = principal_of(any_stack.one(WEB + "WebApp").inputs["name"])
    crypto = [
        a.inputs for a in any_stack.of_type(ROLE_ASSIGNMENT)
        if a.inputs["roleDefinitionId"].rsplit("/", 1)[-1] in KEY_VAULT_CRYPTO_ROLES
    ]  # fmt: skip
    assert [(a["principalId"], a["scope"]) for a in crypto] == [(app_principal, f"{vault_id}/keys/dead-letters")]
    assert crypto[0]["roleDefinitionId"].endswith(KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER)
    on_vault = [a.inputs for a in any_stack.of_type(ROLE_ASSIGNMENT) if a.inputs["scope"].startswith(vault_id)]
    # Besides the app, only the user-assigned reference reader holds a role on the vault: Secrets User, no key role.
    others = [a for a in on_vault if a["principalId"] != app_principal]
    assert [a["roleDefinitionId"].rsplit("/", 1)[-1] for a in others] == [KEY_VAULT_SECRETS_USER]
    assert all(a["principalType"] == "ServicePrincipal" for a in on_vault)  # no person holds a data-plane role


def test_the_scope_map_reaches_the_app_as_compact_json() -> None:
    groups = {"4f0c0000-0000-4000-8000-000000000001": {"stores": ["DE013"]}}
    built = build(example_config("dev") | {"scopeMap": json.dumps(groups)}, stack="dev")
    assert json.loads(built.app_settings[SCOPE_MAP_SETTING]) == groups


@pytest.mark.parametrize("bad", ['{"g": {"stores": "DE013"}}', '{"g": {"shops": ["DE013"]}}', "[1]"])
def test_a_malformed_scope_map_stops_the_deployment(bad: str) -> None:
    from retail_pulse_infra.config import SECRET_KEYS, ConfigError, parse_config

    with pytest.raises(ConfigError, match="scopeMap"):
        parse_config(example_config("dev") | {"scopeMap": bad}, secret_keys=SECRET_KEYS)
