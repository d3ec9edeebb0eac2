"""Resource flags checked before anything is made, restart policies applied by the monitor,
restart, rename and the errors of stats/top/pause for unknown containers (through the CLI).

What executors do with the limits (OOM, pids, cpus, pause, stats) is in the executor suite
(stdc.testing.executor_suite, run for every executor by tests/test_executors.py).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time

import pytest


def _inspect(stdc, ref):
    return json.loads(stdc("inspect", ref).stdout)[0]


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["-m", "1k"], "Minimum memory limit allowed is 6MB"),
        (["-m", "lots"], "invalid value 'lots' for --memory"),
        (["--cpus", "-1"], "Range of CPUs is from 0.01 to"),
        (["--cpus", "0"], "Range of CPUs is from 0.01 to"),
        (["--cpus", "half"], "invalid value 'half' for --cpus"),
        (["--cpus", str(os.cpu_count() + 1)], f"as there are only {os.cpu_count()} CPUs available"),
        (["--cpuset-cpus", "0-"], "invalid value '0-' for --cpuset-cpus"),
        (["--cpuset-cpus", "1-0"], "is backwards"),
        (["--cpuset-cpus", "0-4096"], "Requested CPUs are not available"),
        (["--cpu-shares", "-5"], "--cpu-shares"),
        (["--memory-swap", "1g"], "You should always set the Memory limit when using Memoryswap limit"),
        (["-m", "64m", "--memory-swap", "32m"], "Minimum memoryswap limit should be larger than memory limit"),
        (["--restart", "sometimes"], "invalid restart policy 'sometimes'"),
        (["--restart", "always:3"], "only on-failure takes a count"),
        (["--restart", "always", "--rm"], "Conflicting options: --restart and --rm"),
    ],
)
def test_bad_resource_flags_refused_and_nothing_created(stdc, flags, message):
    for command in ("run", "create"):
        r = stdc(command, *flags, "base", "true", check=False)
        assert r.returncode == 125, r
        assert r.stderr == f"stdc: {r.stderr[6:]}" and len(r.stderr.splitlines()) == 1
        assert message in r.stderr
    assert stdc("ps", "-aq").stdout == ""


def test_sizes_and_swap_into_the_spec(stdc):
    """Sizes in docker's binary units; --memory-swap -1 is unlimited swap, unset it is twice -m."""
    cid = stdc("create", "-m", "1g", "--memory-swap", "-1", "--pids-limit", "0", "base", "true").stdout.strip()
    try:
        with open(os.path.join(os.path.dirname(_inspect(stdc, cid)["LogPath"]), "config.json")) as f:
            resources = json.load(f)["linux"]["resources"]
        resources.pop("devices")  # device control's, see tests/test_security_devices.py
        assert resources == {"memory": {"limit": 1 << 30, "swap": -1}, "pids": {"limit": -1}}
    finally:
        stdc("rm", cid)
    cid = stdc("create", "-m", "64m", "--cpus", "0.5", "--cpu-shares", "512", "base", "true").stdout.strip()
    try:
        with open(os.path.join(os.path.dirname(_inspect(stdc, cid)["LogPath"]), "config.json")) as f:
            resources = json.load(f)["linux"]["resources"]
        resources.pop("devices")  # device control's, see tests/test_security_devices.py
        assert resources == {
            "memory": {"limit": 64 << 20, "swap": 128 << 20},
            "cpu": {"period": 100000, "quota": 50000, "shares": 512},
        }
    finally:
        stdc("rm", cid)


@pytest.mark.parametrize("command", [["stats", "--no-stream"], ["top"], ["pause"], ["unpause"], ["restart"]])
def test_unknown_container_is_one_line_exit_1(stdc, command):
    r = stdc(*command, "no-such-box", check=False)
    assert (r.returncode, r.stderr) == (1, "stdc: no such container: no-such-box\n")


def test_pause_top_stats_need_a_running_container(stdc):
    stdc("create", "--name", "idle", "base", "true")
    try:
        # pause and unpause take several names and exit 1 when one failed, as docker's
        for command, status in ((["pause"], 1), (["unpause"], 1), (["top"], 125)):
            r = stdc(*command, "idle", check=False)
            assert r.returncode == status and r.stderr == "stdc: container idle is not running\n"
        out = stdc("stats", "--no-stream", "idle").stdout.splitlines()
        assert out[1].split()[2:] == ["--", "--", "/", "--", "--", "--"]
    finally:
        stdc("rm", "idle")


def test_restart_on_failure_counts_and_stops(stdc):
    stdc("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "base", "sh", "-c", "echo ran; exit 3")
    try:
        _wait_for(lambda: _inspect(stdc, "flaky")["RestartCount"] == 2 and "Exited (3)" in stdc("ps", "-a").stdout)
        # and no third run: the monitor of the last one has gone, nothing is pending
        _wait_for(lambda: stdc("wait", "flaky").stdout == "3\n")
        info = _inspect(stdc, "flaky")
        assert info["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
        assert (info["RestartCount"], info["State"]["ExitCode"]) == (2, 3)
        assert stdc("logs", "flaky").stdout == "ran\n" * 3
    finally:
        stdc("rm", "-f", "flaky")


def test_restart_on_failure_not_after_success(stdc):
    stdc("run", "-d", "--name", "fine", "--restart", "on-failure", "base", "true")
    try:
        assert stdc("wait", "fine").stdout == "0\n"
        assert _inspect(stdc, "fine")["RestartCount"] == 0
    finally:
        stdc("rm", "-f", "fine")


def test_restart_always_but_not_after_stop_or_kill(stdc):
    for how in (["stop", "-t", "1"], ["kill"]):
        stdc("run", "-d", "--name", "again", "--restart", "always", "base", "sh", "-c", "echo up; sleep 0.2")
        try:
            _wait_for(lambda: _inspect(stdc, "again")["RestartCount"] >= 2)
            stdc(*how, "again")
            count = _inspect(stdc, "again")["RestartCount"]
            # wait returns once the monitor, which applies the policy, has gone: none is pending
            stdc("wait", "again")
            info = _inspect(stdc, "again")
            assert info["State"]["Status"] == "exited", info["State"]
            assert info["RestartCount"] == count
        finally:
            stdc("rm", "-f", "again")


def test_restart_command_and_rename(stdc):
    cid = stdc("run", "-d", "--name", "old", "base", "sh", "-c", "echo started; sleep 30").stdout.strip()
    try:
        first_pid = _inspect(stdc, "old")["State"]["Pid"]
        assert stdc("restart", "-t", "1", "old").stdout == "old\n"
        state = _inspect(stdc, "old")["State"]
        assert state["Running"] and state["Pid"] != first_pid
        _wait_for(lambda: stdc("logs", "old").stdout == "started\nstarted\n")
        stdc("run", "-d", "--name", "other", "base", "sleep", "30")
        r = stdc("rename", "old", "other", check=False)
        assert (r.returncode, r.stderr) == (125, "stdc: the container name 'other' is already in use\n")
        assert stdc("rename", "old", "new").stdout == ""
        assert _inspect(stdc, "new")["Id"] == cid
        assert stdc("inspect", "old", check=False).returncode != 0
        r = stdc("rename", "new", "bad/name", check=False)
        assert r.returncode == 125 and "Invalid container name" in r.stderr
    finally:
        stdc("rm", "-f", cid, "other", check=False)


def test_stats_streams_until_interrupted(stdc):
    """Without --no-stream the table is redrawn every second (here: read two frames)."""
    import signal
    import subprocess

    from conftest import STDC

    cid = stdc("run", "-d", "--name", "live", "base", "sleep", "30").stdout.strip()
    proc = subprocess.Popen([STDC, "stats", "live"], stdout=subprocess.PIPE, text=True)
    try:
        frames = 0
        assert proc.stdout is not None
        while frames < 2:
            line = proc.stdout.readline()
            assert line, "stats ended on its own"
            frames += line.count("CONTAINER ID")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stdc("rm", "-f", cid)


def test_top_with_own_ps_options_from_a_terminal(stdc):
    """`stdc top NAME -o pid,comm` typed at a terminal: ps alone would pick that terminal's
    processes only (no -e), and a container's have none; top still lists the container's."""
    cid = stdc("run", "-d", "--network", "none", "base", "sh", "-c", "sleep 600 & wait").stdout.strip()
    try:
        stdc_path = os.path.join(os.path.dirname(sys.executable), "stdc")
        command = shlex.join([stdc_path, "top", cid, "-o", "pid,comm"])
        _wait_for(lambda: "sleep" in stdc("top", cid).stdout)
        # script(1) gives the command a terminal of its own, as an interactive shell has
        out = subprocess.run(["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=120)
        lines = out.stdout.replace("\r", "").splitlines()
        assert lines[0].split() == ["PID", "COMMAND"], out.stdout + out.stderr
        assert sorted(line.split()[1] for line in lines[1:]) == ["sh", "sleep"]
    finally:
        stdc("rm", "-f", cid)
