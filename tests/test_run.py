"""`stdc run`: exit codes, output streams, the process environment, isolation."""

from __future__ import annotations

import os
import subprocess

from conftest import STDC


def test_exit_code_zero_and_output(stdc):
    r = stdc("run", "--rm", "base", "/bin/echo", "hello")
    assert r.returncode == 0
    assert r.stdout == "hello\n"
    assert r.stderr == ""


def test_exit_code_passed_through(stdc):
    r = stdc("run", "--rm", "base", "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3


def test_stdout_and_stderr_stay_separate(stdc):
    r = stdc("run", "--rm", "base", "sh", "-c", "echo out; echo err >&2; echo out2")
    assert r.stdout == "out\nout2\n"
    assert r.stderr == "err\n"


def test_output_is_live(stdc, root):
    """The first line arrives while the payload is still running."""
    proc = subprocess.Popen(
        [STDC, "run", "--rm", "base", "sh", "-c", "echo first; sleep 2; echo second"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "first\n"
        assert proc.poll() is None
        assert proc.stdout.readline() == "second\n"
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_env_cwd_user_hostname(stdc):
    r = stdc(
        "run",
        "--rm",
        "-e",
        "GREETING=hi there",
        "-w",
        "/tmp",
        "-u",
        "1000:1001",
        "--hostname",
        "box",
        "base",
        "sh",
        "-c",
        'echo "$GREETING|$(pwd)|$(id -u):$(id -g)|$(hostname)"',
    )
    assert r.stdout == "hi there|/tmp|1000:1001|box\n"


def test_env_from_host_and_image_path(stdc):
    r = stdc(
        "run",
        "--rm",
        "-e",
        "FROM_HOST",
        "base",
        "sh",
        "-c",
        'echo "$FROM_HOST|$PATH"',
        env={**os.environ, "FROM_HOST": "yes"},
    )
    assert r.stdout.startswith("yes|")
    assert "/bin" in r.stdout


def test_user_by_name_from_the_image(stdc):
    r = stdc("run", "--rm", "-u", "nobody", "base", "id", "-u")
    assert r.stdout == "65534\n"


def test_missing_workdir_is_created(stdc):
    assert stdc("run", "--rm", "-w", "/new/dir", "base", "pwd").stdout == "/new/dir\n"


def test_payload_is_pid_1(stdc):
    assert stdc("run", "--rm", "base", "sh", "-c", "echo $$").stdout == "1\n"


def test_host_processes_invisible(stdc):
    pids = stdc("run", "--rm", "base", "sh", "-c", "ls /proc | grep -E '^[0-9]+$'").stdout.split()
    # only the shell (1) and its pipeline: the host's hundreds of processes are not there
    assert "1" in pids and len(pids) <= 3, pids


CONTAINER_MOUNTS = {"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"}


def test_host_mounts_invisible(stdc):
    from stdc.kit.ocispec import CGROUP_MOUNT, MASKED_PATHS, READONLY_PATHS

    lines = [line.split() for line in stdc("run", "--rm", "base", "cat", "/proc/self/mountinfo").stdout.splitlines()]
    # the container's own cgroups: each the root of its cgroup namespace, none the host's hierarchy
    cgroups = {fields[4]: fields[3] for fields in lines if (fields[4] + "/").startswith(CGROUP_MOUNT + "/")}
    assert CGROUP_MOUNT in cgroups and set(cgroups.values()) == {"/"}, cgroups
    inside = {fields[4] for fields in lines} - set(cgroups)
    assert {"/", "/proc", "/dev", "/sys"} <= inside
    assert inside <= CONTAINER_MOUNTS | set(MASKED_PATHS) | set(READONLY_PATHS), inside
    with open("/proc/self/mountinfo") as f:
        host = {line.split()[4] for line in f}
    assert not (inside & (host - CONTAINER_MOUNTS - set(MASKED_PATHS) - set(READONLY_PATHS)))


def test_capabilities_and_no_new_privs(stdc):
    status = stdc("run", "--rm", "base", "cat", "/proc/self/status").stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["CapEff"].strip() == "00000000a80425fb"  # docker's default set
    assert fields["CapBnd"].strip() == "00000000a80425fb"
    assert fields["CapInh"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"


def test_proc_masked_and_readonly(stdc):
    from stdc.kit.ocispec import MASKED_PATHS

    files = [p for p in MASKED_PATHS if os.path.isfile(p)]
    dirs = [p for p in MASKED_PATHS if os.path.isdir(p) and os.listdir(p)]
    assert files and dirs, "this host exposes none of the masked paths: nothing to check"
    script = "; ".join(
        [f"echo $(cat {p} | wc -c)" for p in files]
        + [f"echo $(ls {p} | wc -l)" for p in dirs]
        + ["echo 1 > /proc/sys/kernel/hostname && echo wrote || echo refused"]
    )
    out = stdc("run", "--rm", "base", "sh", "-c", script).stdout.split()
    assert out == ["0"] * (len(files) + len(dirs)) + ["refused"], dict(zip(files + dirs, out, strict=False))


def test_only_stdio_fds_reach_the_payload(stdc):
    r = stdc("run", "--rm", "base", "sh", "-c", "ls /proc/self/fd")
    # ls itself opens one descriptor to read the directory
    assert set(r.stdout.split()) <= {"0", "1", "2", "3"}


def test_writes_stay_in_their_container(stdc):
    a = stdc("run", "-d", "base", "sh", "-c", "echo secret > /etc/mine; sleep 300").stdout.strip()
    try:
        r = stdc("run", "--rm", "base", "sh", "-c", "cat /etc/mine 2>/dev/null || echo absent")
        assert r.stdout == "absent\n"
        assert stdc("logs", a).stdout == ""
    finally:
        stdc("rm", "-f", a)
    r = stdc("run", "--rm", "base", "sh", "-c", "ls /etc/mine 2>/dev/null || echo absent")
    assert r.stdout == "absent\n"


def test_unknown_command_is_127_with_a_message(stdc, root):
    before = stdc("ps", "-aq").stdout
    r = stdc("run", "--rm", "base", "/bin/nope", check=False)
    assert r.returncode == 127
    assert "nope" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert stdc("ps", "-aq").stdout == before


def test_not_executable_is_126(stdc):
    r = stdc("run", "--rm", "base", "/etc/passwd", check=False)
    assert r.returncode == 126
    assert len(r.stderr.strip().splitlines()) == 1
