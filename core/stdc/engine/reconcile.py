"""Reconciliation: everything stdc can have made on the host for this root, compared with its
records; what no record owns (and no live process holds) is a leftover of a crash, and goes.

Resources are made in an order that always leaves an owner to find: a container's record is
written (status ``creating``, its worker's pid and start time in ``busy_pid``/``busy_start``)
before its snapshot or bundle exists, and marked as holding backend resources (``cleaned`` 0,
the starting process as worker) before its first namespace, link or cgroup; removal deletes the
record last. So a leftover is either a record whose worker died half-way (finished, or removed
when it was still being created) or a resource named after no record at all:

- the core's: network namespace bind mounts (``<runtime_dir>/netns/<id>``), bundles (with their
  monitor sockets), the image store's interrupted writes (ingest files, unreferenced blobs);
- the backends', through their ``*_orphans`` and ``*_remove_orphan`` hooks (contract 1.2):
  executors' cgroups in every hierarchy and LXC's lock mirrors, storage drivers' snapshots and
  staging directories, the bridge provider's veths, leases, bridges and packet filters.

:func:`find` lists them, :func:`repair` removes them; :func:`quick`, run when a command first
builds its engine, costs a few directory listings and repairs only when one of them shows a
leftover. ``stdc system check [--repair]``, ``system prune`` and the daemon's start use the rest.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stdc.errors import StdcError
from stdc.kit.processes import process_alive

if TYPE_CHECKING:
    from stdc.engine.context import Engine

_ID = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Leftover:
    """One thing a crash left: its ``kind``, who removes it (``core`` or ``<kind>:<backend>``)
    and its name as that one understands it."""

    kind: str
    owner: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.name}" if self.owner == "core" else f"{self.kind} ({self.owner}): {self.name}"


def owns_cgroup_parent(engine: Engine) -> bool:
    """Whether the cgroup parent is this root's alone: the shared ``stdc`` only for the host's
    own root; any other root has a parent of its own (see :mod:`stdc.config`)."""
    from stdc.config import DEFAULT_CGROUP_PARENT, DEFAULT_ROOT

    return engine.config.cgroup_parent != DEFAULT_CGROUP_PARENT or engine.root == DEFAULT_ROOT


def _dead_workers(engine: Engine) -> list[Leftover]:
    return [
        Leftover("container", "core", cid)
        for cid, pid, start in engine.state.busy()
        if pid != os.getpid() and not process_alive(pid, start)
    ]


def _named_after_ids(directory: str, live: set[str]) -> list[str]:
    """The entries of ``directory`` named after a container id not in ``live``."""
    from stdc.kit import dirs

    return [os.path.join(directory, n) for n in dirs.entries(directory) if _ID.fullmatch(n) and n not in live]


def _core(engine: Engine, live: set[str]) -> list[Leftover]:
    netns_dir, bundles = os.path.join(engine.config.runtime_dir, "netns"), os.path.join(engine.root, "containers")
    found = [Leftover("netns", "core", p) for p in _named_after_ids(netns_dir, live)]
    found += [Leftover("bundle", "core", p) for p in _named_after_ids(bundles, live)]
    if os.path.isdir(os.path.join(engine.root, "images")):
        found += [Leftover("ingest", "core", p) for p in engine.store.interrupted_writes()]
    return found


def _backends(engine: Engine, kind: str) -> list[tuple[str, Any]]:
    """The usable backends of ``kind`` that may hold something of this root: the configured
    executor and those records name (an executor's leftovers outlive no record but their
    cgroups, which any executor finds), storage drivers and network providers with a home here."""
    from stdc.kit import dirs

    if kind == "exec":
        names = sorted({engine.config.backends["exec"]} | {c.backends["exec"] for c in engine.state.all()})
    else:
        names = dirs.entries(os.path.join(engine.root, kind))
    found = []
    for name in names:
        with contextlib.suppress(StdcError):
            backend = engine.backend(kind, name)
            if not backend.builtin:
                found.append((name, backend))
    return found


def _exec_args(engine: Engine) -> dict[str, str]:
    return {"root": engine.root, "cgroup_parent": engine.config.cgroup_parent}


def _of_backends(engine: Engine, live: set[str]) -> list[Leftover]:
    ids = sorted(live)
    found: list[Leftover] = []
    if owns_cgroup_parent(engine):
        for name, backend in _backends(engine, "exec"):
            orphans = backend.hook.exec_orphans(**_exec_args(engine), live_ids=ids)
            found += [Leftover("exec", f"exec:{name}", o) for o in orphans or []]
    for name, backend in _backends(engine, "storage"):
        home = engine.home("storage", name)
        orphans = backend.hook.storage_orphans(home=home, live_ids=ids)
        if orphans is None:  # a driver without the hook: its snapshots of no container
            orphans = [f"snapshot {s}" for s in backend.hook.storage_list(home=home)["snapshots"] if s not in live]
        found += [Leftover("storage", f"storage:{name}", o) for o in orphans]
    for name, backend in _backends(engine, "net"):
        orphans = backend.hook.net_orphans(home=engine.home("net", name), settings=engine.config.network, live_ids=ids)
        found += [Leftover("net", f"net:{name}", o) for o in orphans or []]
    # one cgroup is every executor's: the first to name it removes it
    unique: dict[tuple[str, str], Leftover] = {}
    for leftover in found:
        unique.setdefault((leftover.kind, leftover.name), leftover)
    return list(unique.values())


def find(engine: Engine) -> list[Leftover]:
    """Everything a crash left for this root: records whose worker died, then resources named
    after no record. Reads only."""
    found = _dead_workers(engine)
    live = engine.state.ids()
    resources = _core(engine, live) + _of_backends(engine, live)
    # a container created while we listed owns what we saw of it: its record came first
    new = engine.state.ids() - live
    return found + [r for r in resources if not any(cid[:10] in r.name for cid in new)]


def repair(engine: Engine, found: list[Leftover]) -> list[str]:
    """Remove what :func:`find` listed, records first (their resources go with them); return
    the problems met, one line each (the rest is still done)."""
    problems = []
    collected = False
    for leftover in found:
        try:
            if leftover.kind == "container":
                _finish_record(engine, leftover.name)
            elif leftover.kind == "ingest":
                if not collected:
                    engine.store.collect_garbage()
                    collected = True
            elif leftover.owner == "core":
                _remove_core(engine, leftover)
            else:
                _remove_of_backend(engine, leftover)
        except (StdcError, OSError) as e:
            problems.append(f"{leftover}: {e}")
    return problems


def _finish_record(engine: Engine, cid: str) -> None:
    """A record whose worker died: removed with what it has when it was being created, else
    its start is undone as an exit (the record stays, exited, unless it asked for --rm)."""
    import time

    from stdc.engine import teardown
    from stdc.engine.context import wait_process
    from stdc.errors import NotFound

    try:
        c = engine.state.get(cid)
    except NotFound:
        return
    if c.busy_pid is None or process_alive(c.busy_pid, c.busy_start):
        return  # finished, or taken over by a live process, since it was found
    if c.status == "creating":
        teardown.remove(engine, c, force=True)
        return
    if c.running:  # a foreground run whose stdc died: nobody is attached to it any more
        teardown.kill(engine, c)
        wait_process(c.pid, c.pid_start, time.monotonic() + 10)
    teardown.finish(engine, c)
    with contextlib.suppress(NotFound):
        engine.state.get(cid)
        engine.state.update(cid, busy_pid=None, busy_start=None)


def _remove_core(engine: Engine, leftover: Leftover) -> None:
    import shutil

    from stdc.kit import netns

    if os.path.basename(leftover.name) in engine.state.ids():
        return  # a record owns it now
    if leftover.kind == "netns":
        netns.remove(leftover.name)
    elif leftover.kind == "bundle":
        shutil.rmtree(leftover.name, ignore_errors=True)


def _remove_of_backend(engine: Engine, leftover: Leftover) -> None:
    kind, _, name = leftover.owner.partition(":")
    backend = engine.backend(kind, name)
    if kind == "exec":
        backend.hook.exec_remove_orphan(**_exec_args(engine), orphan=leftover.name)
    elif kind == "storage":
        home = engine.home("storage", name)
        if backend.hook.storage_remove_orphan.get_hookimpls():
            backend.hook.storage_remove_orphan(home=home, orphan=leftover.name)
        else:  # a driver without the hooks: a snapshot of no container
            backend.hook.storage_remove(home=home, snapshot_id=leftover.name.partition(" ")[2])
    else:
        settings = engine.config.network
        backend.hook.net_remove_orphan(home=engine.home("net", name), settings=settings, orphan=leftover.name)


def reconcile(engine: Engine) -> tuple[list[Leftover], list[str]]:
    """Find and remove every leftover; return them and the problems met."""
    found = find(engine)
    return found, repair(engine, found) if found else []


def check(engine: Engine, repair_them: bool = False) -> dict[str, list[str]]:
    """``system check``: ``{"Leftovers": [...], "Problems": [...]}``, each one line; with
    ``repair_them`` the leftovers are removed too (the problems are those met doing it)."""
    found, problems = reconcile(engine) if repair_them else (find(engine), [])
    return {"Leftovers": [str(leftover) for leftover in found], "Problems": problems}


def quick(engine: Engine) -> None:
    """The cheap check every command makes when it builds its engine: a command that died
    (its marker is left, see :func:`done`), a dead worker's record, a cgroup, namespace or
    bundle of no record, an interrupted write in the image store — each a directory listing or
    a query. Only when one shows something does the whole reconciliation run. Never fails the
    command; a root without records yet is left as it is."""
    if not os.path.exists(os.path.join(engine.root, "state.db")):
        return
    try:
        died = _mark_this_command(engine)
        if died or _dead_workers(engine) or _unowned_traces(engine):
            reconcile(engine)
            for marker in died:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(marker)
        elif _store_interrupted(engine) and engine.store.interrupted_writes():
            engine.store.collect_garbage()
    except (StdcError, OSError):
        pass  # stdc system check reports what is left


#: this command's marker in ``<root>/ops`` while it runs (removed by :func:`done`)
_marker: str | None = None


def _mark_this_command(engine: Engine) -> list[str]:
    """Leave this command's marker (``<pid>.<start time>``); return the markers of commands that
    died without removing theirs (killed: what they were doing may be half done)."""
    from stdc.kit.processes import process_start_time

    global _marker
    ops = os.path.join(engine.root, "ops")
    died = []
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(ops):
            pid, _, start = name.partition(".")
            if pid.isdigit() and start.isdigit() and not process_alive(int(pid), int(start)):
                died.append(os.path.join(ops, name))
    os.makedirs(ops, mode=0o700, exist_ok=True)
    _marker = os.path.join(ops, f"{os.getpid()}.{process_start_time(os.getpid())}")
    os.close(os.open(_marker, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
    return died


def done() -> None:
    """The command has ended (an error is an end too): its marker goes. A command killed before
    this leaves its marker, and the next command reconciles."""
    global _marker
    if _marker is not None and os.getpid() == int(os.path.basename(_marker).partition(".")[0]):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(_marker)
        _marker = None


def _store_interrupted(engine: Engine) -> bool:
    """Whether the image store's ingest area (or its private directory) holds a file: a write
    under way or one a crash interrupted."""
    private = os.path.join(engine.root, "images", ".stdc")
    try:
        ingest = os.listdir(os.path.join(private, "ingest"))
        return bool(ingest) or any(n.startswith(".tmp-") for n in os.listdir(private))
    except FileNotFoundError:
        return False


def _unowned_traces(engine: Engine) -> bool:
    from stdc.kit import cgroups

    live = engine.state.ids()
    places = [os.path.join(engine.config.runtime_dir, "netns"), os.path.join(engine.root, "containers")]
    if owns_cgroup_parent(engine):
        places += [os.path.join(h, engine.config.cgroup_parent) for h in cgroups.hierarchies()]
    for place in places:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            ids = {name.split(".", 1)[0] for name in os.listdir(place)}
            if any(cid not in live and _ID.fullmatch(cid) for cid in ids):
                return True
    return False
