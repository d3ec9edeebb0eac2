"""The build context: the directory COPY and ADD read from, never anything outside it.

A context is a directory, or a tar (``stdc build -``, ``POST /build``) extracted first into a
private directory by the strict layer extractor. Every source is resolved below the context's
root by the kernel (openat2 ``RESOLVE_BENEATH``): ``..``, an absolute symlink or one climbing out
is refused, not followed. ``.dockerignore`` is docker's: ``*``, ``?``, ``[...]``, ``**``, a
pattern also excludes what is below what it matches, and ``!`` exceptions, the last match wins.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import posixpath
import re
import shutil
from collections.abc import Iterator
from typing import IO

from stdc.errors import BadInput
from stdc.kit import syscalls

MAX_IGNORE_FILE = 1 << 20
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class ContextError(BadInput):
    """A source that is not in the build context, or leads out of it."""


class IgnoreRules:
    """The patterns of a ``.dockerignore``, compiled."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[re.Pattern[str], bool]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            exclude = not line.startswith("!")
            pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
            if pattern in ("", "."):
                continue
            self.rules.append((_compile(pattern, raw), exclude))

    def ignored(self, path: str) -> bool:
        """Whether ``path`` (relative, ``/``-separated) is left out of the context."""
        if not self.rules:
            return False
        parents = _parents(path)
        result = False
        for regex, exclude in self.rules:
            if any(regex.fullmatch(p) for p in parents):
                result = exclude
        return result


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _compile(pattern: str, raw: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                out.append("(?:.*/)?")
                i += 1
            else:
                out.append(".*")
            continue
        if ch == "*":
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                raise BadInput(f".dockerignore: syntax error in pattern {raw.strip()!r}")
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + re.escape(body[1:]) if body.startswith("^") else re.escape(body)) + "]")
            i = end
        elif ch == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out))


class BuildContext:
    """An open context directory and its ignore rules."""

    def __init__(self, path: str, owned: bool = False, image: bool = False) -> None:
        self.path = path
        self.owned = owned  # a directory extracted from a tar: removed on close
        # an image's filesystem (COPY --from): its absolute symlinks resolve inside it
        self.resolve = syscalls.RESOLVE_IN_ROOT if image else syscalls.RESOLVE_BENEATH
        self.fd = os.open(path, _DIR)
        self.ignore = IgnoreRules("" if image else self.read_text(".dockerignore", MAX_IGNORE_FILE) or "")

    def close(self) -> None:
        """Close the context (and remove it if it was extracted from a tar)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.owned:
            shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> BuildContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_text(self, name: str, limit: int) -> str | None:
        """A file of the context as text (None when absent); ``BadInput`` past ``limit`` bytes."""
        try:
            fd = self.open(name, os.O_RDONLY)
        except ContextError:
            return None
        with os.fdopen(fd, "rb") as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise BadInput(f"{name} is larger than {limit} bytes")
        return data.decode("utf-8", "replace")

    def open(self, relative: str, flags: int = os.O_PATH) -> int:
        """Open ``relative`` below the context's root (symlinks followed only while they stay inside)."""
        clean = check_relative(relative)
        try:
            return syscalls.openat2(self.fd, clean or ".", flags | os.O_CLOEXEC, self.resolve)
        except OSError as e:
            if e.errno == errno.EXDEV:
                raise ContextError(f"{relative}: refused, it leads outside the build context") from None
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                raise ContextError(f"{relative}: not found in the build context") from None
            raise

    def match(self, source: str) -> list[str]:
        """The context paths a COPY source names (a glob may name several), ignored ones left out."""
        clean = check_relative(source)
        if not any(c in clean for c in "*?["):
            if clean and self.ignore.ignored(clean):
                raise ContextError(f"{source}: not found in the build context (excluded by .dockerignore)")
            os.close(self.open(clean))
            return [clean]
        found = [p for p in self._glob(clean.split("/"), "") if not self.ignore.ignored(p)]
        if not found:
            raise ContextError(f"{source}: no source files were specified (nothing matches)")
        return sorted(found)

    def _glob(self, parts: list[str], base: str) -> Iterator[str]:
        head, rest = parts[0], parts[1:]
        try:
            fd = self.open(base or ".", os.O_RDONLY | os.O_DIRECTORY)
        except (ContextError, NotADirectoryError):
            return
        try:
            names = sorted(os.listdir(fd))
        finally:
            os.close(fd)
        for name in names:
            if fnmatch.fnmatchcase(name, head):
                path = f"{base}/{name}" if base else name
                yield from (self._glob(rest, path) if rest else [path])


def check_relative(source: str) -> str:
    """A source path as docker reads it: relative to the context (a leading ``/`` too); ``..``
    leading out is refused."""
    clean = posixpath.normpath("/" + source).lstrip("/")
    if any(p == ".." for p in posixpath.normpath(source).split("/")) and not source.startswith("/"):
        raise ContextError(f"{source}: refused, it leads outside the build context")
    return "" if clean == "." else clean


def from_tar(stream: IO[bytes], scratch: str) -> BuildContext:
    """Extract a context tar (plain or gzip/zstd) into a private directory under ``scratch``."""
    import tempfile

    from stdc.images.layers import apply_layer

    os.makedirs(scratch, mode=0o700, exist_ok=True)
    where = tempfile.mkdtemp(prefix="context-", dir=scratch)
    try:
        apply_layer(stream, where, "plain", keep_owners=False)
    except BadInput as e:
        shutil.rmtree(where, ignore_errors=True)
        raise BadInput(f"the build context is not a valid tar: {e}") from None
    except BaseException:
        shutil.rmtree(where, ignore_errors=True)
        raise
    return BuildContext(where, owned=True)
