"""Cosmos DB for NoSQL: the account, the database and the engine's containers.

Local (key) authentication is off, so the account is reachable only with Entra ID
and data-plane RBAC; key-based metadata writes are off too. Continuous backup
gives point-in-time restore. Capacity is serverless (pay per RU, the right default
for spiky dev and small shops) or shared autoscale throughput on the database.
Containers, partition keys and TTLs come from ``shared.topology``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import cosmosdb

from shared.topology import CONTAINERS, COSMOS_DATABASE

from .indexing import indexing_policy
from .placement import Placement

__all__ = ["CosmosData", "CosmosDataArgs"]


@dataclass(frozen=True)
class CosmosDataArgs:
    placement: Placement
    capacity_mode: Literal["serverless", "autoscale"]
    autoscale_max_ru: int | None
    backup_tier: Literal["Continuous7Days", "Continuous30Days"]
    zone_redundant: bool


class CosmosData(pulumi.ComponentResource):
    """Account, database and containers."""

    account: cosmosdb.DatabaseAccount
    database: cosmosdb.SqlResourceSqlDatabase
    containers: dict[str, cosmosdb.SqlResourceSqlContainer]
    database_scope: pulumi.Output[str]
    """Scope of data-plane role assignments limited to the database."""

    def __init__(self, name: str, args: CosmosDataArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:CosmosData", name, None, opts)
        place = args.placement
        serverless = args.capacity_mode == "serverless"
        self.account = cosmosdb.DatabaseAccount(
            "cosmos-account",
            account_name=place.naming.global_("cosmos"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            kind=cosmosdb.DatabaseAccountKind.GLOBAL_DOCUMENT_DB,
            database_account_offer_type=cosmosdb.DatabaseAccountOfferType.STANDARD,
            locations=[
                cosmosdb.LocationArgs(
                    location_name=place.location, failover_priority=0, is_zone_redundant=args.zone_redundant
                )
            ],
            capabilities=[cosmosdb.CapabilityArgs(name="EnableServerless")] if serverless else [],
            consistency_policy=cosmosdb.ConsistencyPolicyArgs(
                default_consistency_level=cosmosdb.DefaultConsistencyLevel.SESSION
            ),
            backup_policy=cosmosdb.ContinuousModeBackupPolicyArgs(
                type="Continuous",
                continuous_mode_properties=cosmosdb.ContinuousModePropertiesArgs(tier=args.backup_tier),
            ),
            disable_local_auth=True,
            disable_key_based_metadata_write_access=True,
            minimal_tls_version=cosmosdb.MinimalTlsVersion.TLS12,
            public_network_access="Enabled",
            enable_free_tier=False,
            tags=place.tags,
            opts=place.child(self, holds_data=True),
        )
        self.database = cosmosdb.SqlResourceSqlDatabase(
            "cosmos-database",
            database_name=COSMOS_DATABASE,
            account_name=self.account.name,
            resource_group_name=place.resource_group_name,
            resource=cosmosdb.SqlDatabaseResourceArgs(id=COSMOS_DATABASE),
            options=(
                None
                if serverless
                else cosmosdb.CreateUpdateOptionsArgs(
                    autoscale_settings=cosmosdb.AutoscaleSettingsArgs(max_throughput=args.autoscale_max_ru)
                )
            ),
            tags=place.tags,
            opts=place.child(self, holds_data=True),
        )
        self.containers = {
            spec.name: cosmosdb.SqlResourceSqlContainer(
                f"cosmos-container-{spec.name}",
                container_name=spec.name,
                database_name=self.database.name,
                account_name=self.account.name,
                resource_group_name=place.resource_group_name,
                resource=cosmosdb.SqlContainerResourceArgs(
                    id=spec.name,
                    partition_key=cosmosdb.ContainerPartitionKeyArgs(
                        paths=[spec.partition_key_path], kind=cosmosdb.PartitionKind.HASH, version=2
                    ),
                    default_ttl=spec.default_ttl_seconds,
                    indexing_policy=indexing_policy(spec.name),
                ),
                tags=place.tags,
                opts=place.child(self, holds_data=True),
            )
            for spec in CONTAINERS.values()
        }
        self.database_scope = pulumi.Output.concat(self.account.id, "/dbs/", self.database.name)
        self.register_outputs({"endpoint": self.account.document_endpoint})
