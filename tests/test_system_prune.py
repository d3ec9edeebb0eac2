"""`stdc container/image/volume/system prune` and `system df` through the CLI, each in a private
root of its own (a prune takes everything unused in its root: the session's root is shared):
each prune removes exactly what docker's would and keeps what it must; df's figures agree with
`images` and `ps`."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator

import pytest
from conftest import run


@pytest.fixture
def own(stdc) -> Iterator[object]:
    """Run ``stdc --root PRIVATE ARGS``; the private root goes at the end, with all it held."""
    path = tempfile.mkdtemp(prefix="stdc-prune-", dir="/var/tmp")

    def in_root(*args: str, **kw: object):
        return run("--root", path, *args, **kw)

    in_root.root = path  # type: ignore[attr-defined]
    try:
        yield in_root
    finally:
        leftovers = in_root("ps", "-aq", "--no-trunc", check=False).stdout.split()
        if leftovers:
            in_root("rm", "-f", *leftovers, check=False)
        with open("/proc/self/mountinfo") as f:
            mounted = [line.split()[4] for line in f if line.split()[4].startswith(path + "/")]
        assert not mounted, f"left mounted under the private root (kept for a look): {mounted}"
        shutil.rmtree(path, ignore_errors=True)  # only once nothing is mounted below: never through a mount


def _ids(own, *args: str) -> set[str]:
    return set(own("ps", "-aq", "--no-trunc", *args).stdout.split())


def _lonely_image(own, ref: str) -> None:
    """An image no container uses: a one-file tarball imported as ``ref``."""
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        with open(os.path.join(tmp, "f"), "w") as f:
            f.write("lonely\n")
        tarball = os.path.join(tmp, "t.tar")
        with tarfile.open(tarball, "w") as tar:
            tar.add(os.path.join(tmp, "f"), arcname="f")
        own("import", tarball, ref)


def test_container_prune_removes_stopped_keeps_running(own):
    own("run", "--network", "none", "--name", "exited", "base", "true")
    own("create", "--network", "none", "--name", "created", "base", "true")
    own("run", "-d", "--network", "none", "--name", "running", "base", "sleep", "60")
    everything = _ids(own)
    keep = set(own("ps", "-q", "--no-trunc").stdout.split())
    out = own("container", "prune", "-f").stdout.splitlines()
    assert out[0] == "Deleted Containers:" and set(out[1:-2]) == everything - keep and out[-2] == ""
    assert out[-1].startswith("Total reclaimed space: ")
    assert _ids(own) == keep
    again = own("container", "prune", "-f").stdout
    assert again == "Total reclaimed space: 0B\n"


def test_prune_asks_and_an_empty_answer_cancels(own):
    own("run", "--network", "none", "--name", "exited", "base", "true")
    r = own("container", "prune", input="")
    assert r.returncode == 0 and "Are you sure you want to continue? [y/N]" in r.stdout
    assert "Deleted" not in r.stdout and len(_ids(own)) == 1  # docker: cancelled, nothing removed, status 0
    r = own("container", "prune", input="y\n")
    assert "Deleted Containers:" in r.stdout and _ids(own) == set()


def test_container_prune_until_filter(own):
    own("run", "--network", "none", "--name", "old", "base", "true")
    old = _ids(own)
    cut = f"{time.time():.6f}"
    own("run", "--network", "none", "--name", "new", "base", "true")
    out = own("container", "prune", "-f", "--filter", f"until={cut}").stdout
    assert old.pop() in out
    assert len(_ids(own)) == 1  # the newer one stays
    bad = own("container", "prune", "-f", "--filter", "colour=red", check=False)
    assert bad.returncode == 125 and len(bad.stderr.splitlines()) == 1


def test_image_prune_dangling_then_all_unused(own):
    own("run", "--network", "none", "--name", "user", "base", "sh", "-c", "echo x > /x")
    dangling = own("commit", "user").stdout.strip()
    _lonely_image(own, "lonely:1")
    out = own("image", "prune", "-f").stdout
    assert f"deleted: {dangling}" in out and "lonely" not in out  # only the dangling one
    assert "lonely" in own("images").stdout
    out = own("image", "prune", "-a", "-f").stdout.splitlines()
    assert out[0] == "Deleted Images:" and "untagged: lonely:1" in out
    assert not any("base" in line for line in out)  # a container uses base: kept
    assert out[-1].startswith("Total reclaimed space: ") and out[-1] != "Total reclaimed space: 0B"
    images = own("images").stdout
    assert "base" in images and "lonely" not in images
    own("rm", "user")
    out = own("image", "prune", "-a", "-f").stdout
    assert "untagged: base:latest" in out
    assert own("images", "-q").stdout == ""
    storage = os.path.join(own.root, "storage")
    for driver in os.listdir(storage):
        layers = os.path.join(storage, driver, "layers")
        assert not os.path.isdir(layers) or os.listdir(layers) == []  # unpacked layers went too


def test_volume_prune_anonymous_only_unless_all(own):
    own("volume", "create", "unused")
    own("run", "--network", "none", "--name", "user", "-v", "used:/data", "base", "sh", "-c", "echo 12345 > /data/f")
    out = own("volume", "prune", "-f").stdout
    assert out == "Total reclaimed space: 0B\n"  # docker 23+: named volumes only with -a
    out = own("volume", "prune", "-a", "-f").stdout.splitlines()
    assert out[:3] == ["Deleted Volumes:", "unused", ""]
    assert own("volume", "ls", "-q").stdout.split() == ["used"]  # a stopped container still uses it
    own("rm", "user")
    out = own("volume", "prune", "-a", "-f").stdout.splitlines()
    assert out == ["Deleted Volumes:", "used", "", "Total reclaimed space: 6B"]
    assert own("volume", "ls", "-q").stdout == ""


def test_system_prune(own):
    own("run", "--network", "none", "--name", "exited", "base", "true")
    own("run", "-d", "--network", "none", "--name", "running", "base", "sleep", "60")
    _lonely_image(own, "lonely:1")
    own("volume", "create", "named")
    r = own("system", "prune", input="n\n")
    assert "WARNING! This will remove:" in r.stdout and "all dangling images" in r.stdout
    assert len(_ids(own)) == 2
    out = own("system", "prune", "-f").stdout
    assert "Deleted Containers:" in out and "lonely" not in out
    assert own("ps", "-a", "-q").stdout.split() == own("ps", "-q").stdout.split()
    out = own("system", "prune", "-a", "--volumes", "-f").stdout
    assert "untagged: lonely:1" in out and "base" not in out  # the running container uses base
    assert "named" in own("volume", "ls", "-q").stdout  # --volumes takes anonymous ones only
    own("rm", "-f", "running")


def test_system_df_agrees_with_images_and_ps(own):
    own("run", "--network", "none", "--name", "exited", "base", "sh", "-c", "echo hello > /f")
    own("run", "-d", "--network", "none", "--name", "running", "base", "sleep", "60")
    _lonely_image(own, "lonely:1")
    own("volume", "create", "v1")
    rows = {r["Type"]: r for r in map(json.loads, own("system", "df", "--format", "{{json .}}").stdout.splitlines())}
    assert rows["Images"]["TotalCount"] == len(set(own("images", "-q").stdout.split())) == 2
    assert rows["Images"]["Active"] == 1
    assert 0 < rows["Images"]["Reclaimable"] < rows["Images"]["Size"]  # lonely's layer only
    assert rows["Containers"]["TotalCount"] == len(_ids(own)) == 2 and rows["Containers"]["Active"] == 1
    assert rows["Containers"]["Reclaimable"] <= rows["Containers"]["Size"]
    assert rows["Local Volumes"]["TotalCount"] == 1 and rows["Local Volumes"]["Active"] == 0
    table = own("system", "df").stdout.splitlines()
    assert table[0].split() == ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]
    assert [line.split()[0] for line in table[1:]] == ["Images", "Containers", "Local", "Build"]
    verbose = own("system", "df", "-v").stdout
    assert "Images space usage:" in verbose and "lonely" in verbose and "running" in verbose and "v1" in verbose
    own("rm", "-f", "running")
