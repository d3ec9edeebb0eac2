"""Security suite: devices, the runtime's own files and descriptors, the working directory and
the image's user files — checked from inside containers, for every executor.

Each test names in its docstring the Docker/runc behaviour it holds the executor to. Runs like
:mod:`stdc.testing.executor_suite` (whose fixtures and parametrization it reuses): from a test module
that sets ``EXECUTORS = [...]`` and does ``from stdc.testing.security_devices import *``.
Needs root, ``runuser`` (util-linux) and a static busybox on the host.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator

import pytest

from stdc.testing.executor_suite import (
    CGROUP_ROOT,
    STDC,
    Cli,
    SpecRunner,
    _wait_for,
    cli,
    exec_root,
    executor,
    pytest_generate_tests,
    spec_runner,
    spec_workdir,
)

__all__ = [
    "pytest_generate_tests",
    "executor",
    "exec_root",
    "cli",
    "spec_runner",
    "spec_workdir",
    "test_device_node_in_the_root_cannot_be_opened",
    "test_privileged_device_rules_allow_every_device",
    "test_image_device_nodes_are_not_unpacked",
    "test_mknod_then_open_is_denied",
    "test_default_devices_are_usable",
    "test_device_option_grants_one_device",
    "test_bad_device_option_changes_nothing",
    "test_only_stdio_reaches_the_payload",
    "test_only_stdio_reaches_a_detached_payload",
    "test_only_stdio_through_the_daemon",
    "test_workdir_in_proc_self_fd_is_refused",
    "test_image_workdir_leading_into_proc_is_refused",
    "test_runtime_dirs_are_closed_to_other_users",
    "test_passwd_symlink_to_the_host_is_not_followed",
    "test_endless_or_huge_passwd_is_bounded",
]

EPERM = "Operation not permitted"


# -- helpers ----------------------------------------------------------------------------------


def _host_device(kind: str, avoid: set[str]) -> tuple[int, int]:
    """A device of the host (``/sys/dev/char`` or ``/sys/dev/block``) outside runc's default
    list, so that only the device rules stand between a container and it. Only opened, never
    written: loop devices first among block devices; of character devices only fuse or
    loop-control, harmless to open."""
    if kind == "block":
        found = sorted(os.listdir("/sys/dev/block"), key=lambda n: (not n.startswith("7:"), n))
    else:
        found = [n for n in ("10:229", "10:237") if os.path.exists(f"/sys/dev/char/{n}")]
    found = [n for n in found if n not in avoid]
    assert found, f"this host has no {kind} device to try"
    major, minor = found[0].split(":")
    return int(major), int(minor)


def _host_node(kind: str, numbers: tuple[int, int]) -> str:
    """The host's node of a device (for ``--device``): /dev/NAME from sysfs' uevent."""
    with open(f"/sys/dev/{kind}/{numbers[0]}:{numbers[1]}/uevent") as f:
        name = next(line.split("=", 1)[1].strip() for line in f if line.startswith("DEVNAME="))
    return os.path.join("/dev", name)


def _opens(paths: list[str]) -> str:
    """A shell loop that tries to open each path and says how it went (stderr holds why)."""
    return "; ".join(f'if true < {p}; then echo "{p} opened"; else echo "{p} refused"; fi' for p in paths)


def _image_tar(path: str, extra: list[tuple[tarfile.TarInfo, bytes | None]]) -> None:
    """A root filesystem tarball: the host's busybox with a few applets, plus ``extra``."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "data"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        tar.add(busybox, "bin/busybox")
        for applet in ("sh", "cat", "id", "ls", "pwd", "true", "head", "wc", "mknod", "echo", "sleep"):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _entry(name: str, kind: bytes = tarfile.REGTYPE, data: bytes | None = None, **fields: object) -> tuple:
    info = tarfile.TarInfo(name)
    info.type, info.mode = kind, 0o644
    for key, value in fields.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    return info, data


@contextlib.contextmanager
def _imported(cli: Cli, name: str, extra: list[tuple], *changes: str) -> Iterator[str]:
    """``stdc import`` a hostile image for the test; removed afterwards."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        tarball = os.path.join(tmp, "rootfs.tar")
        _image_tar(tarball, extra)
        cli("import", *[a for c in changes for a in ("-c", c)], tarball, name)
    try:
        yield name
    finally:
        cli("rmi", "-f", name, check=False)


def _container_pids(cid: str) -> list[int]:
    """The processes of a running container, from its cgroup (the payload's, not a monitor's)."""
    dirs = glob.glob(f"{CGROUP_ROOT}/pids/stdc/{cid}") + glob.glob(f"{CGROUP_ROOT}/stdc/{cid}")
    assert dirs, f"no cgroup for container {cid}"
    with open(os.path.join(dirs[0], "cgroup.procs")) as f:
        return [int(p) for p in f.read().split()]


def _descriptors(pid: int) -> dict[str, str]:
    found = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(FileNotFoundError):
            found[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
    return found


def _assert_stdio_only_detached(cli: Cli) -> None:
    cid = cli("run", "-d", "base", "sleep", "60").stdout.strip()
    try:

        def payload_runs() -> bool:
            pids = _container_pids(cid)
            return bool(pids) and all(open(f"/proc/{p}/comm").read().strip() == "sleep" for p in pids)

        _wait_for(payload_runs)
        for pid in _container_pids(cid):
            fds = _descriptors(pid)
            assert sorted(fds) == ["0", "1", "2"], f"descriptors of the payload: {fds}"
    finally:
        cli("rm", "-f", cid)


# -- devices ----------------------------------------------------------------------------------


def test_device_node_in_the_root_cannot_be_opened(spec_runner: SpecRunner) -> None:
    """A root filesystem that holds device nodes (a layer may ship /dev/sda, /dev/mem; /dev
    itself is a tmpfs, so they sit elsewhere: /mem, /data/disk) cannot use them: runc's default
    device cgroup (docker's) allows only null, zero, full, random, urandom, tty, console, ptmx
    and pts, and opening anything else fails with EPERM."""
    block = _host_device("block", set())
    char = _host_device("char", set())
    nodes = {"mem": (0o20000, (1, 1)), "data/disk": (0o60000, block), "ctl": (0o20000, char)}
    for name, (kind, (major, minor)) in nodes.items():
        os.makedirs(os.path.dirname(os.path.join(spec_runner.rootfs, name)), exist_ok=True)
        os.mknod(os.path.join(spec_runner.rootfs, name), kind | 0o666, os.makedev(major, minor))
    code, output = spec_runner.run(["sh", "-c", _opens(["/mem", "/data/disk", "/ctl"])])
    for name in nodes:
        assert f"/{name} refused" in output, output
    assert output.count(EPERM) == 3, output


def test_privileged_device_rules_allow_every_device(spec_runner: SpecRunner) -> None:
    """What docker writes for ``--privileged``: ``linux.resources.devices = [{"allow": true,
    "access": "rwm"}]`` and the host's devices in ``linux.devices``. The nodes of the root open
    (a block device read-only, a harmless character device) — the refusal above is the device
    rules', not the filesystem's — and so do the nodes the executor made under /dev."""
    block = _host_device("block", set())
    char = _host_device("char", set())
    os.makedirs(os.path.join(spec_runner.rootfs, "data"), exist_ok=True)
    os.mknod(os.path.join(spec_runner.rootfs, "data", "disk"), 0o60000 | 0o600, os.makedev(*block))
    os.mknod(os.path.join(spec_runner.rootfs, "ctl"), 0o20000 | 0o600, os.makedev(*char))

    def adjust(spec: dict) -> None:
        spec["linux"]["resources"]["devices"] = [{"allow": True, "access": "rwm"}]
        spec["linux"]["devices"] += [
            {"path": "/dev/xvda", "type": "b", "major": block[0], "minor": block[1], "fileMode": 0o600},
            {"path": "/dev/hostctl", "type": "c", "major": char[0], "minor": char[1], "fileMode": 0o600},
        ]

    paths = ["/data/disk", "/ctl", "/dev/xvda", "/dev/hostctl"]
    code, output = spec_runner.run(["sh", "-c", _opens(paths)], adjust)
    assert output.split("\n")[:4] == [f"{p} opened" for p in paths], output


def test_image_device_nodes_are_not_unpacked(cli: Cli) -> None:
    """An image layer with device nodes (/mem c 1:1, /sda b 8:0, /data/disk): docker unpacks
    them (and relies on the device cgroup); stdc's layer code drops them, so they are absent
    — and were one made, the next tests show the device rules refuse it."""
    extra = [
        _entry("mem", tarfile.CHRTYPE, devmajor=1, devminor=1),
        _entry("sda", tarfile.BLKTYPE, devmajor=8, devminor=0),
        _entry("data/disk", tarfile.BLKTYPE, devmajor=8, devminor=0),
    ]
    with _imported(cli, "hostile-devices:1", extra) as image:
        r = cli("run", "--rm", image, "sh", "-c", "ls /mem /sda /data/disk; " + _opens(["/mem", "/sda"]), check=False)
    assert "/mem refused" in r.stdout and "/sda refused" in r.stdout, r.stdout
    assert "opened" not in r.stdout


def test_mknod_then_open_is_denied(cli: Cli) -> None:
    """docker keeps CAP_MKNOD and runc's default rules allow ``mknod`` of any node (type c and b,
    access m) — but not opening it: ``mknod /sda b 7 0`` succeeds, opening it is EPERM."""
    block = _host_device("block", set())
    char = _host_device("char", set())
    script = (f"mknod /sda b {block[0]} {block[1]} && mknod /mem c 1 1 && mknod /ctl c {char[0]} {char[1]} && "
              "echo made; " + _opens(["/sda", "/mem", "/ctl"]))  # fmt: skip
    r = cli("run", "--rm", "base", "sh", "-c", script)
    assert r.stdout.splitlines() == ["made", "/sda refused", "/mem refused", "/ctl refused"], r.stdout
    assert r.stderr.count(EPERM) == 3, r.stderr


def test_default_devices_are_usable(cli: Cli) -> None:
    """runc's default allowed devices work: read /dev/urandom and /dev/zero, write /dev/null,
    /dev/full says ENOSPC, a pseudo-terminal opens from /dev/ptmx (c 5:2, slaves c 136:*), and
    /dev/tty answers ENXIO (no controlling terminal), not EPERM."""
    script = (
        "head -c 16 /dev/urandom | wc -c; head -c 8 /dev/zero | wc -c; echo x > /dev/null && echo null; "
        "echo x > /dev/full || echo full-refused; exec 3<>/dev/ptmx && echo ptmx; "
        "mknod /console c 5 1 && echo console-made; true < /dev/tty || echo tty-refused"
    )
    r = cli("run", "--rm", "base", "sh", "-c", script, check=False)
    assert r.stdout.split() == ["16", "8", "null", "full-refused", "ptmx", "console-made", "tty-refused"], r
    assert "No space left on device" in r.stderr
    assert "No such device or address" in r.stderr
    assert EPERM not in r.stderr, r.stderr


def test_device_option_grants_one_device(cli: Cli) -> None:
    """``--device HOST[:CONT[:PERMS]]`` as docker: the node appears at CONT with the host's
    numbers (``/dev/null:/dev/mynull``), and only the access asked for is allowed (a block
    device given ``:r`` opens for reading, not for writing: EPERM); a node of other numbers
    made inside stays refused."""
    block = _host_device("block", set())
    other = _host_device("block", {f"{block[0]}:{block[1]}"})
    script = ("ls -l /dev/mynull /dev/xvda; echo x > /dev/mynull && echo write-ok; true < /dev/xvda && echo read-ok; "
              "true <> /dev/xvda || echo write-refused; "
              f"mknod /other b {other[0]} {other[1]}; " + _opens(["/other"]))  # fmt: skip
    given = _host_node("block", block) + ":/dev/xvda:r"
    r = cli("run", "--rm", "--device", "/dev/null:/dev/mynull", "--device", given, "base", "sh", "-c", script,
            check=False)  # fmt: skip
    lines = r.stdout.splitlines()
    assert lines[0].startswith("crw-rw-rw-") and "1,   3" in lines[0] and lines[0].endswith("/dev/mynull"), lines
    assert lines[1].startswith("b") and f"{block[0]},   {block[1]}" in lines[1], lines
    assert lines[2:] == ["write-ok", "read-ok", "write-refused", "/other refused"], r
    assert r.stderr.count(EPERM) == 2, r.stderr


def test_bad_device_option_changes_nothing(cli: Cli) -> None:
    """docker refuses ``--device`` on a path that is not a device, or with permissions other than
    r, w, m: one line, exit 125, no container made."""
    for value in ("/etc/passwd", "/dev/null:/dev/x:rwx", "/no/such/device", "/dev/null:relative"):
        r = cli("run", "--rm", "--device", value, "base", "true", check=False)
        assert r.returncode == 125 and len(r.stderr.splitlines()) == 1 and r.stderr.startswith("stdc: "), r
    assert cli("ps", "-aq").stdout == ""


# -- descriptors ------------------------------------------------------------------------------


def test_only_stdio_reaches_the_payload(cli: Cli) -> None:
    """runc closes every descriptor but 0-2 before exec (CVE-2024-21626 leaked one): the
    payload, pid 1, holds 0, 1 and 2 only — listed by a child (``ls -l /proc/1/fd``), so the
    lister's own directory descriptor is not counted. The payload's child is listed once it
    runs ``sleep``: before its exec the shell is still moving its stdin to /dev/null."""
    script = 'ls /proc/1/fd; sleep 1 & p=$!; until [ "$(cat /proc/$p/comm)" = sleep ]; do :; done; ls /proc/$p/fd'
    r = cli("run", "--rm", "base", "sh", "-c", script)
    assert r.stdout.split() == ["0", "1", "2", "0", "1", "2"], r.stdout


def test_only_stdio_reaches_a_detached_payload(cli: Cli) -> None:
    """The same for ``run -d`` (docker's detached mode, supervised by a monitor like conmon):
    the payload's descriptors, read from the host, are 0, 1 and 2."""
    _assert_stdio_only_detached(cli)


def test_only_stdio_through_the_daemon(cli: Cli, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same when a warm ``stdc daemon`` runs the commands (as dockerd does): nothing of
    the daemon — its listening socket, the client's connection — reaches the payload."""
    path = os.path.join(str(tmp_path), "daemon.sock")
    proc = subprocess.Popen([STDC, "--root", cli.root, "daemon", "--socket", path], stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: os.path.exists(path) or proc.poll() is not None, timeout=60)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        monkeypatch.setenv("STDC_DAEMON_SOCKET", path)
        r = cli("run", "--rm", "base", "sh", "-c", "ls /proc/1/fd; true")  # sh stays pid 1
        assert r.stdout.split() == ["0", "1", "2"], r.stdout
        _assert_stdio_only_detached(cli)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


# -- working directory --------------------------------------------------------------------------


def test_workdir_in_proc_self_fd_is_refused(cli: Cli) -> None:
    """runc 1.1.12 (CVE-2024-21626, "Leaky Vessels"): ``-w /proc/self/fd/N`` named a leaked
    host descriptor. Refused by name — /proc/self, /proc/thread-self, /proc/PID, /dev/fd — with
    one line and no container left; ``-w /proc`` itself is fine, as in docker."""
    for workdir in ("/proc/self/fd/3", "/proc/self/fd/7/..", "/proc/thread-self/cwd", "/proc/1/root", "/dev/fd/4",
                    "//proc/./self/fd/5"):  # fmt: skip
        r = cli("run", "--rm", "-w", workdir, "base", "pwd", check=False)
        assert r.returncode == 125 and r.stdout == "", r
        assert "refused" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert cli("ps", "-aq").stdout == ""
    assert cli("run", "--rm", "-w", "/proc", "base", "pwd").stdout == "/proc\n"


def test_image_workdir_leading_into_proc_is_refused(cli: Cli) -> None:
    """The image decides too: a WORKDIR of /proc/self/fd/7, or a symlink of the image
    (/work -> /proc/self/fd/3, /up -> /dev/fd/..) that leads there once /proc is mounted. runc
    now checks where it chdir'd; stdc refuses, and the payload never runs."""
    extra = [
        _entry("work", tarfile.SYMTYPE, linkname="/proc/self/fd/3"),
        _entry("up", tarfile.SYMTYPE, linkname="/dev/fd/.."),
    ]
    with _imported(cli, "hostile-workdir:1", extra, "WORKDIR /proc/self/fd/7") as image:
        r = cli("run", "--rm", image, "pwd", check=False)
        assert r.returncode == 125 and r.stdout == "" and "/proc/self/fd/7" in r.stderr, r
        for workdir in ("/work", "/up"):
            r = cli("run", "--rm", "-w", workdir, image, "pwd", check=False)
            assert r.returncode != 0 and r.stdout == "", r
            assert len(r.stderr.splitlines()) == 1, r.stderr
        assert cli("run", "--rm", "-w", "/data", image, "pwd").stdout == "/data\n"
    cli("rm", *cli("ps", "-aq").stdout.split(), check=False)


# -- the runtime's own files ----------------------------------------------------------------------


def _as_nobody(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "nobody", "--", *argv], capture_output=True, text=True, timeout=60)


def test_runtime_dirs_are_closed_to_other_users(executor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """docker keeps /var/lib/docker and its run directory root's (0710/0700): no other host user
    lists or enters stdc's root, a bundle, the image store, storage, or the runtime directory
    holding the daemon's socket — also when the root and runtime directory existed before,
    world-readable (an older install, an admin's mkdir)."""
    parent = tempfile.mkdtemp(prefix="stdc-sec-dirs-", dir="/var/tmp")
    os.chmod(parent, 0o755)  # others may reach the paths: the directories themselves must stop them
    root, run = os.path.join(parent, "root"), os.path.join(parent, "run")
    for made in (root, run):
        os.mkdir(made)
        os.chmod(made, 0o755)
    monkeypatch.setenv("STDC_RUNTIME_DIR", run)
    tool = Cli(root, executor)
    daemon = subprocess.Popen([STDC, "--root", root, "daemon", "--socket", os.path.join(run, "daemon.sock")],
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    cid = ""
    try:
        _wait_for(lambda: os.path.exists(os.path.join(run, "daemon.sock")) or daemon.poll() is not None, 60)
        assert daemon.poll() is None, daemon.stderr.read() if daemon.stderr else ""
        cid = tool("run", "-d", "base", "sleep", "60").stdout.strip()
        places = [root, os.path.join(root, "containers", cid), os.path.join(root, "images"),
                  os.path.join(root, "storage"), run]  # fmt: skip
        for place in places:
            assert os.path.isdir(place), place
            listing = _as_nobody("ls", place)
            entering = _as_nobody("ls", "-d", f"{place}/.")  # needs search permission, as cd does
            assert listing.returncode != 0 and "Permission denied" in listing.stderr, (place, listing)
            assert entering.returncode != 0 and "Permission denied" in entering.stderr, (place, entering)
        for own in (root, run):
            assert os.stat(own).st_mode & 0o077 == 0, oct(os.stat(own).st_mode)
        assert os.stat(parent).st_mode & 0o777 == 0o755  # only stdc's own directories were changed
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
        if cid:
            tool("rm", "-f", cid)
        shutil.rmtree(parent, ignore_errors=True)


# -- the image's user files ---------------------------------------------------------------------


def test_passwd_symlink_to_the_host_is_not_followed(cli: Cli) -> None:
    """An image whose /etc/passwd and /etc/group are symlinks to host files (absolute, relative
    with ../ enough to climb out, through /proc/1/root or /proc/self/cwd) — docker/runc resolve
    ``-u NAME`` inside the rootfs (securejoin): the host's entries are never found, the host's
    /etc/shadow never read."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as host:
        with open(os.path.join(host, "passwd"), "w") as f:
            f.write("hostonly:x:4242:4242::/hosthome:/bin/sh\n")
        with open(os.path.join(host, "group"), "w") as f:
            f.write("hostgroup:x:4343:\n")
        climb = "../" * 12
        for name, links in {
            "abs": {"etc/passwd": os.path.join(host, "passwd"), "etc/group": os.path.join(host, "group")},
            "rel": {
                "etc/passwd": climb + host.lstrip("/") + "/passwd",
                "etc/group": climb + host.lstrip("/") + "/group",
            },
            "shadow": {"etc/passwd": "/etc/shadow", "etc/group": "/etc/gshadow"},
            "proc": {"etc/passwd": f"/proc/1/root{host}/passwd", "etc/group": f"/proc/self/cwd{host}/group"},
        }.items():
            extra = [_entry(path, tarfile.SYMTYPE, linkname=target) for path, target in links.items()]
            with _imported(cli, f"hostile-passwd-{name}:1", extra) as image:
                for user in ("hostonly", "root", "0:hostgroup"):
                    r = cli("run", "--rm", "-u", user, image, "id", check=False)
                    assert r.returncode == 125 and r.stdout == "", (name, user, r)
                    assert "unable to find" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
                r = cli("run", "--rm", "-u", "0", image, "sh", "-c", 'echo "$(id -u) $HOME"')
                assert r.stdout == "0 /\n", r  # nothing of the host's files: no home from them


def test_endless_or_huge_passwd_is_bounded(cli: Cli) -> None:
    """An /etc/passwd that never ends (a symlink to /dev/zero, a FIFO) or is huge: runc reads
    the image's passwd through a bounded reader; stdc reads at most 1 MiB of a regular file
    and never a device or FIFO — the start neither hangs nor swallows memory."""
    padding = b"#" + b"x" * 1023 + b"\n"
    huge = b"near:x:1234:1234::/near:/bin/sh\n" + padding * 2048 + b"far:x:4321:4321::/far:/bin/sh\n"
    cases = {
        "zero": [_entry("etc/passwd", tarfile.SYMTYPE, linkname="/dev/zero")],
        "fifo": [_entry("etc/passwd", tarfile.FIFOTYPE)],
        "huge": [_entry("etc/passwd", data=huge)],
    }
    for name, extra in cases.items():
        with _imported(cli, f"hostile-bigpasswd-{name}:1", extra) as image:
            r = cli("run", "--rm", "-u", "root", image, "id", check=False, timeout=120)
            assert r.returncode == 125 and "unable to find user root" in r.stderr, (name, r)
            if name == "huge":
                assert cli("run", "--rm", "-u", "near", image, "id", "-u").stdout == "1234\n"
                r = cli("run", "--rm", "-u", "far", image, "id", check=False)
                assert r.returncode == 125 and "unable to find user far" in r.stderr, r
