"""Identity and security, part one: the Key Vault and the two application secrets.

The vault authorises with Azure RBAC (no access policies) and has purge
protection, so a deleted secret or vault can be recovered for the retention
period and never purged early. Secret values come from encrypted stack config
and stay secret in the Pulumi state; the app reads them through Key Vault
references, never as plain app settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from .placement import Placement

__all__ = ["SecretVault", "SecretVaultArgs", "key_vault_reference"]


def key_vault_reference(secret_uri: pulumi.Input[str]) -> pulumi.Output[str]:
    """App Service Key Vault reference to the *current* version (so rotation needs no deploy)."""
    return pulumi.Output.concat("@Microsoft.KeyVault(SecretUri=", secret_uri, ")")


@dataclass(frozen=True)
class SecretVaultArgs:
    placement: Placement
    tenant_id: pulumi.Input[str]
    retention_days: int
    secrets: Mapping[str, pulumi.Input[str]]
    """Key Vault secret name -> value (pass values wrapped with ``pulumi.Output.secret``)."""


class SecretVault(pulumi.ComponentResource):
    """Key Vault in RBAC mode with purge protection, holding the app's secrets."""

    vault: keyvault.Vault
    secret_uris: dict[str, pulumi.Output[str]]
    """Secret name -> versionless secret URI."""

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
        self.register_outputs({"vault_uri": self.vault.properties.vault_uri})
