"""The one error a sub-command raises on purpose."""

from __future__ import annotations

__all__ = ["UsageError"]


class UsageError(Exception):
    """An unusable argument or input file: printed as one line, exit status 2."""
