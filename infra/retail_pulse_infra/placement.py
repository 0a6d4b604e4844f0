"""Where a component's resources go: resource group, region, names, tags."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from .naming import Naming

__all__ = ["Placement"]


@dataclass(frozen=True)
class Placement:
    """Shared by every component of one stack."""

    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming
    tags: Mapping[str, str]
    protect_data: bool
    """Pulumi ``protect`` on resources that hold data (set by ``protectStatefulResources``)."""

    def child(self, parent: pulumi.Resource, *, holds_data: bool = False, **extra: object) -> pulumi.ResourceOptions:
        """Options for a resource inside component `parent`."""
        return pulumi.ResourceOptions(parent=parent, protect=self.protect_data and holds_data, **extra)  # type: ignore[arg-type]
