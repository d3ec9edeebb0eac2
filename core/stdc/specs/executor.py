"""Executors: start, signal and clean up a container's init process.

The core hands an executor an OCI runtime spec (opencontainers/runtime-spec ``config.json`` as
a dict: process args/env/cwd/user/terminal/capabilities/noNewPrivileges, hostname, mounts,
linux.namespaces — a namespace with a ``path`` is joined, one without is created —,
linux.cgroupsPath and linux.resources, maskedPaths and readonlyPaths) plus the storage driver's
root filesystem mounts. The executor builds the container from them.

Device control is the executor's too: it creates the nodes of ``linux.devices`` and enforces
``linux.resources.devices`` in order (runc's default list when absent; see :mod:`stdc.kit.devices`,
whose :func:`~stdc.kit.devices.cgroup_rules` checks the list and gives the v1 lines), so that no
other device — one shipped in the image, one made with mknod — can be opened. The payload's
working directory is checked with :mod:`stdc.kit.workdir` (never a leaked descriptor's).

One process model for all executors: the container's init is started as a *child of the
calling process* (the stdc CLI in the foreground, the container's monitor when detached), and
the exit status of that child is the payload's. The caller reaps it with ``os.waitpid``.
That child may also be a supervisor that the init runs under and that exits as the payload did
(LXC's monitor, which must be the init's parent, is one); the caller treats it the same.
"""

from __future__ import annotations

from stdc.specs import hookspec

#: hooks an executor may leave out (stdc.discovery does not require them)
OPTIONAL_HOOKS = ("exec_create", "exec_update", "exec_orphans", "exec_remove_orphan")


@hookspec(firstresult=True)
def exec_unusable() -> str | None:
    """Return ``None`` when the executor works on this host, else a short reason.

    Shown as ``<name>: not usable (<reason>)``; called before anything is touched.
    """


@hookspec(firstresult=True)
def exec_start(
    container_id: str,
    bundle: str,
    spec: dict,
    rootfs_mounts: list,
    stdio: tuple[int, int, int],
    console_socket: int | None,
) -> int:
    """Start the container and return the pid of its init (or of the supervisor it runs under,
    see above), a child of the calling process whose exit status will be the payload's.

    ``bundle`` is the container's directory (it holds ``config.json``); ``spec["root"]["path"]``
    is where the root filesystem goes: the executor mounts ``rootfs_mounts``
    (:class:`stdc.kit.mounts.Mount`, see :func:`stdc.kit.mounts.mount_all`) there, preferably inside the
    container's own mount namespace. ``stdio`` are the file descriptors that become the
    payload's 0, 1 and 2; no other descriptor of the runtime may reach the payload.

    When ``spec["process"]["terminal"]`` is true, ``console_socket`` is one end of a unix socket
    pair, as runc's ``--console-socket``: the executor allocates the payload's terminal from the
    container's own devpts instance (``/dev/ptmx`` inside the container, after its
    ``newinstance`` devpts is mounted), sets its size to ``process.consoleSize``, sends the
    master over the socket (SCM_RIGHTS) before the payload runs, bind-mounts the slave on
    ``/dev/console`` and makes it the payload's 0-2 (``stdio`` are then /dev/null, to ignore) and
    the controlling terminal of its session (setsid, then TIOCSCTTY), so that ``tty`` prints
    ``/dev/pts/0`` and ctrl-c and job control reach the payload; :mod:`stdc.kit.console` does
    each step. Without a terminal ``console_socket`` is None. (A caller without a console socket
    may also pass the slave of a terminal it allocated as ``stdio``, with ``terminal`` true:
    :func:`stdc.kit.child.own_process` makes it the controlling terminal.)

    Returns only once the payload has been executed. If it cannot be, raise
    :class:`stdc.errors.PayloadError` (exit code 127 when the command does not exist, 126 when
    it is not executable) after making sure nothing of the container is left running.

    .. versionchanged:: 1.1
        ``console_socket`` was added; an executor that does not take it gets a terminal the
        caller allocated on the host's devpts, as in 1.0.
    """


@hookspec(firstresult=True)
def exec_create(
    container_id: str,
    bundle: str,
    spec: dict,
    rootfs_mounts: list,
    stdio: tuple[int, int, int],
    console_socket: int | None,
    start_fifo: str,
) -> int:
    """Create the container as :func:`exec_start` does, but stop its init right before it would
    execute the payload, until the container is started (the OCI runtime's ``create``, then
    ``start``; runc's ``exec.fifo``). Returns the init's pid once everything else is done: the
    namespaces, mounts, terminal (sent over ``console_socket``), cgroups, user and capabilities.

    ``start_fifo`` is a named pipe on the host. The init opens it (``O_PATH``) before it leaves
    the host's mount namespace; once created, it opens it again for writing through
    ``/proc/self/fd`` — which blocks until the starter opens it for reading —, writes one byte
    and executes the payload. Whether the payload can be found is checked before the init reports
    itself created (:class:`stdc.errors.PayloadError` then, leaving nothing running, as for
    :func:`exec_start`).

    Optional: an executor without it can only run containers (``exec_start``).

    .. versionadded:: 1.2
    """


@hookspec(firstresult=True)
def exec_exec(
    container_id: str,
    bundle: str,
    spec: dict,
    pid: int,
    process: dict,
    stdio: tuple[int, int, int],
    console_socket: int | None,
) -> int:
    """Start another process in the running container (``stdc exec``) and return its pid, a
    child of the calling process whose exit status is that process's.

    ``spec`` is the container's spec and ``pid`` what :func:`exec_start` returned (checked to
    still be running); ``process`` is an OCI ``process`` (args, env, cwd, user, terminal,
    consoleSize, capabilities, noNewPrivileges) to run in the container's namespaces (all of
    them: pid, mount, network, ipc, uts, cgroup) and cgroups, as the container's user,
    capabilities and no_new_privs settings are applied to its init. ``stdio`` and
    ``console_socket`` as for :func:`exec_start`, ``process["terminal"]`` included: the
    terminal comes from the container's devpts too (no /dev/console for an exec'd process).

    Returns only once the command has been executed; if it cannot be, raise
    :class:`stdc.errors.PayloadError` (127: not found, 126: not executable), leaving nothing
    running.

    .. versionchanged:: 1.1
        ``console_socket`` was added, as for :func:`exec_start`.
    """


@hookspec(firstresult=True)
def exec_kill(container_id: str, bundle: str, pid: int, signal: int) -> None:
    """Make ``signal`` reach the container's init; ``pid`` is what :func:`exec_start` returned
    (already checked to still be it)."""


@hookspec(firstresult=True)
def exec_cleanup(container_id: str, bundle: str, spec: dict) -> None:
    """Release what the executor created for a container that has exited.

    Kill any process of the container that is left, remove its cgroups and any other host
    resources. Must be idempotent: it is called again after a crash at any point.
    """


@hookspec(firstresult=True)
def exec_exit_state(container_id: str, bundle: str, spec: dict) -> dict | None:
    """The final state of a container that has exited, read before :func:`exec_cleanup`
    removes its cgroups: ``{"oom_killed": bool}`` — whether the kernel's OOM killer killed a
    process of the container (its memory cgroup's ``oom_kill`` count; see
    :func:`stdc.kit.cgroups.oom_killed`). ``None`` when the executor cannot tell."""


@hookspec(firstresult=True)
def exec_stats(container_id: str, bundle: str, spec: dict) -> dict | None:
    """The resource usage of a running container, from its cgroups (see
    :func:`stdc.kit.cgroups.usage`): ``{"cpu_ns", "memory", "memory_limit", "pids"}``, or
    ``None`` when it has none (it has exited)."""


@hookspec(firstresult=True)
def exec_processes(container_id: str, bundle: str, spec: dict) -> list[int]:
    """The host pids of every process of a running container (``stdc top``); the executor's own
    helpers (a supervisor it runs under) are not among them."""


@hookspec(firstresult=True)
def exec_pause(container_id: str, bundle: str, spec: dict, paused: bool) -> None:
    """Freeze every process of a running container (``paused``), or thaw them; return once the
    kernel reports them frozen or thawed (see :func:`stdc.kit.cgroups.freeze`). A frozen container
    must still be killable: :func:`exec_cleanup` thaws what it kills."""


@hookspec(firstresult=True)
def exec_update(container_id: str, bundle: str, spec: dict, resources: dict) -> None:
    """Apply new limits to a running container now (``stdc update``, docker's ``update``).

    ``resources`` holds the sections of the spec's ``linux.resources`` that changed (``memory``,
    ``cpu``, ``pids``, ``blockIO``), each whole as it is now in force; ``spec`` is the container's
    spec, already rewritten with them (so the next start uses them). Write them where the
    container's processes are limited (:func:`stdc.kit.cgroups.write_settings` for the spec's
    cgroup); a value the kernel refuses (memory below what the container uses) raises
    :class:`stdc.errors.StdcError` with one line.

    Optional: without it a running container cannot be updated (a stopped one can).

    .. versionadded:: 1.2
    """


@hookspec(firstresult=True)
def exec_orphans(root: str, cgroup_parent: str, live_ids: list[str]) -> list[str]:
    """What this executor left on the host for containers of the stdc root ``root`` that no
    record owns any more (a crash between its making and the record's): each a string the
    executor understands again in :func:`exec_remove_orphan`, shown to the user as it is (a
    cgroup ``<cgroup_parent>/<id>``, a directory). ``live_ids`` are the ids the root's records
    hold; only what is named after another id, and that no live process holds, is an orphan.
    ``cgroup_parent`` is the root's alone. Reads only: removes nothing.

    :mod:`stdc.kit.cgrouphooks` implements it for the cgroups of any executor.

    .. versionadded:: 1.2
    """


@hookspec(firstresult=True)
def exec_remove_orphan(root: str, cgroup_parent: str, orphan: str) -> None:
    """Remove one leftover :func:`exec_orphans` named (idempotent).

    .. versionadded:: 1.2
    """
