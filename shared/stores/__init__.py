"""Document stores: the port the engine codes against, and its adapters.

``from shared.stores import DocumentStore, WriteOp, open_store`` is all the engine
needs. The Cosmos adapter lives in `shared.stores.cosmos` and is imported only when
a Cosmos URL is opened, so the embedded path never loads the Azure SDK.
"""

from shared.stores.embedded import SqliteDocumentStore
from shared.stores.factory import open_store
from shared.stores.port import (
    ChangeFeedPage,
    Conflict,
    Document,
    DocumentStore,
    NotFound,
    PreconditionFailed,
    Scalar,
    StoreError,
    TransientStoreError,
    WriteKind,
    WriteOp,
    WriteOutcome,
    WriteResult,
)

__all__ = [
    "ChangeFeedPage",
    "Conflict",
    "Document",
    "DocumentStore",
    "NotFound",
    "PreconditionFailed",
    "Scalar",
    "SqliteDocumentStore",
    "StoreError",
    "TransientStoreError",
    "WriteKind",
    "WriteOp",
    "WriteOutcome",
    "WriteResult",
    "open_store",
]
