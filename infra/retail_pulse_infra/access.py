"""Identity and security, part two: every permission the app and the producers get.

Least privilege, each grant on the narrowest scope that works:

| principal | role | scope |
|---|---|---|
| Function App | Azure Event Hubs Data Receiver | the namespace (it reads every hub) |
| Function App | Cosmos DB Built-in Data Contributor (SQL role) | the database, not the account |
| Function App | Storage Blob Data Owner | the host storage account (checkpoints, leases, deployment package) |
| Function App | Key Vault Secrets User | the vault |
| Function App | Storage Blob Data Reader | the raw zone's capture container only (hourly reconciliation, replay) |
| Function App | Storage Table Data Contributor | the host storage account (the host's diagnostic events table) |
| Function App | Monitoring Metrics Publisher | the Application Insights component (Entra-only ingestion) |
| producer (config) | Azure Event Hubs Data Sender | the namespace |

(Capture's write access to the raw zone is granted next to Capture, in ``eventing.py``; Key Vault
Secrets User goes to the vault's reader identity, before the site exists, in ``vault.py``.)
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import cosmosdb

from .placement import Placement
from .roles import (
    COSMOS_DATA_CONTRIBUTOR,
    EVENT_HUBS_DATA_RECEIVER,
    EVENT_HUBS_DATA_SENDER,
    MONITORING_METRICS_PUBLISHER,
    STORAGE_BLOB_DATA_OWNER,
    STORAGE_BLOB_DATA_READER,
    STORAGE_TABLE_DATA_CONTRIBUTOR,
    Grant,
    assign_role,
    deterministic_guid,
)

__all__ = ["AccessGrants", "AccessGrantsArgs"]


@dataclass(frozen=True)
class AccessGrantsArgs:
    placement: Placement
    subscription_id: pulumi.Input[str]
    app_principal_id: pulumi.Input[str]
    eventhub_namespace_id: pulumi.Input[str]
    host_storage_id: pulumi.Input[str]
    capture_container_id: pulumi.Input[str]
    app_insights_id: pulumi.Input[str]
    cosmos_account_name: pulumi.Input[str]
    cosmos_account_id: pulumi.Input[str]
    cosmos_database_scope: pulumi.Input[str]
    producer_principal_id: str | None
    producer_principal_type: str


class AccessGrants(pulumi.ComponentResource):
    """Azure RBAC and Cosmos DB data-plane role assignments."""

    def __init__(self, name: str, args: AccessGrantsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:AccessGrants", name, None, opts)
        place = args.placement
        app = args.app_principal_id
        grants = [
            Grant(
                "app-reads-event-hubs",
                EVENT_HUBS_DATA_RECEIVER,
                args.eventhub_namespace_id,
                app,
                "the ingest functions read every hub of the namespace",
            ),
            Grant(
                "app-owns-host-storage",
                STORAGE_BLOB_DATA_OWNER,
                args.host_storage_id,
                app,
                "the Functions host keeps checkpoints, leases and the deployment package here",
            ),
            Grant(
                "app-writes-host-diagnostic-events",
                STORAGE_TABLE_DATA_CONTRIBUTOR,
                args.host_storage_id,
                app,
                "the Functions host writes its diagnostic events to a table of its storage",
            ),
            Grant(
                "app-reads-raw-zone",
                STORAGE_BLOB_DATA_READER,
                args.capture_container_id,
                app,
                "the hourly reconciliation and replays read Event Hubs Capture; nothing else of the raw zone",
            ),
            Grant(
                "app-publishes-telemetry",
                MONITORING_METRICS_PUBLISHER,
                args.app_insights_id,
                app,
                "Application Insights accepts only Entra-authenticated telemetry",
            ),
        ]
        if args.producer_principal_id is not None:
            grants.append(
                Grant(
                    "producer-sends-events",
                    EVENT_HUBS_DATA_SENDER,
                    args.eventhub_namespace_id,
                    args.producer_principal_id,
                    "producers send events to the hubs",
                    principal_type=args.producer_principal_type,
                )
            )
        self.role_assignments = [
            assign_role(grant, subscription_id=args.subscription_id, opts=place.child(self)) for grant in grants
        ]
        self.cosmos_data_contributor = cosmosdb.SqlResourceSqlRoleAssignment(
            "app-writes-cosmos-database",
            role_assignment_id=deterministic_guid(args.cosmos_database_scope, app, COSMOS_DATA_CONTRIBUTOR),
            account_name=args.cosmos_account_name,
            resource_group_name=place.resource_group_name,
            role_definition_id=pulumi.Output.concat(
                args.cosmos_account_id, "/sqlRoleDefinitions/", COSMOS_DATA_CONTRIBUTOR
            ),
            scope=args.cosmos_database_scope,
            principal_id=app,
            opts=place.child(self),
        )
        self.register_outputs({})
