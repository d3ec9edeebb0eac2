"""``stdc update`` (docker's ``update``) through the CLI: new limits reach a running container's
cgroup at once (read inside the container) and inspect's HostConfig; a stopped container's
record and bundle change, so its next start uses them; bad values change nothing."""

from __future__ import annotations

import json
import os

import pytest

EXECUTORS = ["native", "lxc"]
V1 = os.path.isdir("/sys/fs/cgroup/memory")


def _hc(stdc, ref):
    return json.loads(stdc("inspect", ref).stdout)[0]["HostConfig"]


def _memory_files(stdc, ref) -> list[str]:
    """The memory limit and the memory+swap (v1) or swap (v2) limit, as the container reads them."""
    files = (
        "/sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
        if V1
        else "/sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.swap.max"
    )
    return stdc("exec", ref, "sh", "-c", f"cat {files} 2>/dev/null; true").stdout.split()


def _cpu_files(stdc, ref) -> list[str]:
    """The CFS quota and period, and the pids limit, as the container reads them."""
    files = ["cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us", "pids/pids.max"] if V1 else ["cpu.max", "pids.max"]
    return stdc("exec", ref, "cat", *(f"/sys/fs/cgroup/{f}" for f in files)).stdout.split()


@pytest.mark.parametrize("executor", EXECUTORS)
def test_update_of_a_running_container_reaches_its_cgroup(stdc, executor):
    name = f"upd-{executor}"
    stdc("--exec", executor, "run", "-d", "--name", name, "--network", "none", "-m", "64m", "base", "sleep", "100")
    try:
        assert _memory_files(stdc, name)[0] == str(64 << 20)
        r = stdc("update", "-m", "128m", "--memory-swap", "256m", "--cpus", "0.5", "--pids-limit", "50", name)
        assert r.stdout == f"{name}\n"
        assert _memory_files(stdc, name)[:2] == ([str(128 << 20), str(256 << 20)] if V1 else [str(128 << 20)])
        assert _cpu_files(stdc, name) == ["50000", "100000", "50"]
        hc = _hc(stdc, name)
        assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"]) == (
            128 << 20, 256 << 20, 500_000_000, 50,
        )  # fmt: skip
        # lower again: v1 takes memory+swap after the memory limit then
        stdc("update", "-m", "32m", "--memory-swap", "48m", "--cpus", "0.2", name)
        assert _memory_files(stdc, name)[0] == str(32 << 20)
        hc = _hc(stdc, name)
        assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"]) == (32 << 20, 48 << 20, 200_000_000)
        assert _cpu_files(stdc, name)[:2] == ["20000", "100000"]
        refused = stdc("update", "--cpu-quota", "10000", name, check=False)
        assert (
            refused.returncode == 1 and "CPU Quota cannot be updated as NanoCPUs has already been set" in refused.stderr
        )
    finally:
        stdc("rm", "-f", name)


def test_update_of_a_stopped_container_is_used_at_its_next_start(stdc):
    name = "upd-stopped"
    stdc("create", "--name", name, "--network", "none", "-m", "64m", "--cpu-quota", "20000", "base", "sleep", "100")
    try:
        refused = stdc("update", "--cpus", "1", name, check=False)
        assert (
            refused.returncode == 1
            and "Nano CPUs cannot be updated as CPU Quota has already been set" in refused.stderr
        )
        stdc("update", "--cpu-period", "50000", name)
        assert (_hc(stdc, name)["CpuPeriod"], _hc(stdc, name)["CpuQuota"]) == (50000, 20000)
        assert stdc("update", "-m", "96m", "--memory-swap", "-1", "--restart", "on-failure:3", name).stdout == (
            f"{name}\n"
        )
        hc = _hc(stdc, name)
        assert (hc["Memory"], hc["MemorySwap"]) == (96 << 20, -1)
        assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        stdc("start", name)
        assert _memory_files(stdc, name)[0] == str(96 << 20)
        assert _cpu_files(stdc, name)[:2] == ["20000", "50000"]
    finally:
        stdc("rm", "-f", name)


def test_restart_policy_and_several_containers(stdc):
    names = ["upd-a", "upd-b"]
    for name in names:
        stdc("create", "--name", name, "--network", "none", "base", "true")
    try:
        r = stdc("update", "--restart", "always", *names, "upd-none", check=False)
        assert r.returncode == 1 and r.stdout.split() == names
        assert len(r.stderr.splitlines()) == 1 and "upd-none" in r.stderr
        assert [_hc(stdc, n)["RestartPolicy"]["Name"] for n in names] == ["always", "always"]
        stdc("update", "--restart", "no", "upd-a")
        assert _hc(stdc, "upd-a")["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    finally:
        stdc("rm", *names)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ([], "you must provide one or more flags"),
        (["-m", "1k"], "Minimum memory limit allowed is 6MB"),
        (["--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
        (["-m", "256m"], "Memory limit should be smaller than already set memoryswap limit"),
        (["--cpus", "half"], "invalid value 'half' for --cpus"),
        (["--cpus", "0.5", "--cpu-quota", "20000"], "Conflicting options: Nano CPUs and CPU Quota"),
        (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
        (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
    ],
)
def test_bad_values_change_nothing(stdc, flags, message):
    name = "upd-bad"
    stdc("create", "--name", name, "--network", "none", "-m", "64m", "base", "true")
    try:
        before = _hc(stdc, name)
        r = stdc("update", *flags, name, check=False)
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and message in r.stderr, r
        assert _hc(stdc, name) == before
    finally:
        stdc("rm", name)


def test_kernel_memory_is_accepted_and_warned(stdc):
    name = "upd-kmem"
    stdc("create", "--name", name, "--network", "none", "base", "true")
    try:
        r = stdc("update", "--kernel-memory", "50m", "--pids-limit", "10", name)
        assert r.stdout == f"{name}\n" and "Kernel memory limits are deprecated" in r.stderr
        assert _hc(stdc, name)["PidsLimit"] == 10
    finally:
        stdc("rm", name)


@pytest.mark.skipif(not V1, reason="v2 reclaims (and OOM-kills) instead of refusing a limit below the usage")
def test_memory_below_the_usage_is_refused_by_the_kernel(stdc):
    name = "upd-busy"
    stdc("run", "-d", "--name", name, "--network", "none", "-m", "64m", "--memory-swap", "64m", "base", "sleep", "100")
    try:
        stdc("exec", name, "sh", "-c", "head -c 30m /dev/zero > /dev/shm/fill")  # 30m charged to the container
        r = stdc("update", "-m", "8m", "--memory-swap", "8m", name, check=False)
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r
        assert "the container uses more than that now" in r.stderr
        assert _hc(stdc, name)["Memory"] == 64 << 20
    finally:
        stdc("rm", "-f", name)
