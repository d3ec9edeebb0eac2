"""The payload's working directory may not lead out of the container. Part of the published API
for executors.

runc's CVE-2024-21626 ("Leaky Vessels"): a working directory of ``/proc/self/fd/N`` (given with
``-w``, or an image's WorkingDir, or a symlink of the image pointing there) named a descriptor
the runtime had leaked into the container, and the payload started in the host's filesystem.
stdc refuses such paths by name (:func:`check`, in the core and in every executor), and an
executor checks where the directory it entered really is (:func:`verify_current`).
"""

from __future__ import annotations

import os
import posixpath
import re

from stdc.errors import BadInput

#: /proc/self, /proc/thread-self, /proc/<pid> and /dev/fd (the runtime's link to /proc/self/fd)
_ESCAPING = re.compile(r"^/(proc/(self|thread-self|[0-9]+)|dev/fd)(/|$)")


def check(path: str) -> str:
    """Refuse a working directory under /proc/self, /proc/thread-self, /proc/PID or /dev/fd;
    return it normalized."""
    normal = posixpath.normpath("/" + path.lstrip("/"))
    if _ESCAPING.match(normal):
        raise BadInput(f"working directory {path}: refused, it names the process's own descriptors or files in /proc")
    return normal


def verify_current(asked: str) -> None:
    """After entering the working directory: refuse one outside the root (the kernel shows
    ``(unreachable)``, and getcwd fails) or one that led into /proc by a symlink."""
    try:
        where = os.getcwd()
    except OSError:
        raise BadInput(f"working directory {asked}: resolves outside the container's root") from None
    check(where)
