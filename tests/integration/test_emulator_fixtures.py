"""The emulator fixtures themselves: started on demand, reachable on loopback, stopped after."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from shared.stores.npm_emulator import run_cosmosdb_server
from tests.fixtures.emulators import AzuriteEndpoints, run_azurite

pytestmark = pytest.mark.emulator


def _server_header(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.headers.get("server", ""))
    except urllib.error.HTTPError as refused:  # unauthenticated requests are refused, by Azurite itself
        return str(refused.headers.get("server", ""))


def test_azurite_serves_blob_queue_and_table_on_free_loopback_ports(azurite: AzuriteEndpoints) -> None:
    ports = (azurite.blob_port, azurite.queue_port, azurite.table_port)
    assert len(set(ports)) == 3
    for service, port in zip(("Blob", "Queue", "Table"), ports, strict=True):
        assert _server_header(f"http://127.0.0.1:{port}/devstoreaccount1?comp=list").startswith(f"Azurite-{service}")
    assert f"BlobEndpoint=http://127.0.0.1:{azurite.blob_port}/devstoreaccount1;" in azurite.connection_string


def test_servers_stop_when_their_context_exits(tmp_path: Path) -> None:
    with run_cosmosdb_server() as endpoint:
        assert urllib.request.urlopen(endpoint, timeout=5).status == 200
    with pytest.raises(OSError):
        urllib.request.urlopen(endpoint, timeout=2)
    with run_azurite(tmp_path) as endpoints:
        blob = f"http://127.0.0.1:{endpoints.blob_port}/"
    with pytest.raises(OSError):
        urllib.request.urlopen(blob, timeout=2)
