"""The OCI runtime spec as LXC configuration items.

Everything here is pure: :class:`Plan` reads and checks the spec in the caller, before anything
is touched, and holds the items to set on the ``lxc.Container``. What can only be known inside
the container's mount namespace (the image's users, the rootfs mount point LXC pivots from) is
added there by :mod:`stdc_exec_lxc.process`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from stdc.errors import BadInput, StdcError
from stdc.kit import cgroups, cgroupsettings, devices, idmap, rootpath
from stdc.kit.ocispec import CGROUP_MOUNT, ProcessSpec, cgroup_relative

from stdc_exec_lxc import seccomp

#: OCI namespace type -> LXC's name for it (lxc.namespace.keep / lxc.namespace.share.NAME)
NAMESPACES = {"pid": "pid", "network": "net", "mount": "mnt", "ipc": "ipc", "uts": "uts", "cgroup": "cgroup"}

#: the nodes LXC's autodev creates itself in a /dev tmpfs (the spec's defaults, runc's)
AUTODEV_NODES = frozenset({"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"})

#: top-level directories whose mounts LXC makes itself (autodev, proc, sysfs)
_LXC_OWN = frozenset({"dev", "proc", "sys"})

#: kept in the items so that the config dir explains a failure; only errors are written
LOG_FILE = "lxc.log"

#: the seccomp policy, beside the log in the container's config dir
SECCOMP_FILE = "seccomp"
#: the container's memory events (OOM kills) as they were when it stopped: liblxc removes the
#: container's cgroup before the monitor exits, so its stop hook copies them here
EXIT_MEMORY_EVENTS = "memory.events.at-stop"


def _stop_hook(source: str, destination: str) -> str:
    """An lxc.hook.stop command copying ``source`` to ``destination`` (liblxc runs it with
    ``sh -c`` and appends its own arguments, which ``sh -c`` takes as ``$0``…)."""
    import shlex

    script = f"cat {shlex.quote(source)} > {shlex.quote(destination)}"
    return f"/bin/sh -c {shlex.quote(script)}"


def idmap_items(mappings: tuple[list[dict], list[dict]] | None) -> list[tuple[str, str | list[str]]]:
    """linux.uidMappings/gidMappings as lxc.idmap (LXC then makes the user namespace first)."""
    if not mappings:
        return []
    lines = [
        f"{kind} {int(m['containerID'])} {int(m['hostID'])} {int(m['size'])}"
        for kind, entries in zip("ug", mappings, strict=True)
        for m in entries
    ]
    return [("lxc.idmap", lines)]


def _sysctl_hook(sysctl: dict) -> str:
    """``linux.sysctl`` as an lxc.hook.start-host command. LXC's own lxc.sysctl writes them once
    the container's /proc/sys is read-only (the spec's readonlyPaths): the hook writes them from
    the host's /proc/sys instead, having joined the container's network and IPC namespaces, which
    that /proc/sys then shows (liblxc gives the hook the init's pid as LXC_PID)."""
    import shlex

    lines = []
    for key, value in sysctl.items():
        parts = str(key).replace("/", ".").split(".")
        if not all(p and p not in (".", "..") for p in parts):
            raise StdcError(f"linux.sysctl: invalid key {key!r}")
        lines.append(f"printf %s {shlex.quote(str(value))} > {shlex.quote('/proc/sys/' + '/'.join(parts))}")
    script = "; ".join(lines)
    enter = f'exec nsenter --target "$LXC_PID" --net --ipc /bin/sh -ec {shlex.quote(script)}'
    return f"/bin/sh -c {shlex.quote(enter)}"


def monitor_cgroup(relative: str) -> str:
    """Where LXC puts its monitor (our forked child) while the container runs."""
    return relative + ".lxc-monitor"


def fstab_field(field: str) -> str:
    """A path as one field of an fstab line (lxc.mount.entry)."""
    return field.replace("\\", "\\134").replace(" ", "\\040").replace("\t", "\\011").replace("\n", "\\012")


def _cap_name(name: str, which: str) -> str:
    key = name.upper()
    key = key[4:] if key.startswith("CAP_") else key
    if not key.replace("_", "").isalnum():
        raise StdcError(f"unknown capability {name!r} in process.capabilities.{which}")
    return key.lower()


def _size_mb(option: str) -> str | None:
    """``size=65536k`` as the bytes lxc.autodev.tmpfs.size takes."""
    value = option.partition("=")[2].lower()
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    try:
        size = int(value[:-1]) * units[value[-1]] if value[-1:] in units else int(value)
    except (ValueError, KeyError):
        return None
    return str(size)


def _cgroup_items(resources: dict) -> list[tuple[str, str]]:
    """``linux.resources`` as lxc.cgroup.* (v1) or lxc.cgroup2.* (unified) items."""
    version = cgroups.version()
    prefix = "lxc.cgroup2." if version == 2 else "lxc.cgroup."
    found = cgroupsettings.settings(resources, version, swap_accounting=cgroups.swap_accounted())
    return [(prefix + setting.file, setting.value) for setting in found]


def _device_settings(resources: dict) -> list[tuple[str, str | list[str]]]:
    """``linux.resources.devices`` as lxc.cgroup.devices.* (v1) or lxc.cgroup2.devices.* (v2,
    where LXC builds the eBPF device program itself).

    LXC keeps one list per key, so the rules must be denials then grants (runc's default,
    ``--device`` added to it, and allow-all all are); another order is refused, not reordered.
    """
    rules = devices.cgroup_rules(resources)
    prefix = "lxc.cgroup2." if cgroups.is_unified() else "lxc.cgroup."
    if devices.allows_all(rules):
        return [(prefix + "devices.allow", ["a"])]
    lines: dict[str, list[str]] = {"devices.deny": [], "devices.allow": []}
    for rule in rules:
        if not rule.allow and lines["devices.allow"]:
            raise StdcError("lxc: linux.resources.devices must list its denials before its grants")
        for name, line in rule.v1_lines():
            lines[name].append(line)
    return [(prefix + name, values) for name, values in lines.items() if values]


class Plan:
    """The spec, parsed and checked; ``items`` are the LXC configuration to set."""

    def __init__(self, container_id: str, bundle: str, spec: dict) -> None:
        process = spec.get("process") or {}
        linux = spec.get("linux") or {}
        parsed = ProcessSpec(spec)
        self.terminal = parsed.terminal
        self.args, self.env, self.cwd = parsed.args, parsed.env, parsed.cwd
        self.user, self.umask = parsed.user, parsed.umask
        root = spec.get("root") or {}
        self.root = rootpath.container_root(spec, bundle)
        self.lxcpath = os.path.join(bundle, "lxc")
        self.name = container_id
        self.cgroup = cgroup_relative(spec, container_id)
        self.exit_memory_events = os.path.join(self.lxcpath, container_id, EXIT_MEMORY_EVENTS)

        items: list[tuple[str, str | list[str]]] = [
            ("lxc.rootfs.path", self.root),
            ("lxc.log.file", os.path.join(self.lxcpath, container_id, LOG_FILE)),
            ("lxc.log.level", "ERROR"),
            ("lxc.console.path", "none"),
            ("lxc.tty.max", "0"),
            ("lxc.cgroup.relative", "0"),
            ("lxc.cgroup.dir.container", self.cgroup),
            ("lxc.cgroup.dir.monitor", monitor_cgroup(self.cgroup)),
            # LXC moves its monitor to <pivot>/lxc.pivot to remove the monitor's cgroup: keep it
            # under the container's own directory, which exec_cleanup removes
            ("lxc.cgroup.dir.monitor.pivot", self.cgroup),
            ("lxc.init.cwd", self.cwd),
        ]
        if root.get("readonly"):
            items.append(("lxc.rootfs.options", "ro"))
        hostname = spec.get("hostname") or ""
        items += self._namespaces(linux.get("namespaces") or [], hostname)
        self.idmap = idmap.from_spec(spec)
        items += idmap_items(self.idmap)
        if hostname:
            items.append(("lxc.uts.name", hostname))
        if spec.get("domainname"):  # LXC has no key for it, and sets sysctls once /proc/sys is read-only
            raise BadInput("the lxc executor cannot set a domainname (--domainname): use --runtime native")
        items += self._capabilities(process.get("capabilities") or {})
        if process.get("noNewPrivileges"):
            items.append(("lxc.no_new_privs", "1"))
        #: the LXC seccomp policy, written by the monitor to SECCOMP_FILE (None: unconfined)
        self.seccomp = seccomp.to_lxc(linux["seccomp"]) if linux.get("seccomp") else None
        for limit in process.get("rlimits") or []:
            name = str(limit.get("type", ""))
            if not name.startswith("RLIMIT_") or not name[7:].isalpha():
                raise StdcError(f"unknown rlimit {name!r}")
            soft, hard = ("unlimited" if int(v) >= 1 << 63 else str(int(v)) for v in (limit["soft"], limit["hard"]))
            items.append((f"lxc.prlimit.{name[7:].lower()}", f"{soft}:{hard}"))
        if linux.get("sysctl"):
            items.append(("lxc.hook.start-host", _sysctl_hook(linux["sysctl"])))
        if process.get("oomScoreAdj") is not None:
            items.append(("lxc.proc.oom_score_adj", str(int(process["oomScoreAdj"]))))
        items += _cgroup_items(linux.get("resources") or {})
        items.append(("lxc.hook.stop", _stop_hook(cgroups.memory_events_file(self.cgroup), self.exit_memory_events)))
        items += _device_settings(linux.get("resources") or {})
        if os.path.exists("/sys/kernel/security/apparmor"):
            items.append(("lxc.apparmor.profile", "unconfined"))
        self.autodev, mount_items = self._mounts(spec.get("mounts") or [], bundle)
        items += mount_items
        self.device_nodes = self._device_nodes(linux.get("devices") or [])
        self.readonly_paths = [str(p) for p in linux.get("readonlyPaths") or []]
        self.masked_paths = [str(p) for p in linux.get("maskedPaths") or []]
        self.items = items

    # -- pieces -----------------------------------------------------------------------------

    @staticmethod
    def _namespaces(entries: list[dict], hostname: str) -> list[tuple[str, str | list[str]]]:
        """New namespaces are LXC's default; one with a path is shared, one absent is kept."""
        wanted: dict[str, str | None] = {}
        for entry in entries:
            kind = entry.get("type")
            if kind == "user":
                if entry.get("path"):
                    raise StdcError("joining a user namespace by path is not supported by the lxc executor")
                continue  # lxc.idmap, see idmap_items
            if kind not in NAMESPACES:
                raise StdcError(f"unknown namespace type {kind!r}")
            wanted[kind] = entry.get("path") or None
        if "mount" not in wanted or wanted["mount"]:
            raise StdcError("the lxc executor needs a new mount namespace")
        if hostname and ("uts" not in wanted or wanted["uts"]):
            raise StdcError("a hostname needs a new uts namespace")
        items: list[tuple[str, str | list[str]]] = []
        keep = [lxc_name for kind, lxc_name in NAMESPACES.items() if kind not in wanted]
        if keep:
            items.append(("lxc.namespace.keep", " ".join(keep)))
        for kind, path in wanted.items():
            if path:
                if not os.path.exists(path):
                    raise StdcError(f"{kind} namespace {path}: no such file")
                items.append((f"lxc.namespace.share.{NAMESPACES[kind]}", path))
        return items

    @staticmethod
    def _capabilities(caps: dict) -> list[tuple[str, str | list[str]]]:
        """The bounding set is what LXC keeps; root gets it, another user none (as with native)."""
        if caps.get("ambient"):
            raise StdcError("ambient capabilities are not supported by the lxc executor")
        bounding = [_cap_name(n, "bounding") for n in caps.get("bounding") or []]
        for which in ("effective", "permitted"):
            for name in caps.get(which) or []:
                if _cap_name(name, which) not in bounding:
                    raise StdcError(f"capability {name} in process.capabilities.{which} but not in bounding")
        return [("lxc.cap.keep", bounding or ["none"])]

    def _mounts(self, mounts: list[dict], bundle: str) -> tuple[bool, list[tuple[str, str | list[str]]]]:
        """/dev and /dev/pts become LXC's autodev and devpts; every other mount an entry."""
        autodev = False
        items: list[tuple[str, str | list[str]]] = []
        entries: list[tuple[str, str, str, bool]] = []
        #: indexes of the entries to make read-only all the way down (the spec's "rro")
        self.recursive_readonly: list[int] = []
        for m in mounts:
            destination = str(m.get("destination") or "")
            if not destination.startswith("/"):
                raise StdcError(f"mount destination {destination!r}: must be absolute")
            kind = m.get("type") or "none"
            options = [str(o) for o in m.get("options") or []]
            if destination == "/dev" and kind == "tmpfs":
                autodev = True
                size = next((_size_mb(o) for o in options if o.startswith("size=")), None)
                if size:
                    items.append(("lxc.autodev.tmpfs.size", size))
                continue
            if destination == "/dev/pts" and kind == "devpts":
                items.append(("lxc.pty.max", "1024"))  # LXC mounts a new devpts instance and /dev/ptmx
                continue
            if kind == "cgroup":
                items.append(("lxc.mount.auto", _cgroup_automount(destination, options)))
                continue
            source = str(m.get("source") or kind)
            if "rro" in options:  # see stdc_exec_lxc.readonly: LXC has no such option
                options.remove("rro")
                self.recursive_readonly.append(len(entries))
            bind = kind == "bind" or "bind" in options or "rbind" in options
            if bind:
                if not os.path.isabs(source):
                    source = os.path.join(bundle, source)
                if "bind" not in options and "rbind" not in options:
                    options.append("bind")
                kind = "none"
            as_file = bind and not os.path.isdir(source)
            rest = f"{kind} {','.join([*options, 'create=file' if as_file else 'create=dir'])} 0 0"
            entries.append((source, destination, rest, as_file))
        items.append(("lxc.autodev", "1" if autodev else "0"))
        self.mount_entries = entries
        return autodev, items

    def _device_nodes(self, nodes: list[dict]) -> list[dict]:
        """The nodes autodev does not create: made by :mod:`stdc_exec_lxc.devnodes` at start."""
        from stdc_exec_lxc import devnodes

        return devnodes.check([n for n in nodes if not (self.autodev and n.get("path") in AUTODEV_NODES)])

    def all_mount_entries(
        self, rootfs_mount: str, resolve: Callable[[str, bool], str], device_entries: list[str]
    ) -> list[str]:
        """Every lxc.mount.entry in order: mounts, devices, read-only then masked paths.

        ``rootfs_mount`` is where LXC has the container's root while it mounts (the source of
        the read-only binds of the container's own paths). ``resolve(destination, as_file)``
        gives a destination outside /dev, /proc and /sys as its symlink-free path inside the
        root, made if missing: LXC refuses any symlink on a destination's way, docker follows
        it inside the root, so it is resolved first (and LXC's check still catches a swap).
        The others LXC mounts on its own fresh /dev, /proc and /sys, refusing symlinks itself.
        ``device_entries`` bind the nodes of :attr:`device_nodes`.
        """
        entries = []
        for source, destination, rest, as_file in self.mount_entries:
            if destination.split("/")[1] not in _LXC_OWN:
                destination = resolve(destination, as_file)
            entries.append(f"{fstab_field(source)} {fstab_field(destination.lstrip('/'))} {rest}")
        entries += device_entries
        for path in self.readonly_paths:
            inside = fstab_field(path.lstrip("/"))
            entries.append(f"{fstab_field(rootfs_mount.rstrip('/') + path)} {inside} none bind,ro,optional 0 0")
        for path in self.masked_paths:
            inside = fstab_field(path.lstrip("/"))
            # /proc and /sys are the host kernel's: what is a directory there is one inside too
            if os.path.isdir(path):
                entries.append(f"tmpfs {inside} tmpfs ro,optional 0 0")
            else:
                entries.append(f"/dev/null {inside} none bind,optional 0 0")
        return entries


def _cgroup_automount(destination: str, options: list[str]) -> str:
    """The spec's ``cgroup`` mount as LXC's own ``lxc.mount.auto`` (``force``: LXC mounts them
    itself although the container has a cgroup namespace, whose root they then show)."""
    if destination != CGROUP_MOUNT:
        raise StdcError(f"lxc: a cgroup mount on {destination}: LXC mounts cgroups on {CGROUP_MOUNT} only")
    return "cgroup:ro:force" if "ro" in options else "cgroup:rw:force"
