"""Detached containers: the monitor, logs, wait, stop, kill, rm, ps — and concurrency."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor


def _inspect(stdc, ref):
    return json.loads(stdc("inspect", ref).stdout)[0]


def _wait_for(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_detached_logs_wait_rm(stdc):
    cid = stdc(
        "run", "-d", "--name", "talker", "base", "sh", "-c", "echo one; echo two >&2; sleep 1; exit 4"
    ).stdout.strip()
    assert len(cid) == 64 and all(c in "0123456789abcdef" for c in cid)
    assert stdc("wait", "talker").stdout == "4\n"
    logs = stdc("logs", cid[:8])
    assert logs.stdout == "one\n" and logs.stderr == "two\n"
    with open(_inspect(stdc, cid)["LogPath"]) as f:
        records = [json.loads(line) for line in f]
    assert [(r["stream"], r["log"]) for r in records] == [("stdout", "one\n"), ("stderr", "two\n")]
    assert all(r["time"].endswith("Z") for r in records)
    assert "Exited (4)" in stdc("ps", "-a").stdout
    assert cid[:12] not in stdc("ps").stdout
    stdc("rm", "talker")
    assert cid[:12] not in stdc("ps", "-a").stdout


def test_logs_tail_timestamps_and_follow(stdc):
    cid = stdc("run", "-d", "base", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done").stdout.strip()
    try:
        followed = stdc("logs", "-f", cid, timeout=30)
        assert followed.stdout.split() == ["line1", "line2", "line3", "line4", "line5"]
        assert stdc("logs", "--tail", "2", cid).stdout.split() == ["line4", "line5"]
        stamped = stdc("logs", "-t", "--tail", "1", cid).stdout
        assert stamped.endswith(" line5\n") and stamped[:4].isdigit()
    finally:
        stdc("rm", "-f", cid)


def test_stop_then_kill_137(stdc):
    # a payload that ignores SIGTERM is killed after the timeout
    cid = stdc("run", "-d", "base", "sh", "-c", "trap '' TERM; sleep 300").stdout.strip()
    try:
        assert _wait_for(lambda: "Up" in stdc("ps").stdout)
        started = time.monotonic()
        stdc("stop", "-t", "1", cid)
        assert time.monotonic() - started < 15
        assert _inspect(stdc, cid)["State"]["ExitCode"] == 137
        assert stdc("wait", cid).stdout == "137\n"
    finally:
        stdc("rm", "-f", cid)


def test_stop_with_sigterm_handler(stdc):
    cid = stdc("run", "-d", "base", "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done").stdout.strip()
    try:
        stdc("stop", cid)
        state = _inspect(stdc, cid)["State"]
        assert state["Status"] == "exited" and state["ExitCode"] == 0
    finally:
        stdc("rm", cid)


def test_kill_with_signal(stdc):
    cid = stdc("run", "-d", "base", "sleep", "300").stdout.strip()
    try:
        stdc("kill", "-s", "KILL", cid)
        assert stdc("wait", cid).stdout == "137\n"
        r = stdc("kill", cid, check=False)
        assert r.returncode != 0 and "not running" in r.stderr
    finally:
        stdc("rm", "-f", cid)


def test_start_again_keeps_the_writable_layer(stdc):
    cid = stdc("run", "-d", "base", "sh", "-c", "echo x >> /counter; cat /counter | wc -l").stdout.strip()
    try:
        stdc("wait", cid)
        stdc("start", cid)
        stdc("wait", cid)
        assert stdc("logs", cid).stdout.split() == ["1", "2"]
    finally:
        stdc("rm", cid)


def test_rm_refuses_running_without_force(stdc):
    cid = stdc("run", "-d", "base", "sleep", "300").stdout.strip()
    try:
        r = stdc("rm", cid, check=False)
        assert r.returncode != 0 and "running" in r.stderr and len(r.stderr.splitlines()) == 1
        assert cid[:12] in stdc("ps").stdout
    finally:
        stdc("rm", "-f", cid)


def test_names_unique_and_prefixes(stdc):
    cid = stdc("create", "--name", "only-one", "base", "true").stdout.strip()
    try:
        r = stdc("create", "--name", "only-one", "base", "true", check=False)
        assert r.returncode != 0 and "already in use" in r.stderr
        assert _inspect(stdc, cid[:6])["Id"] == cid
        assert _inspect(stdc, "only-one")["Id"] == cid
        r = stdc("inspect", "no-such-thing", check=False)
        assert r.returncode != 0 and "no such" in r.stderr
    finally:
        stdc("rm", cid)


def test_ps_truthful_after_monitor_killed(stdc):
    cid = stdc("run", "-d", "base", "sleep", "300").stdout.strip()
    try:
        state = _inspect(stdc, cid)["State"]
        with open(f"/proc/{state['Pid']}/status") as f:  # the monitor is the payload's parent, as conmon is
            monitor = int(next(line.split()[1] for line in f if line.startswith("PPid:")))
        os.kill(monitor, signal.SIGKILL)
        time.sleep(0.2)
        assert "Up" in stdc("ps").stdout  # the payload outlives its monitor, as with conmon
        os.kill(state["Pid"], signal.SIGKILL)
        assert _wait_for(lambda: cid[:12] not in stdc("ps").stdout)
        assert "Exited" in stdc("ps", "-a").stdout
    finally:
        stdc("rm", "-f", cid)


def test_ps_truthful_after_payload_killed(stdc):
    cid = stdc("run", "-d", "base", "sleep", "300").stdout.strip()
    try:
        os.kill(_inspect(stdc, cid)["State"]["Pid"], signal.SIGKILL)
        assert stdc("wait", cid).stdout == "137\n"
        assert "Exited (137)" in stdc("ps", "-a").stdout
    finally:
        stdc("rm", "-f", cid)


def test_twenty_parallel_runs(stdc):
    stdc("run", "--rm", "base", "true")  # the base image exists before the race
    before = stdc("ps", "-aq").stdout
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: stdc("run", "--rm", "base", "sh", "-c", f"echo {i}", check=False), range(20)))
    assert [r.returncode for r in results] == [0] * 20, [r.stderr for r in results if r.returncode]
    assert sorted(int(r.stdout) for r in results) == list(range(20))
    assert stdc("ps", "-aq").stdout == before


def test_detached_auto_remove(stdc):
    cid = stdc("run", "-d", "--rm", "base", "sh", "-c", "echo bye").stdout.strip()
    # the monitor's clean-up removes the container once the payload has exited
    assert _wait_for(lambda: cid[:12] not in stdc("ps", "-a").stdout)
    r = stdc("inspect", cid, check=False)
    assert r.returncode != 0 and "no such" in r.stderr


def test_help_explains(stdc):
    out = stdc("run", "--help").stdout
    for flag in ("-d, --detach", "--rm", "--name", "-e, --env", "-w, --workdir", "-u, --user", "--hostname"):
        assert flag in out
    assert "exit status" in out
