"""`stdc volume` and the -v/--tmpfs/--read-only flags as the CLI sees them: naming, listing,
removal rules, bad input, inspect. What executors do with the mounts is in the executor suite
(stdc.testing.executor_suite: test_volume_*, test_read_only_*, test_symlinked_*)."""

from __future__ import annotations

import json
import os

import pytest


def _volumes(stdc) -> list[str]:
    return stdc("volume", "ls", "-q").stdout.split()


def _containers(stdc) -> list[str]:
    return stdc("ps", "-aq").stdout.split()


def test_volume_create_ls_inspect_rm(stdc, root):
    assert stdc("volume", "create", "data1").stdout == "data1\n"
    assert stdc("volume", "create", "data1").stdout == "data1\n"  # docker: creating it again is fine
    assert "data1" in _volumes(stdc)
    table = stdc("volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"] and ["local", "data1"] in [r.split() for r in table]
    info = json.loads(stdc("volume", "inspect", "data1").stdout)[0]
    assert info["Name"] == "data1" and info["Driver"] == "local"
    assert info["Mountpoint"] == os.path.join(root, "volumes", "data1", "_data")
    assert os.path.isdir(info["Mountpoint"])
    assert stdc("volume", "rm", "data1").stdout == "data1\n"
    assert "data1" not in _volumes(stdc)
    assert not os.path.exists(os.path.join(root, "volumes", "data1"))


def test_volume_rm_missing(stdc):
    r = stdc("volume", "rm", "nosuchvolume", check=False)
    assert r.returncode == 125 and r.stderr == "stdc: no such volume: nosuchvolume\n"
    assert stdc("volume", "rm", "-f", "nosuchvolume").stdout == ""  # docker: -f ignores missing ones
    r = stdc("volume", "inspect", "nosuchvolume", check=False)
    assert r.returncode == 125 and len(r.stderr.splitlines()) == 1


def test_run_creates_a_missing_named_volume_and_rm_refuses_while_used(stdc):
    """docker: -v NAME:PATH creates NAME; volume rm refuses while any container (even an
    exited one) uses it, and works once the container is gone."""
    stdc("run", "--name", "writer", "-v", "made-on-run:/data", "base", "sh", "-c", "echo kept > /data/f")
    assert "made-on-run" in _volumes(stdc)
    r = stdc("volume", "rm", "made-on-run", check=False)
    assert r.returncode == 125 and "in use" in r.stderr and "writer" in r.stderr and len(r.stderr.splitlines()) == 1
    r = stdc("volume", "rm", "-f", "made-on-run", check=False)
    assert r.returncode == 125 and "in use" in r.stderr  # -f does not override that, as in docker
    stdc("rm", "writer")
    assert stdc("run", "--rm", "-v", "made-on-run:/d", "base", "cat", "/d/f").stdout == "kept\n"
    stdc("volume", "rm", "made-on-run")


def test_inspect_shows_mounts(stdc, tmp_path):
    host = tmp_path / "host"
    host.mkdir()
    cid = stdc("create", "-v", f"{host}:/h:ro", "-v", "insp:/v", "--tmpfs", "/t:size=1m", "--read-only",
               "base", "true").stdout.strip()  # fmt: skip
    try:
        info = json.loads(stdc("inspect", cid).stdout)[0]
        rows = {m["Destination"]: m for m in info["Mounts"]}
        assert rows["/h"]["Type"] == "bind" and rows["/h"]["Source"] == str(host) and rows["/h"]["RW"] is False
        assert rows["/v"]["Type"] == "volume" and rows["/v"]["Name"] == "insp" and rows["/v"]["RW"] is True
        assert rows["/t"]["Type"] == "tmpfs"
        with open(os.path.join(os.path.dirname(info["LogPath"]), "config.json")) as f:  # in the bundle
            spec = json.load(f)
        assert spec["root"]["readonly"] is True
        mounts = {m["destination"]: m for m in spec["mounts"]}
        assert mounts["/h"]["type"] == "bind" and "ro" in mounts["/h"]["options"]
        assert mounts["/t"]["type"] == "tmpfs" and "size=1m" in mounts["/t"]["options"]
    finally:
        stdc("rm", cid)
        stdc("volume", "rm", "insp")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-v", "bad1:relative/path"], "must be absolute"),
        (["-v", "bad2:/"], "may not be /"),
        (["-v", "bad3:/x:rx"], "unknown mode 'rx'"),
        (["-v", "bad4:/x:ro:extra"], "expected SOURCE:CONTAINER-PATH"),
        (["-v", "/no/such/host/dir:/x"], "does not exist"),
        (["-v", "./relative:/x"], "neither an absolute host path nor a volume name"),
        (["-v", "bad5:/x", "-v", "bad6:/x"], "duplicate mount point"),
        (["--tmpfs", "relative"], "must be absolute"),
        (["--tmpfs", "/t:size=1m,bogus"], "unknown tmpfs option 'bogus'"),
    ],
)
def test_bad_volume_input_is_one_line_and_changes_nothing(stdc, args, message):
    """A missing host path is refused (as podman and docker's --mount do; docker's -v would
    create it), never created."""
    before = (_containers(stdc), _volumes(stdc))
    for command in ("run", "create"):
        r = stdc(command, *args, "base", "true", check=False)
        assert r.returncode == 125
        assert r.stderr.startswith("stdc: ") and len(r.stderr.splitlines()) == 1, r.stderr
        assert message in r.stderr
    assert (_containers(stdc), _volumes(stdc)) == before
    assert not os.path.exists("/no/such/host/dir")


def test_bad_volume_name(stdc):
    for name in ("_bad", "a/b", "../up", "x"):
        r = stdc("volume", "create", name, check=False)
        assert r.returncode == 125 and r.stderr.startswith(f"stdc: invalid volume name '{name}'"), r.stderr
        assert len(r.stderr.splitlines()) == 1
    assert not {"_bad", "a", "up", "x"} & set(_volumes(stdc))


def test_new_named_volume_gets_the_image_content(stdc, root):
    """docker: a new, empty named volume is filled with what the image has at its mount point
    (once: a volume that exists keeps its own content); a symlink or a file there is not copied."""
    r = stdc("run", "--rm", "-v", "copied:/etc", "base", "sh", "-c", "cat /etc/passwd; rm /etc/group")
    assert r.stdout.startswith("root:")
    data = os.path.join(root, "volumes", "copied", "_data")
    assert "passwd" in os.listdir(data) and "group" not in os.listdir(data)
    assert "group" not in stdc("run", "--rm", "-v", "copied:/etc", "base", "ls", "/etc").stdout.split()
    stdc("volume", "rm", "copied")
    stdc("run", "--rm", "-v", "fresh:/no/such/dir", "base", "true")
    assert os.listdir(os.path.join(root, "volumes", "fresh", "_data")) == []
    stdc("volume", "rm", "fresh")


def test_volume_labels_are_kept_shown_and_filtered(stdc):
    stdc("volume", "create", "--label", "tier=db", "--label", "keep", "labelled1")
    stdc("volume", "create", "plain1")
    try:
        info = json.loads(stdc("volume", "inspect", "labelled1").stdout)[0]
        assert info["Labels"] == {"tier": "db", "keep": ""}
        assert json.loads(stdc("volume", "inspect", "plain1").stdout)[0]["Labels"] == {}
        for wanted in ("tier", "tier=db", "keep"):
            assert stdc("volume", "ls", "-q", "--filter", f"label={wanted}").stdout.split() == ["labelled1"], wanted
        assert stdc("volume", "ls", "-q", "-f", "label=tier=web").stdout == ""
        assert stdc("volume", "ls", "-q", "-f", "label=tier", "-f", "label=nope").stdout == ""  # every label must match
        assert "plain1" in stdc("volume", "ls", "-q", "-f", "name=plain").stdout.split()
        assert stdc("volume", "ls", "-f", "label=tier", "--format", '{{.Name}} {{.Label "tier"}}').stdout == (
            "labelled1 db\n"
        )
        r = stdc("volume", "ls", "-f", "colour=red", check=False)
        assert (r.returncode, r.stderr) == (125, "stdc: invalid filter 'colour'\n")
    finally:
        stdc("volume", "rm", "labelled1", "plain1")
