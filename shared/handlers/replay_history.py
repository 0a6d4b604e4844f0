"""The history of dead-letter replays: one compact document per replayed batch, merged into the letters on read.

A replay does not rewrite its letters (each holds the raw bytes: rewriting 100,000 of them
cost more than replaying them). It writes one document per batch into the dead-letter
container — ``{"kind": "replay_batch", "attempts": [[letter id, position, outcome,
reason_code, reason], ...]}`` under the partition key ``replays|<source>`` — and readers
see each letter with its attempts folded in: ``replays`` (``at``, ``position``,
``outcome``, and ``reason_code``/``reason`` when it failed again), ``status``
(``resolved`` once an attempt resolved it), ``resolved_at``, ``last_reason_code`` and
``last_reason``. The letter's own ``reason_code``/``reason`` stay its first reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from shared.stores.port import Document, DocumentStore, WriteOp

__all__ = ["BATCH_KIND", "Attempt", "batch_document", "is_batch_document", "with_history"]

BATCH_KIND = "replay_batch"
Attempt = tuple[str, str, str, str | None, str | None]
"""(letter id, position in the replay partition, ``resolved``/``failed``, reason code, reason)."""


def batch_document(source: str, first_seq: int, at: str, attempts: Sequence[Attempt]) -> WriteOp:
    """The write that records one replayed batch (`first_seq`: its first position; unique per source)."""
    doc = {
        "id": f"replay|{source}|{first_seq}",
        "pk": _pk(source),
        "kind": BATCH_KIND,
        "at": at,
        "first_seq": first_seq,
        "attempts": [list(a) for a in attempts],
    }
    return WriteOp.upsert(doc)


def is_batch_document(doc: Document) -> bool:
    return doc.get("kind") == BATCH_KIND


def with_history(store: DocumentStore, container: str, letters: Iterable[Document]) -> list[Document]:
    """`letters` with their replay attempts folded in (see the module docstring); others unchanged."""
    letters = [d for d in letters if not is_batch_document(d)]
    attempts: dict[str, list[dict[str, Any]]] = {}
    for source in sorted({d["source"] for d in letters}):
        batches = store.query(container, pk=_pk(source))
        for batch in sorted(batches, key=lambda b: (b["at"], b["first_seq"])):
            for letter_id, position, outcome, code, reason in batch["attempts"]:
                attempt: dict[str, Any] = {"at": batch["at"], "position": position, "outcome": outcome}
                if code is not None:
                    attempt.update(reason_code=code, reason=reason)
                attempts.setdefault(letter_id, []).append(attempt)
    if not attempts:
        return letters
    return [_folded(d, attempts[d["id"]]) if d["id"] in attempts else d for d in letters]


def _folded(letter: Document, attempts: list[dict[str, Any]]) -> Document:
    doc = dict(letter)
    doc["replays"] = [*letter.get("replays", []), *attempts]
    for attempt in attempts:
        if attempt["outcome"] == "resolved" and doc.get("status") != "resolved":
            doc["status"], doc["resolved_at"] = "resolved", attempt["at"]
        elif attempt["outcome"] == "failed":
            doc["last_reason_code"], doc["last_reason"] = attempt["reason_code"], attempt["reason"]
    return doc


def _pk(source: str) -> str:
    return f"replays|{source}"
