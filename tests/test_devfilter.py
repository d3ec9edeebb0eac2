"""The native executor's cgroup v2 device control (an eBPF program, stdc_exec_native.devfilter),
run on the kernel: attached to a cgroup of the unified hierarchy (this host's hybrid one at
/sys/fs/cgroup/unified, or /sys/fs/cgroup on a v2-only host), with a shell moved into it."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
from conftest import CGROUP_ROOT, cgroup_parent
from stdc.kit import devices
from stdc_exec_native import devfilter


def _unified() -> str:
    for path in (CGROUP_ROOT, os.path.join(CGROUP_ROOT, "unified")):
        if os.path.exists(os.path.join(path, "cgroup.controllers")):
            return path
    pytest.fail("no cgroup v2 (unified) hierarchy mounted: the eBPF device filter cannot be tried here")


@pytest.fixture
def cgroup(root):
    """A v2 cgroup under this session's stdc parent; removed afterwards."""
    path = os.path.join(_unified(), cgroup_parent(root), f"devfilter-{uuid.uuid4().hex[:12]}")
    os.makedirs(path)
    yield path
    os.rmdir(path)


def _try(cgroup: str, rules: list[dict] | None, script: str) -> subprocess.CompletedProcess:
    devfilter.attach(cgroup, devices.cgroup_rules(None if rules is None else {"devices": rules}))
    return subprocess.run(["sh", "-c", f"echo $$ > {cgroup}/cgroup.procs; {script}"], capture_output=True, text=True)


def _opens(*paths: str, mode: str = "<") -> str:
    return "; ".join(f"if true {mode} {p}; then echo {p}:ok; else echo {p}:refused; fi" for p in paths)


def test_default_rules(cgroup):
    """runc's default list (docker's): null, zero, urandom usable; loop-control, a loop device and
    kmsg refused with EPERM, as the v1 devices controller does."""
    r = _try(cgroup, None, _opens("/dev/null", "/dev/zero", "/dev/urandom", "/dev/loop-control", "/dev/loop0",
                                  "/dev/kmsg") + "; echo x > /dev/null && echo write:ok")  # fmt: skip
    assert r.stdout.split() == ["/dev/null:ok", "/dev/zero:ok", "/dev/urandom:ok", "/dev/loop-control:refused",
                                "/dev/loop0:refused", "/dev/kmsg:refused", "write:ok"], r  # fmt: skip
    assert r.stderr.count("Operation not permitted") == 3


def test_one_device_read_only(cgroup):
    """A grant of ``c 10:237 r`` after "deny all" (``--device /dev/loop-control:…:r``): it opens for
    reading, not for reading and writing; /dev/null, not granted, is refused."""
    rules = [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 10, "minor": 237, "access": "r"}]
    r = _try(cgroup, rules, _opens("/dev/loop-control") + "; " + _opens("/dev/loop-control", "/dev/null", mode="<>"))
    assert r.stdout.split() == ["/dev/loop-control:ok", "/dev/loop-control:refused", "/dev/null:refused"], r


def test_later_rule_wins_and_allow_all(cgroup):
    """Rules apply in order (the later wins, as written to v1's files): allow all, then deny
    c 1:3 — /dev/null is refused and everything else opens (docker --privileged, minus one)."""
    rules = [{"allow": True, "access": "rwm"}, {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    r = _try(cgroup, rules, _opens("/dev/null", "/dev/zero", "/dev/loop-control"))
    assert r.stdout.split() == ["/dev/null:refused", "/dev/zero:ok", "/dev/loop-control:ok"], r
