"""The C programs stdc ships as source (``stdc/libexec/*.c``): compiled on the host on first use,
with gcc -static, and cached; and where an executor finds the terminal init among them.

They are compiled on the host rather than shipped as binaries: each is one small C file, and a
build is cached under a name derived from the source and the flags, so an upgrade of stdc builds
a fresh program while containers started earlier keep running the old one.

The terminal init (``stdc-ttyinit.c``) is for an executor whose runtime starts the container's
init as a session leader without a controlling terminal (liblxc does): run as the init, with the
payload's argv after it, it makes its stdin, the container's terminal, its controlling terminal
and executes the payload, which so stays pid 1.
"""

from __future__ import annotations

import hashlib
import os

from stdc.errors import StdcError

#: where the sources are: stdc/libexec, beside the kit
_SOURCES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libexec")

# -static: no ld.so or shared libc to map and relocate. With 50 containers running, PSS per monitor
# is ~64 kB static vs ~112 kB dynamic; a lone static monitor costs more (~700 vs ~195 kB), as no
# other process shares its text, but that is still below one conmon.
CFLAGS: tuple[str, ...] = ("-O2", "-s", "-Wall", "-Wextra", "-static")

#: what each program is, as its build errors name it
PROGRAMS: dict[str, str] = {"stdc-monitor": "the container monitor", "stdc-ttyinit": "the terminal init"}


def _digest(source_path: str) -> str:
    """The first 16 hex digits of sha256 over the source and the build flags."""
    with open(source_path, "rb") as f:
        source = f.read()
    return hashlib.sha256(source + b"\0" + " ".join(CFLAGS).encode()).hexdigest()[:16]


def terminal_init(bundle: str) -> str:
    """The terminal init's path on the host, for the container whose bundle is ``bundle``: built
    into the stdc root's ``libexec`` directory, beside the container monitor."""
    # a bundle is ROOT/containers/ID
    root = os.path.dirname(os.path.dirname(os.path.abspath(bundle)))
    return program_path("stdc-ttyinit", os.path.join(root, "libexec"))


def program_path(name: str, cache_dir: str) -> str:
    """The path of program ``name`` (a key of :data:`PROGRAMS`) built from its current source,
    compiling it into ``cache_dir`` if needed.

    Concurrent callers are safe: each compiles to a temporary name of its own, then renames it
    over the final name atomically, so a program path that exists is always a complete binary.
    """
    source = os.path.join(_SOURCES, f"{name}.c")
    target = os.path.join(cache_dir, f"{name}-{_digest(source)}")
    if os.access(target, os.X_OK):
        return target
    # only a first run builds; every other run must not pay for importing these
    import shlex
    import subprocess
    import tempfile

    os.makedirs(cache_dir, exist_ok=True)
    compiler = shlex.split(os.environ.get("CC") or "cc")
    fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".tmp", dir=cache_dir)
    os.close(fd)
    try:
        try:
            result = subprocess.run(
                [*compiler, *CFLAGS, "-o", tmp, source],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except (FileNotFoundError, PermissionError):
            raise StdcError(_no_compiler(name)) from None
        if result.returncode != 0:
            raise StdcError(_failure(name, result.stderr, result.returncode))
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def _no_compiler(name: str) -> str:
    return f"building {PROGRAMS[name]} needs a C compiler (apt-get install gcc libc6-dev)"


def _failure(name: str, stderr: str, returncode: int) -> str:
    """One line about a failed compile: the compiler's first error, and the usual cure."""
    lines = [line for line in stderr.splitlines() if "error" in line] or stderr.splitlines()
    lines = lines or [f"the compiler exited with status {returncode} and said nothing"]
    first = lines[0].strip()
    if "No such file" in first or "cannot find" in first:  # headers or libc.a missing
        return f"{_no_compiler(name)}: {first}"
    return f"building {PROGRAMS[name]} failed: {first}"
