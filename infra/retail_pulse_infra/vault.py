"""Identity and security, part one: the Key Vault, the application secrets, and the identity that reads them.

The vault authorises with Azure RBAC (no access policies) and has purge
protection, so a deleted secret or vault can be recovered for the retention
period and never purged early. Secret values come from encrypted stack config
and stay secret in the Pulumi state; the app reads them through Key Vault
references, never as plain app settings.

The references are resolved by a user-assigned identity (`reader`), created and
granted Key Vault Secrets User here, before the Function App exists; the site names
it as ``keyVaultReferenceIdentity`` and depends on the grant. With the site's own
system-assigned identity, the grant could only follow the site, and App Service
would cache the failed resolution (it re-resolves every 24 hours, on a
configuration change, or through the refresh API), so a first deploy would start
with unresolved secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault, managedidentity

from .placement import Placement
from .roles import KEY_VAULT_SECRETS_USER, Grant, assign_role

__all__ = ["SecretVault", "SecretVaultArgs", "key_vault_reference"]


def key_vault_reference(secret_uri: pulumi.Input[str]) -> pulumi.Output[str]:
    """App Service Key Vault reference to the *current* version (so rotation needs no deploy)."""
    return pulumi.Output.concat("@Microsoft.KeyVault(SecretUri=", secret_uri, ")")


@dataclass(frozen=True)
class SecretVaultArgs:
    placement: Placement
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    retention_days: int
    secrets: Mapping[str, pulumi.Input[str]]
    """Key Vault secret name -> value (pass values wrapped with ``pulumi.Output.secret``)."""


class SecretVault(pulumi.ComponentResource):
    """Key Vault in RBAC mode with purge protection, holding the app's secrets."""

    vault: keyvault.Vault
    secret_uris: dict[str, pulumi.Output[str]]
    """Secret name -> versionless secret URI."""
    reader: managedidentity.UserAssignedIdentity
    """The identity that resolves the app's Key Vault references."""
    reader_grant: authorization.RoleAssignment
    """Key Vault Secrets User for `reader` on the vault: the site must depend on it."""

    def __init__(self, name: str, args: SecretVaultArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:SecretVault", name, None, opts)
        place = args.placement
        self.vault = keyvault.Vault(
            "key-vault",
            vault_name=place.naming.global_("kv"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.retention_days,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                # Flex Consumption without a VNet reaches the vault over its public endpoint.
                public_network_access="Enabled",
                network_acls=keyvault.NetworkRuleSetArgs(bypass="AzureServices", default_action="Allow"),
            ),
            tags=place.tags,
            opts=place.child(self, holds_data=True),
        )
        self.secret_uris = {}
        for secret_name, value in args.secrets.items():
            secret = keyvault.Secret(
                f"secret-{secret_name}",
                secret_name=secret_name,
                vault_name=self.vault.name,
                resource_group_name=place.resource_group_name,
                properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value), content_type="text/plain"),
                tags=place.tags,
                opts=place.child(self),
            )
            self.secret_uris[secret_name] = secret.properties.secret_uri
        self.reader = managedidentity.UserAssignedIdentity(
            "key-vault-reader",
            resource_name_=place.naming.local("id-kvref"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            tags=place.tags,
            opts=place.child(self),
        )
        self.reader_grant = assign_role(
            Grant(
                "key-vault-reader-reads-secrets",
                KEY_VAULT_SECRETS_USER,
                self.vault.id,
                self.reader.principal_id,
                "the Function App's Key Vault references resolve with this identity",
            ),
            subscription_id=args.subscription_id,
            opts=place.child(self),
        )
        self.register_outputs({"vault_uri": self.vault.properties.vault_uri, "reader_id": self.reader.id})
