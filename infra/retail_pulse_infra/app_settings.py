"""The Function App's settings, named by ``shared.topology``: identities, not keys.

Connections are identity-based (``<PREFIX>__fullyQualifiedNamespace``,
``<PREFIX>__accountEndpoint`` with ``__credential=managedidentity``); the two
secrets are Key Vault references, resolved by the vault's reader identity
(``keyVaultReferenceIdentity``); the Power BI push URL is one only when configured.
``APPLICATIONINSIGHTS_CONNECTION_STRING`` is the one connection string: it holds an
instrumentation key, which identifies the component but authorises nothing, because the component accepts only
Entra-authenticated telemetry (``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi

from shared.topology import (
    ACCEPTED_LATENESS_SETTING,
    CAPTURE_URL_SETTING,
    CONSUMER_GROUP,
    CONSUMER_GROUP_SETTING,
    COSMOS_CONNECTION,
    COSMOS_DATABASE,
    COSMOS_DATABASE_SETTING,
    DEAD_LETTER_KEY_SETTING,
    EVENTHUB_CONNECTION,
    PII_KEY_SETTING,
    POWERBI_DATASET_SETTINGS,
    POWERBI_HISTORY_PAIR_SETTINGS,
    POWERBI_PUSH_URL_SETTING,
    REPORTING_CURRENCY_SETTING,
    SCOPE_MAP_SETTING,
    Source,
    hub_setting,
)

from .config import StackConfig
from .vault import key_vault_reference

__all__ = ["KEY_VAULT_SECRET_NAMES", "MANAGED_IDENTITY", "app_settings"]

MANAGED_IDENTITY = "managedidentity"

KEY_VAULT_SECRET_NAMES: Mapping[str, str] = {
    PII_KEY_SETTING: "pii-hmac-key",
    POWERBI_PUSH_URL_SETTING: "powerbi-push-url",
}
"""App setting -> name of the Key Vault secret it references."""


def app_settings(
    config: StackConfig,
    *,
    eventhub_namespace: pulumi.Input[str],
    hub_names: Mapping[Source, pulumi.Input[str]],
    cosmos_endpoint: pulumi.Input[str],
    secret_uris: Mapping[str, pulumi.Input[str]],
    app_insights_connection_string: pulumi.Input[str],
    dead_letter_key_id: pulumi.Input[str],
    capture_url: pulumi.Input[str] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Every app setting except the host storage ones (the Function App component adds those)."""
    settings: dict[str, pulumi.Input[str]] = {
        f"{EVENTHUB_CONNECTION}__fullyQualifiedNamespace": eventhub_namespace,
        f"{EVENTHUB_CONNECTION}__credential": MANAGED_IDENTITY,
        f"{COSMOS_CONNECTION}__accountEndpoint": cosmos_endpoint,
        f"{COSMOS_CONNECTION}__credential": MANAGED_IDENTITY,
        COSMOS_DATABASE_SETTING: COSMOS_DATABASE,
        CONSUMER_GROUP_SETTING: CONSUMER_GROUP,
        REPORTING_CURRENCY_SETTING: config.reporting_currency,
        ACCEPTED_LATENESS_SETTING: str(config.accepted_lateness_days),
        "APPLICATIONINSIGHTS_CONNECTION_STRING": app_insights_connection_string,
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Authorization=AAD",
        DEAD_LETTER_KEY_SETTING: dead_letter_key_id,  # a key *name*: the key itself never leaves the vault
        SCOPE_MAP_SETTING: json.dumps(config.scope_map, sort_keys=True, separators=(",", ":")),
    }
    settings |= {hub_setting(source): name for source, name in hub_names.items()}
    if capture_url is not None:
        settings[CAPTURE_URL_SETTING] = capture_url  # the raw zone, read with the app's identity
    # optional outputs: ids, not secrets; set here so a later `pulumi up` keeps them
    power_bi = (
        config.power_bi_group_id,
        config.power_bi_tiles_dataset_id,
        config.power_bi_live_dataset_id,
        config.power_bi_history_dataset_id,
    )
    settings |= {s: str(v) for s, v in zip(POWERBI_DATASET_SETTINGS, power_bi, strict=True) if v is not None}
    pair = (config.power_bi_history_standby_dataset_id, config.power_bi_history_report_id)
    settings |= {s: str(v) for s, v in zip(POWERBI_HISTORY_PAIR_SETTINGS, pair, strict=True) if v is not None}
    settings |= {
        setting: key_vault_reference(secret_uris[secret_name])
        for setting, secret_name in KEY_VAULT_SECRET_NAMES.items()
        if secret_name in secret_uris  # the Power BI push URL is optional
    }
    return settings
