"""Properties of batch validation: conservation, order, and equality with the one-by-one path."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.pipeline.dead_letters import ReasonCode
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.topology import SOURCES
from tests.support.samples import NOW, body, sample

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def bodies(draw: st.DrawFn, source: str) -> bytes:
    n = draw(st.integers(0, 10_000))
    kind = draw(st.sampled_from(["good", "good", "good", "bytes", "json", "mutated"]))
    if kind == "good":
        return body(source, n)  # type: ignore[arg-type]
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "json":
        return orjson.dumps(draw(json_values))
    event = sample(source, n)  # type: ignore[arg-type]
    field = draw(st.sampled_from(sorted(event)))
    event[field] = draw(json_values)
    return orjson.dumps(event)


@given(data=st.data(), source=st.sampled_from(SOURCES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_received_equals_accepted_plus_dead_lettered_and_matches_one_by_one(data: st.DataObject, source: str) -> None:
    batch = data.draw(st.lists(bodies(source), max_size=40))
    raws = [RawEvent(b, "0", i) for i, b in enumerate(batch)]

    result = validate_batch(source, raws, NOW)  # type: ignore[arg-type]

    assert result.received == len(raws)
    seen = sorted([v.raw.sequence_number for v in result.accepted] + [d.sequence_number for d in result.dead_letters])
    assert seen == list(range(len(raws)))  # every message ends exactly once
    accepted_seq = [v.raw.sequence_number for v in result.accepted]
    assert accepted_seq == sorted(accepted_seq)  # arrival order kept
    for raw in raws:  # the batch path decides exactly as the one-by-one path would
        alone = validate_batch(source, [raw], NOW)  # type: ignore[arg-type]
        in_batch_ok = raw.sequence_number in accepted_seq
        assert in_batch_ok == bool(alone.accepted)
        if not in_batch_ok:
            letter = next(d for d in result.dead_letters if d.sequence_number == raw.sequence_number)
            assert (letter.reason_code, letter.reason) == (
                alone.dead_letters[0].reason_code,
                alone.dead_letters[0].reason,
            )
            assert letter.raw == raw.body


def test_reasons_are_written_for_people() -> None:
    cases = {
        b"\xff": "not valid UTF-8: invalid start byte at byte 0",
        b"[]": "a JSON array instead of an object",
        body("txn", schema_version=7): "unknown schema_version 7",
        body("txn", amount=1.005): "amount: at most 2 decimals allowed",
        body("txn", event_type="refund"): "unknown event_type 'refund' for source txn (expected 'transaction')",
        body("traffic", colour="red"): "colour: unexpected field",
        b"x" * (2 << 20): "body larger than 1 MiB (2097152 bytes)",
    }
    for raw, reason in cases.items():
        source = "traffic" if b"footfall" in raw else "txn"
        result = validate_batch(source, [RawEvent(raw)], NOW)
        assert result.dead_letters[0].reason == reason


def test_reason_lists_nested_paths() -> None:
    bad = body("txn", lines=[{"product_id": "P1", "quantity": 1, "unit_price": 1.0}, {"product_id": "P2"}])
    letter = validate_batch("txn", [RawEvent(bad)], NOW).dead_letters[0]
    assert letter.reason_code == ReasonCode.MISSING_FIELD
    assert letter.reason == "lines[1].quantity: field required; lines[1].unit_price: field required"
