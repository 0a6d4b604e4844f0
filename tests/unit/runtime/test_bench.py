"""The runtime micro-benchmark still runs end to end (tiny size; the figures are not asserted)."""

from __future__ import annotations

from shared.runtime.bench import main


def test_bench_prints_a_row_per_measure() -> None:
    lines: list[str] = []
    main(["--messages", "3000", "--partitions", "2", "--batch-size", "500"], emit=lines.append)
    rows = [line for line in lines if line.startswith("| log") or line.startswith("| end to end")]
    assert len(rows) == 7 and all(line.rstrip(" |").split("| ")[-1].replace(",", "").isdigit() for line in rows)
