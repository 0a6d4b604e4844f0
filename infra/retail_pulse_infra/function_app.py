"""The Function App on Flex Consumption (FC1, Linux, Python 3.11).

It has a system-assigned identity (data access) and the vault's user-assigned
reader identity, named as ``keyVaultReferenceIdentity`` (see ``vault.py``); the
site is created only after that identity's Key Vault grant exists, so the
references resolve on the first start. No secret anywhere: the host storage
(``AzureWebJobsStorage``) and the deployment container are reached with that
identity, shared-key access on the host storage is off, and FTP/SCM basic-auth
publishing is disabled, so code is published with an Entra token only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import storage, web

from .placement import Placement
from .raw_zone import secure_storage_account

__all__ = ["DEPLOYMENT_CONTAINER", "FunctionApp", "FunctionAppArgs", "host_storage_settings"]

DEPLOYMENT_CONTAINER = "app-package"
PYTHON_VERSION = "3.11"


def host_storage_settings(account_name: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """Identity-based ``AzureWebJobsStorage`` (no connection string, no key)."""
    return {"AzureWebJobsStorage__accountName": account_name, "AzureWebJobsStorage__credential": "managedidentity"}


@dataclass(frozen=True)
class FunctionAppArgs:
    placement: Placement
    redundancy: str
    max_instances: int
    instance_memory_mb: int
    app_settings: Mapping[str, pulumi.Input[str]]
    """Everything but the host storage settings, which this component adds."""
    key_vault_reference_identity: pulumi.Input[str] | None = None
    """Resource id of the user-assigned identity that resolves Key Vault references."""
    site_depends_on: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Created before the site (the reference identity's Key Vault grant)."""


def _identity(reference_identity: pulumi.Input[str] | None) -> web.ManagedServiceIdentityArgs:
    if reference_identity is None:
        return web.ManagedServiceIdentityArgs(type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED)
    return web.ManagedServiceIdentityArgs(
        type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
        user_assigned_identities=[reference_identity],
    )


class FunctionApp(pulumi.ComponentResource):
    """Host storage, deployment container, FC1 plan and the site."""

    host_storage: storage.StorageAccount
    plan: web.AppServicePlan
    app: web.WebApp
    principal_id: pulumi.Output[str]
    url: pulumi.Output[str]
    deployment_container_url: pulumi.Output[str]

    def __init__(self, name: str, args: FunctionAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:FunctionApp", name, None, opts)
        place = args.placement
        self.host_storage = secure_storage_account(
            "function-host-storage",
            account_name=place.naming.storage("fn"),
            placement=place,
            redundancy=args.redundancy,
            hierarchical_namespace=False,
            network_rule_set=None,  # Flex Consumption without a VNet reaches its storage publicly (Entra ID only).
            opts=place.child(self),
        )
        deployment = storage.BlobContainer(
            "deployment-container",
            container_name=DEPLOYMENT_CONTAINER,
            account_name=self.host_storage.name,
            resource_group_name=place.resource_group_name,
            public_access=storage.PublicAccess.NONE,
            opts=place.child(self),
        )
        self.deployment_container_url = pulumi.Output.concat(self.host_storage.primary_endpoints.blob, deployment.name)
        self.plan = web.AppServicePlan(
            "function-plan",
            name=place.naming.local("asp"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            kind="functionapp",
            reserved=True,  # Linux
            sku=web.SkuDescriptionArgs(name="FC1", tier="FlexConsumption"),
            tags=place.tags,
            opts=place.child(self),
        )
        settings = {**host_storage_settings(self.host_storage.name), **args.app_settings}
        self.app = web.WebApp(
            "function-app",
            name=place.naming.global_("func"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            kind="functionapp,linux",
            server_farm_id=self.plan.id,
            https_only=True,
            client_affinity_enabled=False,
            identity=_identity(args.key_vault_reference_identity),
            key_vault_reference_identity=args.key_vault_reference_identity,
            function_app_config=web.FunctionAppConfigArgs(
                deployment=web.FunctionsDeploymentArgs(
                    storage=web.FunctionsDeploymentStorageArgs(
                        type=web.FunctionsDeploymentStorageType.BLOB_CONTAINER,
                        value=self.deployment_container_url,
                        authentication=web.FunctionsDeploymentStorageAuthenticationArgs(
                            type=web.AuthenticationType.SYSTEM_ASSIGNED_IDENTITY
                        ),
                    )
                ),
                runtime=web.FunctionsRuntimeArgs(name="python", version=PYTHON_VERSION),
                scale_and_concurrency=web.FunctionsScaleAndConcurrencyArgs(
                    maximum_instance_count=args.max_instances, instance_memory_mb=args.instance_memory_mb
                ),
            ),
            site_config=web.SiteConfigArgs(
                # Flex takes the runtime from function_app_config: FUNCTIONS_WORKER_RUNTIME and
                # FUNCTIONS_EXTENSION_VERSION must not be set here.
                app_settings=[web.NameValuePairArgs(name=key, value=value) for key, value in sorted(settings.items())],
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
            ),
            tags=place.tags,
            opts=place.child(self, depends_on=list(args.site_depends_on)),
        )
        for logical_name, policy in (
            ("function-app-ftp-basic-auth", web.WebAppFtpAllowed),
            ("function-app-scm-basic-auth", web.WebAppScmAllowed),
        ):
            policy(
                logical_name,
                name=self.app.name,
                resource_group_name=place.resource_group_name,
                allow=False,
                opts=place.child(self),
            )
        self.principal_id = self.app.identity.apply(lambda identity: identity.principal_id)  # type: ignore[union-attr]
        self.url = pulumi.Output.concat("https://", self.app.default_host_name)
        self.register_outputs({"url": self.url, "principal_id": self.principal_id})
