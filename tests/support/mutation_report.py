"""`make mutate`'s report: kill rate per module and every surviving mutant, from `mutmut results --all true`.

Reads the listing on stdin (lines ``    shared.money.x_convert_cents__mutmut_3: survived``) and
prints one line per module, the total, and the mutants that were not killed, which
`mutmut show NAME` displays as a diff. A timeout counts as killed (the mutant hangs);
mutants outside the run's selection are left out.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict

KILLED = {"killed", "timeout"}
UNJUDGED = {"skipped", "not checked"}
"""Mutants not run (outside the `mutmut run` selection): left out of the rate."""


def _module(mutant: str) -> str:
    """`shared.money.x_convert_cents__mutmut_3` -> `shared.money` (the part before the mangled function)."""
    parts = mutant.split(".")
    for index, part in enumerate(parts):
        if part.startswith(("x_", "xǁ")):
            return ".".join(parts[:index])
    return ".".join(parts[:-1])


def main() -> int:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for line in sys.stdin:
        name, sep, status = line.strip().rpartition(": ")
        if not sep or not name:
            continue
        if status in UNJUDGED:
            continue
        by_module[_module(name)][status] += 1
        if status not in KILLED:
            survivors.append(f"{name}: {status}")
    total: Counter[str] = Counter()
    print(f"{'module':45} {'mutants':>8} {'killed':>7} {'rate':>7}")
    for module, counts in sorted(by_module.items()):
        total.update(counts)
        print(_line(module, counts))
    print(_line("TOTAL", total))
    print(f"\nnot killed ({len(survivors)}); see one with `mutmut show NAME`:")
    for survivor in survivors:
        print(f"  {survivor}")
    return 0


def _line(label: str, counts: Counter[str]) -> str:
    judged = sum(counts.values())
    killed = sum(counts[status] for status in KILLED)
    rate = f"{100 * killed / judged:.1f}%" if judged else "-"
    return f"{label:45} {judged:>8} {killed:>7} {rate:>7}"


if __name__ == "__main__":
    raise SystemExit(main())
