"""The image store: import, images, tag, rmi, the built-in base, and bad tarballs."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest


def _rootfs_tar(path: str, files: dict[str, bytes], gz: bool = False) -> str:
    """A tiny root filesystem tarball: busybox from the host plus ``files``."""
    mode = "w:gz" if gz else "w"
    with tarfile.open(path, mode) as tar:
        tar.add("/bin/busybox", "bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _state(stdc):
    return stdc("images").stdout, stdc("ps", "-a").stdout


@pytest.mark.parametrize("gz", [False, True], ids=["tar", "tar.gz"])
def test_import_run_tag_rmi(stdc, tmp_path, gz):
    tarball = _rootfs_tar(str(tmp_path / "rootfs.tar"), {"hello.txt": b"from the tarball\n"}, gz=gz)
    image_id = stdc("import", tarball, "mine/hello:v1").stdout.strip()
    assert image_id.startswith("sha256:")
    listing = stdc("images").stdout
    assert "mine/hello" in listing and "v1" in listing
    assert stdc("run", "--rm", "mine/hello:v1", "/bin/sh", "-c", "cat /hello.txt").stdout == "from the tarball\n"
    stdc("tag", "mine/hello:v1", "other:latest")
    assert stdc("run", "--rm", "other", "/bin/sh", "-c", "cat /hello.txt").stdout == "from the tarball\n"
    stdc("rmi", "other")
    assert "other" not in stdc("images").stdout
    stdc("rmi", "mine/hello:v1")
    assert "mine/hello" not in stdc("images").stdout


def test_rmi_refuses_while_in_use(stdc, tmp_path):
    tarball = _rootfs_tar(str(tmp_path / "rootfs.tar"), {})
    image = stdc("import", tarball, "inuse:1").stdout.strip()
    cid = stdc("create", "inuse:1", "/bin/sh").stdout.strip()
    try:
        r = stdc("rmi", "inuse:1", check=False)
        assert r.returncode != 0 and "used by" in r.stderr and len(r.stderr.splitlines()) == 1
        assert "inuse" in stdc("images").stdout
        stdc("rmi", "-f", "inuse:1")
        assert "inuse" not in stdc("images").stdout
        # the container still works from its image, kept untagged (dangling) as docker keeps it
        stdc("start", "-a", cid)
    finally:
        stdc("rm", "-f", cid)
    stdc("rmi", image)  # no container uses it now: it goes
    assert image not in stdc("images", "-a", "-q", "--no-trunc").stdout


def test_store_is_an_oci_layout(stdc, root):
    stdc("run", "--rm", "base", "true")
    layout = os.path.join(root, "images")
    with open(os.path.join(layout, "oci-layout")) as f:
        assert json.load(f)["imageLayoutVersion"] == "1.0.0"
    with open(os.path.join(layout, "index.json")) as f:
        index = json.load(f)
    refs = [(m.get("annotations") or {}).get("org.opencontainers.image.ref.name") for m in index["manifests"]]
    assert "base:latest" in refs


def test_base_image_is_deterministic(stdc):
    first = json.loads(stdc("inspect", "base").stdout)[0]["Id"]
    stdc("rmi", "base")
    assert stdc("run", "--rm", "base", "true").returncode == 0
    assert json.loads(stdc("inspect", "base").stdout)[0]["Id"] == first


def test_corrupt_tarballs_change_nothing(stdc, tmp_path):
    good = _rootfs_tar(str(tmp_path / "good.tar"), {"a": b"x" * 10000}, gz=True)
    data = Path(good).read_bytes()
    cases = {
        "truncated.tar.gz": data[: len(data) // 2],
        "garbage.tar": os.urandom(4096),
        "empty.tar": b"",
        "bad-gzip.tar.gz": gzip.compress(b"not a tar at all" * 100),
    }
    before = _state(stdc)
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        r = stdc("import", str(path), "broken:1", check=False)
        assert r.returncode != 0, name
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, (name, r.stderr)
    assert _state(stdc) == before
    assert "broken" not in stdc("images").stdout


def test_hostile_tarball_rejected(stdc, tmp_path):
    path = str(tmp_path / "evil.tar")
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("../../../../tmp/stdc-escaped")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    r = stdc("import", path, "evil:1", check=False)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert not os.path.exists("/tmp/stdc-escaped")
    assert "evil" not in stdc("images").stdout


def test_unknown_image(stdc):
    before = _state(stdc)
    r = stdc("run", "--rm", "no-such-image", "true", check=False)
    assert r.returncode == 125
    assert r.stderr.strip() == "stdc: no such image: no-such-image" or (
        "no-such-image" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    )
    assert _state(stdc) == before


def test_bad_reference(stdc):
    r = stdc("run", "--rm", "Bad:Name:x", "true", check=False)
    assert r.returncode == 125 and "invalid reference" in r.stderr
