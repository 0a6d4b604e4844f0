"""The Function App's settings: one validated object, read once per worker, named as in Azure.

Every app setting the Functions app depends on is a field here, with the exact name
that `infra/` sets (``shared.topology`` holds the names). Connections are
identity-based in Azure (``<PREFIX>__fullyQualifiedNamespace``,
``<PREFIX>__accountEndpoint``, ``AzureWebJobsStorage__accountName``); the only
connection strings accepted are the local emulators' published development ones.
A missing or unusable setting raises `SettingsError`, whose message names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import urlencode, urlsplit

from pydantic import AfterValidator, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.pipeline.limits import Limits
from shared.pipeline.pii import MIN_KEY_BYTES
from shared.stores.cosmos_auth import EMULATOR_KEY, is_loopback_endpoint
from shared.topology import (
    ACCEPTED_LATENESS_SETTING,
    CONSUMER_GROUP_SETTING,
    COSMOS_CONNECTION,
    COSMOS_DATABASE_SETTING,
    EVENTHUB_CONNECTION,
    PII_KEY_SETTING,
    POWERBI_DATASET_SETTINGS,
    POWERBI_PUSH_URL_SETTING,
    REPORTING_CURRENCY_SETTING,
    SOURCES,
    Source,
    hub_setting,
)

__all__ = [
    "HOST_STORAGE",
    "KEY_VAULT_PREFIX",
    "REFERENCE_DIR_SETTING",
    "STORE_URL_SETTING",
    "Settings",
    "SettingsError",
    "load_settings",
    "parse_connection_string",
]

KEY_VAULT_PREFIX: Final = "@Microsoft.KeyVault("
"""An app setting still starting with this was not resolved by the platform (no access to the vault)."""
HOST_STORAGE: Final = "AzureWebJobsStorage"
STORE_URL_SETTING: Final = "PULSE_STORE_URL"
"""Local and test override of the document store (``sqlite:///path.db``, ``cosmos://...?emulator=npm``)."""
REFERENCE_DIR_SETTING: Final = "PULSE_REFERENCE_DIR"

_EVENTHUB_NAMESPACE = f"{EVENTHUB_CONNECTION}__fullyQualifiedNamespace"
_COSMOS_ENDPOINT = f"{COSMOS_CONNECTION}__accountEndpoint"
_HOST_STORAGE_ACCOUNT = f"{HOST_STORAGE}__accountName"
_AZURITE_ACCOUNT = "devstoreaccount1"
_ENTITY_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254}[A-Za-z0-9])?$")
_FQDN = re.compile(r"^(?=.{4,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")


class SettingsError(ValueError):
    """One or more settings are missing or unusable; each line of the message names one."""


def parse_connection_string(text: str) -> dict[str, str]:
    """``Key=Value;Key=Value`` into a dict with lower-case keys (values may contain ``=``)."""
    parts: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"not a connection string (no '=' in {key.strip()[:20]!r})")
        parts[key.strip().lower()] = value.strip()
    return parts


def _no_vault_reference(value: str) -> str:
    if value.startswith(KEY_VAULT_PREFIX):
        raise ValueError(
            "is an unresolved Key Vault reference: grant the app's identity 'Key Vault Secrets User' "
            "on the vault and check the secret URI"
        )
    return value


def _entity_name(value: str) -> str:
    if not _ENTITY_NAME.match(value):
        raise ValueError(f"{value!r} is not an Event Hubs entity name (letters, digits, '.', '-', '_'; 1-256 chars)")
    return value


EntityName = Annotated[str, AfterValidator(_entity_name)]


def _hub_field(source: Source) -> Any:
    return Field(alias=hub_setting(source), description=f"name of the Event Hub of source {source!r}")


class Settings(BaseSettings):
    """Everything the Function App reads from its environment, validated at first use."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore", frozen=True)

    eventhub_namespace: str | None = Field(
        None, alias=_EVENTHUB_NAMESPACE, description="Event Hubs namespace FQDN (identity-based connection)"
    )
    eventhub_connection_string: SecretStr | None = Field(
        None, alias=EVENTHUB_CONNECTION, description="Event Hubs emulator connection string (local only)"
    )
    consumer_group: EntityName = Field(alias=CONSUMER_GROUP_SETTING, description="consumer group of the triggers")
    hub_txn: EntityName = _hub_field("txn")
    hub_traffic: EntityName = _hub_field("traffic")
    hub_fulfillment: EntityName = _hub_field("fulfillment")
    hub_ingest: EntityName = _hub_field("ingest")
    hub_ops: EntityName = _hub_field("ops")
    hub_gov: EntityName = _hub_field("gov")
    hub_cost: EntityName = _hub_field("cost")

    cosmos_endpoint: str | None = Field(
        None, alias=_COSMOS_ENDPOINT, description="Cosmos DB account endpoint (identity-based connection)"
    )
    cosmos_connection_string: SecretStr | None = Field(
        None, alias=COSMOS_CONNECTION, description="Cosmos DB emulator connection string (local only)"
    )
    cosmos_database: EntityName = Field(alias=COSMOS_DATABASE_SETTING, description="Cosmos DB database name")

    host_storage_account: str | None = Field(
        None, alias=_HOST_STORAGE_ACCOUNT, description="host storage account name (identity-based connection)"
    )
    host_storage_connection_string: SecretStr | None = Field(
        None, alias=HOST_STORAGE, description="host storage for Azurite: UseDevelopmentStorage=true (local only)"
    )

    pii_key: SecretStr = Field(
        alias=PII_KEY_SETTING, description=f"HMAC key (>= {MIN_KEY_BYTES} bytes) that pseudonymises customer ids"
    )
    powerbi_push_url: SecretStr | None = Field(
        None, alias=POWERBI_PUSH_URL_SETTING, description="Power BI push URL (a Key Vault reference in Azure)"
    )
    powerbi_group_id: str | None = Field(
        None, alias=POWERBI_DATASET_SETTINGS[0], description="Power BI workspace of the datasets (a GUID)"
    )
    powerbi_tiles_dataset_id: str | None = Field(
        None, alias=POWERBI_DATASET_SETTINGS[1], description="Power BI tiles dataset id (Streaming)"
    )
    powerbi_live_dataset_id: str | None = Field(
        None, alias=POWERBI_DATASET_SETTINGS[2], description="Power BI live dataset id (Push, basicFIFO)"
    )
    powerbi_history_dataset_id: str | None = Field(
        None, alias=POWERBI_DATASET_SETTINGS[3], description="Power BI history dataset id (Push, retention None)"
    )
    reporting_currency: str = Field(
        "EUR", alias=REPORTING_CURRENCY_SETTING, pattern=r"^[A-Z]{3}$", description="ISO 4217 code"
    )
    accepted_lateness_days: int = Field(7, alias=ACCEPTED_LATENESS_SETTING, ge=1, le=365)
    store_url: str | None = Field(None, alias=STORE_URL_SETTING, description="local/test document-store override")
    reference_dir: Path | None = Field(None, alias=REFERENCE_DIR_SETTING, description="reference-data CSV folder")

    # -- field rules -------------------------------------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _empty_is_unset(cls, values: Any) -> Any:
        # Core Tools exports an empty value in local.settings.json as an empty variable: treat it as unset.
        if isinstance(values, Mapping):
            return {key: value for key, value in values.items() if value != ""}
        return values

    @field_validator("pii_key", "powerbi_push_url", "eventhub_connection_string", "cosmos_connection_string")
    @classmethod
    def _resolved(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _no_vault_reference(value.get_secret_value())
        return value

    @field_validator("pii_key")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        size = len(value.get_secret_value().encode("utf-8"))
        if size < MIN_KEY_BYTES:
            raise ValueError(f"must be at least {MIN_KEY_BYTES} bytes, got {size}")
        return value

    @field_validator("powerbi_push_url")
    @classmethod
    def _https_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not (
            value.get_secret_value().startswith("https://") and urlsplit(value.get_secret_value()).hostname
        ):
            raise ValueError("must be an https:// URL")
        return value

    @field_validator("eventhub_namespace")
    @classmethod
    def _namespace(cls, value: str | None) -> str | None:
        if value is not None and not _FQDN.match(value):
            raise ValueError(f"must be a fully qualified namespace like <name>.servicebus.windows.net, not {value!r}")
        return value

    @field_validator("cosmos_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("https://") or not urlsplit(value).hostname):
            raise ValueError(f"must be an https:// account endpoint, not {value!r}")
        return value

    @field_validator("eventhub_connection_string")
    @classmethod
    def _eventhub_emulator_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = parse_connection_string(value.get_secret_value())
            if parts.get("usedevelopmentemulator", "").lower() != "true":
                raise ValueError(
                    "only the Event Hubs emulator's connection string (UseDevelopmentEmulator=true) is accepted; "
                    f"in Azure set {_EVENTHUB_NAMESPACE} and use the app's managed identity"
                )
        return value

    @field_validator("cosmos_connection_string")
    @classmethod
    def _cosmos_emulator_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = parse_connection_string(value.get_secret_value())
            endpoint = parts.get("accountendpoint", "")
            if parts.get("accountkey") != EMULATOR_KEY or not is_loopback_endpoint(endpoint):
                raise ValueError(
                    "only the Cosmos DB emulator's connection string (loopback AccountEndpoint, the published "
                    f"emulator AccountKey) is accepted; in Azure set {_COSMOS_ENDPOINT} and use the managed identity"
                )
        return value

    @field_validator("host_storage_connection_string")
    @classmethod
    def _azurite_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return value
        text = value.get_secret_value()
        if text.replace(" ", "").lower() == "usedevelopmentstorage=true":
            return value
        parts = parse_connection_string(text)
        if parts.get("accountname") != _AZURITE_ACCOUNT:
            raise ValueError(
                f"only Azurite (UseDevelopmentStorage=true or the {_AZURITE_ACCOUNT} connection string) is accepted; "
                f"in Azure set {_HOST_STORAGE_ACCOUNT} and use the managed identity"
            )
        return value

    @model_validator(mode="after")
    def _one_form_per_connection(self) -> Settings:
        pairs = (
            (_EVENTHUB_NAMESPACE, self.eventhub_namespace, EVENTHUB_CONNECTION, self.eventhub_connection_string),
            (_COSMOS_ENDPOINT, self.cosmos_endpoint, COSMOS_CONNECTION, self.cosmos_connection_string),
            (_HOST_STORAGE_ACCOUNT, self.host_storage_account, HOST_STORAGE, self.host_storage_connection_string),
        )
        problems = []
        for identity_name, identity, local_name, local in pairs:
            if identity is None and local is None:
                problems.append(f"{identity_name}: missing (or set {local_name} to the local emulator's form)")
            elif identity is not None and local is not None:
                problems.append(f"{identity_name} and {local_name}: set one of the two, not both")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- derived values ----------------------------------------------------------------

    def hub_name(self, source: Source) -> str:
        """The Event Hub of `source`."""
        return str(getattr(self, f"hub_{source}"))

    def hub_names(self) -> dict[Source, str]:
        """Every source's Event Hub."""
        return {source: self.hub_name(source) for source in SOURCES}

    def pii_key_bytes(self) -> bytes:
        """The pseudonymisation key as bytes."""
        return self.pii_key.get_secret_value().encode("utf-8")

    def limits(self) -> Limits:
        """Validation limits with the configured accepted lateness."""
        return Limits(accepted_lateness=timedelta(days=self.accepted_lateness_days))

    def document_store_url(self) -> str:
        """The `shared.stores.open_store` URL of the app's Cosmos DB (or of the override)."""
        if self.store_url is not None:
            return self.store_url
        query = urlencode({"database": self.cosmos_database})
        if self.cosmos_endpoint is not None:
            netloc = urlsplit(self.cosmos_endpoint).netloc
            return f"https://{netloc}/?{query}"
        assert self.cosmos_connection_string is not None  # one form is set: checked above
        endpoint = parse_connection_string(self.cosmos_connection_string.get_secret_value())["accountendpoint"]
        parts = urlsplit(endpoint)
        emulator = "npm" if parts.scheme == "http" else "docker"
        return f"cosmos://{parts.netloc}?{query}&emulator={emulator}"


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Validate the settings from `environ` (default: the process environment); `SettingsError` names each bad one."""
    try:
        return Settings() if environ is None else Settings.model_validate(dict(environ))
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    descriptions = {field.alias: field.description for field in Settings.model_fields.values() if field.alias}
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "missing":
            about = descriptions.get(name)
            lines.append(f"{name}: missing" + (f" ({about})" if about else ""))
        elif name:
            lines.append(f"{name}: {message}")
        else:
            lines.append(message)
    return "invalid app settings:\n  " + "\n  ".join(lines)
