"""`stdc daemon`: the same commands, handed by the client to a warm daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from conftest import STDC


@pytest.fixture
def daemon(stdc, root, tmp_path):
    """A daemon on a socket of the test's own; the client finds it through STDC_DAEMON_SOCKET."""
    path = str(tmp_path / "daemon.sock")
    # the warm path alone: the Docker API (a child process of its own) has tests of its own
    proc = subprocess.Popen([STDC, "daemon", "--socket", path, "--no-api"], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the daemon did not start listening"
        time.sleep(0.05)
    env = {**os.environ, "STDC_DAEMON_SOCKET": path}

    def via_daemon(*args, **kw):
        return stdc(*args, env={**env, **kw.pop("env", {})}, **kw)

    via_daemon.env = env
    via_daemon.path = path
    via_daemon.pid = proc.pid
    yield via_daemon
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not os.path.exists(path), "the daemon left its socket behind"


def _worker_pids(daemon_pid: int) -> set[int]:
    with open(f"/proc/{daemon_pid}/task/{daemon_pid}/children") as f:
        return {int(p) for p in f.read().split()}


def test_output_exit_codes_and_errors(daemon):
    r = daemon("run", "--rm", "base", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")
    r = daemon("run", "--rm", "base", "/bin/nope", check=False)
    assert r.returncode == 127 and r.stderr.count("\n") == 1 and "nope" in r.stderr
    r = daemon("run", "--rm", "no-such-image", "true", check=False)
    assert r.returncode == 125 and r.stderr.startswith("stdc: ")
    # every worker is gone: it exits right after sending the status, so it may take a moment
    deadline = time.monotonic() + 10
    while _worker_pids(daemon.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _worker_pids(daemon.pid) == set()


def test_environment_and_working_directory_are_the_clients(daemon, tmp_path):
    r = daemon(
        "run", "--rm", "-e", "FROM_CLIENT", "base", "sh", "-c", 'echo "$FROM_CLIENT"', env={"FROM_CLIENT": "yes"}
    )
    assert r.stdout == "yes\n"
    # a relative path is the client's, not the daemon's
    subprocess.run(["tar", "-cf", str(tmp_path / "rootfs.tar"), "-C", "/", "bin/busybox"], check=True)
    daemon("import", "rootfs.tar", "daemon-rel:1", cwd=str(tmp_path))
    assert "daemon-rel" in daemon("images").stdout
    daemon("rmi", "daemon-rel:1")


def test_detached_containers_outlive_the_daemon(daemon, stdc):
    cid = daemon("run", "-d", "base", "sh", "-c", "echo hi; sleep 300").stdout.strip()
    try:
        os.kill(daemon.pid, signal.SIGTERM)  # the fixture sees it already stopped
        time.sleep(0.5)
        assert "Up" in stdc("ps").stdout  # without the daemon, in-process
        assert stdc("logs", cid).stdout == "hi\n"
    finally:
        stdc("rm", "-f", cid)
    assert not os.path.exists(daemon.path)
    # with no daemon listening, the client runs the command itself
    assert daemon("run", "--rm", "base", "echo", "alone").stdout == "alone\n"


def test_signals_reach_the_payload(daemon):
    proc = subprocess.Popen(
        [STDC, "run", "--rm", "base", "sh", "-c", "trap 'exit 7' TERM; echo ready; sleep 300 & wait"],
        stdout=subprocess.PIPE,
        text=True,
        env=daemon.env,
    )
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_one_daemon_per_socket(daemon):
    r = subprocess.run(
        [STDC, "daemon", "--socket", daemon.path, "--no-api"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 125 and "already listens" in r.stderr
    assert os.path.exists(daemon.path)
