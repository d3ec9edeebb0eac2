"""``exec`` through liblxc's attach: another process in the running container's namespaces,
cgroups, capabilities (``lxc.cap.keep``) and no_new_privs, a child of the caller.

The user is resolved beforehand from the image's files, read through the init's root
(``/proc/PID/root``, never leaving it); liblxc switches to it. The attached process then runs
the last steps in Python (the binding calls back into the forked interpreter): the terminal (from
the container's devpts, its master sent over the console socket), the working directory, the
umask, and the exec, whose failure it reports on a pipe as the native executor does.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import termios

from stdc.errors import StdcError
from stdc.kit import child
from stdc.kit.console import console_size, take_terminal
from stdc.kit.ocispec import DEFAULT_PATH, ProcessSpec

from stdc_exec_lxc import binding, inroot


def start(
    container_id: str,
    bundle: str,
    spec: dict,
    pid: int,
    proc: dict,
    stdio: tuple[int, int, int],
    console_socket: int | None = None,
) -> int:
    """Attach ``proc`` (an OCI ``process``) to the container; return its pid once executed
    (and, with a ``console_socket``, the master of its terminal from the container's devpts
    sent: see :mod:`stdc.kit.console`)."""
    import _lxc

    parsed = ProcessSpec({**spec, "process": proc})
    c = binding.container(container_id, os.path.join(bundle, "lxc"))
    init = c.init_pid
    if init <= 0:
        raise StdcError(f"lxc: container {container_id[:12]} is not running")
    try:
        root_fd = os.open(f"/proc/{init}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as e:
        raise StdcError(f"lxc: the container's init ({init}) is gone: {e.strerror}") from None
    try:
        user = inroot.resolve_user(root_fd, parsed.user, "HOME" in parsed.env)
    finally:
        os.close(root_fd)
    env = dict(parsed.env)
    env.setdefault("HOME", user.home)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        new = c.attach(
            _payload,
            (parsed.args, env, parsed.cwd, parsed.umask, parsed.terminal, err_w, console_socket, console_size(proc)),
            uid=user.uid,
            gid=user.gid,
            env_policy=_lxc.LXC_ATTACH_CLEAR_ENV,
            stdin=stdio[0],
            stdout=stdio[1],
            stderr=stdio[2],
        )
    finally:
        os.close(err_w)
    report = child.read_report(err_r)
    if new <= 0:
        raise StdcError(f"lxc: cannot attach to container {container_id[:12]}")
    if not report:
        return new
    os.waitpid(new, 0)
    raise child.reported_error(report)


def _payload(arg: tuple) -> int:
    """In the attached process (liblxc has joined the container and switched user)."""
    args, env, cwd, umask, terminal, err_w, console_socket, size = arg
    try:
        if terminal:
            with contextlib.suppress(OSError):
                os.setsid()  # a session leader already, when liblxc made one
            if console_socket is not None:  # in the container's mount namespace: its /dev/ptmx
                take_terminal(console_socket, size)
                os.close(console_socket)
            else:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        try:
            os.chdir(cwd)
        except OSError as e:
            raise StdcError(f"chdir to cwd {cwd!r}: {e.strerror}") from None
        os.umask(umask)
        child.exec_payload(args, env, DEFAULT_PATH)
    except BaseException as e:  # noqa: B036 - whatever happens, the caller hears of it
        code, line = child.failure_report(e, "exec")
        with contextlib.suppress(OSError):
            os.write(err_w, line)
        os._exit(code)
