"""The runtime's record of each container under ``--root`` (default ``/run/stdc-runtime``):
``<root>/<id>/state.json`` (pid and its start time, bundle, creation time, executor),
``<root>/<id>/config.json`` (the spec as the executor was given it) and, while the container is
created but not started, ``<root>/<id>/exec.fifo`` (runc's design: the init waits on it).

The status is never stored: it is read from the kernel each time — the init alive (pid and start
time), the fifo still there (created), the container's cgroup frozen (paused) — as runc does.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from stdc.errors import BadInput, Conflict, NotFound
from stdc.kit import cgroups
from stdc.kit.ocispec import cgroup_relative
from stdc.kit.processes import process_alive, process_start_time

DEFAULT_ROOT = "/run/stdc-runtime"
OCI_VERSION = "1.0.2"
#: runc's rule for container ids
_ID = re.compile(r"^[\w+\-.]+$")


@dataclass
class Record:
    """What ``create`` wrote down about one container."""

    id: str
    bundle: str
    pid: int
    pid_start: int
    created: str
    executor: str
    annotations: dict = field(default_factory=dict)
    #: the pid of `stdc-runtime create` that forked the init, for hooks and logs
    creator: int = 0


def check_id(container_id: str) -> str:
    """``container_id`` when runc would accept it (letters, digits, ``_+-.``), else BadInput."""
    if not _ID.match(container_id) or container_id in (".", ".."):
        raise BadInput(f"invalid id format: {container_id}")
    return container_id


class RuntimeRoot:
    """The directory under ``--root`` that holds every container's record."""

    def __init__(self, root: str | None) -> None:
        self.path = os.path.abspath(root or DEFAULT_ROOT)

    def directory(self, container_id: str) -> str:
        """Where the records of ``container_id`` live."""
        return os.path.join(self.path, check_id(container_id))

    def fifo(self, container_id: str) -> str:
        """The start fifo of a created container."""
        return os.path.join(self.directory(container_id), "exec.fifo")

    def reserve(self, container_id: str) -> str:
        """Make the container's directory, refusing an id in use; returns the directory."""
        os.makedirs(self.path, 0o711, exist_ok=True)
        path = self.directory(container_id)
        try:
            os.mkdir(path, 0o711)
        except FileExistsError:
            raise Conflict(f"container with id exists: {container_id}") from None
        return path

    @contextlib.contextmanager
    def locked(self, container_id: str) -> Iterator[None]:
        """Hold the container's lock (flock on its directory) for one verb's changes."""
        fd = os.open(self.directory(container_id), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def save(self, record: Record, spec: dict) -> None:
        """Write the record and the spec (each atomically: a reader sees all or nothing)."""
        path = self.directory(record.id)
        _write_json(os.path.join(path, "config.json"), spec)
        _write_json(os.path.join(path, "state.json"), asdict(record))

    def load(self, container_id: str) -> tuple[Record, dict]:
        """The record and spec of ``container_id``; NotFound when there is none."""
        path = self.directory(container_id)
        try:
            with open(os.path.join(path, "state.json")) as f:
                record = Record(**json.load(f))
            with open(os.path.join(path, "config.json")) as f:
                spec = json.load(f)
        except FileNotFoundError:
            raise NotFound(f"container does not exist: {container_id}") from None
        return record, spec

    def ids(self) -> list[str]:
        """Every container with a record, sorted."""
        try:
            names = os.listdir(self.path)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if os.path.isfile(os.path.join(self.path, n, "state.json")))

    def remove(self, container_id: str) -> None:
        """Forget the container (its directory and all in it)."""
        shutil.rmtree(self.directory(container_id), ignore_errors=True)

    def status(self, record: Record, spec: dict) -> str:
        """created, running, paused or stopped, as the kernel says now."""
        if not process_alive(record.pid, record.pid_start):
            return "stopped"
        if os.path.exists(self.fifo(record.id)):
            return "created"
        if _frozen(cgroup_relative(spec, record.id)):
            return "paused"
        return "running"

    def state(self, record: Record, spec: dict) -> dict:
        """The runtime spec's state document (with runc's extra keys ``created`` and ``owner``)."""
        status = self.status(record, spec)
        return {
            "ociVersion": OCI_VERSION,
            "id": record.id,
            "pid": record.pid if status != "stopped" else 0,
            "status": status,
            "bundle": record.bundle,
            "rootfs": (spec.get("root") or {}).get("path", ""),
            "created": record.created,
            "owner": "",
            "annotations": record.annotations,
        }


def started_at(pid: int) -> int:
    """The start time of ``pid`` (for :class:`Record`); BadInput when it is already gone."""
    start = process_start_time(pid)
    if start is None:
        raise BadInput(f"process {pid} exited before its start was recorded")
    return start


def _frozen(relative: str) -> bool:
    if cgroups.is_unified():
        path = os.path.join(cgroups.ROOT, relative, "cgroup.freeze")
        wanted = "1"
    else:
        path = os.path.join(cgroups.directory(relative, "freezer"), "freezer.state")
        wanted = "FROZEN"
    try:
        with open(path) as f:
            return f.read().strip() == wanted
    except OSError:
        return False


def _write_json(path: str, data: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.replace(tmp, path)


def write_pid_file(path: str, pid: int) -> None:
    """``--pid-file``: the pid written atomically (a temporary file renamed), as runc does."""
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.replace(tmp, path)
