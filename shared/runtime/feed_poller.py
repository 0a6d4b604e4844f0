"""A change-feed poller per container: pages to the rollup handler, lease token saved after success.

The continuation token lives in the `leases` container as ``{"id": "feed:<container>",
"continuation": ...}``, like the lease documents of the Functions change-feed
trigger, so a restarted host resumes where the last successful page ended. A page
whose handler failed is read again (at-least-once; the rollup handler is idempotent
on latest versions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from shared.handlers.ports import ChangeHandler
from shared.runtime.consumer import Step
from shared.runtime.faults import SimulatedCrash
from shared.runtime.retry import DeadlineExceeded, RetryPolicy, StopRequested, retry_transient
from shared.runtime.stats import Tally
from shared.stores.port import Document, DocumentStore, TransientStoreError
from shared.topology import LEASES_CONTAINER

__all__ = ["ChangeFeedPoller", "lease_id"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


def lease_id(container: str) -> str:
    """Id (and partition key) of the lease document of `container`'s feed."""
    return f"feed:{container}"


class ChangeFeedPoller:
    """Polls one container's change feed; drive it with `step()`."""

    def __init__(
        self,
        store: DocumentStore,
        handler: ChangeHandler,
        container: str,
        *,
        page_size: int,
        retry: RetryPolicy,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
    ) -> None:
        """Poll `container`; the token is loaded from its lease on the first step."""
        if container == LEASES_CONTAINER:
            raise ValueError("the leases container cannot drive rollups: each page would write a lease change")
        if page_size < 1:
            raise ValueError(f"page_size must be >= 1, got {page_size}")
        self.container = container
        self._store, self._handler, self._page_size = store, handler, page_size
        self._retry, self._clock, self._sleep = retry, clock, sleep
        self._lease_id = lease_id(container)
        self._token: str | None = None
        self._loaded = False
        self.tally = Tally()

    @property
    def continuation(self) -> str | None:
        """The token after the last page handled (as persisted)."""
        return self._token

    def step(self) -> Step:
        """Read one page after the token; hand it to the handler; persist the new token."""
        if not self._loaded:
            stored = self._retried(lambda: self._store.read(LEASES_CONTAINER, self._lease_id, self._lease_id))
            self._token = None if stored is None else stored.get("continuation")
            self._loaded = True
        token = self._token
        page = self._retried(lambda: self._store.change_feed(self.container, token, self._page_size))
        if not page.docs:
            return Step(worked=False)
        docs = page.docs
        try:
            outcome = self._retried(lambda: self._handler(self.container, docs, self._clock()))
        except SimulatedCrash:
            self.tally.bump("crashes")  # the token did not move: the page comes again
            return Step(worked=True)
        except (StopRequested, DeadlineExceeded):
            raise
        except Exception:
            logger.exception("rollup handler failed on %d changes of %s; stopping", len(docs), self.container)
            raise
        lease: Document = {"id": self._lease_id, "continuation": page.continuation, "container": self.container}
        try:
            self._retried(lambda: self._store.upsert(LEASES_CONTAINER, lease))
        except SimulatedCrash:  # a crash before the lease moved: the page comes again (the handler is idempotent)
            self.tally.bump("crashes")
            return Step(worked=True)
        self._token = page.continuation
        self.tally.add_page(outcome)
        return Step(worked=True)

    def _retried(self, call: Callable[[], T]) -> T:
        def on_retry(attempt: int, error: TransientStoreError) -> None:
            self.tally.bump("retries")
            logger.warning("transient store error on the %s feed (retry %d): %s", self.container, attempt, error)

        return retry_transient(call, self._retry, self._sleep, on_retry)
