"""Stack configuration: one validated object, read once, every problem named by its key.

Keys are flat camelCase Pulumi config keys of the project namespace
(``retail-pulse:hubPartitions``). :func:`parse_config` is pure, so the rules are
tested without a Pulumi runtime; :func:`load_config` only gathers the values.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic.alias_generators import to_camel

from shared.access.scopes import ScopeMap
from shared.topology import Source

__all__ = [
    "PROJECT",
    "REQUIRED_TAG_KEYS",
    "SECRET_KEYS",
    "ConfigError",
    "StackConfig",
    "load_config",
    "parse_config",
]

PROJECT = "retail-pulse"
"""Pulumi project name, hence the config namespace (``retail-pulse:<key>``)."""

SECRET_KEYS = frozenset({"piiHmacKey", "powerBiPushUrl", "alertWebhookUrl"})
"""Keys whose value must be stored encrypted (``pulumi config set --secret``)."""

REQUIRED_TAG_KEYS = ("project", "environment", "managed-by")
"""Tags every taggable resource carries; ``extraTags`` may not redefine them."""

_STANDARD_MAX_PARTITIONS = 32
_STANDARD_MAX_RETENTION_DAYS = 7
_STANDARD_MAX_THROUGHPUT_UNITS = 40
_PREMIUM_PROCESSING_UNITS = frozenset({1, 2, 4, 8, 16})
_MIN_PII_KEY_CHARS = 32
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


def _json_if_text(value: Any) -> Any:
    """Structured keys arrive from Pulumi as JSON text; plain values pass through."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        return json.loads(value)
    return value


def _list_from_text(value: Any) -> Any:
    """A list key accepts a JSON list or a comma-separated string."""
    value = _json_if_text(value)
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _int_from_text(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"not an e-mail address: {value!r}")
    return value


def _ip_rule(value: str) -> str:
    network = ipaddress.ip_network(value, strict=False)
    if network.version != 4:
        raise ValueError("storage firewall rules take IPv4 addresses or ranges")
    return value


Lowercase = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]+$")]
Email = Annotated[str, AfterValidator(_email)]
IpRule = Annotated[str, AfterValidator(_ip_rule)]
Partitions = Annotated[int, Field(ge=1, le=100)]


class StackConfig(BaseModel):
    """Everything a stack may set. Field docs say what each key controls."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=False)

    # Naming and placement
    location: Lowercase
    """Azure region short name, e.g. ``westeurope``."""
    environment: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,4}$")]
    """2-5 lowercase characters (``dev``, ``prod``): part of every name and the ``environment`` tag."""
    name_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{1,7}$")] = "rpulse"
    """2-8 lowercase characters that start every resource name."""
    name_suffix: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{3,6}$")]
    """3-6 lowercase characters that make the globally unique names (storage, Cosmos, Key Vault...) yours."""
    extra_tags: Annotated[dict[str, str], BeforeValidator(_json_if_text)] = Field(default_factory=dict)
    """Tags added to the standard ones (owner, cost centre...)."""
    protect_stateful_resources: bool = False
    """Pulumi ``protect`` on the accounts that hold data (Cosmos, raw zone, Event Hubs, Key Vault)."""
    storage_redundancy: Literal["LRS", "ZRS", "GRS", "GZRS"] = "LRS"

    # Event Hubs
    event_hubs_sku: Literal["Standard", "Premium"] = "Standard"
    event_hubs_capacity: Annotated[int, Field(ge=1, le=_STANDARD_MAX_THROUGHPUT_UNITS)] = 1
    """Throughput units (Standard) or processing units (Premium: 1, 2, 4, 8 or 16)."""
    event_hubs_max_throughput_units: Annotated[int, Field(ge=1, le=_STANDARD_MAX_THROUGHPUT_UNITS)] = 10
    """Auto-inflate ceiling (Standard only)."""
    hub_partitions: Partitions = 4
    hub_partitions_by_source: Annotated[dict[Source, Partitions], BeforeValidator(_json_if_text)] = Field(
        default_factory=dict
    )
    """Per-source override of ``hubPartitions``, e.g. ``{"txn": 16}``."""
    hub_retention_days: Annotated[int, Field(ge=1, le=90)] = 1
    capture_interval_seconds: Annotated[int, Field(ge=60, le=900)] = 300
    capture_size_limit_mb: Annotated[int, Field(ge=10, le=500)] = 300

    # Raw zone (ADLS Gen2)
    raw_immutability_days: Annotated[int, Field(ge=1, le=146_000)] = 30
    """Time-based retention (WORM) on the capture container: no blob may change or go before this age."""
    raw_cool_after_days: Annotated[int, Field(ge=1)] = 30
    raw_delete_after_days: Annotated[int, Field(ge=1)] | None = None
    """Lifecycle deletion age; unset keeps captures forever."""
    raw_zone_allowed_ips: Annotated[tuple[IpRule, ...], BeforeValidator(_list_from_text)] = ()
    """Public IPv4 addresses or ranges that may read the raw zone; Event Hubs Capture is let in as a trusted service."""

    # Cosmos DB
    cosmos_capacity_mode: Literal["serverless", "autoscale"] = "serverless"
    cosmos_autoscale_max_ru: Annotated[int, Field(ge=1000, le=1_000_000, multiple_of=1000)] | None = None
    """Shared database autoscale ceiling in RU/s (autoscale mode only)."""
    cosmos_backup_tier: Literal["Continuous7Days", "Continuous30Days"] = "Continuous7Days"
    cosmos_zone_redundant: bool = False

    # Function App (Flex Consumption)
    function_max_instances: Annotated[int, Field(ge=40, le=1000)] = 100
    function_instance_memory_mb: Annotated[Literal[512, 2048, 4096], BeforeValidator(_int_from_text)] = 2048

    # Observability and security
    log_retention_days: Annotated[int, Field(ge=30, le=730)] = 30
    key_vault_retention_days: Annotated[int, Field(ge=7, le=90)] = 90

    # Guardrail alerts
    alert_emails: Annotated[tuple[Email, ...], BeforeValidator(_list_from_text)] = ()
    alert_webhook_url: SecretStr | None = None
    alert_function_failures: Annotated[int, Field(ge=1)] = 5
    """Failed executions per 5 minutes."""
    alert_backlog_events: Annotated[int, Field(ge=1)] = 10_000
    """Incoming minus outgoing events over 15 minutes."""
    alert_cosmos_throttled_requests: Annotated[int, Field(ge=1)] = 10
    """HTTP 429 responses per 5 minutes."""
    alert_normalized_ru_percent: Annotated[int, Field(ge=1, le=100)] = 90
    alert_capture_backlog: Annotated[int, Field(ge=1)] = 1_000

    # Producers and the app
    producer_principal_id: UUID | None = None
    """Object id that may send to the hubs (Azure Event Hubs Data Sender on the namespace)."""
    producer_principal_type: Literal["ServicePrincipal", "User", "Group"] = "ServicePrincipal"
    reporting_currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "EUR"
    entra_client_id: UUID
    """Application (client) id of the Entra app registration with the app roles (docs/deploy.md, "Sign-in")."""
    scope_map: Annotated[dict[str, dict[str, list[str]]], BeforeValidator(_json_if_text)] = Field(default_factory=dict)
    """Entra group object id -> ``{"stores": [...], "regions": [...]}``: the managers' scopes (``PULSE_SCOPE_MAP``)."""
    accepted_lateness_days: Annotated[int, Field(ge=1, le=365)] = 7
    pii_hmac_key: SecretStr
    """Pseudonymisation key; stored in Key Vault, never in an app setting."""
    power_bi_push_url: SecretStr | None = None
    """Streaming dataset push URL (it carries its key); stored in Key Vault. Optional: without it
    (and without a push dataset) the app's outputs are off and ingestion runs as usual."""
    power_bi_group_id: UUID | None = None
    """Workspace of the push datasets (`pulse powerbi create-dataset` prints the ids)."""
    power_bi_tiles_dataset_id: UUID | None = None
    power_bi_live_dataset_id: UUID | None = None
    power_bi_history_dataset_id: UUID | None = None
    power_bi_history_standby_dataset_id: UUID | None = None
    """Optional, with `power_bi_history_report_id`: the second history dataset (a compaction reseeds it, then
    the report is rebound to it: reports never show partial totals; docs/powerbi.md)."""
    power_bi_history_report_id: UUID | None = None

    @field_validator("pii_hmac_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < _MIN_PII_KEY_CHARS:
            raise ValueError(f"must be at least {_MIN_PII_KEY_CHARS} characters (try `openssl rand -base64 48`)")
        return value

    @field_validator("power_bi_push_url", "alert_webhook_url")
    @classmethod
    def _https_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("https://"):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("scope_map")
    @classmethod
    def _scope_map_shape(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        ScopeMap.parse(json.dumps(value))  # ScopeMapError (a ValueError) names the bad group
        return value

    def partitions_for(self, source: Source) -> int:
        """Partition count of the hub of `source`."""
        return self.hub_partitions_by_source.get(source, self.hub_partitions)


class ConfigError(ValueError):
    """The stack configuration is unusable; the message names every bad key."""

    def __init__(self, problems: list[tuple[str, str]], namespace: str = PROJECT) -> None:
        self.keys = tuple(f"{namespace}:{key}" for key, _ in problems)
        lines = [f"  {namespace}:{key}: {message}" for key, message in problems]
        super().__init__("invalid stack configuration:\n" + "\n".join(lines))


def _describe(key: str, error: Mapping[str, Any], secret: bool) -> str:
    kind, message = error["type"], str(error["msg"])
    if kind == "missing":
        verb = "pulumi config set --secret" if secret else "pulumi config set"
        return f"required; set it with `{verb} {key} <value>`"
    if kind == "extra_forbidden":
        return "unknown key (a typo?)"
    if kind == "value_error":
        return message.removeprefix("Value error, ")
    if secret or kind.startswith("string_pattern"):
        return message
    return f"{message} (got {error['input']!r})"


def _key_of(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location if part != "[key]")


def _cross_checks(config: StackConfig, given: Collection[str]) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    partition_keys = {"hubPartitions": config.hub_partitions} | {
        f"hubPartitionsBySource.{source}": count for source, count in config.hub_partitions_by_source.items()
    }
    if config.event_hubs_sku == "Standard":
        if config.event_hubs_max_throughput_units < config.event_hubs_capacity:
            problems.append(("eventHubsMaxThroughputUnits", "must be >= eventHubsCapacity"))
        if config.hub_retention_days > _STANDARD_MAX_RETENTION_DAYS:
            problems.append(("hubRetentionDays", f"Standard keeps events at most {_STANDARD_MAX_RETENTION_DAYS} days"))
        problems += [
            (key, f"Standard allows at most {_STANDARD_MAX_PARTITIONS} partitions per hub")
            for key, count in partition_keys.items()
            if count > _STANDARD_MAX_PARTITIONS
        ]
    else:
        if config.event_hubs_capacity not in _PREMIUM_PROCESSING_UNITS:
            problems.append(("eventHubsCapacity", "Premium takes 1, 2, 4, 8 or 16 processing units"))
        if "eventHubsMaxThroughputUnits" in given:
            problems.append(("eventHubsMaxThroughputUnits", "auto-inflate applies to eventHubsSku=Standard only"))
    if config.cosmos_capacity_mode == "autoscale" and config.cosmos_autoscale_max_ru is None:
        problems.append(("cosmosAutoscaleMaxRu", "required when cosmosCapacityMode=autoscale"))
    if config.cosmos_capacity_mode == "serverless" and config.cosmos_autoscale_max_ru is not None:
        problems.append(("cosmosAutoscaleMaxRu", "only valid with cosmosCapacityMode=autoscale"))
    if config.raw_delete_after_days is not None:
        floor = max(config.raw_immutability_days, config.raw_cool_after_days)
        if config.raw_delete_after_days <= floor:
            problems.append(
                ("rawDeleteAfterDays", "must exceed rawImmutabilityDays and rawCoolAfterDays (locked blobs cannot go)")
            )
    if (config.power_bi_live_dataset_id or config.power_bi_history_dataset_id) and not config.power_bi_group_id:
        problems.append(("powerBiGroupId", "required with a Power BI dataset id (the workspace of the dataset)"))
    pair = (config.power_bi_history_standby_dataset_id, config.power_bi_history_report_id)
    if any(pair) and not (all(pair) and config.power_bi_history_dataset_id):
        problems.append(
            ("powerBiHistoryStandbyDatasetId", "goes with powerBiHistoryReportId and powerBiHistoryDatasetId")
        )
    if not config.alert_emails and config.alert_webhook_url is None:
        problems.append(("alertEmails", "set alertEmails or alertWebhookUrl: guardrail alerts need a receiver"))
    problems += [
        (f"extraTags.{key}", "is a standard tag and cannot be redefined")
        for key in config.extra_tags
        if key in REQUIRED_TAG_KEYS
    ]
    return problems


def parse_config(
    values: Mapping[str, Any], *, secret_keys: Collection[str] = (), namespace: str = PROJECT
) -> StackConfig:
    """Validate raw config values (keys without namespace) into a :class:`StackConfig`.

    Raises :class:`ConfigError` naming every bad, missing or unknown key at once.
    """
    problems = [
        (key, f"must be stored encrypted: `pulumi config set --secret {key} <value>`")
        for key in sorted(SECRET_KEYS & values.keys())
        if key not in secret_keys
    ]
    try:
        config = StackConfig.model_validate(dict(values))
    except ValidationError as exc:
        for error in exc.errors():
            key = _key_of(error["loc"])
            problems.append((key, _describe(key, error, secret=key.split(".")[0] in SECRET_KEYS)))
        raise ConfigError(problems, namespace) from None
    problems += _cross_checks(config, values.keys())
    if problems:
        raise ConfigError(problems, namespace)
    return config


def _pulumi_config_values() -> dict[str, Any]:
    import pulumi.runtime
    import pulumi.runtime.config as runtime_config

    # The engine hands config over in PULUMI_CONFIG; tests and `set_all_config` use the context map.
    values: dict[str, Any] = dict(pulumi.runtime.get_config_env())
    values.update(runtime_config.CONFIG.get())
    return values


def load_config() -> StackConfig:
    """Read and validate this stack's configuration from the Pulumi runtime."""
    import pulumi
    import pulumi.runtime

    namespace = pulumi.get_project()
    prefix = f"{namespace}:"
    values = {key[len(prefix) :]: value for key, value in _pulumi_config_values().items() if key.startswith(prefix)}
    secret_keys = {
        key
        for key in values
        if pulumi.runtime.is_config_secret(prefix + key) or prefix + key in pulumi.runtime.get_config_secret_keys_env()
    }
    return parse_config(values, secret_keys=secret_keys, namespace=namespace)
