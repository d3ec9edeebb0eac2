"""Capabilities: the OCI ``process.capabilities`` sets as bit masks, the bounding set, capset(2)
and the ambient set."""

from __future__ import annotations

import ctypes

from stdc.errors import StdcError
from stdc.kit import syscalls
from stdc.kit.capabilities import NAMES

NUMBERS = {name: number for number, name in enumerate(NAMES)}
CAP_SYS_ADMIN = NUMBERS["CAP_SYS_ADMIN"]

PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
PR_CAP_AMBIENT_CLEAR_ALL = 4

_SYS_capset = 126  # x86_64
_VERSION_3 = 0x20080522

_last_cap: int | None = None


def last_cap() -> int:
    """The highest capability number this kernel knows."""
    global _last_cap
    if _last_cap is None:
        try:
            with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
                _last_cap = int(f.read())
        except OSError:
            _last_cap = len(NAMES) - 1
    return _last_cap


def mask(names: list[str], which: str) -> int:
    """The bit mask of capability ``names`` (``CAP_X`` or ``X``); unknown names are an error."""
    bits = 0
    for name in names:
        key = name.upper() if name.upper().startswith("CAP_") else "CAP_" + name.upper()
        if key not in NUMBERS:
            raise StdcError(f"unknown capability {name!r} in process.capabilities.{which}")
        bits |= 1 << NUMBERS[key]
    return bits


def effective_of_self() -> int:
    """This process's effective set (``CapEff`` of /proc/self/status)."""
    with open("/proc/self/status", "rb") as f:
        for line in f:
            if line.startswith(b"CapEff:"):
                return int(line.split()[1], 16)
    return 0


class CapabilitySets:
    """The five sets of ``process.capabilities`` as bit masks, checked when built."""

    __slots__ = ("bounding", "effective", "permitted", "inheritable", "ambient")

    def __init__(self, spec: dict | None) -> None:
        spec = spec or {}
        self.bounding = mask(spec.get("bounding") or [], "bounding")
        self.effective = mask(spec.get("effective") or [], "effective")
        self.permitted = mask(spec.get("permitted") or [], "permitted")
        self.inheritable = mask(spec.get("inheritable") or [], "inheritable")
        self.ambient = mask(spec.get("ambient") or [], "ambient")


def drop_bounding(keep: int) -> None:
    """Drop every capability not in ``keep`` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap() + 1):
        if not keep >> cap & 1:
            syscalls.prctl(PR_CAPBSET_DROP, cap)


# built once: making a ctypes array type costs ~0.1 ms
_Header = ctypes.c_uint32 * 2
_Data = ctypes.c_uint32 * 6


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) on this thread with the version 3 (64-bit) header."""
    header = _Header(_VERSION_3, 0)
    low, high = 0xFFFFFFFF, 32
    data = _Data(
        effective & low,
        permitted & low,
        inheritable & low,
        effective >> high & low,
        permitted >> high & low,
        inheritable >> high & low,
    )
    syscalls.syscall(_SYS_capset, ctypes.addressof(header), ctypes.addressof(data))


def set_keepcaps(on: bool) -> None:
    """PR_SET_KEEPCAPS: whether a switch away from uid 0 keeps the permitted set."""
    syscalls.prctl(PR_SET_KEEPCAPS, int(on))


def set_ambient(ambient: int) -> None:
    """Clear the ambient set, then raise the capabilities of ``ambient``."""
    syscalls.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    for cap in range(last_cap() + 1):
        if ambient >> cap & 1:
            syscalls.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap)
