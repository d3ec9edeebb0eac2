"""The storage conformance kit (stdc.testing.storage_suite) for every storage driver this repo ships
and the example a third party would write, plus the aufs driver's branch format on plain strings
and directories: what can be checked of aufs on a kernel without it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from stdc.testing.storage_suite import *  # noqa: F403 - the kit: its tests, fixtures and parametrization

#: the kit runs, unchanged, against each; aufs' mounted parts are reported NOT RUN without aufs
STORAGES = ["overlay", "vfs", "aufs"]

STDC = os.path.join(os.path.dirname(sys.executable), "stdc")
PAGE = os.sysconf("SC_PAGE_SIZE")


def _no_aufs() -> bool:
    with open("/proc/filesystems") as f:
        return "aufs" not in f.read().split()


def test_aufs_options_string() -> None:
    from stdc_storage_aufs.branches import branch_mounts

    (m,) = branch_mounts("/s/rw", ["/l/2", "/l/1"], dirperm1=True)
    assert (m.type, m.source) == ("aufs", "none")
    assert m.options == ["br:/s/rw=rw:/l/2=ro+wh:/l/1=ro+wh", "dio", "xino=/dev/shm/aufs.xino", "dirperm1"]
    (m,) = branch_mounts("/s/rw", [], dirperm1=False)
    assert m.options == ["br:/s/rw=rw", "dio", "xino=/dev/shm/aufs.xino"]


def test_aufs_append_split_keeps_order_within_a_page() -> None:
    from stdc.kit.mounts import split_options
    from stdc.kit.syscalls import MS_REMOUNT
    from stdc_storage_aufs.branches import branch_mounts

    ro = [f"/var/lib/stdc/storage/aufs/layers/{i:064x}/diff" for i in range(300)]
    mounts = branch_mounts("/var/lib/stdc/storage/aufs/snapshots/" + "c" * 64 + "/rw", ro, dirperm1=True)
    assert len(mounts) > 3
    stack = []
    for i, m in enumerate(mounts):
        flags, data = split_options(m.options)
        assert len(data) < PAGE, f"mount {i}: {len(data)} bytes of options"
        assert bool(flags & MS_REMOUNT) == (i > 0)
        if i == 0:
            assert data.endswith(",dio,xino=/dev/shm/aufs.xino,dirperm1")
            stack += [b.rsplit("=", 1)[0] for b in data.split(",")[0][3:].split(":")[1:]]
        else:
            assert all(o.startswith("append:") and o.endswith("=ro+wh") for o in data.split(","))
            stack += [o[len("append:") : -len("=ro+wh")] for o in data.split(",")]
    assert stack == ro  # every layer once, topmost first
    # mounts filled up to the page, not one branch per call
    assert len(mounts) <= 1 + len(",".join(f"append:{d}=ro+wh" for d in ro)) // (PAGE - 200)


def test_aufs_refuses_paths_it_cannot_name() -> None:
    from stdc.errors import StdcError
    from stdc_storage_aufs.branches import branch_mounts, check_path

    with pytest.raises(StdcError, match="aufs branch options cannot"):
        branch_mounts("/a:b/rw", [], dirperm1=False)
    with pytest.raises(StdcError, match="too long"):
        branch_mounts("/rw", ["/" + "x" * PAGE], dirperm1=False)
    assert "','" in check_path("/var/lib/st,dc/storage/aufs") and check_path("/var/lib/stdc/storage/aufs") is None


def test_aufs_branch_count_limit(tmp_path) -> None:
    from stdc.errors import StdcError
    from stdc_storage_aufs.branches import branch_max, check_depth

    config = tmp_path / "config"
    config.write_text("CONFIG_AUFS_FS=y\nCONFIG_AUFS_BRANCH_MAX_511=y\nCONFIG_AUFS_SBILIST=y\n")
    assert branch_max(str(config)) == 511
    assert branch_max(str(tmp_path / "absent")) == 127  # aufs' default build
    check_depth(126, 127)
    with pytest.raises(StdcError, match="needs 128 branches; this aufs stacks at most 127"):
        check_depth(127, 127)


def test_aufs_unusable_fails_in_one_line_touching_nothing(stdc, root) -> None:
    if not _no_aufs():
        pytest.skip("NOT RUN (this kernel has aufs: the refusal cannot be seen)")
    row = next(line for line in stdc("plugins").stdout.splitlines() if line.split()[:2] == ["storage", "aufs"])
    assert row.split(None, 5)[2:] == ["stdc-storage-aufs", "0.1.0", ">=1.0,<2", "not usable (kernel has no aufs)"]
    before = sorted(os.listdir(root))
    r = stdc("--storage", "aufs", "run", "--rm", "base", "true", check=False)
    assert r.returncode == 125 and r.stderr == "stdc: aufs: not usable (kernel has no aufs)\n"
    assert sorted(os.listdir(root)) == before and not os.path.exists(os.path.join(root, "storage", "aufs"))


def test_kit_runs_by_name_and_reports_not_run(tmp_path) -> None:
    """The kit as a third party runs it: by name, with the not-run count at the end."""
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "stdc.testing.storage_suite", "--pyargs", "stdc.testing.storage_suite",
         "--stdc-storage", "aufs", "-p", "no:cacheprovider", "-q", "-k", "cleanup or view_applies",
         "--rootdir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed" in r.stdout and "1 skipped" in r.stdout
    if _no_aufs():
        assert "stdc storage kit: 1 test(s) NOT RUN (not passed)" in r.stdout
        assert "NOT RUN (aufs not usable here: kernel has no aufs)" in r.stdout
