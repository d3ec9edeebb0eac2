"""Which host ids a container's root is mapped to: ``run --userns`` and the host's remap setting.

Like dockerd's ``userns-remap`` (every container of the host shares one remapped range) and
podman's ``--userns=auto`` (each container its own free range, recorded so that no two share):

- host configuration ``[security] userns_remap`` in /etc/stdc/config.toml, or the environment
  ``STDC_USERNS_REMAP``: ``"default"`` (the subordinate ranges of the user ``stdcremap`` in
  /etc/subuid and /etc/subgid, as docker's ``dockremap``), ``"USER[:GROUP]"`` (that user's and
  group's ranges there), or an explicit ``"ids:UIDSTART:COUNT[:GIDSTART]"``;
- ``run --userns=auto``: 65536 ids from the pool ``[security] userns_auto_pool`` (env
  ``STDC_USERNS_AUTO_POOL``, ``"START:COUNT"``, default 2^30 ids from 2^30), the lowest range no
  container of this root holds; ``--userns=host`` keeps the host's ids even when a remap is set.

The choice is written in the container's record (``config["userns"]``) and in its OCI spec as a
``user`` namespace with linux.uidMappings/gidMappings; the executors do the rest.
"""

from __future__ import annotations

import os
from typing import Any

from stdc.errors import BadInput, StdcError

AUTO_SIZE = 65536
DEFAULT_POOL = (1 << 30, 1 << 30)
REMAP_USER = "stdcremap"
SUBUID, SUBGID = "/etc/subuid", "/etc/subgid"
MODES = ("host", "auto")


def _setting(config: Any, key: str) -> str | None:
    env = os.environ.get(f"STDC_{key.upper()}")
    if env:
        return env
    value = (config.host.get("security") or {}).get(key)
    return str(value) if value else None


def _subordinate(path: str, names: set[str]) -> tuple[int, int]:
    """The first range of any of ``names`` in /etc/subuid or /etc/subgid: (start, count)."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.strip().split(":")
                if len(fields) == 3 and fields[0] in names and fields[1].isdigit() and fields[2].isdigit():
                    return int(fields[1]), int(fields[2])
    except FileNotFoundError:
        pass
    raise BadInput(f"userns_remap: no range of {'/'.join(sorted(names))} in {path}")


def _names_of(value: str, database: str) -> set[str]:
    """A user or group name and its number (or the number and its name), as /etc/sub*id may use either."""
    import grp
    import pwd

    names = {value}
    try:
        if database == "passwd":
            entry = pwd.getpwuid(int(value)) if value.isdigit() else pwd.getpwnam(value)
            names |= {entry.pw_name, str(entry.pw_uid)}
        else:
            group = grp.getgrgid(int(value)) if value.isdigit() else grp.getgrnam(value)
            names |= {group.gr_name, str(group.gr_gid)}
    except (KeyError, OverflowError):
        pass
    return names


def remap(config: Any) -> dict | None:
    """The host's remap range (``{"uid": start, "gid": start, "size": n}``) or None."""
    value = _setting(config, "userns_remap")
    if not value:
        return None
    if value.startswith("ids:"):
        parts = value.split(":")[1:]
        if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts):
            raise BadInput(f"userns_remap {value!r}: expected ids:UIDSTART:COUNT[:GIDSTART]")
        uid, size = int(parts[0]), int(parts[1])
        gid = int(parts[2]) if len(parts) == 3 else uid
        return _checked({"uid": uid, "gid": gid, "size": size}, value)
    user, _, group = (REMAP_USER if value == "default" else value).partition(":")
    uid, uid_count = _subordinate(SUBUID, _names_of(user, "passwd"))
    gid, gid_count = _subordinate(SUBGID, _names_of(group or user, "group"))
    return _checked({"uid": uid, "gid": gid, "size": min(uid_count, gid_count)}, value)


def _checked(ids: dict, shown: str) -> dict:
    if ids["size"] < 1 or min(ids["uid"], ids["gid"]) < 1 or max(ids["uid"], ids["gid"]) + ids["size"] > 1 << 32:
        raise BadInput(f"userns_remap {shown!r}: the range must be unprivileged (not 0) and below 2^32")
    return ids


def _pool(config: Any) -> tuple[int, int]:
    value = _setting(config, "userns_auto_pool")
    if not value:
        return DEFAULT_POOL
    start, _, count = value.partition(":")
    if not (start.isdigit() and count.isdigit()) or int(start) < 1 or int(start) + int(count) > 1 << 32:
        raise BadInput(f"userns_auto_pool {value!r}: expected START:COUNT, unprivileged, below 2^32")
    return int(start), int(count)


def choose(mode: str | None, config: Any, state: Any, locks: str) -> dict | None:
    """The ids of a new container: None for the host's own. ``mode`` is ``--userns``."""
    if mode not in (None, *MODES):
        raise BadInput(f"--userns {mode!r}: expected host or auto")
    if mode == "host":
        return None
    if mode is None:
        return remap(config)
    return _allocate(config, state, locks)


def _allocate(config: Any, state: Any, locks: str) -> dict:
    """The lowest free range of :data:`AUTO_SIZE` ids in the pool, recorded under a lock.

    The caller records it with the container while still holding nothing: a second ``create``
    waits on the lock, then sees the first container's record.
    """
    import fcntl

    start, count = _pool(config)
    os.makedirs(locks, mode=0o700, exist_ok=True)
    lock = open(os.path.join(locks, "userns"), "w")  # noqa: SIM115 - kept open until recorded
    fcntl.flock(lock, fcntl.LOCK_EX)
    taken = sorted(
        (u["uid"], u["uid"] + u["size"]) for c in state.all() if (u := c.config.get("userns")) and u.get("auto")
    )
    candidate = start
    for low, high in taken:
        if candidate + AUTO_SIZE <= low:
            break
        candidate = max(candidate, high)
    if candidate + AUTO_SIZE > start + count:
        lock.close()
        raise StdcError(f"--userns=auto: no free range of {AUTO_SIZE} ids left in the pool {start}:{count}")
    return {"uid": candidate, "gid": candidate, "size": AUTO_SIZE, "auto": True, "_lock": lock}


def release_lock(ids: dict | None) -> dict | None:
    """Drop the allocation lock once the range is recorded; returns ``ids`` as they are stored."""
    if ids and "_lock" in ids:
        ids.pop("_lock").close()
    return ids


def apply(spec: dict, ids: dict | None) -> None:
    """Put the user namespace and its mappings in an OCI spec (runtime-spec linux.uidMappings)."""
    if not ids:
        return
    linux = spec["linux"]
    linux["namespaces"].insert(0, {"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": ids["uid"], "size": ids["size"]}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": ids["gid"], "size": ids["size"]}]


def how(root: str) -> str:
    """How this host gives a container its ids' files: ``idmapped`` (idmapped mounts of the
    storage driver's directories) or ``unsupported (REASON)``; probed on a scratch directory."""
    import tempfile

    from stdc.kit import idmap

    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".userns-probe-") as scratch:
            ids = [{"containerID": 0, "hostID": DEFAULT_POOL[0], "size": 1}]
            with idmap.UserNamespace(ids, ids) as ns:
                os.close(idmap.idmapped_dir(scratch, ns.fd))
    except OSError as e:
        return f"unsupported ({e.strerror or e})"
    return "idmapped"


def overlay_layers() -> str:
    """How idmapped layers reach overlayfs here: ``by descriptor`` (kernel 6.13+) or ``by path``
    (attached for the moment of the mount: kernels from 5.19)."""
    from stdc.kit import idmap

    return "by descriptor" if idmap.overlay_takes_descriptors() else "by path"
