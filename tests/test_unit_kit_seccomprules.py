"""The seccomp vocabulary shared by the executors and the profile checks (stdc.kit.seccomprules),
and the root-path check (stdc.kit.rootpath.container_root): pure functions."""

from __future__ import annotations

import os

import pytest
from stdc.errors import StdcError
from stdc.kit import rootpath, seccomprules


def test_errno_action_carries_eperm_unless_told() -> None:
    assert seccomprules.action("SCMP_ACT_ERRNO", "defaultAction").libseccomp == 0x00050000
    assert seccomprules.errno_of("SCMP_ACT_ERRNO", None) == 1
    assert seccomprules.errno_of("SCMP_ACT_ERRNO", 38) == 38
    assert seccomprules.errno_of("SCMP_ACT_TRACE", None) == 0
    assert seccomprules.errno_of("SCMP_ACT_ALLOW", 38) == 0


def test_lxc_cannot_say_trace() -> None:
    assert seccomprules.action("SCMP_ACT_TRACE", "x").lxc is None
    assert seccomprules.action("SCMP_ACT_KILL_PROCESS", "x").lxc == "kill"


def test_unknown_names_refused_with_where() -> None:
    with pytest.raises(StdcError, match=r"syscalls\[2\]: unknown action 'SCMP_ACT_NOPE'"):
        seccomprules.action("SCMP_ACT_NOPE", "syscalls[2]")
    with pytest.raises(StdcError, match=r"syscalls\[0\]: unknown operator 'SCMP_CMP_XX'"):
        seccomprules.operator("SCMP_CMP_XX", "syscalls[0]")
    assert seccomprules.operator("SCMP_CMP_MASKED_EQ", "x") == 7


def test_container_root(tmp_path: str) -> None:
    bundle = str(tmp_path)
    os.mkdir(os.path.join(bundle, "rootfs"))
    assert rootpath.container_root({"root": {"path": "rootfs"}}, bundle) == os.path.realpath(f"{bundle}/rootfs")
    with pytest.raises(StdcError, match="no root.path"):
        rootpath.container_root({}, bundle)
    with pytest.raises(StdcError, match="host's /"):
        rootpath.container_root({"root": {"path": "/"}}, bundle)
    os.symlink("/", os.path.join(bundle, "sneaky"))
    with pytest.raises(StdcError, match="host's /"):
        rootpath.container_root({"root": {"path": "sneaky"}}, bundle)
