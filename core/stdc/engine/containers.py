"""Container verbs: create, start, run, stop, kill, wait, remove, pause, unpause, restart,
rename, list, inspect, stats, processes and attach.

Every verb takes the container's name or id (or a unique id prefix) and returns data; none
prints. Starting lives in :mod:`stdc.engine.launch`, ending in :mod:`stdc.engine.teardown`.
"""

from __future__ import annotations

import contextlib
import os
import signal as signals
from typing import TYPE_CHECKING

from stdc.engine import docker_shapes, launch, networks, teardown
from stdc.engine.options import RunOptions, merge_env, parse_user, with_terminal_env
from stdc.errors import BadInput, Conflict, NotFound, StdcError
from stdc.kit import netns

if TYPE_CHECKING:
    import socket

    from stdc.engine.context import Engine
    from stdc.engine.images import Progress
    from stdc.engine.state import Container
    from stdc.kit.imagespec import Image

__all__ = ["RunOptions"]


def create(engine: Engine, opts: RunOptions, progress: Progress | None = None) -> Container:
    """Create a container: record, writable snapshot and OCI spec; nothing runs yet.

    ``progress`` hears about the pull of an absent image (``--pull``)."""
    import json

    from stdc import discovery
    from stdc.engine import images, kernel_limits, kernel_options, mount_flags, run_config, userns, volumes
    from stdc.kit import devices, workdir
    from stdc.kit.ocispec import DEFAULT_CAPABILITIES, DEFAULT_PATH, build_spec
    from stdc.security.settings import SecuritySettings

    name = run_config.container_name(opts.name)
    run_config.refuse_unsupported(opts, discovery.installed_names("exec"))
    granted = [devices.parse_option(d) for d in opts.devices]  # before anything is made
    asked = volumes.plan(opts.volumes, opts.tmpfs, opts.read_only, engine.volumes)
    for value in opts.mounts:
        mount_flags.add_mount(asked, value, engine.volumes)
    mount_flags.add_volumes_from(engine, asked, opts.volumes_from)
    security = SecuritySettings(opts.cap_add, opts.cap_drop, opts.privileged, opts.security_opt)
    names = {kind: engine.config.backends[kind] for kind in ("storage", "exec", "net")}
    limits = kernel_limits.build(opts.limits, opts.resources)
    kernel = kernel_options.plan(engine, opts, names["storage"])
    names["exec"] = opts.runtime or names["exec"]
    storage = engine.backend("storage", names["storage"])
    engine.backend("exec", names["exec"])
    network = networks.choose(engine, opts.network, names)
    run_config.record_fields(opts, {}, network["name"])  # the flags checked before any pull
    env_files = run_config.env_from_files(opts.env_files)
    image = _image(engine, opts, progress)
    img = image.config.get("config", {}) or {}
    mount_flags.add_image_volumes(asked, img, engine.volumes)
    fields = run_config.record_fields(opts, img, network["name"])
    networks.check_settings(engine, network["name"], fields)
    network["publish"] = networks.published_ports(opts, img, network)
    entrypoint = [opts.entrypoint] if opts.entrypoint else list(img.get("Entrypoint") or [])
    args = entrypoint + (list(opts.command) or ([] if opts.entrypoint else list(img.get("Cmd") or [])))
    if not args:
        raise BadInput(f"no command given and image {opts.image} has none")
    env = merge_env(list(img.get("Env") or [f"PATH={DEFAULT_PATH}"]), env_files + opts.env)
    env = with_terminal_env(env, opts.tty)
    cwd = opts.workdir or img.get("WorkingDir") or "/"
    if not cwd.startswith("/"):
        raise BadInput(f"the working directory {cwd!r} is not an absolute path")
    cwd = workdir.check(cwd)  # normalized, as docker cleans it
    user = parse_user(opts.user or img.get("User") or "0")
    top = images.unpack(engine, image, storage, names["storage"])
    ids = userns.choose(opts.userns, engine.config, engine.state, os.path.join(engine.root, "locks"))
    config = {
        "args": args,
        "env": env,
        "cwd": cwd,
        "user": user,
        "hostname": opts.hostname,
        "auto_remove": opts.auto_remove,
        "snapshot_parent": top,
        "layers": image.chain_ids(),
        "network": network,
        "mounts": asked.described,
        "resources": limits.resources,
        "host_config": {**kernel.host_config, **limits.host_config},
        "warnings": kernel.warnings + limits.warnings,
        "restart_policy": opts.restart or {"Name": "no", "MaximumRetryCount": 0},
        "userns": {k: v for k, v in (ids or {}).items() if k != "_lock"} or None,
        "interactive": opts.interactive,
        **docker_shapes.record_fields(opts, entrypoint, args[len(entrypoint) :], img),
        **fields,
    }
    try:
        c = engine.state.create(name=name, image=opts.image, image_id=image.id, config=config, backends=names)
    finally:
        userns.release_lock(ids)
    bundle = engine.bundle(c)
    try:
        os.makedirs(os.path.join(bundle, "rootfs"), mode=0o700)
        mounts = storage.hook.storage_prepare(
            home=engine.home("storage", names["storage"]), snapshot_id=c.id, parent_id=top
        )
        with open(os.path.join(bundle, "mounts.json"), "w") as f:
            json.dump([m.to_dict() for m in mounts], f)
        own_netns = names["net"] not in netns.BUILTIN
        spec = build_spec(
            args=args,
            env=env,
            cwd=cwd,
            user=user,
            hostname=opts.hostname or c.short_id,
            rootfs=os.path.join(bundle, "rootfs"),
            cgroups_path=f"/{kernel.cgroup_parent}/{c.id}",
            netns=netns.path(engine.config.runtime_dir, c.id) if own_netns else None,
            share_host_network=names["net"] == "host",
            resources=limits.resources,
            terminal=opts.tty,
            extra_mounts=netns.etc_mounts(networks.files_dir(engine, c)) if own_netns else [],
            annotations={"org.opencontainers.image.ref.name": opts.image, **fields["Annotations"]},
        )
        if fields["Domainname"]:
            spec["domainname"] = fields["Domainname"]
        asked.apply(spec)
        kernel.apply(spec)
        security.apply(spec, DEFAULT_CAPABILITIES)
        userns.apply(spec, config["userns"])
        devices.grant(spec, granted)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(spec, f, indent=1)
        volumes.make(engine, asked)  # made once the name is known to be free
        volumes.populate(engine, c, asked)
    except BaseException:
        teardown.discard(engine, c)
        raise
    engine.state.update(c.id, status="created", busy_pid=None, busy_start=None)
    c.status, c.busy_pid, c.busy_start = "created", None, None
    engine.emit("stdc_container_created", container=teardown.describe(engine, c))
    return c


def _image(engine: Engine, opts: RunOptions, progress: Progress | None) -> Image:
    """The image to run, as ``--pull`` says: ``missing`` pulls it when absent (see
    :func:`stdc.engine.images.resolve`), ``always`` pulls it first, ``never`` only looks."""
    from stdc.engine import images
    from stdc.images import base

    if opts.pull == "always" and opts.image not in base.NAMES:
        return images.pull(engine, opts.image, platform=opts.platform, progress=progress)
    if opts.pull == "never" and opts.image not in base.NAMES:
        return engine.store.resolve(opts.image)
    return images.resolve(engine, opts.image, progress)


def get(engine: Engine, ref: str) -> Container:
    """The container's record, up to date."""
    return engine.container(ref)


def run(engine: Engine, ref: str, on_signal: launch.SignalHook) -> int:
    """Start the container attached to this process's stdio; return its exit code.

    ``on_signal`` receives the function that forwards a signal to the payload."""
    c = engine.container(ref)
    launch.allow_restarts(engine, c)
    return launch.run_foreground(engine, c, on_signal)


def start(engine: Engine, ref: str) -> None:
    """Start the container in the background, under its monitor."""
    c = engine.container(ref)
    launch.allow_restarts(engine, c)
    launch.start_detached(engine, c)


class Attachment:
    """A connection to a container's monitor: its output, our input, the exit code last."""

    # a plain class: a dataclass costs a plain `run`, which never attaches, its creation
    def __init__(self, container: Container, sock: socket.socket, terminal: bool, interactive: bool) -> None:
        self.container = container
        self.socket = sock
        self.terminal = terminal
        self.interactive = interactive


def start_attached(engine: Engine, ref: str, size: tuple[int, int] | None = None) -> Attachment:
    """Start the container under its monitor with a connection to it made before the payload
    runs (nothing it writes is missed); ``size`` is its terminal's (rows, columns)."""
    c = engine.container(ref)
    terminal = _has_terminal(engine, c)  # read before --rm can take the bundle away
    launch.allow_restarts(engine, c)
    sock = launch.start_detached(engine, c, attach=True, size=size)
    return Attachment(c, sock, terminal, bool(c.config.get("interactive")))


def attach(engine: Engine, ref: str) -> Attachment:
    """Connect to the monitor of a running container (see :mod:`stdc.attach`)."""
    from stdc import attach as monitor_socket

    c = engine.container(ref)
    if not c.running:
        raise Conflict(f"container {c.name} is not running: start it first")
    terminal = _has_terminal(engine, c)
    sock = monitor_socket.connect(engine.bundle(c))
    if sock is None:
        raise Conflict(f"container {c.name} has no monitor to attach to (it runs attached to another stdc)")
    return Attachment(c, sock, terminal, bool(c.config.get("interactive")))


def attachment_ended(attachment: Attachment, code: int | None) -> int:
    """Once the monitor has told the payload's exit ``code``: wait for its clean-up (``--rm``
    included) and return the code."""
    teardown.wait_monitor(attachment.container)
    if code is None:
        name = attachment.container.name
        raise StdcError(f"the monitor of container {name} ended without telling the payload's exit")
    return code


def has_terminal(engine: Engine, ref: str) -> bool:
    """Whether the container's payload runs on a terminal (``-t``)."""
    return _has_terminal(engine, engine.state.get(ref))


def _has_terminal(engine: Engine, c: Container) -> bool:
    spec, _ = engine.run_files(c)
    return bool(spec.get("process", {}).get("terminal"))


def stop(engine: Engine, ref: str, timeout: float | None = None) -> None:
    """The container's stop signal, then SIGKILL after ``timeout`` seconds (None: its
    ``--stop-timeout``, else 10); returns once it is cleaned up."""
    c = engine.container(ref)
    was_running = c.running
    teardown.stop(engine, c, timeout)
    if was_running:  # docker: stopping a stopped container is "not modified", no event
        engine.record_container(c, "stop")


def kill(engine: Engine, ref: str, sig: int = signals.SIGKILL) -> None:
    """Send ``sig`` to the container's init."""
    teardown.kill(engine, engine.container(ref), sig)


def wait(engine: Engine, ref: str, timeout: float | None = None) -> int | None:
    """Wait until the container has exited and been cleaned up; return its exit code."""
    return teardown.wait(engine, engine.container(ref), timeout)


def remove(engine: Engine, ref: str, force: bool = False, volumes: bool = False) -> None:
    """Remove a container and everything it owns; ``force`` kills a running one first;
    ``volumes`` removes its anonymous volumes too (``rm -v``)."""
    teardown.remove(engine, engine.container(ref), force=force, volumes=volumes)


def restart(engine: Engine, ref: str, timeout: float | None = None) -> None:
    """Stop (``stop -t``) and start the container again, detached."""
    c = engine.container(ref)
    teardown.stop(engine, c, timeout)
    start(engine, c.id)
    engine.record_container(c, "restart")


def _running(engine: Engine, ref: str) -> Container:
    c = engine.container(ref)
    if not c.running:
        raise Conflict(f"container {c.name} is not running")
    return c


def pause(engine: Engine, ref: str) -> None:
    """Freeze every process of the container (the cgroup freezer)."""
    c = _running(engine, ref)
    if c.paused:
        raise Conflict(f"container {c.name} is already paused")
    teardown.set_paused(engine, c, True)
    engine.record_container(c, "pause")


def unpause(engine: Engine, ref: str) -> None:
    """Thaw a paused container."""
    c = _running(engine, ref)
    if not c.paused:
        raise Conflict(f"container {c.name} is not paused")
    teardown.set_paused(engine, c, False)
    engine.record_container(c, "unpause")


def rename(engine: Engine, ref: str, name: str) -> None:
    """Give the container a new, unique name (docker's name syntax)."""
    import re

    c = engine.state.get(ref)
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
        raise BadInput(f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    if name == c.name:
        raise Conflict(f"Renaming a container with the same name as its current name ({name})")
    engine.state.rename(c.id, name)
    old_name, c.name = c.name, name
    engine.record_container(c, "rename", oldName=old_name)


def list_containers(engine: Engine, all: bool = False) -> list[Container]:
    """The running containers (``all``: every one), their records up to date."""
    found = [engine.refresh(c) for c in engine.state.all()]
    for c in found:
        if c.config.get("Healthcheck"):
            from stdc.engine import health

            c.health = health.status(engine, c)
    return found if all else [c for c in found if c.running]


def inspect(engine: Engine, ref: str) -> dict:
    """What ``stdc inspect`` shows of a container."""
    return teardown.describe(engine, engine.container(ref))


def inspect_any(engine: Engine, ref: str) -> dict:
    """A container named ``ref``, else an image."""
    from stdc.engine import images

    try:
        return inspect(engine, ref)
    except NotFound:
        return images.inspect(engine, ref)


def stats(engine: Engine, ref: str) -> dict | None:
    """The container's cgroup usage (see :func:`stdc.kit.cgroups.usage`), None unless it runs."""
    c = engine.container(ref)
    if not c.running:
        return None
    executor, spec = engine.executor(c)
    return executor.hook.exec_stats(container_id=c.id, bundle=engine.bundle(c), spec=spec)


def processes(engine: Engine, ref: str) -> list[int]:
    """The host pids of the running container's processes."""
    c = _running(engine, ref)
    executor, spec = engine.executor(c)
    return sorted(executor.hook.exec_processes(container_id=c.id, bundle=engine.bundle(c), spec=spec) or [])


def after_exit(engine: Engine, ref: str) -> None:
    """Run by a detached container's monitor once the payload has exited: release what the
    backends hold, then apply the restart policy."""
    from stdc.engine import restart_policy

    with contextlib.suppress(NotFound):  # removed meanwhile (rm -f)
        teardown.finish(engine, engine.state.get(ref))
    restart_policy.after_exit(engine, ref)
