"""Volumes: ``-v``, ``--tmpfs`` and ``--read-only`` as OCI spec mounts, and named volumes.

A named volume is a directory of the stdc root, ``<root>/volumes/<name>/_data`` (docker's
``local`` driver layout), with ``<name>/volume.json`` telling when it was made. ``-v`` takes

- ``HOSTPATH:CPATH[:ro|rw]``: a bind mount of a host path, which must exist (stdc refuses a
  missing one, as podman and docker's ``--mount`` do, instead of creating it as docker's ``-v``);
- ``NAME:CPATH[:ro|rw]``: a named volume, created on first use (with nothing in it).

Everything is checked before anything is made: a relative or ``/`` CPATH, a bad mode or name is
one line and changes nothing. The executors resolve each CPATH inside the container's root
(:mod:`stdc.kit.rootpath`): a symlink of the image can never put a mount on the host.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stdc.errors import BadInput, Conflict, NotFound

if TYPE_CHECKING:
    from stdc.engine.context import Engine
    from stdc.engine.state import Container

#: docker's rule for local volume names
_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_MODES = ("ro", "rw")
#: --tmpfs options docker accepts (flags and key=value), beside the defaults it adds
_TMPFS_FLAGS = frozenset(
    {
        "ro",
        "rw",
        "exec",
        "noexec",
        "suid",
        "nosuid",
        "dev",
        "nodev",
        "atime",
        "noatime",
        "diratime",
        "nodiratime",
        "relatime",
        "norelatime",
        "strictatime",
        "nostrictatime",
    }  # fmt: skip
)
_TMPFS_KEYS = frozenset({"size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"})


@dataclass
class VolumePlan:
    """What a container asked for: spec mounts, the named volumes to make, and inspect's rows."""

    mounts: list[dict] = field(default_factory=list)
    create: list[str] = field(default_factory=list)
    described: list[dict] = field(default_factory=list)
    read_only: bool = False
    #: the volumes of ``create`` made anonymous (``-v /data``, an image's VOLUME): ``rm -v`` removes them
    anonymous: list[str] = field(default_factory=list)
    #: new volumes not to fill with what the image holds at their mount point (volume-nocopy)
    nocopy: list[str] = field(default_factory=list)

    def add(self, mount: dict, row: dict) -> None:
        """One more spec mount and its inspect row; a destination is mounted once only."""
        if any(m["destination"] == mount["destination"] for m in self.mounts):
            raise BadInput(f"duplicate mount point: {mount['destination']}")
        self.mounts.append(mount)
        self.described.append(row)

    def add_anonymous(self, destination: str, store: Volumes) -> None:
        """A new anonymous volume (a random name, as docker's) mounted read-write at ``destination``."""
        name = os.urandom(32).hex()
        self.create.append(name)
        self.anonymous.append(name)
        row = {"Type": "volume", "Name": name, "Source": store.path(name), "Driver": "local",
               "Destination": destination, "Mode": "", "RW": True, "Propagation": ""}  # fmt: skip
        self.add({"destination": destination, "type": "bind", "source": store.path(name),
                  "options": ["rbind", "rw", "rprivate"]}, row)  # fmt: skip

    def apply(self, spec: dict) -> None:
        """Put the mounts into ``spec``: one given for a default destination (``/dev/shm``)
        replaces it, as docker does; parents go before children."""
        mine = {m["destination"] for m in self.mounts}
        kept = [m for m in spec.get("mounts") or [] if m["destination"] not in mine]
        spec["mounts"] = kept + sorted(self.mounts, key=lambda m: m["destination"].count("/"))
        if self.read_only:
            spec["root"]["readonly"] = True


class Volumes:
    """The named volumes of one stdc root."""

    def __init__(self, root: str) -> None:
        self.dir = os.path.join(root, "volumes")

    def path(self, name: str) -> str:
        """Where the volume's content lives (what containers mount)."""
        return os.path.join(self.dir, name, "_data")

    def exists(self, name: str) -> bool:
        return os.path.isfile(os.path.join(self.dir, name, "volume.json"))

    def create(self, name: str, anonymous: bool = False, labels: dict[str, str] | None = None) -> dict:
        """Make the volume ``name`` with ``labels`` (nothing happens if it exists); return its description."""
        check_name(name)
        if not self.exists(name):
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            home = os.path.join(self.dir, name)
            os.makedirs(os.path.join(home, "_data"), mode=0o755, exist_ok=True)
            tmp = os.path.join(home, f".volume.json.{os.getpid()}")
            meta: dict = {"Name": name, "CreatedAt": time.time()}
            if anonymous:
                meta["Anonymous"] = True
            if labels:
                meta["Labels"] = dict(labels)
            with open(tmp, "w") as f:
                json.dump(meta, f)
            os.replace(tmp, os.path.join(home, "volume.json"))  # visible only once complete
        return self.inspect(name)

    def inspect(self, name: str) -> dict:
        check_name(name)
        try:
            with open(os.path.join(self.dir, name, "volume.json")) as f:
                meta = json.load(f)
        except FileNotFoundError:
            raise NotFound(f"no such volume: {name}") from None
        created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(meta.get("CreatedAt", 0)))
        described = {"Name": name, "Driver": "local", "Mountpoint": self.path(name), "CreatedAt": created}
        described.update(Labels=meta.get("Labels") or {}, Scope="local")
        if meta.get("Anonymous"):
            described["Anonymous"] = True
        return described

    def names(self) -> list[str]:
        if not os.path.isdir(self.dir):
            return []
        return sorted(n for n in os.listdir(self.dir) if self.exists(n))

    def remove(self, name: str, users: Iterable[str]) -> None:
        """Remove a volume and its content; refused while a container (any state) uses it."""
        check_name(name)
        if not self.exists(name):
            raise NotFound(f"no such volume: {name}")
        users = sorted(users)
        if users:
            raise Conflict(f"volume {name} is in use by container(s) {', '.join(users)}: remove them first")
        home = os.path.join(self.dir, name)
        os.unlink(os.path.join(home, "volume.json"))  # no longer a volume, whatever is left below
        shutil.rmtree(home)


def check_name(name: str) -> None:
    if not _NAME.match(name):
        raise BadInput(f"invalid volume name {name!r}: use [a-zA-Z0-9][a-zA-Z0-9_.-]+")


def users_of(containers: Iterable, name: str) -> list[str]:
    """Names of the containers whose records mount the named volume ``name``."""
    return [c.name for c in containers if any(m.get("Name") == name for m in (c.config.get("mounts") or []))]


def destination_of(value: str, flag: str) -> str:
    """A mount's container path, absolute, cleaned, never ``/``."""
    if not value.startswith("/"):
        raise BadInput(f"{flag}: the container path {value!r} must be absolute")
    clean = os.path.normpath(value)
    if clean in ("/", "//"):
        raise BadInput(f"{flag}: the container path may not be /")
    return clean


def plan(volumes: Iterable[str], tmpfs: Iterable[str], read_only: bool, store: Volumes) -> VolumePlan:
    """Check every ``-v``, ``--tmpfs`` and ``--read-only`` value; make nothing."""
    result = VolumePlan(read_only=read_only)
    add = result.add
    for value in volumes:
        flag = f"-v {value}"
        parts = value.split(":")
        if len(parts) == 1 and value.startswith("/"):
            result.add_anonymous(destination_of(value, flag), store)
            continue
        if len(parts) == 2:
            parts.append("rw")
        if len(parts) != 3 or not parts[0]:
            raise BadInput(f"{flag}: expected SOURCE:CONTAINER-PATH[:ro|rw]")
        source, target, mode = parts
        if mode not in _MODES:
            raise BadInput(f"{flag}: unknown mode {mode!r} (ro or rw)")
        destination = destination_of(target, flag)
        rw = mode == "rw"
        if source.startswith("/"):
            if not os.path.exists(source):
                raise BadInput(f"{flag}: the host path {source} does not exist (stdc does not create it)")
            source = os.path.realpath(source)
            row = {"Type": "bind", "Source": source}
        else:
            if not _NAME.match(source):
                raise BadInput(f"{flag}: {source!r} is neither an absolute host path nor a volume name")
            if not store.exists(source) and source not in result.create:
                result.create.append(source)
            row = {"Type": "volume", "Name": source, "Source": store.path(source), "Driver": "local"}
            source = store.path(source)
        row.update(Destination=destination, Mode=mode, RW=rw, Propagation="rprivate")
        # docker 25+: a read-only bind is read-only all the way down where the kernel can (5.12+)
        options = ["rbind", mode, "rprivate", *(["rro"] if mode == "ro" else [])]
        add({"destination": destination, "type": "bind", "source": source, "options": options}, row)

    for value in tmpfs:
        flag = f"--tmpfs {value}"
        target, _, raw = value.partition(":")
        destination = destination_of(target, flag)
        options = [o for o in raw.split(",") if o]
        for option in options:
            key = option.partition("=")[0]
            if option not in _TMPFS_FLAGS and not ("=" in option and key in _TMPFS_KEYS):
                raise BadInput(f"{flag}: unknown tmpfs option {option!r}")
        # docker's defaults, which the options given may turn around
        full = ["nosuid", "nodev", "noexec", *options]
        row = {"Type": "tmpfs", "Source": "", "Destination": destination, "Mode": ",".join(options),
               "RW": "ro" not in options, "Propagation": ""}  # fmt: skip
        add({"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": full}, row)
    return result


def make(engine: Engine, asked: VolumePlan) -> None:
    """Create the volumes a container asked for and that do not exist yet (anonymous ones too)."""
    for name in asked.create:
        create(engine, name, anonymous=name in asked.anonymous)


def populate(engine: Engine, c: Container, asked: VolumePlan) -> None:
    """Copy what the image holds at each new volume's mount point into it, as docker does.

    The copy goes through :func:`stdc.engine.copy.copy_out` (the image's side resolved inside its root,
    symlinks copied as symlinks): what it leaves at ``_data`` must be a real directory, else
    (the image had a file or a symlink there) the volume starts empty.
    """
    for row in asked.described:
        name = row.get("Name")
        if row["Type"] != "volume" or name not in asked.create or name in asked.nocopy:
            continue
        from stdc.engine.copy import copy_out  # tarfile and the layer code: only when there is a copy

        data = engine.volumes.path(name)
        os.rmdir(data)  # made empty just now: copy_out makes it anew from the image's directory
        try:
            copy_out(engine, c.id, row["Destination"], data, archive=True)
        except NotFound:
            pass
        finally:
            if os.path.islink(data) or (os.path.lexists(data) and not os.path.isdir(data)):
                os.unlink(data)
            if not os.path.lexists(data):
                os.mkdir(data, 0o755)


# -- the volume verbs ---------------------------------------------------------------------------


def create(engine: Engine, name: str, anonymous: bool = False, labels: dict[str, str] | None = None) -> dict:
    """Create the named volume with ``labels`` (nothing happens if it exists); return its description."""
    store = engine.volumes
    existed = store.exists(name)
    described = store.create(name, anonymous, labels)
    if not existed:
        engine.record("volume", "create", name, {"driver": "local"})
    return described


def list_volumes(engine: Engine) -> list[str]:
    """The names of every named volume."""
    return engine.volumes.names()


def inspect(engine: Engine, names: list[str]) -> list[dict]:
    """The named volumes ``names``, described."""
    store = engine.volumes
    return [store.inspect(n) for n in names]


def remove(engine: Engine, name: str) -> None:
    """Remove a volume and its content; refused while a container (even stopped) uses it."""
    engine.volumes.remove(name, users_of(engine.state.all(), name))
    engine.record("volume", "destroy", name, {"driver": "local"})


def remove_anonymous(engine: Engine, c: Container) -> None:
    """``rm -v``, ``--rm``: remove the anonymous volumes of ``c`` that no other container uses."""
    others = [o for o in engine.state.all() if o.id != c.id]
    for row in c.config.get("mounts") or []:
        name = row.get("Name")
        if row.get("Type") != "volume" or not name or not engine.volumes.exists(name):
            continue
        if engine.volumes.inspect(name).get("Anonymous") and not users_of(others, name):
            engine.volumes.remove(name, [])
            engine.record("volume", "destroy", name, {"driver": "local"})
