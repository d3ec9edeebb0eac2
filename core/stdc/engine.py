"""The one place that composes image -> storage -> network -> executor.

Free of CLI code, so a long-lived daemon can keep it warm later. Backends are loaded lazily and
only those a command needs: a container is always handled by the backends that created it.
"""

from __future__ import annotations

import contextlib
import os
import signal as signals
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stdc import lifecycle, monitor
from stdc.config import Config
from stdc.errors import BadInput, Conflict, StdcError
from stdc.kit import netns
from stdc.state import Container, State, process_alive, process_start_time


@dataclass
class RunOptions:
    """What ``stdc run`` / ``create`` was asked for."""

    image: str
    command: list[str] = field(default_factory=list)
    name: str | None = None
    env: list[str] = field(default_factory=list)
    workdir: str | None = None
    user: str | None = None
    hostname: str | None = None
    entrypoint: str | None = None
    auto_remove: bool = False
    network: str | None = None
    publish: list[str] = field(default_factory=list)
    publish_all: bool = False
    expose: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    tmpfs: list[str] = field(default_factory=list)
    read_only: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    privileged: bool = False
    security_opt: list[str] = field(default_factory=list)
    resources: dict = field(default_factory=dict)  # linux.resources, see stdc.resources.build
    restart: dict | None = None  # docker's RestartPolicy, see stdc.resources.parse_restart
    userns: str | None = None
    devices: list[str] = field(default_factory=list)
    interactive: bool = False
    tty: bool = False


class Engine:
    """Containers and images of one stdc root."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.root = config.root
        self._state: State | None = None
        self._store: Any = None

    # -- plumbing ---------------------------------------------------------------------------

    def _ensure_root(self) -> None:
        """Make the root (root's alone) when state or images are first needed: a command that
        only reads configuration, like ``stdc plugins``, leaves the host as it is."""
        from stdc.kit import dirs

        dirs.private(self.root)

    @property
    def state(self) -> State:
        if self._state is None:
            self._ensure_root()
            self._state = State(os.path.join(self.root, "state.db"))
        return self._state

    @property
    def store(self) -> Any:
        if self._store is None:
            from stdc.images.store import ImageStore

            self._ensure_root()
            self._store = ImageStore(os.path.join(self.root, "images"))
        return self._store

    @property
    def volumes(self) -> Any:
        """The named volumes (:class:`stdc.volumes.Volumes`)."""
        from stdc.volumes import Volumes

        return Volumes(self.root)

    def home(self, kind: str, name: str) -> str:
        """The directory a backend owns alone."""
        return os.path.join(self.root, kind, name)

    def backend(self, kind: str, name: str | None = None) -> Any:
        """Load a backend (the configured one unless named) and make sure it works here."""
        from stdc import plugins

        name = name or self.config.backends[kind]
        return plugins.require(kind, name, self.home(kind, name) if kind == "storage" else None)

    def bundle(self, c: Container) -> str:
        return os.path.join(self.root, "containers", c.id)

    def emit(self, event: str, **kwargs: Any) -> None:
        """Tell every observer about a lifecycle event; an observer's failure is only a warning."""
        from stdc import plugins

        try:
            getattr(plugins.observers(), event)(**kwargs)
        except Exception as e:  # noqa: BLE001 - observers must never break the operation
            import sys

            print(f"stdc: warning: event observer failed on {event}: {e}", file=sys.stderr)

    # -- images -------------------------------------------------------------------------------

    def image(self, ref: str) -> Any:
        """Resolve an image; the built-in ``base`` is built offline when first asked for."""
        from stdc.errors import NotFound

        try:
            return self.store.resolve(ref)
        except NotFound:
            from stdc.images import base
            from stdc.kit import references

            # pull what is absent, but only from a registry the host names (its default one, or
            # one written in the reference): without one, `base` is built offline as always
            if self.config.registry.get("default") or references.parse(ref).domain:
                try:
                    return self.pull(ref)
                except NotFound:
                    if ref not in base.NAMES:
                        raise
            elif ref not in base.NAMES:
                raise
            image = base.ensure_base(self.store)
            self.emit("stdc_image_added", reference="base:latest", digest=image.manifest_digest, how="build")
            return image

    def pull(
        self,
        ref: str,
        platform: str | None = None,
        progress: Callable[[str, int, int], None] | None = None,
        tls_verify: bool | None = None,
    ) -> Any:
        """Pull ``ref`` from its registry (named docker's way, see ``references.qualify``) and tag it as
        written (a ``name@digest`` stays untagged); return the image. ``tls_verify``: see
        :func:`registry_settings`."""
        from stdc.kit import references

        wanted = references.parse(ref)
        remote = references.qualify(wanted, self.config.registry.get("default"))
        name = self.config.backends["registry"]
        digest = self.backend("registry").hook.registry_pull(
            remote=_remote(remote),
            local=str(wanted) if wanted.tag is not None else None,
            store=self.store,
            platform=platform,
            settings=self.registry_settings(tls_verify),
            home=self.home("registry", name),
            progress=progress or _no_progress,
        )
        self.emit("stdc_image_added", reference=_remote(wanted), digest=digest, how="pull")
        return self.store.resolve(digest)

    def push(
        self, ref: str, progress: Callable[[str, int, int], None] | None = None, tls_verify: bool | None = None
    ) -> str:
        """Push the local image ``ref`` to the registry its name says; return the manifest digest."""
        from stdc.kit import references

        remote = references.qualify(references.parse(ref), self.config.registry.get("default"))
        name = self.config.backends["registry"]
        return self.backend("registry").hook.registry_push(
            local=ref,
            remote=_remote(remote),
            store=self.store,
            settings=self.registry_settings(tls_verify),
            home=self.home("registry", name),
            progress=progress or _no_progress,
        )

    def registry_settings(self, tls_verify: bool | None = None) -> dict:
        """The registry backend's ``settings``: the host file's ``[registry]`` table, with the
        command line's ``--tls-verify`` choice (``None``: not given) as ``tls_verify``."""
        if tls_verify is None:
            return self.config.registry
        return {**self.config.registry, "tls_verify": tls_verify}

    def unpack(self, image: Any, storage: Any, storage_name: str) -> str | None:
        """Make sure every layer of ``image`` exists in the storage driver; return the top layer id."""
        import fcntl

        home = self.home("storage", storage_name)
        locks = os.path.join(self.root, "locks")
        os.makedirs(locks, mode=0o700, exist_ok=True)
        parent = None
        for layer, layer_id in zip(image.layers, image.chain_ids(), strict=True):
            if not storage.hook.storage_has_layer(home=home, layer_id=layer_id):
                lock_path = os.path.join(locks, f"layer-{storage_name}-{layer_id.split(':')[-1]}")
                with open(lock_path, "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    if not storage.hook.storage_has_layer(home=home, layer_id=layer_id):
                        # layers are shared by chain id, which the image config claims: check the
                        # content against its diff_id so no image can plant files in another's layer
                        def apply(target: str, whiteouts: str, layer: Any = layer) -> None:
                            from stdc.images.layers import apply_layer

                            with self.store.open_blob(layer.digest) as blob:
                                apply_layer(blob, target, whiteouts, expected_diff_id=layer.diff_id)

                        storage.hook.storage_add_layer(home=home, layer_id=layer_id, parent_id=parent, apply=apply)
            parent = layer_id
        return parent

    def describe_image(self, ref: str) -> dict:
        """What ``stdc inspect`` shows of an image."""
        image = self.store.resolve(ref)
        return {
            "Id": image.id,
            "RepoTags": [str(r) for r in self.store.refs_of(image)],
            "Digest": image.manifest_digest,
            "Created": image.config.get("created"),
            "Size": image.size,
            "Config": image.config.get("config", {}),
            "RootFS": image.config.get("rootfs", {}),
            "Layers": [layer.digest for layer in image.layers],
            "Author": image.config.get("author", ""),
            "Comment": next((h.get("comment", "") for h in reversed(image.config.get("history") or [])), ""),
            "Architecture": image.config.get("architecture"),
            "Os": image.config.get("os"),
            "History": image.config.get("history", []),
        }

    def remove_image(self, ref: str, force: bool = False) -> str:
        """Untag or remove an image; refused while a container uses it, unless ``force``.

        Layers the storage drivers unpacked for it go too, once no image or container needs them.
        """
        image = self.store.resolve(ref)
        users = self.state.uses_image(image.id)
        if users and not force:
            names = ", ".join(c.name for c in users)
            raise Conflict(f"image {ref} is used by container(s) {names}: remove them first or use rmi -f")
        result = self.store.remove_image(ref)
        self._collect_layers()
        return result

    def _collect_layers(self) -> None:
        """Remove unpacked layers that no image in the store and no container needs any more."""
        from stdc import plugins

        needed = {layer for _ref, image in self.store.list_images() for layer in image.chain_ids()}
        needed.update(layer for c in self.state.all() for layer in c.config.get("layers", []))
        storage_root = os.path.join(self.root, "storage")
        for name in os.listdir(storage_root) if os.path.isdir(storage_root) else []:
            try:
                driver = plugins.load("storage", name)
            except StdcError:
                continue  # its plugin was uninstalled: leave its files alone
            home = self.home("storage", name)
            for layer_id in driver.hook.storage_list(home=home)["layers"]:
                if layer_id not in needed:
                    driver.hook.storage_remove_layer(home=home, layer_id=layer_id)

    # -- containers -----------------------------------------------------------------------------

    def create(self, opts: RunOptions) -> Container:
        """Create a container: record, writable snapshot and OCI spec; nothing runs yet."""
        from stdc import userns, volumes
        from stdc.kit import devices, workdir
        from stdc.kit.ocispec import DEFAULT_CAPABILITIES, DEFAULT_PATH, build_spec
        from stdc.security.options import SecuritySettings

        granted = [devices.parse_option(d) for d in opts.devices]  # before anything is made
        asked = volumes.plan(opts.volumes, opts.tmpfs, opts.read_only, self.volumes)
        security = SecuritySettings(opts.cap_add, opts.cap_drop, opts.privileged, opts.security_opt)
        names = {kind: self.config.backends[kind] for kind in ("storage", "exec", "net")}
        storage = self.backend("storage", names["storage"])
        self.backend("exec", names["exec"])
        network = self._choose_network(opts.network, names)
        image = self.image(opts.image)
        img = image.config.get("config", {}) or {}
        network["publish"] = self._published_ports(opts, img, names["net"])
        entrypoint = [opts.entrypoint] if opts.entrypoint else list(img.get("Entrypoint") or [])
        args = entrypoint + (list(opts.command) or ([] if opts.entrypoint else list(img.get("Cmd") or [])))
        if not args:
            raise BadInput(f"no command given and image {opts.image} has none")
        env = _merge_env(list(img.get("Env") or [f"PATH={DEFAULT_PATH}"]), opts.env)
        if opts.tty and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")  # as docker does
        cwd = opts.workdir or img.get("WorkingDir") or "/"
        if not cwd.startswith("/"):
            raise BadInput(f"the working directory {cwd!r} is not an absolute path")
        cwd = workdir.check(cwd)  # normalized, as docker cleans it
        user = _parse_user(opts.user or img.get("User") or "0")
        top = self.unpack(image, storage, names["storage"])
        ids = userns.choose(opts.userns, self.config, self.state, os.path.join(self.root, "locks"))
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
            "resources": opts.resources,
            "restart_policy": opts.restart or {"Name": "no", "MaximumRetryCount": 0},
            "userns": {k: v for k, v in (ids or {}).items() if k != "_lock"} or None,
            "interactive": opts.interactive,
        }
        try:
            c = self.state.create(name=opts.name, image=opts.image, image_id=image.id, config=config, backends=names)
        finally:
            userns.release_lock(ids)
        bundle = self.bundle(c)
        try:
            os.makedirs(os.path.join(bundle, "rootfs"), mode=0o700)
            mounts = storage.hook.storage_prepare(
                home=self.home("storage", names["storage"]), snapshot_id=c.id, parent_id=top
            )
            import json

            with open(os.path.join(bundle, "mounts.json"), "w") as f:
                json.dump([m.to_dict() for m in mounts], f)
            spec = build_spec(
                args=args,
                env=env,
                cwd=cwd,
                user=user,
                hostname=opts.hostname or c.short_id,
                rootfs=os.path.join(bundle, "rootfs"),
                cgroups_path=f"/{self.config.cgroup_parent}/{c.id}",
                netns=None if names["net"] in netns.BUILTIN else netns.path(self.config.runtime_dir, c.id),
                share_host_network=names["net"] == "host",
                resources=opts.resources,
                terminal=opts.tty,
                extra_mounts=[] if names["net"] in netns.BUILTIN else netns.etc_mounts(self._net_files(c)),
                annotations={"org.opencontainers.image.ref.name": opts.image},
            )
            asked.apply(spec)
            security.apply(spec, DEFAULT_CAPABILITIES)
            userns.apply(spec, config["userns"])
            devices.grant(spec, granted)
            with open(os.path.join(bundle, "config.json"), "w") as f:
                json.dump(spec, f, indent=1)
            volumes.make(self.volumes, asked.create)  # made once the name is known to be free
            volumes.populate(self, c, asked)
        except BaseException:
            self._discard(c)
            raise
        self.emit("stdc_container_created", container=self.describe(c))
        return c

    def _discard(self, c: Container) -> None:
        """Undo a create that failed half-way."""
        import shutil

        try:
            storage = self.backend("storage", c.backends["storage"])
            storage.hook.storage_remove(home=self.home("storage", c.backends["storage"]), snapshot_id=c.id)
        finally:
            shutil.rmtree(self.bundle(c), ignore_errors=True)
            self.state.delete(c.id)

    def _load_run_files(self, c: Container) -> tuple[dict, list]:
        import json

        from stdc.kit.mounts import Mount

        bundle = self.bundle(c)
        with open(os.path.join(bundle, "config.json")) as f:
            spec = json.load(f)
        with open(os.path.join(bundle, "mounts.json")) as f:
            mounts = [Mount.from_dict(m) for m in json.load(f)]
        return spec, mounts

    def _begin(self, c: Container) -> tuple[Any, dict, list]:
        """Checks and preparations shared by every way of starting a container."""
        c = self.refresh(c)
        if c.running:
            raise Conflict(f"container {c.name} is already running")
        if not c.cleaned:
            self.finish(c)
        executor = self.backend("exec", c.backends["exec"])
        spec, mounts = self._load_run_files(c)
        for stale in (monitor.EXIT_FILE,):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.bundle(c), stale))
        try:
            self._network_up(c)
        except BaseException:
            self._failed_start(c, executor, spec)
            raise
        return executor, spec, mounts

    # -- networks -------------------------------------------------------------------------------

    def network_provider(self, name: str | None = None) -> tuple[Any, dict]:
        """The provider serving named networks (``--net``, or the default one when that is
        ``none`` or ``host``) and the arguments every one of its hooks takes."""
        from stdc.config import DEFAULT_NETWORK_PROVIDER

        name = name or self.config.backends["net"]
        if name in netns.BUILTIN:
            name = DEFAULT_NETWORK_PROVIDER
        return self.backend("net", name), {"home": self.home("net", name), "settings": self.config.network}

    def _choose_network(self, requested: str | None, names: dict) -> dict:
        """The network a new container joins (``--network``, else the ``--net`` provider's own);
        sets ``names["net"]`` to the provider, or to ``none``/``host``."""
        from stdc.errors import NotFound

        network = requested or names["net"]
        if network in netns.BUILTIN:
            names["net"] = network
            return {"name": network}
        provider, args = self.network_provider(names["net"])
        names["net"] = provider.name
        if not any(n["Name"] == network for n in provider.hook.net_list(**args)):
            raise NotFound(f"no such network: {network}")
        return {"name": network}

    def _published_ports(self, opts: RunOptions, image_config: dict, provider: str) -> list[dict]:
        if not (opts.publish or opts.publish_all):
            return []
        ports = netns.publish_list(opts.publish, opts.publish_all, image_config, opts.expose)
        if ports and provider in netns.BUILTIN:
            raise BadInput(f"cannot publish ports of a container on the {provider!r} network")
        netns.check_free(ports)
        return ports

    def _net_files(self, c: Container) -> str:
        return os.path.join(self.bundle(c), "network")

    def _network_up(self, c: Container) -> None:
        """Give a container on a provider's network its namespace, configured, before it starts."""
        if c.backends["net"] in netns.BUILTIN:
            return
        self._network_down(c)  # what a start that failed half-way may have left
        provider, args = self.network_provider(c.backends["net"])
        ns_path = netns.path(self.config.runtime_dir, c.id)
        os.makedirs(self._net_files(c), mode=0o755, exist_ok=True)
        netns.create(ns_path)
        try:
            asked = c.config["network"]
            options = {
                "network": asked["name"],
                "publish": asked.get("publish", []),
                "name": c.name,
                "hostname": c.config["hostname"] or c.short_id,
            }
            info = provider.hook.net_setup(
                **args, container_id=c.id, netns_path=ns_path, files_dir=self._net_files(c), options=options
            )
        except BaseException:
            netns.remove(ns_path)
            raise
        self.state.update(c.id, network=info)
        c.network = info

    def _network_down(self, c: Container) -> None:
        """Undo :meth:`_network_up` (idempotent; nothing to do costs a stat)."""
        ns_path = netns.path(self.config.runtime_dir, c.id)
        if c.backends["net"] in netns.BUILTIN or not (c.network or os.path.lexists(ns_path)):
            return
        provider, args = self.network_provider(c.backends["net"])
        provider.hook.net_teardown(**args, container_id=c.id, netns_path=ns_path, info=c.network)
        netns.remove(ns_path)
        self.state.update(c.id, network={})
        c.network = {}

    def _started(self, c: Container, pid: int, monitor_pid: int | None = None) -> None:
        now = time.time()
        values: dict[str, Any] = {
            "status": "running",
            "pid": pid,
            "pid_start": process_start_time(pid),
            "started": now,
            "exit_code": None,
            "finished": None,
            "cleaned": 0,
            "paused": 0,
            "oom_killed": 0,
        }
        if monitor_pid:
            values.update(monitor_pid=monitor_pid, monitor_start=process_start_time(monitor_pid))
        self.state.update(c.id, **values)
        for k, v in values.items():
            setattr(c, k, v)
        self.emit("stdc_container_started", container=self.describe(c))

    def run_foreground(self, c: Container, on_signal: Callable[[Callable[[int], None]], None]) -> int:
        """Run the container attached: its output on our stdout/stderr; return its exit code.

        ``on_signal`` receives a function that forwards a signal to the payload, for the caller
        to install as its signal handler.
        """
        executor, monitor_pid, pid, _ = self._launch(c, detach=False)
        bundle = self.bundle(c)
        on_signal(lambda sig: executor.hook.exec_kill(container_id=c.id, bundle=bundle, pid=pid, signal=sig))
        os.waitpid(monitor_pid, 0)
        recorded = monitor.read_exit(bundle)
        self.finish(c)
        if recorded is None or recorded["exit_code"] is None:
            raise StdcError(f"the monitor of container {c.name} died before the payload's exit was recorded")
        return recorded["exit_code"]

    def _failed_start(self, c: Container, executor: Any, spec: dict) -> None:
        executor.hook.exec_cleanup(container_id=c.id, bundle=self.bundle(c), spec=spec)
        self._network_down(c)
        self.state.update(c.id, status="exited", exit_code=None, cleaned=1)
        if c.config.get("auto_remove"):
            self.remove(self.state.get(c.id), force=True)

    def start_detached(self, c: Container, *, attach: bool = False, size: tuple[int, int] | None = None) -> Any:
        """Start the container under its monitor, which outlives this process and cleans up.

        With ``attach``, return a socket already connected to the monitor (see
        :mod:`stdc.attach`): nothing the payload writes is missed. ``size`` (rows, columns)
        is the initial size of the container's terminal, if it has one.
        """
        return self._launch(c, detach=True, attach=attach, size=size)[3]

    def _launch(
        self, c: Container, *, detach: bool, attach: bool = False, size: tuple[int, int] | None = None
    ) -> tuple[Any, int, int, Any]:
        """Fork; the child starts the container (so the payload is its child) and becomes its
        monitor. Returns the executor, the monitor's pid, the payload's pid and, with
        ``attach``, a socket connected to the monitor."""
        import json
        import socket

        executor, spec, mounts = self._begin(c)
        binary = monitor.binary(self.root)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        client, server = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) if attach else (None, None)
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the monitor-to-be
            os.close(report_r)
            self._become_monitor(c, executor, spec, mounts, report_w, binary, detach, server, size)
        os.close(report_w)
        if server is not None:
            server.close()
        with os.fdopen(report_r, "rb") as f:
            raw = f.read()
        report = json.loads(raw) if raw else {"error": "the monitor died while starting the container"}
        if "error" in report:
            os.waitpid(child, 0)
            if client is not None:
                client.close()
            self._failed_start(c, executor, spec)
            from stdc.errors import PayloadError

            raise PayloadError(report["error"], report.get("code", 125))
        self._started(c, report["pid"], child)
        return executor, child, report["pid"], client

    def _become_monitor(
        self,
        c: Container,
        executor: Any,
        spec: dict,
        mounts: list,
        report_w: int,
        binary: str,
        detach: bool,
        client: Any = None,
        size: tuple[int, int] | None = None,
    ) -> None:
        """In the forked child: start the container, report its pid, exec the monitor. Never returns."""
        import fcntl
        import json
        import sys

        bundle = self.bundle(c)
        pid = None
        report_w = fcntl.fcntl(report_w, fcntl.F_DUPFD_CLOEXEC, 100)  # clear of the monitor's 3-7
        try:
            interactive = bool(c.config.get("interactive"))
            terminal = bool((spec.get("process") or {}).get("terminal"))
            stdin = os.dup(0) if interactive and not detach and not terminal else None
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)
            if detach:
                os.setsid()
                side_log = os.open(os.path.join(bundle, monitor.MONITOR_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
                os.dup2(side_log, 1)
                os.dup2(side_log, 2)
            else:
                os.setpgid(0, 0)  # the terminal's ^C reaches the CLI, which forwards it, not the monitor
            io = {"terminal": terminal, "interactive": interactive, "stdin": stdin, "client": client, "size": size}
            wiring = monitor.Wiring(bundle, null, detach=detach, **io)
            pid = executor.hook.exec_start(
                container_id=c.id, bundle=bundle, spec=spec, rootfs_mounts=mounts, stdio=wiring.stdio
            )
            wiring.hand_over()
            flags = wiring.flags
            argv = [binary, *flags, bundle, str(pid)] if detach else [binary, "--echo", *flags, bundle, str(pid)]
            if detach:
                argv += [sys.executable, "-m", "stdc", "internal-cleanup", c.id]
                os.environ.update(STDC_ROOT=self.root, STDC_RUNTIME_DIR=self.config.runtime_dir)
            os.write(report_w, json.dumps({"pid": pid}).encode())
            os.closerange(8, 65536)
            os.execv(binary, argv)
        except StdcError as e:
            os.write(report_w, json.dumps({"error": str(e), "code": e.exit_code}).encode())
        except BaseException as e:  # noqa: BLE001 - the parent must hear about any failure
            if pid is not None:  # the monitor could not be exec'd: no payload without its monitor
                os.kill(pid, 9)
            with contextlib.suppress(OSError):
                os.write(report_w, json.dumps({"error": f"starting the container failed: {e}"}).encode())
        os._exit(1)

    def exec(
        self,
        c: Container,
        args: list[str],
        *,
        env: list[str],
        user: str | None,
        workdir: str | None,
        tty: bool,
        stdio: tuple[int, int, int],
    ) -> int:
        """Start ``args`` in the running container, as its own process settings say unless
        ``env``, ``user`` or ``workdir`` change them; return the pid, a child of this process."""
        c = self.refresh(c)
        if not c.running:
            raise Conflict(f"container {c.name} is not running")
        if not args:
            raise BadInput("exec needs a command")
        if workdir is not None and not workdir.startswith("/"):
            raise BadInput(f"the working directory {workdir!r} is not an absolute path")
        spec, _ = self._load_run_files(c)
        process = dict(spec["process"], args=list(args), terminal=tty)
        process["env"] = _merge_env(list(process.get("env") or []), env)
        if tty and not any(e.startswith("TERM=") for e in process["env"]):
            process["env"].append("TERM=xterm")
        if user is not None:
            process["user"] = _parse_user(user)
        if workdir is not None:
            process["cwd"] = workdir
        executor = self.backend("exec", c.backends["exec"])
        return executor.hook.exec_exec(
            container_id=c.id, bundle=self.bundle(c), spec=spec, pid=c.pid, process=process, stdio=stdio
        )

    def wait_monitor(self, c: Container) -> None:
        """Wait until the container's monitor (and the clean-up it runs) has finished."""
        if c.monitor_pid and c.monitor_pid != os.getpid():
            _wait_process(c.monitor_pid, c.monitor_start, None)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(c.monitor_pid, os.WNOHANG)  # reaped here when it is our child

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
        return c.monitor_pid != os.getpid() and process_alive(c.monitor_pid, c.monitor_start)

    def finish(self, c: Container) -> None:
        """Release what the backends hold for an exited container; remove it if it asked for --rm."""
        c = self.refresh(c)
        if c.running:
            return
        exit_code = c.exit_code
        if not c.cleaned:
            recorded = monitor.read_exit(self.bundle(c))
            if recorded:
                exit_code = recorded["exit_code"]
            spec, _ = self._load_run_files(c)
            executor = self.backend("exec", c.backends["exec"])
            final = lifecycle.exit_state(self, c, executor, spec)
            executor.hook.exec_cleanup(container_id=c.id, bundle=self.bundle(c), spec=spec)
            self._network_down(c)
            self.state.update(
                c.id,
                **final,
                status="exited",
                exit_code=exit_code,
                cleaned=1,
                finished=recorded["finished"] if recorded else time.time(),
            )
            c.exit_code, c.cleaned = exit_code, True
            self.emit("stdc_container_exited", container=self.describe(c), exit_code=exit_code)
        if c.config.get("auto_remove"):
            self.remove(c)

    def kill(self, c: Container, sig: int = signals.SIGKILL) -> None:
        c = self.refresh(c)
        if lifecycle.restart_pending(self, c):  # its monitor may start it again: now it will not
            self.state.update(c.id, stopped_by_user=1)
            return
        if not c.running:
            raise Conflict(f"container {c.name} is not running")
        self.state.update(c.id, stopped_by_user=1)  # no restart policy brings it back
        executor = self.backend("exec", c.backends["exec"])
        executor.hook.exec_kill(container_id=c.id, bundle=self.bundle(c), pid=c.pid, signal=sig)
        lifecycle.thaw_to_end(self, c, sig)

    def wait(self, c: Container, timeout: float | None = None) -> int | None:
        """Wait until the container has exited and been cleaned up; return its exit code."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for pid, start in ((c.pid, c.pid_start), (c.monitor_pid, c.monitor_start)):
            if pid and pid != os.getpid() and not _wait_process(pid, start, deadline):
                raise StdcError(f"timed out waiting for container {c.name}")
        c = self.refresh(self.state.get(c.id))
        if not c.cleaned:
            self.finish(c)
            with contextlib.suppress(StdcError):
                c = self.state.get(c.id)
        return c.exit_code

    def stop(self, c: Container, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; returns once it is cleaned up."""
        c = self.refresh(c)
        self.state.update(c.id, stopped_by_user=1)  # also ends a restart policy's backoff
        if c.running:
            self.kill(c, signals.SIGTERM)
            if not _wait_process(c.pid, c.pid_start, time.monotonic() + timeout):
                self.kill(c, signals.SIGKILL)
        self.wait(c)

    def remove(self, c: Container, force: bool = False) -> None:
        """Remove a container and everything it owns (snapshot, bundle, record)."""
        import shutil

        c = self.refresh(c)
        if c.running:
            if not force:
                raise Conflict(f"container {c.name} is running: stop it first or use rm -f")
            self.kill(c, signals.SIGKILL)
            _wait_process(c.pid, c.pid_start, time.monotonic() + 10)
            if self.monitor_alive(c):
                _wait_process(c.monitor_pid, c.monitor_start, time.monotonic() + 10)
            c = self.refresh(self.state.get(c.id))
        if not c.cleaned:
            c.config["auto_remove"] = False  # we are removing it right here
            self.finish(c)
        self._network_down(c)  # a start that failed half-way may have left it
        storage = self.backend("storage", c.backends["storage"])
        storage.hook.storage_remove(home=self.home("storage", c.backends["storage"]), snapshot_id=c.id)
        shutil.rmtree(self.bundle(c), ignore_errors=True)
        self.state.delete(c.id)
        self.emit("stdc_container_removed", container=self.describe(c))

    def containers(self, all: bool = False) -> list[Container]:
        found = [self.refresh(c) for c in self.state.all()]
        return found if all else [c for c in found if c.running]

    def describe(self, c: Container) -> dict:
        """What ``stdc inspect`` shows of a container."""
        return {
            "Id": c.id,
            "Name": c.name,
            "Image": c.image,
            "ImageId": c.image_id,
            "Created": _iso(c.created),
            "Config": c.config,
            "Backends": c.backends,
            "State": {
                "Status": c.status,
                "Running": c.running,
                "Pid": c.pid if c.running else 0,
                "ExitCode": c.exit_code,
                "StartedAt": _iso(c.started),
                "FinishedAt": _iso(c.finished),
                "MonitorPid": c.monitor_pid if c.running else 0,
                "Paused": c.running and c.paused,
                "Restarting": c.status == "restarting",
                "OOMKilled": c.oom_killed,
            },
            "RestartCount": c.restart_count,
            "HostConfig": lifecycle.host_config(c),
            "Network": c.network,
            "Mounts": c.config.get("mounts") or [],
            "Bundle": self.bundle(c),
            "LogPath": os.path.join(self.bundle(c), monitor.LOG_FILE),
        }


def _remote(ref: Any) -> str:
    """A reference with its tag *and* digest (``str()`` of a Reference drops the digest)."""
    return ref.name + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


def _no_progress(_what: str, _done: int, _total: int) -> None:
    pass


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e9):09d}Z"


def _wait_process(pid: int | None, start: int | None, deadline: float | None) -> bool:
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


def _merge_env(base: list[str], overrides: list[str]) -> list[str]:
    merged = dict(item.split("=", 1) if "=" in item else (item, "") for item in base)
    for item in overrides:
        if "=" in item:
            key, value = item.split("=", 1)
        elif item in os.environ:
            key, value = item, os.environ[item]
        else:
            continue  # docker: -e NAME with NAME unset on the host sets nothing
        if not key:
            raise BadInput(f"invalid environment variable: {item!r}")
        merged[key] = value
    return [f"{k}={v}" for k, v in merged.items()]


def _parse_user(value: str) -> dict:
    """``-u``: ``UID[:GID]`` numbers, or names resolved inside the container by the executor."""
    user, _, group = value.partition(":")
    if not user:
        raise BadInput(f"invalid user {value!r}")
    spec: dict[str, Any] = {}
    if user.isdigit():
        spec["uid"] = int(user)
    else:
        spec["username"] = user
    if group.isdigit():
        spec["gid"] = int(group)
    elif group:
        spec["groupname"] = group
    elif "uid" in spec:
        spec["gid"] = 0 if spec["uid"] == 0 else spec["uid"]
    return spec
