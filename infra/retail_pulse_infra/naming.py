"""The naming convention and the standard tags.

Names follow the Azure Cloud Adoption Framework abbreviations:
``<kind>-<prefix>-<environment>`` for names that only need to be unique in the
resource group, ``<kind>-<prefix>-<environment>-<suffix>`` for the globally unique
ones (they become DNS names), and ``st<prefix><environment><purpose><suffix>`` for
storage accounts, which allow neither hyphens nor more than 24 characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import PROJECT, StackConfig

__all__ = ["Naming", "standard_tags"]

_LIMITS = {"kv": 24, "evhns": 50, "cosmos": 44, "func": 60, "st": 24}


@dataclass(frozen=True, slots=True)
class Naming:
    """Resource names of one stack."""

    prefix: str
    environment: str
    suffix: str

    @classmethod
    def of(cls, config: StackConfig) -> Naming:
        return cls(config.name_prefix, config.environment, config.name_suffix)

    def resource_group(self) -> str:
        return f"rg-{self.prefix}-{self.environment}"

    def local(self, kind: str) -> str:
        """A name unique within the resource group, e.g. ``log-rpulse-dev``."""
        return f"{kind}-{self.prefix}-{self.environment}"

    def global_(self, kind: str) -> str:
        """A globally unique (DNS) name, e.g. ``kv-rpulse-dev-k7q2``."""
        return self._checked(kind, f"{kind}-{self.prefix}-{self.environment}-{self.suffix}")

    def storage(self, purpose: str) -> str:
        """A storage account name, e.g. ``strpulsedevrawk7q2``."""
        return self._checked("st", f"st{self.prefix}{self.environment}{purpose}{self.suffix}")

    @staticmethod
    def _checked(kind: str, name: str) -> str:
        limit = _LIMITS.get(kind, 60)
        if len(name) > limit:
            raise ValueError(f"{name!r} is longer than the {limit} characters Azure allows for {kind}")
        return name


def standard_tags(config: StackConfig) -> Mapping[str, str]:
    """Tags of every taggable resource: the required ones plus ``extraTags``."""
    return {"project": PROJECT, "environment": config.environment, "managed-by": "pulumi"} | dict(config.extra_tags)
