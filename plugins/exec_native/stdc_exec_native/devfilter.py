"""cgroup v2 device control: the device rules as an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE),
loaded and attached to the container's cgroup with the bpf() system call, through ctypes.

The program is runc's (libcontainer/cgroups/devices/devicefilter.go), instruction for
instruction in spirit: the rules are checked from the last to the first and the first that
matches decides, which is "the later rule wins" as the v1 files apply them; a type ``a``
wildcard rule decides everything before it; nothing matching is denied. The kernel hands the
program ``struct bpf_cgroup_dev_ctx {u32 access_type; u32 major; u32 minor;}`` where
``access_type`` is ``access << 16 | type``.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

from stdc.errors import StdcError
from stdc.kit import syscalls
from stdc.kit.devices import Rule

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "ppc64le": 361, "s390x": 351, "riscv64": 280}

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2

_DEV_BLOCK, _DEV_CHAR = 1, 2
_ACCESS = {"m": 1, "r": 2, "w": 4}

# opcodes
_LDX_W = 0x61  # dst = *(u32 *)(src + off)
_AND32_K = 0x54
_RSH32_K = 0x74
_MOV32_X = 0xBC
_MOV64_K = 0xB7
_JNE_K = 0x55
_JNE_X = 0x5D
_EXIT = 0x95


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def _block(rule: Rule) -> list[tuple[int, int, int, int]]:
    """The checks of one rule (each jumps past the block when it fails), then its verdict."""
    checks: list[tuple[int, int, int, int]] = []  # (code, dst, src, imm); the jump offset is filled later
    if rule.type != "a":
        checks.append((_JNE_K, 2, 0, _DEV_BLOCK if rule.type == "b" else _DEV_CHAR))
    mask = sum(_ACCESS[c] for c in rule.access)
    if mask != 7:
        # the access asked for must lie within the rule's: (r3 & mask) == r3
        checks += [(_MOV32_X, 1, 3, 0), (_AND32_K, 1, 0, mask), (_JNE_X, 1, 3, 0)]
    if rule.major is not None:
        checks.append((_JNE_K, 4, 0, rule.major))
    if rule.minor is not None:
        checks.append((_JNE_K, 5, 0, rule.minor))
    return checks


def program(rules: list[Rule]) -> bytes:
    """The eBPF instructions for ``rules`` (in the spec's order)."""
    out = [
        _insn(_LDX_W, 2, 1, 0),  # r2 = access_type
        _insn(_AND32_K, 2, imm=0xFFFF),  # r2 = device type
        _insn(_LDX_W, 3, 1, 0),
        _insn(_RSH32_K, 3, imm=16),  # r3 = access asked for
        _insn(_LDX_W, 4, 1, 4),  # r4 = major
        _insn(_LDX_W, 5, 1, 8),  # r5 = minor
    ]
    for rule in reversed(rules):
        checks = _block(rule)
        verdict = [_insn(_MOV64_K, 0, imm=int(rule.allow)), _insn(_EXIT)]
        for i, (code, dst, src, imm) in enumerate(checks):
            skip = len(checks) - i - 1 + len(verdict)  # to the first instruction after the block
            jumps = code in (_JNE_K, _JNE_X)
            out.append(_insn(code, dst, src, skip if jumps else 0, imm))
        out += verdict
        if not checks:
            break  # a rule that matches everything: the ones before it never decide
    else:
        out += [_insn(_MOV64_K, 0, imm=0), _insn(_EXIT)]
    return b"".join(out)


class _LoadAttr(ctypes.Structure):
    _fields_ = [
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * 16),
        ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
    ]


class _AttachAttr(ctypes.Structure):
    _fields_ = [
        ("target_fd", ctypes.c_uint32),
        ("attach_bpf_fd", ctypes.c_uint32),
        ("attach_type", ctypes.c_uint32),
        ("attach_flags", ctypes.c_uint32),
        ("replace_bpf_fd", ctypes.c_uint32),
    ]


def _bpf(command: int, attr: ctypes.Structure) -> int:
    number = _SYS_BPF.get(platform.machine())
    if number is None:
        raise StdcError(f"cgroup v2 device control: no bpf() system call number known for {platform.machine()}")
    return syscalls.syscall(number, command, ctypes.addressof(attr), ctypes.sizeof(attr))


def load(rules: list[Rule]) -> int:
    """Load the program for ``rules``; return its file descriptor."""
    code = program(rules)
    insns = ctypes.create_string_buffer(code, len(code))
    license = ctypes.c_char_p(b"Apache-2.0")
    log = ctypes.create_string_buffer(65536)
    attr = _LoadAttr(
        prog_type=BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt=len(code) // 8,
        insns=ctypes.addressof(insns),
        license=ctypes.cast(license, ctypes.c_void_p).value or 0,
        log_level=1,
        log_size=len(log),
        log_buf=ctypes.addressof(log),
        prog_name=b"stdc_devices",
        expected_attach_type=BPF_CGROUP_DEVICE,
    )
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except OSError as e:
        detail = log.value.decode(errors="replace").strip().splitlines()
        raise StdcError(f"cgroup v2 device control: loading the eBPF program: {e.strerror}"
                        + (f" ({detail[-1]})" if detail else "")) from None  # fmt: skip


def attach(directory: str, rules: list[Rule]) -> None:
    """Attach the program for ``rules`` to the v2 cgroup ``directory`` (before any process
    joins it); the cgroup keeps the program for its life."""
    prog = load(rules)
    try:
        cgroup = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            attr = _AttachAttr(target_fd=cgroup, attach_bpf_fd=prog, attach_type=BPF_CGROUP_DEVICE,
                               attach_flags=BPF_F_ALLOW_MULTI)  # fmt: skip
            _bpf(BPF_PROG_ATTACH, attr)
        except OSError as e:
            raise StdcError(f"cgroup v2 device control: attaching to {directory}: {e.strerror}") from None
        finally:
            os.close(cgroup)
    finally:
        os.close(prog)
