"""The security suite, syscall part: what a container may not do, checked from inside it.

Each test runs real containers through the CLI (the fixtures of :mod:`stdc.testing.executor_suite`,
for every executor chosen the same way) and names, in its docstring, the Docker or runc
behaviour it checks against. Most system calls have no busybox command, so the suite builds a
small static probe (``probe.c`` beside this module, ``gcc -static``) and commits it into an image
of the private root; the probe calls each system call by number, harmlessly, and prints the
errno it got. ``EPERM`` is the answer of a seccomp refusal (docker's default action) and of a
missing capability; the ``--privileged`` tests check the same calls get past both.

A test module star-imports this one with ``EXECUTORS = [...]``, like the conformance suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from stdc.testing.executor_suite import Cli, cli, exec_root, executor, pytest_generate_tests  # noqa: F401

__all__ = [
    "pytest_generate_tests",
    "executor",
    "exec_root",
    "cli",
    "probe_image",
    "test_kexec_keyrings_userfaultfd_io_uring_bpf_perf_refused",
    "test_mount_unshare_setns_and_namespace_clones_refused",
    "test_af_alg_and_af_vsock_sockets_refused",
    "test_personality_limited_to_dockers_values",
    "test_clone3_answers_enosys",
    "test_shell_mount_unshare_reboot_refused",
    "test_proc_sys_and_sys_not_writable",
    "test_block_device_node_cannot_be_opened",
    "test_privileged_allows_what_docker_allows",
    "test_cap_add_and_cap_drop",
    "test_cap_sys_admin_opens_the_filter_too",
    "test_non_root_user_has_no_effective_capabilities",
    "test_no_new_privileges_default_and_opt_out",
    "test_seccomp_unconfined",
    "test_seccomp_profile_file_in_dockers_format",
    "test_bad_security_options_change_nothing",
]

PROBE_SOURCE = os.path.join(os.path.dirname(__file__), "probe.c")

#: the OCI spec's (docker's) default capabilities, as names
DEFAULT_CAPS = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
}


# -- fixtures and helpers ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def probe_image(executor: str, exec_root: str) -> Iterator[str]:
    """An image holding ``/probe``, built once per executor in the suite's private root."""
    if not shutil.which("gcc"):
        pytest.fail("the security suite builds its probe with gcc (scripts/setup installs it)")
    work = tempfile.mkdtemp(prefix="stdc-probe-", dir="/var/tmp")
    try:
        binary = os.path.join(work, "probe")
        subprocess.run(["gcc", "-static", "-O", "-o", binary, PROBE_SOURCE], check=True, capture_output=True)
        runner = Cli(exec_root, executor)
        name, image = f"probe-build-{executor}", f"stdc-probe-{executor}"
        runner("create", "--name", name, "base", "/probe")
        try:
            runner("cp", binary, f"{name}:/probe")
            runner("commit", name, image)
        finally:
            runner("rm", "-f", name)
        yield image
    finally:
        shutil.rmtree(work, ignore_errors=True)


def probe(cli: Cli, image: str, *checks: str, flags: tuple[str, ...] = ()) -> dict[str, str]:
    """Run the probe's ``checks`` in one container; ``{check: "ok" | errno name}``."""
    block = _host_block_device()
    r = cli("run", "--rm", "-e", f"PROBE_BLOCK={block}", *flags, image, "/probe", *checks)
    results = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
    assert set(results) == set(checks), r.stdout + r.stderr
    return results


def _host_block_device() -> str:
    """MAJOR:MINOR of a block device the host's root can open harmlessly: an unattached loop
    device. Without one the test could not tell a container's refusal from the host's."""
    import stat

    path = "/dev/loop0"
    try:
        st = os.stat(path)
        os.close(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    except OSError as e:
        pytest.fail(f"the suite needs a block device the host can open ({path}): {e}")
    if not stat.S_ISBLK(st.st_mode):
        pytest.fail(f"{path} is not a block device")
    return f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"


def status(cli: Cli, *flags: str) -> dict[str, str]:
    """The fields of the payload's /proc/self/status."""
    out = cli("run", "--rm", *flags, "base", "cat", "/proc/self/status").stdout
    return {k: v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def cap_names(mask: str) -> set[str]:
    from stdc.kit.capabilities import NAMES

    bits = int(mask, 16)
    return {name for n, name in enumerate(NAMES) if bits >> n & 1}


def _refused(results: dict[str, str], expected: str = "EPERM") -> None:
    wrong = {k: v for k, v in results.items() if v != expected}
    assert not wrong, f"not refused with {expected}: {wrong}"


# -- the default profile ----------------------------------------------------------------------


def test_kexec_keyrings_userfaultfd_io_uring_bpf_perf_refused(cli: Cli, probe_image: str) -> None:
    """Docker's default seccomp profile (moby profiles/seccomp/default.json) never allows
    kexec_load/kexec_file_load, keyctl/add_key/request_key, userfaultfd, io_uring_* (removed in
    moby#46762), bpf and perf_event_open without CAP_BPF/CAP_PERFMON, open_by_handle_at without
    CAP_DAC_READ_SEARCH, swapon, pivot_root and init_module: each fails with EPERM."""
    checks = ("kexec_load", "kexec_file_load", "keyctl", "add_key", "request_key", "userfaultfd")
    checks += ("io_uring_setup", "bpf", "perf_event_open", "open_by_handle_at", "swapon", "pivot_root")
    _refused(probe(cli, probe_image, *checks, "init_module"))


def test_mount_unshare_setns_and_namespace_clones_refused(cli: Cli, probe_image: str) -> None:
    """Docker's profile allows mount, umount2, unshare, setns only with CAP_SYS_ADMIN, and clone
    only without CLONE_NEW* flags (arg 0 masked with 0x7E020000 equal to 0): EPERM; a plain
    clone (fork) still works."""
    checks = ("mount", "umount2", "unshare_user", "unshare_mount", "setns", "clone_newuser", "clone_newns")
    _refused(probe(cli, probe_image, *checks))
    assert probe(cli, probe_image, "clone") == {"clone": "ok"}


def test_af_alg_and_af_vsock_sockets_refused(cli: Cli, probe_image: str) -> None:
    """Docker's profile refuses socket(AF_VSOCK); stdc refuses socket(AF_ALG) as well (docker
    allows it: stdc's one deliberate difference, the kernel crypto API's long record of bugs
    reachable from a container). Other families (AF_INET) still work."""
    results = probe(cli, probe_image, "socket_alg", "socket_vsock", "socket_inet")
    assert results == {"socket_alg": "EPERM", "socket_vsock": "EPERM", "socket_inet": "ok"}


def test_personality_limited_to_dockers_values(cli: Cli, probe_image: str) -> None:
    """Docker's profile allows personality() only for PER_LINUX, UNAME26, ADDR_NO_RANDOMIZE,
    their union and the query 0xffffffff: PER_BSD is EPERM, the query works."""
    results = probe(cli, probe_image, "personality_bsd", "personality_query")
    assert results == {"personality_bsd": "EPERM", "personality_query": "ok"}


def test_clone3_answers_enosys(cli: Cli, probe_image: str) -> None:
    """Docker's profile answers clone3 with ENOSYS (errnoRet 38) without CAP_SYS_ADMIN, since
    seccomp cannot read its flags: libc then falls back to clone, which the filter can check."""
    assert probe(cli, probe_image, "clone3") == {"clone3": "ENOSYS"}


def test_shell_mount_unshare_reboot_refused(cli: Cli) -> None:
    """What a user would type in a docker container: `mount`, `unshare -U` and `reboot -f` fail
    with "Operation not permitted" (seccomp, and no CAP_SYS_ADMIN / CAP_SYS_BOOT)."""
    script = (
        "mount -t tmpfs none /tmp 2>&1; echo mount=$?; unshare -U true 2>&1; echo unshare=$?; "
        "reboot -f 2>&1; echo reboot=$?"
    )
    out = cli("run", "--rm", "base", "sh", "-c", script).stdout
    assert "mount=0" not in out and "unshare=0" not in out and "reboot=0" not in out, out
    assert out.count("not permitted") + out.count("permission denied") >= 2, out


def test_proc_sys_and_sys_not_writable(cli: Cli) -> None:
    """runc mounts /proc/sys read-only (readonlyPaths) and /sys read-only for a container that is
    not privileged: writes fail, even to a sysctl of the container's own namespace."""
    script = (
        "echo box > /proc/sys/kernel/hostname 2>/dev/null && echo proc-sys-written; "
        "mkdir /sys/fs/stdc-probe 2>/dev/null && echo sys-written; echo done"
    )
    out = cli("run", "--rm", "base", "sh", "-c", script).stdout
    assert out.strip() == "done", out


def test_block_device_node_cannot_be_opened(cli: Cli, probe_image: str) -> None:
    """Docker keeps CAP_MKNOD, so mknod of a block device succeeds, but the device cgroup (runc's
    default rules: only null, zero, full, random, urandom, tty, console, ptmx, pts) makes opening
    it fail with EPERM."""
    results = probe(cli, probe_image, "mknod_block", "open_block")
    assert results["mknod_block"] == "ok"
    assert results["open_block"] == "EPERM", results


# -- --privileged -----------------------------------------------------------------------------


def test_privileged_allows_what_docker_allows(cli: Cli, probe_image: str) -> None:
    """`docker run --privileged`: every capability, no seccomp filter, no masked or read-only
    /proc paths, /sys writable, every device: the calls refused above get past seccomp and the
    capability checks (they fail, if at all, for their harmless arguments, never with EPERM)."""
    checks = ("mount", "umount2", "unshare_user", "unshare_mount", "setns", "clone_newuser", "clone_newns")
    checks += ("keyctl", "add_key", "userfaultfd", "bpf", "personality_bsd", "socket_alg", "socket_vsock")
    checks += ("reboot", "clone3", "open_by_handle_at", "io_uring_setup", "mknod_block", "open_block")
    results = probe(cli, probe_image, *checks, flags=("--privileged",))
    still = {k: v for k, v in results.items() if v == "EPERM"}
    assert not still, f"refused in a privileged container: {still}"
    assert results["reboot"] == "EINVAL" and results["clone3"] == "EINVAL" and results["setns"] == "EBADF"
    assert results["mknod_block"] == results["open_block"] == "ok"  # every device
    fields = status(cli, "--privileged")
    assert fields["Seccomp"] == "0" and fields["NoNewPrivs"] == "0"
    assert fields["CapEff"] == fields["CapBnd"] and cap_names(fields["CapBnd"]) >= DEFAULT_CAPS | {"CAP_SYS_ADMIN"}
    script = (
        "echo box > /proc/sys/kernel/hostname && hostname; "
        "grep -c kcore /proc/self/mountinfo; awk '$5 == \"/sys\" {print $6}' /proc/self/mountinfo"
    )
    out = cli("run", "--rm", "--privileged", "base", "sh", "-c", script).stdout.split()
    assert out[0] == "box", out  # /proc/sys writable (a sysctl of the container's own uts namespace)
    assert out[1] == "0", "/proc/kcore is still masked"
    assert out[2].split(",")[0] == "rw", "/sys is not writable"


# -- capabilities -----------------------------------------------------------------------------


def test_cap_add_and_cap_drop(cli: Cli) -> None:
    """docker's --cap-add/--cap-drop (names with or without CAP_, any case; ALL): drop, then add;
    `--cap-drop ALL` keeps only the added ones; `--cap-add ALL` gives every capability. The
    inheritable and ambient sets stay empty (runc since CVE-2022-29162)."""
    fields = status(cli, "--cap-add", "net_admin", "--cap-drop", "CAP_CHOWN")
    assert cap_names(fields["CapBnd"]) == DEFAULT_CAPS - {"CAP_CHOWN"} | {"CAP_NET_ADMIN"}
    assert fields["CapEff"] == fields["CapPrm"] == fields["CapBnd"]
    assert int(fields["CapInh"], 16) == 0 and int(fields["CapAmb"], 16) == 0
    fields = status(cli, "--cap-drop", "ALL", "--cap-add", "KILL")
    assert cap_names(fields["CapBnd"]) == {"CAP_KILL"} and fields["CapEff"] == fields["CapBnd"]
    fields = status(cli, "--cap-add", "ALL", "--cap-drop", "sys_admin")
    assert "CAP_SYS_ADMIN" not in cap_names(fields["CapBnd"]) and "CAP_SYS_MODULE" in cap_names(fields["CapBnd"])
    assert int(fields["CapInh"], 16) == 0 and int(fields["CapAmb"], 16) == 0


def test_cap_sys_admin_opens_the_filter_too(cli: Cli, probe_image: str) -> None:
    """Docker resolves its profile for the container's capabilities: with --cap-add SYS_ADMIN,
    mount, unshare, setns and clone with namespace flags are allowed by seccomp (and the
    capability), while kexec and AF_VSOCK stay refused."""
    checks = ("mount", "unshare_mount", "setns", "clone_newns", "kexec_load", "socket_vsock")
    results = probe(cli, probe_image, *checks, flags=("--cap-add", "SYS_ADMIN"))
    assert results == {
        "mount": "ok",
        "unshare_mount": "ok",
        "setns": "EBADF",
        "clone_newns": "ok",
        "kexec_load": "EPERM",
        "socket_vsock": "EPERM",
    }


def test_non_root_user_has_no_effective_capabilities(cli: Cli) -> None:
    """docker (since 20.10.14, CVE-2022-24769) and runc: a non-root user starts with empty
    effective, permitted, inheritable and ambient sets; the bounding set is the container's —
    also with --cap-add, and for a user given by number or by name."""
    for flags in (("-u", "1000"), ("-u", "1000:1000", "--cap-add", "NET_ADMIN"), ("-u", "nobody")):
        fields = status(cli, *flags)
        for which in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
            assert int(fields[which], 16) == 0, (flags, which, fields[which])
        assert cap_names(fields["CapBnd"]) >= DEFAULT_CAPS, flags


# -- no_new_privs and seccomp options ---------------------------------------------------------


def test_no_new_privileges_default_and_opt_out(cli: Cli) -> None:
    """docker's --security-opt no-new-privileges[=true|false]. stdc's default is true (docker's
    is false, see stdc.security.settings); with false the filter is still loaded (runc loads it
    before dropping CAP_SYS_ADMIN then), for root and for a non-root user."""
    assert status(cli)["NoNewPrivs"] == "1"
    assert status(cli, "--security-opt", "no-new-privileges")["NoNewPrivs"] == "1"
    for flags in ((), ("-u", "1000")):
        fields = status(cli, "--security-opt", "no-new-privileges=false", *flags)
        assert fields["NoNewPrivs"] == "0" and fields["Seccomp"] == "2", flags
        assert int(fields["CapEff"], 16) == (0 if flags else int(status(cli)["CapEff"], 16))


def test_seccomp_unconfined(cli: Cli, probe_image: str) -> None:
    """docker's --security-opt seccomp=unconfined: no filter; what only seccomp refused (a new
    user namespace needs no capability) then works, what a capability guards still does not."""
    assert status(cli, "--security-opt", "seccomp=unconfined")["Seccomp"] == "0"
    flags = ("--security-opt", "seccomp=unconfined")
    results = probe(cli, probe_image, "unshare_user", "socket_vsock", "mount", flags=flags)
    assert results["unshare_user"] == "ok" and results["socket_vsock"] != "EPERM"
    assert results["mount"] == "EPERM"  # no CAP_SYS_ADMIN


def test_seccomp_profile_file_in_dockers_format(cli: Cli, tmp_path) -> None:
    """docker's --security-opt seccomp=PROFILE.json, in docker's format (defaultAction, names,
    errnoRet, includes/excludes on capabilities): read when the container is created."""
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            # a rule for a capability the container does not have is left out
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_MODULE"]}},
        ],
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    script = "mkdir /made 2>&1; rmdir /not-there 2>&1; grep Seccomp: /proc/self/status"
    out = cli("run", "--rm", "--security-opt", f"seccomp={path}", "base", "sh", "-c", script).stdout
    assert "Permission denied" in out, out  # mkdir: EACCES, the profile's errnoRet
    assert "No such file" in out and "not permitted" not in out, out  # rmdir: allowed
    assert "Seccomp:\t2" in out


def test_bad_security_options_change_nothing(cli: Cli, tmp_path) -> None:
    """Like docker: an unknown capability, an unsupported or malformed --security-opt, a missing
    or invalid profile fail with one line and exit 125 before anything is created."""
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    bad_action = tmp_path / "action.json"
    bad_action.write_text(json.dumps({"defaultAction": "SCMP_ACT_NOPE"}))
    before = cli("ps", "-aq").stdout
    for flags in (
        ("--cap-add", "CAP_NOPE"),
        ("--cap-drop", "frobnicate"),
        ("--security-opt", "apparmor=unconfined"),
        ("--security-opt", "no-new-privileges=maybe"),
        ("--security-opt", "seccomp=/nonexistent/profile.json"),
        ("--security-opt", f"seccomp={bad_json}"),
        ("--security-opt", f"seccomp={bad_action}"),
    ):
        r = cli("run", "--rm", *flags, "base", "true", check=False)
        assert r.returncode == 125, (flags, r.stderr)
        assert r.stderr.startswith("stdc: ") and len(r.stderr.splitlines()) == 1, (flags, r.stderr)
    assert cli("ps", "-aq").stdout == before
