"""`python -m benchmarks` runs end to end on a small input and prints complete tables.

A functional check of the command (the README's figures come from it); it asserts
nothing about speed: timings belong in the benchmark's output, not in a test.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "benchmarks", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)


def _number(cell: str) -> float:
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), cell
    return float(cell.replace(",", ""))


_LIVE = [
    ("default (x1)", "0.25 s", "embedded linger"),
    ("default (x1)", "5 s", "Azure trigger defaults"),
    ("peak (x250)", "0.25 s", "embedded linger"),
    ("peak (x250)", "5 s", "Azure trigger defaults"),
]


def test_ingest_benchmark_prints_every_path_round_and_batch_size() -> None:
    # one write-cost round: each run draws an hour of the x250 stream in a fresh process (~25 s)
    done = _bench(
        "ingest", "--events", "3000", "--rounds", "2", "--cost-rounds", "1", "--cost-events", "1500", "--stores", "40"
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
    # Writes per event by kind (issue 14), primary + rollup and the registry apart, at both densities.
    kinds = _rows(out, "Writes per event by kind")
    live = [f"{d}, live {t} ticks ({w}), 1,500 events" for d, t, w in _LIVE]
    assert list(kinds) == ["default (x1)", "peak (x250)", "peak (x250), live 150-event batches", *live]
    peak = kinds["peak (x250)"]
    primary, registry, _bookkeeping, rollup, total = (float(x) for x in peak[1:6])
    assert registry == 1.0 and 0 < primary < 0.2 and rollup > 0 and total == pytest.approx(primary + rollup, abs=1e-3)
    # Live, a page writes every document it touches however few events it holds: the floor is far below.
    embedded, deployed = (float(kinds[live[i]][5]) for i in (2, 3))
    assert embedded > deployed > total
    # The rollup column by level: every run's levels add up to its rollup writes; at x1 (an event alone in
    # its store-minute) the views feed their store hours directly, so primary + rollup stays under 1.0.
    levels = _rows(out, "Rollup writes per event by level")
    assert list(levels) == list(kinds)
    for label, cells in levels.items():
        assert len(cells) == 13 and sum(float(c) for c in cells) == pytest.approx(float(kinds[label][4]), abs=2e-3)
    x1 = levels["default (x1)"]
    assert float(x1[1]) > 0 and float(x1[2]) > 0  # a store's hours and days are written
    assert float(kinds["default (x1)"][5]) < 1.0  # writes are counted, not timed: the x1 floor target
    sizes = _rows(out, "Rollup KB per write by level")
    assert list(sizes) == list(kinds)
    for label, cells in sizes.items():  # a size wherever that level was written, "-" wherever it was not
        assert [c == "-" for c in cells] == [float(n) == 0 for n in levels[label][:12]], label
    assert float(sizes["default (x1)"][1]) > float(sizes["default (x1)"][2]) > 0  # an hour holds its minutes
    # A minute is read from its hour: no store minute on `txn` (no orders), and none above the store.
    assert [float(levels["default (x1)"][i]) for i in (0, 3, 6, 9)] == [0.0, 0.0, 0.0, 0.0]
    # A big chain's pages, sized by level; the page's total last.
    chain = [line for line in out.splitlines() if line.startswith("| this checkout |")]
    assert "Rollup pages of a 40-store chain" in out and chain[-1].split("|")[2].strip() == "all levels"
    assert {line.split("|")[2].strip() for line in chain} >= {"store hour", "store day", "chain hour", "region day"}


def test_dead_letter_benchmark_prints_every_step_and_few_kek_calls() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "dead-letters", "--events", "2000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    rows = _rows(done.stdout, "Dead-letter sealing (2,000 txn bodies")
    steps = ["mask personal fields", "seal (AES-256-GCM)", "whole stored document (mask + seal + fields)"]
    assert list(rows)[:4] == [*steps, "open (replay)"]
    assert all(_number(rows[step][0]) > 0 for step in [*steps, "open (replay)"])
    (size,) = [name for name in rows if name.startswith("stored document size")]
    assert rows[size][1] == "1 for 4,000 seals"  # one data key serves many letters: one Key Vault call


def test_capture_replay_benchmark_prints_every_path_and_round() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "capture", "--events", "3000", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _rows(done.stdout, "Replay from the raw zone")
    assert len(rows) == 3
    for name, (rate, cost, rounds) in rows.items():
        assert _number(rate) > 0, name
        assert re.fullmatch(r"\d+\.\d\dx", cost), cost
        assert len(rounds.split(" / ")) == 2
    assert "the plain ingest per round (target <= 1.3x)" in done.stdout


def test_replay_benchmark_prints_replay_next_to_ingest_for_every_round() -> None:
    done = _bench("replay", "--events", "2000", "--rounds", "2")
    out = done.stdout
    assert "2,000 txn events (2,000 letters resolved)" in out and "best of 2 rounds" in out
    paths = _rows(out, "Dead-letter replay vs ingest")
    assert list(paths) == ["ingest, 1,000-event batches", "replay of the dead letters"]
    for name, (best, ratio, rounds) in paths.items():
        each = [_number(r) for r in rounds.split(" / ")]
        assert len(each) == 2 and _number(best) == max(each) > 0, name
        assert ratio.endswith("x")
    assert "Replay / ingest per round:" in out and "(target >= 0.50x)" in out
    assert "replay: 2,000/2,000" in done.stderr  # long work shows progress


def test_alerts_benchmark_prints_a_row_per_round() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "alerts", "--stores", "20", "--rules", "8", "--rounds", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    rows = _rows(done.stdout, "Alert evaluation, 8 rules over 20 stores")
    assert sorted(rows) == ["1", "2"]
    assert all(_number(row[0]) == 160 and _number(row[3]) > 0 for row in rows.values())
    (peak,) = re.findall(r"Peak memory of one evaluation \(tracemalloc, round 3\): ([0-9.]+) MiB", done.stdout)
    assert float(peak) > 0


def test_peers_benchmark_compares_every_store_minute_of_both_peers_with_ours() -> None:
    out = _bench("peers", "--events", "2000", "--rounds", "1").stdout
    systems = _rows(out, "Peers, 2,000 txn events")
    assert [name.split(":")[0].split(",")[0] for name in systems] == [
        "DuckDB",
        "Bytewax",
        "`pulse ingest`",
        "`pulse ingest`",
    ]
    for name, (best, rounds, vs_bytewax, vs_duckdb, cpu_s, cores) in systems.items():
        assert _number(best) == _number(rounds) > 0, name
        assert vs_bytewax.endswith("x") and vs_duckdb.endswith("x")
        if "elapsed_s" in name:  # the same runs as the row above
            assert (cpu_s, cores) == ("-", "-")
        else:
            assert float(cpu_s) > 0 and float(cores) > 0, name
    assert "pulse ingest / Bytewax:" in out and "In CPU time (all cores) pulse ingest used" in out
    match = re.search(r"Equality check: all ([\d,]+) store-minutes identical", out)
    assert match is not None and _number(match.group(1)) > 10


def test_peers_equality_check_reports_an_altered_peer_result_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import peers
    from benchmarks._peer_flows import Results

    altered: list[tuple[str, str]] = []

    def alter(results: Results) -> None:
        key = sorted(results)[len(results) // 2]
        results[key] = results[key]._replace(gross_cents=results[key].gross_cents + 1)  # one cent off
        altered.append(key)

    assert peers.run(events=500, rounds=1, alter=alter) == 1
    out = capsys.readouterr().out
    (store, minute) = altered[0]
    assert "Equality check FAILED: 1 differences" in out
    assert f"bytewax {store} {minute}: ours StoreMinute(" in out


def _latency(cell: str) -> float:
    assert re.fullmatch(r"(>= )?\d+\.\d\d", cell), cell
    return float(cell.removeprefix(">= "))


def test_freshness_benchmark_prints_rates_percentiles_and_the_highest_rate() -> None:
    done = _bench("freshness", "--rate", "150", "--duration", "6", "--rate-scale", "2")
    rows = _rows(done.stdout, "Freshness, delivery -> visible in GET /api/snapshot (6 s per rate, rate-scale 2")
    ((target, cells),) = rows.items()
    sent, processed, samples, p50, p95, p99, peak, rss = cells
    assert target == "150" and _number(sent) > 0 and _number(processed) > 0 and _number(samples) > 0
    assert _latency(p50) <= _latency(p95) <= _latency(p99) <= _latency(peak)
    assert _number(rss) > 0
    assert "Highest rate with p95 <= 1 s and p99 <= 2 s" in done.stdout and "Noise:" in done.stdout
    assert "150 ev/s:" in done.stderr  # progress while it runs
    work = _rows(done.stdout, "What the runtime did in those runs")
    ((target, cells),) = work.items()
    batches, per_batch, ingest_writes, pages, per_page, rollup_writes = map(_number, cells)
    assert target == "150" and batches > 0 and per_batch >= 1 and ingest_writes > 0
    assert pages > 0 and per_page >= 1 and rollup_writes > 0
    cores = _rows(done.stdout, "Where the cores went in those runs")
    ((target, cells),) = cores.items()
    host, per_event, host_others, main, producer, reader, total = (_number(c.rstrip(" %")) for c in cells)
    assert target == "150" and 0 < host <= 100 and per_event > 0 and host_others >= 0 and main > 0
    assert producer > 0 and reader > 0
    assert total == pytest.approx(host + host_others + main + producer + reader, abs=3)
    minutes = _rows(done.stdout, "Minute by minute at 150 ev/s")
    ((minute, cells),) = minutes.items()  # 6 s: one minute
    count, p95, p99, peak, ours, others, stolen, disk_busy, disk_written = cells
    assert minute == "1" and _number(count) == _number(samples)  # every sample, placed by when it was sent
    assert _latency(p95) <= _latency(p99) <= _latency(peak) and peak == rows["150"][6]
    ours, others, stolen = (_number(c.rstrip(" %")) for c in (ours, others, stolen))
    assert 0 < ours <= 100 and others >= 0 and stolen >= 0 and ours + others + stolen <= 101
    if disk_busy != "-":  # "-": the store's folder is on no block device (an overlay, tmpfs)
        assert 0 <= _number(disk_busy.rstrip(" %")) <= 101 and _number(disk_written) >= 0
    assert re.search(
        r"150 ev/s: over the measured window this benchmark's processes used \d+ % of the machine's cores, other"
        r" processes \d+ %, and the hypervisor took \d+\.\d % \(steal\)(; the run's disk was busy \d+ % of the time)?",
        done.stdout,
    )


def test_soak_benchmark_prints_rss_tables_and_verdicts() -> None:
    done = _bench("soak", "--minutes", "0.25", "--rate", "150", "--rate-scale", "2", "--demo-minutes", "0.2")
    load = _rows(done.stdout, "RSS under load: 150 ev/s target for 0.25 min, rate-scale 2")
    assert len(load) >= 2 and all(_number(mib) > 0 for (mib,) in load.values())
    demo = _rows(done.stdout, "RSS of `pulse demo` with its defaults (`make demo`), 0.2 min")
    assert demo and all(_number(mib) > 0 for (mib,) in demo.values())
    assert re.search(r"Max [\d,]+ MiB \(target < 400 MiB\): (met|NOT met)", done.stdout)
    assert re.search(r"Max [\d,]+ MiB \(target < 250 MiB\): (met|NOT met)", done.stdout)
    assert "Minute 2: the run is shorter than 2 minutes" in done.stdout
    parts = _rows(done.stdout, "RSS by process under load")
    assert parts and all(_number(cell) > 0 for cells in parts.values() for cell in cells)
    for runtime, main, host, *_ in parts.values():
        assert _number(runtime) == pytest.approx(_number(main) + _number(host), abs=1)
    assert "The runtime alone (its main and host processes):" in done.stdout
    assert re.search(r"p95 (>= )?\d+\.\d\d s", done.stdout)
    assert re.search(r"The machine: over the measured window this benchmark's processes used \d+ %", done.stdout)


def test_registry_benchmark_prints_creates_per_step_beside_the_baseline() -> None:
    done = _bench("registry", "--events", "1200", "--baseline", str(ROOT))
    rows = _rows(done.stdout, "Event-id registry creates as it grows, 1,200 entries in 200-entry batches")
    ((entries, (ours, base, ratio)),) = rows.items()
    assert entries == "1,200" and _number(ours) > 0 and _number(base) > 0
    assert re.fullmatch(r"\d+\.\d\dx", ratio)
    assert re.search(r"Store files at the end: this checkout [\d,]+ MB, baseline [\d,]+ MB\.", done.stdout)
