"""stdc-runtime, runc's command line, driven directly: the lifecycle and state JSON, exec, the
hooks with the state on stdin, the console socket, cgroup verbs, the spec's process settings and
runc's errors. Real containers on the native executor; each test's runtime root is its own."""

from __future__ import annotations

import array
import json
import os
import socket
import time
from pathlib import Path

import pytest
from oci_bundles import make_bundle, read_spec, runtime, write_spec


@pytest.fixture
def oci_root(stdc, tmp_path: Path) -> Path:
    """The runtime's --root; whatever a failed test left running there is deleted."""
    root = tmp_path / "runtime-root"
    yield root
    if root.is_dir():
        for cid in os.listdir(root):
            runtime(root, "delete", "--force", cid, check=False)


def _state(root: Path, cid: str) -> dict:
    return json.loads(runtime(root, "state", cid).stdout)


_V1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _cgroup_file(pid: int, controller: str, name: str) -> str:
    """A file of the cgroup ``pid`` is in (v1: of ``controller``'s hierarchy), as the host sees it."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller in controllers.split(",")) if _V1 else controllers == "":
            base = f"/sys/fs/cgroup/{controller}" if _V1 else "/sys/fs/cgroup"
            return Path(base + path, name).read_text().strip()
    raise AssertionError(f"{pid} is in no {controller} cgroup")


def _wait_for(predicate, what: str) -> None:
    for _ in range(500):
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


def test_run_in_the_foreground_exits_as_the_payload(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "echo out; echo err >&2; hostname; exit 7"])
    done = runtime(oci_root, "run", "--bundle", str(bundle), "fg", check=False)
    assert done.returncode == 7, done.stderr
    assert done.stdout.split() == ["out", "runc"]
    assert done.stderr == "err\n"
    assert runtime(oci_root, "list", "-q").stdout == ""  # run deletes what it created


def test_create_waits_for_start_then_state_exec_kill_delete(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "touch /started; exec sleep 1000"])
    pid_file = tmp_path / "pid"
    runtime(oci_root, "create", "--bundle", str(bundle), "--pid-file", str(pid_file), "c1")
    state = _state(oci_root, "c1")
    assert state["status"] == "created" and state["pid"] == int(pid_file.read_text())
    assert state["ociVersion"].startswith("1.") and state["bundle"] == str(bundle) and state["id"] == "c1"
    assert not (bundle / "rootfs" / "started").exists()  # created: the payload has not run
    runtime(oci_root, "start", "c1")
    _wait_for(lambda: (bundle / "rootfs" / "started").exists(), "the payload ran after start")
    assert _state(oci_root, "c1")["status"] == "running"
    again = runtime(oci_root, "start", "c1", check=False)
    assert again.returncode == 1 and "already running" in again.stderr
    done = runtime(oci_root, "exec", "c1", "sh", "-c", "echo $$; exit 3", check=False)
    assert done.returncode == 3 and done.stdout.strip() != "1"
    assert runtime(oci_root, "exec", "c1", "cat", "/proc/1/cmdline").stdout.split("\0")[:2] == ["sleep", "1000"]
    pids = json.loads(runtime(oci_root, "ps", "--format", "json", "c1").stdout)
    assert pids == [state["pid"]]
    refused = runtime(oci_root, "delete", "c1", check=False)
    assert refused.returncode == 1 and "not stopped: running" in refused.stderr
    runtime(oci_root, "kill", "c1", "KILL")
    _wait_for(lambda: _state(oci_root, "c1")["status"] == "stopped", "stopped after kill")
    runtime(oci_root, "delete", "c1")
    gone = runtime(oci_root, "state", "c1", check=False)
    assert gone.returncode == 1 and "does not exist" in gone.stderr


def test_exec_with_a_process_file_detached_with_pid_file(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    runtime(oci_root, "run", "-d", "--bundle", str(bundle), "c2")
    process = {
        "args": ["sh", "-c", "echo $X > /from-exec"],
        "env": ["X=42", "PATH=/bin"],
        "cwd": "/",
        "user": {"uid": 0, "gid": 0},
    }
    (tmp_path / "process.json").write_text(json.dumps(process))
    runtime(
        oci_root, "exec", "--process", str(tmp_path / "process.json"), "-d", "--pid-file", str(tmp_path / "p"), "c2"
    )
    assert int((tmp_path / "p").read_text()) > 0
    _wait_for(lambda: (bundle / "rootfs" / "from-exec").exists(), "the detached exec ran")
    _wait_for(lambda: (bundle / "rootfs" / "from-exec").read_text() == "42\n", "it wrote")
    runtime(oci_root, "delete", "--force", "c2")
    assert runtime(oci_root, "list", "-q").stdout == ""


def test_pause_resume_update_events(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    runtime(oci_root, "run", "-d", "--bundle", str(bundle), "c3")
    runtime(oci_root, "pause", "c3")
    assert _state(oci_root, "c3")["status"] == "paused"
    runtime(oci_root, "resume", "c3")
    assert _state(oci_root, "c3")["status"] == "running"
    runtime(oci_root, "update", "--memory", "64m", "--pids-limit", "20", "c3")
    (tmp_path / "r.json").write_text(json.dumps({"pids": {"limit": 21}}))
    runtime(oci_root, "update", "-r", str(tmp_path / "r.json"), "c3")
    pid = _state(oci_root, "c3")["pid"]
    assert _cgroup_file(pid, "pids", "pids.max") == "21"
    assert _cgroup_file(pid, "memory", "memory.limit_in_bytes" if _V1 else "memory.max") == str(64 << 20)
    stats = json.loads(runtime(oci_root, "events", "--stats", "c3").stdout)
    assert stats["type"] == "stats" and stats["id"] == "c3" and stats["data"]["pids"]["current"] == 1
    runtime(oci_root, "delete", "--force", "c3")


def test_hooks_get_the_state_on_stdin_in_order(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "cat /hooked-in > /seen-by-payload"])
    log = tmp_path / "hooks.log"
    spec = read_spec(bundle)

    def host(kind: str) -> dict:
        script = f'read s; echo "{kind} $s" >> {log}'
        return {"path": "/bin/sh", "args": ["sh", "-c", script]}

    def inside(kind: str) -> dict:  # path resolved and run in the container
        return {"path": "/bin/sh", "args": ["sh", "-c", f"read s; echo {kind} >> /hooked-in"]}

    spec["hooks"] = {
        "prestart": [host("prestart")],
        "createRuntime": [host("createRuntime")],
        "createContainer": [inside("createContainer")],
        "startContainer": [inside("startContainer")],
        "poststart": [host("poststart")],
        "poststop": [host("poststop")],
    }
    write_spec(bundle, spec)
    runtime(oci_root, "run", "--bundle", str(bundle), "h1")
    lines = log.read_text().splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["prestart", "createRuntime", "poststart", "poststop"]
    states = [json.loads(line.split(" ", 1)[1]) for line in lines]
    assert [s["status"] for s in states] == ["created", "created", "running", "stopped"]
    assert all(s["id"] == "h1" and s["bundle"] == str(bundle) for s in states)
    assert (bundle / "rootfs" / "seen-by-payload").read_text().split() == ["createContainer", "startContainer"]


def test_a_failing_create_hook_fails_create_and_leaves_nothing(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["true"])
    spec = read_spec(bundle)
    spec["hooks"] = {"createRuntime": [{"path": "/bin/false"}]}
    write_spec(bundle, spec)
    failed = runtime(oci_root, "create", "--bundle", str(bundle), "h2", check=False)
    assert failed.returncode == 1 and "createRuntime" in failed.stderr
    assert runtime(oci_root, "list", "-q").stdout == ""


def test_console_socket_receives_the_terminal_master(oci_root, tmp_path):
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", "tty; stat -c %t,%T /dev/console"], terminal=True)
    path = str(tmp_path / "console.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    try:
        runtime(oci_root, "create", "--bundle", str(bundle), "--console-socket", path, "t1")
        conn, _ = server.accept()
        fds = array.array("i")
        _, ancillary, _, _ = conn.recvmsg(256, socket.CMSG_SPACE(fds.itemsize))
        conn.close()
        fds.frombytes(ancillary[0][2])
        master = fds[0]
        runtime(oci_root, "start", "t1")
        output = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every slave closed
                break
            if not chunk:
                break
            output += chunk
        os.close(master)
        assert output.decode().split() == ["/dev/pts/0", "88,0"]
    finally:
        server.close()
        runtime(oci_root, "delete", "--force", "t1", check=False)


def test_rlimits_sysctl_masked_and_readonly_paths(oci_root, tmp_path):
    script = (
        "ulimit -n; cat /proc/sys/net/ipv4/ip_forward; (echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null || echo ro"
    )
    bundle = make_bundle(tmp_path / "b", ["sh", "-c", script + "; cat /proc/kcore | wc -c"])
    spec = read_spec(bundle)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456}]
    spec["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    write_spec(bundle, spec)
    done = runtime(oci_root, "run", "--bundle", str(bundle), "r1")
    assert done.stdout.split() == ["123", "1", "ro", "0"]  # /proc/kcore masked: empty


def test_runc_errors_one_line_and_json_log(oci_root, tmp_path):
    log = tmp_path / "log.json"
    missing = runtime(oci_root, "--log", str(log), "--log-format", "json", "state", "nope", check=False)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and "does not exist" in entry["msg"] and entry["time"]
    refused = runtime(oci_root, "--systemd-cgroup", "state", "x", check=False)
    assert refused.returncode == 1 and "systemd" in refused.stderr
    bundle = make_bundle(tmp_path / "b", ["sleep", "1000"])
    runtime(oci_root, "create", "--bundle", str(bundle), "dup")
    twice = runtime(oci_root, "create", "--bundle", str(bundle), "dup", check=False)
    assert twice.returncode == 1 and "exists" in twice.stderr
    not_stopped = runtime(oci_root, "delete", "dup", check=False)  # created: not stopped, as the runtime spec says
    assert not_stopped.returncode == 1 and "not stopped: created" in not_stopped.stderr
    runtime(oci_root, "delete", "--force", "dup")
    notfound = make_bundle(tmp_path / "nf", ["/no/such"])
    failed = runtime(oci_root, "create", "--bundle", str(notfound), "nf", check=False)
    assert failed.returncode == 1 and "/no/such" in failed.stderr
    assert runtime(oci_root, "list", "-q").stdout == ""


def test_features_and_spec_documents(oci_root, tmp_path):
    features = json.loads(runtime(oci_root, "features").stdout)
    assert features["ociVersionMin"] == "1.0.0" and "createContainer" in features["hooks"]
    assert "mount" in features["linux"]["namespaces"]
    runtime(oci_root, "spec", "--bundle", str(tmp_path))
    spec = json.loads((tmp_path / "config.json").read_text())
    assert spec["root"]["path"] == "rootfs" and spec["process"]["args"] == ["sh"]
    assert runtime(oci_root, "spec", "--bundle", str(tmp_path), check=False).returncode == 1
