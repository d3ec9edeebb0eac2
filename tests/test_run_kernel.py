"""The run flags that reach the kernel (issue 17 §2): ulimits, sysctls, namespaces, groups,
/dev/shm, OOM settings, cgroup limits, --cgroup-parent and --init, seen from inside the
container, with both executors; bad values refused before anything is made (through the CLI)."""

from __future__ import annotations

import glob
import json
import os

import pytest

EXECUTORS = ["native", "lxc"]


def _block_device() -> str:
    """A block device of the host (the throttle flags name one)."""
    for name in sorted(os.listdir("/sys/block")):
        if os.path.exists(f"/dev/{name}"):
            return f"/dev/{name}"
    pytest.skip("no block device node on this host")


def _read(path):
    with open(path) as f:
        return f.read()


def _hc(stdc, ref):
    return json.loads(stdc("inspect", ref).stdout)[0]["HostConfig"]


@pytest.mark.parametrize("executor", EXECUTORS)
def test_ulimits_sysctls_groups_shm_and_oom_score_inside(stdc, executor):
    script = (
        "ulimit -n; ulimit -Hn; ulimit -c; cat /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_forward "
        "/proc/self/oom_score_adj; id -G; df -k /dev/shm | tail -1"
    )
    host_shmmax = _read("/proc/sys/kernel/shmmax")
    r = stdc(
        "--exec", executor, "run", "--rm", "--network", "none",
        "--ulimit", "nofile=1000:2000", "--ulimit", "core=-1",
        "--sysctl", "kernel.shmmax=123456", "--sysctl", "net.ipv4.ip_forward=1",
        "--group-add", "1234", "--group-add", "tty", "--shm-size", "10m", "--oom-score-adj", "500",
        "base", "sh", "-c", script,
    )  # fmt: skip
    lines = r.stdout.splitlines()
    assert lines[:7] == ["1000", "2000", "unlimited", "123456", "1", "500", "0 5 1234"]
    assert lines[7].split()[1] == "10240"  # 10m of tmpfs, in KiB
    assert _read("/proc/sys/kernel/shmmax") == host_shmmax  # the container's IPC namespace only


@pytest.mark.parametrize("executor", EXECUTORS)
def test_cgroup_limits_in_the_container_cgroup(stdc, executor):
    device = _block_device()
    rdev = os.stat(device).st_rdev
    number = f"{os.major(rdev)}:{os.minor(rdev)}"
    if not os.path.exists("/sys/fs/cgroup/memory/memory.oom_control"):
        pytest.skip("cgroup v1 memory files are what this test reads")
    r = stdc(
        "--exec", executor, "run", "--rm", "--network", "none", "-m", "64m", "--memory-reservation", "32m",
        "--memory-swappiness", "10", "--oom-kill-disable", "--cpu-period", "50000", "--cpu-quota", "25000",
        "--cpuset-mems", "0", "--device-read-bps", f"{device}:1mb", "--device-write-iops", f"{device}:100",
        "base", "sh", "-c",
        "cd /sys/fs/cgroup; cat memory/memory.soft_limit_in_bytes memory/memory.swappiness memory/memory.oom_control "
        "cpu/cpu.cfs_period_us cpu/cpu.cfs_quota_us cpuset/cpuset.mems blkio/blkio.throttle.read_bps_device "
        "blkio/blkio.throttle.write_iops_device",
    )  # fmt: skip
    out = r.stdout.splitlines()
    assert out[:2] == ["33554432", "10"]
    assert "oom_kill_disable 1" in out
    assert out[-5:] == ["50000", "25000", "0", f"{number} 1048576", f"{number} 100"]


def test_limits_and_modes_in_inspect(stdc):
    cid = stdc(
        "create", "--ulimit", "nofile=10:20", "--sysctl", "net.ipv4.ip_forward=1", "--memory-reservation", "16m",
        "--cpu-period", "20000", "--shm-size", "1m", "--group-add", "7", "--oom-score-adj", "-5", "--ipc", "shareable",
        "--device-cgroup-rule", "c 1:3 r", "--init", "base", "true",
    ).stdout.strip()  # fmt: skip
    try:
        hc = _hc(stdc, cid)
        assert hc["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
        assert hc["Sysctls"] == {"net.ipv4.ip_forward": "1"}
        assert (hc["MemoryReservation"], hc["CpuPeriod"], hc["ShmSize"]) == (16 << 20, 20000, 1 << 20)
        assert (hc["GroupAdd"], hc["OomScoreAdj"], hc["IpcMode"], hc["PidMode"]) == (["7"], -5, "shareable", "")
        assert (hc["DeviceCgroupRules"], hc["Init"]) == (["c 1:3 r"], True)
    finally:
        stdc("rm", cid)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_pid_and_ipc_of_another_container(stdc, executor):
    stdc("--exec", executor, "run", "-d", "--name", f"ns-{executor}", "--network", "none", "base", "sleep", "100")
    try:
        theirs = stdc("exec", f"ns-{executor}", "readlink", "/proc/self/ns/ipc").stdout
        r = stdc(
            "--exec", executor, "run", "--rm", "--network", "none", "--pid", f"container:ns-{executor}",
            "--ipc", f"container:ns-{executor}", "base", "sh", "-c",
            "cat /proc/1/cmdline; echo; readlink /proc/self/ns/ipc",
        )  # fmt: skip
        first, ipc = r.stdout.splitlines()
        assert first == "sleep\x00100\x00" or first.startswith("sleep")
        assert ipc == theirs.strip()
        # the join is resolved at each start: the other container's init after its restart
        later = stdc("--exec", executor, "create", "--network", "none", "--pid", f"container:ns-{executor}", "base",
                     "sh", "-c", "cat /proc/1/cmdline").stdout.strip()  # fmt: skip
        try:
            stdc("restart", "-t", "0", f"ns-{executor}")
            assert stdc("start", "-a", later).stdout.startswith("sleep")
        finally:
            stdc("rm", "-f", later)
    finally:
        stdc("rm", "-f", f"ns-{executor}")


def test_host_namespaces_and_no_ipc(stdc):
    """--pid/--uts/--cgroupns/--ipc host (native: LXC cannot keep a host namespace here, the same
    as with --network host) and --ipc none (no /dev/shm)."""
    r = stdc(
        "run", "--rm", "--network", "none", "--pid", "host", "--uts", "host", "--ipc", "host", "--cgroupns", "host",
        "base", "sh", "-c", "for k in pid uts ipc cgroup; do readlink /proc/self/ns/$k; done",
    )  # fmt: skip
    assert r.stdout.split() == [os.readlink(f"/proc/self/ns/{k}") for k in ("pid", "uts", "ipc", "cgroup")]
    for executor in EXECUTORS:
        r = stdc("--exec", executor, "run", "--rm", "--network", "none", "--ipc", "none", "base", "ls", "/dev/shm",
                 check=False)  # fmt: skip
        assert r.returncode == 1 and "No such file" in r.stderr


@pytest.mark.parametrize("executor", EXECUTORS)
def test_init_is_pid_1_and_reaps(stdc, executor):
    r = stdc(
        "--exec", executor, "run", "--rm", "--network", "none", "--init", "base", "sh", "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; (sleep 0 &) ; sleep 0.2; ps -o stat | grep -c Z; true",
    )  # fmt: skip
    first, zombies = r.stdout.splitlines()[:2]
    assert first.startswith("/sbin/docker-init -- sh -c")
    assert zombies == "0"


@pytest.mark.parametrize("executor", EXECUTORS)
def test_cgroup_parent_under_stdc(stdc, root, executor):
    parent = os.environ["STDC_CGROUP_PARENT"]
    try:
        cid = stdc("--exec", executor, "run", "-d", "--network", "none", "--cgroup-parent", "batch", "base",
                   "sleep", "100").stdout.strip()  # fmt: skip
        try:
            assert os.path.isdir(f"/sys/fs/cgroup/pids/{parent}/batch/{cid}") or os.path.isdir(
                f"/sys/fs/cgroup/{parent}/batch/{cid}"
            )
        finally:
            stdc("rm", "-f", cid)
    finally:
        for level in glob.glob(f"/sys/fs/cgroup/*/{parent}/batch"):
            os.rmdir(level)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ulimit", "nofile"], "invalid ulimit argument: nofile"),
        (["--ulimit", "files=1"], "invalid ulimit type: files"),
        (["--ulimit", "nofile=20:10"], "ulimit soft limit must be less than or equal to hard limit"),
        (["--sysctl", "kernel.hostname=x"], "sysctl 'kernel.hostname' is not allowed"),
        (["--sysctl", "vm.swappiness=1"], "sysctl 'vm.swappiness' is not allowed"),
        (["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"], "not allowed in the host's network namespace"),
        (["--ipc", "host", "--sysctl", "kernel.shmmax=1"], "shares an IPC namespace"),
        (["--pid", "vm"], "invalid --pid value 'vm'"),
        (["--ipc", "container:"], "invalid --ipc value"),
        (["--pid", "container:nosuch"], "nosuch"),
        (["--uts", "host", "--hostname", "x"], "Conflicting options: hostname and the UTS mode"),
        (["--cgroup-parent", "/system/batch"], "stdc makes cgroups only under /stdc/"),
        (["--cgroup-parent", "../up"], "--cgroup-parent"),
        (["--group-add", "a b"], "--group-add"),
        (["--shm-size", "lots"], "--shm-size"),
        (["--oom-score-adj", "1001"], "range for oom score adj is [-1000, 1000]"),
        (["--memory-reservation", "1k"], "Minimum memory reservation allowed is 6MB"),
        (["-m", "16m", "--memory-reservation", "32m"], "can not be less than memory reservation"),
        (["--memory-swappiness", "101"], "valid memory swappiness range is 0-100"),
        (["--cpus", "1", "--cpu-period", "50000"], "Conflicting options: Nano CPUs and CPU Period"),
        (["--cpu-period", "10"], "CPU cfs period can not be less than 1ms"),
        (["--cpu-quota", "10"], "CPU cfs quota can not be less than 1ms"),
        (["--cpuset-mems", "99"], "Requested memory nodes are not available"),
        (["--blkio-weight", "5"], "Range of blkio weight is from 10 to 1000"),
        (["--device-read-bps", "/dev/null:1mb"], "/dev/null is not a block device"),
        (["--device-read-iops", "sda"], "expected /dev/DEVICE:VALUE"),
        (["--device-cgroup-rule", "x 1:3 rwm"], "invalid device cgroup rule"),
        (["--storage-opt", "size=1g"], "does not support per-container options"),
        (["--io-maxiops", "10"], "does not support Maximum IO Bandwidth or Maximum IO IOps"),
        (["--kernel-memory", "lots"], "--kernel-memory"),
    ],
)
def test_bad_kernel_flags_refused_and_nothing_created(stdc, flags, message):
    for command in ("run", "create"):
        r = stdc(command, *flags, "base", "true", check=False)
        assert r.returncode == 125, r
        assert len(r.stderr.splitlines()) == 1 and message in r.stderr, r.stderr
    assert stdc("ps", "-aq").stdout == ""


def test_discarded_flags_warn(stdc):
    r = stdc("run", "--rm", "--network", "none", "--kernel-memory", "10m", "--cpu-count", "2", "base", "true")
    assert "WARNING: Kernel memory limits are deprecated" in r.stderr
    assert "WARNING: linux does not support CPU count. Count discarded." in r.stderr


@pytest.mark.parametrize("executor", EXECUTORS)
def test_realtime_cpu_settings(stdc, executor):
    """--cpu-rt-period reaches the cgroup; a runtime beyond the parent's real-time budget (none
    here, as under docker without its daemon's --cpu-rt-runtime) fails the start, nothing left."""
    if not os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        pytest.skip("no cgroup v1 real-time cpu budget on this host")
    files = ["/sys/fs/cgroup/cpu/cpu.rt_period_us", "/sys/fs/cgroup/cpu/cpu.rt_runtime_us"]
    r = stdc("--exec", executor, "run", "--rm", "--network", "none", "--cpu-rt-period", "500000", "--cpu-rt-runtime",
             "0", "base", "cat", *files)  # fmt: skip
    assert r.stdout.split() == ["500000", "0"]
    r = stdc("--exec", executor, "run", "--rm", "--network", "none", "--cpu-rt-runtime", "1000", "base", "true",
             check=False)  # fmt: skip
    assert r.returncode == 125 and "rt_runtime_us" in r.stderr
    assert stdc("ps", "-aq").stdout == ""
