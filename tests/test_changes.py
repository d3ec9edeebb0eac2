"""diff, commit, history, inspect and export/import of containers' changes, on real overlay mounts."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import subprocess
import tarfile
import time

import pytest
from conftest import STDC

# what a container does to the base image's filesystem, and the lines `diff` shows for it
WORK = (
    "mkdir /data && echo hello > /data/a && ln /data/a /data/b && ln -s ../data/a /data/sl"
    " && chown 123:456 /data/a && chmod 4750 /data/a && touch -t 200102030405.06 /data/a"
    " && rm /bin/ls && rm -rf /usr/bin && mkdir /usr/bin && echo only > /usr/bin/only"
    " && echo extra >> /etc/hosts"
)
#: WORK changes /etc/hosts: on a network of a provider that is the container's own bind-mounted
#: file (as under docker, neither diff nor commit sees it), so these containers run without one
NO_NETWORK = ("--network", "none")
EXPECTED = {
    "C /bin",
    "D /bin/ls",
    "C /etc",
    "C /etc/hosts",
    "A /data",
    "A /data/a",
    "A /data/b",
    "A /data/sl",
    "C /usr",
    "C /usr/bin",
    "A /usr/bin/only",
}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line]


def _check_listing(lines: list[str]) -> None:
    assert lines == sorted(lines, key=lambda line: line[2:])
    assert all(re.fullmatch(r"[ACD] /\S+", line) for line in lines), lines
    assert set(lines) >= EXPECTED, sorted(EXPECTED - set(lines))
    # the applets of the old /usr/bin are gone with it (an opaque directory)
    assert any(line.startswith("D /usr/bin/") for line in lines)


def test_diff_stopped_and_json(stdc):
    stdc("run", "--name", "diff-stopped", *NO_NETWORK, "base", "sh", "-c", WORK)
    try:
        lines = _lines(stdc("diff", "diff-stopped").stdout)
        _check_listing(lines)
        as_json = json.loads(stdc("diff", "--format", "json", "diff-stopped").stdout)
        assert [f"{c['Kind']} {c['Path']}" for c in as_json] == lines
    finally:
        stdc("rm", "diff-stopped")


def test_diff_running(stdc):
    work = f"{WORK} && touch /ready && exec sleep 1000"
    cid = stdc("run", "-d", *NO_NETWORK, "base", "sh", "-c", work).stdout.strip()
    try:
        deadline = time.monotonic() + 20
        while "A /ready" not in (out := stdc("diff", cid).stdout) and time.monotonic() < deadline:
            time.sleep(0.1)
        lines = _lines(out)
        assert "A /ready" in lines
        _check_listing([line for line in lines if line != "A /ready"])
    finally:
        stdc("rm", "-f", cid)


def _blob(root: str, digest: str) -> bytes:
    with open(os.path.join(root, "images", "blobs", "sha256", digest.split(":")[1]), "rb") as f:
        return f.read()


def test_commit_keeps_everything(stdc, root, tmp_path):
    stdc("run", "--name", "to-commit", *NO_NETWORK, "base", "sh", "-c", WORK)
    host_file = tmp_path / "x"
    host_file.write_text("with xattr\n")
    os.setxattr(host_file, "user.stdc", b"kept")
    try:
        stdc("cp", "-a", str(host_file), "to-commit:/data/x")
        image_id = stdc(
            "commit",
            "-m",
            "my message",
            "-a",
            "Jane <jane@example.com>",
            "-c",
            'CMD ["cat", "a"]',
            "-c",
            "ENV GREETING=hi",
            "-c",
            "WORKDIR /data",
            "to-commit",
            "committed:v1",
        ).stdout.strip()
    finally:
        stdc("rm", "to-commit")
    assert image_id.startswith("sha256:")
    info = json.loads(stdc("inspect", "committed:v1").stdout)[0]
    assert info["Id"] == image_id and info["Author"] == "Jane <jane@example.com>" and info["Comment"] == "my message"
    assert info["Config"]["Cmd"] == ["cat", "a"] and info["Config"]["WorkingDir"] == "/data"
    assert "GREETING=hi" in info["Config"]["Env"]
    history = stdc("history", "-q", "committed:v1").stdout.splitlines()
    manifest = json.loads(_blob(root, info["Descriptor"]["digest"]))
    assert len(info["RootFS"]["Layers"]) == 2 == len(manifest["layers"]) == len(history)

    # the layer: gzip, OCI whiteouts, the xattr and owner in its headers
    layer = _blob(root, manifest["layers"][-1]["digest"])
    assert layer[:2] == b"\x1f\x8b"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        members = {m.name: m for m in tar}
    assert "bin/.wh.ls" in members and "usr/bin/.wh..wh..opq" in members
    a = members["data/a"]
    assert (a.uid, a.gid, a.mode, a.mtime) == (123, 456, 0o4750, int(_epoch("2001-02-03 04:05:06")))
    assert members["data/x"].pax_headers.get("SCHILY.xattr.user.stdc") == "kept"
    assert members["data/b"].islnk() and members["data/b"].linkname == "data/a"
    assert members["data/sl"].issym() and members["data/sl"].linkname == "../data/a"

    # a container of the new image sees exactly that state
    assert stdc("run", "--rm", "committed:v1").stdout == "hello\n"  # CMD + WORKDIR
    probe = (
        'echo "$GREETING"; stat -c "%a %u %g %Y %h %i" /data/a; stat -c "%h %i" /data/b; readlink /data/sl;'
        " ls /usr/bin; test -e /bin/ls || echo no-ls; tail -n 1 /etc/hosts"
    )
    out = stdc("run", "--rm", *NO_NETWORK, "committed:v1", "sh", "-c", probe).stdout.splitlines()
    assert out[0] == "hi"
    mode, uid, gid, mtime, links, inode = out[1].split()
    assert (mode, uid, gid, int(mtime), links) == ("4750", "123", "456", int(_epoch("2001-02-03 04:05:06")), "2")
    assert out[2] == f"2 {inode}"
    assert out[3:] == ["../data/a", "only", "no-ls", "extra"]

    history = stdc("history", "committed:v1").stdout.splitlines()
    assert history[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"]
    assert image_id.split(":")[1][:12] in history[1] and "my message" in history[1]
    assert len(history) == 3 and "<missing>" in history[2]
    stdc("rmi", "committed:v1")


def _epoch(text: str) -> float:
    import calendar

    return calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M:%S"))


def test_xattr_survives_in_new_container(stdc, tmp_path):
    stdc("run", "--name", "x-src", "base", "true")
    host_file = tmp_path / "f"
    host_file.write_text("v\n")
    os.setxattr(host_file, "user.k", b"val")
    try:
        stdc("cp", str(host_file), "x-src:/")
        stdc("commit", "x-src", "xattr:1")
    finally:
        stdc("rm", "x-src")
    cid = stdc("create", "xattr:1", "true").stdout.strip()
    try:
        with open(tmp_path / "fs.tar", "wb") as out:
            subprocess.run([STDC, "export", cid], stdout=out, check=True)
        with tarfile.open(tmp_path / "fs.tar") as tar:
            assert tar.getmember("f").pax_headers.get("SCHILY.xattr.user.k") == "val"
    finally:
        stdc("rm", cid)
        stdc("rmi", "xattr:1")


def _engine(root: str):
    from stdc import config
    from stdc.engine import Engine

    return Engine(config.load(root=root))


def test_generic_diff_and_commit_match_the_fast_ones(stdc, root):
    """The core's fallback (walking the mounted view against the image's) agrees with overlay's fast diff."""
    from stdc.engine import changes

    stdc("run", "--name", "generic", *NO_NETWORK, "base", "sh", "-c", WORK)
    try:
        engine = _engine(root)
        fast = changes.diff(engine, "generic", fast=True)
        generic = changes.diff(engine, "generic", fast=False)
        assert generic == fast
        image = changes.commit(engine, "generic", "generic:v1", fast=False)
    finally:
        stdc("rm", "generic")
    probe = 'stat -c "%a %u %g %h" /data/a; readlink /data/sl; ls /usr/bin; test -e /bin/ls || echo no-ls'
    out = stdc("run", "--rm", "generic:v1", "sh", "-c", probe).stdout.splitlines()
    assert out == ["4750 123 456 2", "../data/a", "only", "no-ls"]
    assert image.id == json.loads(stdc("inspect", "generic:v1").stdout)[0]["Id"]
    stdc("rmi", "generic:v1")


def test_export_then_import(stdc, tmp_path):
    stdc("run", "--name", "exp", "base", "sh", "-c", "echo exported > /x && rm /bin/ls")
    try:
        path = tmp_path / "fs.tar"
        with open(path, "wb") as out:
            subprocess.run([STDC, "export", "exp"], stdout=out, check=True)
        stdc("export", "-o", str(tmp_path / "fs2.tar"), "exp")
        assert (tmp_path / "fs2.tar").read_bytes() == path.read_bytes()
    finally:
        stdc("rm", "exp")
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert "x" in names and "bin/busybox" in names and "bin/ls" not in names
    assert not any(".wh." in n for n in names)
    stdc("import", str(path), "exported:1")
    assert stdc("run", "--rm", "exported:1", "sh", "-c", "cat /x; test -e /bin/ls || echo gone").stdout == (
        "exported\ngone\n"
    )
    stdc("rmi", "exported:1")


def test_export_running_skips_mounts(stdc, tmp_path):
    cid = stdc("run", "-d", "base", "sleep", "1000").stdout.strip()
    try:
        path = tmp_path / "fs.tar"
        with open(path, "wb") as out:
            subprocess.run([STDC, "export", cid], stdout=out, check=True)
        with tarfile.open(path) as tar:
            names = tar.getnames()
        assert "bin/busybox" in names
        assert not any(n.startswith(("proc/", "sys/")) for n in names)
    finally:
        stdc("rm", "-f", cid)


def test_commit_bad_input_changes_nothing(stdc):
    stdc("run", "--name", "bad-commit", "base", "true")
    try:
        before = stdc("images", "-q").stdout
        for args in (["-c", "FROB x"], ["-c", 'CMD ["unterminated']):
            r = stdc("commit", *args, "bad-commit", "never:1", check=False)
            assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        r = stdc("commit", "bad-commit", "Bad:Name:x", check=False)
        assert r.returncode == 125 and "invalid reference" in r.stderr
        r = stdc("commit", "no-such-container", "never:1", check=False)
        assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1
        assert stdc("images", "-q").stdout == before
    finally:
        stdc("rm", "bad-commit")


def test_commit_untagged_then_remove_by_id(stdc):
    stdc("run", "--name", "untagged", "base", "sh", "-c", "echo u > /u")
    try:
        image_id = stdc("commit", "untagged").stdout.strip()
    finally:
        stdc("rm", "untagged")
    assert stdc("run", "--rm", image_id.split(":")[1][:12], "cat", "/u").stdout == "u\n"
    assert "Deleted: " + image_id in stdc("rmi", image_id).stdout


def test_commit_killed_leaves_no_half_image(stdc, root):
    """kill -9 in the middle of a commit: no image appears, and the next commit works."""
    stdc("run", "--name", "big", "base", "sh", "-c", "head -c 400000000 /dev/urandom > /big")
    try:
        before = [line.split()[:3] for line in stdc("images").stdout.splitlines()]
        ingest = os.path.join(root, "images", ".stdc", "ingest")
        proc = subprocess.Popen([STDC, "commit", "big", "half:1"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            blobs = [n for n in os.listdir(ingest) if n.startswith("blob-")]
            if any(os.path.getsize(os.path.join(ingest, n)) > 1_000_000 for n in blobs):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the commit finished before it could be interrupted"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert [line.split()[:3] for line in stdc("images").stdout.splitlines()] == before
        r = stdc("inspect", "half:1", check=False)
        assert r.returncode != 0
        stdc("run", "--name", "small", "base", "sh", "-c", "echo s > /s")
        try:
            stdc("commit", "small", "after-crash:1")
        finally:
            stdc("rm", "small")
        assert stdc("run", "--rm", "after-crash:1", "cat", "/s").stdout == "s\n"
        stdc("rmi", "after-crash:1")  # collects the killed commit's leftovers too
        assert not [n for n in os.listdir(ingest) if n.startswith("blob-")]
    finally:
        stdc("rm", "big")


def test_whiteout_names_agree_with_the_layer_format():
    """stdc.engine.changes keeps its own copy of the whiteout names (so `diff` need not import tarfile)."""
    from stdc.engine import changes
    from stdc.images import layers

    for name in ("WHITEOUT_PREFIX", "WHITEOUT_META_PREFIX", "WHITEOUT_OPAQUE", "OVERLAY_OPAQUE_XATTR"):
        assert getattr(changes, name) == getattr(layers, name)


@pytest.mark.parametrize("kind", ["diff", "commit", "export", "history"])
def test_unknown_names_are_one_line_errors(stdc, kind):
    r = stdc(kind, "no-such-thing", check=False)
    assert r.returncode == 125 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
