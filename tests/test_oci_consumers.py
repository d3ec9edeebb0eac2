"""stdc-runtime under its real consumers, each started by the test with private roots, state and
sockets: podman (``--runtime``, through conmon) and containerd (its runc v2 shim, ``ctr run
--runc-binary``). The images are a local busybox root filesystem: nothing from the network."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import cgroup_parent
from oci_bundles import STDC_RUNTIME, busybox_rootfs


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    """A busybox root filesystem."""
    return busybox_rootfs(tmp_path / "rootfs")


@pytest.fixture
def podman(stdc, root: str, tmp_path: Path) -> Iterator[object]:
    """``podman`` with a storage root, run root and configuration of the test's own, on
    stdc-runtime, its containers' cgroups under the session's parent (``--runtime-flag``)."""
    conf = tmp_path / "containers.conf"
    conf.write_text(
        '[containers]\ndefault_ulimits = []\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
    )
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    short = Path(tempfile.mkdtemp(prefix="oci-pd-", dir="/var/tmp"))  # podman wants a run root of <= 50 characters
    base = [
        "podman",
        "--root",
        str(tmp_path / "podman-root"),
        "--runroot",
        str(short / "run"),
        "--storage-driver",
        "vfs",
        "--runtime",
        STDC_RUNTIME,
        "--runtime-flag",
        f"cgroup-parent={cgroup_parent(root)}",
    ]

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*base, *args], env=env, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    run.base, run.env = base, env  # type: ignore[attr-defined]
    yield run
    names = run("ps", "-aq", check=False).stdout.split()
    if names:
        run("rm", "-f", "-t", "0", *names, check=False)
    subprocess.run([*base, "system", "reset", "-f"], env=env, capture_output=True, timeout=120)
    shutil.rmtree(short, ignore_errors=True)


def _host_cgroup_value(pid: int, controller: str, name: str) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path(f"/sys/fs/cgroup/{controller}{path}", name).read_text().strip()
    return Path(f"/sys/fs/cgroup{path}", name).read_text().strip()  # v2: the one hierarchy


def test_podman_run_rm_network_none(podman, rootfs):
    done = podman("run", "--rm", "--network", "none", "--rootfs", str(rootfs), "sh", "-c", "echo hi; ls /sys/class/net")
    assert done.stdout.split() == ["hi", "lo"]
    failed = podman("run", "--rm", "--network", "none", "--rootfs", str(rootfs), "sh", "-c", "exit 5", check=False)
    assert failed.returncode == 5


def test_podman_default_network(podman, rootfs):
    done = podman("run", "--rm", "--rootfs", str(rootfs), "cat", "/proc/net/dev")
    assert "eth0:" in done.stdout


def test_podman_detached_exec_stop_rm_with_limits(podman, rootfs):
    limits = ("-m", "64m", "--pids-limit", "33")
    podman("run", "-d", "--name", "web", "--network", "none", *limits, "--rootfs", str(rootfs), "sleep", "1000")
    pid = int(podman("inspect", "--format", "{{.State.Pid}}", "web").stdout)
    memory_file = "memory.limit_in_bytes" if os.path.isdir("/sys/fs/cgroup/memory") else "memory.max"
    assert _host_cgroup_value(pid, "memory", memory_file) == str(64 << 20)
    assert _host_cgroup_value(pid, "pids", "pids.max") == "33"
    assert podman("exec", "web", "sh", "-c", "echo in; cat /proc/1/cmdline").stdout.startswith("in\nsleep")
    assert podman("exec", "web", "sh", "-c", "exit 9", check=False).returncode == 9
    podman("stop", "-t", "1", "web")
    assert podman("inspect", "--format", "{{.State.Status}}", "web").stdout.strip() == "exited"
    podman("rm", "web")
    assert podman("ps", "-aq").stdout == ""


def test_podman_it_gets_a_terminal_through_the_console_socket(podman, rootfs):
    command = " ".join([*podman.base, "run", "-it", "--rm", "--network", "none", "--rootfs", str(rootfs)])
    done = subprocess.run(
        ["script", "-qec", f"{command} sh -c 'tty; exit 3'", "/dev/null"],
        env=podman.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert "/dev/pts/0" in done.stdout


@pytest.fixture
def containerd(stdc, root: str, tmp_path: Path) -> Iterator[object]:
    """A containerd of the test's own (root, state, sockets; its CRI plugin off), its shims and
    so stdc-runtime with the session's cgroup parent; ``ctr`` bound to it."""
    home = Path(tempfile.mkdtemp(prefix="oci-ctd-", dir="/var/tmp"))  # a short socket path
    sock = home / "containerd.sock"
    config = home / "config.toml"
    config.write_text(
        f'version = 2\nroot = "{home}/root"\nstate = "{home}/state"\n'
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'
        f'[grpc]\n  address = "{sock}"\n[ttrpc]\n  address = "{sock}.ttrpc"\n'
    )
    env = {**os.environ, "STDC_CGROUP_PARENT": cgroup_parent(root)}
    with open(home / "log", "w") as log:
        daemon = subprocess.Popen(["containerd", "--config", str(config)], env=env, stdout=log, stderr=log)
    try:
        ctr_base = ["ctr", "--address", str(sock), "--namespace", "stdctest"]
        for _ in range(500):
            if subprocess.run([*ctr_base, "version"], capture_output=True).returncode == 0:
                break
            time.sleep(0.02)

        def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess:
            done = subprocess.run([*ctr_base, *args], capture_output=True, text=True, timeout=120)
            if check and done.returncode != 0:
                raise AssertionError(f"ctr {' '.join(args)} exited {done.returncode}: {done.stderr}")
            return done

        yield ctr
        for task in ctr("task", "ls", "-q", check=False).stdout.split():
            ctr("task", "kill", "-s", "SIGKILL", task, check=False)
            ctr("task", "rm", "-f", task, check=False)
        for container in ctr("containers", "ls", "-q", check=False).stdout.split():
            ctr("containers", "rm", container, check=False)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=60)
        shutil.rmtree(home, ignore_errors=True)


def test_ctr_run_rm_through_the_runc_v2_shim(containerd, rootfs):
    done = containerd("run", "--rm", "--runc-binary", STDC_RUNTIME, "--rootfs", str(rootfs), "one", "echo", "hi")
    assert done.stdout.strip() == "hi"


def test_ctr_task_exec_and_kill(containerd, rootfs):
    containerd("run", "-d", "--runc-binary", STDC_RUNTIME, "--rootfs", str(rootfs), "two", "sleep", "1000")
    tasks = containerd("task", "ls").stdout
    assert "two" in tasks and "RUNNING" in tasks
    done = containerd("task", "exec", "--exec-id", "e1", "two", "sh", "-c", "cat /proc/1/cmdline; exit 4", check=False)
    assert done.returncode == 4 and done.stdout.startswith("sleep")
    containerd("task", "kill", "-s", "SIGKILL", "two")
    for _ in range(500):
        if "STOPPED" in containerd("task", "ls").stdout:
            break
        time.sleep(0.02)
    assert "STOPPED" in containerd("task", "ls").stdout
    containerd("task", "rm", "two")
    containerd("containers", "rm", "two")
