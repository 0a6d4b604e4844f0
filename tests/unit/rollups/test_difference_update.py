"""Issue 14: a rollup parent updated by each child's difference equals the full re-sum of its children.

Children are kept packed (JSON text); the sum, the newest stamp and the children must
be what a re-computation from every child gives, whatever the order of versions.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.engine.bounds import MAX_STORED_INT
from shared.rollups.apply import child_of, next_version
from shared.rollups.cascade import Edge
from shared.rollups.keys import RollupKey
from shared.rollups.segments import Segments, merge_segments

KEY = RollupKey("store", "DE-BER-001", "hour", "2026-11-26T10:00:00Z")
SEGMENTS = ["EAST|store|2026-11-26", "EAST|online|2026-11-26", "EAST|store|2026-11-27"]
COUNTERS = ["sales", "net_cents", "units", "traffic_reports"]

values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.integers(MAX_STORED_INT // 2 - 10, MAX_STORED_INT),  # sums past the bound: held, as a re-sum holds them
)
segment_maps = st.dictionaries(
    st.sampled_from(SEGMENTS), st.dictionaries(st.sampled_from(COUNTERS), values, max_size=4), max_size=3
)
stamps = st.one_of(st.none(), st.sampled_from([f"2026-11-26T10:00:0{n}Z" for n in range(6)]))
edges = st.lists(
    st.tuples(st.sampled_from(["m00", "m01", "m02", "order:A"]), st.integers(1, 6), stamps, segment_maps),
    min_size=1,
    max_size=30,
)


def _resummed(doc: dict[str, Any]) -> Segments:
    return merge_segments(child_of(kept).segments for kept in doc["children"].values())


def _newest(doc: dict[str, Any]) -> str | None:
    return max((c.as_of for c in map(child_of, doc["children"].values()) if c.as_of), default=None)


@settings(max_examples=400, deadline=None)
@given(edges, st.integers(1, 5), st.booleans())
def test_the_difference_equals_a_re_sum_through_any_sequence_of_child_versions(
    sequence: list[tuple[str, int, str | None, Segments]], page: int, unpacked: bool
) -> None:
    doc: dict[str, Any] | None = None
    newest: dict[str, int] = {}
    for start in range(0, len(sequence), page):
        chunk = [Edge(KEY, child, v, as_of, seg) for child, v, as_of, seg in sequence[start : start + page]]
        before = None if doc is None else {**doc, "segments": {s: dict(c) for s, c in doc["segments"].items()}}
        nxt = next_version(doc, KEY, chunk)
        if nxt is None:
            assert all(e.version <= newest.get(e.child, 0) for e in chunk), "a newer version is never dropped"
            continue
        for e in chunk:
            newest[e.child] = max(newest.get(e.child, 0), e.version)
        assert {name: child_of(kept).version for name, kept in nxt["children"].items()} == newest
        assert nxt["segments"] == _resummed(nxt), "the sum of the children, segment by segment, counter by counter"
        assert nxt["as_of"] == _newest(nxt), "the newest stamp of the children"
        if before is not None:
            assert doc is not None and doc["segments"] == before["segments"], "the version read is not changed"
        doc = nxt
        if unpacked:  # as written before children were packed: objects, read the same way
            doc = {**nxt, "children": {name: _unpacked(kept) for name, kept in nxt["children"].items()}}


def _unpacked(kept: str) -> dict[str, Any]:
    child = child_of(kept)
    return {"v": child.version, "as_of": child.as_of, "segments": child.segments}


def test_a_counter_the_child_no_longer_has_leaves_the_sum_as_a_re_sum_would() -> None:
    old = Edge(KEY, "m00", 1, None, {SEGMENTS[0]: {"sales": 2, "units": 3}})
    new = Edge(KEY, "m00", 2, None, {SEGMENTS[1]: {"sales": 1}})
    doc = next_version(next_version(None, KEY, [old]), KEY, [new])
    assert doc is not None and doc["segments"] == {SEGMENTS[1]: {"sales": 1}}


def test_a_replayed_child_version_changes_nothing() -> None:
    edge = Edge(KEY, "m00", 3, "2026-11-26T10:00:05Z", {SEGMENTS[0]: {"sales": 2}})
    doc = next_version(None, KEY, [edge])
    assert doc is not None and next_version(doc, KEY, [edge]) is None
    assert next_version(doc, KEY, [Edge(KEY, "m00", 2, None, {SEGMENTS[0]: {"sales": 9}})]) is None


def test_a_sum_held_at_the_bound_is_re_summed_when_a_child_shrinks() -> None:
    big = MAX_STORED_INT // 2 + 10
    doc = next_version(None, KEY, [Edge(KEY, c, 1, None, {SEGMENTS[0]: {"sales": big}}) for c in ("m00", "m01")])
    assert doc is not None and doc["segments"][SEGMENTS[0]]["sales"] == MAX_STORED_INT  # held, and logged
    doc = next_version(doc, KEY, [Edge(KEY, "m00", 2, None, {SEGMENTS[0]: {"sales": big - 5}})])
    assert doc is not None and doc["segments"][SEGMENTS[0]]["sales"] == MAX_STORED_INT  # the true sum is still past it
