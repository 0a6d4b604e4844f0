"""Monitoring, part two: diagnostic settings, the action group and the guardrail alerts.

- function-failures: App Insights ``requests/failed`` (one request per invocation)
  above ``alertFunctionFailures`` in 5 minutes.
- eventhubs-backlog: log query, IncomingMessages minus OutgoingMessages of the
  namespace above ``alertBacklogEvents`` over 15 minutes.
- cosmos-throttling: Cosmos ``TotalRequests`` with ``StatusCode`` 429 above
  ``alertCosmosThrottledRequests`` in 5 minutes.
- cosmos-normalized-ru: Cosmos ``NormalizedRUConsumption`` (max over partitions)
  above ``alertNormalizedRuPercent`` % for 15 minutes.
- capture-failures: Event Hubs ``CaptureBacklog`` (events not yet captured) above
  ``alertCaptureBacklog`` for 15 minutes.
- product-alerts: the product's own alerts (``slas.toml``) delivered to a ``log``
  receiver are ``pulse-alert {json}`` trace lines in Application Insights; this log
  alert turns each 5 minutes with new firing / no-data / error messages into the
  action group's email (docs/alerts.md).

Metric alerts cannot subtract two metrics, so the backlog alert is a log alert over
the namespace's metrics in Log Analytics (exported by its diagnostic setting).

The Function App has no diagnostic setting: Flex Consumption does not support
them (Microsoft's Flex Consumption considerations); its logs and traces reach
Log Analytics through the workspace-based Application Insights instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from .placement import Placement

__all__ = ["BACKLOG_QUERY", "PRODUCT_ALERTS_QUERY", "Guardrails", "GuardrailsArgs", "LogAlertSpec", "MetricAlertSpec"]

BACKLOG_QUERY = """AzureMetrics
| where MetricName in ("IncomingMessages", "OutgoingMessages")
| summarize Incoming = sumif(Total, MetricName == "IncomingMessages"),
            Outgoing = sumif(Total, MetricName == "OutgoingMessages")
| extend Backlog = Incoming - Outgoing"""


PRODUCT_ALERTS_QUERY = """traces
| where message startswith "pulse-alert "
| extend alert = parse_json(substring(message, 12))
| where tostring(alert.state) in ("firing", "no_data", "error")
| summarize Alerts = count() by Rule = tostring(alert.rule), Severity = tostring(alert.severity)"""


@dataclass(frozen=True)
class MetricAlertSpec:
    """One static-threshold metric alert on one resource."""

    name: str
    description: str
    scope: pulumi.Input[str]
    metric_namespace: str
    metric_name: str
    aggregation: str
    threshold: float
    window: str = "PT5M"
    severity: int = 2
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class LogAlertSpec:
    """One log-search alert (a KQL query whose `measure` column is compared with `threshold`)."""

    name: str
    description: str
    scope: pulumi.Input[str]
    query: str
    measure: str
    threshold: float
    window: str = "PT5M"
    severity: int = 2
    dimensions: tuple[str, ...] = ()
    auto_mitigate: bool = True


@dataclass(frozen=True)
class GuardrailsArgs:
    placement: Placement
    workspace_id: pulumi.Input[str]
    alert_emails: Sequence[str]
    alert_webhook_url: pulumi.Input[str] | None
    eventhub_namespace_id: pulumi.Input[str]
    cosmos_account_id: pulumi.Input[str]
    key_vault_id: pulumi.Input[str]
    app_insights_id: pulumi.Input[str]
    function_failures: int
    backlog_events: int
    cosmos_throttled_requests: int
    normalized_ru_percent: int
    capture_backlog: int


def _logs(*categories: str, group: str | None = None) -> list[monitor.DiagnosticsLogSettingsArgs]:
    if group is not None:
        return [monitor.DiagnosticsLogSettingsArgs(category_group=group, enabled=True)]
    return [monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in categories]


def _metrics(category: str = "AllMetrics") -> list[monitor.DiagnosticsMetricSettingsArgs]:
    return [monitor.DiagnosticsMetricSettingsArgs(category=category, enabled=True)]


class Guardrails(pulumi.ComponentResource):
    """Diagnostic settings to Log Analytics, an action group and the alerts above."""

    action_group: monitor.ActionGroup
    metric_alerts: dict[str, monitor.MetricAlert]
    backlog_alert: monitor.ScheduledQueryRule

    def __init__(self, name: str, args: GuardrailsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:Guardrails", name, None, opts)
        place = args.placement
        self._diagnostics(args)
        self.action_group = monitor.ActionGroup(
            "action-group",
            action_group_name=place.naming.local("ag"),
            resource_group_name=place.resource_group_name,
            location="Global",
            group_short_name=f"pulse{place.naming.environment}"[:12],
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{index}", email_address=address, use_common_alert_schema=True
                )
                for index, address in enumerate(args.alert_emails)
            ],
            webhook_receivers=(
                [
                    monitor.WebhookReceiverArgs(
                        name="webhook",
                        service_uri=pulumi.Output.secret(args.alert_webhook_url),
                        use_common_alert_schema=True,
                    )
                ]
                if args.alert_webhook_url is not None
                else []
            ),
            tags=place.tags,
            opts=place.child(self),
        )
        self.metric_alerts = {spec.name: self._metric_alert(spec, place) for spec in self._metric_alert_specs(args)}
        self.backlog_alert = self._log_alert(
            LogAlertSpec(
                "eventhubs-backlog",
                "Consumers fall behind: events in minus events out of the namespace over 15 minutes.",
                args.eventhub_namespace_id,
                BACKLOG_QUERY,
                "Backlog",
                args.backlog_events,
                window="PT15M",
            ),
            place,
        )
        self.product_alerts = self._log_alert(
            LogAlertSpec(
                "product-alerts",
                "Retail Pulse's own alerts (slas.toml, log receiver) by email through the action group.",
                args.app_insights_id,
                PRODUCT_ALERTS_QUERY,
                "Alerts",
                0,
                severity=1,
                dimensions=("Rule", "Severity"),
                auto_mitigate=False,  # each message is news; resolutions arrive as their own messages
            ),
            place,
        )
        self.register_outputs({"action_group_id": self.action_group.id})

    def _log_alert(self, spec: LogAlertSpec, place: Placement) -> monitor.ScheduledQueryRule:
        return monitor.ScheduledQueryRule(
            f"alert-{spec.name}",
            rule_name=place.naming.local("alert") + f"-{spec.name}",
            resource_group_name=place.resource_group_name,
            location=place.location,
            kind=monitor.Kind.LOG_ALERT,
            description=spec.description,
            scopes=[spec.scope],
            severity=spec.severity,
            enabled=True,
            evaluation_frequency="PT5M",
            window_size=spec.window,
            criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                all_of=[
                    monitor.ConditionArgs(
                        query=spec.query,
                        time_aggregation=monitor.TimeAggregation.TOTAL,
                        metric_measure_column=spec.measure,
                        dimensions=[
                            monitor.DimensionArgs(name=name, operator=monitor.DimensionOperator.INCLUDE, values=["*"])
                            for name in spec.dimensions
                        ]
                        or None,
                        operator=monitor.ConditionOperator.GREATER_THAN,
                        threshold=spec.threshold,
                        failing_periods=monitor.ConditionFailingPeriodsArgs(
                            number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                        ),
                    )
                ]
            ),
            actions=monitor.ActionsArgs(action_groups=[self.action_group.id]),
            auto_mitigate=spec.auto_mitigate,
            tags=place.tags,
            opts=place.child(self),
        )

    def _diagnostics(self, args: GuardrailsArgs) -> None:
        targets = {
            # Event Hubs metrics must reach Log Analytics: the backlog alert queries them there.
            "eventhubs": (args.eventhub_namespace_id, _logs(group="allLogs"), _metrics(), None),
            # Not DataPlaneRequests: one log row per request would cost more than the database.
            "cosmos": (
                args.cosmos_account_id,
                _logs("ControlPlaneRequests", "PartitionKeyRUConsumption", "PartitionKeyStatistics"),
                _metrics("Requests"),
                "Dedicated",
            ),
            "key-vault": (args.key_vault_id, _logs(group="audit"), _metrics(), None),
        }
        for target, (resource_uri, logs, metrics, destination_type) in targets.items():
            monitor.DiagnosticSetting(
                f"diagnostics-{target}",
                name="to-log-analytics",
                resource_uri=resource_uri,
                workspace_id=args.workspace_id,
                logs=logs,
                metrics=metrics,
                log_analytics_destination_type=destination_type,
                opts=args.placement.child(self),
            )

    @staticmethod
    def _metric_alert_specs(args: GuardrailsArgs) -> list[MetricAlertSpec]:
        cosmos, eventhubs = "Microsoft.DocumentDB/databaseAccounts", "Microsoft.EventHub/namespaces"
        return [
            MetricAlertSpec(
                "function-failures",
                "Function executions fail (exceptions or retries exhausted).",
                args.app_insights_id,
                "microsoft.insights/components",
                "requests/failed",
                "Count",
                args.function_failures,
                severity=1,
            ),
            MetricAlertSpec(
                "cosmos-throttling",
                "Cosmos DB answers 429: writes are throttled and retried.",
                args.cosmos_account_id,
                cosmos,
                "TotalRequests",
                "Count",
                args.cosmos_throttled_requests,
                dimensions=(("StatusCode", ("429",)),),
            ),
            MetricAlertSpec(
                "cosmos-normalized-ru",
                "A Cosmos DB partition runs close to its RU/s limit.",
                args.cosmos_account_id,
                cosmos,
                "NormalizedRUConsumption",
                "Maximum",
                args.normalized_ru_percent,
                window="PT15M",
            ),
            MetricAlertSpec(
                "capture-failures",
                "Event Hubs Capture falls behind or fails to write the raw zone.",
                args.eventhub_namespace_id,
                eventhubs,
                "CaptureBacklog",
                "Total",
                args.capture_backlog,
                window="PT15M",
                severity=1,
            ),
        ]

    def _metric_alert(self, spec: MetricAlertSpec, place: Placement) -> monitor.MetricAlert:
        return monitor.MetricAlert(
            f"alert-{spec.name}",
            rule_name=f"{place.naming.local('alert')}-{spec.name}",
            resource_group_name=place.resource_group_name,
            location="global",
            description=spec.description,
            scopes=[spec.scope],
            severity=spec.severity,
            enabled=True,
            evaluation_frequency="PT1M" if spec.window == "PT5M" else "PT5M",
            window_size=spec.window,
            auto_mitigate=True,
            criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                odata_type="Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
                all_of=[
                    monitor.MetricCriteriaArgs(
                        criterion_type="StaticThresholdCriterion",
                        name=spec.name,
                        metric_namespace=spec.metric_namespace,
                        metric_name=spec.metric_name,
                        time_aggregation=spec.aggregation,
                        operator=monitor.Operator.GREATER_THAN,
                        threshold=spec.threshold,
                        dimensions=[
                            monitor.MetricDimensionArgs(name=dimension, operator="Include", values=list(values))
                            for dimension, values in spec.dimensions
                        ],
                    )
                ],
            ),
            actions=[monitor.MetricAlertActionArgs(action_group_id=self.action_group.id)],
            tags=place.tags,
            opts=place.child(self),
        )
