"""The container's init process: forked as a direct child of the caller in the container's pid
namespace, built into the container step by step, then replaced by the payload.

Everything that can be checked is checked in the parent (:class:`Plan`) before anything is
touched. A failure in the child before exec is written to an error pipe as one line
``CODE MESSAGE`` and the child exits; the pipe is close-on-exec, so reading end-of-file with
nothing before it means the payload was executed.
"""

from __future__ import annotations

import contextlib
import os
from typing import NoReturn

from stdc.errors import PayloadError, StdcError
from stdc.kit import child, console, idmap, syscalls, workdir
from stdc.kit.mounts import Mount
from stdc.kit.ocispec import DEFAULT_PATH, ProcessSpec, cgroup_relative

from stdc_exec_native import capabilities, cgroupdirs, kernel_settings, namespaces, rootfs, users
from stdc_exec_native.userns import UsernsPlan, become_root

PR_SET_NO_NEW_PRIVS = 38


class Plan:
    """The spec, parsed and checked in the parent; the child only carries it out."""

    __slots__ = (
        "namespaces",
        "rootfs",
        "capabilities",
        "user",
        "args",
        "env",
        "cwd",
        "hostname",
        "domainname",
        "no_new_privileges",
        "rlimits",
        "sysctl",
        "oom_score_adj",
        "umask",
        "seccomp",
        "userns",
        "terminal",
        "console_size",
        "start_fifo",
        "start_gate",
        "sysctl",
        "oom_score_adj",
    )

    def __init__(self, spec: dict, bundle: str) -> None:
        process = spec.get("process") or {}
        parsed = ProcessSpec(spec)
        self.terminal = parsed.terminal
        self.console_size = console.console_size(process)
        self.args, self.env, self.cwd = parsed.args, parsed.env, parsed.cwd
        self.user, self.umask = parsed.user, parsed.umask
        self.capabilities = capabilities.CapabilitySets(process.get("capabilities"))
        capabilities.last_cap()  # read the host's /proc now, not inside the container
        self.no_new_privileges = bool(process.get("noNewPrivileges"))
        self.rlimits: list[tuple[int, int, int]] = []
        if process.get("rlimits"):
            # imported here, in the parent: after pivot_root the child can import nothing
            import resource

            for r in process["rlimits"]:
                number = getattr(resource, r["type"], None) if r["type"].startswith("RLIMIT_") else None
                if number is None:
                    raise StdcError(f"unknown rlimit {r['type']!r}")
                # the spec's RLIM_INFINITY is a uint64, which setrlimit takes as its own constant
                soft, hard = (resource.RLIM_INFINITY if int(v) >= 1 << 63 else int(v) for v in (r["soft"], r["hard"]))
                self.rlimits.append((number, soft, hard))
        linux = spec.get("linux") or {}
        self.sysctl = kernel_settings.check_sysctl(linux.get("sysctl") or {})
        self.oom_score_adj = process.get("oomScoreAdj")
        self.namespaces = namespaces.NamespacePlan(linux.get("namespaces") or [])
        self.hostname = spec.get("hostname") or ""
        self.domainname = spec.get("domainname") or ""
        if (self.hostname or self.domainname) and "uts" not in self.namespaces.new:
            raise StdcError("a hostname or domainname needs a new uts namespace")
        self.rootfs = rootfs.RootfsPlan(spec, bundle)
        self.seccomp = None
        if linux.get("seccomp"):
            from stdc_exec_native import seccomp

            self.seccomp = seccomp.prepare(seccomp.compile_filter(linux["seccomp"], bundle))
        mappings = idmap.from_spec(spec) if self.namespaces.user else None
        self.userns = UsernsPlan(mappings, self.namespaces.new) if mappings else None
        #: exec_create's named pipe, and (in the child) its O_PATH descriptor: see wait_for_start
        self.start_fifo: str | None = None
        self.start_gate = -1


def start(
    container_id: str,
    bundle: str,
    spec: dict,
    rootfs_mounts: list[Mount],
    stdio: tuple[int, int, int],
    console_socket: int | None = None,
    start_fifo: str | None = None,
) -> int:
    """Start the container's init; return its pid once the payload is executed (and, with a
    ``console_socket``, its terminal's master sent: see :mod:`stdc.kit.console`). With a
    ``start_fifo`` (:func:`create`), return once the init waits on it instead."""
    plan = Plan(spec, bundle)
    plan.start_fifo = start_fifo
    linux = spec.get("linux") or {}
    relative = cgroup_relative(spec, container_id)
    dirs = cgroupdirs.create(relative, linux.get("resources"))
    try:
        plan.rootfs.show_cgroups(relative, dirs, "cgroup" in plan.namespaces.new)
        if plan.userns:
            plan.namespaces.made_apart(plan.userns.make())
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = namespaces.fork_in_pid_namespace(plan.namespaces.pid)
        except BaseException:
            os.close(err_r)
            os.close(err_w)
            raise
    except BaseException:
        if plan.userns:
            plan.userns.done()
        cgroupdirs.remove(relative)
        raise
    if pid == 0:
        _child(plan, dirs, rootfs_mounts, stdio, err_w, console_socket)
    os.close(err_w)
    try:
        report = child.read_report(err_r)
    finally:
        if plan.userns:
            plan.userns.done()
    if not report:
        return pid
    os.waitpid(pid, 0)
    cgroupdirs.remove(relative)
    raise child.reported_error(report)


def create(
    container_id: str,
    bundle: str,
    spec: dict,
    rootfs_mounts: list[Mount],
    stdio: tuple[int, int, int],
    console_socket: int | None,
    start_fifo: str,
) -> int:
    """exec_create: the container's init, built and waiting on ``start_fifo`` before the payload."""
    return start(container_id, bundle, spec, rootfs_mounts, stdio, console_socket, start_fifo)


def _child(
    plan: Plan,
    dirs: list[str],
    rootfs_mounts: list[Mount],
    stdio: tuple[int, int, int],
    err_w: int,
    console_socket: int | None,
) -> NoReturn:
    """The forked child: become the container, exec the payload; on failure report and exit."""
    try:
        err_w = child.own_process(stdio, err_w, plan.terminal and console_socket is None, console_socket)
        if plan.start_fifo:  # opened while the host's filesystem is still in reach
            plan.start_gate = os.open(plan.start_fifo, os.O_PATH | os.O_CLOEXEC)
        _become_container(plan, dirs, rootfs_mounts, console_socket is not None)
    except BaseException as e:  # noqa: B036 - whatever happens, the parent hears of it and we exit
        code, line = child.failure_report(e, "container init")
        try:
            os.write(err_w, line)
        except OSError:  # created and started already (exec_create): the payload's stderr hears of it
            os.write(2, line.partition(b" ")[2])
        finally:
            os._exit(code)


def _become_container(plan: Plan, dirs: list[str], rootfs_mounts: list[Mount], own_terminal: bool) -> NoReturn:
    """runc's order: cgroups and namespaces, filesystem, hostname, pivot_root, the terminal from
    the container's devpts (``own_terminal``) on /dev/console, masks, then :func:`become_payload`."""
    userns_fd = plan.userns.open_user() if plan.userns else -1
    namespaces.enter(plan.namespaces, lambda: cgroupdirs.join(dirs))
    # through the host's /proc, which shows the namespaces just entered, before ours hides it
    kernel_settings.write(plan.sysctl, plan.oom_score_adj)
    with idmap.act_as(*plan.userns.root_ids) if plan.userns else contextlib.nullcontext():
        rootfs.build(plan.rootfs, rootfs_mounts, plan.userns.idmap(userns_fd) if plan.userns else None)
        if plan.hostname:
            syscalls.sethostname(plan.hostname)
        if plan.domainname:
            syscalls.setdomainname(plan.domainname)
        if own_terminal:
            console.bind_console(console.take_terminal(child.CONSOLE_FD, plan.console_size))
            os.close(child.CONSOLE_FD)
        rootfs.finish(plan.rootfs)
    if plan.userns:
        become_root(userns_fd)
    become_payload(plan)


def become_payload(plan: Plan) -> NoReturn:
    """The last steps, inside the container's root, shared by its init and every process
    ``exec`` adds: user, working directory, rlimits, capabilities, no_new_privs, umask, exec."""
    user = users.resolve(plan.user, "HOME" in plan.env)
    env = plan.env
    env.setdefault("HOME", user.home)
    # as root first: the directory may be out of the user's reach, as docker allows
    in_cwd = True
    try:
        os.makedirs(plan.cwd, 0o755, exist_ok=True)
        os.chdir(plan.cwd)
    except OSError:
        in_cwd = False
    if plan.rlimits:
        import resource  # loaded by Plan in the parent: this finds it in sys.modules

        for number, soft, hard in plan.rlimits:
            resource.setrlimit(number, (soft, hard))

    if plan.terminal:  # the terminal is the user's, as runc (and login) make it
        with contextlib.suppress(OSError):
            os.fchown(0, user.uid, -1)
    _load_seccomp(plan, privileged_now=True)
    caps = plan.capabilities
    capabilities.drop_bounding(caps.bounding)
    # keep the permitted set across the switch of uid, then set all sets as the spec says
    capabilities.set_keepcaps(True)
    users.switch(user)
    capabilities.set_keepcaps(False)
    if user.uid == 0 or caps.ambient:
        capabilities.capset(caps.effective, caps.permitted, caps.inheritable)
    else:
        capabilities.capset(0, 0, caps.inheritable)  # a non-root payload has no capabilities
    capabilities.set_ambient(caps.ambient)
    if not in_cwd:
        try:
            os.chdir(plan.cwd)
        except OSError as e:
            raise StdcError(f"chdir to cwd {plan.cwd!r}: {e.strerror}") from None
    workdir.verify_current(plan.cwd)  # not outside the root, not into /proc by a symlink
    if plan.no_new_privileges:
        syscalls.prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.umask(plan.umask)
    if plan.start_gate >= 0:
        wait_for_start(plan, env)
    _load_seccomp(plan, privileged_now=False)
    child.exec_payload(plan.args, env, DEFAULT_PATH)


def wait_for_start(plan: Plan, env: dict[str, str]) -> None:
    """The created state (runc's exec.fifo): the payload found, the caller told the init is ready
    (its report pipe closed), then blocked opening the start fifo for writing until the container
    is started — the starter opens it for reading and reads the one byte written here."""
    path = child.look_path(plan.args[0], env.get("PATH", DEFAULT_PATH))
    if not os.access(path, os.X_OK):  # a name with a slash is not looked up: checked here, as runc does
        raise PayloadError(f'exec: "{plan.args[0]}": stat {path}: no such file or not executable', 127)
    os.close(child.REPORT_FD)
    fifo = os.open(f"/proc/self/fd/{plan.start_gate}", os.O_WRONLY | os.O_CLOEXEC)
    os.write(fifo, b"0")
    os.close(fifo)
    os.close(plan.start_gate)


def _load_seccomp(plan: Plan, *, privileged_now: bool) -> None:
    """Load the spec's seccomp filter at its one right moment. With no_new_privs: last, right
    before execve, so the filter sees nothing of the runtime. Without it the kernel takes a filter
    only from a process holding CAP_SYS_ADMIN: then before the capabilities are set, as runc does
    (the default profile allows what remains: setuid, capset, prctl, execve)."""
    if plan.seccomp is None or privileged_now == plan.no_new_privileges:
        return
    from stdc_exec_native import seccomp  # loaded by Plan in the parent: found in sys.modules

    try:
        seccomp.load(plan.seccomp)
    except OSError as e:
        raise StdcError(f"loading the seccomp filter: {e.strerror}") from None
