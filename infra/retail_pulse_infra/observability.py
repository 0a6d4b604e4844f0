"""Monitoring, part one: the Log Analytics workspace and workspace-based Application Insights.

Created first because the Function App needs the App Insights connection string;
the alerts and diagnostic settings come last (see ``guardrails.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from .placement import Placement

__all__ = ["Observability", "ObservabilityArgs"]


@dataclass(frozen=True)
class ObservabilityArgs:
    placement: Placement
    log_retention_days: int


class Observability(pulumi.ComponentResource):
    """Log Analytics + Application Insights (Entra-only ingestion)."""

    workspace: operationalinsights.Workspace
    app_insights: applicationinsights.Component

    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:Observability", name, None, opts)
        place = args.placement
        self.workspace = operationalinsights.Workspace(
            "log-analytics",
            workspace_name=place.naming.local("log"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=args.log_retention_days,
            tags=place.tags,
            opts=place.child(self),
        )
        self.app_insights = applicationinsights.Component(
            "app-insights",
            resource_name_=place.naming.local("appi"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=self.workspace.id,
            # Telemetry is accepted only with an Entra token (the app's identity), so the
            # instrumentation key in the connection string grants nothing on its own.
            disable_local_auth=True,
            tags=place.tags,
            opts=place.child(self),
        )
        self.register_outputs({"workspace_id": self.workspace.id, "app_insights_id": self.app_insights.id})
