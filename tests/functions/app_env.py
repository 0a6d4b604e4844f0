"""Fixtures: the Functions app against a real store: the embedded SQLite store, and `@vercel/cosmosdb-server`.

`app_env` sets every app setting (as Azure would, with a store override) and builds
the worker runtime the way the first invocation does; `call` invokes a function
exactly as the worker does, through the indexed app.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from functions._runtime import reset_runtime, runtime
from shared.stores.port import DocumentStore
from shared.topology import HUB_NAMES, SOURCES, hub_setting
from tests.fixtures.emulators import cosmos_target
from tests.functions.indexed import FUNCTIONS

__all__ = ["AppEnv", "app_env", "cosmos_target"]

SETTINGS: dict[str, str] = {
    "AzureWebJobsStorage__accountName": "stpulsefn",
    "EVENTHUB__fullyQualifiedNamespace": "evhns-pulse.servicebus.windows.net",
    "EVENTHUB_CONSUMER_GROUP": "pulse-functions",
    "COSMOS__accountEndpoint": "https://cosmos-pulse.documents.azure.com:443/",
    "COSMOS_DATABASE": "retailpulse",
    "PII_HMAC_KEY": "functions-test-pii-key-0123456789abcdef",
    "REPORTING_CURRENCY": "EUR",
    "ACCEPTED_LATENESS_DAYS": "7",
    **{hub_setting(source): HUB_NAMES[source] for source in SOURCES},
}

GROUP_DE013 = "6b1c3d1e-0000-4000-8000-00000000de13"
GROUP_DE_NORTH = "6b1c3d1e-0000-4000-8000-0000000d0b0e"
SCOPE_MAP = f'{{"{GROUP_DE013}": {{"stores": ["DE013"]}}, "{GROUP_DE_NORTH}": {{"regions": ["DE_NORTH"]}}}}'
"""The test deployment's group-to-scope map: one store group, one region group."""


@dataclass
class AppEnv:
    """The settings of the app under test and the means to change them."""

    monkeypatch: pytest.MonkeyPatch
    store_url: str

    def set(self, **changes: str | None) -> None:
        """Change settings (None removes one) and drop the worker runtime, as a restart would."""
        for name, value in changes.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)
        reset_runtime()

    @property
    def store(self) -> DocumentStore:
        return runtime().pipeline.store

    def call(self, name: str, *args: Any) -> Any:
        return FUNCTIONS[name].get_user_function()(*args)


def _store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'pulse.db'}"
    target = request.getfixturevalue("cosmos_target")
    netloc = urlsplit(target.endpoint).netloc
    return f"cosmos://{netloc}?emulator={target.kind}&database=fn-{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=["sqlite", pytest.param("cosmos", marks=pytest.mark.emulator)])
def app_env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AppEnv]:
    """The app configured against a fresh store of each kind."""
    env = AppEnv(monkeypatch, _store_url(request.param, tmp_path, request))
    for name, value in SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PULSE_STORE_URL", env.store_url)
    monkeypatch.setenv("PULSE_DEAD_LETTER_KEY_FILE", str(tmp_path / "functions.dlq-key"))
    monkeypatch.setenv("PULSE_SCOPE_MAP", SCOPE_MAP)
    reset_runtime()
    yield env
    reset_runtime()
