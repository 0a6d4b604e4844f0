"""The machine's CPU shares the live benchmarks print beside their latencies (`benchmarks._cpu`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks._cpu import MachineSample, disk_of, machine_sample, machine_shares


def test_shares_split_the_machines_busy_time_into_ours_others_and_steal() -> None:
    # 2 cores x 10 s = 20 core-seconds: ours 1 s, the machine busy 4 s, the hypervisor took 1 s.
    before = MachineSample(busy=10.0, steal=0.0, total=100.0, ours={1: 1.0, 2: 5.0})
    after = MachineSample(busy=14.0, steal=1.0, total=120.0, ours={1: 1.5, 3: 0.5, 4: 7.0})
    shares = machine_shares([before, after])
    assert shares is not None
    # pid 2 ended (what it spent is unknown, not negative), pid 4 is new (counted from the next interval)
    assert (shares.ours, shares.others, shares.stolen) == pytest.approx((2.5, 17.5, 5.0))


def test_shares_add_up_interval_by_interval() -> None:
    a = MachineSample(0.0, 0.0, 0.0, {1: 0.0, 2: 0.0})
    b = MachineSample(2.0, 0.0, 10.0, {1: 1.0, 2: 1.0})
    c = MachineSample(4.0, 0.0, 20.0, {1: 2.0})  # pid 2 ended: its second second is "others" now
    shares = machine_shares([a, b, c])
    assert shares is not None and (shares.ours, shares.others) == pytest.approx((15.0, 5.0))
    assert machine_shares([a]) is None


def test_a_real_sample_sees_this_process_spend_cpu() -> None:
    first = machine_sample()
    sum(i * i for i in range(300_000))
    second = machine_sample()
    assert os.getpid() in second.ours and second.ours[os.getpid()] >= first.ours[os.getpid()]
    assert second.total >= first.total > 0 and second.busy >= first.busy


def test_the_disk_share_is_io_time_over_wall_time() -> None:
    # 10 s of wall time on 2 cores: the disk busy 2.5 s, 40 MiB written
    before = MachineSample(0.0, 0.0, 0.0, {}, disk=(100.0, 1_000.0), wall=50.0)
    after = MachineSample(5.0, 0.0, 20.0, {}, disk=(102.5, 1_040.0), wall=60.0)
    shares = machine_shares([before, after])
    assert shares is not None and (shares.disk_busy, shares.disk_mib_s) == pytest.approx((25.0, 4.0))
    no_disk = machine_shares([MachineSample(0.0, 0.0, 0.0, {}), after])
    assert no_disk is not None and no_disk.disk_busy is None and no_disk.disk_mib_s is None


def test_a_real_sample_reads_the_disk_that_holds_a_folder(tmp_path: Path) -> None:
    device = disk_of(tmp_path)
    listed = {tuple(map(int, line.split()[:2])) for line in Path("/proc/diskstats").read_text().splitlines()}
    sample = machine_sample(disk=device)
    if device in listed:  # a block device; an overlay or tmpfs folder has none, and the columns show "-"
        assert sample.disk is not None and sample.disk[0] >= 0 and sample.disk[1] >= 0
    else:
        assert sample.disk is None
