"""The container verbs of the OCI runtime: create, start, run, state, kill, delete — runc's
semantics over any stdc executor's hooks (:mod:`stdc.specs.executor`).

``create`` forks the container's init through the executor's ``exec_create``: the init is built
completely and waits on ``<root>/<id>/exec.fifo`` before executing the payload; ``start`` opens
that fifo for reading, which lets it go. The init is a child of ``stdc-runtime create``: when
that exits, the init goes to the caller's subreaper (conmon, containerd's shim), which reaps it
as it would runc's.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import select
import signal
import socket
import time

from stdc.errors import BadInput, Conflict, NotFound, StdcError
from stdc.kit.processes import process_alive
from stdc.runtime import oci_hooks
from stdc.runtime.bundle_spec import read_bundle
from stdc.runtime.bundle_state import Record, RuntimeRoot, started_at, write_pid_file


class Runtime:
    """One invocation's runtime: its ``--root`` and the executor it selected."""

    def __init__(self, root: str | None, executor: str, cgroup_parent: str = "stdc") -> None:
        self.root = RuntimeRoot(root)
        self.executor_name = executor
        self.cgroup_parent = cgroup_parent
        self._loaded: dict[str, object] = {}

    def hooks(self, name: str | None = None) -> object:
        """The hooks of executor ``name`` (the selected one by default), loaded once."""
        name = name or self.executor_name
        if name not in self._loaded:
            from stdc import discovery  # pluggy and the backend: only for the verbs that call a hook

            self._loaded[name] = discovery.require("exec", name).hook
        return self._loaded[name]

    def load(self, container_id: str) -> tuple[Record, dict]:
        """The container's record and spec (NotFound: runc's "container does not exist")."""
        return self.root.load(container_id)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


def connect_console(path: str) -> int:
    """``--console-socket``: a connection to the caller's unix socket, over which the executor
    sends the terminal's master."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sock.close()
        raise BadInput(f"console socket {path}: {e.strerror}") from None
    return sock.detach()


def terminal_stdio(terminal: bool, console_socket: str | None, detach: bool) -> tuple[tuple[int, int, int], int | None]:
    """The payload's stdio and console socket descriptor: ours, or /dev/null beside a console
    socket; a terminal needs a console socket unless this process stays and owns one."""
    if not terminal:
        if console_socket:
            raise BadInput("cannot use console socket if runc will not detach or allocate tty")
        return (0, 1, 2), None
    if console_socket:
        null = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        return (null, null, null), connect_console(console_socket)
    if detach or not os.isatty(0):
        raise BadInput("cannot allocate tty if runc will detach without setting console socket")
    return (0, 1, 2), None


def create(
    runtime: Runtime,
    container_id: str,
    bundle: str,
    *,
    console_socket: str | None = None,
    pid_file: str | None = None,
    preserve_fds: int = 0,
    detach: bool = True,
) -> Record:
    """``create``: the container built, its init waiting to be started."""
    if preserve_fds:
        raise BadInput("--preserve-fds: passing extra descriptors is not supported by stdc executors")
    bundle = os.path.realpath(bundle or ".")
    spec = read_bundle(container_id, bundle, runtime.cgroup_parent)
    hooks = runtime.hooks()
    if not hooks.exec_create.get_hookimpls():
        raise BadInput(f"executor {runtime.executor_name!r} cannot create a container without starting it")
    directory = runtime.root.reserve(container_id)
    fifo = runtime.root.fifo(container_id)
    stdio, console_fd = (0, 1, 2), None
    pid = 0
    try:
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # whatever our umask: the payload's user opens it for writing
        terminal = bool((spec.get("process") or {}).get("terminal"))
        stdio, console_fd = terminal_stdio(terminal, console_socket, detach)
        # the spec first: a crash from here on leaves what delete needs to clean up
        with open(os.path.join(directory, "config.json"), "w") as f:
            json.dump(spec, f)
        pid = hooks.exec_create(
            container_id=container_id,
            bundle=bundle,
            spec=spec,
            rootfs_mounts=[],
            stdio=stdio,
            console_socket=console_fd,
            start_fifo=fifo,
        )
        annotations = dict(spec.get("annotations") or {})
        record = Record(container_id, bundle, pid, started_at(pid), _now(), runtime.executor_name, annotations)
        runtime.root.save(record, spec)
        state = runtime.root.state(record, spec)
        oci_hooks.run_host_hooks(spec, "prestart", state)
        oci_hooks.run_host_hooks(spec, "createRuntime", state)
        run_container_hooks(runtime, record, spec, "createContainer", state)
        if pid_file:
            write_pid_file(pid_file, pid)
    except BaseException:
        if pid:
            _kill_and_reap(pid)
        hooks.exec_cleanup(container_id=container_id, bundle=bundle, spec=spec)
        runtime.root.remove(container_id)
        raise
    finally:
        for fd in {*stdio, console_fd} - {0, 1, 2, None}:
            os.close(fd)
    return record


def _kill_and_reap(pid: int) -> None:
    """A failed create's init, our own child: killed and reaped."""
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def run_container_hooks(runtime: Runtime, record: Record, spec: dict, kind: str, state: dict) -> None:
    """``createContainer``/``startContainer``: each hook run inside the container's namespaces
    (the executor's ``exec_exec``) as root, with the state on its stdin; a failure fails the verb."""
    for hook in oci_hooks.hooks_of(spec, kind):
        args = [hook["path"], *(hook.get("args") or [hook["path"]])[1:]]
        process = {"args": args, "env": list(hook.get("env") or []), "cwd": "/", "user": {"uid": 0, "gid": 0}}
        stdin_r, stdin_w = os.pipe2(os.O_CLOEXEC)
        try:
            pid = runtime.hooks(record.executor).exec_exec(
                container_id=record.id,
                bundle=record.bundle,
                spec=spec,
                pid=record.pid,
                process=process,
                stdio=(stdin_r, 2, 2),
                console_socket=None,
            )
        except StdcError as e:
            raise oci_hooks.HookFailed(f"error running {kind} hook {hook['path']}: {e}") from None
        finally:
            os.close(stdin_r)
        try:
            os.write(stdin_w, json.dumps(state).encode())
        except BrokenPipeError:
            pass
        finally:
            os.close(stdin_w)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        if code != 0:
            raise oci_hooks.HookFailed(f"error running {kind} hook {hook['path']}: exit status {code}")


def start(runtime: Runtime, container_id: str) -> Record:
    """``start``: let a created container's init execute the payload."""
    record, spec = runtime.load(container_id)
    status = runtime.root.status(record, spec)
    if status == "stopped":
        raise Conflict("cannot start a container that has stopped")
    if status != "created":
        raise Conflict(f"cannot start an already {status} container")
    state = runtime.root.state(record, spec)
    run_container_hooks(runtime, record, spec, "startContainer", state)
    fifo = runtime.root.fifo(container_id)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        # the init writes one byte once it opened the fifo: then it executes the payload
        while not (select.select([fd], [], [], 0.1)[0] and os.read(fd, 1)):
            if not process_alive(record.pid, record.pid_start):
                raise Conflict("cannot start a container that has stopped")
    finally:
        os.close(fd)
        os.unlink(fifo)
    warnings = oci_hooks.run_host_hooks(spec, "poststart", runtime.root.state(record, spec))
    for line in warnings:
        os.write(2, f"{line}\n".encode())
    return record


def state(runtime: Runtime, container_id: str) -> dict:
    """``state``: the runtime spec's state document."""
    record, spec = runtime.load(container_id)
    return runtime.root.state(record, spec)


def kill(runtime: Runtime, container_id: str, sig: int, every: bool = False) -> None:
    """``kill``: ``sig`` to the init, or with ``every`` (``--all``) to every process of the
    container's cgroup."""
    record, spec = runtime.load(container_id)
    if runtime.root.status(record, spec) == "stopped":
        raise Conflict("container not running")
    hooks = runtime.hooks(record.executor)
    if not every:
        hooks.exec_kill(container_id=record.id, bundle=record.bundle, pid=record.pid, signal=sig)
        return
    for pid in hooks.exec_processes(container_id=record.id, bundle=record.bundle, spec=spec) or [record.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def delete(runtime: Runtime, container_id: str, force: bool = False) -> None:
    """``delete``: forget a stopped container; with ``force`` kill a created or running one
    first. The executor releases what it made (``exec_cleanup``), then ``poststop`` hooks run."""
    try:
        record, spec = runtime.load(container_id)
    except NotFound:
        if force:
            runtime.root.remove(container_id)
            return
        raise
    with runtime.root.locked(container_id):
        status = runtime.root.status(record, spec)
        if status != "stopped" and not force:  # the runtime spec: created too (runc lets that go)
            raise Conflict(f"cannot delete container {container_id} that is not stopped: {status}")
        hooks = runtime.hooks(record.executor)
        if status != "stopped":
            hooks.exec_kill(container_id=record.id, bundle=record.bundle, pid=record.pid, signal=signal.SIGKILL)
        # kills whatever is left of the container (thawed first when paused) and removes its cgroups
        hooks.exec_cleanup(container_id=record.id, bundle=record.bundle, spec=spec)
        wait_gone(record)
        state = runtime.root.state(record, spec)
    runtime.root.remove(container_id)
    for line in oci_hooks.run_host_hooks(spec, "poststop", state):
        os.write(2, f"{line}\n".encode())


def wait_gone(record: Record) -> None:
    """Until the init has exited (it is another process's child: reaped there, or ours)."""
    while process_alive(record.pid, record.pid_start):
        try:
            if os.waitpid(record.pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            pass
        time.sleep(0.01)
