"""Build the Pulumi program against mocks (no CLI, no cloud) and record every resource.

A build runs the real ``build_stack`` under ``pulumi.runtime.set_mocks``; the mocks
answer like Azure would (ids, endpoints, identities) and keep each resource's
inputs, so the tests assert on plain dictionaries.
"""

from __future__ import annotations

import json
import runpy
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
for path in (ROOT, INFRA):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import pulumi  # noqa: E402
import yaml  # noqa: E402
from retail_pulse_infra import build_stack, load_config  # noqa: E402
from retail_pulse_infra.config import PROJECT  # noqa: E402

SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
TENANT_ID = "99999999-8888-7777-6666-555555555555"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # how the Pulumi wire format marks a secret value

TEST_SECRETS = {
    "piiHmacKey": "test-pii-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "powerBiPushUrl": "https://api.powerbi.com/beta/tenant/datasets/ds/rows?key=TopSecretPushKey%3D%3D",
}
WEBHOOK_SECRET = {"alertWebhookUrl": "https://oncall.example.com/hooks/T0PS3CR3T-webhook-token"}
"""The prod example also gets a webhook receiver, so both receiver kinds are built."""
ENTRA_CLIENT_ID = "0f1e2d3c-4b5a-4697-8899-aabbccddeeff"
STACK_EXTRAS = {
    "nameSuffix": "t3st",
    "producerPrincipalId": "12345678-aaaa-bbbb-cccc-1234567890ab",
    "entraClientId": ENTRA_CLIENT_ID,
    "powerBiGroupId": "0a0a0a0a-0000-4000-8000-000000000001",
    "powerBiHistoryDatasetId": "0a0a0a0a-0000-4000-8000-000000000002",
    "powerBiHistoryStandbyDatasetId": "0a0a0a0a-0000-4000-8000-000000000003",
    "powerBiHistoryReportId": "0a0a0a0a-0000-4000-8000-000000000004",
}

_NAME_KEYS = (
    "name",
    "consumerGroupName",
    "containerName",
    "eventHubName",
    "secretName",
    "keyName",
    "databaseName",
    "ruleName",
    "actionGroupName",
    "namespaceName",
    "vaultName",
    "workspaceName",
    "resourceName",
    "accountName",
    "resourceGroupName",
)


def plain_strings(value: Any) -> Iterator[str]:
    """Every string of `value` that is *not* inside a value marked secret."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return
        for item in value.values():
            yield from plain_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from plain_strings(item)
    elif isinstance(value, str):
        yield value


def is_secret(value: Any) -> bool:
    """True if `value` went over the wire marked secret."""
    return isinstance(value, dict) and SECRET_SIG in value


def _unwrap(value: Any) -> Any:
    """Inputs with secret markers removed (for reading values, not for policy checks)."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) is not None and "value" in value:
            return _unwrap(value["value"])
        return {key: _unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unwrap(item) for item in value]
    return value


def principal_of(name: str) -> str:
    """The object id the mocks give the managed identity of resource `name`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal/{name}"))


class RecordingMocks(pulumi.runtime.Mocks):
    """Answers like Azure Resource Manager would, and records what was asked."""

    def __init__(self, slow: Mapping[str, float] | None = None) -> None:
        self.records: list[Recorded] = []
        self.invokes: list[str] = []
        self.slow = dict(slow or {})
        """Logical name -> seconds its creation takes (resources register from worker threads)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        time.sleep(self.slow.get(args.name, 0.0))
        inputs = _unwrap(args.inputs)
        name = next((inputs[key] for key in _NAME_KEYS if isinstance(inputs.get(key), str)), args.name)
        provider_path = args.typ.replace("azure-native:", "").replace(":", "/")
        resource_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-mock/providers/{provider_path}/{name}"
        state: dict[str, Any] = {**inputs, "name": name}
        extra = {
            "azure-native:storage:StorageAccount": lambda: {
                "primaryEndpoints": {
                    "blob": f"https://{name}.blob.core.windows.net/",
                    "dfs": f"https://{name}.dfs.core.windows.net/",
                }
            },
            "azure-native:eventhub:Namespace": lambda: {
                "serviceBusEndpoint": f"https://{name}.servicebus.windows.net:443/",
                "identity": {"type": "SystemAssigned", "principalId": principal_of(name), "tenantId": TENANT_ID},
            },
            "azure-native:cosmosdb:DatabaseAccount": lambda: {
                "documentEndpoint": f"https://{name}.documents.azure.com:443/"
            },
            "azure-native:web:WebApp": lambda: {
                "defaultHostName": f"{name}.azurewebsites.net",
                "identity": {"type": "SystemAssigned", "principalId": principal_of(name), "tenantId": TENANT_ID},
            },
            "azure-native:managedidentity:UserAssignedIdentity": lambda: {
                "principalId": principal_of(name),
                "clientId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"client/{name}")),
                "tenantId": TENANT_ID,
            },
            "azure-native:keyvault:Vault": lambda: {
                "properties": {**inputs.get("properties", {}), "vaultUri": f"https://{name}.vault.azure.net/"}
            },
            "azure-native:keyvault:Key": lambda: {
                "keyUri": f"https://{inputs['vaultName']}.vault.azure.net/keys/{name}",
                "keyUriWithVersion": f"https://{inputs['vaultName']}.vault.azure.net/keys/{name}/0a1b2c3d",
            },
            "azure-native:keyvault:Secret": lambda: {
                "properties": {
                    "secretUri": f"https://{inputs['vaultName']}.vault.azure.net/secrets/{name}",
                    "secretUriWithVersion": f"https://{inputs['vaultName']}.vault.azure.net/secrets/{name}/0123abcd",
                }
            },
            "azure-native:applicationinsights:Component": lambda: {
                "connectionString": (
                    "InstrumentationKey=00000000-0000-0000-0000-00000000abcd;"
                    "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;"
                    "ApplicationId=11111111-0000-0000-0000-00000000abcd"
                )
            },
        }.get(args.typ)
        if extra is not None:
            state.update(extra())
        self.records.append(Recorded(args.typ, args.name, args.inputs, inputs, resource_id))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.invokes.append(args.token)
        if args.token == "azure-native:authorization:getClientConfig":
            return {"subscriptionId": SUBSCRIPTION_ID, "tenantId": TENANT_ID, "clientId": "c", "objectId": "o"}
        raise NotImplementedError(f"unexpected invoke {args.token}")


@dataclass(frozen=True)
class Recorded:
    """One resource as the program declared it."""

    typ: str
    name: str
    raw_inputs: Mapping[str, Any]
    """Inputs as sent, secret markers included."""
    inputs: Mapping[str, Any]
    id: str


@dataclass
class BuiltStack:
    """Everything one run of the program declared."""

    config: dict[str, str]
    resources: list[Recorded]
    invokes: list[str]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)

    def of_type(self, typ: str) -> list[Recorded]:
        return [record for record in self.resources if record.typ == typ]

    def one(self, typ: str, name: str | None = None) -> Recorded:
        found = [record for record in self.of_type(typ) if name is None or record.name == name]
        assert len(found) == 1, f"expected one {typ} {name or ''}, found {[r.name for r in found]}"
        return found[0]

    @property
    def app_settings(self) -> dict[str, str]:
        app = self.one("azure-native:web:WebApp")
        return {item["name"]: item["value"] for item in app.inputs["siteConfig"]["appSettings"]}


def example_config(stack: str) -> dict[str, str]:
    """An example stack file's config, plus the keys each user sets for themselves."""
    document = yaml.safe_load((INFRA / f"Pulumi.{stack}.yaml").read_text())
    values = {}
    for key, value in document["config"].items():
        namespace, _, name = key.partition(":")
        assert namespace == PROJECT, key
        # The engine hands structured values to the program as JSON text.
        values[name] = json.dumps(value) if isinstance(value, dict | list) else str(value)
    return values | STACK_EXTRAS | TEST_SECRETS | (WEBHOOK_SECRET if stack == "prod" else {})


def _start(
    values: Mapping[str, str], stack: str, secret_keys: set[str] | None, slow: Mapping[str, float] | None = None
) -> RecordingMocks:
    mocks = RecordingMocks(slow)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    secret_keys = set(TEST_SECRETS) | set(WEBHOOK_SECRET) if secret_keys is None else secret_keys
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{key}": value for key, value in values.items()},
        [f"{PROJECT}:{key}" for key in secret_keys if key in values],
    )
    return mocks


def build(
    values: Mapping[str, str],
    *,
    stack: str = "dev",
    secret_keys: set[str] | None = None,
    slow: Mapping[str, float] | None = None,
) -> BuiltStack:
    """Run ``build_stack`` once against fresh mocks with `values` as the stack config.

    `slow` delays the creation of the named resources: whatever is declared after
    them without depending on them then registers first, so the order of
    `BuiltStack.resources` shows real dependencies, not declaration order.
    """
    mocks = _start(values, stack, secret_keys, slow)
    built = BuiltStack(dict(values), mocks.records, mocks.invokes)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        outputs = build_stack(load_config())

        async def resolve() -> None:
            for name, value in outputs.items():
                output = pulumi.Output.from_input(value)
                built.outputs[name] = await output.future()
                if await output.is_secret():
                    built.secret_outputs.add(name)

        return pulumi.Output.from_input(resolve())

    program()
    return built


def run_entry_point(values: Mapping[str, str], *, stack: str = "dev") -> BuiltStack:
    """Run ``infra/__main__.py`` the way the Pulumi engine would, against mocks."""
    mocks = _start(values, stack, None)

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        runpy.run_path(str(INFRA / "__main__.py"))
        return pulumi.Output.from_input(None)

    program()
    return BuiltStack(dict(values), mocks.records, mocks.invokes)
