"""The spec's device nodes (``linux.devices``) that LXC's autodev does not make.

LXC can only mount into the container: the nodes are made, with the spec's numbers, mode and
owner, on a small tmpfs of the LXC monitor's private mount namespace (gone with it), and each
is bound onto its path in the container by an lxc.mount.entry. A node may so be named freely
(``--device /dev/null:/dev/mynull``), whatever the host calls it; opening it is still up to the
cgroup's device rules.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable

from stdc.errors import StdcError
from stdc.kit import syscalls

_KINDS = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}


def check(nodes: list[dict]) -> list[dict]:
    """The entries of ``linux.devices`` checked (in the caller, before anything is touched)."""
    checked = []
    for node in nodes:
        path = str(node.get("path") or "")
        if not path.startswith("/") or os.path.normpath(path) == "/":
            raise StdcError(f"device path {path!r}: must be an absolute path in the container")
        if node.get("type", "c") not in _KINDS:
            raise StdcError(f"device {path}: unknown type {node.get('type')!r}")
        checked.append(node)
    return checked


def make(nodes: list[dict], directory: str, escape: Callable[[str], str]) -> list[str]:
    """Make ``nodes`` on a tmpfs mounted at ``directory`` (call in the monitor's private mount
    namespace); return the lxc.mount.entry lines that bind them into the container."""
    if not nodes:
        return []
    os.makedirs(directory, mode=0o700, exist_ok=True)
    # searchable (0711): under --userns liblxc binds the nodes from inside the user namespace
    try:
        syscalls.mount("tmpfs", directory, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NOEXEC, "mode=0711,size=64k")
    except OSError as e:
        raise StdcError(f"lxc: a tmpfs for device nodes on {directory}: {e.strerror}") from None
    entries = []
    for i, node in enumerate(nodes):
        source = os.path.join(directory, str(i))
        mode = _KINDS[node.get("type", "c")] | (int(node.get("fileMode", 0o666)) & 0o7777)
        try:
            os.mknod(source, mode, os.makedev(int(node.get("major", 0)), int(node.get("minor", 0))))
            os.chmod(source, mode & 0o7777)  # whatever the umask
            os.chown(source, int(node.get("uid", 0)), int(node.get("gid", 0)))
        except OSError as e:
            raise StdcError(f"lxc: device {node['path']}: {e.strerror}") from None
        inside = os.path.normpath(node["path"]).lstrip("/")
        entries.append(f"{escape(source)} {escape(inside)} none bind,create=file 0 0")
    return entries
