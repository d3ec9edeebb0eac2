"""Paths from strangers, resolved inside a root directory they can never leave.

:func:`clean_name` turns a tar member name into components relative to the root (a leading
``/`` and ``.`` components dropped, ``..`` refused). :class:`RootDir` then resolves components
the way a process chrooted into the root would — a symlink on the way is followed, but an
absolute target starts again at the root and ``..`` stops at it — with every step an
``openat(…, O_NOFOLLOW)``, so no lookup ever passes through a symlink to outside the root.
The same rules serve layer extraction, the importer's checks, and later ``cp`` into a container.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from stdc.errors import BadInput

#: Symlinks followed while resolving one path before giving up, as the kernel's MAXSYMLINKS.
MAX_SYMLINKS = 40

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PathError(BadInput):
    """A path that cannot be resolved inside the root (not a directory, a symlink loop)."""


def clean_name(name: str) -> list[str]:
    """The components of ``name`` below the root; ``BadInput`` when one of them is ``..``.

    ``""``, ``"/"`` and ``"./"`` give ``[]``: the root itself.
    """
    parts = [p for p in name.split("/") if p and p != "."]
    if ".." in parts:
        raise BadInput(f"member {name!r} points outside the root (it contains '..')")
    return parts


class RootDir:
    """An open directory that paths are resolved inside of, as if it were ``/``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> RootDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_dir(self, parts: list[str], create: bool = False, mode: int = 0o755) -> int:
        """Open the directory at ``parts`` (the caller closes the fd it gets).

        Symlinks on the way are followed inside the root. Missing directories are created
        (``mode``, owned by the caller) when ``create``, else ``FileNotFoundError``. Something
        other than a directory in the way, or a symlink loop, is :class:`PathError` (a ``BadInput``).
        """
        todo = list(reversed(parts))
        stack = [os.dup(self.fd)]  # fds from the root down to the current directory
        links = 0
        try:
            while todo:
                part = todo.pop()
                if part in ("", "."):
                    continue
                if part == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                here = stack[-1]
                try:
                    fd = os.open(part, _DIR_FLAGS, dir_fd=here)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, mode, dir_fd=here)
                    fd = os.open(part, _DIR_FLAGS, dir_fd=here)
                except OSError as e:
                    if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    if not stat.S_ISLNK(os.lstat(part, dir_fd=here).st_mode):
                        raise PathError(f"{part!r} is not a directory") from None
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise PathError(f"too many levels of symbolic links at {part!r}") from None
                    target = os.readlink(part, dir_fd=here)
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    todo.extend(reversed(target.split("/")))
                    continue
                stack.append(fd)
            return stack.pop()
        finally:
            for fd in stack:
                os.close(fd)
