"""`python -m benchmarks` runs end to end on a small input and prints complete tables.

A functional check of the command (the README's figures come from it); it asserts
nothing about speed: timings belong in the benchmark's output, not in a test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _rows(output: str, title: str) -> dict[str, list[str]]:
    """The rows of the Markdown table under the heading that starts with `title`, by first cell."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"### {title}"))
    rows: dict[str, list[str]] = {}
    for line in lines[start + 4 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def _number(cell: str) -> float:
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), cell
    return float(cell.replace(",", ""))


def test_ingest_benchmark_prints_every_path_round_and_batch_size() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "ingest", "--events", "3000", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    out = done.stdout
    assert "best of 2 rounds" in out and "3,000 accepted" in out
    paths = _rows(out, "Ingest path")
    assert list(paths) == [
        "orjson.loads alone (floor)",
        "naive: json.loads + model_validate + 1 upsert per event",
        "ours: whole ingest path, 1,000-event batches",
    ]
    for name, (best, ratio, rounds, _writes) in paths.items():
        each = [_number(r) for r in rounds.split(" / ")]
        assert len(each) == 2 and _number(best) == max(each) > 0, name
        assert ratio.endswith("x")
    assert paths["orjson.loads alone (floor)"][1] == "1.00x"
    # One event-id registry entry per event (issue 16.2), plus pre-aggregated documents well under one.
    assert 1 < float(paths["ours: whole ingest path, 1,000-event batches"][3]) < 1.5
    sizes = _rows(out, "Document writes per event by batch size")
    assert list(sizes) == ["100", "1,000"]
    assert float(sizes["1,000"][0]) < float(sizes["100"][0])  # bigger batches, fewer writes per event
    assert "Round 2 of 2" in out and "our slowest round" in out
    assert "batch size 100" in done.stderr  # long work shows progress
