"""Mount descriptions, as storage drivers return them and executors perform them."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from stdc.kit import syscalls

#: mount(2) takes at most one page of option data.
_PAGE = os.sysconf("SC_PAGE_SIZE")

_FLAG_OPTIONS = {
    "ro": syscalls.MS_RDONLY,
    "nosuid": syscalls.MS_NOSUID,
    "nodev": syscalls.MS_NODEV,
    "noexec": syscalls.MS_NOEXEC,
    "bind": syscalls.MS_BIND,
    "rbind": syscalls.MS_BIND | syscalls.MS_REC,
    "noatime": syscalls.MS_NOATIME,
    "strictatime": syscalls.MS_STRICTATIME,
    # a mount that needs several calls (aufs: mount, then remount,append:… past a page of
    # options) is described as several Mounts at one target, the later ones with "remount"
    "remount": syscalls.MS_REMOUNT,
}


@dataclass(frozen=True)
class Mount:
    """One mount: like containerd's ``mount.Mount``, the target is given when mounting."""

    type: str
    source: str
    options: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The mount as JSON-ready data (what a container's records keep)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Mount:
        """The mount that :meth:`to_dict` gave ``data`` of."""
        return cls(data["type"], data["source"], list(data.get("options", [])))


def split_options(options: list[str]) -> tuple[int, str]:
    """Split mount options into mount(2) flags and the filesystem's data string."""
    flags = 0
    data = []
    for option in options:
        if option in _FLAG_OPTIONS:
            flags |= _FLAG_OPTIONS[option]
        elif option != "rw":
            data.append(option)
    return flags, ",".join(data)


def _relative_lowerdirs(data: str) -> tuple[str, str | None]:
    """Shorten an overlay ``lowerdir=`` list that does not fit a page: make it relative to the
    directory all lower dirs share, which the caller then mounts from (as containerd does)."""
    options = data.split(",")
    lower = next((o for o in options if o.startswith("lowerdir=")), None)
    if lower is None or len(data) < _PAGE:
        return data, None
    dirs = lower[len("lowerdir=") :].split(":")
    common = os.path.commonpath(dirs)
    if any(d == common for d in dirs):
        common = os.path.dirname(common)
    relative = "lowerdir=" + ":".join(os.path.relpath(d, common) for d in dirs)
    return ",".join(relative if o is lower else o for o in options), common


def mount_all(mounts: list[Mount], target: str, idmap: tuple[int, tuple[int, int]] | None = None) -> None:
    """Mount ``mounts`` in order at ``target`` (the root filesystem of a container).

    ``idmap`` is ``(user namespace fd, (host uid, host gid) of the container's root)``: the files
    then appear owned by that namespace's range (see :func:`stdc.kit.idmap.idmapped_tree`).
    """
    if idmap is not None:
        from stdc.kit import idmap as idmapping

        tree = idmapping.idmapped_tree(mounts, idmap[0], idmap[1])
        try:
            idmapping.move_mount(tree, target)
        finally:
            os.close(tree)
        return
    for m in mounts:
        flags, data = split_options(m.options)
        if m.type == "overlay":
            data, chdir = _relative_lowerdirs(data)
            if chdir is not None:
                here = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.chdir(chdir)
                    syscalls.mount(m.source, target, m.type, flags, data)
                finally:
                    os.fchdir(here)
                    os.close(here)
                continue
        syscalls.mount(m.source, target, None if m.type == "bind" else m.type, flags, data or None)
