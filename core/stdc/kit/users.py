"""The user a container's payload runs as, resolved from the image's own /etc/passwd and
/etc/group. Part of the published API for executors.

These files come from strangers: at most 1 MiB of a regular file is read (never a FIFO or a
device of the image), and the executor says how a path inside the image is opened — plainly
after pivot_root, or with openat2(RESOLVE_IN_ROOT) from outside — so no symlink reaches the host.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable

from stdc.errors import StdcError

MAX_FILE = 1 << 20

#: Opens a path of the image read-only and returns the file descriptor (raises OSError).
Opener = Callable[[str], int]


class User:
    """Resolved ids of the payload's user, and its home directory."""

    __slots__ = ("uid", "gid", "groups", "home")

    def __init__(self, uid: int, gid: int, groups: list[int], home: str) -> None:
        self.uid, self.gid, self.groups, self.home = uid, gid, groups, home


def entries(open_in_image: Opener, path: str) -> list[list[str]]:
    """The colon-separated entries of a passwd or group file of the image; [] when it has none."""
    try:
        fd = open_in_image(path)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return []
        raise
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return []
        raw = f.read(MAX_FILE)
    found = []
    for line in raw.decode("utf-8", "replace").splitlines():
        if line and line[0] not in "#+-":
            fields = line.split(":")
            if len(fields) >= 4 and fields[2].isdigit():
                found.append(fields)
    return found


def resolve(spec_user: dict, env_home: bool, open_in_image: Opener) -> User:
    """Resolve the OCI ``process.user`` (``uid``/``gid`` numbers, or stdc's ``username`` /
    ``groupname``; ``additionalGids``, and stdc's ``additionalGroupnames``) against the image's files.

    ``env_home``: whether the environment already sets HOME (if not, /etc/passwd is read for it).
    """
    username = spec_user.get("username")
    groupname = spec_user.get("groupname")
    uid, gid = spec_user.get("uid"), spec_user.get("gid")
    groups = [int(g) for g in spec_user.get("additionalGids") or []]
    home = "/"
    if username or not env_home:
        entry = None
        for fields in entries(open_in_image, "/etc/passwd"):
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
    extra = list(spec_user.get("additionalGroupnames") or [])  # --group-add by name
    if groupname or username or extra:
        found = False
        for fields in entries(open_in_image, "/etc/group"):
            if groupname and fields[0] == groupname:
                gid, found = int(fields[2]), True
            if username and username in fields[3].split(","):
                groups.append(int(fields[2]))
            if fields[0] in extra:
                groups.append(int(fields[2]))
                extra.remove(fields[0])
        if groupname and not found:
            raise StdcError(f"unable to find group {groupname}: no matching entries in group file")
        if extra:
            raise StdcError(f"unable to find group {extra[0]}: no matching entries in group file")
    return User(uid or 0, gid or 0, sorted(set(groups)), home)
