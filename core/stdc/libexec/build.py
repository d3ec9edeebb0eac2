"""Building the detached container monitor, ``stdc-monitor.c``, on first use.

The monitor is compiled on the host rather than shipped as a binary: it is one small C file,
and a build is cached under a name derived from the source and the flags, so an upgrade of
stdc builds a fresh monitor while containers started earlier keep running the old one.
"""

from __future__ import annotations

import hashlib
import os

from stdc.errors import StdcError

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stdc-monitor.c")

# -static: no ld.so or shared libc to map and relocate. With 50 containers running, PSS per monitor
# is ~64 kB static vs ~112 kB dynamic; a lone static monitor costs more (~700 vs ~195 kB), as no
# other process shares its text, but that is still below one conmon.
CFLAGS: tuple[str, ...] = ("-O2", "-s", "-Wall", "-Wextra", "-static")

_NO_COMPILER = "building the container monitor needs a C compiler (apt-get install gcc libc6-dev)"


def _digest() -> str:
    """The first 16 hex digits of sha256 over the source and the build flags."""
    with open(SOURCE, "rb") as f:
        source = f.read()
    return hashlib.sha256(source + b"\0" + " ".join(CFLAGS).encode()).hexdigest()[:16]


def monitor_path(cache_dir: str) -> str:
    """The path of a monitor built from the current source, compiling it into ``cache_dir`` if needed.

    Concurrent callers are safe: each compiles to a temporary name of its own, then renames it
    over the final name atomically, so a monitor path that exists is always a complete binary.
    """
    target = os.path.join(cache_dir, f"stdc-monitor-{_digest()}")
    if os.access(target, os.X_OK):
        return target
    # only a first run builds; every other run must not pay for importing these
    import shlex
    import subprocess
    import tempfile

    os.makedirs(cache_dir, exist_ok=True)
    compiler = shlex.split(os.environ.get("CC") or "cc")
    fd, tmp = tempfile.mkstemp(prefix=".stdc-monitor-", suffix=".tmp", dir=cache_dir)
    os.close(fd)
    try:
        try:
            result = subprocess.run(
                [*compiler, *CFLAGS, "-o", tmp, SOURCE],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except (FileNotFoundError, PermissionError):
            raise StdcError(_NO_COMPILER) from None
        if result.returncode != 0:
            raise StdcError(_failure(result.stderr, result.returncode))
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _failure(stderr: str, returncode: int) -> str:
    """One line about a failed compile: the compiler's first error, and the usual cure."""
    lines = [line for line in stderr.splitlines() if "error" in line] or stderr.splitlines()
    lines = lines or [f"the compiler exited with status {returncode} and said nothing"]
    first = lines[0].strip()
    if "No such file" in first or "cannot find" in first:  # headers or libc.a missing
        return f"{_NO_COMPILER}: {first}"
    return f"building the container monitor failed: {first}"
