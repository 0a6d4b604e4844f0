"""The key-encryption key of dead letters: an RSA key in the vault that only the app may use.

Dead-letter bodies are sealed with AES-GCM data keys that this key wraps
(``shared.pipeline.sealing``, ``shared.stores.key_vault_keys``): wrap and unwrap
run inside Key Vault, the private key never leaves it. The app's identity holds
``Key Vault Crypto Service Encryption User`` on this key alone (read the key,
wrap, unwrap; no sign, no decrypt of anything else, no other key); no other
principal gets a data-plane role on it, so an operator with Cosmos DB read sees
only ciphertext. The key rotates yearly; old versions stay enabled, so letters
sealed under them (kept 30 days) still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pulumi
from pulumi_azure_native import authorization, keyvault

from .placement import Placement
from .roles import KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER, Grant, assign_role

__all__ = ["DEAD_LETTER_KEY_NAME", "DeadLetterKey", "DeadLetterKeyArgs"]

DEAD_LETTER_KEY_NAME: Final = "dead-letters"
KEY_SIZE: Final = 3072


@dataclass(frozen=True)
class DeadLetterKeyArgs:
    placement: Placement
    vault_name: pulumi.Input[str]
    vault_id: pulumi.Input[str]


class DeadLetterKey(pulumi.ComponentResource):
    """The RSA key; `grant_app` gives the app's identity wrap/unwrap on it (call once the app exists)."""

    key: keyvault.Key
    key_id: pulumi.Output[str]
    """Versionless key URI: the app setting ``DEAD_LETTER_KEY_ID``."""
    scope: pulumi.Output[str]

    def __init__(self, name: str, args: DeadLetterKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:DeadLetterKey", name, None, opts)
        self._placement = args.placement
        self.key = keyvault.Key(
            "dead-letter-key",
            key_name=DEAD_LETTER_KEY_NAME,
            vault_name=args.vault_name,
            resource_group_name=args.placement.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=KEY_SIZE,
                key_ops=[keyvault.JsonWebKeyOperation.WRAP_KEY, keyvault.JsonWebKeyOperation.UNWRAP_KEY],
                attributes=keyvault.KeyAttributesArgs(enabled=True, exportable=False),
                rotation_policy=keyvault.RotationPolicyArgs(
                    lifetime_actions=[
                        keyvault.LifetimeActionArgs(
                            action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                            trigger=keyvault.TriggerArgs(time_after_create="P365D"),
                        )
                    ],
                ),
            ),
            tags=args.placement.tags,
            opts=args.placement.child(self, holds_data=True),
        )
        self.key_id = self.key.key_uri
        self.scope = pulumi.Output.concat(args.vault_id, "/keys/", DEAD_LETTER_KEY_NAME)
        self.register_outputs({"key_id": self.key_id})

    def grant_app(
        self, app_principal_id: pulumi.Input[str], subscription_id: pulumi.Input[str]
    ) -> authorization.RoleAssignment:
        """The app's identity may wrap and unwrap with this key, and nothing more."""
        grant = Grant(
            "app-wraps-dead-letter-keys",
            KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER,
            self.scope,
            app_principal_id,
            "dead-letter data keys are wrapped and unwrapped with this key (replay opens sealed bodies)",
        )
        return assign_role(grant, subscription_id=subscription_id, opts=self._placement.child(self))
