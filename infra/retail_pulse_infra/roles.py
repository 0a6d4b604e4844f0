"""Built-in Azure roles the stack grants, and one way to grant them.

Every grant names one principal, one role and the narrowest scope that works;
assignment names are deterministic GUIDs (like Bicep's ``guid(scope, principal,
role)``), so a lost state file cannot create a duplicate.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

__all__ = [
    "COSMOS_DATA_CONTRIBUTOR",
    "EVENT_HUBS_DATA_RECEIVER",
    "EVENT_HUBS_DATA_SENDER",
    "KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER",
    "KEY_VAULT_SECRETS_USER",
    "MONITORING_METRICS_PUBLISHER",
    "STORAGE_BLOB_DATA_CONTRIBUTOR",
    "STORAGE_BLOB_DATA_OWNER",
    "STORAGE_BLOB_DATA_READER",
    "STORAGE_TABLE_DATA_CONTRIBUTOR",
    "Grant",
    "assign_role",
    "role_definition_id",
]

EVENT_HUBS_DATA_RECEIVER = "a638d3c7-ab3a-418d-83e6-5f17a39d4fde"
EVENT_HUBS_DATA_SENDER = "2b629674-e913-4c01-ae53-ef4638d8f975"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
STORAGE_TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
KEY_VAULT_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
"""Read a key, wrap and unwrap with it: nothing else (narrower than Key Vault Crypto User)."""
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"

COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
"""Cosmos DB Built-in Data Contributor: a data-plane SQL role, granted with a SQL role assignment."""

_NAMESPACE = uuid.UUID("6f1f3c5e-8d0a-4c43-9b7e-2f51a7c1d9a4")


def role_definition_id(subscription_id: pulumi.Input[str], role: str) -> pulumi.Output[str]:
    """Full ARM id of a built-in role definition."""
    return pulumi.Output.concat(
        "/subscriptions/", subscription_id, "/providers/Microsoft.Authorization/roleDefinitions/", role
    )


def deterministic_guid(*parts: pulumi.Input[str]) -> pulumi.Output[str]:
    """A GUID that depends only on `parts`."""
    return pulumi.Output.all(*parts).apply(lambda values: str(uuid.uuid5(_NAMESPACE, "|".join(values))))


@dataclass(frozen=True)
class Grant:
    """One role for one principal on one scope; `why` becomes the assignment's description."""

    name: str
    role: str
    scope: pulumi.Input[str]
    principal_id: pulumi.Input[str]
    why: str
    principal_type: str = "ServicePrincipal"


def assign_role(
    grant: Grant, *, subscription_id: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> authorization.RoleAssignment:
    """Create the Azure RBAC role assignment described by `grant`."""
    return authorization.RoleAssignment(
        grant.name,
        role_assignment_name=deterministic_guid(grant.scope, grant.principal_id, grant.role),
        role_definition_id=role_definition_id(subscription_id, grant.role),
        scope=grant.scope,
        principal_id=grant.principal_id,
        # Stating the type skips the directory lookup that fails for a just-created identity.
        principal_type=grant.principal_type,
        description=f"Retail Pulse: {grant.why}",
        opts=opts,
    )
