"""The user the payload runs as: ``process.user`` resolved by :mod:`stdc.kit.users` against the
container's own /etc/passwd and /etc/group (read after pivot_root, so these are the image's
files), and the switch to it."""

from __future__ import annotations

import os

from stdc.kit import users


def _open_after_pivot(path: str) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY)


def resolve(spec_user: dict, env_home: bool) -> users.User:
    """Resolve ``process.user`` inside the container (call after pivot_root)."""
    return users.resolve(spec_user, env_home, _open_after_pivot)


def switch(user: users.User) -> None:
    """Become ``user``: supplementary groups, then gid, then uid (all of real/effective/saved)."""
    os.setgroups(user.groups)
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
