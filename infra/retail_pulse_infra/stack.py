"""Wires the components in dependency order; the one place that knows them all.

Order: observability and the vault first (the app needs the App Insights
connection string, the secret URIs and the granted Key Vault reader identity), then the raw zone, Event Hubs and Cosmos
DB, then the Function App, and last the grants and guardrails, which need the
app's identity and every resource id.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import authorization, resources

from shared.topology import (
    CONSUMER_GROUP,
    COSMOS_DATABASE,
    LIVE_PAGE_ROUTE,
    PII_KEY_SETTING,
    POWERBI_PUSH_URL_SETTING,
    SOURCES,
)

from .access import AccessGrants, AccessGrantsArgs
from .app_settings import KEY_VAULT_SECRET_NAMES, app_settings
from .config import StackConfig
from .cosmos import CosmosData, CosmosDataArgs
from .dead_letter_key import DeadLetterKey, DeadLetterKeyArgs
from .eventing import Eventing, EventingArgs
from .function_app import FunctionApp, FunctionAppArgs
from .guardrails import Guardrails, GuardrailsArgs
from .naming import Naming, standard_tags
from .observability import Observability, ObservabilityArgs
from .placement import Placement
from .raw_zone import RawZone, RawZoneArgs
from .sign_in import SignIn, SignInArgs
from .vault import SecretVault, SecretVaultArgs

__all__ = ["build_stack"]


def build_stack(config: StackConfig) -> dict[str, Any]:
    """Declare every resource of one stack; returns the stack outputs by name."""
    naming = Naming.of(config)
    tags = standard_tags(config)
    client = authorization.get_client_config_output()
    group = resources.ResourceGroup(
        "resource-group",
        resource_group_name=naming.resource_group(),
        location=config.location,
        tags=tags,
        opts=pulumi.ResourceOptions(protect=config.protect_stateful_resources),
    )
    place = Placement(group.name, config.location, naming, tags, config.protect_stateful_resources)

    observability = Observability("observability", ObservabilityArgs(place, config.log_retention_days))
    secret_values = {
        KEY_VAULT_SECRET_NAMES[PII_KEY_SETTING]: pulumi.Output.secret(config.pii_hmac_key.get_secret_value()),
    }
    if config.power_bi_push_url is not None:  # optional: no push URL, no secret, no setting (outputs off)
        secret_values[KEY_VAULT_SECRET_NAMES[POWERBI_PUSH_URL_SETTING]] = pulumi.Output.secret(
            config.power_bi_push_url.get_secret_value()
        )
    vault = SecretVault(
        "secrets",
        SecretVaultArgs(
            place, client.tenant_id, client.subscription_id, config.key_vault_retention_days, secret_values
        ),
    )
    dead_letter_key = DeadLetterKey(
        "dead-letter-key", DeadLetterKeyArgs(place, vault_name=vault.vault.name, vault_id=vault.vault.id)
    )
    raw_zone = RawZone(
        "raw-zone",
        RawZoneArgs(
            place,
            redundancy=config.storage_redundancy,
            immutability_days=config.raw_immutability_days,
            cool_after_days=config.raw_cool_after_days,
            delete_after_days=config.raw_delete_after_days,
            allowed_ips=config.raw_zone_allowed_ips,
        ),
    )
    eventing = Eventing(
        "eventing",
        EventingArgs(
            place,
            subscription_id=client.subscription_id,
            sku=config.event_hubs_sku,
            capacity=config.event_hubs_capacity,
            max_throughput_units=config.event_hubs_max_throughput_units,
            partitions={source: config.partitions_for(source) for source in SOURCES},
            retention_days=config.hub_retention_days,
            capture_interval_seconds=config.capture_interval_seconds,
            capture_size_limit_mb=config.capture_size_limit_mb,
            capture_account_id=raw_zone.account.id,
            capture_container_name=raw_zone.container.name,
            capture_container_id=raw_zone.container_id,
        ),
    )
    cosmos = CosmosData(
        "cosmos",
        CosmosDataArgs(
            place,
            capacity_mode=config.cosmos_capacity_mode,
            autoscale_max_ru=config.cosmos_autoscale_max_ru,
            backup_tier=config.cosmos_backup_tier,
            zone_redundant=config.cosmos_zone_redundant,
        ),
    )
    function_app = FunctionApp(
        "function-app",
        FunctionAppArgs(
            place,
            redundancy=config.storage_redundancy,
            max_instances=config.function_max_instances,
            instance_memory_mb=config.function_instance_memory_mb,
            app_settings=app_settings(
                config,
                eventhub_namespace=eventing.fully_qualified_namespace,
                hub_names={source: hub.name for source, hub in eventing.hubs.items()},
                cosmos_endpoint=cosmos.account.document_endpoint,
                secret_uris=vault.secret_uris,
                app_insights_connection_string=observability.app_insights.connection_string,
                dead_letter_key_id=dead_letter_key.key_id,
                capture_url=pulumi.Output.concat(
                    "https://", raw_zone.account.name, ".blob.core.windows.net/", raw_zone.container.name
                ),
            ),
            key_vault_reference_identity=vault.reader.id,
            site_depends_on=[vault.reader_grant],
        ),
    )
    SignIn(
        "sign-in",
        SignInArgs(
            place, app_name=function_app.app.name, tenant_id=client.tenant_id, client_id=str(config.entra_client_id)
        ),
    )
    dead_letter_key.grant_app(function_app.principal_id, client.subscription_id)
    AccessGrants(
        "access",
        AccessGrantsArgs(
            place,
            subscription_id=client.subscription_id,
            app_principal_id=function_app.principal_id,
            eventhub_namespace_id=eventing.namespace.id,
            host_storage_id=function_app.host_storage.id,
            capture_container_id=raw_zone.container_id,
            app_insights_id=observability.app_insights.id,
            cosmos_account_name=cosmos.account.name,
            cosmos_account_id=cosmos.account.id,
            cosmos_database_scope=cosmos.database_scope,
            producer_principal_id=str(config.producer_principal_id) if config.producer_principal_id else None,
            producer_principal_type=config.producer_principal_type,
        ),
    )
    Guardrails(
        "guardrails",
        GuardrailsArgs(
            place,
            workspace_id=observability.workspace.id,
            alert_emails=config.alert_emails,
            alert_webhook_url=(
                config.alert_webhook_url.get_secret_value() if config.alert_webhook_url is not None else None
            ),
            eventhub_namespace_id=eventing.namespace.id,
            cosmos_account_id=cosmos.account.id,
            key_vault_id=vault.vault.id,
            app_insights_id=observability.app_insights.id,
            function_failures=config.alert_function_failures,
            backlog_events=config.alert_backlog_events,
            cosmos_throttled_requests=config.alert_cosmos_throttled_requests,
            normalized_ru_percent=config.alert_normalized_ru_percent,
            capture_backlog=config.alert_capture_backlog,
        ),
    )
    return {
        "resourceGroup": group.name,
        "eventHubsNamespace": eventing.fully_qualified_namespace,
        "hubNames": {source: hub.name for source, hub in eventing.hubs.items()},
        "consumerGroup": CONSUMER_GROUP,
        "cosmosEndpoint": cosmos.account.document_endpoint,
        "cosmosDatabase": COSMOS_DATABASE,
        "functionAppName": function_app.app.name,
        "appUrl": function_app.url,
        "pageUrl": pulumi.Output.concat(function_app.url, "/api/", LIVE_PAGE_ROUTE),
        "deploymentContainerUrl": function_app.deployment_container_url,
        "rawZoneAccount": raw_zone.account.name,
        "rawZoneContainer": raw_zone.container.name,
        "keyVaultUri": vault.vault.properties.vault_uri,
        "deadLetterKeyId": dead_letter_key.key_id,
        "signInUrl": pulumi.Output.concat(function_app.url, "/.auth/login/aad"),
    }
