"""The executor conformance suite: what every executor does the same, on the real kernel.

Each test takes the fixture ``executor`` (an executor's name) and is parametrized over the
executors chosen by, in order: ``--stdc-exec NAME`` (with ``-p stdc.testing.plugin``), the
environment variable ``STDC_TEST_EXEC`` (comma-separated), a module-level ``EXECUTORS`` list in
the test module that star-imports this one, else every installed executor. That module may
also name ``KNOWN_FAILURES = {(test, executor): reason}``: strict xfails, never skips. An executor that is
not usable here fails the suite: it is never skipped.

Two levels: through the CLI (``stdc --exec NAME …`` in a private root: foreground and
detached runs, exit status, stdout/stderr, logs, stop/kill/wait/rm, isolation), and through the
hooks with a hand-written spec, for what the CLI does not expose (cgroup limits, rlimits, a
read-only root, joining a network namespace by path). Every test checks that it left no mount,
cgroup or monitor process behind. Needs root.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

__all__ = [
    "pytest_generate_tests",
    "executor",
    "exec_root",
    "cli",
    "spec_runner",
    "spec_workdir",
    "test_exit_status",
    "test_stdout_and_stderr_stay_separate",
    "test_command_not_found_is_127",
    "test_not_executable_is_126",
    "test_env_cwd_user_hostname",
    "test_user_by_name_from_the_image",
    "test_payload_is_pid_1_with_only_its_stdio",
    "test_own_network_with_loopback_only",
    "test_capabilities_and_no_new_privileges",
    "test_proc_masked_and_read_only",
    "test_cgroup_under_stdc",
    "test_detached_logs_and_wait",
    "test_stop_sends_term_then_status",
    "test_kill_reaches_the_payload",
    "test_foreground_forwards_signals",
    "test_rm_force_running",
    "test_restart_exited_container",
    "test_out_of_memory_is_137_and_oom_killed",
    "test_pids_limit_stops_a_fork_bomb",
    "test_cpus_limit_measured",
    "test_limits_in_the_cgroups_and_removed_with_them",
    "test_own_cgroup_visible_read_only_at_sys_fs_cgroup",
    "test_privileged_sees_its_cgroup_writable",
    "test_stats_and_top",
    "test_pause_unpause_then_kill_and_rm",
    "test_update_of_a_running_container",
    "test_stdin_with_i",
    "test_terminal_is_the_controlling_terminal",
    "test_terminal_comes_from_the_containers_devpts",
    "test_terminal_payload_is_pid_1",
    "test_terminal_output_is_logged_as_the_terminal_made_it",
    "test_exec_joins_the_running_container",
    "test_exec_exit_status_and_errors",
    "test_exec_terminal_user_env_workdir",
    "test_spec_memory_and_pids_limits",
    "test_spec_rlimits",
    "test_spec_create_waits_for_the_start_fifo",
    "test_spec_read_only_root",
    "test_spec_joins_network_namespace_by_path",
    "test_volume_written_by_one_container_read_by_another",
    "test_read_only_volume_refuses_writes",
    "test_read_only_root_leaves_shm_tmpfs_and_volumes_writable",
    "test_symlinked_volume_destination_stays_in_the_rootfs",
    "test_symlinked_proc_sys_dev_touch_nothing_outside",
]

CGROUP_ROOT = "/sys/fs/cgroup"
DEFAULT_BOUNDING = 0xA80425FB  # the OCI spec's (docker's) default capability set
STDC = os.path.join(os.path.dirname(sys.executable), "stdc")
#: STDC_TEST_SLOWDOWN=N stretches how long the suite waits for a command or a state (never what it
#: measures), for a kernel under emulation where each command takes N times as long
SLOWDOWN = float(os.environ.get("STDC_TEST_SLOWDOWN") or 1)


def _chosen(config: pytest.Config, module: object) -> list[str]:
    names: list[str] = []
    with contextlib.suppress(ValueError):
        names = list(config.getoption("--stdc-exec") or [])
    if not names and os.environ.get("STDC_TEST_EXEC"):
        names = [n for n in os.environ["STDC_TEST_EXEC"].split(",") if n]
    if not names:
        names = list(getattr(module, "EXECUTORS", []))
    if not names:
        from stdc import discovery

        names = discovery.installed_names("exec")
    return names


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    pinned = any(m.args and "executor" in str(m.args[0]) for m in metafunc.definition.iter_markers("parametrize"))
    if "executor" in metafunc.fixturenames and not pinned:
        # KNOWN_FAILURES = {(test name, executor): reason} in the importing module: strict xfail,
        # so a fixed executor turns it into a failure until the entry is removed
        known = getattr(metafunc.module, "KNOWN_FAILURES", {})
        params = [
            pytest.param(n, marks=pytest.mark.xfail(reason=known[key], strict=True))
            if (key := (metafunc.function.__name__, n)) in known
            else n
            for n in _chosen(metafunc.config, metafunc.module)
        ]
        metafunc.parametrize("executor", params, indirect=True, scope="session")


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def executor(request: pytest.FixtureRequest) -> str:
    """The executor under test; one that cannot work here fails, with its reason."""
    from stdc import discovery

    name = request.param
    if os.geteuid() != 0:
        pytest.fail("the executor suite runs real containers and needs root")
    reason = discovery.load("exec", name).unusable()
    assert reason is None, f"executor {name} is not usable here: {reason}"
    return name


@pytest.fixture(scope="session")
def exec_root() -> Iterator[str]:
    """A private stdc root for the suite; everything in it is removed at the end."""
    path = tempfile.mkdtemp(prefix="stdc-exec-suite-", dir="/var/tmp")
    yield path
    ids = subprocess.run([STDC, "--root", path, "ps", "-aq", "--no-trunc"], capture_output=True, text=True).stdout
    if ids.split():
        subprocess.run([STDC, "--root", path, "rm", "-f", *ids.split()], capture_output=True, timeout=120)
    shutil.rmtree(path, ignore_errors=True)


def _traces(root: str) -> dict[str, set[str]]:
    """What a container may leave on the host: mounts, cgroups under stdc/, monitor processes."""
    with open("/proc/self/mountinfo") as f:
        mounts = {line.split()[4] for line in f if root in line}
    cgroups = {p for p in glob.glob(f"{CGROUP_ROOT}/*/stdc/*") + glob.glob(f"{CGROUP_ROOT}/stdc/*") if os.path.isdir(p)}
    monitors = set()
    for cmdline in glob.glob("/proc/[0-9]*/cmdline"):
        with contextlib.suppress(OSError), open(cmdline, "rb") as f:
            argv = f.read().split(b"\0")
            if root.encode() in b" ".join(argv) or any(root.encode() in a for a in argv):
                monitors.add(cmdline.split("/")[2])
    return {"mounts": mounts, "cgroups": cgroups, "processes": monitors}


class Cli:
    """``cli("run", "--rm", "base", "true")``: the CLI with ``--exec`` and the private root.

    ``seen`` collects the ids of the containers that existed while it ran (other stdc roots on
    the host make cgroups under stdc/ too: only these are this suite's)."""

    def __init__(self, root: str, executor: str) -> None:
        self.root, self.executor = root, executor
        self.seen: set[str] = set()

    def argv(self, *args: str) -> list[str]:
        # the executor under test, and no network provider: its containers get a network of
        # their own with loopback only, and no bridge is made in the suite's private root
        return [STDC, "--root", self.root, "--exec", self.executor, "--net", "none", *args]

    def _look(self, done: threading.Event) -> None:
        containers = os.path.join(self.root, "containers")
        while True:
            with contextlib.suppress(OSError):
                self.seen.update(os.listdir(containers))
            if done.wait(0.005):
                return

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 60, input: str | None = None
    ) -> subprocess.CompletedProcess:
        done = threading.Event()
        looker = threading.Thread(target=self._look, args=(done,), daemon=True)
        looker.start()
        try:
            # the suite finds its containers' cgroups at stdc/<id>, whatever parent the caller set
            env = {k: v for k, v in os.environ.items() if k != "STDC_CGROUP_PARENT"}
            stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
            result = subprocess.run(
                self.argv(*args), capture_output=True, text=True, timeout=timeout * SLOWDOWN, env=env, **stdin
            )
        finally:
            done.set()
            looker.join()
        if check and result.returncode != 0:
            raise AssertionError(f"stdc {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def inspect(self, ref: str) -> dict:
        return json.loads(self("inspect", ref).stdout)[0]


@pytest.fixture
def cli(executor: str, exec_root: str) -> Iterator[Cli]:
    """The CLI against the executor under test; the test must leave nothing behind."""
    before = _traces(exec_root)
    runner = Cli(exec_root, executor)
    yield runner
    _assert_nothing_left(before, _traces(exec_root), runner.seen)


def _assert_nothing_left(before: dict[str, set[str]], after: dict[str, set[str]], ids: set[str]) -> None:
    after["cgroups"] = {p for p in after["cgroups"] if os.path.basename(p).split(".")[0] in ids}
    for kind in before:
        assert after[kind] <= before[kind], f"left behind {kind}: {sorted(after[kind] - before[kind])}"


def _wait_for(predicate: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout * SLOWDOWN
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# -- through the CLI ------------------------------------------------------------------------------


def test_exit_status(cli: Cli) -> None:
    for code in (0, 3, 255):
        assert cli("run", "--rm", "base", "sh", "-c", f"exit {code}", check=False).returncode == code


def test_stdout_and_stderr_stay_separate(cli: Cli) -> None:
    r = cli("run", "--rm", "base", "sh", "-c", "echo out; echo err >&2; echo out2")
    assert (r.stdout, r.stderr) == ("out\nout2\n", "err\n")


def test_command_not_found_is_127(cli: Cli) -> None:
    for command in ("no-such-command", "/no/such/file"):
        r = cli("run", "--rm", "base", command, check=False)
        assert r.returncode == 127
        assert command in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert cli("ps", "-aq").stdout == ""


def test_not_executable_is_126(cli: Cli) -> None:
    r = cli("run", "--name", "noexec", "base", "/etc/passwd", check=False)
    assert r.returncode == 126
    assert "/etc/passwd" in r.stderr
    assert cli.inspect("noexec")["State"]["Status"] == "exited"
    cli("rm", "noexec")


def test_env_cwd_user_hostname(cli: Cli) -> None:
    script = 'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)|$HOME"'
    r = cli("run", "--rm", "-e", "GREETING=hi there", "-w", "/made/here", "-u", "1000:1001", "--hostname", "box",
            "base", "sh", "-c", script)  # fmt: skip
    assert r.stdout == "hi there|/made/here|1000:1001|box|/\n"
    env = cli("run", "--rm", "base", "env").stdout.splitlines()
    assert not [line for line in env if line.startswith("STDC_")], "the host's environment leaked in"


def test_user_by_name_from_the_image(cli: Cli) -> None:
    r = cli("run", "--rm", "-u", "root", "base", "sh", "-c", 'echo "$(id -u) $HOME"')
    assert r.stdout == "0 /root\n"
    r = cli("run", "--rm", "-u", "nosuchuser", "base", "true", check=False)
    assert r.returncode != 0 and "nosuchuser" in r.stderr


def test_payload_is_pid_1_with_only_its_stdio(cli: Cli) -> None:
    r = cli("run", "--rm", "base", "sh", "-c", "echo $$; ls /proc/self/fd")
    pid, *fds = r.stdout.split()
    assert pid == "1"
    # 0-2 and the directory ls itself reads
    assert len(fds) == 4 and fds[:3] == ["0", "1", "2"], fds


def test_own_network_with_loopback_only(cli: Cli) -> None:
    r = cli("run", "--rm", "base", "cat", "/proc/net/dev")
    interfaces = [line.split(":")[0].strip() for line in r.stdout.splitlines()[2:]]
    assert interfaces == ["lo"]


def test_capabilities_and_no_new_privileges(cli: Cli) -> None:
    status = cli("run", "--rm", "base", "cat", "/proc/self/status").stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert int(fields["CapBnd"], 16) == DEFAULT_BOUNDING
    assert int(fields["CapEff"], 16) == DEFAULT_BOUNDING
    assert fields["NoNewPrivs"].strip() == "1"
    user = cli("run", "--rm", "-u", "1000", "base", "cat", "/proc/self/status").stdout
    assert "CapEff:\t0000000000000000" in user


def test_proc_masked_and_read_only(cli: Cli) -> None:
    script = (
        "cat /proc/timer_list | wc -c; echo x > /proc/sys/kernel/hostname && echo writable; ls /sys/firmware | wc -l"
    )
    r = cli("run", "--rm", "base", "sh", "-c", script)
    masked, *rest = r.stdout.split("\n")
    assert masked.strip() == "0"
    assert "writable" not in r.stdout
    assert rest[0].strip() == "0"


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_cgroup_under_stdc(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sleep", "30").stdout.strip()
    try:
        dirs = glob.glob(f"{CGROUP_ROOT}/*/stdc/{cid}") + glob.glob(f"{CGROUP_ROOT}/stdc/{cid}")
        assert dirs, "no cgroup at stdc/<id>"
        procs = [p for d in dirs for p in _read(os.path.join(d, "cgroup.procs")).split()]
        comms = {_read(f"/proc/{p}/comm").strip() for p in procs if os.path.exists(f"/proc/{p}")}
        assert "sleep" in comms
    finally:
        cli("rm", "-f", cid)


def test_detached_logs_and_wait(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sh", "-c", "echo to-out; echo to-err >&2; exit 5").stdout.strip()
    assert cli("wait", cid).stdout.strip() == "5"
    logs = cli("logs", cid)
    assert (logs.stdout, logs.stderr) == ("to-out\n", "to-err\n")
    state = cli.inspect(cid)["State"]
    assert (state["Status"], state["ExitCode"]) == ("exited", 5)
    cli("rm", cid)


def test_stop_sends_term_then_status(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sh", "-c", "trap 'exit 7' TERM; echo up; while true; do sleep 0.1; done").stdout
    cid = cid.strip()
    _wait_for(lambda: "up" in cli("logs", cid).stdout)
    cli("stop", "-t", "10", cid)
    assert cli.inspect(cid)["State"]["ExitCode"] == 7
    cli("rm", cid)


def test_kill_reaches_the_payload(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sleep", "30").stdout.strip()
    cli("kill", cid)
    assert cli("wait", cid).stdout.strip() == "137"
    cid2 = cli("run", "-d", "base", "sh", "-c", "trap 'exit 9' USR1; echo up; while true; do sleep 0.1; done").stdout
    cid2 = cid2.strip()
    _wait_for(lambda: "up" in cli("logs", cid2).stdout)
    cli("kill", "-s", "USR1", cid2)
    assert cli("wait", cid2).stdout.strip() == "9"
    cli("rm", cid, cid2)


def test_foreground_forwards_signals(cli: Cli) -> None:
    proc = subprocess.Popen(
        cli.argv(
            "run", "--rm", "base", "sh", "-c", "trap 'echo got; exit 4' TERM; echo up; while true; do sleep 0.1; done"
        ),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "up\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 4
        assert proc.stdout.read() == "got\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_rm_force_running(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sleep", "30").stdout.strip()
    cli("rm", "-f", cid)
    assert cid not in cli("ps", "-aq", "--no-trunc").stdout
    assert not os.path.exists(os.path.join(cli.root, "containers", cid))


def test_restart_exited_container(cli: Cli) -> None:
    cli("create", "--name", "again", "base", "sh", "-c", "echo run; exit 2")
    for _ in range(2):
        r = cli("start", "-a", "again", check=False)
        assert (r.returncode, r.stdout) == (2, "run\n")
    cli("rm", "again")


# -- resources (linux.resources) and what the executor reports of them ----------------------------


def _cgroup_value(container_id: str, v1: tuple[str, str], v2: str) -> str:
    unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    return _cgroup_file(container_id, "unified", v2) if unified else _cgroup_file(container_id, *v1)


def _cpu_ns(container_id: str) -> int:
    unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    if unified:
        stat = dict(line.split() for line in _cgroup_file(container_id, "unified", "cpu.stat").splitlines())
        return int(stat["usage_usec"]) * 1000
    return int(_cgroup_file(container_id, "cpuacct", "cpuacct.usage"))


def test_out_of_memory_is_137_and_oom_killed(cli: Cli) -> None:
    """-m 64m and a 200 MB allocation (busybox dd's block buffer is anonymous memory it
    touches): the kernel's OOM killer ends it, and inspect says so."""
    r = cli("run", "--name", "oom", "-m", "64m", "base", "dd", "if=/dev/zero", "of=/dev/null", "bs=200M", "count=1",
            check=False)  # fmt: skip
    assert r.returncode == 137, r.stderr
    state = cli.inspect("oom")["State"]
    assert (state["ExitCode"], state["OOMKilled"]) == (137, True)
    cli("rm", "oom")
    r = cli("run", "--name", "fits", "-m", "64m", "base", "dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1")
    assert cli.inspect("fits")["State"]["OOMKilled"] is False
    cli("rm", "fits")


def test_pids_limit_stops_a_fork_bomb(cli: Cli) -> None:
    """--pids-limit 20 and a fork bomb: the container never holds more than 20 processes, the
    kernel refuses its forks, the host can still fork, and rm -f ends it all."""
    cid = cli("run", "-d", "--pids-limit", "20", "base", "sh", "-c", "f() { f | f & }; f; sleep 30").stdout.strip()
    try:
        peak = 0
        refused = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and not refused:
            peak = max(peak, int(_cgroup_value(cid, ("pids", "pids.current"), "pids.current")))
            events = _cgroup_value(cid, ("pids", "pids.events"), "pids.events")
            refused = int(dict(line.split() for line in events.splitlines()).get("max", 0))
            time.sleep(0.01)
        print(f"fork bomb under --pids-limit 20: peak pids.current {peak}, forks refused {refused}")
        assert _cgroup_value(cid, ("pids", "pids.max"), "pids.max") == "20"
        assert 1 < peak <= 20
        assert refused > 0, "the bomb never reached the limit"
        assert subprocess.run(["true"]).returncode == 0  # the host still forks
    finally:
        cli("rm", "-f", cid)


def test_cpus_limit_measured(cli: Cli) -> None:
    """--cpus 0.5 and a busy loop: the CPU time its cgroup is charged over two seconds of wall
    time is near half a core (a measurement of the limit, with a generous band)."""
    cid = cli("run", "-d", "--cpus", "0.5", "base", "sh", "-c", "while :; do :; done").stdout.strip()
    try:
        time.sleep(0.3)  # past the start
        t0, c0 = time.monotonic(), _cpu_ns(cid)
        time.sleep(2)
        t1, c1 = time.monotonic(), _cpu_ns(cid)
        share = (c1 - c0) / ((t1 - t0) * 1e9)
        print(f"--cpus 0.5: measured {share:.3f} of a core")
        assert 0.3 <= share <= 0.7
    finally:
        cli("rm", "-f", cid)


def test_limits_in_the_cgroups_and_removed_with_them(cli: Cli) -> None:
    """Every resource flag lands in the container's cgroup; rm removes every directory
    (cpuset's included: the leftover check covers stdc/<id> in every hierarchy)."""
    cid = cli("run", "-d", "-m", "64m", "--memory-swap", "96m", "--cpus", "1.5", "--cpu-shares", "512",
              "--cpuset-cpus", "0", "--pids-limit", "33", "base", "sleep", "30").stdout.strip()  # fmt: skip
    try:
        unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
        if unified:
            assert _cgroup_file(cid, "unified", "memory.max") == str(64 << 20)
            assert _cgroup_file(cid, "unified", "memory.swap.max") == str(32 << 20)  # swap alone in v2
            assert _cgroup_file(cid, "unified", "cpu.weight") == "20"  # 512 shares, runc's and crun's map
            assert _cgroup_file(cid, "unified", "cpu.max") == "150000 100000"
            assert _cgroup_file(cid, "unified", "cpuset.cpus") == "0"
        else:
            assert _cgroup_file(cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
            if os.path.exists(os.path.join(CGROUP_ROOT, "memory", "memory.memsw.limit_in_bytes")):
                assert _cgroup_file(cid, "memory", "memory.memsw.limit_in_bytes") == str(96 << 20)
            assert _cgroup_file(cid, "cpu", "cpu.cfs_quota_us") == "150000"
            assert _cgroup_file(cid, "cpu", "cpu.cfs_period_us") == "100000"
            assert _cgroup_file(cid, "cpu", "cpu.shares") == "512"
            assert _cgroup_file(cid, "cpuset", "cpuset.cpus") == "0"
        assert _cgroup_value(cid, ("pids", "pids.max"), "pids.max") == "33"
        host_config = cli.inspect(cid)["HostConfig"]
        assert (host_config["Memory"], host_config["MemorySwap"]) == (64 << 20, 96 << 20)
        assert (host_config["NanoCpus"], host_config["CpusetCpus"], host_config["PidsLimit"]) == (
            1_500_000_000,
            "0",
            33,
        )
    finally:
        cli("rm", "-f", cid)
    assert not glob.glob(f"{CGROUP_ROOT}/*/stdc/{cid}*") + glob.glob(f"{CGROUP_ROOT}/stdc/{cid}*")


def _own_cgroup_files() -> tuple[dict[str, str], str, str]:
    """Inside a container run with -m 256m --cpus 0.5: its cgroup files under /sys/fs/cgroup
    and their values, one file to write and one place to make a cgroup in."""
    if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
        values = {"memory.max": "268435456", "cpu.max": "50000 100000", "pids.max": "max"}
        return values, "memory.max", "sub"
    values = {
        "memory/memory.limit_in_bytes": "268435456",
        "cpu/cpu.cfs_quota_us": "50000",
        "cpu/cpu.cfs_period_us": "100000",
        "pids/pids.max": "max",
    }
    return values, "memory/memory.limit_in_bytes", "memory/sub"


def test_own_cgroup_visible_read_only_at_sys_fs_cgroup(cli: Cli) -> None:
    """As docker and podman: the container's own cgroup at /sys/fs/cgroup (its limits readable,
    as JVMs and Go runtimes read them), read-only, in a cgroup namespace (/proc/self/cgroup: /)."""
    values, write, make = _own_cgroup_files()
    script = (
        'for f in "$@"; do echo "$f=$(cat /sys/fs/cgroup/$f)"; done; '
        f"(echo 268435456 > /sys/fs/cgroup/{write}) 2>&1; mkdir /sys/fs/cgroup/{make} 2>&1; "
        "cat /proc/self/cgroup"
    )
    r = cli("run", "--rm", "-m", "256m", "--cpus", "0.5", "base", "sh", "-c", script, "sh", *values)
    lines = r.stdout.splitlines()
    seen = dict(line.split("=", 1) for line in lines[: len(values)])
    assert seen == values, r.stdout + r.stderr
    refused = lines[len(values) : len(values) + 2]
    assert len(refused) == 2 and all("Read-only file system" in line for line in refused), r.stdout
    memberships = lines[len(values) + 2 :]
    assert memberships and all(line.endswith(":/") for line in memberships), memberships
    if "memory.max" not in values:
        # v1: the hierarchies a JVM requires (cpu, cpuacct, cpuset, memory), by name or symlink
        names = cli("run", "--rm", "base", "ls", "/sys/fs/cgroup").stdout.split()
        assert {"cpu", "cpuacct", "cpuset", "memory", "pids"} <= set(names), names


def test_privileged_sees_its_cgroup_writable(cli: Cli) -> None:
    """``--privileged``: the same cgroup, writable (docker's); a cgroup made in it is the container's."""
    _, _, make = _own_cgroup_files()
    script = f"mkdir /sys/fs/cgroup/{make} && rmdir /sys/fs/cgroup/{make} && echo rw"
    r = cli("run", "--rm", "--privileged", "base", "sh", "-c", script)
    assert r.stdout == "rw\n", r.stdout + r.stderr


def test_stats_and_top(cli: Cli) -> None:
    # The payload outlives the test by far: under emulation (a kernel in TCG) each stdc command
    # takes seconds, and a payload that ended meanwhile made `top` say "not running".
    cid = cli("run", "-d", "--name", "watched", "-m", "64m", "base", "sh", "-c", "sleep 600 & wait").stdout.strip()
    try:
        _wait_for(lambda: "sleep 600" in cli("top", "watched").stdout)
        out = cli("stats", "--no-stream", "watched").stdout
        print(out)
        header, row = out.splitlines()
        assert header.split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
        fields = row.split()
        assert fields[:2] == [cid[:12], "watched"] and fields[2].endswith("%")
        assert fields[4:6] == ["/", "64MiB"] and fields[-1] == "2"  # sh and sleep
        top = cli("top", "watched", "-o", "pid,comm").stdout.splitlines()
        assert top[0].split() == ["PID", "COMMAND"]
        assert sorted(line.split()[1] for line in top[1:]) == ["sh", "sleep"]
    finally:
        cli("rm", "-f", cid)


def test_pause_unpause_then_kill_and_rm(cli: Cli) -> None:
    """A paused container gets no CPU at all (its cgroup is charged nothing), shows as paused,
    runs on when unpaused; kill and rm -f end a paused container."""
    busy = ("sh", "-c", "while :; do :; done")
    cid = cli("run", "-d", "--name", "frozen", "base", *busy).stdout.strip()
    try:
        cli("pause", "frozen")
        assert cli.inspect("frozen")["State"]["Paused"] is True
        assert "(Paused)" in cli("ps").stdout
        before = _cpu_ns(cid)
        time.sleep(0.3)
        assert _cpu_ns(cid) == before, "a paused container ran"
        assert cli("pause", "frozen", check=False).returncode != 0  # already paused
        cli("unpause", "frozen")
        assert cli.inspect("frozen")["State"]["Paused"] is False
        _wait_for(lambda: _cpu_ns(cid) > before)
        cli("pause", "frozen")
        cli("kill", "frozen")
        assert cli("wait", "frozen").stdout.strip() == "137"
        cli("rm", "frozen")
    finally:
        cli("rm", "-f", cid, check=False)
    cid = cli("run", "-d", "base", *busy).stdout.strip()
    cli("pause", cid)
    cli("rm", "-f", cid)


def test_update_of_a_running_container(cli: Cli) -> None:
    """exec_update (optional, contract 1.2): ``update`` gives a running container its new pids and
    memory limits at once, as its processes read them in its cgroup."""
    cid = cli("run", "-d", "-m", "64m", "base", "sleep", "30").stdout.strip()
    try:
        r = cli("update", "-m", "96m", "--memory-swap", "192m", "--pids-limit", "30", cid, check=False)
        if "cannot change the limits of a running container" in r.stderr:
            pytest.skip("the executor has no exec_update (optional)")
        assert r.returncode == 0, r.stderr
        unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
        files = ("pids.max", "memory.max") if unified else ("pids/pids.max", "memory/memory.limit_in_bytes")
        seen = cli("exec", cid, "cat", *(f"/sys/fs/cgroup/{f}" for f in files)).stdout.split()
        assert seen == ["30", str(96 << 20)]
    finally:
        cli("rm", "-f", cid)


def test_stdin_with_i(cli: Cli) -> None:
    """-i: the payload reads stdc's stdin to its end; without -i, it reads nothing."""
    assert cli("run", "--rm", "-i", "base", "sh", "-c", "cat; echo end", input="one\ntwo\n").stdout == "one\ntwo\nend\n"
    assert cli("run", "--rm", "base", "cat", input="ignored\n").stdout == ""


def _stat_fields(text: str) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, pgrp, session, tty_nr, tpgid, …"""
    return text[text.rindex(")") + 2 :].split()


def test_terminal_is_the_controlling_terminal(cli: Cli) -> None:
    """process.terminal: the payload's session has the terminal as its controlling terminal
    (so ctrl-c and job control reach it), and the payload's group is in the foreground."""
    r = cli("run", "--rm", "-t", "base", "sh", "-c", "cat /proc/$$/stat; [ -t 0 ] && echo on-a-tty")
    state, ppid, pgrp, session, tty_nr, tpgid = _stat_fields(r.stdout.splitlines()[0])[:6]
    assert "on-a-tty" in r.stdout
    assert tty_nr != "0", "the payload has no controlling terminal"
    assert tpgid == pgrp, "the payload is not in its terminal's foreground"


def test_terminal_comes_from_the_containers_devpts(cli: Cli) -> None:
    """process.terminal: the payload has ``/dev/pts/0`` of the container's own devpts as its
    terminal, bind-mounted on ``/dev/console`` as runc does; an exec'd process gets the next one,
    ``/dev/pts/1``, owned by its user; the host's devpts lends none of them."""
    script = "tty; [ -t 0 ] && echo on-a-tty; [ -c /dev/console ] && echo console-chr; "
    script += '[ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T "$(tty)")" ] && echo console-is-tty'
    r = cli("run", "--rm", "-t", "base", "sh", "-c", script)
    assert r.stdout.replace("\r\n", "\n").splitlines() == ["/dev/pts/0", "on-a-tty", "console-chr", "console-is-tty"]
    cid = cli("run", "-d", "-t", "base", "sh", "-c", "exec sleep 300").stdout.strip()
    try:
        r = cli("exec", "-t", cid, "sh", "-c", "tty; [ -t 0 ] && echo on-a-tty")
        assert r.stdout.replace("\r\n", "\n").splitlines() == ["/dev/pts/1", "on-a-tty"]
        r = cli("exec", "-t", "-u", "1000", cid, "sh", "-c", 'stat -c %u "$(tty)"')
        assert r.stdout.strip() == "1000", "the terminal is not its user's"
        pid = json.loads(cli("inspect", cid).stdout)[0]["State"]["Pid"]
        host_devpts = os.stat("/dev/pts").st_dev
        # the container's processes (not a supervisor the executor runs them under)
        ours = os.readlink("/proc/self/ns/pid")
        inside = [p for p in [pid, *_children(pid)] if os.readlink(f"/proc/{p}/ns/pid") != ours]
        held = [os.stat(f"/proc/{p}/fd/0") for p in inside]
        assert held and all(st.st_dev != host_devpts for st in held), "a terminal from the host's devpts"
    finally:
        cli("rm", "-f", cid)


def test_terminal_output_is_logged_as_the_terminal_made_it(cli: Cli) -> None:
    """A terminal turns each newline into CR LF once (no relay adds a second CR); the logs hold
    that output, which ``logs`` shows as lines."""
    cid = cli("run", "-d", "-t", "base", "sh", "-c", "echo one; echo two").stdout.strip()
    try:
        cli("wait", cid)
        assert cli("logs", cid).stdout == "one\ntwo\n"
    finally:
        cli("rm", "-f", cid)


def test_terminal_payload_is_pid_1(cli: Cli) -> None:
    """process.terminal: the payload is still the container's pid 1, as under docker."""
    assert cli("run", "--rm", "-t", "base", "sh", "-c", "echo $$").stdout.strip() == "1"


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid``, from /proc/PID/task/*/children."""
    found: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        for child in _read(path).split():
            found += [int(child), *_children(int(child))]
    return found


def test_exec_joins_the_running_container(cli: Cli) -> None:
    """exec: every namespace of the init, its cgroups, its root."""
    cid = cli("run", "-d", "--hostname", "box", "base", "sleep", "300").stdout.strip()
    try:
        kinds = ("pid", "mnt", "net", "ipc", "uts", "cgroup")
        script = "hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; " + "; ".join(
            f"[ $(readlink /proc/1/ns/{k}) = $(readlink /proc/self/ns/{k}) ] && echo same-{k}" for k in kinds
        )
        lines = cli("exec", cid, "sh", "-c", script).stdout.splitlines()
        assert lines[0] == "box"
        assert lines[1].strip() == "sleep 300", "pid 1 is not the container's init"
        assert lines[2:] == [f"same-{k}" for k in kinds]
        cli("exec", "-d", cid, "sleep", "301")
        # the controllers that hold the container's resource limits (or the unified tree)
        unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
        controllers = [""] if unified else ["cpu", "memory", "pids"]
        dirs = [os.path.join(CGROUP_ROOT, c, "stdc", cid) for c in controllers]

        def in_cgroups() -> bool:
            for d in dirs:
                procs = _read(os.path.join(d, "cgroup.procs")).split()
                cmdlines = {_read(f"/proc/{p}/cmdline") for p in procs if os.path.exists(f"/proc/{p}")}
                if "sleep\x00301\x00" not in cmdlines:
                    return False
            return True

        _wait_for(in_cgroups)
    finally:
        cli("rm", "-f", cid)


def test_exec_exit_status_and_errors(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sleep", "300").stdout.strip()
    try:
        for code in (0, 3, 255):
            assert cli("exec", cid, "sh", "-c", f"exit {code}", check=False).returncode == code
        r = cli("exec", cid, "no-such-command", check=False)
        assert r.returncode == 127 and "no-such-command" in r.stderr and len(r.stderr.splitlines()) == 1
        r = cli("exec", cid, "/etc/passwd", check=False)
        assert r.returncode == 126 and "/etc/passwd" in r.stderr
        assert cli("exec", cid, "sh", "-c", "kill -TERM $$", check=False).returncode == 128 + signal.SIGTERM
        assert cli("exec", "-i", cid, "cat", input="through\n").stdout == "through\n"
    finally:
        cli("rm", "-f", cid)
    r = cli("exec", cid, "true", check=False)
    assert r.returncode == 125 and len(r.stderr.splitlines()) == 1


def test_exec_terminal_user_env_workdir(cli: Cli) -> None:
    cid = cli("run", "-d", "-e", "KEEP=1", "base", "sleep", "300").stdout.strip()
    try:
        script = 'echo "$KEEP|$ADD|$(id -u):$(id -g)|$(pwd)|$HOME"'
        r = cli("exec", "-e", "ADD=2", "-u", "1000:1001", "-w", "/tmp", cid, "sh", "-c", script)
        assert r.stdout == "1|2|1000:1001|/tmp|/\n"
        status = cli("exec", cid, "cat", "/proc/self/status").stdout
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        assert int(fields["CapBnd"], 16) == DEFAULT_BOUNDING
        assert fields["NoNewPrivs"].strip() == "1"
        r = cli("exec", "-t", cid, "sh", "-c", "cat /proc/$$/stat; [ -t 0 ] && echo on-a-tty; echo $TERM")
        assert "on-a-tty\nxterm\n" in r.stdout
        _, _, pgrp, _, tty_nr, tpgid = _stat_fields(r.stdout.splitlines()[0])[:6]
        assert tty_nr != "0" and tpgid == pgrp
    finally:
        cli("rm", "-f", cid)


# -- through the hooks, with a hand-written spec ---------------------------------------------------


class SpecRunner:
    """Runs a busybox root filesystem under the executor with a spec the test adjusts."""

    def __init__(self, executor: str, workdir: str) -> None:
        from stdc import discovery

        self.backend = discovery.require("exec", executor)
        self.workdir = workdir
        self.ids: set[str] = set()
        self.rootfs = os.path.join(workdir, "rootfs-template")
        busybox = shutil.which("busybox") or "/bin/busybox"
        os.makedirs(os.path.join(self.rootfs, "bin"))
        for d in ("proc", "sys", "dev", "tmp", "etc"):
            os.makedirs(os.path.join(self.rootfs, d), exist_ok=True)
        shutil.copy(busybox, os.path.join(self.rootfs, "bin", "busybox"))
        applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
        for applet in applets:
            with contextlib.suppress(FileExistsError):
                os.symlink("busybox", os.path.join(self.rootfs, "bin", applet))
        with open(os.path.join(self.rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")

    def spec(self, args: list[str], container_id: str, bundle: str) -> dict:
        from stdc.kit.ocispec import DEFAULT_PATH, build_spec

        return build_spec(
            args=args,
            env=[f"PATH={DEFAULT_PATH}"],
            cwd="/",
            user={"uid": 0, "gid": 0},
            hostname="spec",
            rootfs=os.path.join(bundle, "rootfs"),
            cgroups_path=f"/stdc/{container_id}",
            netns=None,
        )

    def run(
        self,
        args: list[str],
        adjust: Callable[[dict], None] = lambda s: None,
        during: Callable[[str], None] | None = None,
        create: bool = False,
    ) -> tuple[int, str]:
        """Start, let ``during(container_id)`` look while it runs, reap; (exit code, output).
        With ``create``, through ``exec_create``: ``during`` looks while it is created, then the
        start fifo lets it run."""
        from stdc.kit.mounts import Mount

        container_id = uuid.uuid4().hex * 2
        self.ids.add(container_id)
        bundle = os.path.join(self.workdir, container_id)
        os.makedirs(os.path.join(bundle, "rootfs"))
        spec = self.spec(args, container_id, bundle)
        adjust(spec)
        mounts = [Mount("bind", self.rootfs, ["rbind"])]
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        try:
            start = dict(container_id=container_id, bundle=bundle, spec=spec, rootfs_mounts=mounts)
            start.update(stdio=(null, out_w, out_w), console_socket=None)
            fifo = os.path.join(bundle, "exec.fifo")
            if create:
                os.mkfifo(fifo, 0o622)
                pid = self.backend.hook.exec_create(**start, start_fifo=fifo)
            else:
                pid = self.backend.hook.exec_start(**start)
            os.close(out_w)
            try:
                if during:
                    during(container_id)
                if create:  # start: the init writes one byte once we opened the fifo, then runs the payload
                    started = os.open(fifo, os.O_RDONLY | os.O_CLOEXEC)
                    try:
                        assert os.read(started, 1) == b"0"
                    finally:
                        os.close(started)
            finally:
                output = b""
                while chunk := os.read(out_r, 65536):
                    output += chunk
                _, status = os.waitpid(pid, 0)
        finally:
            with contextlib.suppress(OSError):
                os.close(out_w)
            os.close(out_r)
            os.close(null)
            self.backend.hook.exec_cleanup(container_id=container_id, bundle=bundle, spec=spec)
            shutil.rmtree(bundle, ignore_errors=True)
        code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)
        return code, output.decode()


@pytest.fixture(scope="session")
def spec_workdir(executor: str) -> Iterator[str]:
    path = tempfile.mkdtemp(prefix=f"stdc-exec-spec-{executor}-", dir="/var/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def spec_runner(executor: str, spec_workdir: str) -> Iterator[SpecRunner]:
    before = _traces(spec_workdir)
    runner = SpecRunner(executor, tempfile.mkdtemp(dir=spec_workdir))
    yield runner
    _assert_nothing_left(before, _traces(spec_workdir), runner.ids)


def _cgroup_file(container_id: str, controller: str, name: str) -> str:
    unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))
    base = CGROUP_ROOT if unified else os.path.join(CGROUP_ROOT, controller)
    with open(os.path.join(base, "stdc", container_id, name)) as f:
        return f.read().strip()


def test_spec_memory_and_pids_limits(spec_runner: SpecRunner) -> None:
    seen = {}
    unified = os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))

    def adjust(spec: dict) -> None:
        spec["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 42}}

    def during(container_id: str) -> None:
        seen["memory"] = _cgroup_file(container_id, "memory", "memory.max" if unified else "memory.limit_in_bytes")
        seen["pids"] = _cgroup_file(container_id, "pids", "pids.max")

    code, _ = spec_runner.run(["sleep", "1"], adjust, during)
    assert code == 0
    assert seen == {"memory": str(64 << 20), "pids": "42"}


def test_spec_rlimits(spec_runner: SpecRunner) -> None:
    def adjust(spec: dict) -> None:
        spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]

    assert spec_runner.run(["sh", "-c", "ulimit -n; ulimit -Hn"], adjust) == (0, "123\n456\n")


def test_spec_create_waits_for_the_start_fifo(spec_runner: SpecRunner) -> None:
    """exec_create (optional, contract 1.2): the init is built and in its cgroup, but has not
    executed the payload until the start fifo is opened."""
    if not spec_runner.backend.hook.exec_create.get_hookimpls():
        pytest.skip("the executor has no exec_create (optional)")
    seen = {}

    def during(container_id: str) -> None:
        (pid,) = _cgroup_file(container_id, "pids", "cgroup.procs").split()
        seen["exe"] = os.readlink(f"/proc/{pid}/exe")

    code, output = spec_runner.run(["sh", "-c", "echo started; exit 3"], during=during, create=True)
    assert (code, output) == (3, "started\n")
    assert not seen["exe"].endswith("busybox")  # still the runtime, not yet the payload


def test_spec_read_only_root(spec_runner: SpecRunner) -> None:
    def adjust(spec: dict) -> None:
        spec["root"]["readonly"] = True

    code, output = spec_runner.run(["sh", "-c", "touch /x 2>&1 || echo refused; touch /tmp/y 2>&1 || echo tmp"], adjust)
    assert "refused" in output


def test_spec_joins_network_namespace_by_path(spec_runner: SpecRunner) -> None:
    ns = os.path.join(spec_runner.workdir, "netns")
    open(ns, "w").close()
    subprocess.run(["unshare", f"--net={ns}", "ip", "link", "add", "stdct0", "type", "veth", "peer", "name", "stdct1"],
                   check=True)  # fmt: skip
    try:

        def adjust(spec: dict) -> None:
            for entry in spec["linux"]["namespaces"]:
                if entry["type"] == "network":
                    entry["path"] = ns

        code, output = spec_runner.run(["cat", "/proc/net/dev"], adjust)
        assert code == 0
        assert "stdct0" in output and "stdct1" in output
    finally:
        subprocess.run(["umount", ns], check=True)
        os.unlink(ns)


# -- volumes and mount destinations ------------------------------------------------------------


def _volume_gone(cli: Cli, name: str) -> None:
    """Remove the volume; its directory must not be a mount point anywhere on the host."""
    source = os.path.join(cli.root, "volumes", name, "_data")
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if source in line], f"{source} is still mounted on the host"
    cli("volume", "rm", name)


def test_volume_written_by_one_container_read_by_another(cli: Cli) -> None:
    """docker: a named volume outlives its containers and is shared by them."""
    name = f"shared-{cli.executor}"
    cli("run", "--rm", "-v", f"{name}:/data", "base", "sh", "-c", "echo from-first > /data/note")
    assert cli("run", "--rm", "-v", f"{name}:/elsewhere", "base", "cat", "/elsewhere/note").stdout == "from-first\n"
    _volume_gone(cli, name)


def test_read_only_volume_refuses_writes(cli: Cli, tmp_path: object) -> None:
    """docker: -v SRC:DST:ro is a read-only bind: writes fail with EROFS, reads work."""
    host = os.path.join(str(tmp_path), "host-dir")
    os.makedirs(host)
    with open(os.path.join(host, "inside"), "w") as f:
        f.write("host data\n")
    script = "cat /ro/inside; echo x > /ro/new && echo wrote; touch /ro/inside && echo touched; true"
    r = cli("run", "--rm", "-v", f"{host}:/ro:ro", "base", "sh", "-c", script)
    assert r.stdout == "host data\n"
    assert r.stderr.count("Read-only file system") == 2, r.stderr
    assert os.listdir(host) == ["inside"]
    r = cli("run", "--rm", "-v", f"{host}:/rw", "base", "sh", "-c", "echo x > /rw/new")
    assert os.path.exists(os.path.join(host, "new"))


def test_read_only_root_leaves_shm_tmpfs_and_volumes_writable(cli: Cli) -> None:
    """docker --read-only: / refuses writes; /dev/shm, --tmpfs and volumes take them."""
    name = f"rw-{cli.executor}"
    script = (
        "touch /x 2>/dev/null && echo root-writable; touch /etc/y 2>/dev/null && echo etc-writable;"
        " for d in /dev/shm /scratch /data; do touch $d/f && echo $d; done; grep ' /scratch ' /proc/self/mounts"
    )
    r = cli("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=1777", "-v", f"{name}:/data", "base",
            "sh", "-c", script)  # fmt: skip
    lines = r.stdout.splitlines()
    assert lines[:3] == ["/dev/shm", "/scratch", "/data"], r.stdout
    assert "tmpfs" in lines[3] and "nosuid" in lines[3] and "size=1024k" in lines[3]
    _volume_gone(cli, name)


def _hostile_image(cli: Cli, workdir: str, ref: str, links: dict[str, str]) -> None:
    """Import ``base`` with ``links`` (path in the image -> symlink target) replacing whatever
    was there: an image anyone may build, made with Python's tarfile and ``stdc import``."""
    import io
    import tarfile

    base_tar = os.path.join(workdir, "base.tar")
    if not os.path.exists(base_tar):
        cid = cli("create", "base", "true").stdout.strip()
        with open(base_tar, "wb") as f:
            subprocess.run(cli.argv("export", cid), stdout=f, check=True)
        cli("rm", cid)
    out = os.path.join(workdir, f"{ref.replace(':', '_')}.tar")
    replaced = {p.strip("/") for p in links}
    with tarfile.open(base_tar) as src, tarfile.open(out, "w") as dst:
        for member in src:
            name = member.name.strip("/").removeprefix("./")
            if any(name == r or name.startswith(r + "/") for r in replaced):
                continue
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
        for path, target in links.items():
            info = tarfile.TarInfo(path.strip("/"))
            info.type, info.linkname = tarfile.SYMTYPE, target
            dst.addfile(info, io.BytesIO(b""))
    cli("import", out, ref)


def _host_root_listing() -> set[str]:
    return set(os.listdir("/"))


def _assert_untouched(victim: str) -> None:
    assert os.listdir(victim) == [], f"{victim} was written to: {os.listdir(victim)}"
    with open("/proc/self/mountinfo") as f:
        assert not [line for line in f if f" {victim} " in line or f" {victim}/" in line], "mounted on the host"


def test_symlinked_volume_destination_stays_in_the_rootfs(cli: Cli, tmp_path: object) -> None:
    """runc (securejoin): a destination is resolved inside the root. An image whose /data is a
    symlink to / cannot make -v x:/data cover the host's /: refused in one line (it would cover
    the container's own root); /data/sub lands in the rootfs at /sub; /hostdir -> a host
    directory lands at that path inside the rootfs, the host directory stays empty."""
    work = str(tmp_path)
    victim = os.path.join(work, "victim")
    os.makedirs(victim)
    ref = f"hostile-data-{cli.executor}:1"
    _hostile_image(cli, work, ref, {"/data": "/", "/hostdir": victim})
    name = f"hostile-{cli.executor}"
    before = _host_root_listing()
    try:
        r = cli("run", "--rm", "-v", f"{name}:/data", ref, "sh", "-c", "echo x > /data/planted", check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "/data" in r.stderr and "root" in r.stderr
        r = cli("run", "--rm", "-v", f"{name}:/data/sub", ref, "sh", "-c", "echo x > /sub/planted; ls /data/sub")
        assert r.stdout == "planted\n"
        r = cli("run", "--rm", "-v", f"{name}:/hostdir", ref, "sh", "-c", f"ls {victim}; readlink /hostdir")
        assert r.stdout == f"planted\n{victim}\n"
        assert _host_root_listing() == before
        assert not os.path.exists("/sub") and not os.path.exists("/planted")
        _assert_untouched(victim)
        assert os.listdir(os.path.join(cli.root, "volumes", name, "_data")) == ["planted"]
    finally:
        _volume_gone(cli, name)
        cli("rmi", ref)


def test_symlinked_proc_sys_dev_touch_nothing_outside(cli: Cli, tmp_path: object) -> None:
    """runc: proc and sysfs must go on a real directory (refused through a symlink); other
    destinations (/dev, /dev/null) are resolved inside the root or refused. Whatever the
    executor decides, nothing outside the rootfs is mounted on or written to."""
    work = str(tmp_path)
    victim = os.path.join(work, "victim")
    os.makedirs(victim)
    cases = {
        "proc-root": {"/proc": "/"},
        "proc-host": {"/proc": victim},
        "sys-root": {"/sys": "/"},
        "sys-host": {"/sys": victim},
        "dev-root": {"/dev": "/"},
        "dev-host": {"/dev": victim},
        "devnull-host": {"/dev/null": os.path.join(victim, "null")},
    }
    before = _host_root_listing()
    for case, links in cases.items():
        ref = f"hostile-{case}-{cli.executor}:1"
        _hostile_image(cli, work, ref, links)
        try:
            r = cli("run", "--rm", ref, "sh", "-c", "echo x > /dev/null && ls /proc/self/fd >/dev/null", check=False)
            assert r.returncode in (0, 125), (case, r.returncode, r.stderr)
            if r.returncode:
                assert len(r.stderr.strip().splitlines()) == 1, (case, r.stderr)
            if case.startswith(("proc", "sys")):
                assert r.returncode == 125 and "symbolic link" in r.stderr, (case, r.stderr)
            _assert_untouched(victim)
            assert _host_root_listing() == before, case
        finally:
            cli("rmi", ref)
