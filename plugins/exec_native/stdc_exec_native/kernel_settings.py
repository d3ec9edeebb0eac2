"""The spec's ``linux.sysctl`` and ``process.oomScoreAdj``: checked in the parent, written by the
container's init once it is in the container's namespaces (the host's ``/proc/sys`` then shows
the container's network and IPC namespaces; ``oom_score_adj`` is inherited by the payload)."""

from __future__ import annotations

import os

from stdc.errors import StdcError


def check_sysctl(sysctl: dict) -> list[tuple[str, str]]:
    """``linux.sysctl`` as (``/proc/sys`` path, value) pairs; a key leading elsewhere is refused."""
    found = []
    for key, value in sysctl.items():
        parts = str(key).replace("/", ".").split(".")
        if not all(p and p not in (".", "..") for p in parts):
            raise StdcError(f"linux.sysctl: invalid key {key!r}")
        found.append(("/proc/sys/" + "/".join(parts), str(value)))
    return found


def _write(path: str, value: str, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)
    except OSError as e:
        raise StdcError(f"{what}: cannot write {value!r}: {e.strerror}") from None


def write(sysctl: list[tuple[str, str]], oom_score_adj: int | None) -> None:
    """In the init, in the container's namespaces: set the sysctls and the OOM score adjustment."""
    for path, value in sysctl:
        _write(path, value, "sysctl " + path[len("/proc/sys/") :].replace("/", "."))
    if oom_score_adj is not None:
        # lowering it needs CAP_SYS_RESOURCE, which a runtime in a container may lack: then the
        # value stays as inherited, as crun leaves it (containerd's CRI asks -998 for sandboxes)
        try:
            _write("/proc/self/oom_score_adj", str(int(oom_score_adj)), "oom_score_adj")
        except StdcError:
            if oom_score_adj >= _inherited_oom_score_adj():
                raise


def _inherited_oom_score_adj() -> int:
    """The adjustment this process inherited."""
    with open("/proc/self/oom_score_adj") as f:
        return int(f.read())
