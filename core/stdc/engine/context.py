"""The engine's context: what every verb works with — configuration, root, container records,
image store, named volumes, backends and event observers — and nothing else.

Free of CLI code, so a long-lived daemon can keep it warm. Backends are loaded lazily and only
those a verb needs: a container is always handled by the backends that created it. The verbs
live beside this module (:mod:`stdc.engine.containers`, :mod:`stdc.engine.images`, ...) and
take an :class:`Engine` plus names and typed options.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from stdc.engine import monitor
from stdc.engine.state import Container, State
from stdc.kit.processes import process_alive

if TYPE_CHECKING:
    from stdc.config import Config
    from stdc.engine.volumes import Volumes
    from stdc.images.store import ImageStore
    from stdc.kit.mounts import Mount


class Engine:
    """Containers and images of one stdc root."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.root
        self._state: State | None = None
        self._store: ImageStore | None = None

    def _ensure_root(self) -> None:
        """Make the root (root's alone) when state or images are first needed: a command that
        only reads configuration, like ``stdc plugins``, leaves the host as it is."""
        from stdc.kit import dirs

        dirs.private(self.root)

    @property
    def state(self) -> State:
        """The container records."""
        if self._state is None:
            self._ensure_root()
            self._state = State(os.path.join(self.root, "state.db"))
        return self._state

    def close(self) -> None:
        """Close the records' database if it was opened (a long-lived front end's idle thread)."""
        if self._state is not None:
            self._state.close()
            self._state = None

    @property
    def store(self) -> ImageStore:
        """The image store."""
        if self._store is None:
            from stdc.images.store import ImageStore

            self._ensure_root()
            self._store = ImageStore(os.path.join(self.root, "images"))
        return self._store

    @property
    def volumes(self) -> Volumes:
        """The named volumes (:class:`stdc.engine.volumes.Volumes`)."""
        from stdc.engine.volumes import Volumes

        return Volumes(self.root)

    def home(self, kind: str, name: str) -> str:
        """The directory a backend owns alone."""
        return os.path.join(self.root, kind, name)

    def backend(self, kind: str, name: str | None = None) -> Any:
        """Load a backend (the configured one unless named) and make sure it works here."""
        from stdc import discovery

        name = name or self.config.backends[kind]
        return discovery.require(kind, name, self.home(kind, name) if kind == "storage" else None)

    def bundle(self, c: Container) -> str:
        """The container's bundle directory: OCI spec, mounts, log, exit status."""
        return os.path.join(self.root, "containers", c.id)

    def emit(self, event: str, **kwargs: Any) -> None:
        """Record a lifecycle event in the journal and tell every observer about it; an
        observer's failure is only a warning."""
        from stdc import discovery
        from stdc.engine import journal

        recorded = journal.from_hook(event, kwargs)
        if recorded is not None:
            self.record(*recorded)
        try:
            getattr(discovery.observers(), event)(**kwargs)
        except Exception as e:  # noqa: BLE001 - observers must never break the operation
            import logging  # only now: a plain run does not pay for it

            # with no handler configured, logging's last resort writes the message to stderr
            logging.getLogger("stdc").warning("stdc: warning: event observer failed on %s: %s", event, e)

    def record(self, kind: str, action: str, actor_id: str, attributes: dict[str, Any]) -> None:
        """Append an event in Docker's shape to the root's events journal (:mod:`stdc.engine.journal`)."""
        from stdc.engine import journal

        self._ensure_root()
        journal.append(self.root, journal.event(kind, action, actor_id, attributes))

    def record_container(self, c: Container, action: str, **extra: Any) -> None:
        """Record a container event (``stop``, ``kill``, ``pause``, ...) with its name, image and labels."""
        attrs = {**(c.config.get("labels") or {}), "name": c.name, "image": c.image, **extra}
        self.record("container", action, c.id, attrs)

    def container(self, ref: str) -> Container:
        """The container named ``ref`` (name, id or unique id prefix), its record brought up to date."""
        return self.refresh(self.state.get(ref))

    def refresh(self, c: Container) -> Container:
        """Bring a record in line with the kernel: a running container whose init is gone has exited."""
        if c.status == "running" and not process_alive(c.pid, c.pid_start):
            recorded = monitor.read_exit(self.bundle(c))
            c.status = "exited"
            c.exit_code = recorded["exit_code"] if recorded else None
            c.finished = recorded["finished"] if recorded else time.time()
            self.state.update(c.id, status=c.status, exit_code=c.exit_code, finished=c.finished)
        return c

    def monitor_alive(self, c: Container) -> bool:
        """Whether the container's monitor (not this process) still runs."""
        return c.monitor_pid != os.getpid() and process_alive(c.monitor_pid, c.monitor_start)

    def run_files(self, c: Container) -> tuple[dict, list[Mount]]:
        """The container's OCI spec and the mounts of its root filesystem, as ``create`` wrote them."""
        import json

        from stdc.kit.mounts import Mount

        bundle = self.bundle(c)
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        with open(os.path.join(bundle, "mounts.json")) as f:
            mounts = [Mount.from_dict(m) for m in json.load(f)]
        return spec, mounts

    def executor(self, c: Container) -> tuple[Any, dict]:
        """The executor that started the container, and the container's OCI spec."""
        spec, _ = self.run_files(c)
        return self.backend("exec", c.backends["exec"]), spec


def wait_process(pid: int | None, start: int | None, deadline: float | None) -> bool:
    """Wait for the process ``pid`` (started at ``start``) to end; False on timeout."""
    import select

    if not process_alive(pid, start):
        return True
    try:
        fd = os.pidfd_open(pid)  # type: ignore[arg-type]
    except ProcessLookupError:
        return True
    try:
        if not process_alive(pid, start):  # the pid was recycled before we pinned it
            return True
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))
            if poller.poll(wait_ms):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
    finally:
        os.close(fd)
