"""Dev and prod differ only by config; tags and the naming convention hold everywhere."""

from __future__ import annotations

import importlib
import inspect
import re
from functools import cache

import pytest
from infra_harness import INFRA, BuiltStack, build, example_config
from retail_pulse_infra.config import PROJECT, REQUIRED_TAG_KEYS, parse_config
from retail_pulse_infra.naming import Naming


@cache
def accepts_tags(resource_type: str) -> bool:
    """Whether the Azure resource type takes tags (read from the provider SDK itself)."""
    _, module, name = resource_type.split(":")
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def azure_resources(stack: BuiltStack) -> list:
    return [resource for resource in stack.resources if resource.typ.startswith("azure-native:")]


def test_dev_and_prod_declare_the_same_resources(dev_stack: BuiltStack, prod_stack: BuiltStack) -> None:
    def inventory(stack: BuiltStack) -> list[tuple[str, str]]:
        return sorted((resource.typ, resource.name) for resource in stack.resources)

    assert inventory(dev_stack) == inventory(prod_stack)


def test_the_stack_name_changes_nothing(dev_stack: BuiltStack) -> None:
    """The dev config deployed under the stack name `prod` gives the dev stack, byte for byte."""
    renamed = build(example_config("dev"), stack="prod")

    def declared(stack: BuiltStack) -> dict[tuple[str, str], object]:
        return {(resource.typ, resource.name): resource.inputs for resource in stack.resources}

    assert declared(renamed) == declared(dev_stack)


def test_the_program_never_reads_the_stack_name() -> None:
    sources = "\n".join(path.read_text() for path in (INFRA / "retail_pulse_infra").glob("*.py"))
    assert not re.search(r"get_stack|getStack", sources)


def test_prod_is_bigger_and_protected_by_config_alone(dev_stack: BuiltStack, prod_stack: BuiltStack) -> None:
    dev, prod = (parse_config(stack.config, secret_keys=stack.config.keys()) for stack in (dev_stack, prod_stack))
    assert (dev.protect_stateful_resources, prod.protect_stateful_resources) == (False, True)
    assert (dev.cosmos_capacity_mode, prod.cosmos_capacity_mode) == ("serverless", "autoscale")
    assert dev.partitions_for("txn") < prod.partitions_for("txn")


def test_every_taggable_resource_carries_the_standard_tags(any_stack: BuiltStack) -> None:
    expected = {"project": PROJECT, "environment": any_stack.config["environment"], "managed-by": "pulumi"}
    taggable = [resource for resource in azure_resources(any_stack) if accepts_tags(resource.typ)]
    assert len(taggable) >= 20
    for resource in taggable:
        tags = resource.inputs.get("tags", {})
        assert {key: tags.get(key) for key in REQUIRED_TAG_KEYS} == expected, f"{resource.typ} {resource.name}"
        assert tags.get("owner") == "retail-data-team", f"{resource.typ} {resource.name} lost extraTags"


def test_resources_without_tags_are_ones_azure_cannot_tag(any_stack: BuiltStack) -> None:
    untaggable = {resource.typ for resource in azure_resources(any_stack) if not accepts_tags(resource.typ)}
    assert untaggable == {
        "azure-native:authorization:RoleAssignment",
        "azure-native:cosmosdb:SqlResourceSqlRoleAssignment",
        "azure-native:eventhub:ConsumerGroup",
        "azure-native:eventhub:EventHub",
        "azure-native:monitor:DiagnosticSetting",
        "azure-native:storage:BlobContainer",
        "azure-native:storage:BlobContainerImmutabilityPolicy",
        "azure-native:storage:BlobServiceProperties",
        "azure-native:storage:ManagementPolicy",
        "azure-native:web:WebAppAuthSettingsV2",
        "azure-native:web:WebAppFtpAllowed",
        "azure-native:web:WebAppScmAllowed",
    }


NAME_FIELDS = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "rg-{p}-{e}"),
    "azure-native:operationalinsights:Workspace": ("workspaceName", "log-{p}-{e}"),
    "azure-native:applicationinsights:Component": ("resourceName", "appi-{p}-{e}"),
    "azure-native:keyvault:Vault": ("vaultName", "kv-{p}-{e}-{s}"),
    "azure-native:eventhub:Namespace": ("namespaceName", "evhns-{p}-{e}-{s}"),
    "azure-native:cosmosdb:DatabaseAccount": ("accountName", "cosmos-{p}-{e}-{s}"),
    "azure-native:web:AppServicePlan": ("name", "asp-{p}-{e}"),
    "azure-native:web:WebApp": ("name", "func-{p}-{e}-{s}"),
    "azure-native:monitor:ActionGroup": ("actionGroupName", "ag-{p}-{e}"),
}


def test_naming_convention(any_stack: BuiltStack) -> None:
    values = {
        "p": any_stack.config.get("namePrefix", "rpulse"),
        "e": any_stack.config["environment"],
        "s": any_stack.config["nameSuffix"],
    }
    for resource_type, (field, pattern) in NAME_FIELDS.items():
        assert any_stack.one(resource_type).inputs[field] == pattern.format(**values)
    storage = {r.name: r.inputs["accountName"] for r in any_stack.of_type("azure-native:storage:StorageAccount")}
    assert storage == {
        "raw-zone-account": "st{p}{e}raw{s}".format(**values),
        "function-host-storage": "st{p}{e}fn{s}".format(**values),
    }
    alert_prefix = "alert-{p}-{e}-".format(**values)
    for alert in any_stack.of_type("azure-native:monitor:MetricAlert") + any_stack.of_type(
        "azure-native:monitor:ScheduledQueryRule"
    ):
        assert alert.inputs["ruleName"].startswith(alert_prefix)


def test_longest_allowed_names_fit_azure_limits() -> None:
    naming = Naming(prefix="abcdefgh", environment="stage", suffix="zzzzzz")
    assert len(naming.global_("kv")) <= 24
    assert len(naming.storage("raw")) <= 24
    assert len(naming.global_("evhns")) <= 50
    with pytest.raises(ValueError, match="longer than the 24 characters"):
        Naming(prefix="abcdefgh", environment="stage", suffix="zzzzzzz").storage("raw")
