"""The cost of sealing a dead letter: masking, AES-GCM under a data key, and KEK calls per letter.

One core, generated `txn` bodies (the source with personal fields), the embedded key
file as the KEK; in Azure the KEK call is a Key Vault round trip, which is why a data
key serves many letters (`BodySealer(max_uses=...)`): the table shows the calls.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import orjson

from benchmarks._common import print_table, timed
from shared.generator import generate
from shared.pipeline.dead_letters import DeadLetter, ReasonCode
from shared.pipeline.masking import mask_personal
from shared.pipeline.sealing import AesKeyWrap, BodySealer, WrappedKey

__all__ = ["run"]

START = datetime(2026, 11, 23, tzinfo=UTC)


class _CountingKek(AesKeyWrap):
    def __init__(self) -> None:
        super().__init__(secrets.token_bytes(32), "bench")
        self.calls = 0

    def wrap(self, data_key: bytes) -> WrappedKey:
        self.calls += 1
        return super().wrap(data_key)


def run(letters: int) -> None:
    """Print one table: per-letter microseconds of masking, sealing, the whole document, and opening."""
    bodies = [event.body for event in generate("txn", letters, seed=3, start=START)]
    dead = [
        DeadLetter("txn", ReasonCode.UNKNOWN_CURRENCY, "no rate", body, "0", i, str(i), START)
        for i, body in enumerate(bodies)
    ]
    kek = _CountingKek()
    sealer = BodySealer(kek)
    _, mask_s = timed(lambda: [mask_personal(body) for body in bodies])
    sealed, seal_s = timed(lambda: [sealer.seal(body, str(i)) for i, body in enumerate(bodies)])
    docs, doc_s = timed(lambda: [letter.to_document(sealer) for letter in dead])
    _, open_s = timed(lambda: [sealer.open(s, str(i)) for i, s in enumerate(sealed)])
    per = 1e6 / len(bodies)
    size = sum(len(orjson.dumps(d)) for d in docs) / len(docs)
    print_table(
        f"Dead-letter sealing ({len(bodies):,} txn bodies, {sum(map(len, bodies)) / len(bodies):,.0f} B average)",
        ("step", "µs per letter", "KEK calls"),
        [
            ("mask personal fields", f"{mask_s * per:.1f}", 0),
            ("seal (AES-256-GCM)", f"{seal_s * per:.1f}", ""),
            ("whole stored document (mask + seal + fields)", f"{doc_s * per:.1f}", ""),
            ("open (replay)", f"{open_s * per:.1f}", ""),
            (f"stored document size: {size:,.0f} B", "", f"{kek.calls} for {2 * len(bodies):,} seals"),
        ],
    )
