"""What a worker builds once: validated settings, the store and the handlers (lazily, at first invocation).

Importing the blueprints (which the host does to index the app) reads no setting and
connects nowhere; the first invocation calls `runtime()`, which validates every
setting (`shared.settings.SettingsError` names a bad one), opens the document store
and loads the reference data. Later invocations on the same worker reuse it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.access.scopes import ScopeMap
from shared.bootstrap import Pipeline, build_pipeline
from shared.pipeline.sealing import BodySealer, KeyWrapper, local_key_file
from shared.runtime.gc_tuning import tune_gc_for_throughput
from shared.settings import Settings, load_settings
from shared.stores import open_store

__all__ = ["Runtime", "now", "reset_runtime", "runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    """The per-worker state every handler shares."""

    settings: Settings
    pipeline: Pipeline
    scopes: ScopeMap
    """The group-to-scope map of the managers' app roles (`PULSE_SCOPE_MAP`)."""


_lock = threading.Lock()
_current: list[Runtime] = []  # at most one; a list so no `global` statement is needed


def runtime() -> Runtime:
    """The worker's `Runtime`, built on first use from the process environment."""
    if _current:
        return _current[0]
    with _lock:  # the Python worker may run invocations on several threads
        if not _current:
            settings = load_settings()
            store = open_store(settings.document_store_url())
            try:
                pipeline = build_pipeline(
                    store,
                    settings.pii_key_bytes(),
                    settings.reference_dir,
                    settings.reporting_currency,
                    settings.limits(),
                    BodySealer(_dead_letter_key(settings)),
                )
            except BaseException:
                store.close()
                raise
            _current.append(Runtime(settings, pipeline, settings.scopes()))
            tune_gc_for_throughput()  # the worker lives long and ingests in batches
    return _current[0]


def _dead_letter_key(settings: Settings) -> KeyWrapper:
    """The Key Vault key (Azure) or the key file (local, tests) that wraps dead-letter data keys."""
    if settings.dead_letter_key_id is not None:
        from azure.identity import DefaultAzureCredential

        from shared.stores.key_vault_keys import KeyVaultKeyWrapper

        return KeyVaultKeyWrapper(settings.dead_letter_key_id, DefaultAzureCredential())
    assert settings.dead_letter_key_file is not None  # one of the two is set: checked by Settings
    return local_key_file(settings.dead_letter_key_file)


def reset_runtime() -> None:
    """Close and forget the worker's runtime (tests, or a settings change in a long-lived worker)."""
    with _lock:
        while _current:
            _current.pop().pipeline.store.close()


def now() -> datetime:
    """Processing time handed to the handlers (the entry points are where the clock is read)."""
    return datetime.now(UTC)
