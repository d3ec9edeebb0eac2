"""Starting a container through LXC so that the contract's process model holds.

The caller forks a child (the *LXC monitor*): it mounts the root filesystem in a mount namespace
of its own, sets the configuration on an ``lxc.Container`` and calls
``start(daemonize=False)``. liblxc clones the container's init from it, execs the payload (a
failed exec makes ``start`` return False, with the reason in the container's log) and stays
as the init's parent until it has exited and been cleaned up; the child then exits with the
payload's wait status. That child is what :func:`start` returns: a child of the caller whose
exit status is the payload's. liblxc forwards the signals the monitor gets to the init.

The caller knows the payload was executed when liblxc's command socket answers with the init's
pid: the monitor serves it only from its main loop, which starts once the exec succeeded.

With ``process.terminal`` the payload's terminal is LXC's console: liblxc allocates it from the
container's own devpts instance (``/dev/pts/0``), bind-mounts it on ``/dev/console`` and relays
it to the monitor's controlling terminal, a pseudo-terminal allocated here whose master goes over
the console socket (see :mod:`stdc.kit.console`); liblxc passes the monitor's size changes on
(SIGWINCH). liblxc ``setsid()``s the container's init right before executing it and never gives
it a controlling terminal, so a payload executed directly would get no ctrl-c: the init is
:mod:`stdc.kit.cprograms`' terminal init instead, which takes the console (its stdin) as its
controlling terminal and executes the payload, pid 1 from then on as under docker. It is
executed from a descriptor the monitor opened on the host (``/proc/self/fd/N``, close-on-exec),
so nothing is added to the container's filesystem. As it cannot report a failed exec through
liblxc, the payload is looked up in the root filesystem beforehand (127/126 as usual).

The child reports on a socket: ``S`` when it calls ``start``, ``R`` when the container ran, or
``CODE MESSAGE`` when it could not be started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import socket
import struct
import termios
import time
from typing import Any, NoReturn

from stdc.errors import PayloadError, StdcError
from stdc.kit import child, cprograms, rootpath, syscalls
from stdc.kit.console import console_size, send_master, set_size
from stdc.kit.mounts import Mount, mount_all
from stdc.kit.ocispec import DEFAULT_PATH

from stdc_exec_lxc import binding, devnodes, inroot, readonly
from stdc_exec_lxc.translate import LOG_FILE, SECCOMP_FILE, Plan, fstab_field
from stdc_exec_lxc.userns import acting_as_root, idmapped_rootfs, reachable_sources, without_shadow_helpers

#: how long the caller waits for the container's command socket between two looks
_PROBE_INTERVAL = 0.0005
_START_TIMEOUT = 120.0
_TIOCSLCKTRMIOS = 0x5457


def start(
    container_id: str,
    bundle: str,
    spec: dict,
    rootfs_mounts: list[Mount],
    stdio: tuple[int, int, int],
    console_socket: int | None = None,
) -> int:
    """Start the container; return the LXC monitor's pid once the payload is executed."""
    plan = Plan(container_id, bundle, spec)
    init = cprograms.terminal_init(bundle) if plan.terminal else None
    relay = None
    if plan.terminal and console_socket is not None:
        relay = _console_relay(console_socket, console_size(spec.get("process") or {}))
        stdio = (relay, relay, relay)
    try:
        return _start(plan, rootfs_mounts, stdio, relay is not None, init)
    finally:
        if relay is not None:
            os.close(relay)


def _console_relay(console_socket: int, size: tuple[int, int] | None) -> int:
    """The pseudo-terminal liblxc relays the container's console to: its master sent over the
    console socket, its slave returned (the LXC monitor's controlling terminal)."""
    master, slave = os.openpty()
    try:
        _no_second_carriage_return(slave)
        if size:
            set_size(master, *size)
        send_master(console_socket, master)
    except BaseException:
        os.close(slave)
        raise
    finally:
        os.close(master)
    return slave


def _no_second_carriage_return(relay: int) -> None:
    """Clear ONLCR on the relay and lock it so (TIOCSLCKTRMIOS): liblxc gives the terminal it
    relays the console to ssh's settings, ONLCR included, but the console has already made each
    newline CR LF; the logs then hold what the payload's own terminal produced, as under docker."""
    attrs = termios.tcgetattr(relay)
    attrs[1] &= ~termios.ONLCR
    termios.tcsetattr(relay, termios.TCSANOW, attrs)
    # the kernel's struct termios: iflag, oflag, cflag, lflag, line, cc[19]; a set bit is locked
    fcntl.ioctl(relay, _TIOCSLCKTRMIOS, struct.pack("4IB19s", 0, termios.ONLCR, 0, 0, 0, bytes(19)))


def _start(plan: Plan, rootfs_mounts: list[Mount], stdio: tuple[int, int, int], relayed: bool, init: str | None) -> int:
    """Fork the LXC monitor; return its pid once the payload is executed (through ``init``, the
    terminal init, when there is one)."""
    os.makedirs(os.path.join(plan.lxcpath, plan.name), mode=0o700, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(plan.lxcpath, plan.name, LOG_FILE))  # a fresh log: it explains this start
    # a socket pair, not a pipe: the monitor's last report may find the caller gone, and
    # MSG_NOSIGNAL spares it a SIGPIPE whose default it must keep for the payload
    report_r, report_w = (s.detach() for s in socket.socketpair())
    try:
        pid = os.fork()
    except BaseException:
        os.close(report_r)
        os.close(report_w)
        raise
    if pid == 0:  # pragma: no cover - the LXC monitor
        os.close(report_r)
        _monitor(plan, rootfs_mounts, stdio, report_w, relayed, init)
    os.close(report_w)
    try:
        _wait_until_executed(plan, report_r)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        raise
    finally:
        os.close(report_r)
    return pid


def _wait_until_executed(plan: Plan, report_r: int) -> None:
    """Return once the payload runs (or ran); raise what the monitor reported if it did not."""
    report = b""
    probe = None
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        ready, _, _ = select.select([report_r], [], [], _PROBE_INTERVAL if report == b"S" else None)
        if ready:
            chunk = os.read(report_r, 4096)
            if not chunk:
                break
            report += chunk
            body = report[1:] if report.startswith(b"S") else report
            if body == b"R" or body.endswith(b"\n"):
                break
        if report == b"S":
            if probe is None:
                probe = binding.container(plan.name, plan.lxcpath)
            # refused until liblxc has made its socket; once made, answered from its main loop
            # only, which runs once the payload was executed
            if probe.init_pid > 0:
                return
            if time.monotonic() > deadline:
                raise StdcError(f"lxc: the container did not start within {_START_TIMEOUT:.0f} s")
    body = report[1:] if report.startswith(b"S") else report
    if body == b"R":
        return  # the payload ran and has already exited: the monitor exits with its status
    # the monitor is not reaped here: the caller kills (a no-op on one that is exiting) and
    # reaps it, and its pid cannot be reused before that
    code, _, text = body.decode("utf-8", "replace").strip().partition(" ")
    if not code.isdigit():
        raise StdcError("lxc: the container's monitor died while starting it")
    raise PayloadError(text, int(code))


def _monitor(
    plan: Plan,
    rootfs_mounts: list[Mount],
    stdio: tuple[int, int, int],
    report_w: int,
    relayed: bool,
    init: str | None,
) -> NoReturn:
    """The forked child: build the container with LXC, run it, exit with the payload's status
    (``relayed``: stdio is the terminal liblxc relays the console to, made ours to open as
    /dev/tty; ``init``: the terminal init to execute the payload through)."""
    code, message = 125, "lxc: container start failed"
    try:
        report_w = child.own_process(stdio, report_w, relayed)
        cmd = tuple(plan.args)
        if init is not None:
            # inherited by the container's init, which executes it by its /proc path: the kernel
            # opens it before closing it (close-on-exec), and the payload never sees it
            cmd = (f"/proc/self/fd/{os.open(init, os.O_RDONLY | os.O_CLOEXEC)}", *cmd)
        c = _prepare(plan, rootfs_mounts, relayed)
        _send(report_w, b"S")
        ran = c.start(useinit=False, daemonize=False, close_fds=False, cmd=cmd)
        if ran:
            status = binding.error_num(c, plan.name)
            with contextlib.suppress(OSError):
                _send(report_w, b"R")
            _exit_like(status)
        code, message = _failure(plan)
    except StdcError as e:
        code, message = e.exit_code, str(e)
    except OSError as e:
        message = f"lxc: {e}"
    except BaseException as e:  # noqa: B036 - whatever happens, the caller hears of it and we exit
        message = f"lxc: {type(e).__name__}: {e}"
    try:
        _send(report_w, f"{code} {message}".replace("\n", " ").encode() + b"\n")
    finally:
        os._exit(code)


def _send(fd: int, data: bytes) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.sendall(data, socket.MSG_NOSIGNAL)
    finally:
        sock.detach()


def _prepare(plan: Plan, rootfs_mounts: list[Mount], console: bool) -> Any:
    """Mount the root filesystem privately, resolve what the image decides, configure LXC
    (with LXC's ``console`` when the terminal is relayed)."""
    syscalls.unshare(syscalls.CLONE_NEWNS)
    # nothing mounted here may reach the host, whatever the host's propagation is
    syscalls.mount(None, "/", None, syscalls.MS_SLAVE | syscalls.MS_REC)
    try:
        if rootfs_mounts and plan.idmap:
            idmapped_rootfs(plan, rootfs_mounts)
            without_shadow_helpers()
            reachable_sources(plan)
        elif rootfs_mounts:
            mount_all(rootfs_mounts, plan.root)
        else:
            syscalls.mount(plan.root, plan.root, None, syscalls.MS_BIND | syscalls.MS_REC)
    except OSError as e:
        raise StdcError(f"mounting the root filesystem on {plan.root}: {e.strerror}") from None
    root_fd = os.open(plan.root, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        user = inroot.resolve_user(root_fd, plan.user, "HOME" in plan.env)
        with acting_as_root(plan):
            inroot.make_dirs(root_fd, plan.cwd)
        if plan.terminal:
            inroot.check_command(root_fd, plan.args[0], plan.env.get("PATH", DEFAULT_PATH))
        cwd = inroot.resolved_dir(root_fd, plan.root, plan.cwd)
        c = _configure(plan, user, cwd, console)
        nodes = devnodes.make(plan.device_nodes, os.path.join(plan.lxcpath, plan.name, "devices"), fstab_field)

        def resolve(destination: str, as_file: bool) -> str:
            with acting_as_root(plan):
                return _resolve(root_fd, destination, as_file)

        readonly.stage(plan)
        entries = plan.all_mount_entries(c.get_config_item("lxc.rootfs.mount"), resolve, nodes)
    finally:
        os.close(root_fd)
    if entries:
        _set(c, "lxc.mount.entry", entries)
    c.save_config()  # so that the config dir tells what ran (lxc-info -P <bundle>/lxc works too)
    return c


def _configure(plan: Plan, user: Any, cwd: str, console: bool) -> Any:
    """The ``lxc.Container`` with every item of the plan but the mount entries (``cwd``: the
    working directory resolved inside the root; ``console``: LXC allocates the console, from the
    container's devpts, and relays it to the monitor's terminal)."""
    env = dict(plan.env)
    env.setdefault("HOME", user.home)
    os.umask(plan.umask)

    c = binding.container(plan.name, plan.lxcpath)
    items: dict[str, str | list[str]] = dict(plan.items)
    items["lxc.init.uid"] = str(user.uid)
    items["lxc.init.gid"] = str(user.gid)
    items["lxc.init.cwd"] = cwd
    if console:
        items["lxc.console.path"] = []  # unset: liblxc relays the console to our /dev/tty
    if user.groups:
        items["lxc.init.groups"] = ",".join(str(g) for g in user.groups)
    items["lxc.environment"] = [f"{k}={v}" for k, v in env.items()]
    if plan.seccomp is not None:
        policy = os.path.join(plan.lxcpath, plan.name, SECCOMP_FILE)
        with open(policy, "w") as f:
            f.write(plan.seccomp)
        items["lxc.seccomp.profile"] = policy
    for key, value in items.items():
        _set(c, key, value)
    return c


def _resolve(root_fd: int, destination: str, as_file: bool) -> str:
    """``destination`` made inside the root, as its symlink-free path there (stdc.kit.rootpath)."""
    fd = rootpath.mountpoint(root_fd, destination, file=as_file)
    try:
        return rootpath.path_in_root(root_fd, fd)
    finally:
        os.close(fd)


def _set(c: Any, key: str, value: str | list[str]) -> None:
    """Set ``key`` to ``value``; a list sets a multi-valued key entry by entry."""
    values = value if isinstance(value, list) else [value]
    c.clear_config_item(key)
    for one in values:
        if not c.set_config_item(key, one):
            raise StdcError(f"lxc: cannot set {key} = {one!r}")


def _failure(plan: Plan) -> tuple[int, str]:
    """Why liblxc could not start the container, from its log: (exit code, message)."""
    try:
        with open(os.path.join(plan.lxcpath, plan.name, LOG_FILE), errors="replace") as f:
            lines = [line.rstrip("\n") for line in f if " ERROR " in line]
    except OSError:
        lines = []
    name = plan.args[0]
    for line in lines:
        if 'Failed to exec "' not in line:
            continue
        reason = line.split(" - ")[-2] if line.count(" - ") >= 2 else ""
        if 'Failed to exec "/proc/self/fd/' in line:  # the terminal init itself
            return 125, f"lxc: cannot execute the terminal init: {reason.lower() or 'unknown reason'}"
        if reason.startswith("No such file or directory") or reason.startswith("Not a directory"):
            if "/" not in name:
                return 127, f'exec: "{name}": executable file not found in $PATH'
            return 127, f'exec: "{name}": no such file or directory'
        return 126, f'exec: "{name}": {reason.lower() or "cannot execute"}'
    detail = lines[0].split(" - ", 1)[-1] if lines else "liblxc gave no reason"
    return 125, f"lxc: container start failed: {detail}"


def _exit_like(status: int | None) -> NoReturn:
    """Exit as the payload did: with its code, or killed by its signal."""
    if status is None:
        os._exit(125)
    # liblxc (from waitid) reports an init killed by a signal as W_STOPCODE(sig): (sig << 8) | 0x7f
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WSTOPSIG(status) if os.WIFSTOPPED(status) else 0
    if sig:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if sig != signal.SIGKILL:
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
