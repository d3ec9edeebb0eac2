"""Pure parts of the kernel-level run flags: ulimits, device cgroup rules, and the new
linux.resources entries as cgroup v1/v2 settings."""

from __future__ import annotations

import pytest
from stdc.engine.kernel_limits import device_cgroup_rule
from stdc.engine.kernel_options import UNLIMITED, parse_ulimit
from stdc.errors import BadInput
from stdc.kit.cgroupsettings import Setting, io_weight, settings


def test_ulimits_docker_syntax():
    assert parse_ulimit("nofile=10:20") == {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 20}
    assert parse_ulimit("nproc=5") == {"type": "RLIMIT_NPROC", "soft": 5, "hard": 5}
    assert parse_ulimit("core=-1") == {"type": "RLIMIT_CORE", "soft": UNLIMITED, "hard": UNLIMITED}
    for bad in ("nofile", "nofile=", "nofile=a", "nofile=-2", "nofile=3:2", "bogus=1"):
        with pytest.raises(BadInput):
            parse_ulimit(bad)


def test_device_cgroup_rules():
    assert device_cgroup_rule("c 1:3 mr") == {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rm"}
    assert device_cgroup_rule("b *:* rwm") == {"allow": True, "type": "b", "access": "rwm"}
    with pytest.raises(BadInput):
        device_cgroup_rule("c 1:3")


def test_block_io_memory_and_realtime_v1():
    resources = {
        "memory": {"swappiness": 10, "disableOOMKiller": True},
        "cpu": {"realtimePeriod": 1000000, "realtimeRuntime": 5000},
        "blockIO": {
            "weight": 300,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 200}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
        },
    }
    assert settings(resources, 1) == [
        Setting("memory", "memory.swappiness", "10"),
        Setting("memory", "memory.oom_control", "1"),
        Setting("cpu", "cpu.rt_period_us", "1000000"),
        Setting("cpu", "cpu.rt_runtime_us", "5000"),
        Setting("blkio", "blkio.weight", "300"),
        Setting("blkio", "blkio.weight_device", "8:0 200"),
        Setting("blkio", "blkio.throttle.read_bps_device", "8:0 1048576"),
        Setting("blkio", "blkio.throttle.write_iops_device", "8:0 100"),
    ]
    assert settings(resources, 2) == [
        Setting("io", "io.weight", f"default {io_weight(300)}"),
        Setting("io", "io.weight", f"8:0 {io_weight(200)}"),
        Setting("io", "io.max", "8:0 rbps=1048576 wiops=100"),
    ]
    assert (io_weight(10), io_weight(1000)) == (1, 10000)
