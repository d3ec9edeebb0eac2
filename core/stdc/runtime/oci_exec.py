"""``exec``: another process in a running container through the executor's ``exec_exec``,
from ``--process`` (an OCI ``process`` JSON file, what containerd's shim and conmon pass) or
from the command line (runc's ``exec`` flags over the container's own ``process``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from stdc.errors import BadInput, Conflict
from stdc.runtime.bundle_state import write_pid_file
from stdc.runtime.oci_lifecycle import Runtime, terminal_stdio


@dataclass
class ExecRequest:
    """What runc's ``exec`` flags ask for."""

    args: list[str] = field(default_factory=list)
    process_file: str | None = None
    tty: bool = False
    cwd: str | None = None
    env: list[str] = field(default_factory=list)
    user: str | None = None
    additional_gids: list[int] = field(default_factory=list)
    no_new_privs: bool = False
    capabilities: list[str] = field(default_factory=list)


def process_of(request: ExecRequest, spec: dict) -> dict:
    """The OCI ``process`` to run: the ``--process`` file as it is, or the container's own
    process with the command line's changes."""
    if request.process_file:
        try:
            with open(request.process_file) as f:
                return json.load(f)
        except (OSError, ValueError) as e:
            raise BadInput(f"process file {request.process_file}: {e}") from None
    if not request.args:
        raise BadInput("exec: no command given")
    base = dict(spec.get("process") or {})
    process = {key: base[key] for key in ("env", "cwd", "user", "capabilities", "noNewPrivileges") if key in base}
    process["args"] = list(request.args)
    process["terminal"] = request.tty
    if request.cwd:
        process["cwd"] = request.cwd
    if request.env:
        process["env"] = [*process.get("env", []), *request.env]
    if request.user:
        uid, _, gid = request.user.partition(":")
        process["user"] = {"uid": int(uid), "gid": int(gid or 0)}
    if request.additional_gids:
        process["user"] = {**process.get("user", {}), "additionalGids": request.additional_gids}
    if request.no_new_privs:
        process["noNewPrivileges"] = True
    if request.capabilities:
        caps = {k: list(v) for k, v in (process.get("capabilities") or {}).items()}
        for kind in ("bounding", "effective", "permitted"):
            caps[kind] = sorted({*caps.get(kind, []), *request.capabilities})
        process["capabilities"] = caps
    return process


def exec_process(
    runtime: Runtime,
    container_id: str,
    request: ExecRequest,
    *,
    detach: bool = False,
    console_socket: str | None = None,
    pid_file: str | None = None,
) -> int:
    """Start the process; the exit code of ``stdc-runtime exec`` (0 when detached, else the
    process's own)."""
    record, spec = runtime.load(container_id)
    status = runtime.root.status(record, spec)
    if status not in ("running", "created"):
        raise Conflict(f"cannot exec in a {status} container")
    process = process_of(request, spec)
    stdio, console_fd = terminal_stdio(bool(process.get("terminal")), console_socket, detach)
    try:
        pid = runtime.hooks(record.executor).exec_exec(
            container_id=record.id,
            bundle=record.bundle,
            spec=spec,
            pid=record.pid,
            process=process,
            stdio=stdio,
            console_socket=console_fd,
        )
    finally:
        for fd in {*stdio, console_fd} - {0, 1, 2, None}:
            os.close(fd)
    if pid_file:
        write_pid_file(pid_file, pid)
    if detach:
        return 0
    while True:
        try:
            _, wait_status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(wait_status)
    return code if code >= 0 else 128 - code
