"""``linux.resources`` -> cgroup v1/v2 settings (stdc.kit.cgroupsettings): pure functions, no
container, no cgroup touched."""

from __future__ import annotations

import pytest
from stdc.kit.cgroupsettings import Setting, cpu_weight, settings, swap_alone

GIB = 1 << 30


def files(resources: dict, version: int, **kwargs: bool) -> dict[str, str]:
    return {s.file: s.value for s in settings(resources, version, **kwargs)}


def test_nothing_asked_nothing_written() -> None:
    assert settings({}, 1) == []
    assert settings(None, 2) == []
    assert settings({"memory": {}, "cpu": {}, "pids": {}}, 2) == []


def test_v2_memory_swap_is_swap_alone() -> None:
    got = files({"memory": {"limit": GIB, "swap": 3 * GIB}}, 2)
    assert got == {"memory.max": str(GIB), "memory.swap.max": str(2 * GIB)}


def test_v2_swap_equal_to_memory_means_no_swap() -> None:
    assert files({"memory": {"limit": GIB, "swap": GIB}}, 2)["memory.swap.max"] == "0"


def test_v2_unlimited_cases() -> None:
    # -1 swap: unlimited swap, whatever the memory limit
    assert files({"memory": {"limit": GIB, "swap": -1}}, 2)["memory.swap.max"] == "max"
    # memory unlimited: the swap figure cannot be split, it is taken as swap alone (runc)
    got = files({"memory": {"limit": -1, "swap": 2 * GIB}}, 2)
    assert got == {"memory.max": "max", "memory.swap.max": str(2 * GIB)}
    assert files({"memory": {"swap": 2 * GIB}}, 2) == {"memory.swap.max": str(2 * GIB)}
    assert files({"memory": {"reservation": -1}}, 2) == {"memory.low": "max"}


def test_swap_alone() -> None:
    assert swap_alone(3 * GIB, GIB) == 2 * GIB
    assert swap_alone(-1, GIB) == -1
    assert swap_alone(GIB, -1) == GIB
    assert swap_alone(GIB, None) == GIB


def test_v1_memory_counts_memory_and_swap_together() -> None:
    got = files({"memory": {"limit": GIB, "swap": 3 * GIB, "reservation": GIB // 2}}, 1)
    assert got == {
        "memory.limit_in_bytes": str(GIB),
        "memory.memsw.limit_in_bytes": str(3 * GIB),
        "memory.soft_limit_in_bytes": str(GIB // 2),
    }
    assert files({"memory": {"limit": -1, "swap": -1}}, 1) == {
        "memory.limit_in_bytes": "-1",
        "memory.memsw.limit_in_bytes": "-1",
    }


def test_v1_without_swap_accounting_leaves_swap_out() -> None:
    got = files({"memory": {"limit": GIB, "swap": 3 * GIB}}, 1, swap_accounting=False)
    assert got == {"memory.limit_in_bytes": str(GIB)}


def test_v1_memory_limit_before_swap_limit() -> None:
    # memsw may never be below the memory limit: the limit is written first
    order = [s.file for s in settings({"memory": {"limit": GIB, "swap": 2 * GIB}}, 1)]
    assert order == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (512, 20), (262144, 10000), (1, 1), (10**7, 10000)])
def test_cpu_weight_from_shares(shares: int, weight: int) -> None:
    assert cpu_weight(shares) == weight


def test_cpu_shares_and_weight() -> None:
    assert files({"cpu": {"shares": 512}}, 1) == {"cpu.shares": "512"}
    assert files({"cpu": {"shares": 512}}, 2) == {"cpu.weight": "20"}


def test_cpu_quota_and_period() -> None:
    cpu = {"quota": 50000, "period": 100000}
    assert files({"cpu": cpu}, 1) == {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000"}
    assert files({"cpu": cpu}, 2) == {"cpu.max": "50000 100000"}
    assert files({"cpu": {"quota": 25000}}, 2) == {"cpu.max": "25000 100000"}
    assert files({"cpu": {"period": 50000}}, 2) == {"cpu.max": "max 50000"}
    assert files({"cpu": {"quota": -1, "period": 50000}}, 2) == {"cpu.max": "max 50000"}


def test_cpuset_and_pids_alike_in_both_versions() -> None:
    resources = {"cpu": {"cpus": "0-1", "mems": "0"}, "pids": {"limit": 100}}
    for version in (1, 2):
        assert settings(resources, version) == [
            Setting("cpuset", "cpuset.cpus", "0-1"),
            Setting("cpuset", "cpuset.mems", "0"),
            Setting("pids", "pids.max", "100"),
        ]


@pytest.mark.parametrize("limit", [0, -1])
def test_pids_unlimited(limit: int) -> None:
    for version in (1, 2):
        assert files({"pids": {"limit": limit}}, version) == {"pids.max": "max"}


def test_controllers_named() -> None:
    resources = {"memory": {"limit": GIB}, "cpu": {"shares": 2048, "quota": 1000}, "pids": {"limit": 5}}
    for version in (1, 2):
        controllers = {s.controller for s in settings(resources, version)}
        assert controllers == {"memory", "cpu", "pids"}


def test_unknown_version_refused() -> None:
    with pytest.raises(ValueError):
        settings({}, 3)
