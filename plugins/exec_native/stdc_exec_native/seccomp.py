"""The spec's ``linux.seccomp`` compiled to a BPF program by libseccomp, and loaded.

The binding is this module: a few ctypes calls into ``libseccomp.so.2`` (the library every
Debian has, the one liblxc and runc use). Debian's python3-seccomp serves only the system
Python, not a virtual environment, and PyPI's pyseccomp is the same ctypes idea as a dependency;
five functions do not justify either.

Compiling ~350 rules costs milliseconds on every start, so the program is compiled once per
profile: :func:`compile_filter` keeps the BPF that ``seccomp_export_bpf`` writes in a cache keyed
by the hash of the profile (and of libseccomp's file), and a start only reads it. The child
loads it with ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)``, libseccomp's own last step.
"""

from __future__ import annotations

import ctypes
import json
import os

from stdc.errors import StdcError
from stdc.kit import seccomprules, syscalls

try:  # SHA-256 without loading OpenSSL: `import hashlib` alone costs ~3 ms on every start
    from _sha256 import sha256  # Python 3.11's built-in implementation
except ImportError:  # pragma: no cover - other Pythons
    from hashlib import sha256

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_NR_SCMP_ERROR = -1

#: the cache, beside the bundles of the root's containers (so it goes with the root)
CACHE_NAME = ".seccomp-cache"


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_lib: ctypes.CDLL | None = None


def _libseccomp() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        except OSError:
            raise StdcError("seccomp: libseccomp.so.2 not found (apt-get install libseccomp2)") from None
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
        lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_arch_exist.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_rule_add_array.argtypes = [
            ctypes.c_void_p,
            ctypes.c_uint32,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.POINTER(_ArgCmp),
        ]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        _lib = lib
    return _lib


_SCMP_FLTATR_CTL_OPTIMIZE = 8  # enum scmp_filter_attr
#: how :func:`_build` makes a program: part of the cache key, so a change compiles anew
_BUILD = 2


def _action(name: str, errno_ret: int | None, where: str) -> int:
    return seccomprules.action(name, where).libseccomp | seccomprules.errno_of(name, errno_ret) & 0xFFFF


def _comparison_groups(cmps: list) -> list[list]:
    """The rules one OCI rule makes: all its comparisons in one rule (they all must hold), unless
    it compares one argument more than once — libseccomp refuses that, and runc reads it as
    alternatives: then one rule per comparison (docker's and runtime-tools' ``personality``)."""
    indexes = [c.arg for c in cmps]
    if len(set(indexes)) == len(indexes):
        return [cmps]
    return [[c] for c in cmps]


def _build(seccomp: dict) -> bytes:
    """The BPF program libseccomp makes of ``seccomp`` (the OCI form)."""
    lib = _libseccomp()
    default = _action(seccomp.get("defaultAction", ""), seccomp.get("defaultErrnoRet"), "defaultAction")
    ctx = lib.seccomp_init(default)
    if not ctx:
        raise StdcError("seccomp: seccomp_init failed")
    try:
        # a binary tree of syscall numbers instead of a list: at each filter load the kernel runs
        # the program for every syscall number (to cache the always-allowed ones), and a list of
        # ~350 rules makes that ~1.5 ms of every start; libseccomp < 2.5 lacks it and says so
        lib.seccomp_attr_set(ctx, _SCMP_FLTATR_CTL_OPTIMIZE, 2)
        for arch in seccomp.get("architectures") or []:
            token = lib.seccomp_arch_resolve_name(arch.removeprefix("SCMP_ARCH_").lower().encode())
            if not token:
                raise StdcError(f"seccomp: unknown architecture {arch!r}")
            if lib.seccomp_arch_exist(ctx, token) != 0:  # the native one is there already
                rc = lib.seccomp_arch_add(ctx, token)
                if rc < 0:
                    raise StdcError(f"seccomp: adding architecture {arch}: {os.strerror(-rc)}")
        for n, rule in enumerate(seccomp.get("syscalls") or []):
            where = f"syscalls[{n}]"
            action = _action(rule.get("action", ""), rule.get("errnoRet"), where)
            if action == default:
                continue  # libseccomp refuses a rule that does what the default does
            args = rule.get("args") or []
            parsed = []
            for arg in args:
                op = seccomprules.operator(arg.get("op"), where)
                parsed.append(_ArgCmp(int(arg["index"]), op, int(arg["value"]), int(arg.get("valueTwo", 0))))
            for name in rule.get("names") or []:
                number = lib.seccomp_syscall_resolve_name(name.encode())
                if number == _NR_SCMP_ERROR:
                    continue  # a name this libseccomp does not know: runc skips it too
                for group in _comparison_groups(parsed):
                    cmps = (_ArgCmp * max(len(group), 1))(*group)
                    rc = lib.seccomp_rule_add_array(ctx, action, number, len(group), cmps)
                    if rc < 0:
                        raise StdcError(f"seccomp: {where}: rule for {name}: {os.strerror(-rc)}")
        r, w = os.pipe()
        try:
            # a program is at most 4096 instructions of 8 bytes: it fits in the pipe's buffer
            rc = lib.seccomp_export_bpf(ctx, w)
            os.close(w)
            w = -1
            if rc < 0:
                raise StdcError(f"seccomp: exporting the filter: {os.strerror(-rc)}")
            program = b""
            while chunk := os.read(r, 65536):
                program += chunk
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        return program
    finally:
        lib.seccomp_release(ctx)


def _library_identity() -> list[int]:
    """Which libseccomp would compile (its file's inode, size and time), without loading it:
    dlopen alone costs milliseconds. An upgrade knows more syscall names, so it compiles anew."""
    machine = os.uname().machine
    for directory in (f"/usr/lib/{machine}-linux-gnu", f"/lib/{machine}-linux-gnu", "/usr/lib64", "/usr/lib"):
        try:
            st = os.stat(os.path.join(directory, "libseccomp.so.2"))
        except OSError:
            continue
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    return []


def compile_filter(seccomp: dict, bundle: str) -> bytes:
    """The BPF program of ``seccomp``, from the cache when it was compiled before.

    The cache is a directory beside ``bundle`` (root's alone), shared by the containers whose
    bundles are there; a program is found by the hash of the profile and of libseccomp's file.
    """
    identity = [_BUILD, _library_identity(), os.uname().machine, seccomp]
    key = sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    cache = os.path.join(os.path.dirname(os.path.abspath(bundle)), CACHE_NAME)
    path = os.path.join(cache, key + ".bpf")
    try:
        with open(path, "rb") as f:
            program = f.read()
        if program and len(program) % 8 == 0:
            return program
    except OSError:
        pass
    program = _build(seccomp)
    try:
        os.makedirs(cache, mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(program)
        os.rename(tmp, path)  # whole or not at all: a reader never sees half a program
    except OSError:
        pass  # no cache: the next start compiles again
    return program


def prepare(program: bytes) -> tuple[ctypes.Array, _SockFprog]:
    """The ``sock_fprog`` for :func:`load`, made in the parent: the child only makes the call."""
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    return buffer, prog


def load(prepared: tuple[ctypes.Array, _SockFprog]) -> None:
    """Install the filter on this thread (needs no_new_privs or CAP_SYS_ADMIN)."""
    syscalls.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prepared[1]))
