"""A dead letter's body as an operator may read it: personal fields masked, whatever the body's shape.

The stored copy is sealed (`sealing.py`); what `dlq list` shows is this masked text,
computed once when the letter is written. Masking works on the text, not on parsed
JSON, because a dead letter is often not valid JSON: the value after a personal key
is replaced whether it is a string (also one cut off by a truncated body), a number
or a literal. Bytes that are not UTF-8 are shown as U+FFFD.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MASK", "MASKED_PREVIEW_CHARS", "PERSONAL_FIELDS", "mask_personal"]

PERSONAL_FIELDS: Final = ("customer_id", "account_id")
"""Fields of the contracts that identify a person (`customer_id`) or their tender / loyalty account."""
MASK: Final = "***"
MASKED_PREVIEW_CHARS: Final = 4096
"""The masked preview is cut here (the sealed body keeps every byte)."""

_VALUE = r'"(?:[^"\\]|\\.)*(?:"|$)|[^\s,}\]]+'
_PERSONAL = re.compile(r'("(?:' + "|".join(PERSONAL_FIELDS) + r')"\s*:\s*)(?:' + _VALUE + ")", re.DOTALL)


def mask_personal(body: bytes) -> str:
    """`body` as text with every personal field's value replaced by ``"***"`` (cut to the preview size)."""
    text = body.decode("utf-8", errors="replace")
    masked = _PERSONAL.sub(lambda match: f'{match.group(1)}"{MASK}"', text)
    if len(masked) > MASKED_PREVIEW_CHARS:
        return masked[:MASKED_PREVIEW_CHARS] + f"... ({len(masked) - MASKED_PREVIEW_CHARS} more characters)"
    return masked
