"""Directory chores every storage driver has, part of the published API for driver authors."""

from __future__ import annotations

import os
import shutil
import stat


def remove_tree(path: str, staging: str) -> None:
    """Remove the directory ``path`` (if it exists) by renaming it into ``staging`` first, a
    directory on the same filesystem: a crash never leaves half of it where it was."""
    if not os.path.lexists(path):
        return
    doomed = fresh(staging, "rm")
    os.rename(path, os.path.join(doomed, "x"))
    shutil.rmtree(doomed, ignore_errors=True)


def fresh(parent: str, prefix: str) -> str:
    """A new, empty directory of root's alone (0700) in ``parent`` (made if missing), named
    ``<prefix>-<pid>-<random>`` so that no other process picks the same."""
    os.makedirs(parent, mode=0o700, exist_ok=True)
    # not tempfile.mkdtemp: importing tempfile loads random and OpenSSL's hashlib, ~5 ms of a run
    path = os.path.join(parent, f"{prefix}-{os.getpid()}-{os.urandom(6).hex()}")
    os.mkdir(path, 0o700)
    return path


def disk_usage(top: str) -> int:
    """Bytes allocated under ``top`` (what ``du`` counts: blocks, hardlinks once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512
    return total


def entries(path: str) -> list[str]:
    """The sorted names in directory ``path``; [] when it does not exist."""
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def private(path: str) -> None:
    """Make stdc's own directory ``path`` (its root, its runtime directory) root's alone, mode
    0700, whether it is new or was left more open (by an older stdc, or an admin's mkdir): what
    is below it — bundles, layers, sockets, network namespaces — is then out of reach of the
    host's other users, as docker does with /var/lib/docker."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.stat(path)
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, stat.S_IMODE(st.st_mode) & 0o700)
