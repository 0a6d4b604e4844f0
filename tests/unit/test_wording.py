"""Counts in words: one dead letter, two dead letters."""

from __future__ import annotations

import pytest

from shared.wording import count_of


@pytest.mark.parametrize(
    ("number", "noun", "plural", "text"),
    [
        (0, "dead letter", None, "0 dead letters"),
        (1, "dead letter", None, "1 dead letter"),
        (2, "duplicate", None, "2 duplicates"),
        (1234, "message", None, "1,234 messages"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_count_of(number: int, noun: str, plural: str | None, text: str) -> None:
    assert count_of(number, noun, plural) == text
