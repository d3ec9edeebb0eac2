"""--mount, --volumes-from, anonymous volumes and recursive read-only binds (issue 17 §2), with
both executors, through the CLI."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile

import pytest

EXECUTORS = ["native", "lxc"]


def _volumes(stdc):
    return set(stdc("volume", "ls", "-q").stdout.split())


@pytest.fixture
def tree_with_submount():
    """A host directory with a tmpfs mounted below it (removed afterwards)."""
    top = tempfile.mkdtemp(prefix="stdc-rro-", dir="/var/tmp")
    sub = os.path.join(top, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", sub], check=True)
    try:
        yield top
    finally:
        subprocess.run(["umount", sub], check=False)
        with contextlib.suppress(OSError):
            os.rmdir(sub)
            os.rmdir(top)


@pytest.mark.parametrize("executor", EXECUTORS)
def test_ro_bind_is_read_only_all_the_way_down(stdc, executor, tree_with_submount):
    src = tree_with_submount
    for flags in (["-v", f"{src}:/src:ro"], ["--mount", f"type=bind,src={src},dst=/src,readonly"]):
        r = stdc("--exec", executor, "run", "--rm", "--network", "none", *flags, "base", "sh", "-c",
                 "touch /src/sub/x", check=False)  # fmt: skip
        assert r.returncode == 1 and "Read-only file system" in r.stderr, r
    # docker's bind-recursive=writable: only the top is read-only
    stdc("--exec", executor, "run", "--rm", "--network", "none", "--mount",
         f"type=bind,src={src},dst=/src,readonly,bind-recursive=writable", "base", "touch", "/src/sub/x")  # fmt: skip
    # bind-recursive=disabled: a plain bind, the submount is not there
    r = stdc("--exec", executor, "run", "--rm", "--network", "none", "--mount",
             f"type=bind,src={src},dst=/src,bind-recursive=disabled", "base", "ls", "/src/sub")  # fmt: skip
    assert r.stdout == ""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_mount_volume_tmpfs_and_volumes_from(stdc, executor):
    before = _volumes(stdc)
    cid = stdc(
        "--exec", executor, "run", "-d", "--network", "none", "-v", "/data",
        "--mount", "type=volume,dst=/d2", "--mount", "type=volume,source=kvol,target=/d3",
        "--mount", "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=700",
        "base", "sh", "-c", "echo hi > /data/f; sleep 100",
    ).stdout.strip()  # fmt: skip
    try:
        made = _volumes(stdc) - before
        assert "kvol" in made and len(made) == 3
        anonymous = made - {"kvol"}
        for name in anonymous:
            assert "com.docker.volume.anonymous" in json.loads(stdc("volume", "inspect", name).stdout)[0]["Labels"]
        assert stdc("exec", cid, "sh", "-c", "df -k /t | tail -1").stdout.split()[1] == "1024"
        out = stdc("exec", cid, "sh", "-c", "stat -c %a /t").stdout.strip()
        assert out == "700"
        r = stdc("--exec", executor, "run", "--rm", "--network", "none", "--volumes-from", f"{cid}:ro", "base",
                 "sh", "-c", "cat /data/f; touch /d3/x", check=False)  # fmt: skip
        assert r.stdout == "hi\n" and "Read-only file system" in r.stderr
    finally:
        stdc("rm", "-fv", cid)
    assert _volumes(stdc) - before == {"kvol"}  # rm -v: the anonymous ones only
    stdc("volume", "rm", "kvol")


def test_image_volume_is_anonymous_and_rm_removes_it(stdc):
    before = _volumes(stdc)
    cid = stdc("create", "--network", "none", "base", "true").stdout.strip()
    try:
        stdc("commit", "-c", "VOLUME /vol", cid, "withvol:test")
    finally:
        stdc("rm", cid)
    try:
        stdc("run", "--rm", "--network", "none", "withvol:test", "sh", "-c", "grep -q ' /vol ' /proc/self/mountinfo")
        assert _volumes(stdc) == before  # --rm took the anonymous volume with it
        cid = stdc("create", "--network", "none", "-v", "named2:/vol", "withvol:test", "true").stdout.strip()
        assert _volumes(stdc) - before == {"named2"}  # the image's VOLUME is mounted over: no anonymous one
        stdc("rm", "-v", cid)
        assert _volumes(stdc) - before == {"named2"}  # a named volume stays
        stdc("volume", "rm", "named2")
    finally:
        stdc("rmi", "withvol:test")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--mount", "type=bind,dst=/x"], "source is required for a bind mount"),
        (["--mount", "type=bind,src=/nonexistent-stdc,dst=/x"], "bind source path does not exist"),
        (["--mount", "type=volume,src=v"], "target is required"),
        (["--mount", "type=volume,dst=/x,bind-propagation=shared"], "cannot mix 'bind-propagation'"),
        (["--mount", "type=volume,dst=/x,volume-opt=o=size=1m"], "volume-opt is not supported"),
        (["--mount", "type=nfs,dst=/x"], "type 'nfs' is not supported"),
        (["--mount", "type=bind,src=/tmp,dst=/x,bind-recursive=sometimes"], "invalid bind-recursive"),
        (["--mount", "type=bind,src=/tmp,dst=/x,bind-recursive=readonly"], "requires 'readonly'"),
        (["--mount", "type=tmpfs,dst=/x,tmpfs-mode=99"], "is not an octal mode"),
        (["--mount", "type=tmpfs,dst=/x,bogus=1"], "unexpected key 'bogus'"),
        (["--mount", "type=tmpfs,dst=/x,foo"], "must be a key=value pair"),
        (["--mount", "type=volume,dst=/"], "may not be /"),
        (["--volumes-from", "nosuchcontainer"], "nosuchcontainer"),
        (["-v", "/a", "--mount", "type=tmpfs,dst=/a"], "duplicate mount point: /a"),
    ],
)
def test_bad_mounts_refused_and_nothing_created(stdc, flags, message):
    before = _volumes(stdc)
    r = stdc("run", *flags, "base", "true", check=False)
    assert r.returncode == 125, r
    assert len(r.stderr.splitlines()) == 1 and message in r.stderr, r.stderr
    assert stdc("ps", "-aq").stdout == "" and _volumes(stdc) == before
