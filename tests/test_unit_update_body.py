"""Docker's UpdateConfig as the update verb's options (stdc.dockerapi.update_body), pure."""

from __future__ import annotations

import pytest
from stdc.dockerapi.update_body import update_options
from stdc.engine.kernel_limits import LimitFlags
from stdc.engine.live_update import UpdateOptions
from stdc.errors import BadInput


def test_the_docker_clis_zeros_change_nothing():
    body = {
        "BlkioWeight": 0, "CpuShares": 0, "CpuPeriod": 0, "CpuQuota": 0, "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Memory": 0, "MemoryReservation": 0,
        "MemorySwap": 0, "KernelMemory": 0, "NanoCpus": 0, "PidsLimit": None,
        "RestartPolicy": {"Name": "", "MaximumRetryCount": 0},
    }  # fmt: skip
    assert update_options(body) == UpdateOptions()


def test_fields_become_the_flags():
    body = {
        "Memory": 128 << 20, "MemorySwap": -1, "MemoryReservation": 64 << 20, "NanoCpus": 1_500_000_000,
        "CpuShares": 512, "CpusetCpus": "0", "CpuPeriod": 50000, "PidsLimit": 0, "BlkioWeight": 300,
        "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 4},
    }  # fmt: skip
    assert update_options(body) == UpdateOptions(
        memory=str(128 << 20),
        memory_swap="-1",
        cpus="1.5",
        cpu_shares=512,
        cpuset_cpus="0",
        pids_limit=0,
        restart="on-failure:4",
        limits=LimitFlags(memory_reservation=str(64 << 20), cpu_period=50000, blkio_weight=300),
    )
    assert update_options({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 0}}).restart == "always"


def test_a_value_of_the_wrong_type_is_bad_input():
    with pytest.raises(BadInput):
        update_options({"Memory": "lots"})
