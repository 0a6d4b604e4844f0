"""`open_store(url)`: one string in settings chooses the adapter.

Accepted forms:

* ``sqlite:///abs/path/pulse.db`` - embedded store at an absolute path (URL
  semantics: the path is what follows ``sqlite://``); ``sqlite:relative/pulse.db``
  for a path relative to the working directory.
* ``https://<account>.documents.azure.com:443/`` - Cosmos DB with
  `DefaultAzureCredential` (managed identity); database `topology.COSMOS_DATABASE`
  unless ``?database=<name>`` is appended.
* ``cosmos://<host>[:port][?database=<name>][&emulator=npm|docker]`` - the same as
  ``https://<host>:<port>/``; with ``emulator=npm`` it is `@vercel/cosmosdb-server`
  over plain HTTP (``--no-ssl``), with ``emulator=docker`` the Microsoft emulator over
  HTTPS with its self-signed certificate. Both emulator forms use the public
  emulator key, only on loopback, and create the database and containers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from shared.stores.embedded import SqliteDocumentStore
from shared.stores.port import DocumentStore
from shared.topology import COSMOS_DATABASE

if TYPE_CHECKING:
    from shared.stores.cosmos_options import CosmosOptions

__all__ = ["open_store"]


def open_store(url: str) -> DocumentStore:
    """The `DocumentStore` that `url` names (see the module docstring); ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = parts.path if parts.netloc == "" else ""
        if not path or path == "/":
            raise ValueError(f"sqlite URL needs a file path, e.g. sqlite:///var/pulse.db: {url!r}")
        return SqliteDocumentStore(path)
    if parts.scheme not in ("https", "cosmos"):
        raise ValueError(f"unsupported store URL {url!r}: use sqlite:///path.db, https://... or cosmos://...")
    if not parts.hostname:
        raise ValueError(f"store URL {url!r} has no host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"database", "emulator"}
    if unknown:
        raise ValueError(f"unknown store URL parameter(s) {sorted(unknown)} in {url!r}")
    database = query.get("database", COSMOS_DATABASE)
    emulator = query.get("emulator")
    netloc = parts.netloc
    if emulator is None:
        return _cosmos(f"https://{netloc}/", database, None, None)

    from shared.stores.cosmos_auth import EMULATOR_KEY
    from shared.stores.cosmos_options import CosmosOptions

    if emulator == "npm":
        return _cosmos(f"http://{netloc}/", database, EMULATOR_KEY, CosmosOptions.for_npm_server())
    if emulator == "docker":
        return _cosmos(f"https://{netloc}/", database, EMULATOR_KEY, CosmosOptions.for_docker_emulator())
    raise ValueError(f"emulator must be 'npm' or 'docker', not {emulator!r}")


def _cosmos(endpoint: str, database: str, key: str | None, options: CosmosOptions | None) -> DocumentStore:
    # Imported here so that using the embedded store never loads the Azure SDK.
    from shared.stores.cosmos import CosmosDocumentStore

    return CosmosDocumentStore(endpoint, database, credential=key, options=options)
