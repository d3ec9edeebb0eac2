"""The user the payload runs as: ``process.user`` resolved against the container's own
/etc/passwd and /etc/group (read after pivot_root, so these are the image's files)."""

from __future__ import annotations

import os
import stat

from stdc.errors import StdcError

_MAX_FILE = 1 << 20


class User:
    """Resolved ids of the payload's user, and its home directory."""

    __slots__ = ("uid", "gid", "groups", "home")

    def __init__(self, uid: int, gid: int, groups: list[int], home: str) -> None:
        self.uid, self.gid, self.groups, self.home = uid, gid, groups, home


def _entries(path: str) -> list[list[str]]:
    """The colon-separated entries of a passwd/group file of the container; [] when absent.

    At most 1 MiB is read, and only from a regular file (never a FIFO or device of the image).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        return []
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        raw = f.read(_MAX_FILE)
    entries = []
    for line in raw.decode("utf-8", "replace").splitlines():
        if line and line[0] not in "#+-":
            fields = line.split(":")
            if len(fields) >= 4 and fields[2].isdigit():
                entries.append(fields)
    return entries


def resolve(spec_user: dict, env_home: bool) -> User:
    """Resolve ``process.user`` (``uid``/``gid`` numbers or ``username``/``groupname``).

    ``env_home``: whether the environment already sets HOME (if not, /etc/passwd is read for it).
    """
    username = spec_user.get("username")
    groupname = spec_user.get("groupname")
    uid, gid = spec_user.get("uid"), spec_user.get("gid")
    groups = [int(g) for g in spec_user.get("additionalGids") or []]
    home = "/"
    if username or not env_home:
        entry = None
        for fields in _entries("/etc/passwd"):
            if (username and fields[0] == username) or (not username and int(fields[2]) == (uid or 0)):
                entry = fields
                break
        if username and entry is None:
            raise StdcError(f"unable to find user {username}: no matching entries in passwd file")
        if entry is not None:
            uid = int(entry[2])
            if gid is None and not groupname and entry[3].isdigit():
                gid = int(entry[3])
            if len(entry) > 5 and entry[5]:
                home = entry[5]
    if groupname or username:
        name = username
        found = False
        for fields in _entries("/etc/group"):
            if groupname and fields[0] == groupname:
                gid, found = int(fields[2]), True
            if name and name in fields[3].split(","):
                groups.append(int(fields[2]))
        if groupname and not found:
            raise StdcError(f"unable to find group {groupname}: no matching entries in group file")
    return User(uid or 0, gid or 0, sorted(set(groups)), home)


def switch(user: User) -> None:
    """Become ``user``: supplementary groups, then gid, then uid (all of real/effective/saved)."""
    os.setgroups(user.groups)
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
