"""`total` sums segments in place: the same map as summing them with `merge_segments`, bound included."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from shared.engine.bounds import MAX_STORED_INT
from shared.rollups.segments import ALL_SEGMENT, merge_segments, total

counters = st.dictionaries(
    st.sampled_from(["gross_cents", "refund_cents", "sales", "units", "visitors"]),
    st.one_of(st.integers(-(10**6), 10**6), st.integers(MAX_STORED_INT - 10, MAX_STORED_INT)),
)
segments = st.dictionaries(st.sampled_from(["EAST|store|d1", "EAST|online|d1", "WEST|store|d2"]), counters)


@given(segments)
def test_total_is_the_merge_of_every_segment_into_one(parts: dict[str, dict[str, int]]) -> None:
    summed = total(parts)
    assert summed == merge_segments([{ALL_SEGMENT: c} for c in parts.values()]).get(ALL_SEGMENT, {})
    assert all(value <= MAX_STORED_INT for value in summed.values())


def test_total_copies_and_never_changes_the_document() -> None:
    doc = {"EAST|store|d1": {"sales": 2}}
    summed = total(doc)
    summed["sales"] += 1
    assert doc == {"EAST|store|d1": {"sales": 2}} and total({}) == {}
    assert total({"a": {"sales": MAX_STORED_INT}, "b": {"sales": 1}}) == {"sales": MAX_STORED_INT}
