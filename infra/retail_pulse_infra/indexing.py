"""Cosmos DB indexing policy of each container of the engine's design.

Writes decide the bill, and every indexed path costs RU on every write. So each
container indexes everything it may be queried or sorted by (``/*``: ``/pk``,
``/view``, ``/scope``, ``/grain``, ``/window``, ``/key``, ``as_of``...) and leaves
out the bulky bodies nobody filters on: the event ids an aggregate written before
issue 14 remembers for exactly-once (``/ids``), its applied sequence numbers per
partition (``/applied``) and the verdicts of events it refused (``/refused``), the
child keys of a rollup (``/children``), the bytes of a dead letter (``/sealed``,
``/body_masked``; ``/raw_b64`` of letters from before sealing),
the rows an outbox item carries (``/rows``) and the state an outbox lease hands to
its next holder (``/state``). The event-id registry indexes nothing: it is point-read.
Including ``/*`` rather than listing paths keeps a new query field working (at
index cost) instead of failing an ``ORDER BY`` in Azure only, which the local
emulators would never show.
"""

from __future__ import annotations

from dataclasses import dataclass

from pulumi_azure_native import cosmosdb

__all__ = ["INDEXING", "IndexingSpec", "indexing_policy"]

_SYSTEM_EXCLUDED = '/"_etag"/?'


@dataclass(frozen=True, slots=True)
class IndexingSpec:
    """Paths left out of the index of one container, and why."""

    excluded: tuple[str, ...]
    why: str


INDEXING: dict[str, IndexingSpec] = {
    "views": IndexingSpec(
        ("/ids/*", "/applied/*", "/refused/*", "/children/*", "/segments/*"),
        "base-grain aggregates: the exactly-once bookkeeping is large and only read with the document",
    ),
    "rollups": IndexingSpec(
        (
            "/ids/*",
            "/applied/*",
            "/children/*",
            "/segments/*",
            "/open/*",
            "/due/*",
            "/stores/*",
            "/buckets/*",
            "/steps/?",
            "/minute_v/*",
        ),
        "rollups: same bookkeeping as the views, plus the child keys they sum, the backlog's orders and promises, "
        "and an hour's minute buckets, store versions and a store hour's last changes and minute versions",
    ),
    "orders": IndexingSpec(
        ("/ids/*", "/applied/*", "/refused/*", "/statuses/*", "/minute_v/*"),
        "order state: read by id through the change feed; its status history and minute versions are never queried",
    ),
    "deadletters": IndexingSpec(
        ("/sealed/*", "/body_masked/?", "/raw_b64/?"),
        "dead letters: filtered by source and reason, never by their (sealed or masked) bodies",
    ),
    "audit": IndexingSpec((), "one small document per batch"),
    "eventids": IndexingSpec(
        ("/position/?", "/received/?", "/content/?", "/masked/?", "/ttl/?"),
        "event-id registry: one create per event, then point reads by id only: no field is indexed",
    ),
    "outbox": IndexingSpec(
        ("/rows/*", "/state/*"),
        "pending pushes: read by sequence and kind; the rows and a lease's hand-on state ride along",
    ),
    "leases": IndexingSpec((), "change-feed leases: the processor's own queries need the default policy"),
    "alerts": IndexingSpec(
        ("/message/*", "/unrecorded/*"),
        "alert states, history, silences, deliveries: queried by type, rule, scope and time, never by payload",
    ),
}


def indexing_policy(container: str) -> cosmosdb.IndexingPolicyArgs:
    """Consistent indexing of ``/*`` minus the container's bulky paths."""
    if container not in INDEXING:  # a new container gets a deliberate policy, not a silent default
        raise KeyError(f"no indexing policy for Cosmos container {container!r}: add it to INDEXING")
    spec = INDEXING[container]
    return cosmosdb.IndexingPolicyArgs(
        automatic=True,
        indexing_mode=cosmosdb.IndexingMode.CONSISTENT,
        included_paths=[cosmosdb.IncludedPathArgs(path="/*")],
        excluded_paths=[cosmosdb.ExcludedPathArgs(path=path) for path in (*spec.excluded, _SYSTEM_EXCLUDED)],
    )
