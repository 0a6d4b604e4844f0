"""Event Hubs: one hub per source, the Functions consumer group, Capture to the raw zone.

Local (SAS) authentication is off: producers and the app authenticate with Entra
ID. Capture writes Avro with the namespace's own managed identity, which gets
Storage Blob Data Contributor on the capture container only, before any hub exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlparse

import pulumi
from pulumi_azure_native import eventhub

from shared.topology import CONSUMER_GROUP, HUB_NAMES, SOURCES, Source

from .placement import Placement
from .roles import STORAGE_BLOB_DATA_CONTRIBUTOR, Grant, assign_role

__all__ = ["CAPTURE_ARCHIVE_NAME_FORMAT", "Eventing", "EventingArgs"]

CAPTURE_ARCHIVE_NAME_FORMAT = "{Namespace}/{EventHub}/{PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}"


@dataclass(frozen=True)
class EventingArgs:
    placement: Placement
    subscription_id: pulumi.Input[str]
    sku: Literal["Standard", "Premium"]
    capacity: int
    max_throughput_units: int
    partitions: Mapping[Source, int]
    retention_days: int
    capture_interval_seconds: int
    capture_size_limit_mb: int
    capture_account_id: pulumi.Input[str]
    capture_container_name: pulumi.Input[str]
    capture_container_id: pulumi.Input[str]


class Eventing(pulumi.ComponentResource):
    """Namespace, hubs, consumer groups and Capture."""

    namespace: eventhub.Namespace
    hubs: dict[Source, eventhub.EventHub]
    fully_qualified_namespace: pulumi.Output[str]

    def __init__(self, name: str, args: EventingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("retailpulse:infra:Eventing", name, None, opts)
        place = args.placement
        standard = args.sku == "Standard"
        self.namespace = eventhub.Namespace(
            "eventhubs-namespace",
            namespace_name=place.naming.global_("evhns"),
            resource_group_name=place.resource_group_name,
            location=place.location,
            sku=eventhub.SkuArgs(name=args.sku, tier=args.sku, capacity=args.capacity),
            is_auto_inflate_enabled=standard,
            maximum_throughput_units=args.max_throughput_units if standard else None,
            disable_local_auth=True,
            minimum_tls_version=eventhub.TlsVersion.TLS_VERSION_1_2,
            public_network_access="Enabled",
            identity=eventhub.IdentityArgs(type=eventhub.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            tags=place.tags,
            opts=place.child(self, holds_data=True),
        )
        capture_writer = assign_role(
            Grant(
                "capture-writes-raw-zone",
                role=STORAGE_BLOB_DATA_CONTRIBUTOR,
                scope=args.capture_container_id,
                principal_id=self.namespace.identity.apply(lambda identity: identity.principal_id),  # type: ignore[union-attr]
                why="Event Hubs Capture writes Avro into the raw-zone capture container",
            ),
            subscription_id=args.subscription_id,
            opts=place.child(self),
        )
        self.hubs = {}
        for source in SOURCES:
            hub = eventhub.EventHub(
                f"hub-{source}",
                event_hub_name=HUB_NAMES[source],
                namespace_name=self.namespace.name,
                resource_group_name=place.resource_group_name,
                partition_count=args.partitions[source],
                retention_description=eventhub.RetentionDescriptionArgs(
                    cleanup_policy=eventhub.CleanupPolicyRetentionDescription.DELETE,
                    retention_time_in_hours=args.retention_days * 24,
                ),
                capture_description=eventhub.CaptureDescriptionArgs(
                    enabled=True,
                    encoding=eventhub.EncodingCaptureDescription.AVRO,
                    interval_in_seconds=args.capture_interval_seconds,
                    size_limit_in_bytes=args.capture_size_limit_mb * 1024 * 1024,
                    skip_empty_archives=True,
                    destination=eventhub.DestinationArgs(
                        name="EventHubArchive.AzureBlockBlob",
                        storage_account_resource_id=args.capture_account_id,
                        blob_container=args.capture_container_name,
                        archive_name_format=CAPTURE_ARCHIVE_NAME_FORMAT,
                        identity=eventhub.CaptureIdentityArgs(type=eventhub.CaptureIdentityType.SYSTEM_ASSIGNED),
                    ),
                ),
                # Capture checks its write permission when the hub is created. A hub holds data, and a hub
                # created again counts its partitions from 0 while the store's progress remembers the old
                # numbers (the ingest handler then stops the partition: `PartitionRestarted`): protected too.
                opts=place.child(self, holds_data=True, depends_on=[capture_writer]),
            )
            eventhub.ConsumerGroup(
                f"consumer-group-{source}",
                consumer_group_name=CONSUMER_GROUP,
                event_hub_name=hub.name,
                namespace_name=self.namespace.name,
                resource_group_name=place.resource_group_name,
                user_metadata="Retail Pulse ingest functions",
                opts=place.child(self),
            )
            self.hubs[source] = hub
        self.fully_qualified_namespace = self.namespace.service_bus_endpoint.apply(
            lambda endpoint: urlparse(endpoint).hostname or ""
        )
        self.register_outputs({"fully_qualified_namespace": self.fully_qualified_namespace})
