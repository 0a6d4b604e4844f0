"""Wiring in one place: a store, reference data and a PII key become the two handlers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.handlers.ingest import IngestHandler
from shared.handlers.rollup import RollupHandler
from shared.pipeline.enrichment import Enricher
from shared.pipeline.limits import Limits
from shared.pipeline.pii import MIN_KEY_BYTES, Pseudonymiser
from shared.pipeline.sealing import BodySealer
from shared.reference import ReferenceData, demo_reference_dir, load_reference
from shared.stores.port import DocumentStore
from shared.topology import PII_KEY_SETTING

__all__ = ["DEMO_PII_KEY", "MissingSettingError", "Pipeline", "build_pipeline", "pii_key_from"]

DEMO_PII_KEY = b"retail-pulse-demo-only-key--never-use-in-production"
"""Used by `pulse demo` only, which generates synthetic customers."""


class MissingSettingError(ValueError):
    """A required setting is missing or unusable; the message names it."""


@dataclass(frozen=True, slots=True)
class Pipeline:
    """The handlers both hosts call, over one store."""

    store: DocumentStore
    reference: ReferenceData
    ingest: IngestHandler
    rollup: RollupHandler


def pii_key_from(environ: Mapping[str, str], *, demo: bool) -> bytes:
    """The pseudonymisation key from `PII_HMAC_KEY`; outside demo mode a missing key refuses to start."""
    value = environ.get(PII_KEY_SETTING, "")
    if not value:
        if demo:
            return DEMO_PII_KEY
        raise MissingSettingError(
            f"{PII_KEY_SETTING} is not set: customer ids are pseudonymised with HMAC-SHA256 and need a key of "
            f"at least {MIN_KEY_BYTES} bytes (in Azure it is a Key Vault reference)"
        )
    if value.startswith("@Microsoft.KeyVault("):
        raise MissingSettingError(f"{PII_KEY_SETTING} is an unresolved Key Vault reference (check the app's access)")
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise MissingSettingError(f"{PII_KEY_SETTING} must be at least {MIN_KEY_BYTES} bytes, got {len(key)}")
    return key


def build_pipeline(
    store: DocumentStore,
    pii_key: bytes,
    reference_dir: Path | None = None,
    reporting_currency: str = "EUR",
    limits: Limits | None = None,
    sealer: BodySealer | None = None,
) -> Pipeline:
    """Load the reference data (the demo set when no folder is given) and wire the handlers.

    `sealer` seals dead-letter bodies (None: a throw-away key, for benchmarks and tests).
    """
    reference = load_reference(reference_dir or demo_reference_dir(), reporting_currency)
    enricher = Enricher(reference, Pseudonymiser(pii_key))
    return Pipeline(store, reference, IngestHandler(store, enricher, limits, sealer), RollupHandler(store))
