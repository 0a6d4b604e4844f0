"""Rollups: the Cosmos DB change feed of ``views`` and ``orders`` drives the rollup cascade.

Two triggers share the ``leases`` container under distinct lease prefixes. The lease
container is created by `infra/` (``create_lease_container_if_not_exists=False``):
with an identity-based ``COSMOS__accountEndpoint`` the app's data-plane role cannot
create containers, and it should not. The rollup handler is idempotent (child
versions guard every parent), so a retried or replayed page is harmless; a raise
(transient store fault) retries the page before the lease moves on.
"""

# No `from __future__ import annotations` here: the worker resolves these annotations to pick converters.
import logging
from collections.abc import Callable

import azure.functions as func

from functions._retry import with_retry
from functions._runtime import now, runtime
from shared.topology import COSMOS_CONNECTION, COSMOS_DATABASE_SETTING, LEASES_CONTAINER

__all__ = ["FEED_CONTAINERS", "MAX_ITEMS_PER_INVOCATION", "bp", "roll_up"]

bp = func.Blueprint()  # type: ignore[no-untyped-call]
logger = logging.getLogger(__name__)

FEED_CONTAINERS = ("views", "orders")
"""Containers whose change feed feeds the rollup handler (as in the local runtime)."""
MAX_ITEMS_PER_INVOCATION = 1000
"""A page as large as the local change-feed poller's: parents touched by many children are written once."""


def roll_up(container: str, docs: func.DocumentList) -> None:
    """Hand the changed documents (latest versions) to the rollup handler and log what it wrote."""
    if not docs:
        return
    outcome = runtime().pipeline.rollup(container, [doc.to_dict() for doc in docs], now())
    logger.info("rollup %s: changes=%d writes=%d", container, outcome.changes, outcome.documents_written)


def _trigger(container: str) -> Callable[[func.DocumentList], None]:
    def handler(docs: func.DocumentList) -> None:
        roll_up(container, docs)

    handler.__name__ = handler.__qualname__ = f"rollup_{container}"
    return handler


for _container in FEED_CONTAINERS:
    bp.function_name(f"rollup_{_container}")(
        with_retry(bp)(
            bp.cosmos_db_trigger(
                arg_name="docs",
                connection=COSMOS_CONNECTION,
                database_name=f"%{COSMOS_DATABASE_SETTING}%",
                container_name=_container,
                lease_container_name=LEASES_CONTAINER,
                lease_container_prefix=f"{_container}-",
                create_lease_container_if_not_exists=False,
                start_from_beginning=True,  # see the module docstring
                max_items_per_invocation=MAX_ITEMS_PER_INVOCATION,
            )(_trigger(_container))
        )
    )
