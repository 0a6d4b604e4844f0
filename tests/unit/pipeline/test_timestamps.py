"""RFC 3339 parsing at the edges: one rule for CLI options, CSV cells and HTTP parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.timestamps import parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, tzinfo=UTC)),
        ("2026-11-26t10:00:00z", datetime(2026, 11, 26, 10, tzinfo=UTC)),
        ("2026-11-26 10:00:00+01:00", datetime(2026, 11, 26, 9, tzinfo=UTC)),
        ("2026-03-29T01:30:00.123456-02:30", datetime(2026, 3, 29, 4, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_with_an_offset_become_utc(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected and parsed.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-11-26T10:00:00", "not an RFC 3339 timestamp with offset"),  # no offset
        ("2026-11-26", "not an RFC 3339 timestamp with offset"),
        ("2026-11-26T10:00Z", "not an RFC 3339 timestamp with offset"),  # no seconds
        ("2026-11-26T10:00:00.1234567Z", "not an RFC 3339 timestamp with offset"),
        ("yesterday", "not an RFC 3339 timestamp with offset"),
        ("2026-02-30T10:00:00Z", "invalid timestamp"),
        ("2026-11-26T25:00:00Z", "invalid timestamp"),
    ],
)
def test_anything_else_is_a_value_error_that_names_the_text(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        parse_rfc3339(text)
    assert repr(text) in str(caught.value)
