"""Issue 16.5: the batch path never accepts a body that is invalid alone.

Hostile producers send bodies that are not one event on their own but would be
valid items of a joined JSON array: two objects in one body (``{A},{B}``), an event
cut inside a string or inside its list of lines, mixed with valid bodies. Whatever
the mix, the batch path accepts exactly the bodies that validate alone.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.contracts.registry import event_adapter
from shared.pipeline.raw import RawEvent
from shared.pipeline.validation import validate_batch
from shared.topology import Source
from tests.support.samples import NOW, body


def _valid_alone(source: Source, data: bytes) -> bool:
    try:
        event_adapter(source).validate_json(data)
    except ValidationError:
        return False
    return True


@st.composite
def hostile_batches(draw: st.DrawFn) -> tuple[Source, list[bytes]]:
    source: Source = draw(st.sampled_from(["txn", "traffic", "fulfillment", "ops"]))
    bodies: list[bytes] = []
    for n in range(draw(st.integers(1, 12))):
        whole = body(source, n)
        kind = draw(st.sampled_from(["valid", "two_in_one", "cut", "cut_in_string", "unclosed"]))
        if kind == "valid":
            bodies.append(whole)
        elif kind == "two_in_one":  # one body holding two events: two items of a joined array
            bodies.append(whole + b"," + body(source, n + 100))
        elif kind == "cut":  # one event in two bodies, cut anywhere (a joined array may glue them back)
            at = draw(st.integers(1, len(whole) - 1))
            bodies += [whole[:at], whole[at:]]
        elif kind == "cut_in_string":  # cut inside a string value; each half looks like an object
            at = whole.index(b'"test-1"') + 1  # inside source_system
            bodies += [whole[:at] + b"}", b"{" + whole[at:]]
        else:
            bodies.append(b'{"}')
    order = draw(st.permutations(range(len(bodies))))
    return source, [bodies[i] for i in order]


@given(hostile_batches())
@settings(max_examples=150, deadline=None)
def test_the_batch_path_accepts_exactly_the_bodies_valid_alone(case: tuple[Source, list[bytes]]) -> None:
    source, bodies = case
    raws = [RawEvent(b, "0", seq, str(seq), NOW) for seq, b in enumerate(bodies)]
    result = validate_batch(source, raws, NOW)
    accepted = {v.raw.sequence_number for v in result.accepted}
    assert accepted == {seq for seq, b in enumerate(bodies) if _valid_alone(source, b)}
    assert result.received == len(bodies)
    for valid in result.accepted:
        assert valid.event == event_adapter(source).validate_json(valid.raw.body)


def test_the_lines_of_the_issue_are_not_sales() -> None:
    """``{A},{B}`` is two items, an object cut inside a string two bodies glued into one item: the
    count of a joined array matched; body by body, none of them is an event."""
    a, b, c = body("txn", 1), body("txn", 2), body("txn", 3)
    cut = c.index(b'"test-1"') + 1  # inside source_system
    bodies = [a + b"," + b, c[:cut] + b"}", b"{" + c[cut:], b'{"}']
    result = validate_batch("txn", [RawEvent(x, "0", i, str(i), NOW) for i, x in enumerate(bodies)], NOW)
    assert result.accepted == [] and len(result.dead_letters) == 4
