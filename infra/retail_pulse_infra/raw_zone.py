"""The immutable raw zone: an ADLS Gen2 account that Event Hubs Capture writes Avro into.

Immutability is a container-level time-based retention (WORM) policy: for
``rawImmutabilityDays`` no captured blob can be overwritten or deleted, by anyone.
Blob versioning is not enabled because Azure does not support it on accounts with
a hierarchical namespace; the WORM policy is the stronger guarantee, and soft
delete covers the time after it. A lifecycle rule tiers captures to cool and,
if configured, deletes them. Only identities reach the data (shared keys off), the
firewall denies the internet, and Capture comes in as a trusted Azure service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from .placement import Placement

__all__ = ["CAPTURE_CONTAINER", "RawZone", "RawZoneArgs", "secure_storage_account"]

CAPTURE_CONTAINER = "capture"
_SOFT_DELETE_DAYS = 14


def secure_storage_account(
    logical_name: str,
    *,
    account_name: str,
    placement: Placement,
    redundancy: str,
    hierarchical_namespace: bool,
    network_rule_set: storage.NetworkRuleSetArgs | None,
    opts: pulumi.ResourceOptions,
) -> storage.StorageAccount:
    """A StorageV2 account reachable only with Entra ID over TLS 1.2, with no public blobs."""
    return storage.StorageAccount(
        logical_name,
        account_name=account_name,
        resource_group_name=placement.resource_group_name,
        location=placement.location,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=f"Standard_{redundancy}"),
        access_tier=storage.AccessTier.HOT,
        is_hns_enabled=hierarchical_namespace,
        allow_blob_public_access=False,
        allow_shared_key_access=False,
        default_to_o_auth_authentication=True,
        allow_cross_tenant_replication=False,
        enable_https_traffic_only=True,
        minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
        network_rule_set=network_rule_set,
        tags=placement.tags,
        opts=opts,
    )


@dataclass(frozen=True)
class RawZoneArgs:
    placement: Placement
    redundancy: str
    immutability_days: int
    cool_after_days: int
    delete_after_days: int | None
    allowed_ips: Sequence[str]


class RawZone(pulumi.ComponentResource):
    """ADLS Gen2 account + WORM capture container + lifecycle policy."""

    account: storage.StorageAccount
    container: storage.BlobContainer
    container_id: pulumi.Output[str]
    """ARM id of the capture container: the scope of Capture's write permission."""

    def __init__(self, name: str, args: RawZoneArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:RawZone", name, None, opts)
        place = args.placement
        self.account = secure_storage_account(
            "raw-zone-account",
            account_name=place.naming.storage("raw"),
            placement=place,
            redundancy=args.redundancy,
            hierarchical_namespace=True,
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,
                bypass=storage.Bypass.AZURE_SERVICES,
                ip_rules=[
                    storage.IPRuleArgs(i_p_address_or_range=ip, action=storage.Action.ALLOW) for ip in args.allowed_ips
                ],
            ),
            opts=place.child(self, holds_data=True),
        )
        blob_service = storage.BlobServiceProperties(
            "raw-zone-blob-service",
            account_name=self.account.name,
            resource_group_name=place.resource_group_name,
            blob_services_name="default",
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=_SOFT_DELETE_DAYS),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=_SOFT_DELETE_DAYS),
            opts=place.child(self),
        )
        self.container = storage.BlobContainer(
            "raw-zone-capture-container",
            container_name=CAPTURE_CONTAINER,
            account_name=self.account.name,
            resource_group_name=place.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=place.child(self, holds_data=True, depends_on=[blob_service]),
        )
        storage.BlobContainerImmutabilityPolicy(
            "raw-zone-worm-policy",
            account_name=self.account.name,
            container_name=self.container.name,
            resource_group_name=place.resource_group_name,
            immutability_period_since_creation_in_days=args.immutability_days,
            # Capture writes whole block blobs; nothing may append to a protected one.
            allow_protected_append_writes=False,
            opts=place.child(self),
        )
        base_blob = storage.ManagementPolicyBaseBlobArgs(
            tier_to_cool=storage.DateAfterModificationArgs(days_after_modification_greater_than=args.cool_after_days),
            delete=(
                storage.DateAfterModificationArgs(days_after_modification_greater_than=args.delete_after_days)
                if args.delete_after_days is not None
                else None
            ),
        )
        storage.ManagementPolicy(
            "raw-zone-lifecycle",
            account_name=self.account.name,
            resource_group_name=place.resource_group_name,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(
                rules=[
                    storage.ManagementPolicyRuleArgs(
                        name="capture-tiering",
                        type=storage.RuleType.LIFECYCLE,
                        enabled=True,
                        definition=storage.ManagementPolicyDefinitionArgs(
                            filters=storage.ManagementPolicyFilterArgs(
                                blob_types=["blockBlob"], prefix_match=[f"{CAPTURE_CONTAINER}/"]
                            ),
                            actions=storage.ManagementPolicyActionArgs(base_blob=base_blob),
                        ),
                    )
                ]
            ),
            opts=place.child(self),
        )
        self.container_id = pulumi.Output.concat(
            self.account.id, "/blobServices/default/containers/", self.container.name
        )
        self.register_outputs({"account_name": self.account.name, "container": self.container.name})
