"""Resident memory of a whole process tree, read from /proc (psutil is not a dependency).

RSS counts shared pages (the interpreter, SQLite's page cache mapped by two
processes) once per process, so a tree's sum is an upper bound, as `ps` and
psutil would report it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["process_rss_mib", "tree_pids", "tree_rss_mib"]

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0  # the process ended in between


def tree_pids(pid: int | None = None) -> list[int]:
    """`pid` (default: this process) and all its descendants alive now."""
    todo, seen = [pid or os.getpid()], []
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.append(current)
            todo += _children(current)
    return seen


def tree_rss_mib(pid: int | None = None) -> float:
    """RSS (MiB) of `pid` (default: this process) and all its descendants."""
    return sum(_rss_bytes(current) for current in tree_pids(pid)) / 2**20


def process_rss_mib(pid: int | None = None) -> float:
    """RSS (MiB) of `pid` alone (default: this process), without its children."""
    return _rss_bytes(pid or os.getpid()) / 2**20
